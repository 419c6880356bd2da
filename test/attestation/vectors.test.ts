// Every vector of ../shared/fixtures/attestation/README.md gives the result in
// its "expected for a conforming verifier" column (not the reference packages'
// output where they are wrong).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { QuoteVerifier, AttestationError, type AttestationErrorCode } from '../../src/attestation/index.js';
import { AUG_AT, AUG_BUNDLE, AUTOMATA_SGX, haveFixtures, quoteFixture, textFixture } from './fixtures.js';

interface Positive {
  id: string;
  quote: string;
  collateral: string;
  at: string;
  tee: 'sgx' | 'tdx';
  status: string;
  advisoryIds: string[];
  window?: [string, string];
}

const POSITIVE: Positive[] = [
  { id: 'V1', quote: 'phala-dcap-qvl/sgx_quote', collateral: 'phala-dcap-qvl/sgx_quote_collateral.json', at: '2025-07-04T00:00:00Z', tee: 'sgx', status: 'ConfigurationAndSWHardeningNeeded', advisoryIds: ['INTEL-SA-00289', 'INTEL-SA-00615'], window: ['2025-06-19T10:56:11Z', '2025-07-19T10:01:18Z'] },
  { id: 'V2', quote: AUTOMATA_SGX, collateral: AUG_BUNDLE, at: '2025-08-30T00:00:00Z', tee: 'sgx', status: 'SWHardeningNeeded', advisoryIds: ['INTEL-SA-00615'], window: ['2025-08-15T05:41:26Z', '2025-09-14T04:36:46Z'] },
  { id: 'V3a', quote: AUTOMATA_SGX, collateral: 'assembled/collateral_sgx_00606a_2025-06_eval17.json', at: '2025-06-26T00:00:00Z', tee: 'sgx', status: 'SWHardeningNeeded', advisoryIds: ['INTEL-SA-00615'], window: ['2025-06-19T10:00:35Z', '2025-07-06T12:16:50Z'] },
  { id: 'V3b', quote: AUTOMATA_SGX, collateral: 'assembled/collateral_sgx_00606a_2025-06_eval18.json', at: '2025-06-26T00:00:00Z', tee: 'sgx', status: 'OutOfDate', advisoryIds: ['INTEL-SA-01079', 'INTEL-SA-01103', 'INTEL-SA-00657', 'INTEL-SA-00767', 'INTEL-SA-00615'], window: ['2025-06-19T10:00:35Z', '2025-07-06T11:42:29Z'] },
  { id: 'V3c', quote: AUTOMATA_SGX, collateral: 'assembled/collateral_sgx_00606a_2025-06_eval19.json', at: '2025-06-26T00:00:00Z', tee: 'sgx', status: 'OutOfDate', advisoryIds: ['INTEL-SA-01079', 'INTEL-SA-01103', 'INTEL-SA-00657', 'INTEL-SA-00767', 'INTEL-SA-01153', 'INTEL-SA-00615'], window: ['2025-06-19T10:00:35Z', '2025-07-06T12:02:04Z'] },
  { id: 'V5', quote: 'phala-dcap-qvl/tdx_quote', collateral: 'phala-dcap-qvl/tdx_quote_collateral.json', at: '2025-07-04T00:00:00Z', tee: 'tdx', status: 'UpToDate', advisoryIds: [], window: ['2025-06-19T10:32:27Z', '2025-07-19T10:00:35Z'] },
  { id: 'V6', quote: 'phala-dcap-qvl/near_tdx_quote.hex', collateral: 'phala-dcap-qvl/near_tdx_quote_collateral.json', at: '2025-09-17T00:00:00Z', tee: 'tdx', status: 'UpToDate', advisoryIds: [], window: ['2025-09-02T07:41:59Z', '2025-10-02T07:03:51Z'] },
  { id: 'V8a', quote: 'dstack-teekit/tdx-v4-edgeless.dat', collateral: 'assembled/collateral_tdx_00806f05_2025-10.json', at: '2025-10-26T00:00:00Z', tee: 'tdx', status: 'OutOfDate', advisoryIds: ['INTEL-SA-00837', 'INTEL-SA-00960', 'INTEL-SA-00982', 'INTEL-SA-00986'], window: ['2025-10-19T17:48:50Z', '2025-11-12T10:45:32Z'] },
  { id: 'V8b', quote: 'dstack-teekit/tdx-v4-zkdcap.dat', collateral: 'assembled/collateral_tdx_00806f05_2025-10.json', at: '2025-10-26T00:00:00Z', tee: 'tdx', status: 'OutOfDate', advisoryIds: ['INTEL-SA-00960', 'INTEL-SA-00982', 'INTEL-SA-00986'], window: ['2025-10-19T17:48:50Z', '2025-11-12T10:45:32Z'] },
];

