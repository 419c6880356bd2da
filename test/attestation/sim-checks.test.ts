/**
 * One test per check of the DCAP verification algorithm (docs/attestation.md
 * §3): the simulated platform breaks exactly that check — everything else in
 * the quote and collateral stays valid — and the verifier must reject with
 * that check's own code. Plus the TCB recovery and PCK revocation flows.
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { AttestationError, QuoteVerifier, isAttestationError } from '../../src/attestation/index.js';
import { SimulatedPlatform, QUOTE_TAMPERS, COLLATERAL_TAMPERS, type SimCollateralTamper, type SimQuoteTamper } from '../../src/sim/index.js';

const AT = new Date('2026-03-10T09:30:00Z');

function rejectionCode(run: () => unknown): string {
  try {
    run();
  } catch (err) {
    assert.ok(isAttestationError(err), `expected an AttestationError, got ${String(err)}`);
    return err.code;
  }
  assert.fail('the verifier accepted a quote it must reject');
}

/** Which check each quote-side fault breaks, named by the code the verifier must report. */
const QUOTE_CASES: Record<SimQuoteTamper, string> = {
  unsupportedVersion: 'UNSUPPORTED_VERSION',
  attestationKeyType: 'UNSUPPORTED_KEY_TYPE',
  qeVendorId: 'UNKNOWN_QE_VENDOR',
  truncated: 'QUOTE_TRUNCATED',
  pckChainSignature: 'CERT_SIGNATURE_INVALID',
  pckLeafExpired: 'CERT_EXPIRED',
  qeMrsigner: 'QE_IDENTITY_MISMATCH',
  qeIsvProdId: 'QE_IDENTITY_MISMATCH',
  qeMiscselect: 'QE_IDENTITY_MISMATCH',
  qeDebug: 'QE_IDENTITY_MISMATCH',
  certDataType: 'UNSUPPORTED_CERT_DATA_TYPE',
  trailingBytes: 'TRAILING_BYTES',
  qeReportSignature: 'QE_REPORT_SIGNATURE_INVALID',
  qeReportData: 'QE_REPORT_DATA_MISMATCH',
  quoteSignature: 'QUOTE_SIGNATURE_INVALID',
  pckChainLeafIsPckCa: 'PCK_CHAIN_INVALID',
  pckChainLeafIsTcbSigning: 'PCK_CHAIN_INVALID',
};

const COLLATERAL_CASES: Record<SimCollateralTamper, string> = {
  rootCaCrlSignature: 'CRL_SIGNATURE_INVALID',
  rootCaCrlExpired: 'CRL_EXPIRED',
  rootCaCrlIssuer: 'CRL_ISSUER_MISMATCH',
  pckCaRevoked: 'CERT_REVOKED',
  tcbSigningRevoked: 'CERT_REVOKED',
  rootCaRevoked: 'CERT_REVOKED',
  pckCrlSignature: 'CRL_SIGNATURE_INVALID',
  pckCrlExpired: 'CRL_EXPIRED',
  tcbInfoSignature: 'TCB_INFO_SIGNATURE_INVALID',
  tcbInfoExpired: 'TCB_INFO_EXPIRED',
  tcbInfoNotYetValid: 'TCB_INFO_NOT_YET_VALID',
  tcbInfoFmspc: 'FMSPC_MISMATCH',
  tcbInfoPceId: 'PCEID_MISMATCH',
  tcbInfoWrongTee: 'TCB_INFO_MISMATCH',
  pckCrlWrongCa: 'CRL_ISSUER_MISMATCH',
  tcbInfoNoMatchingLevel: 'TCB_LEVEL_NOT_FOUND',
  tcbInfoRevoked: 'TCB_REVOKED',
  qeIdentitySignature: 'QE_IDENTITY_SIGNATURE_INVALID',
  qeIdentityExpired: 'QE_IDENTITY_EXPIRED',
  qeIdentityNotYetValid: 'QE_IDENTITY_NOT_YET_VALID',
  qeIdentityNoMatchingLevel: 'QE_TCB_LEVEL_NOT_FOUND',
  tcbInfoSignerPckLeaf: 'TCB_SIGNING_CERT_INVALID',
  tcbInfoSignerPckCa: 'TCB_SIGNING_CERT_INVALID',
  tcbInfoSignerRoot: 'TCB_SIGNING_CERT_INVALID',
  qeIdentitySignerPckLeaf: 'TCB_SIGNING_CERT_INVALID',
  qeIdentitySignerPckCa: 'TCB_SIGNING_CERT_INVALID',
  qeIdentitySignerRoot: 'TCB_SIGNING_CERT_INVALID',
  pckCrlSignerTcbSigning: 'CRL_ISSUER_MISMATCH',
};

