// fortanix quote.bin: a real 2020 SGX v3 quote of a DEBUG enclave with TCB Info v2.
// No Root CA CRL from 2020 exists in the fixtures, so full verification at
// 2020-06-01 must stop at the Root CA CRL window; the TCB evaluation the
// README computed by hand is checked through the same functions the verifier uses.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { QuoteVerifier, AttestationError, parseQuote, parsePckExtension, parseTcbInfo, parseQeIdentity, type QuoteCollateralV3Json } from '../../src/attestation/index.js';
import { parseCertificate } from '../../src/attestation/x509.js';
import { mergeTcbStatus, selectPlatformTcbLevel, selectQeTcbLevel } from '../../src/attestation/tcb-evaluation.js';
import { fixturePath, haveFixtures, quoteFixture } from './fixtures.js';

/** DER ECDSA signature (SEQUENCE of two INTEGERs) to 64-byte r ‖ s hex. */
function derToRawHex(der: number[]): string {
  const b = Buffer.from(der);
  assert.equal(b[0], 0x30);
  let p = 2;
  const ints: Buffer[] = [];
  for (let i = 0; i < 2; i++) {
    assert.equal(b[p], 0x02);
    const len = b[p + 1]!;
    let v = b.subarray(p + 2, p + 2 + len);
    while (v.length > 32 && v[0] === 0) v = v.subarray(1);
    ints.push(Buffer.concat([Buffer.alloc(32 - v.length), v]));
    p += 2 + len;
  }
  return Buffer.concat(ints).toString('hex');
}

function fortanixCollateral(): QuoteCollateralV3Json {
  const tcb = JSON.parse(readFileSync(fixturePath('fortanix-rust-sgx/00906ea10000.tcb'), 'utf8')) as { raw_tcb_info: string; signature: number[]; ca_chain: string[] };
  const qe = JSON.parse(readFileSync(fixturePath('fortanix-rust-sgx/qe3_identity.id'), 'utf8')) as { raw_enclave_identity: string; signature: number[]; ca_chain: string[] };
  const crl = JSON.parse(readFileSync(fixturePath('fortanix-rust-sgx/processor.crl'), 'utf8')) as { crl: string; ca_chain: string[] };
  const pem = crl.crl.replace(/-----[A-Z0-9 ]+-----/g, '').replace(/\s+/g, '');
  return {
    pck_crl_issuer_chain: crl.ca_chain.join('\n'),
    root_ca_crl: readFileSync(fixturePath('fortanix-rust-sgx/IntelSGXRootCA.der')).toString('hex'),
    pck_crl: Buffer.from(pem, 'base64').toString('hex'),
    tcb_info_issuer_chain: tcb.ca_chain.join('\n'),
    tcb_info: tcb.raw_tcb_info,
    tcb_info_signature: derToRawHex(tcb.signature),
    qe_identity_issuer_chain: qe.ca_chain.join('\n'),
    qe_identity: qe.raw_enclave_identity,
    qe_identity_signature: derToRawHex(qe.signature),
  };
}

test('debug quote: every signature verifies, then the 2026 Root CA CRL is not yet valid in 2020', (t) => {
  if (!haveFixtures(t)) return;
  const v = new QuoteVerifier();
  try {
    v.verify(quoteFixture('fortanix-rust-sgx/quote.bin'), fortanixCollateral(), { at: new Date('2020-06-01T00:00:00Z') });
    assert.fail('must not verify without a current Root CA CRL');
  } catch (err) {
    assert.ok(err instanceof AttestationError);
    assert.equal(err.code, 'CRL_NOT_YET_VALID', err.message);
    assert.match(err.message, /Root CA CRL/);
  }
});

test('debug quote: DEBUG flag decoded, TCB Info v2 evaluation gives SWHardeningNeeded as computed by hand', (t) => {
  if (!haveFixtures(t)) return;
  const q = parseQuote(quoteFixture('fortanix-rust-sgx/quote.bin'));
  assert.equal(q.enclave?.debug, true);
  assert.equal(q.enclave?.mrenclave, '2531fd89facb97c6bab5f343805afe4dc051c2bef0d11309ac553c404326dda2');
  assert.equal(q.enclave?.attributes, '07000000000000001f00000000000000');
  const leaf = parseCertificate(q.qe.pckChainDer[0]!, 'leaf');
  const pck = parsePckExtension(leaf.sgxExtension!);
  assert.equal(pck.fmspc, '00906ea10000');
  assert.deepEqual(pck.tcbComponents.slice(0, 8), [14, 14, 2, 4, 1, 128, 7, 0]);
  assert.equal(pck.pceSvn, 10);
  const c = fortanixCollateral();
  const tcbInfo = parseTcbInfo(c.tcb_info);
  assert.equal(tcbInfo.version, 2);
  assert.equal(tcbInfo.id, 'SGX');
  const { level } = selectPlatformTcbLevel(tcbInfo, pck, undefined);
  assert.equal(level, tcbInfo.tcbLevels[0]);
  assert.equal(level.status, 'SWHardeningNeeded');
  const qeLevel = selectQeTcbLevel(parseQeIdentity(c.qe_identity), q.qe.qeReportBody.isvSvn);
  assert.equal(q.qe.qeReportBody.isvSvn, 5);
  assert.equal(qeLevel.status, 'UpToDate');
  assert.equal(mergeTcbStatus(level.status, qeLevel.status), 'SWHardeningNeeded');
});

test('TCB Info v2 from automata (flat sgxtcbcompNNsvn fields) parses', (t) => {
  if (!haveFixtures(t)) return;
  const doc = readFileSync(fixturePath('automata-dcap-attestation/0625/tcbinfo.json'), 'utf8');
  const inner = JSON.stringify((JSON.parse(doc) as { tcbInfo: unknown }).tcbInfo);
  const info = parseTcbInfo(inner);
  assert.equal(info.version, 2);
  assert.equal(info.fmspc, '00606a000000');
  assert.ok(info.tcbLevels.length > 3);
  assert.ok(info.tcbLevels.every((l) => l.sgxComponents.length === 16));
});