const verifier = new QuoteVerifier();

function rejects(fn: () => unknown, code: AttestationErrorCode): AttestationError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof AttestationError, `expected AttestationError ${code}, got ${String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  assert.ok(caught.message.length > 10);
  return caught;
}

for (const v of POSITIVE) {
  test(`${v.id}: ${v.quote} verifies as ${v.status}`, (t) => {
    if (!haveFixtures(t)) return;
    const r = verifier.verify(quoteFixture(v.quote), textFixture(v.collateral), { at: new Date(v.at) });
    assert.equal(r.tee, v.tee);
    assert.equal(r.status, v.status);
    assert.deepEqual(r.advisoryIds, v.advisoryIds);
    assert.ok(r.checks.length >= 10 && r.checks.every((c) => c.ok));
    if (v.window) {
      // The earliest expiry is the end of the strict window the fixtures README gives.
      assert.equal(r.collateralExpiresAt.toISOString(), new Date(v.window[1]).toISOString());
      // Just inside both ends it still verifies; just outside it does not.
      const start = new Date(v.window[0]);
      const end = new Date(v.window[1]);
      assert.equal(verifier.verify(quoteFixture(v.quote), textFixture(v.collateral), { at: start }).status, v.status);
      assert.equal(verifier.verify(quoteFixture(v.quote), textFixture(v.collateral), { at: end }).status, v.status);
      assert.throws(() => verifier.verify(quoteFixture(v.quote), textFixture(v.collateral), { at: new Date(start.getTime() - 1000) }), AttestationError);
      assert.throws(() => verifier.verify(quoteFixture(v.quote), textFixture(v.collateral), { at: new Date(end.getTime() + 1000) }), AttestationError);
    }
  });
}

test('enclave identities of the SGX vectors match the fixtures README', (t) => {
  if (!haveFixtures(t)) return;
  const v1 = verifier.verify(quoteFixture('phala-dcap-qvl/sgx_quote'), textFixture('phala-dcap-qvl/sgx_quote_collateral.json'), { at: new Date('2025-07-04T00:00:00Z') });
  assert.equal(v1.fmspc, '00a067110000');
  assert.equal(v1.quoteVersion, 3);
  assert.deepEqual(
    { ...v1.enclave, reportData: undefined },
    {
      mrenclave: '33d8736db756ed4997e04ba358d27833188f1932ff7b1d156904d3f560452fbb',
      mrsigner: '815f42f11cf64430c30bab7816ba596a1da0130c3b028b673133a66cf9a3e0e6',
      isvProdId: 0,
      isvSvn: 0,
      attributes: '0500000000000000e700000000000000',
      debug: false,
      reportData: undefined,
      configId: '0'.repeat(128),
      configSvn: 0,
      miscSelect: 0,
      cpuSvn: v1.enclave!.cpuSvn,
    },
  );
  assert.equal(Buffer.from(v1.enclave!.reportData, 'hex').toString('latin1').replace(/\0+$/, ''), 'Hello, world!');
  const v2 = verifier.verify(quoteFixture(AUTOMATA_SGX), textFixture(AUG_BUNDLE), { at: AUG_AT });
  assert.equal(v2.fmspc, '00606a000000');
  assert.equal(v2.enclave?.mrenclave, '3e7830a35057b9938d0fd849d13e3d82dc4abba812f8ffebbbb3d0e5ff1dd661');
  assert.equal(v2.enclave?.mrsigner, '60d7778210f93769ad6d1d26698df018f95d321fc64f750fdd286ed15882c58e');
});

test('TDX vectors carry the TD measurements', (t) => {
  if (!haveFixtures(t)) return;
  const r = verifier.verify(quoteFixture('phala-dcap-qvl/tdx_quote'), textFixture('phala-dcap-qvl/tdx_quote_collateral.json'), { at: new Date('2025-07-04T00:00:00Z') });
  assert.equal(r.td?.mrtd, '91eb2b44d141d4ece09f0c75c2c53d247a3c68edd7fafe8a3520c942a604a407de03ae6dc5f87f27428b2538873118b7');
  assert.equal(r.enclave, undefined);
  assert.equal(r.quoteVersion, 4);
  const n = verifier.verify(quoteFixture('phala-dcap-qvl/near_tdx_quote.hex'), textFixture('phala-dcap-qvl/near_tdx_quote_collateral.json'), { at: new Date('2025-09-17T00:00:00Z') });
  assert.equal(n.td?.mrtd, 'f06dfda6dce1cf904d4e2bab1dc370634cf95cefa2ceb2de2eee127c9382698090d7a4a13e14c536ec6c9c3c8fa87077');
});

test('V8b: trailing zero padding after the quote is tolerated and reported', (t) => {
  if (!haveFixtures(t)) return;
  const r = verifier.verify(quoteFixture('dstack-teekit/tdx-v4-zkdcap.dat'), textFixture('assembled/collateral_tdx_00806f05_2025-10.json'), { at: new Date('2025-10-26T00:00:00Z') });
  assert.equal(r.trailingZeroBytes, 8000 - 4935);
});

test('V4: PCK CRL expired two months before verification: rejected (CRL_EXPIRED)', (t) => {
  if (!haveFixtures(t)) return;
  const err = rejects(
    () => verifier.verify(quoteFixture('mobilecoin-attestation/hw_quote.dat'), textFixture('assembled/collateral_sgx_00906ed5_2023-07_mobilecoin.json'), { at: new Date('2023-07-27T00:00:00Z') }),
    'CRL_EXPIRED',
  );
  assert.match(err.message, /PCK CRL/);
  assert.match(err.message, /2023-05-21/);
});

test('V7: TDX v5 quote whose platform is below every TCB level: TCB_LEVEL_NOT_FOUND', (t) => {
  if (!haveFixtures(t)) return;
  rejects(() => verifier.verify(quoteFixture('phala-dcap-qvl/tdx_quote_outdated'), textFixture('phala-dcap-qvl/tdx_quote_outdated_collateral.json'), { at: new Date('2026-03-05T00:00:00Z') }), 'TCB_LEVEL_NOT_FOUND');
});

test('V9a: TD 1.5 quote bound to a service TD (MRSERVICETD non-zero) is rejected unless allowed', (t) => {
  if (!haveFixtures(t)) return;
  const q = quoteFixture('automata-dcap-attestation/quotes/alibaba_quote_5.dat');
  const c = textFixture('assembled/collateral_tdx_90c06f_2025-06.json');
  const at = new Date('2025-06-26T00:00:00Z');
  rejects(() => verifier.verify(q, c, { at }), 'SERVICE_TD_NOT_ALLOWED');
  // The opt-in moves the decision to the caller's policy; everything else still verifies.
  const r = new QuoteVerifier({ allowServiceTd: true }).verify(q, c, { at });
  assert.equal(r.quoteVersion, 5);
  assert.match(r.td!.mrservicetd!, /[1-9a-f]/);
});

test('V9b, V9c: TDX quotes below every TCB level: TCB_LEVEL_NOT_FOUND', (t) => {
  if (!haveFixtures(t)) return;
  const c = textFixture('assembled/collateral_tdx_90c06f_2025-06.json');
  const at = new Date('2025-06-26T00:00:00Z');
  rejects(() => verifier.verify(quoteFixture('automata-dcap-attestation/quotes/tdx_quote_5.dat'), c, { at }), 'TCB_LEVEL_NOT_FOUND');
  rejects(() => verifier.verify(quoteFixture('automata-dcap-attestation/quotes/tdx_v4_fmspc90c06f.hex'), c, { at }), 'TCB_LEVEL_NOT_FOUND');
});

const DERIVED: [string, string, string, AttestationErrorCode][] = [
  ['N2', 'MRENCLAVE flipped', 'derived-negative/sgx_00606a_mrenclave_flipped.dat', 'QUOTE_SIGNATURE_INVALID'],
  ['N3', 'REPORTDATA flipped', 'derived-negative/sgx_00606a_reportdata_flipped.dat', 'QUOTE_SIGNATURE_INVALID'],
  ['N4', 'quote signature flipped', 'derived-negative/sgx_00606a_quote_sig_flipped.dat', 'QUOTE_SIGNATURE_INVALID'],
  ['N5', 'attestation key flipped', 'derived-negative/sgx_00606a_attest_key_flipped.dat', 'QE_REPORT_DATA_MISMATCH'],
  ['N6', 'QE report flipped', 'derived-negative/sgx_00606a_qe_report_flipped.dat', 'QE_REPORT_SIGNATURE_INVALID'],
];

test('N1: the untouched binary copy verifies as SWHardeningNeeded', (t) => {
  if (!haveFixtures(t)) return;
  const r = verifier.verify(quoteFixture('derived-negative/sgx_00606a_original.dat'), textFixture(AUG_BUNDLE), { at: AUG_AT });
  assert.equal(r.status, 'SWHardeningNeeded');
  assert.deepEqual(r.advisoryIds, ['INTEL-SA-00615']);
});

for (const [id, what, file, code] of DERIVED) {
  test(`${id}: ${what}: rejected with ${code}`, (t) => {
    if (!haveFixtures(t)) return;
    rejects(() => verifier.verify(quoteFixture(file), textFixture(AUG_BUNDLE), { at: AUG_AT }), code);
  });
}

test('N7: TCB Info edited inside the signed text: TCB_INFO_SIGNATURE_INVALID', (t) => {
  if (!haveFixtures(t)) return;
  rejects(() => verifier.verify(quoteFixture(AUTOMATA_SGX), textFixture('derived-negative/collateral_sgx_00606a_2025-08_tcbinfo_tampered.json'), { at: AUG_AT }), 'TCB_INFO_SIGNATURE_INVALID');
});

test('N8: QE Identity edited inside the signed text: QE_IDENTITY_SIGNATURE_INVALID (the wasm build accepts it)', (t) => {
  if (!haveFixtures(t)) return;
  rejects(() => verifier.verify(quoteFixture(AUTOMATA_SGX), textFixture('derived-negative/collateral_sgx_00606a_2025-08_qeidentity_tampered.json'), { at: AUG_AT }), 'QE_IDENTITY_SIGNATURE_INVALID');
});

test('N9: verified after the collateral expired: rejected', (t) => {
  if (!haveFixtures(t)) return;
  // At 2025-09-15 the PCK CRL (nextUpdate 09-14T05:41) and TCB Info (09-14T04:36) have both expired;
  // CRLs are checked first.
  rejects(() => verifier.verify(quoteFixture(AUTOMATA_SGX), textFixture(AUG_BUNDLE), { at: new Date('2025-09-15T00:00:00Z') }), 'CRL_EXPIRED');
});

test('N10: verified before the collateral was issued: rejected (the wasm build accepts it)', (t) => {
  if (!haveFixtures(t)) return;
  const err = rejects(() => verifier.verify(quoteFixture(AUTOMATA_SGX), textFixture(AUG_BUNDLE), { at: new Date('2025-08-01T00:00:00Z') }), 'CRL_NOT_YET_VALID');
  assert.match(err.message, /2025-08/);
});

test('the Aug bundle verifies at the latest issue time of all its pieces', (t) => {
  if (!haveFixtures(t)) return;
  const c = JSON.parse(textFixture(AUG_BUNDLE)) as { tcb_info: string; qe_identity: string };
  const tcbIssue = new Date((JSON.parse(c.tcb_info) as { issueDate: string }).issueDate);
  const qeIssue = new Date((JSON.parse(c.qe_identity) as { issueDate: string }).issueDate);
  assert.ok(tcbIssue.getTime() > 0 && qeIssue.getTime() > 0);
  const r = verifier.verify(quoteFixture(AUTOMATA_SGX), textFixture(AUG_BUNDLE), { at: new Date(Math.max(tcbIssue.getTime(), qeIssue.getTime(), new Date('2025-08-15T05:41:26Z').getTime())) });
  assert.equal(r.status, 'SWHardeningNeeded');
});

test('N11: June collateral used in August: rejected as expired', (t) => {
  if (!haveFixtures(t)) return;
  rejects(() => verifier.verify(quoteFixture(AUTOMATA_SGX), textFixture('assembled/collateral_sgx_00606a_2025-06_eval17.json'), { at: AUG_AT }), 'CRL_EXPIRED');
});

test('N12: another platform\'s collateral (other FMSPC and PCK CA): rejected', (t) => {
  if (!haveFixtures(t)) return;
  // The phala quote's PCK was issued by the Processor CA; the bundle carries the Platform CA's CRL.
  rejects(() => verifier.verify(quoteFixture('phala-dcap-qvl/sgx_quote'), textFixture(AUG_BUNDLE), { at: AUG_AT }), 'CRL_ISSUER_MISMATCH');
});
