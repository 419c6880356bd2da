import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { REPO_ROOT, startCli } from '../helpers/cli.js';
import { fixturePath } from '../helpers/fixtures.js';
import { startUp, type RunningUp } from './start-up.js';

const ARTIFACTS = join(REPO_ROOT, 'test-artifacts', 'dashboard');
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const INTEL = 'Intel SGX Root CA (production)';

let up: RunningUp;
let browser: Browser;
// Debian's chromium is installed by .ci/run; without it a developer machine skips, CI fails.
const CHROMIUM = '/usr/bin/chromium';
const skip = !existsSync(CHROMIUM) && !process.env['CI'] ? `${CHROMIUM} is not installed (apt-get install chromium)` : false;

before(async () => {
  if (skip) return;
  mkdirSync(ARTIFACTS, { recursive: true });
  [up, browser] = await Promise.all([startUp(), chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS })]);
});

after(async () => {
  if (skip) return;
  await browser?.close();
  const code = await up?.stop();
  assert.equal(code, 0, 'kubetee up did not stop cleanly');
});

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
}

async function open(path: string, viewport = { width: 1280, height: 900 }): Promise<Page> {
  const page = await browser.newPage({ viewport });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  const res = await page.goto(up.url + path);
  assert.equal(res?.status(), 200, path);
  (page as Page & { jsErrors: string[] }).jsErrors = errors;
  return page;
}

test('the startup screen says what runs where, that the simulated root is trusted, and what to try next', { skip }, () => {
  assert.match(up.banner, /is up at http:\/\/127\.0\.0\.1:\d+/);
  assert.match(up.banner, /dashboard\s+http:\/\/127\.0\.0\.1:\d+\//);
  assert.match(up.banner, /key broker/);
  assert.match(up.banner, /simulated/i);
  assert.match(up.banner, /Try next:/);
});

test('overview lists the components and loads htmx without script errors', { skip }, async () => {
  const page = await open('/');
  assert.equal(await page.locator('h1').textContent(), 'Overview');
  await page.waitForFunction(() => typeof (globalThis as unknown as { htmx?: unknown }).htmx === 'object');
  const components = await page.locator('[data-component]').evaluateAll((els) => els.map((e) => e.getAttribute('data-component')));
  for (const name of ['key broker', 'quote verifier', 'simulated SGX platform']) assert.ok(components.includes(name), `${name} missing from ${components.join(', ')}`);
  assert.match(await page.locator('.devnote').textContent() ?? '', /simulated/);
  await shot(page, 'overview-desktop');
  assert.deepEqual((page as Page & { jsErrors: string[] }).jsErrors, []);
  await page.close();
});

test('verify page: a real Intel quote with its collateral passes every check', { skip }, async (t) => {
  const quote = fixturePath(t, 'attestation', 'derived-negative', 'sgx_00606a_original.dat');
  const collateral = fixturePath(t, 'attestation', 'assembled', 'collateral_sgx_00606a_2025-08_eval17.json');
  if (!quote || !collateral) return;
  const page = await open('/verify');
  await page.setInputFiles('input[name=quote]', quote);
  await page.setInputFiles('input[name=collateral]', collateral);
  await page.fill('input[name=at]', '2025-08-30T00:00:00Z');
  await page.selectOption('select[name=trustAnchor]', INTEL);
  await page.click('button[type=submit]');
  const result = page.locator('#verify-result .result');
  await result.waitFor({ timeout: 120_000 });
  assert.equal(await result.getAttribute('data-ok'), 'true');
  const text = (await result.textContent()) ?? '';
  assert.match(text, /quote verified/);
  assert.match(text, /SWHardeningNeeded/);
  assert.match(text, /INTEL-SA-00615/);
  assert.match(text, /3e7830a35057b9938d0fd849d13e3d82dc4abba812f8ffebbbb3d0e5ff1dd661/);
  const states = await page.locator('[data-check]').evaluateAll((els) => els.map((e) => [e.getAttribute('data-check'), e.getAttribute('data-state')]));
  assert.ok(states.length >= 10, `expected every check, got ${states.length}`);
  assert.ok(states.every(([, s]) => s === 'passed'), JSON.stringify(states));
  await shot(page, 'verify-ok');
  await page.close();
});

test('verify page: a tampered quote is rejected at the quote signature with its code', { skip }, async (t) => {
  const quote = fixturePath(t, 'attestation', 'derived-negative', 'sgx_00606a_mrenclave_flipped.dat');
  const collateral = fixturePath(t, 'attestation', 'assembled', 'collateral_sgx_00606a_2025-08_eval17.json');
  if (!quote || !collateral) return;
  const page = await open('/verify', { width: 390, height: 844 });
  await page.setInputFiles('input[name=quote]', quote);
  await page.setInputFiles('input[name=collateral]', collateral);
  await page.fill('input[name=at]', '2025-08-30T00:00:00Z');
  await page.selectOption('select[name=trustAnchor]', INTEL);
  await page.click('button[type=submit]');
  const result = page.locator('#verify-result .result');
  await result.waitFor({ timeout: 120_000 });
  assert.equal(await result.getAttribute('data-ok'), 'false');
  assert.equal(await page.locator('.error-code').textContent(), 'QUOTE_SIGNATURE_INVALID');
  assert.equal(await page.locator('[data-check="quote-signature"]').getAttribute('data-state'), 'failed');
  assert.equal(await page.locator('[data-check="parse"]').getAttribute('data-state'), 'passed');
  assert.equal(await page.locator('[data-check="tcb-status"]').getAttribute('data-state'), 'not-reached');
  await shot(page, 'verify-tampered-phone');
  await page.close();
});

test('verify page: the simulated sample quote verifies under the simulated anchor only', { skip }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kubetee-sample-'));
  const page = await open('/verify');
  const hrefs = await page.locator('a[download]').evaluateAll((els) => els.map((e) => e.getAttribute('href') ?? ''));
  assert.equal(hrefs.length, 2);
  const [quoteFile, collateralFile] = [join(dir, 'q.dat'), join(dir, 'c.json')];
  writeFileSync(quoteFile, Buffer.from(await (await fetch(up.url + hrefs[0])).arrayBuffer()));
  writeFileSync(collateralFile, Buffer.from(await (await fetch(up.url + hrefs[1])).arrayBuffer()));
  for (const [anchor, ok] of [[INTEL, 'false'], ['simulated platform root (this development stack only)', 'true']] as const) {
    await page.setInputFiles('input[name=quote]', quoteFile);
    await page.setInputFiles('input[name=collateral]', collateralFile);
    await page.fill('input[name=at]', '');
    await page.selectOption('select[name=trustAnchor]', anchor);
    await page.click('button[type=submit]');
    await page.locator(`#verify-result .result[data-ok="${ok}"]`).waitFor({ timeout: 120_000 });
  }
  assert.match((await page.locator('#verify-result').textContent()) ?? '', /UpToDate/);
  await page.close();
});

