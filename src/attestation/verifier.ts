import { createHash, type KeyObject } from 'node:crypto';
import { AttestationError } from './errors.js';
import { Lru } from './lru.js';
import { collateralDigest, parseCollateral, type Collateral, type QuoteCollateralV3Json } from './collateral.js';
import { parsePckExtension, type PckExtension } from './pck-extension.js';
import { importRawP256Key, prepareCollateral, type PreparedCollateral } from './prepared-collateral.js';
import { INTEL_QE_VENDOR_ID, parseQuote, type ParsedQuote } from './quote.js';
import { checkTdxModuleIdentity, maskedEqual, mergeAdvisories, mergeTcbStatus, relaunchStatus, selectPlatformTcbLevel, selectQeTcbLevel, selectTdxModuleLevel } from './tcb-evaluation.js';
import { checkPckChain } from './chain-roles.js';
import { createTrustStore, sameBytes, sha256Hex, verifyChainToRoot, type TrustStore } from './trust.js';
import type { QuoteVerifierOptions, TcbStatus, VerificationCheck, VerificationResult, VerifyOptions } from './types.js';
import { sharedCertificate } from './shared-certificates.js';
import { parseCertificate, verifyRawSignature, type Certificate, type Crl } from './x509.js';

/** The PCK chain of a quote after its byte-only checks (cacheable by the chain's bytes). */
interface PreparedPckChain {
  /** leaf, PCK CA, root. */
  chain: Certificate[];
  pck: PckExtension;
  leafHash: string;
}

const DEFAULT_CACHE_ENTRIES = 256;

/**
 * Verifies Intel DCAP quotes (SGX and TDX; v3, v4, v5) offline with Intel QVL
 * semantics at a caller-given time. Synchronous: node:crypto verification is
 * synchronous and a verification does no I/O.
 *
 * Caches (each an LRU bounded by `cacheMaxEntries`) hold only results of
 * deterministic checks on exact bytes, keyed by SHA-256 of those bytes: the
 * collateral after its signature and chain checks, verified PCK chains with
 * their decoded SGX extension, verified QE report signatures, and imported
 * attestation keys. Every check that depends on time or on the quote itself
 * runs on every call, so a cache hit can never change a verdict.
 *
 * @example
 * const v = new QuoteVerifier();
 * const r = v.verify(quoteBytes, readFileSync('collateral.json', 'utf8'), { at: new Date() });
 * if (r.enclave?.debug) throw new Error('debug enclave');
 */
export class QuoteVerifier {
  private readonly trust: TrustStore;
  private readonly collaterals: Lru<PreparedCollateral>;
  private readonly pckChains: Lru<PreparedPckChain>;
  private readonly qeReports: Lru<true>;
  private readonly keys: Lru<KeyObject>;
  private readonly allowServiceTd: boolean;

  constructor(options: QuoteVerifierOptions = {}) {
    this.trust = createTrustStore(options.trustedRootCaDer);
    const max = options.cacheMaxEntries ?? DEFAULT_CACHE_ENTRIES;
    if (!Number.isInteger(max) || max < 0) throw new AttestationError('INVALID_ARGUMENT', `cacheMaxEntries must be a non-negative integer, got ${max}`);
    this.collaterals = new Lru(max);
    this.pckChains = new Lru(max);
    this.qeReports = new Lru(max * 4);
    this.keys = new Lru(max * 4);
    this.allowServiceTd = options.allowServiceTd === true;
  }

  /** Drops every cached entry (for example after rotating trust). */
  clearCaches(): void {
    this.collaterals.clear();
    this.pckChains.clear();
    this.qeReports.clear();
    this.keys.clear();
  }

  /**
   * Verifies `quote` against `collateral` at `options.at` (default now).
   * Returns the result or throws AttestationError; never anything else.
   */
  verify(quote: Uint8Array, collateral: Collateral | QuoteCollateralV3Json | string, options: VerifyOptions = {}): VerificationResult {
    const checks: VerificationCheck[] = [];
    try {
      return this.verifyUnchecked(quote, collateral, options, checks);
    } catch (err) {
      // A bug must fail closed with a typed error, never as an acceptance or a raw exception.
      const typed = err instanceof AttestationError ? err : new AttestationError('INTERNAL_ERROR', `verification failed unexpectedly: ${(err as Error)?.message ?? String(err)}`, { cause: err });
      typed.passedChecks = checks;
      throw typed;
    }
  }

