import { createHash } from 'node:crypto';
import { z } from 'zod';
import { isAttestationError, type QuoteVerifier, type VerificationResult } from '../../attestation/index.js';
import { claimsFromVerifiedQuote, type AttestationClaims } from '../policy/claims.js';
import type { CollateralProvider } from './collateral-source.js';
import { KbsProtocolError } from './errors.js';
import { expectedReportData, runtimeDataObject } from './report-data.js';
import { parseTeePubKey, type TeePubKey } from './tee-key.js';

/** Largest quote accepted (real DCAP quotes are 4-8 KiB). */
export const MAX_QUOTE_BYTES = 64 * 1024;

/** `POST /kbs/v0/attest` body (kbs-types `Attestation`). Unknown members are ignored, as serde does. */
export const AttestationRequestSchema = z.object({
  'init-data': z.object({ format: z.string(), body: z.string() }).nullish(),
  'runtime-data': z.object({ nonce: z.string().min(1).max(256), 'tee-pubkey': z.unknown() }),
  'tee-evidence': z.object({
    primary_evidence: z.object({ quote: z.string().min(1), cc_eventlog: z.string().nullish() }),
    additional_evidence: z.string().max(64 * 1024).default(''),
  }),
});
export type AttestationRequest = z.infer<typeof AttestationRequestSchema>;

export interface EvidenceVerifierDeps {
  verifier: Pick<QuoteVerifier, 'verify'>;
  collateral: CollateralProvider;
}

export interface VerifiedEvidence {
  claims: AttestationClaims;
  teePubKey: TeePubKey;
  runtimeData: Record<string, unknown>;
}

/**
 * Verifies `/attest` evidence for a session whose nonce was already claimed:
 * the quote against Intel collateral at `at`, then the REPORTDATA binding of
 * runtime-data (docs/key-broker.md, "REPORTDATA binding"), then init-data
 * against CONFIGID when present. Throws KbsProtocolError; `reason` on the
 * error carries the verifier's code.
 */
export async function verifyEvidence(request: AttestationRequest, sessionTee: string, nonce: string, at: Date, deps: EvidenceVerifierDeps): Promise<VerifiedEvidence & { verifyMs: number }> {
  const teePubKey = parseTeePubKey(request['runtime-data']['tee-pubkey']);
  const quote = decodeQuote(request['tee-evidence'].primary_evidence.quote);
  const started = performance.now();
  const result = await verifyQuote(quote, at, deps);
  const verifyMs = performance.now() - started;
  if (result.tee !== sessionTee) {
    throw new KbsProtocolError('KBS_EVIDENCE_INVALID', `the session was opened for tee "${sessionTee}" but the quote is from ${result.tee.toUpperCase()}`, {
      hint: 'send the same tee in /auth as the evidence you attest with',
    });
  }
  const additional = request['tee-evidence'].additional_evidence;
  const expected = Buffer.from(expectedReportData(nonce, teePubKey, additional)).toString('hex');
  const actual = (result.enclave?.reportData ?? result.td?.reportData ?? '').toLowerCase();
  if (actual !== expected) {
    throw new KbsProtocolError('KBS_REPORTDATA_MISMATCH', 'the quote\'s REPORTDATA is not SHA-384 of the canonical runtime-data (nonce, tee-pubkey, additional-evidence) padded to 64 bytes', {
      hint: 'compute REPORTDATA as documented in docs/key-broker.md ("REPORTDATA binding") with this session\'s nonce, and quote again',
    });
  }
  const initData = request['init-data'];
  if (initData) checkInitData(initData, result);
  return { claims: claimsFromVerifiedQuote(result), teePubKey, runtimeData: runtimeDataObject(nonce, teePubKey, additional), verifyMs };
}

