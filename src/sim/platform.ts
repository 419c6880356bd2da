/**
 * A simulated Intel SGX platform for development and tests: its own PKI
 * (Root CA, PCK CA, PCK leaf with the SGX extension, TCB Signing), a Quoting
 * Enclave that signs real-format ECDSA quotes, and a PCS that issues fresh
 * collateral (TCB Info, QE Identity, CRLs) in the exact shapes Intel uses.
 *
 * Its root is NOT Intel's: nothing trusts it unless a caller passes
 * `rootCaDer` to a verifier explicitly.
 */
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { createHash, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { fromHex, toHex } from '../common/hex.js';
import { subjectNameDer, serialNumberBytes } from './cert-fields.js';
import { issuePckLeaves, issuePki } from './certificates.js';
import { certificatePem, isoSeconds, pemChain, qeIdentityText, signText, tcbInfoText } from './collateral.js';
import { buildCrl } from './crl.js';
import { SimError } from './errors.js';
import { generateP256, privateKeyFromPem, privateKeyToPem } from './keys.js';
import { assembleQuote, type QuoteFaults } from './quote.js';
import { FLAG_DEBUG, FLAG_INIT, FLAG_MODE64BIT, FLAG_PROVISIONKEY, type ReportBodyFields } from './report.js';
import { cpuSvnOf, encodeSgxExtension } from './sgx-extension.js';
import { simPlatformStateSchema } from './state-schema.js';
import { BASE_TCB_EVALUATION_DATA_NUMBER, midnight, recoveredTcb, tcbLevels } from './tcb-levels.js';
import { servePcs } from './pcs-server.js';
import type {
  QuoteCollateralV3Json,
  SimCollateralOptions,
  SimCollateralTamper,
  SimPckCa,
  SimPcsServer,
  SimPlatformOptions,
  SimPlatformState,
  SimQuoteOptions,
  SimQuoteTamper,
  SimServeOptions,
  SimTcb,
} from './types.js';

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
/** Intel's observed windows: TCB Info, QE Identity and PCK CRL 30 days; Root CA CRL about a year. */
const COLLATERAL_VALIDITY_MS = 30 * DAY_MS;
const ROOT_CRL_VALIDITY_MS = 365 * DAY_MS;

const DEFAULT_TCB: SimTcb = { sgxTcbComponents: [11, 11, 2, 2, 255, 1, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0], pceSvn: 13 };
const DEFAULT_FMSPC = '00906ed50000';
const DEFAULT_PCE_ID = '0000';
const DEFAULT_QE_SVN = 8;
/** The simulated QE's identity: a fixed MRSIGNER/MRENCLAVE that is visibly not Intel's. */
export const SIM_QE_MRSIGNER = createHash('sha256').update('kubetee simulated quoting enclave signer').digest();
export const SIM_QE_MRENCLAVE = createHash('sha256').update('kubetee simulated quoting enclave').digest();
const QE_ISV_PROD_ID = 1;
/** Intel's QE sends 32 bytes 0x00..0x1f as authentication data (all real fixtures). */
const QE_AUTH_DATA = Uint8Array.from({ length: 32 }, (_, i) => i);
const XFRM_DEFAULT = 0xe7n;

export const QUOTE_TAMPERS: readonly SimQuoteTamper[] = [
  'quoteSignature',
  'qeReportSignature',
  'qeReportData',
  'qeMrsigner',
  'pckChainSignature',
  'pckLeafExpired',
  'unsupportedVersion',
  'truncated',
  'qeVendorId',
  'attestationKeyType',
  'qeDebug',
  'qeIsvProdId',
  'qeMiscselect',
  'certDataType',
  'trailingBytes',
];

export const COLLATERAL_TAMPERS: readonly SimCollateralTamper[] = [
  'rootCaCrlSignature',
  'rootCaCrlExpired',
  'rootCaCrlIssuer',
  'pckCaRevoked',
  'tcbSigningRevoked',
  'rootCaRevoked',
  'pckCrlSignature',
  'pckCrlExpired',
  'tcbInfoSignature',
  'tcbInfoExpired',
  'tcbInfoNotYetValid',
  'tcbInfoFmspc',
  'tcbInfoPceId',
  'tcbInfoWrongTee',
  'pckCrlWrongCa',
  'tcbInfoNoMatchingLevel',
  'tcbInfoRevoked',
  'qeIdentitySignature',
  'qeIdentityExpired',
  'qeIdentityNotYetValid',
  'qeIdentityNoMatchingLevel',
];

function invalid(message: string, hint: string): SimError {
  return new SimError('SIM_OPTION_INVALID', message, { hint });
}

function parseHexOption(name: string, value: string, bytes: number): Uint8Array {
  const parsed = fromHex(value);
  if (!parsed || parsed.length !== bytes) {
    throw invalid(`${name} must be ${bytes} bytes of hex (${bytes * 2} digits), got ${JSON.stringify(value)}`, `pass e.g. ${'00'.repeat(bytes)}`);
  }
  return parsed;
}

function measurement(name: string, value: string | Uint8Array | undefined, fill: number): Uint8Array {
  if (value === undefined) return new Uint8Array(32).fill(fill);
  if (typeof value === 'string') return parseHexOption(name, value, 32);
  if (value.length !== 32) throw invalid(`${name} must be 32 bytes, got ${value.length}`, 'pass a SHA-256-sized measurement');
  return value;
}

function checkUint(name: string, value: number, max: number): number {
  if (!Number.isInteger(value) || value < 0 || value > max) throw invalid(`${name} must be an integer 0..${max}, got ${value}`, `use a value between 0 and ${max}`);
  return value;
}

function resolveTcb(tcb: Partial<SimTcb> | undefined): SimTcb {
  const components = tcb?.sgxTcbComponents ?? DEFAULT_TCB.sgxTcbComponents;
  if (!Array.isArray(components) || components.length !== 16) {
    throw invalid(`tcb.sgxTcbComponents must list 16 SVNs, got ${Array.isArray(components) ? components.length : typeof components}`, 'pass 16 numbers 0..255');
  }
  components.forEach((svn, i) => checkUint(`tcb.sgxTcbComponents[${i}]`, svn, 255));
  return { sgxTcbComponents: [...components], pceSvn: checkUint('tcb.pceSvn', tcb?.pceSvn ?? DEFAULT_TCB.pceSvn, 0xffff) };
}

/** Reads the clock, refusing anything that is not a valid Date (it would be signed into collateral). */
function readClock(clock: () => Date): Date {
  const now = clock();
  if (!(now instanceof Date) || Number.isNaN(now.getTime())) throw invalid('the platform clock returned an invalid Date', 'pass a clock function that returns a valid Date');
  return now;
}

function resolveClock(now: SimPlatformOptions['now']): () => Date {
  if (now === undefined) return () => new Date();
  if (typeof now === 'function') return now;
  if (!(now instanceof Date) || Number.isNaN(now.getTime())) throw invalid('now must be a valid Date or a function returning one', 'pass new Date(...)');
  const fixed = new Date(now.getTime());
  return () => fixed;
}

/** A reproducible 20-byte serial of some other (fictional) revoked certificate. */
function decoySerial(seed: Uint8Array, i: number): Uint8Array {
  const bytes = createHash('sha256').update(seed).update(`decoy-${i}`).digest().subarray(0, 20);
  bytes[0] = (bytes[0]! & 0x7f) | 0x01;
  return bytes;
}

/** Parsing a certificate with @peculiar/x509 costs milliseconds; key ids of our own CA certificates never change. */
const subjectKeyIds = new WeakMap<Uint8Array, Uint8Array>();

function subjectKeyId(certDer: Uint8Array): Uint8Array {
  const cached = subjectKeyIds.get(certDer);
  if (cached) return cached;
  const keyId = parseSubjectKeyId(certDer);
  subjectKeyIds.set(certDer, keyId);
  return keyId;
}

function parseSubjectKeyId(certDer: Uint8Array): Uint8Array {
  const ski = new x509.X509Certificate(certDer).getExtension(x509.SubjectKeyIdentifierExtension);
  if (!ski) throw new SimError('SIM_STATE_INVALID', 'a simulated CA certificate has no Subject Key Identifier', { hint: 'recreate the platform state' });
  return Buffer.from(ski.keyId, 'hex');
}

/** A key nobody trusts: signing with it yields a well-formed signature that never verifies. */
function strangerKey(): KeyObject {
  return generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
}

/** Flips one bit in the last byte of a DER certificate: inside the signature's s, so it still parses. */
function corruptCertificateSignature(der: Uint8Array): Uint8Array {
  const copy = Uint8Array.from(der);
  copy[copy.length - 1] ^= 0x01;
  return copy;
}

interface Keys {
  root: KeyObject;
  pckCa: KeyObject;
  pckLeaf: KeyObject;
  tcbSigning: KeyObject;
  attestation: KeyObject;
}

interface Certs {
  root: Uint8Array;
  pckCa: Uint8Array;
  pckLeaf: Uint8Array;
  tcbSigning: Uint8Array;
  pckLeafExpired: Uint8Array;
}

interface PlatformData {
  createdAt: Date;
  fixedNow: Date | undefined;
  fmspc: string;
  pceId: string;
  ca: SimPckCa;
  /** TCB at provisioning (TCB Info's history is relative to it). */
  tcb: SimTcb;
  /** Recoveries installed by updateTcb(): the PCK leaf states recoveredTcb(tcb, tcbUpdatesApplied). */
  tcbUpdatesApplied: number;
  qeSvn: number;
  ppid: Uint8Array;
  qeId: Uint8Array;
  platformInstanceId: Uint8Array;
  keys: Keys;
  certs: Certs;
  tcbRecoveryDates: Date[];
  pckRevoked: boolean;
}

/**
 * @example
 * const p = await SimulatedPlatform.create({ now: new Date('2026-01-01T00:00:00Z') });
 * const quote = p.quote({ mrenclave: 'ab'.repeat(32), reportData: nonceHash });
 * const result = new QuoteVerifier({ trustedRootCaDer: [p.rootCaDer] })
 *   .verify(quote, p.collateral(), { at: new Date('2026-01-01T00:00:00Z') });
 */
export class SimulatedPlatform {
  readonly #data: PlatformData;
  readonly #clock: () => Date;

  private constructor(data: PlatformData, clock: () => Date) {
    this.#data = data;
    this.#clock = clock;
  }

  /** Generates keys and certificates for a new platform (a few milliseconds). */
  static async create(options: SimPlatformOptions = {}): Promise<SimulatedPlatform> {
    const clock = resolveClock(options.now);
    const createdAt = new Date(Math.floor(readClock(clock).getTime() / 1000) * 1000);
    const fmspc = toHex(parseHexOption('fmspc', options.fmspc ?? DEFAULT_FMSPC, 6));
    const pceId = toHex(parseHexOption('pceId', options.pceId ?? DEFAULT_PCE_ID, 2));
    const ca = options.ca ?? 'processor';
    if (ca !== 'processor' && ca !== 'platform') throw invalid(`ca must be 'processor' or 'platform', got ${JSON.stringify(ca)}`, "omit it for 'processor'");
    const tcb = resolveTcb(options.tcb);
    const qeSvn = checkUint('qeSvn', options.qeSvn ?? DEFAULT_QE_SVN, 0xffff);
    const keys: Keys = { root: generateP256(), pckCa: generateP256(), pckLeaf: generateP256(), tcbSigning: generateP256(), attestation: generateP256() };
    const ppid = randomBytes(16);
    const platformInstanceId = randomBytes(16);
    const sgxExtension = sgxExtensionFor({ ppid, tcb, pceId, fmspc, ca, platformInstanceId });
    const certs = await issuePki(keys, { createdAt, ca, sgxExtension });
    const data: PlatformData = {
      createdAt,
      fixedNow: options.now instanceof Date ? new Date(options.now.getTime()) : undefined,
      fmspc,
      pceId,
      ca,
      tcb,
      tcbUpdatesApplied: 0,
      qeSvn,
      ppid,
      qeId: randomBytes(16),
      platformInstanceId,
      keys,
      certs,
      tcbRecoveryDates: [],
      pckRevoked: false,
    };
    return new SimulatedPlatform(data, clock);
  }

  /**
   * Restores a platform saved with toJSON(). `now` overrides the clock (a
   * platform saved with a fixed `now` keeps it otherwise).
   */
  static fromJSON(state: unknown, options: { now?: Date | (() => Date) } = {}): SimulatedPlatform {
    const parsed = simPlatformStateSchema.safeParse(state);
    if (!parsed.success) {
      const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
      throw new SimError('SIM_STATE_INVALID', `simulated platform state is invalid: ${problems}`, {
        hint: 'the state must come from SimulatedPlatform#toJSON(); delete it to create a new platform',
      });
    }
    const s = parsed.data;
    const der = (b64: string): Uint8Array => new Uint8Array(Buffer.from(b64, 'base64'));
    let keys: Keys;
    try {
      keys = {
        root: privateKeyFromPem(s.keys.root),
        pckCa: privateKeyFromPem(s.keys.pckCa),
        pckLeaf: privateKeyFromPem(s.keys.pckLeaf),
        tcbSigning: privateKeyFromPem(s.keys.tcbSigning),
        attestation: privateKeyFromPem(s.keys.attestation),
      };
    } catch (cause) {
      throw new SimError('SIM_STATE_INVALID', 'simulated platform state holds an unreadable private key', {
        cause,
        hint: 'the state must come from SimulatedPlatform#toJSON(); delete it to create a new platform',
      });
    }
    const data: PlatformData = {
      createdAt: new Date(s.createdAt),
      fixedNow: s.fixedNow === undefined ? undefined : new Date(s.fixedNow),
      fmspc: s.fmspc.toLowerCase(),
      pceId: s.pceId.toLowerCase(),
      ca: s.ca,
      tcb: s.tcb,
      tcbUpdatesApplied: s.tcbUpdatesApplied ?? 0,
      qeSvn: s.qeSvn,
      ppid: fromHex(s.ppid)!,
      qeId: fromHex(s.qeId)!,
      platformInstanceId: fromHex(s.platformInstanceId)!,
      keys,
      certs: { root: der(s.certs.root), pckCa: der(s.certs.pckCa), pckLeaf: der(s.certs.pckLeaf), tcbSigning: der(s.certs.tcbSigning), pckLeafExpired: der(s.certs.pckLeafExpired) },
      tcbRecoveryDates: s.tcbRecoveryDates.map((d) => new Date(d)),
      pckRevoked: s.pckRevoked,
    };
    try {
      subjectKeyId(data.certs.root);
      subjectKeyId(data.certs.pckCa);
      new x509.X509Certificate(data.certs.pckLeaf);
      new x509.X509Certificate(data.certs.tcbSigning);
    } catch (cause) {
      if (cause instanceof SimError) throw cause;
      throw new SimError('SIM_STATE_INVALID', 'simulated platform state holds an unparsable certificate', { cause, hint: 'delete the state to create a new platform' });
    }
    const clock = resolveClock(options.now ?? data.fixedNow);
    return new SimulatedPlatform(data, clock);
  }

  toJSON(): SimPlatformState {
    const d = this.#data;
    const b64 = (der: Uint8Array): string => Buffer.from(der).toString('base64');
    return {
      kind: 'kubetee-sim-platform',
      version: 1,
      createdAt: d.createdAt.toISOString(),
      ...(d.fixedNow ? { fixedNow: d.fixedNow.toISOString() } : {}),
      fmspc: d.fmspc,
      pceId: d.pceId,
      ca: d.ca,
      tcb: { sgxTcbComponents: [...d.tcb.sgxTcbComponents], pceSvn: d.tcb.pceSvn },
      tcbUpdatesApplied: d.tcbUpdatesApplied,
      qeSvn: d.qeSvn,
      ppid: toHex(d.ppid),
      qeId: toHex(d.qeId),
      platformInstanceId: toHex(d.platformInstanceId),
      keys: {
        root: privateKeyToPem(d.keys.root),
        pckCa: privateKeyToPem(d.keys.pckCa),
        pckLeaf: privateKeyToPem(d.keys.pckLeaf),
        tcbSigning: privateKeyToPem(d.keys.tcbSigning),
        attestation: privateKeyToPem(d.keys.attestation),
      },
      certs: { root: b64(d.certs.root), pckCa: b64(d.certs.pckCa), pckLeaf: b64(d.certs.pckLeaf), tcbSigning: b64(d.certs.tcbSigning), pckLeafExpired: b64(d.certs.pckLeafExpired) },
      tcbRecoveryDates: d.tcbRecoveryDates.map((date) => date.toISOString()),
      pckRevoked: d.pckRevoked,
    };
  }

  /** DER of the simulated Root CA: pass it as a verifier's trusted root to accept this platform's quotes. */
  get rootCaDer(): Uint8Array {
    return Uint8Array.from(this.#data.certs.root);
  }

  get rootCaPem(): string {
    return certificatePem(this.#data.certs.root);
  }

  /** DER of the PCK leaf (the certificate whose key signs QE reports). */
  get pckCertificateDer(): Uint8Array {
    return Uint8Array.from(this.#data.certs.pckLeaf);
  }

  get fmspc(): string {
    return this.#data.fmspc;
  }

  get pceId(): string {
    return this.#data.pceId;
  }

  get pckCa(): SimPckCa {
    return this.#data.ca;
  }

  /** The TCB the current PCK certificate states (raised only by updateTcb(); a recovery makes it OutOfDate instead). */
  get tcb(): SimTcb {
    const tcb = currentTcb(this.#data);
    return { sgxTcbComponents: [...tcb.sgxTcbComponents], pceSvn: tcb.pceSvn };
  }

  /** How many TCB recoveries are published but not yet installed with updateTcb(). */
  get pendingTcbUpdates(): number {
    return this.#data.tcbRecoveryDates.length - this.#data.tcbUpdatesApplied;
  }

  get tcbEvaluationDataNumber(): number {
    return BASE_TCB_EVALUATION_DATA_NUMBER + this.#data.tcbRecoveryDates.length;
  }

  get pckRevoked(): boolean {
    return this.#data.pckRevoked;
  }

  /** The platform clock's current time. */
  now(): Date {
    return readClock(this.#clock);
  }

  /** A quote by the simulated QE over an enclave report with the given identity. */
  quote(options: SimQuoteOptions = {}): Uint8Array {
    const d = this.#data;
    const version = options.version ?? 3;
    if (version !== 3 && version !== 4) throw invalid(`version must be 3 or 4, got ${String(version)}`, 'omit it for a v3 quote');
    const tamper = options.tamper;
    if (tamper !== undefined && !QUOTE_TAMPERS.includes(tamper)) throw invalid(`unknown quote tamper ${JSON.stringify(tamper)}`, `one of: ${QUOTE_TAMPERS.join(', ')}`);
    const reportData = options.reportData ?? new Uint8Array(64);
    if (!(reportData instanceof Uint8Array) || reportData.length > 64) {
      throw invalid(`reportData must be at most 64 bytes, got ${reportData instanceof Uint8Array ? reportData.length : typeof reportData}`, 'hash longer data (e.g. SHA-512) into 64 bytes');
    }
    const paddedReportData = new Uint8Array(64);
    paddedReportData.set(reportData);
    const tcb = currentTcb(d);
    const cpuSvn = cpuSvnOf(tcb);
    const enclave: ReportBodyFields = {
      cpuSvn,
      miscSelect: 0,
      flags: FLAG_INIT | FLAG_MODE64BIT | (options.debug ? FLAG_DEBUG : 0n),
      xfrm: XFRM_DEFAULT,
      mrEnclave: measurement('mrenclave', options.mrenclave, 0x11),
      mrSigner: measurement('mrsigner', options.mrsigner, 0x22),
      isvProdId: checkUint('isvProdId', options.isvProdId ?? 0, 0xffff),
      isvSvn: checkUint('isvSvn', options.isvSvn ?? 0, 0xffff),
      reportData: paddedReportData,
    };
    const qe: ReportBodyFields = {
      cpuSvn,
      miscSelect: tamper === 'qeMiscselect' ? 1 : 0,
      flags: FLAG_INIT | FLAG_MODE64BIT | FLAG_PROVISIONKEY | (tamper === 'qeDebug' ? FLAG_DEBUG : 0n),
      xfrm: XFRM_DEFAULT,
      mrEnclave: SIM_QE_MRENCLAVE,
      mrSigner: tamper === 'qeMrsigner' ? createHash('sha256').update('some other quoting enclave signer').digest() : SIM_QE_MRSIGNER,
      isvProdId: tamper === 'qeIsvProdId' ? QE_ISV_PROD_ID + 1 : QE_ISV_PROD_ID,
      isvSvn: d.qeSvn,
      reportData: new Uint8Array(64), // set by assembleQuote
    };
    let leaf = d.certs.pckLeaf;
    if (tamper === 'pckLeafExpired') leaf = d.certs.pckLeafExpired;
    if (tamper === 'pckChainSignature') leaf = corruptCertificateSignature(leaf);
    const faults: QuoteFaults = {
      ...(tamper === 'quoteSignature' ? { corruptQuoteSignature: true } : {}),
      ...(tamper === 'qeReportSignature' ? { corruptQeReportSignature: true } : {}),
      // A binding over other auth data: well-formed, correctly signed, wrong.
      ...(tamper === 'qeReportData' ? { qeReportData: Buffer.concat([createHash('sha256').update('not the attestation key').digest(), Buffer.alloc(32)]) } : {}),
      ...(tamper === 'unsupportedVersion' ? { headerVersion: 2 } : {}),
      ...(tamper === 'qeVendorId' ? { qeVendorId: Buffer.alloc(16, 0xee) } : {}),
      ...(tamper === 'attestationKeyType' ? { attestationKeyType: 3 } : {}),
      ...(tamper === 'certDataType' ? { pckCertDataType: 3 } : {}),
    };
    const quote = assembleQuote(
      {
        version,
        qeSvn: d.qeSvn,
        pceSvn: tcb.pceSvn,
        qeId: d.qeId,
        enclave,
        qe,
        qeAuthData: QE_AUTH_DATA,
        pckChainPem: pemChain([leaf, d.certs.pckCa, d.certs.root]),
        attestationKey: d.keys.attestation,
        pckKey: d.keys.pckLeaf,
      },
      faults,
    );
    // Cut inside the PCK chain: the declared lengths now promise more than is there.
    if (tamper === 'truncated') return quote.slice(0, quote.length - 200);
    if (tamper === 'trailingBytes') return Uint8Array.from(Buffer.concat([quote, Buffer.alloc(16, 0xa5)]));
    return quote;
  }

  /** Collateral valid at the platform's current time, in dcap-qvl QuoteCollateralV3 JSON. */
  collateral(options: SimCollateralOptions = {}): QuoteCollateralV3Json {
    const d = this.#data;
    const tamper = options.tamper;
    if (tamper !== undefined && !COLLATERAL_TAMPERS.includes(tamper)) {
      throw invalid(`unknown collateral tamper ${JSON.stringify(tamper)}`, `one of: ${COLLATERAL_TAMPERS.join(', ')}`);
    }
    const now = this.now().getTime();
    // Issued an hour ago (whole seconds, as Intel's), so a verifier's clock a little behind ours still accepts it.
    const issued = Math.floor((now - HOUR_MS) / 1000) * 1000;
    const fresh = { from: new Date(issued), until: new Date(issued + COLLATERAL_VALIDITY_MS) };
    const expired = { from: new Date(issued - COLLATERAL_VALIDITY_MS - DAY_MS), until: new Date(issued - DAY_MS) };
    const future = { from: new Date(issued + DAY_MS), until: new Date(issued + DAY_MS + COLLATERAL_VALIDITY_MS) };
    const windowFor = (expiredTamper: SimCollateralTamper, futureTamper: SimCollateralTamper) =>
      tamper === expiredTamper ? expired : tamper === futureTamper ? future : fresh;

    const rootSki = subjectKeyId(d.certs.root);
    const caSki = subjectKeyId(d.certs.pckCa);
    const wrongIssuer = tamper === 'rootCaCrlIssuer';
    const rootCaCrl = buildCrl({
      issuerName: subjectNameDer(wrongIssuer ? d.certs.pckCa : d.certs.root),
      authorityKeyId: wrongIssuer ? caSki : rootSki,
      thisUpdate: tamper === 'rootCaCrlExpired' ? new Date(issued - ROOT_CRL_VALIDITY_MS - DAY_MS) : fresh.from,
      nextUpdate: tamper === 'rootCaCrlExpired' ? expired.until : new Date(issued + ROOT_CRL_VALIDITY_MS),
      crlNumber: 1,
      revokedSerials:
        tamper === 'pckCaRevoked'
          ? [serialNumberBytes(d.certs.pckCa)]
          : tamper === 'tcbSigningRevoked'
            ? [serialNumberBytes(d.certs.tcbSigning)]
            : tamper === 'rootCaRevoked'
              ? [serialNumberBytes(d.certs.root)]
              : [],
      signingKey: tamper === 'rootCaCrlSignature' ? strangerKey() : wrongIssuer ? d.keys.pckCa : d.keys.root,
    });
    const pckWindow = tamper === 'pckCrlExpired' ? expired : fresh;
    // pckCrlWrongCa: a genuine CRL, but from a CA that did not issue this leaf (here the root).
    const pckCrlIssuer = tamper === 'pckCrlWrongCa' ? { cert: d.certs.root, ski: rootSki, key: d.keys.root } : { cert: d.certs.pckCa, ski: caSki, key: d.keys.pckCa };
    const pckCrl = buildCrl({
      issuerName: subjectNameDer(pckCrlIssuer.cert),
      authorityKeyId: pckCrlIssuer.ski,
      thisUpdate: pckWindow.from,
      nextUpdate: pckWindow.until,
      crlNumber: 1,
      // Other platforms' revoked serials too, so a verifier must match the serial, not "any entry".
      revokedSerials: [decoySerial(d.ppid, 1), ...(d.pckRevoked ? [serialNumberBytes(d.certs.pckLeaf)] : []), decoySerial(d.ppid, 2)],
      signingKey: tamper === 'pckCrlSignature' ? strangerKey() : pckCrlIssuer.key,
    });

    const recoveries = d.tcbRecoveryDates.length;
    const tcbWindow = windowFor('tcbInfoExpired', 'tcbInfoNotYetValid');
    let levels = tcbLevels(d.tcb, d.createdAt, d.tcbRecoveryDates);
    if (tamper === 'tcbInfoNoMatchingLevel') {
      levels = [{ tcb: recoveredTcb(d.tcb, recoveries + 1), tcbDate: midnight(new Date(issued)), tcbStatus: 'UpToDate', advisoryIDs: [] }];
    }
    if (tamper === 'tcbInfoRevoked') {
      const own = recoveries - d.tcbUpdatesApplied; // levels run from the newest recovery down to provisioning
      levels = levels.map((level, i) => (i === own ? { ...level, tcbStatus: 'Revoked' as const } : level));
    }
    const tcbInfo = tcbInfoText({
      id: tamper === 'tcbInfoWrongTee' ? 'TDX' : 'SGX',
      issueDate: tcbWindow.from,
      nextUpdate: tcbWindow.until,
      fmspc: tamper === 'tcbInfoFmspc' ? otherHex(d.fmspc) : d.fmspc,
      pceId: tamper === 'tcbInfoPceId' ? otherHex(d.pceId) : d.pceId,
      tcbEvaluationDataNumber: this.tcbEvaluationDataNumber,
      levels,
    });
    const qeWindow = windowFor('qeIdentityExpired', 'qeIdentityNotYetValid');
    const qeIdentity = qeIdentityText({
      issueDate: qeWindow.from,
      nextUpdate: qeWindow.until,
      tcbEvaluationDataNumber: this.tcbEvaluationDataNumber,
      mrsigner: SIM_QE_MRSIGNER,
      isvProdId: QE_ISV_PROD_ID,
      qeSvn: d.qeSvn,
      tcbDate: midnight(d.createdAt),
      ...(tamper === 'qeIdentityNoMatchingLevel' ? { lowestIsvSvn: d.qeSvn + 1 } : {}),
    });
    const tcbChain = pemChain([d.certs.tcbSigning, d.certs.root]);
    return {
      pck_crl_issuer_chain: pemChain(tamper === 'pckCrlWrongCa' ? [d.certs.root] : [d.certs.pckCa, d.certs.root]),
      root_ca_crl: toHex(rootCaCrl),
      pck_crl: toHex(pckCrl),
      tcb_info_issuer_chain: tcbChain,
      tcb_info: tcbInfo,
      tcb_info_signature: signText(tcbInfo, tamper === 'tcbInfoSignature' ? strangerKey() : d.keys.tcbSigning),
      qe_identity_issuer_chain: tcbChain,
      qe_identity: qeIdentity,
      qe_identity_signature: signText(qeIdentity, tamper === 'qeIdentitySignature' ? strangerKey() : d.keys.tcbSigning),
    };
  }

  /**
   * A TCB recovery at the current time: Intel publishes a higher TCB level
   * under a new TCB evaluation data number; this platform's level becomes
   * OutOfDate with the recovery's advisory id (SIM-SA-0000n).
   */
  recoverTcb(): void {
    this.#data.tcbRecoveryDates.push(new Date(Math.floor(this.now().getTime() / 1000) * 1000));
  }

  /**
   * The platform installs the update published by the latest TCB recovery
   * (microcode and PCE raised), as an operator would after `recoverTcb()`:
   * it gets a new PCK certificate (new key, new serial) stating the raised
   * TCB, issued by the same PCK CA under the same root — so verifiers keep
   * trusting it and its quotes are UpToDate again. No-op when nothing is
   * pending. A revoked platform stays revoked: the PCK CRL lists its new
   * certificate instead.
   */
  async updateTcb(): Promise<void> {
    const d = this.#data;
    const target = d.tcbRecoveryDates.length;
    if (target === d.tcbUpdatesApplied) return;
    const pckLeaf = generateP256();
    const sgxExtension = sgxExtensionFor({ ...d, tcb: recoveredTcb(d.tcb, target), pceId: d.pceId, fmspc: d.fmspc });
    const notBefore = new Date(this.now().getTime() - DAY_MS);
    const leaves = await issuePckLeaves(d.keys.pckCa, pckLeaf, { notBefore, ca: d.ca, sgxExtension });
    // Commit only after issuing succeeded, so a failure leaves the platform as it was.
    d.keys.pckLeaf = pckLeaf;
    d.certs.pckLeaf = leaves.pckLeaf;
    d.certs.pckLeafExpired = leaves.pckLeafExpired;
    d.tcbUpdatesApplied = target;
  }

  /** Revokes this platform's PCK certificate: its serial appears in the PCK CRL from now on. */
  revokePck(): void {
    this.#data.pckRevoked = true;
  }

  /**
   * Serves this platform's collateral on the PCS v4 paths (see
   * docs/simulated-platform.md). Loopback by default; port 0 picks a free port.
   */
  serve(options: SimServeOptions = {}): Promise<SimPcsServer> {
    return servePcs(this, options);
  }

  /** When the platform was provisioned (certificates start a day before). */
  get createdAt(): Date {
    return new Date(this.#data.createdAt.getTime());
  }

  /** Time of the last recovery, for diagnostics. */
  get lastRecoveryAt(): string | undefined {
    const last = this.#data.tcbRecoveryDates.at(-1);
    return last ? isoSeconds(last) : undefined;
  }
}

/** The TCB the platform runs at now: the provisioned one raised by every installed recovery. */
function currentTcb(d: PlatformData): SimTcb {
  return d.tcbUpdatesApplied === 0 ? d.tcb : recoveredTcb(d.tcb, d.tcbUpdatesApplied);
}

function sgxExtensionFor(p: { ppid: Uint8Array; tcb: SimTcb; pceId: string; fmspc: string; ca: SimPckCa; platformInstanceId: Uint8Array }): Uint8Array {
  return encodeSgxExtension({
    ppid: p.ppid,
    tcb: p.tcb,
    pceId: fromHex(p.pceId)!,
    fmspc: fromHex(p.fmspc)!,
    ...(p.ca === 'platform' ? { platform: { instanceId: p.platformInstanceId, dynamicPlatform: true, cachedKeys: false, smtEnabled: false } } : {}),
  });
}

/** The same-length hex value with the last digit changed. */
function otherHex(hex: string): string {
  const last = hex.at(-1) === '0' ? '1' : '0';
  return hex.slice(0, -1) + last;
}
