import { KubeteeError } from '../../common/errors.js';

/** Refusals of the workload-identity endpoints, each with its HTTP status. */
export const IDENTITY_ERROR_STATUS = {
  /** No `Authorization: Bearer <attestation token>`. */
  IDENTITY_TOKEN_MISSING: 401,
  /** The attestation token is bad, foreign or expired. */
  IDENTITY_TOKEN_INVALID: 401,
  /** The attestation did not bind a certificate key (no valid `svid-pubkey` in the additional evidence). */
  IDENTITY_KEY_NOT_BOUND: 400,
  /** The attested TEE may not get a certificate (debug enclave, TCB status not accepted). */
  IDENTITY_DENIED: 403,
  /** The CA files are unusable, or the trust domain is not a SPIFFE trust domain. */
  IDENTITY_CA_INVALID: 500,
  /** The issuance could not be recorded in the audit chain (nothing is issued). */
  IDENTITY_INTERNAL: 500,
} as const;

export type IdentityErrorCode = keyof typeof IDENTITY_ERROR_STATUS;

export class IdentityError extends KubeteeError<IdentityErrorCode> {}