  private verifyUnchecked(quoteBytes: Uint8Array, collateralInput: Collateral | QuoteCollateralV3Json | string, options: VerifyOptions, checks: VerificationCheck[]): VerificationResult {
    const at = options.at ?? new Date();
    if (!(at instanceof Date) || Number.isNaN(at.getTime())) throw new AttestationError('INVALID_ARGUMENT', 'options.at must be a valid Date');
    const ok = (name: string, detail: string): void => {
      checks.push({ name, ok: true, detail });
    };

    // Step 1: parse and gate.
    const quote = parseQuote(quoteBytes);
    if (quote.header.qeVendorId !== INTEL_QE_VENDOR_ID) {
      throw new AttestationError('UNKNOWN_QE_VENDOR', `QE vendor ID ${quote.header.qeVendorId} at offset 12 is not Intel's (${INTEL_QE_VENDOR_ID})`);
    }
    ok('parse', `quote v${quote.header.version}, ${quote.tee}, body ${quote.bodyType}, certification data type ${quote.certDataType}`);

    // Steps 2-3 (byte-only half) and 5-6 (signatures): cached per collateral content.
    const col = this.prepared(collateralInput);
    ok('collateral-signatures', 'TCB Info and QE Identity signed by a TCB Signing certificate directly under the root; Root CA CRL by the root; PCK CRL by a PCK CA under the root');

    // Step 4: PCK chain from the quote (byte-only half cached per chain bytes).
    const pckChain = this.preparedPckChain(quote);
    const { pck } = pckChain;
    const [leaf, pckCa] = pckChain.chain as [Certificate, Certificate, ...Certificate[]];
    ok('pck-chain', `"${leaf.subjectCn}" <- "${pckCa.subjectCn}" <- trusted root`);

    // One verification, one root: the quote's chain ends where every collateral chain and CRL ends.
    const root = pckChain.chain[pckChain.chain.length - 1]!;
    if (!sameBytes(root.der, col.root.der)) {
      throw new AttestationError('ROOT_MISMATCH', `the quote's PCK chain ends at root "${root.subjectCn}" (SHA-256 ${sha256Hex(root.der).slice(0, 16)}…) but the collateral at "${col.root.subjectCn}" (${sha256Hex(col.root.der).slice(0, 16)}…)`);
    }
    ok('one-root', `quote and collateral chains end at the same root (SHA-256 ${sha256Hex(root.der).slice(0, 16)}…)`);

    // Steps 2-6 (time half): every certificate, CRL and document valid at `at`.
    let expiresAt = Infinity;
    const certs: [Certificate, string][] = [
      ...pckChain.chain.map((c, i): [Certificate, string] => [c, `PCK chain certificate ${i}`]),
      ...col.pckCrlChain.map((c, i): [Certificate, string] => [c, `PCK CRL issuer chain certificate ${i}`]),
      ...col.tcbInfoChain.map((c, i): [Certificate, string] => [c, `TCB Info issuer chain certificate ${i}`]),
      ...col.qeIdentityChain.map((c, i): [Certificate, string] => [c, `QE Identity issuer chain certificate ${i}`]),
    ];
    for (const [cert, where] of certs) {
      if (at < cert.notBefore) throw new AttestationError('CERT_NOT_YET_VALID', `${where} ("${cert.subjectCn}") is valid only from ${cert.notBefore.toISOString()}, verification time is ${at.toISOString()}`);
      if (at > cert.notAfter) throw new AttestationError('CERT_EXPIRED', `${where} ("${cert.subjectCn}") expired at ${cert.notAfter.toISOString()}, verification time is ${at.toISOString()}`);
      expiresAt = Math.min(expiresAt, cert.notAfter.getTime());
    }
    ok('certificate-validity', `${certs.length} certificates valid at ${at.toISOString()}`);
    expiresAt = Math.min(expiresAt, checkCrlWindow(col.rootCaCrl, 'Root CA CRL', at), checkCrlWindow(col.pckCrl, 'PCK CRL', at));
    ok('crl-validity', `Root CA CRL and PCK CRL current at ${at.toISOString()}`);
    const { tcbInfo, qeIdentity } = col;
    checkDocWindow(tcbInfo.issueDate, tcbInfo.nextUpdate, at, 'TCB Info', 'TCB_INFO_NOT_YET_VALID', 'TCB_INFO_EXPIRED');
    checkDocWindow(qeIdentity.issueDate, qeIdentity.nextUpdate, at, 'QE Identity', 'QE_IDENTITY_NOT_YET_VALID', 'QE_IDENTITY_EXPIRED');
    expiresAt = Math.min(expiresAt, tcbInfo.nextUpdate.getTime(), qeIdentity.nextUpdate.getTime());
    ok('collateral-validity', `TCB Info and QE Identity current at ${at.toISOString()}`);

    // Steps 3-4: revocation. The PCK CRL must come from the CA that issued the leaf.
    // The PCK CRL speaks for the CA that issued the leaf: same name and same key as the quote's PCK CA.
    const crlCa = col.pckCrlChain[0]!;
    if (!sameBytes(col.pckCrl.issuer, leaf.issuer) || !sameBytes(crlCa.subject, pckCa.subject) || !sameBytes(crlCa.spki, pckCa.spki)) {
      throw new AttestationError('CRL_ISSUER_MISMATCH', `the PCK CRL is issued by "${col.pckCrl.issuerCn}" but the PCK certificate by "${leaf.issuerCn}"`, {
        hint: 'fetch the PCK CRL for the CA that issued this PCK certificate (ca=processor or ca=platform)',
      });
    }
    if (col.pckCrl.revoked.has(leaf.serial)) throw new AttestationError('CERT_REVOKED', `the PCK certificate (serial ${leaf.serial}) is revoked by the PCK CRL`);
    // Everything under (and including) the root is checked against the Root CA CRL.
    const underRoot: [Certificate, string][] = [
      ...pckChain.chain.slice(1).map((c, i): [Certificate, string] => [c, i === 0 ? 'PCK CA' : 'PCK chain root']),
      ...col.pckCrlChain.map((c): [Certificate, string] => [c, 'PCK CRL issuer chain']),
      ...col.tcbInfoChain.map((c): [Certificate, string] => [c, 'TCB Info issuer chain']),
      ...col.qeIdentityChain.map((c): [Certificate, string] => [c, 'QE Identity issuer chain']),
    ];
    for (const [cert, role] of underRoot) {
      if (sameBytes(cert.issuer, col.rootCaCrl.issuer) && col.rootCaCrl.revoked.has(cert.serial)) {
        throw new AttestationError('CERT_REVOKED', `the ${role} certificate "${cert.subjectCn}" (serial ${cert.serial}) is revoked by the Root CA CRL`);
      }
    }
    ok('revocation', 'no certificate is revoked');

    // Step 5: TCB Info applies to this platform.
    const wantId = quote.tee === 'sgx' ? 'SGX' : 'TDX';
    if (tcbInfo.id !== wantId || (quote.tee === 'tdx' && tcbInfo.version < 3)) {
      throw new AttestationError('TCB_INFO_MISMATCH', `TCB Info is "${tcbInfo.id}" v${tcbInfo.version} but the quote is ${quote.tee.toUpperCase()} (needs "${wantId}"${quote.tee === 'tdx' ? ' v3' : ''})`);
    }
    if (tcbInfo.fmspc !== pck.fmspc) throw new AttestationError('FMSPC_MISMATCH', `TCB Info is for FMSPC ${tcbInfo.fmspc}, the PCK certificate says ${pck.fmspc}`);
    if (tcbInfo.pceId !== pck.pceId) throw new AttestationError('PCEID_MISMATCH', `TCB Info is for PCE ID ${tcbInfo.pceId}, the PCK certificate says ${pck.pceId}`);
    ok('tcb-info-match', `TCB Info ${tcbInfo.id} v${tcbInfo.version} for FMSPC ${pck.fmspc}, PCE ID ${pck.pceId}`);

    // Step 6: the QE is the one QE Identity describes.
    const qeReport = quote.qe.qeReportBody;
    const wantQe = quote.tee === 'sgx' ? 'QE' : 'TD_QE';
    if (qeIdentity.id !== wantQe) throw new AttestationError('QE_IDENTITY_MISMATCH', `QE Identity is for "${qeIdentity.id}", a ${quote.tee.toUpperCase()} quote needs "${wantQe}"`);
    if (qeReport.mrsigner !== qeIdentity.mrsigner) throw new AttestationError('QE_IDENTITY_MISMATCH', `QE report MRSIGNER ${qeReport.mrsigner} differs from QE Identity ${qeIdentity.mrsigner}`);
    if (qeReport.isvProdId !== qeIdentity.isvProdId) throw new AttestationError('QE_IDENTITY_MISMATCH', `QE report ISVPRODID ${qeReport.isvProdId} differs from QE Identity ${qeIdentity.isvProdId}`);
    if (((qeReport.miscSelect & qeIdentity.miscselectMask) >>> 0) !== ((qeIdentity.miscselect & qeIdentity.miscselectMask) >>> 0)) {
      throw new AttestationError('QE_IDENTITY_MISMATCH', `QE report MISCSELECT ${qeReport.miscSelect.toString(16)} does not match QE Identity under its mask`);
    }
    if (!maskedEqual(qeReport.attributes, qeIdentity.attributesMask, qeIdentity.attributes)) {
      throw new AttestationError('QE_IDENTITY_MISMATCH', `QE report ATTRIBUTES ${qeReport.attributes} do not match QE Identity ${qeIdentity.attributes} under mask ${qeIdentity.attributesMask}`);
    }
    const qeLevel = selectQeTcbLevel(qeIdentity, qeReport.isvSvn);
    ok('qe-identity', `QE MRSIGNER, ISVPRODID, MISCSELECT and ATTRIBUTES match; QE ISVSVN ${qeReport.isvSvn} is ${qeLevel.status}`);

    // Step 7: the PCK key signed the QE report.
    const qeKey = sha256Hex(Buffer.from(pckChain.leafHash, 'hex'), quote.qe.qeReport, quote.qe.qeReportSignature);
    if (this.qeReports.get(qeKey) === undefined) {
      if (!verifyRawSignature(quote.qe.qeReport, leaf.publicKey, quote.qe.qeReportSignature)) {
        throw new AttestationError('QE_REPORT_SIGNATURE_INVALID', 'the QE report signature does not verify with the PCK certificate key');
      }
      this.qeReports.set(qeKey, true);
    }
    ok('qe-report-signature', 'QE report signed by the PCK key');

    // Step 8: the QE vouches for the attestation key.
    const expected = createHash('sha256').update(quote.attestationKey).update(quote.qe.qeAuthData).digest('hex') + '0'.repeat(64);
    if (qeReport.reportData !== expected) {
      throw new AttestationError('QE_REPORT_DATA_MISMATCH', 'QE report data is not SHA-256(attestation key || QE authentication data) followed by 32 zero bytes');
    }
    ok('attestation-key-binding', 'QE report data binds the attestation key');

    // Step 9: the attestation key signed header and body.
    const keyHex = Buffer.from(quote.attestationKey).toString('hex');
    let attKey = this.keys.get(keyHex);
    if (!attKey) {
      attKey = importRawP256Key(quote.attestationKey);
      if (!attKey) throw new AttestationError('QUOTE_SIGNATURE_INVALID', 'the attestation key at offset 500 is not a valid P-256 public key');
      this.keys.set(keyHex, attKey);
    }
    if (!verifyRawSignature(quote.signedBytes, attKey, quote.signature)) {
      throw new AttestationError('QUOTE_SIGNATURE_INVALID', `the quote signature does not verify with the attestation key (signed bytes 0..${quote.signedBytes.length})`);
    }
    ok('quote-signature', `header and body (${quote.signedBytes.length} bytes) signed by the attestation key`);

    // Step 10: platform TCB level, the TDX module and (TD 1.5) the relaunch rule, as Intel QVL's checkTcbLevel.
    const teeTcbSvn = quote.tee === 'tdx' ? quote.body.subarray(0, 16) : undefined;
    if (quote.td && teeTcbSvn) checkTdxModuleIdentity(tcbInfo, teeTcbSvn, quote.td.mrsignerseam, quote.td.seamAttributes);
    const { sgx: sgxLevel, level } = selectPlatformTcbLevel(tcbInfo, pck, teeTcbSvn);
    let platformStatus: TcbStatus = level.status;
    let moduleLevel: { status: TcbStatus; advisoryIds: string[] } | undefined;
    if (teeTcbSvn) {
      moduleLevel = selectTdxModuleLevel(tcbInfo, teeTcbSvn);
      if (moduleLevel) platformStatus = mergeTcbStatus(platformStatus, moduleLevel.status);
      const teeTcbSvn2 = quote.bodyType === 'td15' ? quote.body.subarray(584, 600) : undefined;
      if (teeTcbSvn2 && platformStatus !== 'Revoked') {
        platformStatus = relaunchStatus(tcbInfo, teeTcbSvn2, sgxLevel.status, platformStatus, moduleLevel?.status, qeLevel.status);
      }
    }
    ok('platform-tcb', `TCB level ${level.tcbDate}: ${level.status}${moduleLevel ? `; TDX module ${moduleLevel.status}` : ''}${platformStatus.startsWith('TDRelaunch') ? `; ${platformStatus}` : ''}`);

    // Step 11: merge with the QE's level; Revoked is a rejection.
    const status = mergeTcbStatus(platformStatus, qeLevel.status);
    const advisoryIds = mergeAdvisories(level.advisoryIds, moduleLevel?.advisoryIds ?? [], qeLevel.advisoryIds);
    if (status === 'Revoked') {
      throw new AttestationError('TCB_REVOKED', `TCB status is Revoked (platform ${level.status}, QE ${qeLevel.status}${moduleLevel ? `, TDX module ${moduleLevel.status}` : ''})`);
    }
    // Step 12: a TD bound to a service TD is only as trustworthy as that service TD, which is not appraised here.
    if (quote.td?.mrservicetd !== undefined && /[^0]/.test(quote.td.mrservicetd) && !this.allowServiceTd) {
      throw new AttestationError('SERVICE_TD_NOT_ALLOWED', `MRSERVICETD (TD report 1.5, body offset 600) is ${quote.td.mrservicetd}, not zero`);
    }
    if (quote.td?.mrservicetd !== undefined) ok('service-td', this.allowServiceTd ? 'MRSERVICETD left to the caller\'s policy (allowServiceTd)' : 'MRSERVICETD is zero');
    ok('tcb-status', `${status}${advisoryIds.length ? ` [${advisoryIds.join(', ')}]` : ''}`);

    return buildResult(quote, pck, status, advisoryIds, level.status, qeLevel.status, moduleLevel?.status, new Date(expiresAt), tcbInfo.tcbEvaluationDataNumber, level.tcbDate, checks);
  }

