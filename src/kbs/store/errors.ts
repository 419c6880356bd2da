import { KubeteeError } from '../../common/errors.js';

/**
 * Every failure of the key broker's data half (store, envelope crypto, secret
 * lifecycle, audit, admin tokens). Callers branch on `code`; the admin API maps
 * codes to HTTP statuses in one table (src/kbs/admin/http-status.ts).
 */
export type KbsStoreErrorCode =
  // resource paths and lifecycle
  | 'INVALID_RESOURCE_PATH'
  | 'INVALID_VALUE'
  | 'INVALID_REQUEST'
  | 'RESOURCE_NOT_FOUND'
  | 'RESOURCE_EXISTS'
  | 'VERSION_NOT_FOUND'
  | 'VERSION_DISABLED'
  | 'VERSION_DESTROYED'
  | 'SECRET_EXPIRED'
  // storage
  | 'STORE_URL_INVALID'
  | 'STORE_UNAVAILABLE'
  | 'STORE_CLOSED'
  | 'MIGRATION_CHECKSUM_MISMATCH'
  | 'SCHEMA_TOO_NEW'
  // envelope encryption
  | 'MASTER_KEY_MISSING'
  | 'MASTER_KEY_INVALID'
  | 'MASTER_KEY_UNKNOWN'
  | 'MASTER_KEY_BESIDE_DATA'
  | 'MASTER_KEY_FILE_INSECURE'
  | 'DECRYPT_FAILED'
  // a policy or admin token row whose MAC does not verify (src/kbs/crypto/row-mac.ts)
  | 'KBS_ROW_TAMPERED'
  // audit
  | 'AUDIT_CHAIN_BROKEN'
  // admin authentication and authorisation
  | 'TOKEN_MISSING'
  | 'TOKEN_INVALID'
  | 'TOKEN_REVOKED'
  | 'TOKEN_EXPIRED'
  | 'TOKEN_NOT_FOUND'
  | 'ROLE_FORBIDDEN'
  | 'TOKEN_FILE_UNUSABLE'
  // `kbs serve --bootstrap-token-file`: the file does not hold a token in the broker's format
  | 'BOOTSTRAP_TOKEN_INVALID'
  | 'POLICY_INVALID'
  | 'POLICY_NOT_FOUND'
  // CLI talking to a broker
  | 'KBS_UNREACHABLE'
  | 'KBS_REQUEST_FAILED';

export class KbsStoreError extends KubeteeError<KbsStoreErrorCode> {
  constructor(code: KbsStoreErrorCode, message: string, options: { cause?: unknown; hint?: string; exitCode?: number } = {}) {
    super(code, message, options);
  }
}

export function isKbsStoreError(err: unknown, code?: KbsStoreErrorCode): err is KbsStoreError {
  return err instanceof KbsStoreError && (code === undefined || err.code === code);
}
