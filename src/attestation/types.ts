import type { SgxReportBody } from './report-body.js';

/** The statuses a TCB Info level may carry (Intel QVL TcbLevel.cpp validStatuses). */
export const TCB_LEVEL_STATUSES = [
  'UpToDate',
  'SWHardeningNeeded',
  'ConfigurationNeeded',
  'ConfigurationAndSWHardeningNeeded',
  'OutOfDate',
  'OutOfDateConfigurationNeeded',
  'Revoked',
] as const;
/** The statuses a QE Identity level may carry (QVL EvaluateTcb.cpp VALID_QE_STATUSES). */
export const QE_LEVEL_STATUSES = ['UpToDate', 'OutOfDate', 'ConfigurationNeeded', 'Revoked', 'OutOfDateConfigurationNeeded'] as const;
/** The statuses a TDX module identity level may carry (QVL VALID_MODULE_TCB_STATUSES). */
export const TDX_MODULE_LEVEL_STATUSES = ['UpToDate', 'OutOfDate', 'Revoked'] as const;

/**
 * Every TCB status name: the level statuses plus the two a TD 1.5 quote can
 * get after an in-place TDX module update (QVL checkForRelaunch).
 */
export const TCB_STATUSES = [...TCB_LEVEL_STATUSES, 'TDRelaunchAdvised', 'TDRelaunchAdvisedConfigurationNeeded'] as const;
export type TcbStatus = (typeof TCB_STATUSES)[number];

/** Identity of a verified SGX enclave, as the broker's policy sees it. */
export interface EnclaveIdentity {
  mrenclave: string;
  mrsigner: string;
  isvProdId: number;
  isvSvn: number;
  /** ATTRIBUTES (FLAGS ‖ XFRM), 16 bytes hex in quote byte order. */
  attributes: string;
  /** ATTRIBUTES.DEBUG: a debug enclave's memory is readable by the host. */
  debug: boolean;
  reportData: string;
  /** Extra report fields (CONFIGID etc.), for policies that need them. */
  configId: string;
  configSvn: number;
  miscSelect: number;
  cpuSvn: string;
}

/** Measurements of a verified TDX trust domain. */
export interface TdIdentity {
  mrtd: string;
  rtmr0: string;
  rtmr1: string;
  rtmr2: string;
  rtmr3: string;
  mrconfigid: string;
  mrowner: string;
  mrownerconfig: string;
  /** TD report 1.5 only. */
  mrservicetd?: string;
  tdAttributes: string;
  debug: boolean;
  reportData: string;
  teeTcbSvn: string;
  xfam: string;
  mrseam: string;
  mrsignerseam: string;
}

/** One check of the algorithm (docs/attestation.md numbering) and how it went. */
export interface VerificationCheck {
  name: string;
  ok: boolean;
  detail: string;
}

/**
 * The outcome of a successful verification: every cryptographic and
 * freshness check passed and a TCB level matched. `status` is for policy to
 * judge (Revoked never appears here: it is an error).
 */
export interface VerificationResult {
  tee: 'sgx' | 'tdx';
  quoteVersion: number;
  status: Exclude<TcbStatus, 'Revoked'>;
  advisoryIds: string[];
  /** Hex, lower case, 6 bytes. */
  fmspc: string;
  /** Hex, lower case, 2 bytes. */
  pceId: string;
  enclave?: EnclaveIdentity;
  td?: TdIdentity;
  /** Status of the platform TCB level alone. */
  platformStatus: TcbStatus;
  /** Status of the QE's TCB level alone. */
  qeStatus: TcbStatus;
  /** TDX only: status of the TDX module's TCB level, when TCB Info lists module identities. */
  tdxModuleStatus?: TcbStatus;
  /** Earliest nextUpdate / notAfter over all collateral and certificates. */
  collateralExpiresAt: Date;
  /** TCB Info tcbEvaluationDataNumber (policy may require a minimum). */
  tcbEvaluationDataNumber: number;
  /** Date of the matched platform TCB level. */
  tcbDate: string;
  /** Zero bytes after the quote that were tolerated (see docs/attestation.md). */
  trailingZeroBytes: number;
  /** Every check performed, in order. */
  checks: VerificationCheck[];
}

export interface QuoteVerifierOptions {
  /**
   * DER certificates trusted as roots. Default: the Intel SGX Root CA only,
   * pinned by the SHA-256 of its DER. A simulated platform's root is trusted
   * only when passed here explicitly.
   */
  trustedRootCaDer?: Uint8Array[];
  /** Bound for each internal cache (LRU). Default 256; 0 disables caching. */
  cacheMaxEntries?: number;
  /**
   * Accept TD 1.5 quotes whose MRSERVICETD is non-zero (the TD is bound to a
   * service TD, such as a migration TD, that this verifier does not appraise).
   * Default false: fail closed; the caller's policy must then judge MRSERVICETD.
   */
  allowServiceTd?: boolean;
}

export interface VerifyOptions {
  /** Verification time; default now. Every validity window is checked against it. */
  at?: Date;
}

export type { SgxReportBody };