test('scenario button: runs the protected-model scenario and every page shows its effects', { skip }, async () => {
  const page = await open('/scenario');
  await page.click('#run-model-protection');
  const result = page.locator('#scenario-result-model-protection[data-passed]');
  await result.waitFor({ timeout: 180_000 });
  assert.equal(await result.getAttribute('data-passed'), 'true', (await result.textContent()) ?? '');
  const outcomes = await page.locator('#scenario-result-model-protection [data-outcome]').evaluateAll((els) => els.map((e) => e.getAttribute('data-outcome')));
  assert.equal(outcomes.length, 12);
  assert.equal(outcomes.filter((o) => o === 'refused-as-expected').length, 4);
  assert.ok(!outcomes.includes('failed'));
  await shot(page, 'scenario-desktop');
  await page.close();

  const nodes = await open('/nodes');
  const node = nodes.locator('[data-node="sim-sgx-node-0"]');
  assert.match((await node.locator('.epc-total').textContent()) ?? '', /512 MiB of 4064 MiB allocated/);
  const numa = await node.locator('.numa').allTextContents();
  assert.equal(numa.length, 2);
  assert.match(numa[0]!, /NUMA node 0.*512 MiB of 2028 MiB allocated/);
  assert.match(numa[1]!, /NUMA node 1.*0 MiB of 2036 MiB allocated/);
  await shot(nodes, 'nodes-desktop');
  await nodes.close();

  const att = await open('/attestations');
  const verdicts = await att.locator('tr[data-verdict]').evaluateAll((els) => els.map((e) => e.getAttribute('data-verdict')));
  assert.equal(verdicts.filter((v) => v === 'released').length, 2);
  assert.equal(verdicts.filter((v) => v === 'refused').length, 3);
  assert.match((await att.locator('table.attestations').textContent()) ?? '', /OutOfDate.*SIM-SA-00001/s);
  await shot(att, 'attestations-desktop');
  await att.close();

  const audit = await open('/audit', { width: 390, height: 844 });
  assert.equal(await audit.locator('[data-chain]').getAttribute('data-chain'), 'ok');
  assert.match((await audit.locator('table.audit').textContent()) ?? '', /resource\.release/);
  await shot(audit, 'audit-phone');
  await audit.close();

  const secrets = await open('/secrets');
  assert.match((await secrets.locator('[data-secret="demo/model-protection/model-key"]').textContent()) ?? '', /mrenclave ==/);
  await secrets.close();

  const adm = await open('/admissions');
  const rules = await adm.locator('tr[data-rule]').evaluateAll((els) => els.map((e) => e.getAttribute('data-rule')));
  assert.ok(rules.includes('confidential.no-privileged'), rules.join(', '));
  await shot(adm, 'admissions-desktop');
  await adm.close();

  const overview = await open('/', { width: 390, height: 844 });
  await shot(overview, 'overview-phone');
  await overview.close();
});

