import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { QuoteVerifier, parseQuote } from '../../../src/attestation/index.js';
import { loadCollateralPath, pccsCollateral, staticCollateral } from '../../../src/kbs/protocol/collateral-source.js';
import { claimsFromVerifiedQuote } from '../../../src/kbs/policy/claims.js';
import { builtinDefaultPolicy } from '../../../src/kbs/policy/engine.js';
import { KbsClient, simEvidence } from '../../../src/kbs/client/index.js';
import { fixturePath } from '../../helpers/fixtures.js';
import { startBroker } from './harness.js';
import { AUTH_BODY, attestBody, post, teeKey } from './raw.js';

function readQuote(path: string): Uint8Array {
  const raw = readFileSync(path);
  const text = raw.toString('latin1').trim();
  return /^(0x)?[0-9a-fA-F]+$/.test(text) ? new Uint8Array(Buffer.from(text.replace(/^0x/, ''), 'hex')) : new Uint8Array(raw);
}

/** Runs auth + attest with a real fixture quote against a broker whose clock is the fixture's verification time. */
async function attestFixture(quote: Uint8Array, collateral: ReturnType<typeof staticCollateral>, at: string, tee = 'sgx'): Promise<{ status: number; code: unknown; detail: unknown }> {
  const broker = await startBroker({ verifier: new QuoteVerifier(), collateral, clock: () => new Date(at) });
  try {
    const auth = await post(broker.url, '/kbs/v0/auth', { ...AUTH_BODY, tee });
    assert.equal(auth.status, 200);
    const r = await post(broker.url, '/kbs/v0/attest', attestBody(auth.body['nonce'] as string, teeKey().tee, quote), auth.cookie);
    return { status: r.status, code: r.body['code'], detail: r.body['detail'] };
  } finally {
    await broker.close();
  }
}

test('real Intel-signed SGX quote (V2) verifies through the broker at its time; only the nonce binding is missing', async (t) => {
  const q = fixturePath(t, 'attestation', 'automata-dcap-attestation', 'quotes', 'sgx_v3_fmspc00606a.hex');
  const c = fixturePath(t, 'attestation', 'assembled', 'collateral_sgx_00606a_2025-08_eval17.json');
  if (!q || !c) return;
  const r = await attestFixture(readQuote(q), staticCollateral(loadCollateralPath(c)), '2025-08-30T00:00:00Z');
  // The quote is genuine and fresh at that time, so the broker gets as far as the binding check,
  // which a quote made for someone else's nonce can never pass.
  assert.deepEqual([r.status, r.code], [401, 'KBS_REPORTDATA_MISMATCH']);
});

test('real TDX quote (V5) verifies through the broker at its time (tee tdx); a session opened for sgx refuses it', async (t) => {
  const q = fixturePath(t, 'attestation', 'phala-dcap-qvl', 'tdx_quote');
  const c = fixturePath(t, 'attestation', 'phala-dcap-qvl', 'tdx_quote_collateral.json');
  if (!q || !c) return;
  const collateral = staticCollateral(loadCollateralPath(c));
  const tdx = await attestFixture(readQuote(q), collateral, '2025-07-04T00:00:00Z', 'tdx');
  assert.deepEqual([tdx.status, tdx.code], [401, 'KBS_REPORTDATA_MISMATCH']);
  const wrongTee = await attestFixture(readQuote(q), collateral, '2025-07-04T00:00:00Z', 'sgx');
  assert.deepEqual([wrongTee.status, wrongTee.code], [401, 'KBS_EVIDENCE_INVALID']);
});

test('a directory of uploaded collateral (offline operation) is searched for the bundle that fits', async (t) => {
  const q = fixturePath(t, 'attestation', 'automata-dcap-attestation', 'quotes', 'sgx_v3_fmspc00606a.hex');
  const dir = fixturePath(t, 'attestation', 'assembled');
  if (!q || !dir) return;
  const bundles = loadCollateralPath(dir);
  assert.ok(bundles.length >= 5);
  const r = await attestFixture(readQuote(q), staticCollateral(bundles), '2025-08-30T00:00:00Z');
  assert.deepEqual([r.status, r.code], [401, 'KBS_REPORTDATA_MISMATCH']);
});

test('real quotes that must not verify are refused at /attest with the verifier\'s reason', async (t) => {
  const orig = fixturePath(t, 'attestation', 'derived-negative', 'sgx_00606a_original.dat');
  const flipped = fixturePath(t, 'attestation', 'derived-negative', 'sgx_00606a_mrenclave_flipped.dat');
  const c = fixturePath(t, 'attestation', 'assembled', 'collateral_sgx_00606a_2025-08_eval17.json');
  if (!orig || !flipped || !c) return;
  const collateral = staticCollateral(loadCollateralPath(c));
  const expired = await attestFixture(readQuote(orig), collateral, '2025-09-15T00:00:00Z');
  assert.deepEqual([expired.status, expired.code], [401, 'KBS_ATTESTATION_FAILED']);
  assert.match(String(expired.detail), /EXPIRED/);
  const tampered = await attestFixture(readQuote(flipped), collateral, '2025-08-30T00:00:00Z');
  assert.deepEqual([tampered.status, tampered.code], [401, 'KBS_ATTESTATION_FAILED']);
  assert.match(String(tampered.detail), /QUOTE_SIGNATURE_INVALID/);
});