  private prepared(input: Collateral | QuoteCollateralV3Json | string): PreparedCollateral {
    let key: string;
    let collateral: Collateral | undefined;
    if (typeof input === 'string') {
      key = `json:${createHash('sha256').update(input).digest('hex')}`;
    } else {
      collateral = parseCollateral(input);
      key = `obj:${collateralDigest(collateral)}`;
    }
    const hit = this.collaterals.get(key);
    if (hit) return hit;
    const prepared = prepareCollateral(collateral ?? parseCollateral(input), this.trust);
    this.collaterals.set(key, prepared);
    return prepared;
  }

  private preparedPckChain(quote: ParsedQuote): PreparedPckChain {
    const ders = quote.qe.pckChainDer;
    const key = sha256Hex(...ders.flatMap((d) => [Buffer.from(`${d.length}:`), d]));
    const hit = this.pckChains.get(key);
    if (hit) return hit;
    // The leaf is this platform's own; the CA and root above it are shared by every platform.
    const certs = ders.map((der, i) => (i === 0 ? parseCertificate(der, `PCK chain certificate ${i}`) : sharedCertificate(der, `PCK chain certificate ${i}`)));
    const chain = verifyChainToRoot(certs, this.trust, 'PCK certificate chain');
    checkPckChain(chain, 'PCK certificate chain');
    const leaf = chain[0]!;
    if (!leaf.sgxExtension) throw new AttestationError('BAD_PCK_EXTENSION', 'the PCK certificate has no SGX extension (OID 1.2.840.113741.1.13.1)');
    const prepared: PreparedPckChain = { chain, pck: parsePckExtension(leaf.sgxExtension), leafHash: sha256Hex(leaf.der) };
    this.pckChains.set(key, prepared);
    return prepared;
  }
}