test('scenario page: the data-sharing button runs the second scenario', { skip }, async () => {
  const page = await open('/scenario', { width: 390, height: 844 });
  await page.click('#run-data-sharing');
  const result = page.locator('#scenario-result-data-sharing[data-passed]');
  await result.waitFor({ timeout: 180_000 });
  assert.equal(await result.getAttribute('data-passed'), 'true', (await result.textContent()) ?? '');
  assert.equal(await page.locator('#scenario-result-data-sharing [data-outcome]').count(), 7);
  // The other scenario's last run is still shown beside it.
  assert.equal(await page.locator('#scenario-result-model-protection').getAttribute('data-passed'), 'true');
  await shot(page, 'scenarios-phone');
  await page.close();
});

test('live updates: htmx refreshes a page in place when the data changes', { skip }, async () => {
  const page = await open('/audit');
  const before = await page.locator('[data-chain]').textContent();
  // A change outside the browser: a verify-page upload is not audited, so put a secret through the admin API.
  const token = readFileSync(join(up.dataDir, 'admin-token'), 'utf8').trim();
  const res = await fetch(`${up.url}/admin/v1/secrets/live/update/check`, { method: 'PUT', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ value: 'AQ==' }) });
  assert.equal(res.status, 200);
  // Runs in the page; typed loosely because this project compiles without the DOM library.
  await page.waitForFunction((old) => (globalThis as unknown as { document: { querySelector(s: string): { textContent: string | null } | null } }).document.querySelector('[data-chain]')?.textContent !== old, before, { timeout: 120_000 });
  assert.match((await page.locator('table.audit').textContent()) ?? '', /live\/update\/check/);
  await page.close();
});

test('verify page: every upload failure renders in the page (htmx swaps 4xx answers), desktop and phone', { skip }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kubetee-bad-'));
  const quote = join(dir, 'q.dat');
  const notJson = join(dir, 'c.bin');
  const json = join(dir, 'c.json');
  writeFileSync(quote, Buffer.from(await (await fetch(`${up.url}/dev/simulated-platform/sample-quote.dat`)).arrayBuffer()));
  writeFileSync(notJson, Buffer.from([0x1b, 0x5b, 0x33, 0x31, 0x6d, 0x00, 0xff]));
  writeFileSync(json, Buffer.from(await (await fetch(`${up.url}/dev/simulated-platform/collateral.json`)).arrayBuffer()));
  for (const viewport of [{ width: 1280, height: 900 }, { width: 390, height: 844 }]) {
    const page = await open('/verify', viewport);
    for (const [collateral, at, code] of [[notJson, '', 'UPLOAD_COLLATERAL_NOT_JSON'], [json, 'yesterday', 'UPLOAD_TIME_INVALID']] as const) {
      await page.setInputFiles('input[name=quote]', quote);
      await page.setInputFiles('input[name=collateral]', collateral);
      await page.fill('input[name=at]', at);
      await page.click('button[type=submit]');
      await page.locator('#verify-result .error-code', { hasText: code }).waitFor({ timeout: 120_000 });
      assert.equal(await page.locator('#verify-result .result').getAttribute('data-ok'), 'false');
    }
    await shot(page, `verify-upload-error-${viewport.width}`);
    await page.close();
  }
});

