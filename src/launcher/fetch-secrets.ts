import { KbsClient } from '../kbs/client/kbs-client.js';
import { KbsClientError } from '../kbs/client/errors.js';
import type { EvidenceProvider } from '../kbs/client/evidence.js';
import { LaunchError } from './errors.js';
import { DeadlineExceeded, retryUntilDeadline, type RetryOptions } from './retry.js';
import type { LaunchSpec } from './spec.js';
import { newCertificateKey, requestIdentity, type IssuedIdentity } from './identity.js';

export interface FetchOptions {
  spec: LaunchSpec;
  evidence: EvidenceProvider;
  /** PEM CA bundle for an https broker (from broker.ca or broker.caFile). */
  ca?: string | undefined;
  /** Progress lines (names and codes only, never values). */
  log: (line: string) => void;
  /** Overrides for tests (clock, sleep). */
  retry?: Partial<Pick<RetryOptions, 'now' | 'sleep' | 'random'>>;
}

export interface FetchedSecrets {
  /** One value per `spec.secrets` entry, in order. The caller zeroes them when done. */
  values: Uint8Array[];
  mrenclave: string | undefined;
  /** With spec.identity: the workload certificate, its key and the trust bundle. */
  identity?: IssuedIdentity;
}

// A single request never waits longer than this, even with a long deadline, so a hung connection is retried.
const MAX_REQUEST_MS = 30_000;

/**
 * Attests once and fetches every secret the spec lists, retrying the whole
 * round (fresh TEE key, fresh session) while the broker is unreachable or
 * busy, until `deadlineSeconds`. A refusal is final at once: a wrong
 * measurement does not get better by asking again. Values are only returned
 * when all of them arrived, so a later failure can never leave some placed.
 */
export async function fetchSecrets(options: FetchOptions): Promise<FetchedSecrets> {
  const { spec, log } = options;
  const now = options.retry?.now ?? Date.now;
  try {
    return await retryUntilDeadline(
      async (remainingMs) => {
        const client = new KbsClient({
          url: spec.broker.url,
          evidence: options.evidence,
          timeoutMs: Math.max(1, Math.min(MAX_REQUEST_MS, remainingMs)),
          ...(options.ca !== undefined ? { ca: options.ca } : {}),
        });
        const values: Uint8Array[] = [];
        // The certificate key is made here, inside the enclave, and bound into this attestation's REPORTDATA.
        const certKey = spec.identity ? newCertificateKey() : undefined;
        let identity: IssuedIdentity | undefined;
        try {
          const { token } = await client.attest(certKey ? { additionalEvidence: certKey.additionalEvidence } : {});
          log(`attested to ${new URL(spec.broker.url).origin}${client.claims ? ` as mrenclave ${client.claims.mrenclave}` : ''}`);
          if (certKey) {
            identity = await requestIdentity(spec.broker.url, token, certKey, { ca: options.ca, timeoutMs: Math.max(1, Math.min(MAX_REQUEST_MS, remainingMs)) });
            log(`workload certificate for ${identity.spiffeId} (until ${identity.notAfter})`);
          }
          for (const s of spec.secrets) values.push(await client.getResource(s.resource, s.version === undefined ? {} : { version: s.version }));
          return { values, mrenclave: client.claims?.mrenclave, ...(identity ? { identity } : {}) };
        } catch (err) {
          for (const v of values) v.fill(0);
          identity?.keyPem.fill(0);
          throw err;
        }
      },
      isRetryable,
      {
        deadlineMs: now() + spec.deadlineSeconds * 1000,
        initialDelayMs: spec.retry.initialDelayMs,
        maxDelayMs: spec.retry.maxDelayMs,
        ...options.retry,
        onRetry: ({ attempt, delayMs, err }) => log(`broker not available (attempt ${attempt}: ${summary(err)}); retrying in ${delayMs} ms`),
      },
    );
  } catch (err) {
    throw toLaunchError(err, spec);
  }
}

/** Unreachable, rate limited, busy or a transient server failure: worth another try before the deadline. */
function isRetryable(err: unknown): boolean {
  if (!(err instanceof KbsClientError)) return false;
  if (err.code === 'KBS_CLIENT_UNREACHABLE') return true;
  if (err.code !== 'KBS_CLIENT_REFUSED' || err.status === undefined) return false;
  // A tampered policy row is an integrity alarm at the broker, not an outage.
  if (err.serverCode === 'KBS_ROW_TAMPERED') return false;
  return err.status === 429 || err.status >= 500;
}

function summary(err: unknown): string {
  if (err instanceof KbsClientError) return `${err.code}${err.serverCode ? `/${err.serverCode}` : ''}${err.status ? ` ${err.status}` : ''}`;
  return (err as Error).message;
}

function toLaunchError(err: unknown, spec: LaunchSpec): unknown {
  if (err instanceof DeadlineExceeded) {
    const last = err.lastError instanceof Error ? `; last error: ${err.lastError.message}` : '';
    return new LaunchError('LAUNCH_DEADLINE_EXCEEDED', `the key broker at ${spec.broker.url} did not release the secrets within ${spec.deadlineSeconds} s (${err.message}${last})`, {
      cause: err.lastError,
      hint: 'check that the broker is running and reachable from the pod, or raise deadlineSeconds',
    });
  }
  if (!(err instanceof KbsClientError)) return err;
  switch (err.code) {
    case 'KBS_CLIENT_EVIDENCE_UNAVAILABLE':
      return new LaunchError('LAUNCH_EVIDENCE_UNAVAILABLE', err.message, { cause: err, ...(err.hint ? { hint: err.hint } : {}) });
    case 'KBS_CLIENT_REFUSED':
      return new LaunchError('LAUNCH_BROKER_REFUSED', err.message, {
        cause: err,
        hint: err.serverCode === 'KBS_POLICY_DENIED' ? 'the release policy does not accept this enclave (measurement, signer, SVN, debug or TCB status); `kubetee kbs policy test` shows which rule' : (err.hint ?? 'see the broker log'),
      });
    case 'KBS_CLIENT_BAD_RESPONSE':
      return new LaunchError('LAUNCH_BROKER_BAD_RESPONSE', err.message, { cause: err, hint: 'check broker.url points at a kubetee or Trustee key broker (and that nothing in between rewrites replies)' });
    default:
      return new LaunchError('LAUNCH_DEADLINE_EXCEEDED', err.message, { cause: err });
  }
}
