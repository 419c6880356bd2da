import type { QuoteCollateralV3Json as AttestationCollateralJson } from '../attestation/collateral.js';

/**
 * Public types of the simulated SGX platform. Kept in one file so callers (key
 * broker, dashboard, `kubetee up`) can depend on the shapes without pulling in
 * the implementation.
 */

/** Which Intel-style PCK CA issues the simulated PCK leaf (decides which PCK CRL applies). */
export type SimPckCa = 'processor' | 'platform';

/** The platform's TCB as the PCK certificate states it (SGX TCB components 1..16 + PCESVN). */
export interface SimTcb {
  /** 16 SVNs, each 0..255 (the PCK extension's 1.2.840.113741.1.13.1.2.1..16; CPUSVN is their bytes). */
  sgxTcbComponents: number[];
  /** PCE security version, 0..65535. */
  pceSvn: number;
}

export interface SimPlatformOptions {
  /**
   * Clock of the platform. A Date freezes it (tests); a function is called every
   * time collateral is produced; omitted = the real clock. Collateral is always
   * "fresh" at this time: issued one hour before, valid for 30 days.
   */
  now?: Date | (() => Date);
  /** FMSPC, 6 bytes as 12 hex digits. Default '00906ed50000'. */
  fmspc?: string;
  /** PCE-ID, 2 bytes as 4 hex digits. Default '0000'. */
  pceId?: string;
  /** The platform's TCB. Default components 11,11,2,2,255,1,12,0,… and PCESVN 13. */
  tcb?: Partial<SimTcb>;
  /** Which PCK CA issues the leaf. Default 'processor'. */
  ca?: SimPckCa;
  /** ISVSVN of the simulated Quoting Enclave (also the header's QE SVN). Default 8. */
  qeSvn?: number;
}

export interface SimQuoteOptions {
  /** 32 bytes (hex or bytes). Default: 32 bytes of 0x11. */
  mrenclave?: string | Uint8Array;
  /** 32 bytes (hex or bytes). Default: 32 bytes of 0x22. */
  mrsigner?: string | Uint8Array;
  /** 0..65535. Default 0. */
  isvProdId?: number;
  /** 0..65535. Default 0. */
  isvSvn?: number;
  /** Sets ATTRIBUTES.FLAGS bit 1 (DEBUG). Default false. */
  debug?: boolean;
  /** Up to 64 bytes, zero padded to 64. Default all zero. */
  reportData?: Uint8Array;
  /** Quote version: 3 (certification data type 5) or 4 (type 6 wrapping type 5). Default 3. */
  version?: 3 | 4;
  /** Produce a deliberately broken quote where exactly one verification check fails (negative tests). */
  tamper?: SimQuoteTamper;
  /**
   * A TDX quote (TD report) instead of an SGX one: v4 with a TD 1.0 body, or
   * v5 with a TD 1.5 body when `teeTcbSvn2` is given. The enclave identity
   * options above are then ignored (REPORTDATA still applies).
   */
  tdx?: SimTdQuoteOptions;
}

/** The TD report fields that decide a TDX quote's TCB evaluation. */
export interface SimTdQuoteOptions {
  /** TEE_TCB_SVN, 16 SVNs (byte 0 = TDX module SVN, byte 1 = module major version). */
  teeTcbSvn: number[];
  /** TD 1.5 only: the TCB the TD runs on now (after an in-place module update). */
  teeTcbSvn2?: number[];
  /** MRSIGNERSEAM, 48 bytes hex. Default all zero (Intel's module signer is all zero). */
  mrSignerSeam?: string;
  /** SEAMATTRIBUTES, 8 bytes hex. Default zero. */
  seamAttributes?: string;
}

/** One TCB Info level, stated explicitly (TCB ordering and TDX tests). */
export interface SimTcbLevelSpec {
  sgxTcbComponents: number[];
  pceSvn: number;
  /** TDX TCB Info only: 16 SVNs. Default all zero. */
  tdxTcbComponents?: number[];
  tcbStatus: string;
  advisoryIDs?: string[];
  /** Default the platform's provisioning date. */
  tcbDate?: string;
}