test('dead links: the banner\'s /kbs/v0 and /admin/v1 answer a browser with an index, an unknown page renders the 404 page', { skip }, async () => {
  assert.match(up.banner, /\/kbs\/v0/);
  assert.match(up.banner, /\/admin\/v1/);
  for (const path of ['/kbs/v0', '/admin/v1']) {
    const page = await browser.newPage({ viewport: { width: 1100, height: 800 } });
    const res = await page.goto(up.url + path);
    assert.equal(res?.status(), 200, path);
    assert.match((await page.locator('h1').textContent()) ?? '', /Key broker/);
    assert.ok((await page.locator('table.api-index tr').count()) >= 3, path);
    await shot(page, `api-index${path.replace(/\//g, '-')}`);
    await page.close();
  }
  const page = await browser.newPage({ viewport: { width: 390, height: 844 } });
  const res = await page.goto(`${up.url}/no-such-page`);
  assert.equal(res?.status(), 404);
  assert.equal(await page.locator('h1').textContent(), 'Page not found');
  assert.equal(await page.locator('header.top nav a').count(), 8);
  await shot(page, 'not-found-phone');
  await page.close();
});

test('a demo run from the CLI against this stack appears on the Scenarios page', { skip }, async () => {
  const page = await open('/scenario');
  const before = await page.locator('#scenario-result-data-sharing').textContent();
  const r = await new Promise<{ status: number | null; out: string }>((resolve) => {
    const child = startCli(['demo', 'data-sharing', '--url', up.url, '--data-dir', up.dataDir]);
    let out = '';
    child.stdout?.on('data', (c: Buffer) => void (out += c.toString()));
    child.stderr?.on('data', (c: Buffer) => void (out += c.toString()));
    child.once('exit', (status) => resolve({ status, out }));
  });
  assert.equal(r.status, 0, r.out);
  assert.match(r.out, new RegExp(`see it on ${up.url.replace(/\./g, '\\.')}/scenario`));
  // The page refreshes itself (htmx) or on reload; either way the CLI's run is the one shown.
  await page.reload();
  const result = page.locator('#scenario-result-data-sharing[data-passed="true"]');
  await result.waitFor({ timeout: 120_000 });
  assert.notEqual(await result.textContent(), before);
  await page.close();
});

test('layout: every page at 390, 1100 and 1400 px has no horizontal overflow (screenshots in test-artifacts/dashboard)', { skip }, async () => {
  const pages = ['/', '/nodes', '/attestations', '/secrets', '/audit', '/admissions', '/verify', '/scenario', '/kbs/v0', '/admin/v1'];
  const overflowing: string[] = [];
  for (const width of [390, 1100, 1400]) {
    const page = await browser.newPage({ viewport: { width, height: 900 } });
    for (const path of pages) {
      await page.goto(up.url + path);
      // Runs in the page; typed loosely because this project compiles without the DOM library.
      const [scrollWidth, clientWidth] = await page.evaluate(() => {
        const d = (globalThis as unknown as { document: { documentElement: { scrollWidth: number; clientWidth: number } } }).document.documentElement;
        return [d.scrollWidth, d.clientWidth];
      });
      if (scrollWidth > clientWidth) overflowing.push(`${path} at ${width}px: ${scrollWidth} > ${clientWidth}`);
      // On phones, tables become stacked rows: their content must wrap inside the card, not scroll or clip.
      if (width === 390) {
        const clipped = await page.evaluate(() => {
          const doc = (globalThis as unknown as { document: { querySelectorAll(s: string): ArrayLike<{ scrollWidth: number; clientWidth: number; className: string }> } }).document;
          return Array.from(doc.querySelectorAll('.table-wrap:has(table.stack), .card:not(.table-wrap)')).filter((e) => e.scrollWidth > e.clientWidth + 1).map((e) => e.className);
        });
        for (const c of clipped) overflowing.push(`${path} at ${width}px: content wider than its ${c}`);
      }
      await shot(page, `layout-${path === '/' ? 'overview' : path.slice(1).replace(/\//g, '-')}-${width}`);
    }
    await page.close();
  }
  assert.deepEqual(overflowing, []);
});

test('admission page: the debug shell is one decision (denied), not mutated and denied', { skip }, async () => {
  const page = await open('/admissions');
  const decisions = await page.locator('tr[data-pod$="/debug-shell"], tr[data-pod*="debug"]').evaluateAll((els) => els.map((e) => e.getAttribute('data-decision')));
  assert.ok(decisions.length >= 1, 'no debug-shell decision listed');
  assert.ok(decisions.every((d) => d === 'denied'), decisions.join(', '));
  await page.close();
});
