import { createReadStream, createWriteStream } from 'node:fs';
import { open, rename, rm, stat } from 'node:fs/promises';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';
import { decodeHeader, DEFAULT_CHUNK_LOG2, TAG_BYTES, type SealHeader } from './format.js';
import { sealStream, unsealStream } from './stream.js';
import { SealError } from './errors.js';
import { KubeteeError } from '../../common/errors.js';

export interface ProgressReporter {
  (doneBytes: number, totalBytes: number): void;
}

export interface SealFileOptions {
  resourcePath: string;
  keyVersion?: number;
  chunkLog2?: number;
  onProgress?: ProgressReporter;
}

/**
 * Seals `inPath` into `outPath` with `key`. Writes to a temporary file beside
 * the output and renames it into place only when complete, so a failed run
 * never leaves a half-written file under the final name.
 */
export async function sealFile(inPath: string, outPath: string, key: Uint8Array, options: SealFileOptions): Promise<{ plaintextBytes: number; sealedBytes: number }> {
  const total = await inputSize(inPath);
  const chunkLog2 = options.chunkLog2 ?? DEFAULT_CHUNK_LOG2;
  const tmp = tempBeside(outPath);
  try {
    await pipeline(
      createReadStream(inPath, { highWaterMark: 2 ** chunkLog2 }),
      (src: AsyncIterable<Uint8Array>) => sealStream(src, key, { resourcePath: options.resourcePath, keyVersion: options.keyVersion ?? 0, chunkLog2, onProgress: (n) => options.onProgress?.(n, total) }),
      createWriteStream(tmp, { mode: 0o600 }),
    );
    await syncFile(tmp);
    await rename(tmp, outPath);
  } catch (err) {
    await rm(tmp, { force: true });
    throw ioError(err, `sealing ${inPath} into ${outPath}`);
  }
  return { plaintextBytes: total, sealedBytes: (await stat(outPath)).size };
}

/** Reads only the header of a sealed file (to learn which resource holds its key). */
export async function readSealHeader(path: string): Promise<SealHeader> {
  let fh;
  try {
    fh = await open(path, 'r');
  } catch (err) {
    throw ioError(err, `opening ${path}`);
  }
  try {
    const buf = Buffer.alloc(8 + 1 + 1 + 4 + 2 + 512 + 7 + 32);
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    const header = decodeHeader(buf.subarray(0, bytesRead), true);
    if (!header) throw new SealError('SEAL_HEADER_INVALID', `${path}: incomplete header`);
    return header;
  } finally {
    await fh.close();
  }
}

export interface UnsealFileOptions {
  resolveKey: (header: SealHeader) => Promise<Uint8Array> | Uint8Array;
  onProgress?: ProgressReporter;
}

/**
 * Opens `inPath` into `outPath`. Plaintext goes to a temporary file that is
 * deleted if any chunk fails to verify, so unverified data never appears
 * under the output name.
 */
export async function unsealFile(inPath: string, outPath: string, options: UnsealFileOptions): Promise<{ plaintextBytes: number }> {
  const sealedSize = await inputSize(inPath);
  const tmp = tempBeside(outPath);
  let plaintextBytes = 0;
  let headerBytes = 0;
  let chunkSize = 0;
  try {
    await pipeline(
      createReadStream(inPath, { highWaterMark: 2 ** DEFAULT_CHUNK_LOG2 + TAG_BYTES }),
      (src: AsyncIterable<Uint8Array>) =>
        unsealStream(src, {
          resolveKey: (h) => {
            headerBytes = h.bytes.length;
            chunkSize = h.chunkSize;
            return options.resolveKey(h);
          },
          onProgress: (n) => {
            plaintextBytes = n;
            options.onProgress?.(n, estimatePlaintext(sealedSize, headerBytes, chunkSize));
          },
        }),
      createWriteStream(tmp, { mode: 0o600 }),
    );
    await syncFile(tmp);
    await rename(tmp, outPath);
  } catch (err) {
    await rm(tmp, { force: true });
    throw ioError(err, `unsealing ${inPath} into ${outPath}`);
  }
  return { plaintextBytes };
}

function estimatePlaintext(sealedSize: number, headerBytes: number, chunkSize: number): number {
  if (chunkSize === 0) return sealedSize;
  const body = sealedSize - headerBytes;
  const chunks = Math.max(1, Math.ceil(body / (chunkSize + TAG_BYTES)));
  return Math.max(0, body - chunks * TAG_BYTES);
}

async function inputSize(path: string): Promise<number> {
  try {
    const s = await stat(path);
    if (!s.isFile()) throw new SealError('SEAL_IO_FAILED', `${path} is not a regular file`, { hint: 'pass a file path with --in' });
    return s.size;
  } catch (err) {
    throw ioError(err, `reading ${path}`);
  }
}

async function syncFile(path: string): Promise<void> {
  const fh = await open(path, 'r+');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

function tempBeside(outPath: string): string {
  return join(dirname(outPath), `.${basename(outPath)}.${randomBytes(6).toString('hex')}.partial`);
}

function ioError(err: unknown, doing: string): KubeteeError {
  if (err instanceof KubeteeError) return err;
  const e = err as NodeJS.ErrnoException;
  return new SealError('SEAL_IO_FAILED', `${doing} failed: ${e.code ?? ''} ${e.message}`.replace('  ', ' '), {
    cause: err,
    hint: e.code === 'ENOENT' ? 'check that the file exists' : e.code === 'EACCES' ? 'check file permissions' : 'check the paths and free disk space',
  });
}

/** A sink that discards data (benchmarks). */
export function nullSink(): Writable {
  return new Writable({ write: (_c, _e, cb) => cb() });
}
