import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseQuote, parseCollateral, parseReportBody, QuoteVerifier, AttestationError, type AttestationErrorCode } from '../../src/attestation/index.js';
import { AUG_AT, AUG_BUNDLE, AUTOMATA_SGX, haveFixtures, quoteFixture, textFixture } from './fixtures.js';

function code(fn: () => unknown): AttestationErrorCode {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof AttestationError, `expected AttestationError, got ${String(err)}`);
    assert.ok(err.message.length > 10);
    return err.code;
  }
  assert.fail('expected an AttestationError');
}

function patched(bytes: Uint8Array, offset: number, values: number[]): Uint8Array {
  const copy = new Uint8Array(bytes);
  copy.set(values, offset);
  return copy;
}

test('real quotes parse with the identities the fixtures README lists', (t) => {
  if (!haveFixtures(t)) return;
  const rows: [string, number, string, string, boolean, number, number][] = [
    ['phala-dcap-qvl/sgx_quote', 3, '33d8736db756ed4997e04ba358d27833188f1932ff7b1d156904d3f560452fbb', '0500000000000000e700000000000000', false, 10, 15],
    [AUTOMATA_SGX, 3, '3e7830a35057b9938d0fd849d13e3d82dc4abba812f8ffebbbb3d0e5ff1dd661', '0500000000000000e700000000000000', false, 10, 15],
    ['mobilecoin-attestation/hw_quote.dat', 3, '840d61b0585dc8b4dc90f53af293c760fda06bee75978a6a86263ffb296423f4', '05000000000000000700000000000000', false, 9, 14],
    ['fortanix-rust-sgx/quote.bin', 3, '2531fd89facb97c6bab5f343805afe4dc051c2bef0d11309ac553c404326dda2', '07000000000000001f00000000000000', true, 5, 10],
  ];
  for (const [file, version, mrenclave, attributes, debug, qeSvn, pceSvn] of rows) {
    const q = parseQuote(quoteFixture(file));
    assert.equal(q.header.version, version, file);
    assert.equal(q.tee, 'sgx');
    assert.equal(q.enclave?.mrenclave, mrenclave, file);
    assert.equal(q.enclave?.attributes, attributes, file);
    assert.equal(q.enclave?.debug, debug, file);
    assert.equal(q.header.qeSvn, qeSvn, file);
    assert.equal(q.header.pceSvn, pceSvn, file);
    assert.equal(q.certDataType, 5);
    assert.equal(q.qe.pckChainDer.length, 3);
    assert.equal(q.signedBytes.length, 432);
  }
  const tdx = parseQuote(quoteFixture('phala-dcap-qvl/tdx_quote'));
  assert.equal(tdx.tee, 'tdx');
  assert.equal(tdx.bodyType, 'td10');
  assert.equal(tdx.certDataType, 6);
  assert.equal(tdx.signedBytes.length, 48 + 584);
  const v5 = parseQuote(quoteFixture('phala-dcap-qvl/tdx_quote_outdated'));
  assert.equal(v5.header.version, 5);
  assert.equal(v5.bodyType, 'td15');
  assert.equal(v5.signedBytes.length, 48 + 6 + 648);
  assert.equal(v5.td?.mrservicetd, '0'.repeat(96));
  // Parser-only material: quotes without a complete collateral set still parse.
  assert.equal(parseQuote(quoteFixture('dstack-teekit/sgx-occlum.dat')).length, 4733);
  assert.equal(parseQuote(quoteFixture('dstack-teekit/sgx-tlsn-quote9.dat')).tee, 'sgx');
});

test('every truncation of a real quote is QUOTE_TRUNCATED', (t) => {
  if (!haveFixtures(t)) return;
  for (const file of [AUTOMATA_SGX, 'phala-dcap-qvl/tdx_quote', 'phala-dcap-qvl/tdx_quote_outdated']) {
    const q = quoteFixture(file);
    const len = parseQuote(q).length;
    for (let n = 0; n < len; n++) assert.equal(code(() => parseQuote(q.subarray(0, n))), 'QUOTE_TRUNCATED', `${file} cut at ${n}`);
  }
});

