import { test } from 'node:test';
import assert from 'node:assert/strict';
import { html, join, escapeHtml, SafeHtml } from '../../src/dashboard/html.js';
import { usageBar, tcbTone, formatBytes } from '../../src/dashboard/widgets.js';

test('interpolated text is escaped in content and attributes', () => {
  const evil = `<script>alert("x")</script>' onload='y`;
  const out = html`<td title="${evil}">${evil}</td>`.toString();
  assert.equal(out, `<td title="${escapeHtml(evil)}">${escapeHtml(evil)}</td>`);
  assert.doesNotMatch(out, /<script>/);
  assert.doesNotMatch(out, /"x"/);
  assert.doesNotMatch(out, /' onload='/);
});

test('nested fragments are not escaped twice; arrays are joined; null/undefined/booleans vanish', () => {
  const inner = html`<b>${'a&b'}</b>`;
  assert.equal(html`<p>${inner}${[html`<i>1</i>`, '<2>']}${null}${undefined}${false}${0}</p>`.toString(), '<p><b>a&amp;b</b><i>1</i>&lt;2&gt;0</p>');
  assert.equal(join(['<x>', html`<y/>`], ', ').toString(), '&lt;x&gt;, <y/>');
});

test('a SafeHtml can only come from the template helper, so a plain string never passes as markup', () => {
  const s: unknown = '<b>';
  assert.equal(html`${s as string}`.toString(), '&lt;b&gt;');
  assert.ok(html`x` instanceof SafeHtml);
});

test('usage bar clamps and turns red above 90 percent', () => {
  assert.match(usageBar(50, 100, 'half').toString(), /width:50\.0%/);
  assert.match(usageBar(200, 100, 'over').toString(), /class="bar high".*width:100\.0%/);
  assert.match(usageBar(1, 0, 'none').toString(), /width:0\.0%/);
});

test('TCB status colours and byte formatting', () => {
  assert.equal(tcbTone('UpToDate'), 'ok');
  assert.equal(tcbTone('SWHardeningNeeded'), 'warn');
  assert.equal(tcbTone('ConfigurationAndSWHardeningNeeded'), 'warn');
  assert.equal(tcbTone('OutOfDate'), 'bad');
  assert.equal(tcbTone('Revoked'), 'bad');
  assert.equal(tcbTone(undefined), 'off');
  assert.equal(formatBytes(197132288), '188 MiB');
  assert.equal(formatBytes(98041856), '93.5 MiB');
  assert.equal(formatBytes(8589934592), '8 GiB');
});
