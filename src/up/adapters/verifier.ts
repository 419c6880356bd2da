import { AttestationError, QuoteVerifier, type QuoteCollateralV3Json, type VerificationResult } from '../../attestation/index.js';
import type { VerifyCheckView, VerifyResultView } from '../../dashboard/model.js';
import type { VerifierPart } from '../parts.js';

export const INTEL_ANCHOR = 'Intel SGX Root CA (production)';
export const SIM_ANCHOR = 'simulated platform root (this development stack only)';

/** The verifier's checks in the order it runs them (src/attestation/verifier.ts). */
export const CHECK_ORDER = [
  'parse',
  'collateral-signatures',
  'pck-chain',
  'one-root',
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
 * The check list for a failed verification: the checks the verifier reports
 * as passed, the one that failed, then the rest as not reached.
 */
export function checksForFailure(err: AttestationError): VerifyCheckView[] {
  const passed: VerifyCheckView[] = err.passedChecks.map((c) => ({ name: c.name, state: 'passed', detail: c.detail }));
  const done = new Set(err.passedChecks.map((c) => c.name));
  // The service TD check exists only for TD 1.5 quotes, and runs just before the final status.
  const order: string[] = err.code === 'SERVICE_TD_NOT_ALLOWED' ? [...CHECK_ORDER.slice(0, -1), 'service-td', 'tcb-status'] : [...CHECK_ORDER];
  const remaining = order.filter((name) => !done.has(name));
  const failedAt = remaining[0] ?? 'verification';
  return [
    ...passed,
    { name: failedAt, state: 'failed', detail: `${err.code}: ${err.message}` },
    ...remaining.slice(1).map((name): VerifyCheckView => ({ name, state: 'not-reached' })),
  ];
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
        return { ok: false, trustAnchor, at: at.toISOString(), advisoryIds: [], checks: checksForFailure(err), errorCode: err.code, errorMessage: err.message };
      }
    },
  };
}
