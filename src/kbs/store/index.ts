/**
 * Public entry point of the key broker's data half (`kubetee/kbs/store`):
 * storage, envelope encryption, the secret lifecycle, the audit chain, admin
 * tokens, the admin HTTP plugin and its client. See docs/key-broker-store.md.
 *
 * @example
 * ```ts
 * import { openKbsData, adminRoutes } from 'kubetee/kbs/store';
 * const data = await openKbsData({ db: 'sqlite:/var/lib/kubetee/kbs.db', masterKeyFile: '/etc/kubetee/master.key', adminTokenFile: '/var/lib/kubetee/admin.token' });
 * await app.register(adminRoutes, { service: data.service, tokens: data.tokens });
 * const secret = await data.service.getReleasableSecret('default/key/model', new Date());
 * ```
 */
export type {
  KbsStore,
  KbsTx,
  TxMode,
  ResourcePath,
  SecretKind,
  SecretRecord,
  VersionRecord,
  VersionMeta,
  VersionState,
  SealedValue,
  AuditEntry,
  AuditRecord,
  AuditOutcome,
  TokenRecord,
  TokenRole,
  PolicyRecord,
  SessionRecord,
  SessionState,
  KbsSessionStore,
  TokenSigningKeyRecord,
} from './types.js';
export { DEFAULT_POLICY_PATH, TOKEN_ROLES } from './types.js';
export { KbsStoreError, isKbsStoreError, type KbsStoreErrorCode } from './errors.js';
export { openKbsStore, parseStoreUrl, type StoreLocation } from './open-store.js';
export { MIGRATIONS } from './migrations.js';
export { createKeyring, parseKeyringText, masterKeyId, type Keyring, type MasterKey } from '../crypto/keyring.js';
export { loadKeyring, MASTER_KEY_ENV, type LoadKeyringOptions } from '../crypto/load-keyring.js';
export { SecretService, MAX_VALUE_BYTES, type SecretInfo, type VersionInfo, type ReleasableSecret, type CreateSecretInput, type SecretServiceOptions } from '../secrets/service.js';
export { parseResourcePath } from '../secrets/resource-path.js';
export { openKbsData, type KbsData, type OpenKbsDataOptions } from '../secrets/open-kbs-data.js';
export { appendAudit, verifyAuditChain } from '../audit/append.js';
export { AuditChainVerifier, verifyAuditRecords, auditRecordHash, canonicalJson, parseAuditAnchor, GENESIS_HASH, type AuditVerification, type AuditProblem, type AuditAnchor } from '../audit/chain.js';
export { TokenService, hashToken, type AdminPrincipal, type TokenInfo } from '../auth/tokens.js';
export { bootstrapAdminToken, bootstrapAdminTokenFromFile, type BootstrapResult } from '../auth/bootstrap.js';
export { adminRoutes, ADMIN_PREFIX, type AdminRoutesOptions } from '../admin/routes.js';
export { AdminClient, type AdminClientOptions } from '../admin/client.js';
export { ADMIN_HTTP_STATUS, adminHttpStatus } from '../admin/http-status.js';
