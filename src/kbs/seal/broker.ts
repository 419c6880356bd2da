import { randomBytes as nodeRandomBytes } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { KEY_BYTES } from './format.js';
import { sealFile, unsealFile, type ProgressReporter } from './file.js';
import { SealError } from './errors.js';

/** The part of the admin API sealing needs (src/kbs/admin AdminClient satisfies it). */
export interface SealKeyStore {
  put(path: string, value: Uint8Array, options?: { description?: string }): Promise<{ currentVersion: number }>;
  setPolicy?(path: string, document: string): Promise<unknown>;
}

/** The part of the protocol client unsealing needs (src/kbs/client KbsClient satisfies it). */
export interface SealKeyReleaser {
  getResource(path: string, options?: { version?: number }): Promise<Uint8Array>;
}

export interface SealWithBrokerOptions {
  inPath: string;
  outPath: string;
  resourcePath: string;
  store: SealKeyStore;
  /** Policy document to store for the resource before its key exists (so it is never released under a weaker one). */
  policy?: string;
  chunkLog2?: number;
  onProgress?: ProgressReporter;
  randomBytes?: (n: number) => Uint8Array;
}

/**
 * `kubetee seal`: a fresh 256-bit data key, stored in the broker as a new
 * version of `resourcePath` (policy first, if given), then the file sealed
 * with it. The key exists only in memory here and is wiped afterwards.
 */
export async function sealWithBroker(o: SealWithBrokerOptions): Promise<{ keyVersion: number; plaintextBytes: number; sealedBytes: number }> {
  try {
    if (!(await stat(o.inPath)).isFile()) throw new SealError('SEAL_IO_FAILED', `${o.inPath} is not a regular file`, { hint: 'pass a file with --in' });
  } catch (err) {
    if (err instanceof SealError) throw err;
    throw new SealError('SEAL_IO_FAILED', `cannot read ${o.inPath}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { cause: err, hint: 'check --in' });
  }
  const key = Buffer.from((o.randomBytes ?? nodeRandomBytes)(KEY_BYTES));
  try {
    if (o.policy !== undefined) {
      if (!o.store.setPolicy) throw new SealError('SEAL_ARGUMENT_INVALID', 'this key store cannot set policies');
      await o.store.setPolicy(o.resourcePath, o.policy);
    }
    const info = await o.store.put(o.resourcePath, key, { description: `seal key for ${o.inPath.split('/').pop() ?? o.inPath}` });
    const r = await sealFile(o.inPath, o.outPath, key, {
      resourcePath: o.resourcePath,
      keyVersion: info.currentVersion,
      ...(o.chunkLog2 !== undefined ? { chunkLog2: o.chunkLog2 } : {}),
      ...(o.onProgress ? { onProgress: o.onProgress } : {}),
    });
    return { keyVersion: info.currentVersion, ...r };
  } finally {
    key.fill(0);
  }
}

/** `kubetee unseal`: reads the header, releases the key version it names through attestation, decrypts. */
export async function unsealWithBroker(o: { inPath: string; outPath: string; releaser: SealKeyReleaser; onProgress?: ProgressReporter }): Promise<{ plaintextBytes: number; resourcePath: string; keyVersion: number }> {
  let resourcePath = '';
  let keyVersion = 0;
  const r = await unsealFile(o.inPath, o.outPath, {
    resolveKey: async (header) => {
      resourcePath = header.resourcePath;
      keyVersion = header.keyVersion;
      return o.releaser.getResource(header.resourcePath, header.keyVersion > 0 ? { version: header.keyVersion } : {});
    },
    ...(o.onProgress ? { onProgress: o.onProgress } : {}),
  });
  return { ...r, resourcePath, keyVersion };
}
