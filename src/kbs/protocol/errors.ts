import { KubeteeError } from '../../common/errors.js';

/**
 * Every way a Trustee KBS protocol exchange (auth, attest, resource) can be
 * refused. The table is the single place that maps a code to its HTTP status
 * and to the Trustee `ErrorInformation` variant existing Confidential
 * Containers clients parse (`type: https://github.com/confidential-containers/kbs/errors/<Variant>`).
 *
 * Status semantics (docs/key-broker.md, "Differences from Trustee"): 401 when
 * the caller has not (or no longer) proven who it is, 403 when it has but the
 * policy refuses, 404 for a missing resource or a malformed path. Trustee
 * answers 401 for the latter two; `statusMode: 'trustee'` restores that.
 */
export const KBS_PROTOCOL_ERRORS = {
  KBS_REQUEST_INVALID: { status: 400, variant: 'SerdeError' },
  KBS_VERSION_UNSUPPORTED: { status: 401, variant: 'RcarAuthFailed' },
  KBS_TEE_UNSUPPORTED: { status: 401, variant: 'RcarAuthFailed' },
  KBS_SESSION_MISSING: { status: 401, variant: 'TokenNotFound' },
  KBS_SESSION_UNKNOWN: { status: 401, variant: 'RcarAttestFailed' },
  KBS_SESSION_EXPIRED: { status: 401, variant: 'RcarAttestFailed' },
  KBS_NONCE_MISMATCH: { status: 401, variant: 'RcarAttestFailed' },
  KBS_NONCE_REPLAYED: { status: 401, variant: 'RcarAttestFailed' },
  KBS_TEE_KEY_INVALID: { status: 401, variant: 'RcarAttestFailed' },
  KBS_EVIDENCE_INVALID: { status: 401, variant: 'AttestationError' },
  KBS_ATTESTATION_FAILED: { status: 401, variant: 'AttestationError' },
  KBS_REPORTDATA_MISMATCH: { status: 401, variant: 'AttestationError' },
  KBS_COLLATERAL_UNAVAILABLE: { status: 503, variant: 'AttestationError' },
  KBS_TOKEN_INVALID: { status: 401, variant: 'TokenVerifierError' },
  KBS_POLICY_DENIED: { status: 403, variant: 'PolicyDeny' },
  KBS_SECRET_UNAVAILABLE: { status: 403, variant: 'PolicyDeny' },
  KBS_RESOURCE_PATH_INVALID: { status: 404, variant: 'InvalidRequestPath' },
  KBS_RESOURCE_NOT_FOUND: { status: 404, variant: 'PluginNotFound' },
  KBS_RATE_LIMITED: { status: 429, variant: 'RateLimited' },
  KBS_PAYLOAD_TOO_LARGE: { status: 413, variant: 'PayloadTooLarge' },
  KBS_BUSY: { status: 503, variant: 'Busy' },
  KBS_ROW_TAMPERED: { status: 500, variant: 'PluginInternalError' },
  KBS_INTERNAL: { status: 500, variant: 'PluginInternalError' },
} as const satisfies Record<string, { status: number; variant: string }>;

export type KbsProtocolErrorCode = keyof typeof KBS_PROTOCOL_ERRORS;

export class KbsProtocolError extends KubeteeError<KbsProtocolErrorCode> {
  /** A finer, bounded reason (for example the verifier's error code); used as the denial metric label. */
  reason: string | undefined;
  /** For KBS_RATE_LIMITED: the Retry-After value. */
  retryAfterSeconds: number | undefined;

  constructor(code: KbsProtocolErrorCode, message: string, options: { cause?: unknown; hint?: string } = {}) {
    super(code, message, options);
  }

  get status(): number {
    return KBS_PROTOCOL_ERRORS[this.code].status;
  }
}

export const TRUSTEE_ERROR_TYPE_PREFIX = 'https://github.com/confidential-containers/kbs/errors/';

/** The JSON error body: Trustee's `ErrorInformation` plus kubetee's `code` and `hint`. */
export interface KbsErrorBody {
  type: string;
  detail: string;
  code: string;
  hint?: string;
}

/** How a protocol error is put on the wire (status and body). */
export function errorResponse(err: KbsProtocolError, statusMode: 'kubetee' | 'trustee' = 'kubetee'): { status: number; body: KbsErrorBody } {
  const entry = KBS_PROTOCOL_ERRORS[err.code];
  let status: number = entry.status;
  // Trustee answers 401 for every refusal except a bad path / unknown plugin (404).
  if (statusMode === 'trustee' && (status === 403 || err.code === 'KBS_RESOURCE_NOT_FOUND')) status = 401;
  const body: KbsErrorBody = { type: `${TRUSTEE_ERROR_TYPE_PREFIX}${entry.variant}`, detail: err.message, code: err.code };
  if (err.hint) body.hint = err.hint;
  return { status, body };
}
