/**
 * Simulated collateral checked independently: CRLs parsed and verified with
 * @peculiar/x509, TCB Info / QE Identity signatures verified with node:crypto
 * over the exact text, and field order compared with Intel's real collateral.
 */
import 'reflect-metadata';
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate, verify } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { SimulatedPlatform, SimError, type QuoteCollateralV3Json } from '../../src/sim/index.js';
import { readFixture } from './fixtures.js';
import { skeleton, walk } from './der-walk.js';

const AT = new Date('2026-02-01T08:00:00Z');
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

function certs(pem: string): X509Certificate[] {
  return (pem.match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g) ?? []).map((p) => new X509Certificate(p));
}

function signatureOk(text: string, signatureHex: string, chainPem: string): boolean {
  const signer = certs(chainPem)[0]!;
  return verify('sha256', Buffer.from(text, 'utf8'), { key: signer.publicKey, dsaEncoding: 'ieee-p1363' }, Buffer.from(signatureHex, 'hex'));
}

/** Keys of an object and, recursively, of its first array element / nested objects: the JSON "shape" in order. */
function keyOrder(value: unknown): unknown {
  if (Array.isArray(value)) return value.length > 0 ? [keyOrder(value[0])] : [];
  if (value && typeof value === 'object') return Object.entries(value).map(([k, v]) => [k, keyOrder(v)]);
  return typeof value;
}

async function crlOk(crlHex: string, issuer: X509Certificate): Promise<{ crl: x509.X509Crl; verified: boolean }> {
  const crl = new x509.X509Crl(Buffer.from(crlHex, 'hex'));
  const verified = await crl.verify({ publicKey: new x509.X509Certificate(issuer.raw) });
  return { crl, verified };
}

