// Differential check against Phala's pure-JS dcap-qvl (devDependency): where the
// reference is right we agree exactly (status and advisory IDs); where the
// fixtures README documents it as wrong, we must differ in the documented way.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { QuoteVerifier, AttestationError } from '../../src/attestation/index.js';
import { AUG_BUNDLE, AUTOMATA_SGX, haveFixtures, quoteFixture, textFixture } from './fixtures.js';

const require = createRequire(import.meta.url);
const reference = require('@phala/dcap-qvl') as { verify(q: Uint8Array, c: unknown, nowSecs: number): { status: string; advisory_ids: string[] } };

const AGREE: [string, string, string, string][] = [
  ['V1', 'phala-dcap-qvl/sgx_quote', 'phala-dcap-qvl/sgx_quote_collateral.json', '2025-07-04T00:00:00Z'],
  ['V2', AUTOMATA_SGX, AUG_BUNDLE, '2025-08-30T00:00:00Z'],
  ['V3a', AUTOMATA_SGX, 'assembled/collateral_sgx_00606a_2025-06_eval17.json', '2025-06-26T00:00:00Z'],
  ['V3b', AUTOMATA_SGX, 'assembled/collateral_sgx_00606a_2025-06_eval18.json', '2025-06-26T00:00:00Z'],
  ['V3c', AUTOMATA_SGX, 'assembled/collateral_sgx_00606a_2025-06_eval19.json', '2025-06-26T00:00:00Z'],
  ['V5', 'phala-dcap-qvl/tdx_quote', 'phala-dcap-qvl/tdx_quote_collateral.json', '2025-07-04T00:00:00Z'],
  ['V6', 'phala-dcap-qvl/near_tdx_quote.hex', 'phala-dcap-qvl/near_tdx_quote_collateral.json', '2025-09-17T00:00:00Z'],
  ['V8a', 'dstack-teekit/tdx-v4-edgeless.dat', 'assembled/collateral_tdx_00806f05_2025-10.json', '2025-10-26T00:00:00Z'],
  ['V8b', 'dstack-teekit/tdx-v4-zkdcap.dat', 'assembled/collateral_tdx_00806f05_2025-10.json', '2025-10-26T00:00:00Z'],
];

test('agrees with @phala/dcap-qvl 0.3.9 wherever the reference is right', (t) => {
  if (!haveFixtures(t)) return;
  const v = new QuoteVerifier();
  for (const [id, q, c, at] of AGREE) {
    const ours = v.verify(quoteFixture(q), textFixture(c), { at: new Date(at) });
    const theirs = reference.verify(quoteFixture(q), JSON.parse(textFixture(c)), Math.floor(new Date(at).getTime() / 1000));
    assert.equal(ours.status, theirs.status, id);
    assert.deepEqual(ours.advisoryIds, theirs.advisory_ids, id);
  }
});

test('rejects what the reference wrongly accepts (V4: PCK CRL expired two months earlier)', (t) => {
  if (!haveFixtures(t)) return;
  const q = quoteFixture('mobilecoin-attestation/hw_quote.dat');
  const c = textFixture('assembled/collateral_sgx_00906ed5_2023-07_mobilecoin.json');
  const at = new Date('2023-07-27T00:00:00Z');
  // The reference never checks CRL dates, so it returns a status...
  assert.equal(reference.verify(q, JSON.parse(c), Math.floor(at.getTime() / 1000)).status, 'SWHardeningNeeded');
  // ...we do not.
  assert.throws(() => new QuoteVerifier().verify(q, c, { at }), (e: AttestationError) => e.code === 'CRL_EXPIRED');
});

test('rejects what the wasm build wrongly accepts (N8: tampered QE Identity, N10: before issue)', async (t) => {
  if (!haveFixtures(t)) return;
  const { readFileSync } = await import('node:fs');
  const wasm = (await import('@phala/dcap-qvl-web')) as unknown as { initSync(m: { module: Uint8Array }): unknown; js_verify(q: Uint8Array, c: unknown, now: bigint): { status: string } };
  wasm.initSync({ module: readFileSync(require.resolve('@phala/dcap-qvl-web/dcap-qvl-web_bg.wasm')) });
  const q = quoteFixture(AUTOMATA_SGX);
  const v = new QuoteVerifier();
  const tampered = textFixture('derived-negative/collateral_sgx_00606a_2025-08_qeidentity_tampered.json');
  const aug30 = new Date('2025-08-30T00:00:00Z');
  assert.equal(wasm.js_verify(q, JSON.parse(tampered), BigInt(aug30.getTime() / 1000)).status, 'SWHardeningNeeded');
  assert.throws(() => v.verify(q, tampered, { at: aug30 }), (e: AttestationError) => e.code === 'QE_IDENTITY_SIGNATURE_INVALID');
  const aug1 = new Date('2025-08-01T00:00:00Z');
  assert.equal(wasm.js_verify(q, JSON.parse(textFixture(AUG_BUNDLE)), BigInt(aug1.getTime() / 1000)).status, 'SWHardeningNeeded');
  assert.throws(() => v.verify(q, textFixture(AUG_BUNDLE), { at: aug1 }), AttestationError);
});
