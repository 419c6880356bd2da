// The caches must never change a verdict: a warm verifier gives exactly the
// answer a cold one gives, for every time and every tampered input.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { QuoteVerifier, AttestationError, parseCollateral, INTEL_SGX_ROOT_CA_DER, type AttestationErrorCode } from '../../src/attestation/index.js';
import { Lru } from '../../src/attestation/lru.js';
import { SimulatedPlatform } from '../../src/sim/index.js';
import { AUG_AT, AUG_BUNDLE, AUTOMATA_SGX, haveFixtures, quoteFixture, textFixture } from './fixtures.js';

function outcome(fn: () => { status: string; advisoryIds: string[] }): string {
  try {
    const r = fn();
    return `${r.status} ${r.advisoryIds.join(',')}`;
  } catch (err) {
    assert.ok(err instanceof AttestationError, String(err));
    return `error ${err.code}`;
  }
}

test('warm and cold verifiers agree on every vector, tamper and time', (t) => {
  if (!haveFixtures(t)) return;
  const warm = new QuoteVerifier();
  const quotes = [
    AUTOMATA_SGX,
    'derived-negative/sgx_00606a_mrenclave_flipped.dat',
    'derived-negative/sgx_00606a_quote_sig_flipped.dat',
    'derived-negative/sgx_00606a_attest_key_flipped.dat',
    'derived-negative/sgx_00606a_qe_report_flipped.dat',
    'phala-dcap-qvl/sgx_quote',
  ].map(quoteFixture);
  const collaterals = [
    AUG_BUNDLE,
    'derived-negative/collateral_sgx_00606a_2025-08_tcbinfo_tampered.json',
    'derived-negative/collateral_sgx_00606a_2025-08_qeidentity_tampered.json',
    'assembled/collateral_sgx_00606a_2025-06_eval18.json',
  ].map(textFixture);
  const times = ['2025-06-26T00:00:00Z', '2025-08-01T00:00:00Z', '2025-08-30T00:00:00Z', '2025-09-15T00:00:00Z'].map((s) => new Date(s));
  const seen = new Set<string>();
  // Two passes: the first fills the caches, the second must match cold answers exactly.
  for (let pass = 0; pass < 2; pass++) {
    for (const q of quotes) {
      for (const c of collaterals) {
        for (const at of times) {
          const cold = outcome(() => new QuoteVerifier({ cacheMaxEntries: 0 }).verify(q, c, { at }));
          const hot = outcome(() => warm.verify(q, c, { at }));
          assert.equal(hot, cold);
          seen.add(cold);
        }
      }
    }
  }
  // The matrix really exercises both verdicts and several distinct errors.
  assert.ok([...seen].some((s) => s.startsWith('SWHardeningNeeded')));
  assert.ok([...seen].some((s) => s.startsWith('OutOfDate')));
  assert.ok([...seen].filter((s) => s.startsWith('error')).length >= 5, [...seen].join('; '));
});

test('a plain collateral object edited after a successful verification is re-checked', (t) => {
  if (!haveFixtures(t)) return;
  const v = new QuoteVerifier();
  const q = quoteFixture(AUTOMATA_SGX);
  const obj = JSON.parse(textFixture(AUG_BUNDLE)) as Record<string, string>;
  assert.equal(v.verify(q, obj as never, { at: AUG_AT }).status, 'SWHardeningNeeded');
  obj['tcb_info'] = obj['tcb_info']!.replace('"tcbEvaluationDataNumber":17', '"tcbEvaluationDataNumber":18');
  assert.throws(() => v.verify(q, obj as never, { at: AUG_AT }), (e: AttestationError) => e.code === 'TCB_INFO_SIGNATURE_INVALID');
});

test('a quote buffer edited after a successful verification is re-checked', (t) => {
  if (!haveFixtures(t)) return;
  const v = new QuoteVerifier();
  const q = quoteFixture(AUTOMATA_SGX);
  const c = parseCollateral(textFixture(AUG_BUNDLE));
  assert.equal(v.verify(q, c, { at: AUG_AT }).enclave?.isvSvn, 0);
  q[48 + 258] = 1; // ISVSVN
  assert.throws(() => v.verify(q, c, { at: AUG_AT }), (e: AttestationError) => e.code === 'QUOTE_SIGNATURE_INVALID');
});

test('collateral given as text, JSON object or parsed Collateral gives the same result', (t) => {
  if (!haveFixtures(t)) return;
  const v = new QuoteVerifier();
  const q = quoteFixture(AUTOMATA_SGX);
  const text = textFixture(AUG_BUNDLE);
  const a = v.verify(q, text, { at: AUG_AT });
  const b = v.verify(q, JSON.parse(text) as never, { at: AUG_AT });
  const c = v.verify(q, parseCollateral(text), { at: AUG_AT });
  assert.deepEqual({ ...a, checks: [] }, { ...b, checks: [] });
  assert.deepEqual({ ...b, checks: [] }, { ...c, checks: [] });
});

