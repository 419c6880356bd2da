import { randomBytes as nodeRandomBytes } from 'node:crypto';
import { ChunkOpener, ChunkSealer, decodeHeader, encodeHeader, DEFAULT_CHUNK_LOG2, NONCE_PREFIX_BYTES, TAG_BYTES, type SealHeader } from './format.js';
import { SealError } from './errors.js';

/** FIFO of byte buffers that hands out exact-size slices, copying only when a slice spans buffers. */
class ByteQueue {
  private parts: Buffer[] = [];
  private offset = 0;
  length = 0;

  push(b: Uint8Array): void {
    if (b.length === 0) return;
    this.parts.push(Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength));
    this.length += b.length;
  }

  take(n: number): Buffer {
    if (n > this.length) throw new RangeError('ByteQueue underflow');
    const head = this.parts[0];
    if (head && head.length - this.offset >= n) {
      const out = head.subarray(this.offset, this.offset + n);
      this.offset += n;
      if (this.offset === head.length) {
        this.parts.shift();
        this.offset = 0;
      }
      this.length -= n;
      return out;
    }
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    while (filled < n) {
      const part = this.parts[0]!;
      const count = Math.min(part.length - this.offset, n - filled);
      part.copy(out, filled, this.offset, this.offset + count);
      filled += count;
      this.offset += count;
      if (this.offset === part.length) {
        this.parts.shift();
        this.offset = 0;
      }
    }
    this.length -= n;
    return out;
  }

  /** The next n bytes as consecutive slices of the queued buffers (no copy). */
  takeParts(n: number): Buffer[] {
    if (n > this.length) throw new RangeError('ByteQueue underflow');
    const out: Buffer[] = [];
    let left = n;
    while (left > 0) {
      const part = this.parts[0]!;
      const count = Math.min(part.length - this.offset, left);
      out.push(part.subarray(this.offset, this.offset + count));
      left -= count;
      this.offset += count;
      if (this.offset === part.length) {
        this.parts.shift();
        this.offset = 0;
      }
    }
    this.length -= n;
    return out;
  }

  peekAll(): Buffer {
    return this.length === 0 ? Buffer.alloc(0) : Buffer.concat(this.parts).subarray(this.offset);
  }
}

export interface SealStreamOptions {
  resourcePath: string;
  /** Broker version holding the key (recorded in the header; 0 = current). */
  keyVersion?: number;
  /** log2 of the chunk size (default 20 = 1 MiB). */
  chunkLog2?: number;
  randomBytes?: (n: number) => Uint8Array;
  /** Called with the plaintext bytes consumed so far. */
  onProgress?: (bytes: number) => void;
}

/**
 * Seals a byte stream: yields the header, then each chunk's ciphertext and
 * tag. Holds at most one chunk plus one input buffer in memory.
 */
export async function* sealStream(source: AsyncIterable<Uint8Array>, key: Uint8Array, options: SealStreamOptions): AsyncGenerator<Buffer> {
  const random = options.randomBytes ?? nodeRandomBytes;
  const header = encodeHeader(options.resourcePath, options.chunkLog2 ?? DEFAULT_CHUNK_LOG2, random(NONCE_PREFIX_BYTES), key, options.keyVersion ?? 0);
  const sealer = new ChunkSealer(key, header);
  const size = header.chunkSize;
  yield header.bytes;
  const queue = new ByteQueue();
  let done = 0;
  for await (const piece of source) {
    queue.push(piece);
    // Strictly greater: a chunk is non-final only if at least one byte follows it.
    while (queue.length > size) {
      yield* sealer.seal(queue.takeParts(size), false);
      done += size;
      options.onProgress?.(done);
    }
  }
  const restBytes = queue.length;
  yield* sealer.seal(queue.takeParts(restBytes), true);
  options.onProgress?.(done + restBytes);
}

export interface UnsealStreamOptions {
  /** Receives the header (resource path) and returns the key; called once, before any chunk. */
  resolveKey: (header: SealHeader) => Promise<Uint8Array> | Uint8Array;
  onProgress?: (bytes: number) => void;
}

/**
 * Opens a sealed byte stream, yielding verified plaintext chunk by chunk.
 * Throws SealError on tampering, reordering, truncation or a wrong key;
 * callers must discard output already written when it throws.
 */
export async function* unsealStream(source: AsyncIterable<Uint8Array>, options: UnsealStreamOptions): AsyncGenerator<Buffer> {
  const queue = new ByteQueue();
  let opener: ChunkOpener | undefined;
  let record = 0;
  let done = 0;
  const iterator = source[Symbol.asyncIterator]();
  for (;;) {
    const next = await iterator.next();
    if (!next.done) queue.push(next.value);
    if (!opener) {
      const header = decodeHeader(queue.peekAll(), next.done === true);
      if (!header) continue;
      queue.take(header.bytes.length);
      opener = new ChunkOpener(await options.resolveKey(header), header);
      record = header.chunkSize + TAG_BYTES;
    }
    while (queue.length > record) {
      for (const plain of opener.open(queue.takeParts(record), false)) {
        done += plain.length;
        yield plain;
      }
      options.onProgress?.(done);
    }
    if (next.done) break;
  }
  if (queue.length < TAG_BYTES) {
    throw new SealError('SEAL_TRUNCATED', `the sealed file ends after chunk ${opener.chunksOpened} without its final chunk`, { hint: 'the file was cut short; get a complete copy' });
  }
  const plains = opener.open(queue.takeParts(queue.length), true);
  for (const plain of plains) done += plain.length;
  options.onProgress?.(done);
  yield* plains;
}
