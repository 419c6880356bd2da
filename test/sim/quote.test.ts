/**
 * Simulated quotes decoded and checked with node:crypto only, at the offsets
 * of Intel's layout (docs/attestation.md §1), and accepted by the reference
 * verifier @phala/dcap-qvl exactly when the simulated root is passed to it.
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate, createHash, createPublicKey, verify, type KeyObject } from 'node:crypto';
import { createRequire } from 'node:module';
import { SimulatedPlatform, SimError, INTEL_QE_VENDOR_ID } from '../../src/sim/index.js';

const AT = new Date('2026-02-01T08:00:00Z');

/** The SGX quote layout, decoded here independently of src/sim. */
interface Decoded {
  version: number;
  keyType: number;
  teeType: number;
  qeSvn: number;
  pceSvn: number;
  vendorId: string;
  signed: Buffer;
  body: Buffer;
  isvSignature: Buffer;
  attestationKey: Buffer;
  qeReport: Buffer;
  qeReportSignature: Buffer;
  qeAuthData: Buffer;
  certType: number;
  certBody: Buffer;
  /** Outer type-6 record for v4. */
  outerCertType?: number;
}

function decode(quote: Uint8Array): Decoded {
  const q = Buffer.from(quote);
  const sigLen = q.readUInt32LE(432);
  assert.equal(sigLen, q.length - 436, 'signature data length covers the rest exactly');
  const version = q.readUInt16LE(0);
  let p = 436;
  const isvSignature = q.subarray(p, (p += 64));
  const attestationKey = q.subarray(p, (p += 64));
  let outerCertType: number | undefined;
  if (version === 4) {
    outerCertType = q.readUInt16LE(p);
    const size = q.readUInt32LE(p + 2);
    p += 6;
    assert.equal(p + size, q.length, 'type-6 record spans the rest');
  }
  const qeReport = q.subarray(p, (p += 384));
  const qeReportSignature = q.subarray(p, (p += 64));
  const authLen = q.readUInt16LE(p);
  p += 2;
  const qeAuthData = q.subarray(p, (p += authLen));
  const certType = q.readUInt16LE(p);
  const certSize = q.readUInt32LE(p + 2);
  p += 6;
  const certBody = q.subarray(p, p + certSize);
  assert.equal(p + certSize, q.length, 'no trailing bytes');
  return {
    version,
    keyType: q.readUInt16LE(2),
    teeType: q.readUInt32LE(4),
    qeSvn: q.readUInt16LE(8),
    pceSvn: q.readUInt16LE(10),
    vendorId: q.subarray(12, 28).toString('hex'),
    signed: q.subarray(0, 432),
    body: q.subarray(48, 432),
    isvSignature,
    attestationKey,
    qeReport,
    qeReportSignature,
    qeAuthData,
    certType,
    certBody,
    ...(outerCertType === undefined ? {} : { outerCertType }),
  };
}

function rawKey(xy: Buffer): KeyObject {
  return createPublicKey({ key: { kty: 'EC', crv: 'P-256', x: xy.subarray(0, 32).toString('base64url'), y: xy.subarray(32).toString('base64url') }, format: 'jwk' });
}

function pemCerts(body: Buffer): X509Certificate[] {
  return (body.toString('latin1').match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g) ?? []).map((pem) => new X509Certificate(pem));
}

const verifyRaw = (data: Buffer, key: KeyObject, sig: Buffer): boolean => verify('sha256', data, { key, dsaEncoding: 'ieee-p1363' }, sig);

