import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compilePolicy, builtinDefaultPolicy } from '../../../src/kbs/policy/engine.js';
import { parseClaims, claimsFromVerifiedQuote, type AttestationClaims } from '../../../src/kbs/policy/claims.js';
import { PolicyError } from '../../../src/kbs/policy/errors.js';

const NOW = new Date('2026-01-01T00:00:00Z');
const ctx = { now: NOW, resource: 'default/key/model' };

const base: AttestationClaims = {
  tee: 'sgx',
  status: 'UpToDate',
  advisoryIds: [],
  fmspc: '00606a000000',
  mrenclave: 'aa'.repeat(32),
  mrsigner: 'bb'.repeat(32),
  isvProdId: 1,
  isvSvn: 3,
  debug: false,
  reportData: '00'.repeat(64),
  td: {},
};

function codeOf(f: () => unknown): string {
  try {
    f();
  } catch (err) {
    assert.ok(err instanceof PolicyError, String(err));
    return err.code;
  }
  return 'no error';
}

test('the built-in default refuses debug enclaves and accepts only UpToDate and SWHardeningNeeded', () => {
  const p = builtinDefaultPolicy();
  assert.equal(p.evaluate(base, ctx).allowed, true);
  assert.equal(p.evaluate({ ...base, status: 'SWHardeningNeeded' }, ctx).allowed, true);
  const debug = p.evaluate({ ...base, debug: true }, ctx);
  assert.deepEqual(debug.allowed ? null : [debug.rule, debug.expression], ['no-debug', '!debug']);
  for (const status of ['OutOfDate', 'ConfigurationNeeded', 'Revoked']) {
    const d = p.evaluate({ ...base, status }, ctx);
    assert.equal(d.allowed ? 'allowed' : d.rule, 'accepted-status', status);
  }
});

test('the operator\'s accepted statuses replace the default list', () => {
  const p = builtinDefaultPolicy(['UpToDate']);
  assert.equal(p.evaluate({ ...base, status: 'SWHardeningNeeded' }, ctx).allowed, false);
  const q = compilePolicy('acceptedStatuses: [OutOfDate]', 'test');
  assert.equal(q.evaluate({ ...base, status: 'OutOfDate' }, ctx).allowed, true);
  assert.equal(q.evaluate(base, ctx).allowed, false);
});

test('document rules over every claim; a denial names the failing rule and expression', () => {
  const doc = `
rules:
  - name: expected enclave
    expr: mrenclave == "${'aa'.repeat(32)}" && mrsigner == "${'bb'.repeat(32)}"
  - name: minimum svn
    expr: isvSvn >= 3 && isvProdId == 1
  - '!("INTEL-SA-00615" in advisoryIds)'
  - tee == "sgx" && fmspc.startsWith("00606a") && size(td) == 0
  - time < timestamp("2027-01-01T00:00:00Z") && resource.startsWith("default/")
  - advisoryIds.all(a, a != "INTEL-SA-99999")
`;
  const p = compilePolicy(doc, 'doc');
  assert.equal(p.evaluate(base, ctx).allowed, true);
  const cases: [Partial<AttestationClaims>, string][] = [
    [{ mrenclave: 'cc'.repeat(32) }, 'expected enclave'],
    [{ mrsigner: 'cc'.repeat(32) }, 'expected enclave'],
    [{ isvSvn: 2 }, 'minimum svn'],
    [{ advisoryIds: ['INTEL-SA-00615'] }, '!("INTEL-SA-00615" in advisoryIds)'],
    [{ advisoryIds: ['INTEL-SA-99999'] }, 'advisoryIds.all(a, a != "INTEL-SA-99999")'],
  ];
  for (const [change, rule] of cases) {
    const d = p.evaluate({ ...base, ...change }, ctx);
    assert.equal(d.allowed ? 'allowed' : d.rule, rule, JSON.stringify(change));
  }
  const late = p.evaluate(base, { ...ctx, now: new Date('2027-06-01T00:00:00Z') });
  assert.equal(late.allowed ? 'allowed' : late.rule, 'time < timestamp("2027-01-01T00:00:00Z") && resource.startsWith("default/")');
});

test('TDX measurements are available as td.<name>', () => {
  const p = compilePolicy('rules: ["tee == \'tdx\' && td.mrtd == \'ab\' && td.rtmr0 == \'cd\'"]', 'tdx');
  assert.equal(p.evaluate({ ...base, tee: 'tdx', td: { mrtd: 'ab', rtmr0: 'cd' } }, ctx).allowed, true);
  // A missing key is an evaluation error: fail closed, naming the rule.
  const d = p.evaluate({ ...base, tee: 'tdx', td: { mrtd: 'ab' } }, ctx);
  assert.equal(d.allowed, false);
  assert.match(d.allowed ? '' : d.reason, /evaluation error/);
});