function decodeQuote(text: string): Uint8Array {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(text) || text.length % 4 !== 0) {
    throw new KbsProtocolError('KBS_EVIDENCE_INVALID', 'tee-evidence.primary_evidence.quote is not standard base64', { hint: 'send the raw DCAP quote as standard base64 with padding' });
  }
  const bytes = Buffer.from(text, 'base64');
  if (bytes.length > MAX_QUOTE_BYTES) throw new KbsProtocolError('KBS_EVIDENCE_INVALID', `the quote is ${bytes.length} bytes; at most ${MAX_QUOTE_BYTES} are accepted`);
  return new Uint8Array(bytes);
}

async function verifyQuote(quote: Uint8Array, at: Date, deps: EvidenceVerifierDeps): Promise<VerificationResult> {
  try {
    return await verifyWithCandidates(quote, at, deps, false);
  } catch (err) {
    // Cached PCCS collateral may have gone stale: fetch anew once before refusing.
    const code = err instanceof KbsProtocolError ? err.reason : undefined;
    if (code && STALENESS_CODES.has(code)) return verifyWithCandidates(quote, at, deps, true);
    throw err;
  }
}

const STALENESS_CODES = new Set(['TCB_INFO_EXPIRED', 'QE_IDENTITY_EXPIRED', 'CRL_EXPIRED', 'TCB_INFO_NOT_YET_VALID', 'QE_IDENTITY_NOT_YET_VALID', 'CRL_NOT_YET_VALID']);

async function verifyWithCandidates(quote: Uint8Array, at: Date, deps: EvidenceVerifierDeps, refresh: boolean): Promise<VerificationResult> {
  let candidates;
  try {
    candidates = await deps.collateral.candidatesFor(quote, { refresh });
  } catch (err) {
    throw asProtocolError(err);
  }
  if (candidates.length === 0) {
    throw new KbsProtocolError('KBS_COLLATERAL_UNAVAILABLE', 'the broker has no collateral for this quote', { hint: 'start the broker with --pccs URL or --collateral FILE|DIR' });
  }
  // With several uploaded bundles, the first that verifies wins; otherwise report the most specific failure.
  const skippable = new Set(['FMSPC_MISMATCH', 'PCEID_MISMATCH', 'CRL_ISSUER_MISMATCH', 'TCB_INFO_MISMATCH']);
  let best: unknown;
  for (const c of candidates) {
    try {
      return deps.verifier.verify(quote, c, { at });
    } catch (err) {
      if (best === undefined || (isAttestationError(best) && skippable.has(best.code) && !(isAttestationError(err) && skippable.has(err.code)))) best = err;
    }
  }
  throw asProtocolError(best);
}

function asProtocolError(err: unknown): KbsProtocolError {
  if (err instanceof KbsProtocolError) return err;
  if (isAttestationError(err)) {
    const e = new KbsProtocolError('KBS_ATTESTATION_FAILED', `quote verification failed [${err.code}]: ${err.message}`, {
      cause: err,
      hint: err.hint ?? 'the evidence did not verify against Intel collateral; see the code for which check failed',
    });
    e.reason = err.code;
    return e;
  }
  throw err;
}

function checkInitData(initData: { format: string; body: string }, result: VerificationResult): void {
  // Trustee's built-in attestation service accepts only TOML init-data; its hash must equal CONFIGID (SGX) / MRCONFIGID (TDX).
  if (initData.format !== 'toml') {
    throw new KbsProtocolError('KBS_EVIDENCE_INVALID', `init-data format "${initData.format}" is not supported`, { hint: 'send init-data as {"format":"toml","body":...} or omit it' });
  }
  const digest = createHash('sha384').update(initData.body, 'utf8').digest('hex');
  const bound = result.enclave ? result.enclave.configId : (result.td?.mrconfigid ?? '');
  if (!bound.toLowerCase().startsWith(digest) || /[^0]/.test(bound.slice(digest.length))) {
    throw new KbsProtocolError('KBS_REPORTDATA_MISMATCH', 'init-data does not match the quote\'s CONFIGID/MRCONFIGID', { hint: 'launch the TEE with the init-data you send (its SHA-384 in CONFIGID)' });
  }
}