describe('simulated collateral', () => {
  let platform: SimulatedPlatform;
  let collateral: QuoteCollateralV3Json;
  let root: X509Certificate;
  let pckCa: X509Certificate;
  let leaf: X509Certificate;

  before(async () => {
    platform = await SimulatedPlatform.create({ now: AT });
    collateral = platform.collateral();
    [pckCa, root] = certs(collateral.pck_crl_issuer_chain) as [X509Certificate, X509Certificate];
    leaf = new X509Certificate(platform.pckCertificateDer);
  });

  test('TCB Info and QE Identity signatures verify over the exact text (node:crypto), and fail on any change', () => {
    assert.ok(signatureOk(collateral.tcb_info, collateral.tcb_info_signature, collateral.tcb_info_issuer_chain));
    assert.ok(signatureOk(collateral.qe_identity, collateral.qe_identity_signature, collateral.qe_identity_issuer_chain));
    const reserialised = JSON.stringify(JSON.parse(collateral.tcb_info), null, 1);
    assert.equal(signatureOk(reserialised, collateral.tcb_info_signature, collateral.tcb_info_issuer_chain), false, 'same JSON, other bytes');
    assert.equal(signatureOk(collateral.qe_identity.replace('"isvprodid":1', '"isvprodid":2'), collateral.qe_identity_signature, collateral.qe_identity_issuer_chain), false);
  });

  test('issuer chains: TCB Signing then root; PCK CA then root; roots are the platform root', () => {
    for (const chain of [collateral.tcb_info_issuer_chain, collateral.qe_identity_issuer_chain]) {
      const [signer, chainRoot] = certs(chain) as [X509Certificate, X509Certificate];
      assert.match(signer.subject, /TCB Signing/);
      assert.ok(signer.verify(chainRoot.publicKey));
      assert.deepEqual(new Uint8Array(chainRoot.raw), platform.rootCaDer);
    }
    assert.ok(leaf.checkIssued(pckCa) && leaf.verify(pckCa.publicKey));
    assert.deepEqual(new Uint8Array(root.raw), platform.rootCaDer);
  });

  test('Root CA CRL: signed by the root, issuer = root subject, fresh for about a year, nothing revoked', async () => {
    const { crl, verified } = await crlOk(collateral.root_ca_crl, root);
    assert.ok(verified);
    assert.equal(crl.issuer, new x509.X509Certificate(root.raw).subject);
    assert.ok(crl.thisUpdate <= AT && AT <= crl.nextUpdate!);
    assert.ok(crl.nextUpdate!.getTime() - crl.thisUpdate.getTime() >= 360 * DAY);
    assert.equal(crl.entries.length, 0);
  });

  test('PCK CRL: signed by the PCK CA, lists the leaf serial only after revokePck()', async () => {
    const other = await SimulatedPlatform.create({ now: AT });
    const leafSerial = new x509.X509Certificate(platform.pckCertificateDer).serialNumber.toLowerCase();
    const { crl, verified } = await crlOk(collateral.pck_crl, pckCa);
    assert.ok(verified);
    assert.equal(crl.issuer, new x509.X509Certificate(pckCa.raw).subject);
    assert.ok(crl.thisUpdate <= AT && AT <= crl.nextUpdate!);
    assert.equal(crl.nextUpdate!.getTime() - crl.thisUpdate.getTime(), 30 * DAY);
    const serials = (c: x509.X509Crl): string[] => c.entries.map((e) => e.serialNumber.toLowerCase());
    assert.equal(serials(crl).length, 2, 'two other platforms\' serials, so "any entry" is not "revoked"');
    assert.ok(!serials(crl).includes(leafSerial));

    other.revokePck();
    const otherLeafSerial = new x509.X509Certificate(other.pckCertificateDer).serialNumber.toLowerCase();
    const otherCa = certs(other.collateral().pck_crl_issuer_chain)[0]!;
    const revoked = await crlOk(other.collateral().pck_crl, otherCa);
    assert.ok(revoked.verified);
    assert.ok(serials(revoked.crl).includes(otherLeafSerial));
    const entry = revoked.crl.entries.find((e) => e.serialNumber.toLowerCase() === otherLeafSerial)!;
    assert.equal(entry.reason, x509.X509CrlReason.keyCompromise);
  });

  test('CRLs have the structure of Intel\'s (version, algorithm, extensions, revoked entries)', (t) => {
    const intelCrl = readFixture(t, 'automata-dcap-attestation/0825/platform_crl.der');
    const intelRootCrl = readFixture(t, 'assembled/intel_root_ca_crl_2025-03-20.der');
    if (!intelCrl || !intelRootCrl) return;
    const tbsShape = (der: Uint8Array) => {
      const tbs = walk(der)[0]!.children![0]!.children!;
      // version, signature, issuer, thisUpdate, nextUpdate, [entries], extensions; compare all but the issuer's names.
      return tbs.map((n, i) => (i === 2 ? 'issuer' : i === 5 && n.tag === 0x30 ? skeleton([n.children![0]!]) : skeleton([n])));
    };
    const ours = tbsShape(Buffer.from(collateral.pck_crl, 'hex'));
    assert.deepEqual(ours, tbsShape(intelCrl));
    assert.deepEqual(tbsShape(Buffer.from(collateral.root_ca_crl, 'hex')), tbsShape(intelRootCrl));
  });

  test('TCB Info and QE Identity have Intel\'s field order (2025 PCS responses)', (t) => {
    const tcbFixture = readFixture(t, 'automata-dcap-attestation/0825/sgx_tcbinfov3_00606a000000.json');
    const qeFixture = readFixture(t, 'automata-dcap-attestation/0825/sgx_qeidentity_v4.json');
    const collateralFixture = readFixture(t, 'phala-dcap-qvl/sgx_quote_collateral.json');
    if (!tcbFixture || !qeFixture || !collateralFixture) return;
    const intelTcb = JSON.parse(tcbFixture.toString('utf8')).tcbInfo;
    const intelQe = JSON.parse(qeFixture.toString('utf8')).enclaveIdentity;
    const ours = JSON.parse(collateral.tcb_info);
    assert.deepEqual(keyOrder({ ...ours, tcbLevels: [ours.tcbLevels[1]] }), keyOrder({ ...intelTcb, tcbLevels: [intelTcb.tcbLevels[0]] }));
    assert.deepEqual(keyOrder(JSON.parse(collateral.qe_identity)), keyOrder({ ...intelQe, tcbLevels: [intelQe.tcbLevels[0]] }));
    assert.deepEqual(Object.keys(collateral), Object.keys(JSON.parse(collateralFixture.toString('utf8'))));
  });

  test('TCB Info content: this platform, fresh for 30 days, whole-second Zulu dates, UpToDate first', () => {
    const info = JSON.parse(collateral.tcb_info);
    assert.equal(info.id, 'SGX');
    assert.equal(info.version, 3);
    assert.equal(info.fmspc, platform.fmspc);
    assert.equal(info.pceId, platform.pceId);
    assert.equal(info.tcbEvaluationDataNumber, platform.tcbEvaluationDataNumber);
    assert.match(info.issueDate, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.equal(Date.parse(info.issueDate), AT.getTime() - HOUR);
    assert.equal(Date.parse(info.nextUpdate) - Date.parse(info.issueDate), 30 * DAY);
    assert.equal(info.tcbLevels[0].tcbStatus, 'UpToDate');
    assert.deepEqual(info.tcbLevels[0].tcb, { sgxtcbcomponents: info.tcbLevels[0].tcb.sgxtcbcomponents, pcesvn: platform.tcb.pceSvn });
    assert.deepEqual(
      info.tcbLevels[0].tcb.sgxtcbcomponents.map((c: { svn: number }) => c.svn),
      platform.tcb.sgxTcbComponents,
    );
    const qe = JSON.parse(collateral.qe_identity);
    assert.equal(qe.id, 'QE');
    assert.equal(qe.version, 2);
    assert.equal(qe.tcbLevels[0].tcbStatus, 'UpToDate');
  });

  test('recoverTcb(): a higher evaluation number, a new UpToDate level above the platform, platform OutOfDate with the advisory', async () => {
    const p = await SimulatedPlatform.create({ now: AT });
    const beforeInfo = JSON.parse(p.collateral().tcb_info);
    p.recoverTcb();
    const info = JSON.parse(p.collateral().tcb_info);
    assert.equal(info.tcbEvaluationDataNumber, beforeInfo.tcbEvaluationDataNumber + 1);
    assert.equal(info.tcbLevels[0].tcbStatus, 'UpToDate');
    assert.ok(info.tcbLevels[0].tcb.pcesvn > p.tcb.pceSvn);
    assert.deepEqual(info.tcbLevels[1].tcb, beforeInfo.tcbLevels[0].tcb);
    assert.equal(info.tcbLevels[1].tcbStatus, 'OutOfDate');
    assert.deepEqual(info.tcbLevels[1].advisoryIDs, ['SIM-SA-00001']);
    assert.equal(JSON.parse(p.collateral().qe_identity).tcbEvaluationDataNumber, info.tcbEvaluationDataNumber);
  });

  test('collateral faults change only what they name, and keep valid signatures where they must', async () => {
    const fmspc = platform.collateral({ tamper: 'tcbInfoFmspc' });
    assert.notEqual(JSON.parse(fmspc.tcb_info).fmspc, platform.fmspc);
    assert.ok(signatureOk(fmspc.tcb_info, fmspc.tcb_info_signature, fmspc.tcb_info_issuer_chain), 'a genuine TCB Info for another platform');

    const badSig = platform.collateral({ tamper: 'tcbInfoSignature' });
    assert.equal(signatureOk(badSig.tcb_info, badSig.tcb_info_signature, badSig.tcb_info_issuer_chain), false);
    assert.ok(signatureOk(badSig.qe_identity, badSig.qe_identity_signature, badSig.qe_identity_issuer_chain));

    const expiredPck = platform.collateral({ tamper: 'pckCrlExpired' });
    const { crl, verified } = await crlOk(expiredPck.pck_crl, pckCa);
    assert.ok(verified && crl.nextUpdate! < AT);

    const badRootCrl = platform.collateral({ tamper: 'rootCaCrlSignature' });
    assert.equal((await crlOk(badRootCrl.root_ca_crl, root)).verified, false);

    assert.throws(
      () => platform.collateral({ tamper: 'everything' as unknown as 'tcbInfoFmspc' }),
      (err: unknown) => err instanceof SimError && err.code === 'SIM_OPTION_INVALID',
    );
  });

  test('round-trips through JSON text unchanged (the format the key broker stores and ships)', () => {
    assert.deepEqual(JSON.parse(JSON.stringify(collateral)), collateral);
    for (const value of Object.values(collateral)) assert.equal(typeof value, 'string');
    assert.match(collateral.root_ca_crl, /^[0-9a-f]+$/);
    assert.match(collateral.pck_crl, /^[0-9a-f]+$/);
    assert.match(collateral.tcb_info_signature, /^[0-9a-f]{128}$/);
  });
});