test('default release policy over real verified quotes: SWHardeningNeeded (V3a) released, OutOfDate (V3b) refused', async (t) => {
  const q = fixturePath(t, 'attestation', 'automata-dcap-attestation', 'quotes', 'sgx_v3_fmspc00606a.hex');
  const c17 = fixturePath(t, 'attestation', 'assembled', 'collateral_sgx_00606a_2025-06_eval17.json');
  const c18 = fixturePath(t, 'attestation', 'assembled', 'collateral_sgx_00606a_2025-06_eval18.json');
  if (!q || !c17 || !c18) return;
  const at = new Date('2025-06-26T00:00:00Z');
  const verifier = new QuoteVerifier();
  const policy = builtinDefaultPolicy();
  const ok = claimsFromVerifiedQuote(verifier.verify(readQuote(q), loadCollateralPath(c17)[0]!, { at }));
  assert.equal(ok.status, 'SWHardeningNeeded');
  assert.equal(ok.mrenclave, '3e7830a35057b9938d0fd849d13e3d82dc4abba812f8ffebbbb3d0e5ff1dd661');
  assert.equal(policy.evaluate(ok, { now: at, resource: 'a/b/c' }).allowed, true);
  const old = claimsFromVerifiedQuote(verifier.verify(readQuote(q), loadCollateralPath(c18)[0]!, { at }));
  assert.equal(old.status, 'OutOfDate');
  const d = policy.evaluate(old, { now: at, resource: 'a/b/c' });
  assert.equal(d.allowed ? 'allowed' : d.rule, 'accepted-status');
});

test('the real debug-enclave quote (Fortanix, 2020): its DEBUG flag is refused by the default policy', async (t) => {
  // Parse only: no 2020 Root CA CRL exists among the fixtures, so the chain cannot be verified at its time;
  // the fixture README's hand evaluation gives SWHardeningNeeded, which the default policy would accept.
  const q = fixturePath(t, 'attestation', 'fortanix-rust-sgx', 'quote.bin');
  if (!q) return;
  const parsed = parseQuote(readQuote(q));
  assert.ok(parsed.enclave);
  const claims = claimsFromVerifiedQuote({ tee: 'sgx', status: 'SWHardeningNeeded', advisoryIds: [], fmspc: '00906ea10000', enclave: parsed.enclave });
  assert.equal(claims.debug, true);
  assert.equal(claims.mrenclave, '2531fd89facb97c6bab5f343805afe4dc051c2bef0d11309ac553c404326dda2');
  const d = builtinDefaultPolicy().evaluate(claims, { now: new Date('2020-06-01T00:00:00Z'), resource: 'a/b/c' });
  assert.equal(d.allowed ? 'allowed' : d.rule, 'no-debug');
});

for (const suffix of ['', '/', '/sgx/certification/v4/']) {
  test(`collateral from a PCCS over real HTTP (the simulated PCS): release works with --pccs URL${suffix}`, async () => {
    const { SimulatedPlatform } = await import('../../../src/sim/index.js');
    const platform = await SimulatedPlatform.create();
    const pcs = await platform.serve();
    const broker = await startBroker({ platform, collateral: pccsCollateral({ url: `${pcs.url}${suffix}`, now: () => Date.now() }) });
    try {
      await broker.data.service.create('token:test', { path: 'default/key/pccs', value: Buffer.from('via pccs') });
      const c = new KbsClient({ url: broker.url, evidence: simEvidence(platform, { mrenclave: '12'.repeat(32) }) });
      assert.equal(Buffer.from(await c.getResource('default/key/pccs')).toString(), 'via pccs');
    } finally {
      await broker.close();
      await pcs.close();
    }
  });
}

test('an unreachable PCCS is KBS_COLLATERAL_UNAVAILABLE with a hint, never a crash', async () => {
  const { SimulatedPlatform } = await import('../../../src/sim/index.js');
  const platform = await SimulatedPlatform.create();
  const provider = pccsCollateral({ url: 'http://127.0.0.1:9', now: () => Date.now(), timeoutMs: 2000 });
  await assert.rejects(provider.candidatesFor(platform.quote()), (err: unknown) => {
    assert.equal((err as { code?: string }).code, 'KBS_COLLATERAL_UNAVAILABLE');
    assert.match((err as Error).message, /127\.0\.0\.1:9/);
    assert.match((err as { hint?: string }).hint ?? '', /--pccs/);
    return true;
  });
});

test('stale cached collateral is fetched anew once before a quote is refused', async () => {
  const { SimulatedPlatform } = await import('../../../src/sim/index.js');
  const platform = await SimulatedPlatform.create();
  const asked: boolean[] = [];
  const provider = {
    // Like a caching PCCS client whose cached TCB Info has expired.
    async candidatesFor(_quote: Uint8Array, options: { refresh?: boolean } = {}) {
      asked.push(options.refresh === true);
      return [options.refresh ? platform.collateral() : platform.collateral({ tamper: 'tcbInfoExpired' })];
    },
  };
  const broker = await startBroker({ platform, collateral: provider });
  try {
    await broker.data.service.create('token:test', { path: 'default/key/fresh', value: Buffer.from('fresh') });
    const c = new KbsClient({ url: broker.url, evidence: simEvidence(platform) });
    assert.equal(Buffer.from(await c.getResource('default/key/fresh')).toString(), 'fresh');
    assert.deepEqual(asked, [false, true]);
  } finally {
    await broker.close();
  }
});
