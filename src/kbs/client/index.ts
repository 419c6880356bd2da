/** kubetee key-broker client: Trustee KBS protocol with sim and Gramine evidence. */
export { KbsClient, type KbsClientOptions, type AttestResult } from './kbs-client.js';
export { simEvidence, gramineEvidence, type EvidenceProvider, type QuotingPlatform, type SimIdentity } from './evidence.js';
export { KbsClientError, type KbsClientErrorCode } from './errors.js';