describe('simulated quotes', () => {
  let platform: SimulatedPlatform;

  before(async () => {
    platform = await SimulatedPlatform.create({ now: AT, tcb: { pceSvn: 14 }, qeSvn: 9 });
  });

  for (const version of [3, 4] as const) {
    test(`v${version}: header, signatures and the QE's key binding check out with node:crypto`, () => {
      const d = decode(platform.quote({ version }));
      assert.equal(d.version, version);
      assert.equal(d.keyType, 2);
      assert.equal(d.teeType, 0);
      assert.equal(d.qeSvn, 9);
      assert.equal(d.pceSvn, 14);
      assert.equal(d.vendorId, Buffer.from(INTEL_QE_VENDOR_ID).toString('hex'));
      if (version === 4) assert.equal(d.outerCertType, 6);
      assert.equal(d.certType, 5);

      const [leaf, ca, root] = pemCerts(d.certBody) as [X509Certificate, X509Certificate, X509Certificate];
      assert.ok(root && ca && leaf);
      assert.equal(d.certBody.at(-1), 0, 'PEM chain NUL-terminated like Intel\'s QE writes it');

      assert.ok(verifyRaw(d.signed, rawKey(d.attestationKey), d.isvSignature), 'ISV signature by the attestation key');
      assert.ok(verifyRaw(d.qeReport, leaf.publicKey, d.qeReportSignature), 'QE report signed by the PCK leaf key');
      const binding = createHash('sha256').update(d.attestationKey).update(d.qeAuthData).digest();
      assert.deepEqual(d.qeReport.subarray(320, 352), binding);
      assert.deepEqual(d.qeReport.subarray(352, 384), Buffer.alloc(32));
      assert.deepEqual(d.qeAuthData, Buffer.from(Array.from({ length: 32 }, (_, i) => i)));
      // QE report: ISVPRODID 1, ISVSVN = header QE SVN, ATTRIBUTES match Intel's QE Identity under its mask.
      assert.equal(d.qeReport.readUInt16LE(256), 1);
      assert.equal(d.qeReport.readUInt16LE(258), 9);
      assert.equal(d.qeReport[48]! & 0xfb, 0x11);
    });
  }

  test('the enclave report body carries the requested identity at Intel\'s offsets', () => {
    const d = decode(
      platform.quote({ mrenclave: 'aa'.repeat(32), mrsigner: Uint8Array.from({ length: 32 }, () => 0xbb), isvProdId: 0x1234, isvSvn: 7, reportData: Buffer.from('Hello, world!') }),
    );
    assert.equal(d.body.subarray(64, 96).toString('hex'), 'aa'.repeat(32));
    assert.equal(d.body.subarray(128, 160).toString('hex'), 'bb'.repeat(32));
    assert.equal(d.body.readUInt16LE(256), 0x1234);
    assert.equal(d.body.readUInt16LE(258), 7);
    assert.deepEqual(d.body.subarray(320, 384), Buffer.concat([Buffer.from('Hello, world!'), Buffer.alloc(64 - 13)]));
    assert.equal(d.body[48]! & 0x02, 0, 'not debug by default');
    assert.deepEqual(d.body.subarray(0, 16), Buffer.from(platform.tcb.sgxTcbComponents), 'CPUSVN');
    assert.equal(decode(platform.quote({ debug: true })).body[48]! & 0x02, 0x02, 'DEBUG is ATTRIBUTES.FLAGS bit 1');
  });

  test('each quote-side fault changes only its own part', () => {
    const good = decode(platform.quote());
    const badSig = decode(platform.quote({ tamper: 'quoteSignature' }));
    assert.equal(verifyRaw(badSig.signed, rawKey(badSig.attestationKey), badSig.isvSignature), false);
    const leafKey = pemCerts(good.certBody)[0]!.publicKey;
    assert.ok(verifyRaw(badSig.qeReport, leafKey, badSig.qeReportSignature), 'QE report untouched');

    const badBinding = decode(platform.quote({ tamper: 'qeReportData' }));
    assert.ok(verifyRaw(badBinding.qeReport, leafKey, badBinding.qeReportSignature), 'still signed by the PCK key');
    assert.notDeepEqual(badBinding.qeReport.subarray(320, 352), createHash('sha256').update(badBinding.attestationKey).update(badBinding.qeAuthData).digest());

    const badQeSig = decode(platform.quote({ tamper: 'qeReportSignature' }));
    assert.equal(verifyRaw(badQeSig.qeReport, leafKey, badQeSig.qeReportSignature), false);
    assert.ok(verifyRaw(badQeSig.signed, rawKey(badQeSig.attestationKey), badQeSig.isvSignature), 'quote signature untouched');

    const otherSigner = decode(platform.quote({ tamper: 'qeMrsigner' }));
    assert.notDeepEqual(otherSigner.qeReport.subarray(128, 160), good.qeReport.subarray(128, 160));
    assert.ok(verifyRaw(otherSigner.qeReport, leafKey, otherSigner.qeReportSignature));

    const v2 = Buffer.from(platform.quote({ tamper: 'unsupportedVersion' }));
    assert.equal(v2.readUInt16LE(0), 2);
    const truncated = platform.quote({ tamper: 'truncated' });
    assert.ok(truncated.length < platform.quote().length);
    assert.ok(Buffer.from(truncated).readUInt32LE(432) > truncated.length - 436, 'declared length exceeds what is there');
  });

  test('bad quote options are typed errors', () => {
    const cases: Array<[string, () => unknown]> = [
      ['mrenclave too short', () => platform.quote({ mrenclave: 'aa' })],
      ['mrenclave not hex', () => platform.quote({ mrenclave: 'zz'.repeat(32) })],
      ['mrsigner 31 bytes', () => platform.quote({ mrsigner: new Uint8Array(31) })],
      ['reportData 65 bytes', () => platform.quote({ reportData: new Uint8Array(65) })],
      ['isvProdId out of range', () => platform.quote({ isvProdId: 70_000 })],
      ['isvSvn negative', () => platform.quote({ isvSvn: -1 })],
      ['version 5', () => platform.quote({ version: 5 as unknown as 3 })],
      ['unknown tamper', () => platform.quote({ tamper: 'nope' as unknown as 'truncated' })],
    ];
    for (const [name, run] of cases) {
      assert.throws(run, (err: unknown) => err instanceof SimError && err.code === 'SIM_OPTION_INVALID' && typeof err.hint === 'string', name);
    }
  });
});

describe('reference verifier @phala/dcap-qvl', () => {
  interface Qvl {
    QuoteVerifier: { newWithRootCa(root: Uint8Array): { verify(q: Uint8Array, c: unknown, nowSecs: number): { status: string; advisory_ids: string[] } } };
    verify(q: Uint8Array, c: unknown, nowSecs: number): unknown;
  }
  const qvl = createRequire(import.meta.url)('@phala/dcap-qvl') as Qvl;
  const nowSecs = Math.floor(AT.getTime() / 1000);

  test('accepts a simulated v3 quote only with the simulated root, and sees the TCB recovery', async () => {
    const platform = await SimulatedPlatform.create({ now: AT });
    const verifier = qvl.QuoteVerifier.newWithRootCa(Buffer.from(platform.rootCaDer));
    const quote = platform.quote({ reportData: Buffer.from('nonce') });
    const result = verifier.verify(quote, platform.collateral(), nowSecs);
    assert.equal(result.status, 'UpToDate');
    assert.deepEqual(result.advisory_ids, []);
    assert.throws(() => qvl.verify(quote, platform.collateral(), nowSecs), 'Intel\'s root (the default) must not accept it');
    platform.recoverTcb();
    const after = verifier.verify(quote, platform.collateral(), nowSecs);
    assert.equal(after.status, 'OutOfDate');
    assert.deepEqual(after.advisory_ids, ['SIM-SA-00001']);
  });
});