/** TDX module identity entry of a TDX TCB Info. */
export interface SimTdxModuleIdentity {
  /** "TDX_" + two hex digits of the module major version. */
  id: string;
  mrsigner?: string;
  attributes?: string;
  tcbLevels: { isvsvn: number; tcbStatus: string; advisoryIDs?: string[]; tcbDate?: string }[];
}

/**
 * Quote-side faults. Each breaks exactly one check of the verification
 * algorithm (docs/simulated-platform.md lists which).
 */
export type SimQuoteTamper =
  /** ISV signature over header+body does not verify with the attestation key. */
  | 'quoteSignature'
  /** QE report signature does not verify with the PCK leaf key. */
  | 'qeReportSignature'
  /** QE REPORTDATA is not SHA-256(attestation key ‖ QE auth data) ‖ 0³² (report re-signed, so only the binding fails). */
  | 'qeReportData'
  /** The QE report's MRSIGNER differs from the QE Identity's (report re-signed). */
  | 'qeMrsigner'
  /** The PCK leaf's signature (by the PCK CA) does not verify. */
  | 'pckChainSignature'
  /** The PCK leaf in the certification data expired before `now` (otherwise identical). */
  | 'pckLeafExpired'
  /** Header version 2 (not a DCAP ECDSA quote version). */
  | 'unsupportedVersion'
  /** The quote cut short inside the certification data. */
  | 'truncated'
  /** Header QE vendor ID is not Intel's (quote re-signed). */
  | 'qeVendorId'
  /** Header attestation key type 3 (ECDSA-384, reserved) instead of 2 (quote re-signed). */
  | 'attestationKeyType'
  /** The QE report has ATTRIBUTES.DEBUG set (a debug Quoting Enclave; report re-signed). */
  | 'qeDebug'
  /** The QE report's ISVPRODID differs from the QE Identity's (re-signed). */
  | 'qeIsvProdId'
  /** The QE report's MISCSELECT differs under the QE Identity's mask (re-signed). */
  | 'qeMiscselect'
  /** The PCK chain record is labelled certification data type 3 (encrypted PPID) instead of 5. */
  | 'certDataType'
  /** 16 non-zero bytes appended after the quote. */
  | 'trailingBytes'
  /** Wrong signer: the PCK CA certificate poses as the PCK leaf (chain [PCK CA, root]) and signs the QE report. */
  | 'pckChainLeafIsPckCa'
  /** Wrong signer: the TCB Signing certificate poses as the PCK leaf (chain [TCB Signing, root]) and signs the QE report. */
  | 'pckChainLeafIsTcbSigning';

/** Collateral-side faults; each breaks exactly one check. */
export type SimCollateralTamper =
  | 'rootCaCrlSignature'
  | 'rootCaCrlExpired'
  /** Root CA CRL issued (and signed) by the PCK CA instead of the root. */
  | 'rootCaCrlIssuer'
  /** The PCK CA's serial is listed in the Root CA CRL. */
  | 'pckCaRevoked'
  /** The TCB Signing certificate's serial is listed in the Root CA CRL. */
  | 'tcbSigningRevoked'
  /** The Root CA's own serial is listed in the Root CA CRL (Intel QVL and dcap-qvl check it). */
  | 'rootCaRevoked'
  | 'pckCrlSignature'
  | 'pckCrlExpired'
  | 'tcbInfoSignature'
  | 'tcbInfoExpired'
  /** TCB Info issued a day in the future. */
  | 'tcbInfoNotYetValid'
  /** TCB Info issued for another FMSPC (correctly signed). */
  | 'tcbInfoFmspc'
  /** TCB Info issued for another PCE-ID (correctly signed). */
  | 'tcbInfoPceId'
  /** TCB Info with id "TDX" for this SGX platform (correctly signed). */
  | 'tcbInfoWrongTee'
  /** PCK CRL issued (and signed) by the Root CA instead of the PCK CA that issued the leaf. */
  | 'pckCrlWrongCa'
  /** Every TCB level in TCB Info is above the platform's TCB. */
  | 'tcbInfoNoMatchingLevel'
  /** The platform's own TCB level has status Revoked. */
  | 'tcbInfoRevoked'
  | 'qeIdentitySignature'
  | 'qeIdentityExpired'
  /** QE Identity issued a day in the future. */
  | 'qeIdentityNotYetValid'
  /** Every QE TCB level is above the QE's ISVSVN. */
  | 'qeIdentityNoMatchingLevel'
  /** Wrong signer: TCB Info signed by the PCK leaf key, issuer chain [PCK leaf, PCK CA, root] (a leaked PCK key). */
  | 'tcbInfoSignerPckLeaf'
  /** Wrong signer: TCB Info signed by the PCK CA key, issuer chain [PCK CA, root]. */
  | 'tcbInfoSignerPckCa'
  /** Wrong signer: TCB Info signed by the root key, issuer chain [root]. */
  | 'tcbInfoSignerRoot'
  /** Wrong signer: QE Identity signed by the PCK leaf key under [PCK leaf, PCK CA, root]. */
  | 'qeIdentitySignerPckLeaf'
  /** Wrong signer: QE Identity signed by the PCK CA key under [PCK CA, root]. */
  | 'qeIdentitySignerPckCa'
  /** Wrong signer: QE Identity signed by the root key under [root]. */
  | 'qeIdentitySignerRoot'
  /** Wrong signer: PCK CRL issued and signed by the TCB Signing certificate (not a CA), chain [TCB Signing, root]. */
  | 'pckCrlSignerTcbSigning';