test('header gates: version, key type, TEE type', (t) => {
  if (!haveFixtures(t)) return;
  const sgx = quoteFixture(AUTOMATA_SGX);
  const tdx = quoteFixture('phala-dcap-qvl/tdx_quote');
  assert.equal(code(() => parseQuote(patched(sgx, 0, [2, 0]))), 'UNSUPPORTED_VERSION');
  assert.equal(code(() => parseQuote(patched(sgx, 0, [6, 0]))), 'UNSUPPORTED_VERSION');
  assert.equal(code(() => parseQuote(patched(sgx, 2, [3, 0]))), 'UNSUPPORTED_KEY_TYPE');
  assert.equal(code(() => parseQuote(patched(sgx, 4, [0x81, 0, 0, 0]))), 'UNSUPPORTED_TEE_TYPE');
  assert.equal(code(() => parseQuote(patched(tdx, 4, [0x05, 0, 0, 0]))), 'UNSUPPORTED_TEE_TYPE');
  const v5 = quoteFixture('phala-dcap-qvl/tdx_quote_outdated');
  assert.equal(code(() => parseQuote(patched(v5, 48, [9, 0]))), 'UNSUPPORTED_BODY_TYPE');
  assert.equal(code(() => parseQuote(patched(v5, 50, [0x40, 0x02, 0, 0]))), 'UNSUPPORTED_BODY_TYPE');
  assert.equal(code(() => parseQuote(patched(v5, 48, [1, 0, 0x80, 0x01, 0, 0]))), 'UNSUPPORTED_TEE_TYPE');
  assert.equal(code(() => parseQuote('not bytes' as unknown as Uint8Array)), 'INVALID_ARGUMENT');
  assert.equal(code(() => parseQuote(null as unknown as Uint8Array)), 'INVALID_ARGUMENT');
});

test('certification data: types and exact accounting', (t) => {
  if (!haveFixtures(t)) return;
  const sgx = quoteFixture(AUTOMATA_SGX);
  // v3: QE auth data length at 1012, then cert data type after it.
  const authLen = sgx[1012]! | (sgx[1013]! << 8);
  const typeAt = 1014 + authLen;
  assert.equal(sgx[typeAt], 5);
  assert.equal(code(() => parseQuote(patched(sgx, typeAt, [3, 0]))), 'UNSUPPORTED_CERT_DATA_TYPE');
  // Garbage inside the PEM chain.
  assert.equal(code(() => parseQuote(patched(sgx, typeAt + 6, [0x41, 0x41]))), 'BAD_CERT_DATA');
  assert.equal(code(() => parseQuote(patched(sgx, typeAt + 6 + 40, [0x21]))), 'BAD_CERT_DATA');
  // Signature data longer than the quote.
  const sigLen = sgx[432]! | (sgx[433]! << 8);
  assert.equal(code(() => parseQuote(patched(sgx, 432, [(sigLen + 1) & 0xff, (sigLen + 1) >> 8]))), 'QUOTE_TRUNCATED');
  // v4: the outer certification data must be type 6.
  const tdx = quoteFixture('phala-dcap-qvl/tdx_quote');
  const outerType = 48 + 584 + 4 + 128;
  assert.equal(tdx[outerType], 6);
  assert.equal(code(() => parseQuote(patched(tdx, outerType, [5, 0]))), 'UNSUPPORTED_CERT_DATA_TYPE');
});

test('trailing bytes: zero padding is tolerated and counted, anything else is TRAILING_BYTES', (t) => {
  if (!haveFixtures(t)) return;
  const q = quoteFixture(AUTOMATA_SGX);
  const padded = new Uint8Array(q.length + 100);
  padded.set(q);
  assert.equal(parseQuote(padded).trailingZeroBytes, 100);
  padded[q.length + 57] = 1;
  assert.equal(code(() => parseQuote(padded)), 'TRAILING_BYTES');
  const v = new QuoteVerifier();
  padded[q.length + 57] = 0;
  assert.equal(v.verify(padded, textFixture(AUG_BUNDLE), { at: AUG_AT }).trailingZeroBytes, 100);
});