describe('verifier against the simulated platform: each check fails alone', () => {
  let platform: SimulatedPlatform;
  let verifier: QuoteVerifier;

  before(async () => {
    platform = await SimulatedPlatform.create({ now: AT });
    // Caching off: every case must be judged from its own bytes.
    verifier = new QuoteVerifier({ trustedRootCaDer: [platform.rootCaDer], cacheMaxEntries: 0 });
  });

  test('the unmodified quote and collateral verify (baseline for every case below)', () => {
    for (const version of [3, 4] as const) {
      const result = verifier.verify(platform.quote({ version }), platform.collateral(), { at: AT });
      assert.equal(result.status, 'UpToDate');
      assert.equal(result.quoteVersion, version);
      assert.deepEqual(result.advisoryIds, []);
    }
  });

  test('every fault the platform offers has a case here', () => {
    assert.deepEqual([...QUOTE_TAMPERS].sort(), Object.keys(QUOTE_CASES).sort());
    assert.deepEqual([...COLLATERAL_TAMPERS].sort(), Object.keys(COLLATERAL_CASES).sort());
  });

  test('root pin: the default verifier (Intel root only) rejects the simulated root', () => {
    const intelOnly = new QuoteVerifier();
    assert.equal(rejectionCode(() => intelOnly.verify(platform.quote(), platform.collateral(), { at: AT })), 'UNTRUSTED_ROOT');
  });

  test("root pin: another simulated platform's root is not this one's", async () => {
    const stranger = await SimulatedPlatform.create({ now: AT });
    const pinnedToStranger = new QuoteVerifier({ trustedRootCaDer: [stranger.rootCaDer] });
    assert.equal(rejectionCode(() => pinnedToStranger.verify(platform.quote(), platform.collateral(), { at: AT })), 'UNTRUSTED_ROOT');
  });

  for (const [tamper, code] of Object.entries(QUOTE_CASES) as [SimQuoteTamper, string][]) {
    for (const version of [3, 4] as const) {
      test(`quote v${version} ${tamper} -> ${code}`, () => {
        const quote = platform.quote({ tamper, version });
        assert.equal(rejectionCode(() => verifier.verify(quote, platform.collateral(), { at: AT })), code);
      });
    }
  }

  for (const [tamper, code] of Object.entries(COLLATERAL_CASES) as [SimCollateralTamper, string][]) {
    test(`collateral ${tamper} -> ${code}`, () => {
      assert.equal(rejectionCode(() => verifier.verify(platform.quote(), platform.collateral({ tamper }), { at: AT })), code);
    });
  }

  test('an empty and a one-byte quote are typed errors, not crashes', () => {
    assert.equal(rejectionCode(() => verifier.verify(new Uint8Array(0), platform.collateral(), { at: AT })), 'QUOTE_TRUNCATED');
    assert.equal(rejectionCode(() => verifier.verify(Uint8Array.of(3), platform.collateral(), { at: AT })), 'QUOTE_TRUNCATED');
  });

  test('the verifier reports the enclave identity the platform was asked to quote', () => {
    const reportData = new Uint8Array(64).fill(0xab);
    const result = verifier.verify(
      platform.quote({ mrenclave: 'a1'.repeat(32), mrsigner: 'b2'.repeat(32), isvProdId: 7, isvSvn: 3, debug: true, reportData }),
      platform.collateral(),
      { at: AT },
    );
    assert.equal(result.tee, 'sgx');
    assert.equal(result.fmspc, platform.fmspc);
    assert.equal(result.pceId, platform.pceId);
    assert.deepEqual(
      { ...result.enclave, attributes: undefined, configId: undefined, configSvn: undefined, miscSelect: undefined, cpuSvn: undefined },
      {
        mrenclave: 'a1'.repeat(32),
        mrsigner: 'b2'.repeat(32),
        isvProdId: 7,
        isvSvn: 3,
        debug: true,
        reportData: 'ab'.repeat(64),
        attributes: undefined,
        configId: undefined,
        configSvn: undefined,
        miscSelect: undefined,
        cpuSvn: undefined,
      },
    );
    assert.equal(verifier.verify(platform.quote(), platform.collateral(), { at: AT }).enclave?.debug, false);
  });
});