test('API misuse is a typed error, never a crash', (t) => {
  if (!haveFixtures(t)) return;
  const v = new QuoteVerifier();
  const q = quoteFixture(AUTOMATA_SGX);
  const c = textFixture(AUG_BUNDLE);
  const codeOf = (fn: () => unknown): string => {
    try {
      fn();
    } catch (e) {
      assert.ok(e instanceof AttestationError, String(e));
      return e.code;
    }
    return 'none';
  };
  assert.equal(codeOf(() => v.verify(null as never, c, { at: AUG_AT })), 'INVALID_ARGUMENT');
  assert.equal(codeOf(() => v.verify(q, null as never, { at: AUG_AT })), 'BAD_COLLATERAL');
  assert.equal(codeOf(() => v.verify(q, 42 as never, { at: AUG_AT })), 'BAD_COLLATERAL');
  assert.equal(codeOf(() => v.verify(q, c, { at: new Date('nonsense') })), 'INVALID_ARGUMENT');
  assert.equal(codeOf(() => v.verify(q, c, { at: '2025-08-30' as never })), 'INVALID_ARGUMENT');
  assert.equal(codeOf(() => new QuoteVerifier({ cacheMaxEntries: 1.5 })), 'INVALID_ARGUMENT');
  // A Buffer is a Uint8Array and works as well.
  assert.equal(v.verify(Buffer.from(q), c, { at: AUG_AT }).status, 'SWHardeningNeeded');
});

test('the LRU never holds more than its bound', () => {
  const lru = new Lru<number>(3);
  for (let i = 0; i < 10; i++) lru.set(String(i), i);
  assert.equal(lru.size, 3);
  assert.equal(lru.get('0'), undefined);
  assert.equal(lru.get('7'), 7);
  lru.set('10', 10); // evicts 8, the least recently used
  assert.equal(lru.get('8'), undefined);
  assert.equal(lru.get('7'), 7);
  const none = new Lru<number>(0);
  none.set('a', 1);
  assert.equal(none.size, 0);
});

test('a small bounded cache with many collaterals still verifies correctly', (t) => {
  if (!haveFixtures(t)) return;
  const v = new QuoteVerifier({ cacheMaxEntries: 1 });
  const q = quoteFixture(AUTOMATA_SGX);
  const at = new Date('2025-06-26T00:00:00Z');
  for (let i = 0; i < 3; i++) {
    assert.equal(v.verify(q, textFixture('assembled/collateral_sgx_00606a_2025-06_eval17.json'), { at }).status, 'SWHardeningNeeded');
    assert.equal(v.verify(q, textFixture('assembled/collateral_sgx_00606a_2025-06_eval18.json'), { at }).status, 'OutOfDate');
  }
  assert.throws(() => new QuoteVerifier({ cacheMaxEntries: -1 }), AttestationError);
});

test('trust: Intel root by default; a simulated root only when passed, and then alone', async (t) => {
  if (!haveFixtures(t)) return;
  const sim = await SimulatedPlatform.create();
  const quote = sim.quote();
  const collateral = sim.collateral();
  const expectCode = (fn: () => unknown, code: AttestationErrorCode): void => {
    assert.throws(fn, (e: AttestationError) => e instanceof AttestationError && e.code === code);
  };
  expectCode(() => new QuoteVerifier().verify(quote, collateral), 'UNTRUSTED_ROOT');
  const simOnly = new QuoteVerifier({ trustedRootCaDer: [sim.rootCaDer] });
  assert.equal(simOnly.verify(quote, collateral).status, 'UpToDate');
  expectCode(() => simOnly.verify(quoteFixture(AUTOMATA_SGX), textFixture(AUG_BUNDLE), { at: AUG_AT }), 'UNTRUSTED_ROOT');
  const both = new QuoteVerifier({ trustedRootCaDer: [INTEL_SGX_ROOT_CA_DER, sim.rootCaDer] });
  assert.equal(both.verify(quote, collateral).status, 'UpToDate');
  assert.equal(both.verify(quoteFixture(AUTOMATA_SGX), textFixture(AUG_BUNDLE), { at: AUG_AT }).status, 'SWHardeningNeeded');
  // Mixing: the simulated platform's quote with Intel's collateral fails even when both roots are trusted.
  assert.throws(() => both.verify(quote, textFixture(AUG_BUNDLE), { at: AUG_AT }), AttestationError);
  expectCode(() => new QuoteVerifier({ trustedRootCaDer: [] }), 'UNTRUSTED_ROOT');
  expectCode(() => new QuoteVerifier({ trustedRootCaDer: [new Uint8Array([1, 2, 3])] }), 'BAD_CERTIFICATE');
});

test('simulated platform: v3 and v4 quotes, DEBUG attribute, TCB recovery and PCK revocation', async () => {
  const sim = await SimulatedPlatform.create();
  const v = new QuoteVerifier({ trustedRootCaDer: [sim.rootCaDer] });
  for (const version of [3, 4] as const) {
    const r = v.verify(sim.quote({ version }), sim.collateral());
    assert.equal(r.quoteVersion, version);
    assert.equal(r.tee, 'sgx');
    assert.equal(r.status, 'UpToDate');
    assert.equal(r.enclave?.debug, false);
  }
  const debug = v.verify(sim.quote({ debug: true, mrenclave: 'ab'.repeat(32), reportData: new Uint8Array([1, 2, 3]) }), sim.collateral());
  assert.equal(debug.enclave?.debug, true);
  assert.equal(debug.enclave?.mrenclave, 'ab'.repeat(32));
  assert.equal(debug.enclave?.reportData, `010203${'00'.repeat(61)}`);
  const before = sim.collateral();
  const quote = sim.quote();
  sim.recoverTcb();
  const after = sim.collateral();
  // Yesterday's collateral still says UpToDate; the new TCB Info makes the same platform OutOfDate.
  assert.equal(v.verify(quote, before).status, 'UpToDate');
  assert.equal(v.verify(quote, after).status, 'OutOfDate');
  sim.revokePck();
  assert.throws(() => v.verify(sim.quote(), sim.collateral()), (e: AttestationError) => e.code === 'CERT_REVOKED');
});