test('a quote from another QE vendor is UNKNOWN_QE_VENDOR', (t) => {
  if (!haveFixtures(t)) return;
  const q = patched(quoteFixture(AUTOMATA_SGX), 12, [0]);
  assert.equal(code(() => new QuoteVerifier().verify(q, textFixture(AUG_BUNDLE), { at: AUG_AT })), 'UNKNOWN_QE_VENDOR');
});

test('parseReportBody decodes the REPORTBODY offsets', () => {
  const b = new Uint8Array(384);
  b[48] = 0x07; // FLAGS: INIT | DEBUG | MODE64BIT
  b.fill(0xaa, 64, 96);
  b.fill(0xbb, 128, 160);
  b.set([0x34, 0x12], 256);
  b.set([0x02, 0x00], 258);
  b.fill(0xcc, 320, 384);
  const r = parseReportBody(b);
  assert.equal(r.debug, true);
  assert.equal(r.mrenclave, 'aa'.repeat(32));
  assert.equal(r.mrsigner, 'bb'.repeat(32));
  assert.equal(r.isvProdId, 0x1234);
  assert.equal(r.isvSvn, 2);
  assert.equal(r.reportData, 'cc'.repeat(64));
  b[48] = 0x05;
  assert.equal(parseReportBody(b).debug, false);
  assert.equal(code(() => parseReportBody(b.subarray(0, 383))), 'QUOTE_TRUNCATED');
});

test('parseCollateral: shape errors are BAD_COLLATERAL; accepts text, object and camelCase', (t) => {
  if (!haveFixtures(t)) return;
  const text = textFixture(AUG_BUNDLE);
  const obj = JSON.parse(text) as Record<string, unknown>;
  const c = parseCollateral(text);
  assert.ok(Object.isFrozen(c));
  assert.deepEqual(parseCollateral(obj as never), c);
  assert.equal(parseCollateral(c), c);
  assert.deepEqual(parseCollateral({ ...c }), c);
  assert.equal(code(() => parseCollateral('{')), 'BAD_COLLATERAL');
  assert.equal(code(() => parseCollateral('[]')), 'BAD_COLLATERAL');
  assert.equal(code(() => parseCollateral({ ...obj, pck_crl: undefined } as never)), 'BAD_COLLATERAL');
  assert.equal(code(() => parseCollateral({ ...obj, pck_crl: 'zz' } as never)), 'BAD_COLLATERAL');
  assert.equal(code(() => parseCollateral({ ...obj, tcb_info: 'not json' } as never)), 'BAD_COLLATERAL');
  assert.equal(code(() => parseCollateral({ ...obj, tcb_info_issuer_chain: 'no pem here' } as never)), 'BAD_COLLATERAL');
  assert.equal(code(() => parseCollateral({ ...obj, qe_identity: 42 } as never)), 'BAD_COLLATERAL');
});

test('malformed collateral contents get their own codes', (t) => {
  if (!haveFixtures(t)) return;
  const obj = JSON.parse(textFixture(AUG_BUNDLE)) as Record<string, string>;
  const q = quoteFixture(AUTOMATA_SGX);
  const v = new QuoteVerifier();
  const run = (patch: Record<string, string>): AttestationErrorCode => code(() => v.verify(q, { ...obj, ...patch } as never, { at: AUG_AT }));
  assert.equal(run({ pck_crl: '3003020100' }), 'BAD_CRL');
  assert.equal(run({ root_ca_crl: obj['root_ca_crl']!.slice(0, 40) }), 'BAD_CRL');
  const pem = '-----BEGIN CERTIFICATE-----\nMAMCAQA=\n-----END CERTIFICATE-----\n';
  assert.equal(run({ tcb_info_issuer_chain: pem }), 'BAD_CERTIFICATE');
  assert.equal(run({ tcb_info_signature: '00'.repeat(64) }), 'TCB_INFO_SIGNATURE_INVALID');
  assert.equal(run({ qe_identity_signature: '00'.repeat(64) }), 'QE_IDENTITY_SIGNATURE_INVALID');
  // The PCK CRL issuer chain swapped for the TCB signing chain: the CRL's issuer is not that chain's CA.
  assert.equal(run({ pck_crl_issuer_chain: obj['tcb_info_issuer_chain']! }), 'CRL_ISSUER_MISMATCH');
});
