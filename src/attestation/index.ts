/**
 * kubetee/attestation: offline verification of Intel DCAP quotes (SGX and TDX).
 * See docs/attestation.md for the algorithm, error codes and cache design.
 */
export { QuoteVerifier } from './verifier.js';
export { parseQuote, decodePemChain, INTEL_QE_VENDOR_ID, TEE_TYPE_SGX, TEE_TYPE_TDX, type ParsedQuote, type QuoteHeader, type QeCertification } from './quote.js';
export { parseReportBody, parseTdReportBody, SGX_REPORT_BODY_SIZE, type SgxReportBody, type TdReportBody } from './report-body.js';
export { parseCollateral, collateralToJson, type Collateral, type QuoteCollateralV3Json } from './collateral.js';
export { AttestationError, isAttestationError, ATTESTATION_ERROR_CODES, type AttestationErrorCode } from './errors.js';
export { parsePckExtension, type PckExtension } from './pck-extension.js';
export { parseTcbInfo, parseQeIdentity, type TcbInfo, type TcbLevel, type QeIdentity } from './tcb-info.js';
export { INTEL_SGX_ROOT_CA_SHA256, INTEL_SGX_ROOT_CA_DER } from './intel-root.js';
export { fetchCollateral, collateralTarget, collateralPaths, type CollateralTarget, type FetchCollateralOptions } from './pccs-client.js';
export {
  TCB_STATUSES,
  type TcbStatus,
  type VerificationResult,
  type VerificationCheck,
  type EnclaveIdentity,
  type TdIdentity,
  type QuoteVerifierOptions,
  type VerifyOptions,
} from './types.js';
