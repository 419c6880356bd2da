import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { AttestationError, collateralTarget, fetchCollateral, parseCollateral, type QuoteCollateralV3Json } from '../../attestation/index.js';
import { KbsProtocolError } from './errors.js';
import { UsageError } from '../../common/errors.js';

/** Collateral the verifier may use for one quote (tried in order until one verifies). */
export type CollateralCandidates = QuoteCollateralV3Json[];

/**
 * Where the broker gets Intel collateral: uploaded files (offline operation),
 * a PCCS/PCS, or both. Kept behind one small interface so the attest handler
 * does not care.
 */
export interface CollateralProvider {
  /** `refresh` asks a caching provider to fetch anew (after the cached collateral failed to verify). */
  candidatesFor(quote: Uint8Array, options?: { refresh?: boolean }): Promise<CollateralCandidates>;
}

/** Fixed collateral (files given with --collateral, or a simulated platform's). */
export function staticCollateral(list: QuoteCollateralV3Json[] | (() => QuoteCollateralV3Json[])): CollateralProvider {
  return { candidatesFor: async () => (typeof list === 'function' ? list() : list) };
}

/** Reads one collateral JSON file or every *.json file in a directory; validates each at load. */
export function loadCollateralPath(path: string): QuoteCollateralV3Json[] {
  let files: string[];
  try {
    files = statSync(path).isDirectory()
      ? readdirSync(path)
          .filter((f) => f.endsWith('.json'))
          .sort()
          .map((f) => join(path, f))
      : [path];
  } catch (err) {
    throw new UsageError('FILE_UNREADABLE', `cannot read collateral from ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, {
      cause: err,
      hint: 'pass --collateral with a QuoteCollateralV3 JSON file or a directory of them',
    });
  }
  if (files.length === 0) throw new UsageError('CONFIG_INVALID', `${path} holds no *.json collateral files`, { hint: 'put QuoteCollateralV3 JSON files there' });
  return files.map((file) => {
    try {
      const json = JSON.parse(readFileSync(file, 'utf8')) as QuoteCollateralV3Json;
      parseCollateral(json); // throws a coded AttestationError when malformed
      return json;
    } catch (err) {
      throw new UsageError('CONFIG_INVALID', `${file} is not QuoteCollateralV3 JSON: ${(err as Error).message}`, {
        cause: err,
        hint: 'collateral files use the dcap-qvl QuoteCollateralV3 format (see docs/key-broker.md)',
      });
    }
  });
}

export interface PccsOptions {
  /**
   * Base URL of an Intel PCS v4 or a PCCS, with or without the
   * `/sgx/certification/v4` suffix (e.g. https://api.trustedservices.intel.com,
   * https://pccs.example:8081/sgx/certification/v4/).
   */
  url: string;
  fetch?: typeof fetch;
  now: () => number;
  /** How long fetched collateral is reused; it is re-checked for freshness by the verifier anyway. */
  cacheMs?: number;
  timeoutMs?: number;
}

/**
 * Collateral fetched from a PCS/PCCS with the attestation component's client
 * (SGX and TDX paths, the Root CA CRL from the root's distribution point where
 * Intel's PCS does not serve it), cached in memory per TEE, FMSPC and CA.
 */
export function pccsCollateral(options: PccsOptions): CollateralProvider {
  const cacheMs = options.cacheMs ?? 10 * 60_000;
  const cache = new Map<string, { at: number; value: QuoteCollateralV3Json }>();
  return {
    async candidatesFor(quote, candidateOptions = {}) {
      try {
        const { tee, fmspc, ca } = collateralTarget(quote);
        const key = `${tee}/${fmspc}/${ca}`;
        const hit = cache.get(key);
        if (hit && !candidateOptions.refresh && options.now() - hit.at < cacheMs) return [hit.value];
        const value = await fetchCollateral(quote, {
          pccsUrl: options.url,
          now: new Date(options.now()),
          ...(options.fetch ? { fetch: options.fetch } : {}),
          ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
        });
        if (cache.size > 64) cache.clear();
        cache.set(key, { at: options.now(), value });
        return [value];
      } catch (err) {
        if (err instanceof AttestationError && (err.code === 'COLLATERAL_UNREACHABLE' || err.code === 'COLLATERAL_BAD_RESPONSE')) {
          throw new KbsProtocolError('KBS_COLLATERAL_UNAVAILABLE', `no collateral from the PCCS: ${err.message}`, {
            cause: err,
            hint: 'check --pccs (a PCS v4 or PCCS base URL) and that it has collateral for this platform (FMSPC), or run offline with --collateral FILE|DIR',
          });
        }
        throw err;
      }
    },
  };
}

/** Several providers: candidates of each in order; a provider that fails is skipped if another answers. */
export function combinedCollateral(providers: CollateralProvider[]): CollateralProvider {
  return {
    async candidatesFor(quote, candidateOptions) {
      const out: CollateralCandidates = [];
      let firstError: unknown;
      for (const p of providers) {
        try {
          out.push(...(await p.candidatesFor(quote, candidateOptions)));
        } catch (err) {
          firstError ??= err;
        }
      }
      if (out.length === 0 && firstError) throw firstError;
      return out;
    },
  };
}
