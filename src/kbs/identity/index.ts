/** Attested workload certificates (X.509-SVIDs) issued by the key broker. */
export { loadOrCreateWorkloadCa, type WorkloadCa } from './ca.js';
export { identityRoutes, IDENTITY_PREFIX, SVID_PUBKEY_MEMBER, type IdentityRoutesOptions } from './routes.js';
export { issueSvid, spiffeBundle, TEE_CLAIMS_OID } from './svid.js';
export { spiffeIdFor, checkTrustDomain } from './spiffe-id.js';
export { IdentityError, IDENTITY_ERROR_STATUS, type IdentityErrorCode } from './errors.js';
