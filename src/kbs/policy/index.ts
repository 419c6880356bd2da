/** kubetee key-release policies: CEL documents over verified attestation claims. */
export { compilePolicy, builtinDefaultPolicy, CompiledPolicy, DEFAULT_ACCEPTED_STATUSES, POLICY_VARIABLES, type PolicyDecision, type PolicyContext } from './engine.js';
export { parsePolicyDocument, TCB_STATUSES, type PolicyDocument, type PolicyRule } from './document.js';
export { claimsFromVerifiedQuote, parseClaims, type AttestationClaims, type VerifiedQuoteLike } from './claims.js';
export { PolicyError, type PolicyErrorCode } from './errors.js';
