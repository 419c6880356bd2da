/**
 * A simulated Intel SGX platform for development and tests: its own PKI
 * (Root CA, PCK CA, PCK leaf with the SGX extension, TCB Signing), a Quoting
 * Enclave that signs real-format ECDSA quotes, and a PCS that issues fresh
 * collateral (TCB Info, QE Identity, CRLs) in the exact shapes Intel uses.
 *
 * Its root is NOT Intel's: nothing trusts it unless a caller passes
 * `rootCaDer` to a verifier explicitly.
 */
import { randomBytes } from 'node:crypto';
import { toHex } from '../common/hex.js';
import { issuePckLeaves, issuePki } from './certificates.js';
import { makeCollateral, tcbEvaluationDataNumberOf } from './collateral-bundle.js';
import { certificatePem, isoSeconds } from './collateral.js';
import { generateP256 } from './keys.js';
import { checkUint, DEFAULT_FMSPC, DEFAULT_PCE_ID, DEFAULT_QE_SVN, invalid, parseHexOption, readClock, resolveClock, resolveTcb } from './options.js';
import { servePcs } from './pcs-server.js';
import { currentTcb, dataFromState, sgxExtensionFor, stateFromData, type PlatformData, type PlatformKeys } from './platform-data.js';
import { makeQuote } from './quoting-enclave.js';
import { recoveredTcb } from './tcb-levels.js';
import type {
  QuoteCollateralV3Json,
  SimCollateralOptions,
  SimPckCa,
  SimPcsServer,
  SimPlatformOptions,
  SimPlatformState,
  SimQuoteOptions,
  SimServeOptions,
  SimTcb,
} from './types.js';

const DAY_MS = 86_400_000;

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

  /** Generates keys and certificates for a new platform (tens of milliseconds). */
  static async create(options: SimPlatformOptions = {}): Promise<SimulatedPlatform> {
    const clock = resolveClock(options.now);
    const createdAt = new Date(Math.floor(readClock(clock).getTime() / 1000) * 1000);
    const fmspc = toHex(parseHexOption('fmspc', options.fmspc ?? DEFAULT_FMSPC, 6));
    const pceId = toHex(parseHexOption('pceId', options.pceId ?? DEFAULT_PCE_ID, 2));
    const ca = options.ca ?? 'processor';
    if (ca !== 'processor' && ca !== 'platform') throw invalid(`ca must be 'processor' or 'platform', got ${JSON.stringify(ca)}`, "omit it for 'processor'");
    const tcb = resolveTcb(options.tcb);
    const qeSvn = checkUint('qeSvn', options.qeSvn ?? DEFAULT_QE_SVN, 0xffff);
    const keys: PlatformKeys = { root: generateP256(), pckCa: generateP256(), pckLeaf: generateP256(), tcbSigning: generateP256(), attestation: generateP256() };
    const ppid = randomBytes(16);
    const platformInstanceId = randomBytes(16);
    const certs = await issuePki(keys, { createdAt, ca, sgxExtension: sgxExtensionFor({ ppid, tcb, pceId, fmspc, ca, platformInstanceId }) });
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
   * platform saved with a fixed `now` keeps it otherwise). Throws
   * SIM_STATE_INVALID listing every problem of a bad state.
   */
  static fromJSON(state: unknown, options: { now?: Date | (() => Date) } = {}): SimulatedPlatform {
    const data = dataFromState(state);
    return new SimulatedPlatform(data, resolveClock(options.now ?? data.fixedNow));
  }

  /** JSON-safe state including private keys: store it like a secret (mode 0600). */
  toJSON(): SimPlatformState {
    return stateFromData(this.#data);
  }

  /** DER of the simulated Root CA: pass it as a verifier's trusted root to accept this platform's quotes. */
  get rootCaDer(): Uint8Array {
    return Uint8Array.from(this.#data.certs.root);
  }

  get rootCaPem(): string {
    return certificatePem(this.#data.certs.root);
  }

  /** DER of the current PCK leaf (the certificate whose key signs QE reports). */
  get pckCertificateDer(): Uint8Array {
    return Uint8Array.from(this.#data.certs.pckLeaf);
  }

  /** FMSPC, 12 lower-case hex digits. */
  get fmspc(): string {
    return this.#data.fmspc;
  }

  /** PCE-ID, 4 lower-case hex digits. */
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
    return tcbEvaluationDataNumberOf(this.#data);
  }

  get pckRevoked(): boolean {
    return this.#data.pckRevoked;
  }

  /** When the platform was provisioned (certificates start a day before). */
  get createdAt(): Date {
    return new Date(this.#data.createdAt.getTime());
  }

  /** Time of the last TCB recovery (ISO), if any. */
  get lastRecoveryAt(): string | undefined {
    const last = this.#data.tcbRecoveryDates.at(-1);
    return last ? isoSeconds(last) : undefined;
  }

  /** The platform clock's current time. */
  now(): Date {
    return readClock(this.#clock);
  }

  /** A quote by the simulated QE over an enclave report with the given identity. */
  quote(options: SimQuoteOptions = {}): Uint8Array {
    return makeQuote(this.#data, options);
  }

  /** Collateral valid at the platform's current time, in dcap-qvl QuoteCollateralV3 JSON. */
  collateral(options: SimCollateralOptions = {}): QuoteCollateralV3Json {
    return makeCollateral(this.#data, this.now(), options);
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
    const sgxExtension = sgxExtensionFor({ ...d, tcb: recoveredTcb(d.tcb, target) });
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
}
