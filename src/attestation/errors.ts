import { KubeteeError } from '../common/errors.js';
import type { VerificationCheck } from './types.js';

/**
 * Every way a quote, its collateral or its verification can fail. Codes are
 * stable API: the key broker, the CLI's JSON output and the tests branch on
 * them. Each is documented in docs/attestation.md ("Error codes").
 */
export const ATTESTATION_ERROR_CODES = [
  // Quote parsing (step 1)
  'QUOTE_TRUNCATED',
  'UNSUPPORTED_VERSION',
  'UNSUPPORTED_KEY_TYPE',
  'UNSUPPORTED_TEE_TYPE',
  'UNSUPPORTED_BODY_TYPE',
  'UNKNOWN_QE_VENDOR',
  'BAD_CERT_DATA',
  'UNSUPPORTED_CERT_DATA_TYPE',
  'TRAILING_BYTES',
  // Certificates, CRLs and the PCK extension
  'BAD_CERTIFICATE',
  'BAD_CRL',
  'BAD_PCK_EXTENSION',
  'UNSUPPORTED_ALGORITHM',
  'UNTRUSTED_ROOT',
  'CERT_CHAIN_INVALID',
  'CERT_SIGNATURE_INVALID',
  'PCK_CHAIN_INVALID',
  'TCB_SIGNING_CERT_INVALID',
  'ROOT_MISMATCH',
  'CERT_NOT_YET_VALID',
  'CERT_EXPIRED',
  'CERT_REVOKED',
  'CRL_SIGNATURE_INVALID',
  'CRL_ISSUER_MISMATCH',
  'CRL_NOT_YET_VALID',
  'CRL_EXPIRED',
  // Collateral documents
  'BAD_COLLATERAL',
  'BAD_TCB_INFO',
  'BAD_QE_IDENTITY',
  'TCB_INFO_SIGNATURE_INVALID',
  'TCB_INFO_NOT_YET_VALID',
  'TCB_INFO_EXPIRED',
  'TCB_INFO_MISMATCH',
  'FMSPC_MISMATCH',
  'PCEID_MISMATCH',
  'QE_IDENTITY_SIGNATURE_INVALID',
  'QE_IDENTITY_NOT_YET_VALID',
  'QE_IDENTITY_EXPIRED',
  'QE_IDENTITY_MISMATCH',
  // Quote cryptography
  'QE_REPORT_SIGNATURE_INVALID',
  'QE_REPORT_DATA_MISMATCH',
  'QUOTE_SIGNATURE_INVALID',
  // TCB evaluation
  'TCB_LEVEL_NOT_FOUND',
  'QE_TCB_LEVEL_NOT_FOUND',
  'TDX_MODULE_MISMATCH',
  'SERVICE_TD_NOT_ALLOWED',
  'UNKNOWN_TCB_STATUS',
  'TCB_REVOKED',
  // Collateral fetching (PCS / PCCS)
  'COLLATERAL_UNREACHABLE',
  'COLLATERAL_BAD_RESPONSE',
  // Caller passed an invalid option (verification time, cache size)
  'INVALID_ARGUMENT',
  // A defect in the verifier itself: reported, never treated as success.
  'INTERNAL_ERROR',
] as const;

export type AttestationErrorCode = (typeof ATTESTATION_ERROR_CODES)[number];

/** Default hint per code: what the caller can do about it. */
const HINTS: Partial<Record<AttestationErrorCode, string>> = {
  QUOTE_TRUNCATED: 'the quote is shorter than its own length fields say; pass the complete quote bytes',
  UNSUPPORTED_VERSION: 'only DCAP quote versions 3, 4 and 5 are supported',
  BAD_CERT_DATA: 'the quote must carry the PCK certificate chain (certification data type 5, or type 6 wrapping it)',
  UNSUPPORTED_CERT_DATA_TYPE: 'fetch the PCK certificate from PCCS and let the platform embed the full chain (type 5)',
  UNTRUSTED_ROOT: 'the chain does not end at a trusted root (Intel SGX Root CA by default); trust another root with --trust-root FILE on the CLI or trustedRootCaDer in the API',
  CERT_SIGNATURE_INVALID: 'the certificate was altered or damaged in transit (or forged); obtain it again from the platform or PCCS',
  PCK_CHAIN_INVALID: 'the quote must carry Intel\'s PCK chain: PCK leaf (with the SGX extension) <- PCK Platform/Processor CA <- root',
  TCB_SIGNING_CERT_INVALID: 'TCB Info and QE Identity must be signed by the TCB Signing certificate directly under the root; fetch the collateral again from Intel PCS or a PCCS you trust',
  ROOT_MISMATCH: 'the quote and every piece of collateral must chain to one and the same root; fetch the collateral for this platform',
  CERT_EXPIRED: 'refresh the certificate or collateral, or check the verification time (--at)',
  CERT_NOT_YET_VALID: 'check the verification time (--at) and the system clock',
  CRL_EXPIRED: 'fetch fresh collateral (kubetee attest collateral) and verify again',
  CRL_NOT_YET_VALID: 'check the verification time (--at) and the system clock',
  TCB_INFO_EXPIRED: 'fetch fresh collateral (kubetee attest collateral) and verify again',
  TCB_INFO_NOT_YET_VALID: 'check the verification time (--at) and the system clock',
  QE_IDENTITY_EXPIRED: 'fetch fresh collateral (kubetee attest collateral) and verify again',
  QE_IDENTITY_NOT_YET_VALID: 'check the verification time (--at) and the system clock',
  FMSPC_MISMATCH: 'the collateral was fetched for another platform; fetch it for this quote (kubetee attest collateral --quote ...)',
  PCEID_MISMATCH: 'the collateral was fetched for another platform; fetch it for this quote (kubetee attest collateral --quote ...)',
  TCB_LEVEL_NOT_FOUND: 'the platform TCB is below every level Intel lists; update BIOS/microcode and the TDX module',
  TCB_REVOKED: 'the platform or QE TCB is revoked; this machine cannot be trusted until it is updated',
  CERT_REVOKED: 'a certificate in the chain is on Intel\'s revocation list; this platform cannot be trusted',
  SERVICE_TD_NOT_ALLOWED: 'the TD is bound to a service TD whose identity this verifier does not check; pass allowServiceTd only if your policy checks MRSERVICETD',
  INTERNAL_ERROR: 'this is a bug in kubetee; the quote was rejected to fail closed. Please report it with the quote and collateral',
  COLLATERAL_UNREACHABLE: 'check the --pccs URL and network access to it',
  COLLATERAL_BAD_RESPONSE: 'check that the URL is an Intel PCS v4 or PCCS endpoint',
};

/**
 * Raised for malformed input and for every failed verification check. The
 * message says what was wrong and where (offset, field or document); `hint`
 * says what to do. Verification never throws anything else.
 */
export class AttestationError extends KubeteeError<AttestationErrorCode> {
  /**
   * The checks that passed before this error, in order (set by
   * `QuoteVerifier.verify`; empty for errors raised elsewhere). Lets a report
   * show exactly how far verification got.
   */
  passedChecks: readonly VerificationCheck[] = [];

  constructor(code: AttestationErrorCode, message: string, options: { cause?: unknown; hint?: string } = {}) {
    super(code, message, { cause: options.cause, hint: options.hint ?? HINTS[code], exitCode: 1 });
  }
}

export function isAttestationError(err: unknown): err is AttestationError {
  return err instanceof AttestationError;
}
