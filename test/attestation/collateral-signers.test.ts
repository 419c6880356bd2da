/**
 * Collateral signer roles and one root per verification (issue 12.1, 12.2).
 * An attacker who controls collateral (a PCCS, a file, a cache) and holds a
 * leaked PCK key, or who can mix collateral of two trusted roots, must not be
 * able to change a verdict: every chain is checked for the role it plays, as
 * Intel's QVL does, and every chain and CRL ends at the same root.
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createPrivateKey, sign } from 'node:crypto';
import { QuoteVerifier, isAttestationError } from '../../src/attestation/index.js';
import { SimulatedPlatform } from '../../src/sim/index.js';

const AT = new Date('2026-03-10T09:30:00Z');

function rejectionCode(run: () => unknown): string {
  try {
    run();
  } catch (err) {
    assert.ok(isAttestationError(err), `expected an AttestationError, got ${String(err)}`);
    return err.code;
  }
  assert.fail('the verifier accepted collateral it must reject');
}

function pem(der: string): string {
  return `-----BEGIN CERTIFICATE-----\n${der.match(/.{1,64}/g)!.join('\n')}\n-----END CERTIFICATE-----\n`;
}

describe('TCB Info re-signed with a leaked PCK key (the attack, built from the platform state only)', () => {
  let platform: SimulatedPlatform;
  let verifier: QuoteVerifier;

  before(async () => {
    platform = await SimulatedPlatform.create({ now: AT });
    platform.recoverTcb(); // genuinely OutOfDate from now on
    verifier = new QuoteVerifier({ trustedRootCaDer: [platform.rootCaDer], cacheMaxEntries: 0 });
  });

  test('baseline: after the TCB recovery the platform is OutOfDate', () => {
    assert.equal(verifier.verify(platform.quote(), platform.collateral(), { at: AT }).status, 'OutOfDate');
  });

  test('a TCB Info that calls the old level UpToDate, signed by the PCK leaf key under its own chain, is refused', () => {
    const state = platform.toJSON();
    const genuine = platform.collateral();
    const forged = JSON.parse(genuine.tcb_info) as { tcbLevels: { tcbStatus: string; advisoryIDs?: string[] }[] };
    for (const level of forged.tcbLevels) {
      level.tcbStatus = 'UpToDate';
      delete level.advisoryIDs;
    }
    const text = JSON.stringify(forged);
    const leafKey = createPrivateKey(state.keys.pckLeaf);
    const signature = sign('sha256', Buffer.from(text), { key: leafKey, dsaEncoding: 'ieee-p1363' }).toString('hex');
    const chain = pem(state.certs.pckLeaf) + pem(state.certs.pckCa) + pem(state.certs.root);
    const attack = { ...genuine, tcb_info: text, tcb_info_signature: signature, tcb_info_issuer_chain: chain };
    assert.equal(rejectionCode(() => verifier.verify(platform.quote(), attack, { at: AT })), 'TCB_SIGNING_CERT_INVALID');
  });

  test('a QE Identity signed by the PCK CA key under [PCK CA, root] is refused', () => {
    const state = platform.toJSON();
    const genuine = platform.collateral();
    const caKey = createPrivateKey(state.keys.pckCa);
    const signature = sign('sha256', Buffer.from(genuine.qe_identity), { key: caKey, dsaEncoding: 'ieee-p1363' }).toString('hex');
    const attack = { ...genuine, qe_identity_signature: signature, qe_identity_issuer_chain: pem(state.certs.pckCa) + pem(state.certs.root) };
    assert.equal(rejectionCode(() => verifier.verify(platform.quote(), attack, { at: AT })), 'TCB_SIGNING_CERT_INVALID');
  });
});

describe('one verification, one root (mixed roots)', () => {
  test("platform A's revoked quote with platform B's collateral is refused by a verifier trusting both roots", async () => {
    const a = await SimulatedPlatform.create({ now: AT });
    const b = await SimulatedPlatform.create({ now: AT });
    a.revokePck();
    const both = new QuoteVerifier({ trustedRootCaDer: [a.rootCaDer, b.rootCaDer], cacheMaxEntries: 0 });
    assert.equal(rejectionCode(() => both.verify(a.quote(), a.collateral(), { at: AT })), 'CERT_REVOKED');
    assert.equal(rejectionCode(() => both.verify(a.quote(), b.collateral(), { at: AT })), 'ROOT_MISMATCH');
    // Each platform's own pair still verifies: the rule costs nothing legitimate.
    assert.equal(both.verify(b.quote(), b.collateral(), { at: AT }).status, 'UpToDate');
  });

  test("one collateral bundle mixing B's TCB Info chain into A's bundle is refused", async () => {
    const a = await SimulatedPlatform.create({ now: AT });
    const b = await SimulatedPlatform.create({ now: AT });
    const both = new QuoteVerifier({ trustedRootCaDer: [a.rootCaDer, b.rootCaDer], cacheMaxEntries: 0 });
    const ca = a.collateral();
    const cb = b.collateral();
    const mixed = { ...ca, tcb_info: cb.tcb_info, tcb_info_signature: cb.tcb_info_signature, tcb_info_issuer_chain: cb.tcb_info_issuer_chain };
    assert.equal(rejectionCode(() => both.verify(a.quote(), mixed, { at: AT })), 'ROOT_MISMATCH');
    const mixedCrl = { ...ca, root_ca_crl: cb.root_ca_crl };
    assert.equal(rejectionCode(() => both.verify(a.quote(), mixedCrl, { at: AT })), 'ROOT_MISMATCH');
  });
});

test('a trusted root must be a self-issued CA: a leaf passed as trustedRootCaDer is refused up front', async () => {
  const p = await SimulatedPlatform.create({ now: AT });
  assert.equal(rejectionCode(() => new QuoteVerifier({ trustedRootCaDer: [p.pckCertificateDer] })), 'CERT_CHAIN_INVALID');
});