describe('TCB recovery and PCK revocation flows', () => {
  test('UpToDate, then OutOfDate with the advisory after recoverTcb(), at a higher evaluation data number', async () => {
    let now = AT;
    const platform = await SimulatedPlatform.create({ now: () => now });
    const verifier = new QuoteVerifier({ trustedRootCaDer: [platform.rootCaDer] });
    const quote = platform.quote({ reportData: Buffer.from('recovery') });

    const oldCollateral = platform.collateral();
    const before = verifier.verify(quote, oldCollateral, { at: now });
    assert.equal(before.status, 'UpToDate');
    assert.deepEqual(before.advisoryIds, []);

    now = new Date(AT.getTime() + 7 * 86_400_000);
    platform.recoverTcb();
    const after = verifier.verify(quote, platform.collateral(), { at: now });
    assert.equal(after.status, 'OutOfDate');
    assert.deepEqual(after.advisoryIds, ['SIM-SA-00001']);
    assert.equal(after.tcbEvaluationDataNumber, before.tcbEvaluationDataNumber + 1);

    // The same quote judged against the still-valid old collateral is UpToDate: the verdict is the collateral's.
    assert.equal(verifier.verify(quote, oldCollateral, { at: now }).status, 'UpToDate');

    platform.recoverTcb();
    const twice = verifier.verify(quote, platform.collateral(), { at: now });
    assert.equal(twice.status, 'OutOfDate');
    assert.deepEqual(twice.advisoryIds, ['SIM-SA-00001', 'SIM-SA-00002']);
    assert.equal(twice.tcbEvaluationDataNumber, before.tcbEvaluationDataNumber + 2);
  });

  test('updateTcb() after a recovery: a new PCK certificate under the same root, UpToDate again', async () => {
    const platform = await SimulatedPlatform.create({ now: AT });
    const verifier = new QuoteVerifier({ trustedRootCaDer: [platform.rootCaDer] });
    const oldQuote = platform.quote();
    const oldLeaf = platform.pckCertificateDer;
    platform.recoverTcb();
    assert.equal(platform.pendingTcbUpdates, 1);
    assert.equal(verifier.verify(platform.quote(), platform.collateral(), { at: AT }).status, 'OutOfDate');

    await platform.updateTcb();
    assert.equal(platform.pendingTcbUpdates, 0);
    assert.notDeepEqual(platform.pckCertificateDer, oldLeaf);
    assert.equal(platform.tcb.pceSvn, 14);
    const updated = verifier.verify(platform.quote(), platform.collateral(), { at: AT });
    assert.equal(updated.status, 'UpToDate');
    assert.deepEqual(updated.advisoryIds, []);
    // A quote made before the update still carries the old certificate: still OutOfDate.
    assert.equal(verifier.verify(oldQuote, platform.collateral(), { at: AT }).status, 'OutOfDate');
    // The faults follow the current level.
    assert.equal(rejectionCode(() => verifier.verify(platform.quote(), platform.collateral({ tamper: 'tcbInfoRevoked' }), { at: AT })), 'TCB_REVOKED');
    assert.equal(rejectionCode(() => verifier.verify(platform.quote(), platform.collateral({ tamper: 'tcbInfoNoMatchingLevel' }), { at: AT })), 'TCB_LEVEL_NOT_FOUND');
    // Persisted.
    const restored = SimulatedPlatform.fromJSON(JSON.parse(JSON.stringify(platform)));
    assert.equal(verifier.verify(restored.quote(), restored.collateral(), { at: AT }).status, 'UpToDate');
    await restored.updateTcb(); // nothing pending: no-op
    assert.deepEqual(restored.pckCertificateDer, platform.pckCertificateDer);
    // Revocation applies to the current certificate.
    restored.revokePck();
    assert.equal(rejectionCode(() => verifier.verify(restored.quote(), restored.collateral(), { at: AT })), 'CERT_REVOKED');
  });

  test('after revokePck() the same quote is rejected as revoked, in v3 and v4', async () => {
    const platform = await SimulatedPlatform.create({ now: AT });
    const verifier = new QuoteVerifier({ trustedRootCaDer: [platform.rootCaDer] });
    const quote = platform.quote();
    assert.equal(verifier.verify(quote, platform.collateral(), { at: AT }).status, 'UpToDate');
    platform.revokePck();
    assert.equal(rejectionCode(() => verifier.verify(quote, platform.collateral(), { at: AT })), 'CERT_REVOKED');
    assert.equal(rejectionCode(() => verifier.verify(platform.quote({ version: 4 }), platform.collateral(), { at: AT })), 'CERT_REVOKED');
  });

  test('recovery and revocation survive toJSON/fromJSON (kubetee up restarts)', async () => {
    const platform = await SimulatedPlatform.create({ now: AT });
    platform.recoverTcb();
    const restored = SimulatedPlatform.fromJSON(JSON.parse(JSON.stringify(platform)));
    const verifier = new QuoteVerifier({ trustedRootCaDer: [platform.rootCaDer] });
    const result = verifier.verify(restored.quote(), restored.collateral(), { at: AT });
    assert.equal(result.status, 'OutOfDate');
    assert.deepEqual(result.advisoryIds, ['SIM-SA-00001']);
    restored.revokePck();
    const again = SimulatedPlatform.fromJSON(JSON.parse(JSON.stringify(restored)));
    assert.equal(rejectionCode(() => verifier.verify(again.quote(), again.collateral(), { at: AT })), 'CERT_REVOKED');
  });

  test('a Platform-CA platform verifies and is revoked through the Platform CA CRL', async () => {
    const platform = await SimulatedPlatform.create({ now: AT, ca: 'platform', fmspc: '00606a000000' });
    const verifier = new QuoteVerifier({ trustedRootCaDer: [platform.rootCaDer] });
    const result = verifier.verify(platform.quote({ version: 4 }), platform.collateral(), { at: AT });
    assert.equal(result.status, 'UpToDate');
    assert.equal(result.fmspc, '00606a000000');
    platform.revokePck();
    assert.equal(rejectionCode(() => verifier.verify(platform.quote(), platform.collateral(), { at: AT })), 'CERT_REVOKED');
  });
});