function checkCrlWindow(crl: Crl, what: string, at: Date): number {
  if (at < crl.thisUpdate) throw new AttestationError('CRL_NOT_YET_VALID', `the ${what} (by "${crl.issuerCn}") is valid only from ${crl.thisUpdate.toISOString()}, verification time is ${at.toISOString()}`);
  if (!crl.nextUpdate) throw new AttestationError('BAD_CRL', `the ${what} (by "${crl.issuerCn}") has no nextUpdate, so its freshness cannot be judged`);
  if (at > crl.nextUpdate) throw new AttestationError('CRL_EXPIRED', `the ${what} (by "${crl.issuerCn}") expired at ${crl.nextUpdate.toISOString()}, verification time is ${at.toISOString()}`);
  return crl.nextUpdate.getTime();
}

function checkDocWindow(
  issueDate: Date,
  nextUpdate: Date,
  at: Date,
  what: string,
  early: 'TCB_INFO_NOT_YET_VALID' | 'QE_IDENTITY_NOT_YET_VALID',
  late: 'TCB_INFO_EXPIRED' | 'QE_IDENTITY_EXPIRED',
): void {
  if (at < issueDate) throw new AttestationError(early, `${what} was issued at ${issueDate.toISOString()}, after the verification time ${at.toISOString()}`);
  if (at > nextUpdate) throw new AttestationError(late, `${what} expired at ${nextUpdate.toISOString()} (nextUpdate), verification time is ${at.toISOString()}`);
}

