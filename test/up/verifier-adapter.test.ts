import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SimulatedPlatform, QUOTE_TAMPERS, COLLATERAL_TAMPERS } from '../../src/sim/index.js';
import { CHECK_ORDER, SIM_ANCHOR, INTEL_ANCHOR, verifierPart } from '../../src/up/adapters/verifier.js';

const NOW = new Date('2026-03-01T12:00:00Z');

test('the check order the verify page assumes is exactly the order the verifier reports', async () => {
  const p = await SimulatedPlatform.create({ now: NOW });
  const part = verifierPart(() => p.rootCaDer);
  const r = await part.verify({ quote: p.quote(), collateral: p.collateral(), at: NOW, trustAnchor: SIM_ANCHOR });
  assert.equal(r.ok, true);
  assert.deepEqual(r.checks.map((c) => c.name), [...CHECK_ORDER]);
  assert.ok(r.checks.every((c) => c.state === 'passed'));
  assert.equal(r.status, 'UpToDate');
});

test('every simulated fault fails exactly one check, later ones are not reached, and the code is shown', async () => {
  const p = await SimulatedPlatform.create({ now: NOW });
  const part = verifierPart(() => p.rootCaDer);
  const cases = [
    ...QUOTE_TAMPERS.map((tamper) => ({ name: `quote:${tamper}`, quote: p.quote({ tamper }), collateral: p.collateral() })),
    ...COLLATERAL_TAMPERS.map((tamper) => ({ name: `collateral:${tamper}`, quote: p.quote(), collateral: p.collateral({ tamper }) })),
  ];
  for (const c of cases) {
    const r = await part.verify({ quote: c.quote, collateral: c.collateral, at: NOW, trustAnchor: SIM_ANCHOR });
    assert.equal(r.ok, false, c.name);
    assert.ok(r.errorCode, c.name);
    assert.equal(r.checks.length, CHECK_ORDER.length, `${c.name}: ${r.errorCode} is not mapped to a check`);
    const failed = r.checks.filter((x) => x.state === 'failed');
    assert.equal(failed.length, 1, `${c.name}: ${JSON.stringify(r.checks)}`);
    const i = r.checks.findIndex((x) => x.state === 'failed');
    assert.ok(r.checks.slice(0, i).every((x) => x.state === 'passed'), c.name);
    assert.ok(r.checks.slice(i + 1).every((x) => x.state === 'not-reached'), c.name);
    assert.match(failed[0]!.detail ?? '', new RegExp(`^${r.errorCode}: `), c.name);
  }
});

test('the anchors stay apart: a simulated quote is rejected under the Intel root', async () => {
  const p = await SimulatedPlatform.create({ now: NOW });
  const part = verifierPart(() => p.rootCaDer);
  assert.deepEqual(part.trustAnchors, [INTEL_ANCHOR, SIM_ANCHOR]);
  const r = await part.verify({ quote: p.quote(), collateral: p.collateral(), at: NOW, trustAnchor: INTEL_ANCHOR });
  assert.equal(r.ok, false);
  assert.equal(r.errorCode, 'UNTRUSTED_ROOT');
});

test('a failure shows the checks that really passed, with the verifier\'s own details', async () => {
  const p = await SimulatedPlatform.create({ now: NOW });
  const part = verifierPart(() => p.rootCaDer);
  const r = await part.verify({ quote: p.quote({ tamper: 'quoteSignature' }), collateral: p.collateral(), at: NOW, trustAnchor: SIM_ANCHOR });
  assert.equal(r.errorCode, 'QUOTE_SIGNATURE_INVALID');
  const passed = r.checks.filter((c) => c.state === 'passed');
  assert.deepEqual(passed.map((c) => c.name), CHECK_ORDER.slice(0, CHECK_ORDER.indexOf('quote-signature')));
  assert.ok(passed.every((c) => (c.detail ?? '').length > 0), 'each passed check says what it verified');
  assert.equal(r.checks.find((c) => c.state === 'failed')!.name, 'quote-signature');
});
