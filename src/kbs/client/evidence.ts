import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { KbsClientError } from './errors.js';

/** Produces TEE evidence whose REPORTDATA is the given 64 bytes. */
export interface EvidenceProvider {
  readonly tee: 'sgx' | 'tdx';
  /** Returns the raw DCAP quote. */
  quote(reportData: Uint8Array): Promise<Uint8Array>;
}

/** Anything that quotes like the simulated platform (src/sim `SimulatedPlatform.quote`). */
export interface QuotingPlatform {
  quote(options: { mrenclave?: string; mrsigner?: string; isvProdId?: number; isvSvn?: number; debug?: boolean; reportData?: Uint8Array; version?: 3 | 4 }): Uint8Array;
}

export interface SimIdentity {
  mrenclave?: string;
  mrsigner?: string;
  isvProdId?: number;
  isvSvn?: number;
  debug?: boolean;
  version?: 3 | 4;
}

/** Evidence from the simulated SGX platform with the enclave identity given (development and tests). */
export function simEvidence(platform: QuotingPlatform, identity: SimIdentity = {}): EvidenceProvider {
  return {
    tee: 'sgx',
    async quote(reportData) {
      try {
        return platform.quote({ ...identity, reportData });
      } catch (err) {
        throw new KbsClientError('KBS_CLIENT_EVIDENCE_UNAVAILABLE', `the simulated platform cannot quote: ${(err as Error).message}`, {
          cause: err,
          hint: 'check --mrenclave/--mrsigner (64 hex digits) and --isv-prod-id/--isv-svn (0-65535)',
        });
      }
    },
  };
}

/**
 * Evidence from Gramine's /dev/attestation pseudo-files (docs/key-broker.md):
 * write the 64 bytes to `user_report_data`, then read `quote`. `root` is
 * `/dev/attestation` inside an enclave, or any directory tree in tests.
 */
export function gramineEvidence(root = '/dev/attestation'): EvidenceProvider {
  return {
    tee: 'sgx',
    async quote(reportData) {
      const type = await readFile(join(root, 'attestation_type'), 'utf8').then(
        (t) => t.trim(),
        (err: NodeJS.ErrnoException) => {
          throw new KbsClientError('KBS_CLIENT_EVIDENCE_UNAVAILABLE', `cannot read ${join(root, 'attestation_type')} (${err.code ?? err.message})`, {
            cause: err,
            hint: 'run inside a Gramine enclave with sgx.remote_attestation = "dcap", or pass --gramine-root',
          });
        },
      );
      if (type !== 'dcap') {
        throw new KbsClientError('KBS_CLIENT_EVIDENCE_UNAVAILABLE', `Gramine attestation type is "${type}", not "dcap"`, {
          hint: 'set sgx.remote_attestation = "dcap" in the Gramine manifest',
        });
      }
      if (reportData.length !== 64) throw new KbsClientError('KBS_CLIENT_EVIDENCE_UNAVAILABLE', 'report data must be 64 bytes');
      try {
        // Write before reading `quote`: Gramine quotes the last report data written.
        await writeFile(join(root, 'user_report_data'), reportData);
        const quote = await readFile(join(root, 'quote'));
        if (quote.length === 0) throw new Error('empty quote');
        return new Uint8Array(quote);
      } catch (err) {
        if (err instanceof KbsClientError) throw err;
        throw new KbsClientError('KBS_CLIENT_EVIDENCE_UNAVAILABLE', `Gramine did not produce a quote under ${root}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, {
          cause: err,
          hint: 'check that AESM and the DCAP quote provider are reachable from the enclave',
        });
      }
    },
  };
}
