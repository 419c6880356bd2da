/** Protocol version Trustee's server requires (`=0.4.0`, trustee v0.14.0 and later). */
export const KBS_PROTOCOL_VERSION = '0.4.0';
/** Session cookie name set by /auth (Trustee). */
export const SESSION_COOKIE = 'kbs-session-id';
/** TEEs whose evidence this broker verifies (Intel DCAP). */
export const SUPPORTED_TEES = ['sgx', 'tdx'] as const;