export interface SimCollateralOptions {
  tamper?: SimCollateralTamper;
  /** Publish exactly these TCB Info levels, in this (JSON) order, instead of the platform's history. */
  tcbLevels?: SimTcbLevelSpec[];
  /** TDX collateral (TCB Info id "TDX", QE Identity "TD_QE") for quotes made with `tdx`. */
  tdx?: {
    /** TCB Info tdxModule; null leaves it out (malformed TCB Info). Default: all-zero signer and attributes. */
    tdxModule?: { mrsigner: string; attributes: string; attributesMask: string } | null;
    tdxModuleIdentities?: SimTdxModuleIdentity[];
  };
}

/**
 * dcap-qvl "QuoteCollateralV3" JSON as the simulator emits it: every binary
 * field hex text (the attestation component also accepts byte arrays).
 * Signatures cover the exact bytes of `tcb_info` / `qe_identity`; never
 * re-serialise them.
 */
export type QuoteCollateralV3Json = { [K in keyof AttestationCollateralJson]: string };

/** Persisted form of a platform: keys, certificates and evolving state. JSON-safe. */
export interface SimPlatformState {
  kind: 'kubetee-sim-platform';
  version: 1;
  createdAt: string;
  /** Frozen clock (ISO) when the platform was created with a fixed `now`. */
  fixedNow?: string;
  fmspc: string;
  pceId: string;
  ca: SimPckCa;
  /** The TCB at provisioning; TCB Info's level history is built from it. */
  tcb: SimTcb;
  /** How many published TCB recoveries the platform has installed (updateTcb()); its PCK certificate states that TCB. Default 0. */
  tcbUpdatesApplied?: number;
  qeSvn: number;
  /** Hex: PPID (16 B), QE-ID (16 B), platform instance ID (16 B). */
  ppid: string;
  qeId: string;
  platformInstanceId: string;
  /** PKCS#8 PEM private keys. */
  keys: { root: string; pckCa: string; pckLeaf: string; tcbSigning: string; attestation: string };
  /** Base64 DER certificates. `pckLeafExpired` is the same leaf re-issued already expired (negative tests). */
  certs: { root: string; pckCa: string; pckLeaf: string; tcbSigning: string; pckLeafExpired: string };
  /** When each TCB recovery happened (ISO, oldest first); the TCB evaluation data number is 17 + their count. */
  tcbRecoveryDates: string[];
  /** Whether the PCK leaf is listed in the PCK CRL. */
  pckRevoked: boolean;
}

/** A running simulated PCS (Intel Provisioning Certification Service v4 paths). */
export interface SimPcsServer {
  /** Base URL, e.g. http://127.0.0.1:41234 (no trailing slash). */
  url: string;
  close(): Promise<void>;
}

export interface SimServeOptions {
  host?: string;
  port?: number;
}