test('non-boolean results and runtime errors deny (fail closed)', () => {
  const p = compilePolicy('rules: ["status", "1/0 == 1"]', 'odd', ['UpToDate']);
  const d = p.evaluate(base, ctx);
  assert.equal(d.allowed ? '' : d.reason, 'evaluated to a non-boolean (string)');
  const q = compilePolicy('rules: ["isvSvn / 0 == 1"]', 'div');
  const e = q.evaluate(base, ctx);
  assert.match(e.allowed ? '' : e.reason, /divide by zero/);
});

test('bad documents are refused at load with a clear, typed error', () => {
  assert.equal(codeOf(() => compilePolicy('rules: [nope == 1]', 'p')), 'POLICY_EXPRESSION_INVALID');
  assert.equal(codeOf(() => compilePolicy('rules: ["mrenclave =="]', 'p')), 'POLICY_EXPRESSION_INVALID');
  assert.equal(codeOf(() => compilePolicy('acceptedStatuses: [Fine]', 'p')), 'POLICY_DOCUMENT_INVALID');
  assert.equal(codeOf(() => compilePolicy('allowDebug: "yes"', 'p')), 'POLICY_DOCUMENT_INVALID');
  assert.equal(codeOf(() => compilePolicy('rulez: []', 'p')), 'POLICY_DOCUMENT_INVALID');
  assert.equal(codeOf(() => compilePolicy('{ unclosed', 'p')), 'POLICY_DOCUMENT_INVALID');
  assert.equal(codeOf(() => compilePolicy('- just a list', 'p')), 'POLICY_DOCUMENT_INVALID');
  try {
    compilePolicy('rules: [{name: svn, expr: "isvSvm >= 2"}]', 'policy for default/key/model');
    assert.fail('should throw');
  } catch (err) {
    assert.ok(err instanceof PolicyError);
    assert.match(err.message, /policy for default\/key\/model, rule "svn".*isvSvm/);
  }
});

test('allowDebug: true drops the debug baseline (development only)', () => {
  const p = compilePolicy('allowDebug: true', 'dev');
  assert.equal(p.evaluate({ ...base, debug: true }, ctx).allowed, true);
});

test('claims: from a verifier result (bytes to hex) and from a saved JSON file', () => {
  const c = claimsFromVerifiedQuote({
    tee: 'sgx',
    status: 'UpToDate',
    advisoryIds: ['INTEL-SA-1'],
    fmspc: new Uint8Array([0, 0x60, 0x6a, 0, 0, 0]),
    enclave: { mrenclave: new Uint8Array(32).fill(0xaa), mrsigner: new Uint8Array(32), isvProdId: 2, isvSvn: 7, debug: false, reportData: new Uint8Array(64) },
    collateralExpiresAt: new Date('2026-02-01T00:00:00Z'),
  });
  assert.equal(c.mrenclave, 'aa'.repeat(32));
  assert.equal(c.fmspc, '00606a000000');
  assert.equal(c.collateralExpiresAt, '2026-02-01T00:00:00.000Z');
  assert.deepEqual(parseClaims(JSON.parse(JSON.stringify({ claims: c })), 'x'), c);
  assert.throws(() => parseClaims({ ...c, isvSvn: -1 }, 'saved.json'), (e: unknown) => e instanceof PolicyError && e.code === 'POLICY_CLAIMS_INVALID');
  assert.throws(() => parseClaims({ ...c, extra: 1 }, 'saved.json'), (e: unknown) => e instanceof PolicyError && e.code === 'POLICY_CLAIMS_INVALID');
});

test('claims: `kubetee attest verify --json` output is accepted; a failed verification is not', () => {
  const verifyJson = {
    verified: true,
    tee: 'sgx',
    quoteVersion: 3,
    status: 'SWHardeningNeeded',
    advisoryIds: ['INTEL-SA-00615'],
    fmspc: '00606a000000',
    enclave: { mrenclave: 'aa'.repeat(32), mrsigner: 'bb'.repeat(32), isvProdId: 1, isvSvn: 3, debug: false, reportData: '00'.repeat(64) },
  };
  const c = parseClaims(verifyJson, 'verify.json');
  assert.equal(c.status, 'SWHardeningNeeded');
  assert.equal(builtinDefaultPolicy().evaluate(c, ctx).allowed, true);
  assert.throws(() => parseClaims({ verified: false, error: { code: 'CERT_REVOKED' } }, 'v.json'), (e: unknown) => e instanceof PolicyError && e.code === 'POLICY_CLAIMS_INVALID');
  assert.throws(() => parseClaims({ ...verifyJson, tee: 'tdx', enclave: undefined, td: { mrtd: 'ab' } }, 'v.json'), (e: unknown) => e instanceof PolicyError && e.code === 'POLICY_CLAIMS_INVALID');
});