test('a rejection carries the checks that passed before it, in order', async () => {
  const platform = await SimulatedPlatform.create({ now: AT });
  const verifier = new QuoteVerifier({ trustedRootCaDer: [platform.rootCaDer] });
  const all = verifier.verify(platform.quote(), platform.collateral(), { at: AT }).checks.map((c) => c.name);
  try {
    verifier.verify(platform.quote({ tamper: 'quoteSignature' }), platform.collateral(), { at: AT });
    assert.fail('a tampered quote signature must be rejected');
  } catch (err) {
    assert.ok(err instanceof AttestationError);
    assert.equal(err.code, 'QUOTE_SIGNATURE_INVALID');
    assert.deepEqual(err.passedChecks.map((c) => c.name), all.slice(0, all.indexOf('quote-signature')));
  }
  try {
    verifier.verify(new Uint8Array(2), platform.collateral(), { at: AT });
    assert.fail('a truncated quote must be rejected');
  } catch (err) {
    assert.ok(err instanceof AttestationError);
    assert.deepEqual(err.passedChecks, []);
  }
});

describe('TDX quotes from the simulated platform (v4 TD 1.0, v5 TD 1.5)', () => {
  const zero = (): number[] => new Array<number>(16).fill(0);
  const svn = (s0: number, s1: number, s2: number): number[] => [s0, s1, s2, ...zero().slice(3)];
  const identities = { tdxModuleIdentities: [{ id: 'TDX_03', tcbLevels: [{ isvsvn: 5, tcbStatus: 'UpToDate' }, { isvsvn: 0, tcbStatus: 'OutOfDate', advisoryIDs: ['SIM-SA-M1'] }] }] };

  test('module version 0 and 3, module out of date, and the TD 1.5 relaunch rule', async () => {
    const platform = await SimulatedPlatform.create({ now: AT });
    const verifier = new QuoteVerifier({ trustedRootCaDer: [platform.rootCaDer], cacheMaxEntries: 0 });
    const v0 = verifier.verify(platform.quote({ tdx: { teeTcbSvn: zero() } }), platform.collateral({ tdx: {} }), { at: AT });
    assert.deepEqual([v0.tee, v0.quoteVersion, v0.status], ['tdx', 4, 'UpToDate']);
    const collateral = platform.collateral({ tdx: identities });
    assert.equal(verifier.verify(platform.quote({ tdx: { teeTcbSvn: svn(5, 3, 0) } }), collateral, { at: AT }).status, 'UpToDate');
    const behind = verifier.verify(platform.quote({ tdx: { teeTcbSvn: svn(2, 3, 0) } }), collateral, { at: AT });
    assert.deepEqual([behind.status, behind.tdxModuleStatus, behind.advisoryIds], ['OutOfDate', 'OutOfDate', ['SIM-SA-M1']]);
    const relaunch = verifier.verify(platform.quote({ tdx: { teeTcbSvn: svn(2, 3, 0), teeTcbSvn2: svn(5, 3, 0) } }), collateral, { at: AT });
    assert.deepEqual([relaunch.quoteVersion, relaunch.status], [5, 'TDRelaunchAdvised']);
    // Version 3 without module identities in TCB Info: QVL's TCB_INFO_MISMATCH; a wrong SEAM signer: TDX_MODULE_MISMATCH.
    assert.equal(rejectionCode(() => verifier.verify(platform.quote({ tdx: { teeTcbSvn: svn(5, 3, 0) } }), platform.collateral({ tdx: {} }), { at: AT })), 'TCB_INFO_MISMATCH');
    assert.equal(rejectionCode(() => verifier.verify(platform.quote({ tdx: { teeTcbSvn: zero(), mrSignerSeam: 'ab'.repeat(48) } }), platform.collateral({ tdx: {} }), { at: AT })), 'TDX_MODULE_MISMATCH');
    // An SGX quote with TDX collateral and the other way round.
    assert.equal(rejectionCode(() => verifier.verify(platform.quote(), collateral, { at: AT })), 'TCB_INFO_MISMATCH');
    assert.equal(rejectionCode(() => verifier.verify(platform.quote({ tdx: { teeTcbSvn: zero() } }), platform.collateral(), { at: AT })), 'TCB_INFO_MISMATCH');
  });
});
