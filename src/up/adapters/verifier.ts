import { AttestationError, QuoteVerifier, type QuoteCollateralV3Json, type VerificationResult } from '../../attestation/index.js';
import type { CheckState, VerifyCheckView, VerifyResultView } from '../../dashboard/model.js';
import type { VerifierPart } from '../parts.js';

export const INTEL_ANCHOR = 'Intel SGX Root CA (production)';
export const SIM_ANCHOR = 'simulated platform root (this development stack only)';

/** The verifier's checks in the order it runs them (src/attestation/verifier.ts). */
export const CHECK_ORDER = [
  'parse',
  'collateral-signatures',
  'pck-chain',
  'certificate-validity',
  'crl-validity',
  'collateral-validity',
  'revocation',
  'tcb-info-match',
  'qe-identity',
  'qe-report-signature',
  'attestation-key-binding',
  'quote-signature',
  'platform-tcb',
  'tcb-status',
] as const;

/**
 * Which check an error code stops. A code that several checks can raise maps
 * to the earliest of them, so the page never claims a check passed that did
 * not run (later ones show as "not reached").
 */
const FAILED_AT: Record<string, (typeof CHECK_ORDER)[number]> = {
  QUOTE_TRUNCATED: 'parse', UNSUPPORTED_VERSION: 'parse', UNSUPPORTED_KEY_TYPE: 'parse', UNSUPPORTED_TEE_TYPE: 'parse',
  UNSUPPORTED_BODY_TYPE: 'parse', UNKNOWN_QE_VENDOR: 'parse', BAD_CERT_DATA: 'parse', UNSUPPORTED_CERT_DATA_TYPE: 'parse',
  TRAILING_BYTES: 'parse', SERVICE_TD_NOT_ALLOWED: 'parse',
  BAD_COLLATERAL: 'collateral-signatures', BAD_TCB_INFO: 'collateral-signatures', BAD_QE_IDENTITY: 'collateral-signatures',
  TCB_INFO_SIGNATURE_INVALID: 'collateral-signatures', QE_IDENTITY_SIGNATURE_INVALID: 'collateral-signatures',
  CRL_SIGNATURE_INVALID: 'collateral-signatures', CRL_ISSUER_MISMATCH: 'collateral-signatures', BAD_CRL: 'collateral-signatures',
  UNSUPPORTED_ALGORITHM: 'collateral-signatures', UNTRUSTED_ROOT: 'collateral-signatures', CERT_CHAIN_INVALID: 'collateral-signatures',
  BAD_CERTIFICATE: 'collateral-signatures',
  BAD_PCK_EXTENSION: 'pck-chain',
  CERT_EXPIRED: 'certificate-validity', CERT_NOT_YET_VALID: 'certificate-validity',
  CRL_EXPIRED: 'crl-validity', CRL_NOT_YET_VALID: 'crl-validity',
  TCB_INFO_EXPIRED: 'collateral-validity', TCB_INFO_NOT_YET_VALID: 'collateral-validity',
  QE_IDENTITY_EXPIRED: 'collateral-validity', QE_IDENTITY_NOT_YET_VALID: 'collateral-validity',
  CERT_REVOKED: 'revocation',
  FMSPC_MISMATCH: 'tcb-info-match', PCEID_MISMATCH: 'tcb-info-match', TCB_INFO_MISMATCH: 'tcb-info-match',
  QE_IDENTITY_MISMATCH: 'qe-identity', QE_TCB_LEVEL_NOT_FOUND: 'qe-identity',
  QE_REPORT_SIGNATURE_INVALID: 'qe-report-signature',
  QE_REPORT_DATA_MISMATCH: 'attestation-key-binding',
  QUOTE_SIGNATURE_INVALID: 'quote-signature',
  TCB_LEVEL_NOT_FOUND: 'platform-tcb', TDX_MODULE_MISMATCH: 'platform-tcb',
  TCB_REVOKED: 'tcb-status', UNKNOWN_TCB_STATUS: 'tcb-status',
};

/** The check list for a failed verification: passed up to the failing check, then not reached. */
export function checksForFailure(code: string, message: string): VerifyCheckView[] {
  const failedAt = FAILED_AT[code];
  if (!failedAt) return [{ name: 'verification', state: 'failed', detail: `${code}: ${message}` }];
  const index = CHECK_ORDER.indexOf(failedAt);
  return CHECK_ORDER.map((name, i): VerifyCheckView => {
    const state: CheckState = i < index ? 'passed' : i === index ? 'failed' : 'not-reached';
    return state === 'failed' ? { name, state, detail: `${code}: ${message}` } : { name, state };
  });
}

export function resultView(r: VerificationResult, at: Date, trustAnchor: string): VerifyResultView {
  const view: VerifyResultView = {
    ok: true,
    trustAnchor,
    at: at.toISOString(),
    tee: r.tee,
    status: r.status,
    advisoryIds: r.advisoryIds,
    fmspc: r.fmspc,
    collateralExpiresAt: r.collateralExpiresAt.toISOString(),
    checks: r.checks.map((c) => ({ name: c.name, state: c.ok ? 'passed' : 'failed', detail: c.detail })),
  };
  if (r.enclave) Object.assign(view, { mrEnclave: r.enclave.mrenclave, mrSigner: r.enclave.mrsigner, debug: r.enclave.debug });
  if (r.td) Object.assign(view, { mrEnclave: `MRTD ${r.td.mrtd}`, debug: r.td.debug });
  return view;
}

/**
 * The verify page's verifier: the production Intel root, and the simulated
 * platform's root as a separate, clearly named anchor (never both at once, so
 * a simulated quote can never pass as a production one).
 */
export function verifierPart(simRootCaDer: () => Uint8Array | undefined): VerifierPart {
  const intel = new QuoteVerifier();
  let sim: { root: Uint8Array; verifier: QuoteVerifier } | undefined;
  const simVerifier = (): QuoteVerifier | undefined => {
    const root = simRootCaDer();
    if (!root) return undefined;
    if (!sim || sim.root !== root) sim = { root, verifier: new QuoteVerifier({ trustedRootCaDer: [root] }) };
    return sim.verifier;
  };
  // The collateral is untrusted upload data; the verifier validates its shape and fails with BAD_COLLATERAL.
  return {
    trustAnchors: simRootCaDer() ? [INTEL_ANCHOR, SIM_ANCHOR] : [INTEL_ANCHOR],
    async verify({ quote, collateral, at, trustAnchor }) {
      const verifier = trustAnchor === SIM_ANCHOR ? simVerifier() : intel;
      if (!verifier) throw new Error(`trust anchor "${trustAnchor}" is not available`);
      try {
        return resultView(verifier.verify(quote, collateral as QuoteCollateralV3Json, { at }), at, trustAnchor);
      } catch (err) {
        if (!(err instanceof AttestationError)) throw err;
        return { ok: false, trustAnchor, at: at.toISOString(), advisoryIds: [], checks: checksForFailure(err.code, err.message), errorCode: err.code, errorMessage: err.message };
      }
    },
  };
}