function buildResult(
  quote: ParsedQuote,
  pck: PckExtension,
  status: TcbStatus,
  advisoryIds: string[],
  platformStatus: TcbStatus,
  qeStatus: TcbStatus,
  tdxModuleStatus: TcbStatus | undefined,
  collateralExpiresAt: Date,
  tcbEvaluationDataNumber: number,
  tcbDate: string,
  checks: VerificationCheck[],
): VerificationResult {
  const result: VerificationResult = {
    tee: quote.tee,
    quoteVersion: quote.header.version,
    status: status as Exclude<TcbStatus, 'Revoked'>,
    advisoryIds,
    fmspc: pck.fmspc,
    pceId: pck.pceId,
    platformStatus,
    qeStatus,
    collateralExpiresAt,
    tcbEvaluationDataNumber,
    tcbDate,
    trailingZeroBytes: quote.trailingZeroBytes,
    checks,
  };
  if (tdxModuleStatus) result.tdxModuleStatus = tdxModuleStatus;
  if (quote.enclave) {
    const e = quote.enclave;
    result.enclave = {
      mrenclave: e.mrenclave,
      mrsigner: e.mrsigner,
      isvProdId: e.isvProdId,
      isvSvn: e.isvSvn,
      attributes: e.attributes,
      debug: e.debug,
      reportData: e.reportData,
      configId: e.configId,
      configSvn: e.configSvn,
      miscSelect: e.miscSelect,
      cpuSvn: e.cpuSvn,
    };
  }
  if (quote.td) {
    const t = quote.td;
    result.td = {
      mrtd: t.mrtd,
      rtmr0: t.rtmr0,
      rtmr1: t.rtmr1,
      rtmr2: t.rtmr2,
      rtmr3: t.rtmr3,
      mrconfigid: t.mrconfigid,
      mrowner: t.mrowner,
      mrownerconfig: t.mrownerconfig,
      tdAttributes: t.tdAttributes,
      debug: t.debug,
      reportData: t.reportData,
      teeTcbSvn: t.teeTcbSvn,
      xfam: t.xfam,
      mrseam: t.mrseam,
      mrsignerseam: t.mrsignerseam,
    };
    if (t.mrservicetd !== undefined) result.td.mrservicetd = t.mrservicetd;
  }
  return result;
}

