import { createCipheriv, createDecipheriv, createHmac, timingSafeEqual } from 'node:crypto';
import { SealError } from './errors.js';

/**
 * kubetee sealed-file format, version 1 (docs/key-broker.md, "Seal format").
 *
 *   header  = magic "KTSEAL" 0x00 0x01 (8) | alg 0x01 = AES-256-GCM (1)
 *           | log2(chunkSize) (1) | keyVersion u32 BE (4; the broker version
 *             holding the key, 0 = current) | pathLength u16 BE (2) | resource path UTF-8
 *           | noncePrefix (7, random) | keyCommitment (32)
 *   chunk i = AES-256-GCM(key, nonce = noncePrefix | i u32 BE | last (1 byte: 0 or 1),
 *                         aad = header) -> ciphertext | tag (16)
 *
 * Every chunk but the last holds exactly chunkSize plaintext bytes; the last
 * holds 0..chunkSize and is the only one sealed with last = 1 (an empty file
 * is one empty last chunk). This is the STREAM construction (Hoang et al.,
 * "Online Authenticated-Encryption and its Nonce-Reuse Misuse-Resistance"):
 * the counter in the nonce detects reordering, dropping or duplicating
 * chunks; the last flag detects truncation at a chunk boundary; the header as
 * AAD binds every chunk to this file's parameters. keyCommitment =
 * HMAC-SHA256(key, "kubetee-seal v1 key commitment") lets unseal tell "wrong
 * key" from "tampered" (GCM alone is not key-committing).
 */
export const SEAL_MAGIC = Buffer.from([0x4b, 0x54, 0x53, 0x45, 0x41, 0x4c, 0x00, 0x01]);
export const SEAL_ALG_AES_256_GCM = 1;
export const TAG_BYTES = 16;
export const KEY_BYTES = 32;
export const NONCE_PREFIX_BYTES = 7;
export const MIN_CHUNK_LOG2 = 12; // 4 KiB
export const MAX_CHUNK_LOG2 = 24; // 16 MiB
export const DEFAULT_CHUNK_LOG2 = 20; // 1 MiB: large enough to amortise per-chunk cost
const MAX_PATH_BYTES = 512;
const FIXED_HEADER_BYTES = 8 + 1 + 1 + 4 + 2;
const MAX_CHUNKS = 2 ** 32;
const COMMITMENT_LABEL = 'kubetee-seal v1 key commitment';

export interface SealHeader {
  resourcePath: string;
  /** Version of the broker resource that holds the key (0: whatever is current). */
  keyVersion: number;
  chunkSize: number;
  noncePrefix: Buffer;
  keyCommitment: Buffer;
  /** The exact header bytes (the AAD of every chunk). */
  bytes: Buffer;
}

export function keyCommitment(key: Uint8Array): Buffer {
  return createHmac('sha256', key).update(COMMITMENT_LABEL).digest();
}

export function encodeHeader(resourcePath: string, chunkLog2: number, noncePrefix: Uint8Array, key: Uint8Array, keyVersion = 0): SealHeader {
  if (!Number.isInteger(chunkLog2) || chunkLog2 < MIN_CHUNK_LOG2 || chunkLog2 > MAX_CHUNK_LOG2) {
    throw new SealError('SEAL_ARGUMENT_INVALID', `chunk size 2^${chunkLog2} is out of range (2^${MIN_CHUNK_LOG2}..2^${MAX_CHUNK_LOG2})`);
  }
  if (noncePrefix.length !== NONCE_PREFIX_BYTES) throw new SealError('SEAL_ARGUMENT_INVALID', `nonce prefix must be ${NONCE_PREFIX_BYTES} bytes`);
  checkKey(key);
  if (!Number.isInteger(keyVersion) || keyVersion < 0 || keyVersion > 0xffffffff) throw new SealError('SEAL_ARGUMENT_INVALID', `key version ${keyVersion} is out of range`);
  const path = Buffer.from(resourcePath, 'utf8');
  if (path.length === 0 || path.length > MAX_PATH_BYTES) throw new SealError('SEAL_ARGUMENT_INVALID', `resource path must be 1-${MAX_PATH_BYTES} bytes`);
  const commitment = keyCommitment(key);
  const bytes = Buffer.alloc(FIXED_HEADER_BYTES + path.length + NONCE_PREFIX_BYTES + commitment.length);
  SEAL_MAGIC.copy(bytes, 0);
  bytes[8] = SEAL_ALG_AES_256_GCM;
  bytes[9] = chunkLog2;
  bytes.writeUInt32BE(keyVersion, 10);
  bytes.writeUInt16BE(path.length, 14);
  path.copy(bytes, FIXED_HEADER_BYTES);
  Buffer.from(noncePrefix).copy(bytes, FIXED_HEADER_BYTES + path.length);
  commitment.copy(bytes, FIXED_HEADER_BYTES + path.length + NONCE_PREFIX_BYTES);
  return { resourcePath, keyVersion, chunkSize: 2 ** chunkLog2, noncePrefix: Buffer.from(noncePrefix), keyCommitment: commitment, bytes };
}

/**
 * Decodes a header from the start of `buf`. Returns undefined when `buf` is
 * too short to hold the whole header yet (the caller reads more).
 */
export function decodeHeader(buf: Buffer, eof: boolean): SealHeader | undefined {
  const need = (n: number): boolean => {
    if (buf.length >= n) return true;
    if (eof) throw new SealError('SEAL_HEADER_INVALID', `the sealed file is ${buf.length} bytes long, shorter than its header`, { hint: 'the file was cut short or is not a sealed file' });
    return false;
  };
  if (!need(FIXED_HEADER_BYTES)) return undefined;
  if (!buf.subarray(0, 6).equals(SEAL_MAGIC.subarray(0, 6))) {
    throw new SealError('SEAL_FORMAT_INVALID', 'not a kubetee sealed file (bad magic)', { hint: 'pass a file written by `kubetee seal`' });
  }
  if (buf[6] !== 0 || buf[7] !== 1) throw new SealError('SEAL_FORMAT_INVALID', `sealed-file format version ${buf[6]}.${buf[7]} is not supported (this kubetee reads 0.1)`, { hint: 'unseal it with the kubetee version that sealed it' });
  if (buf[8] !== SEAL_ALG_AES_256_GCM) throw new SealError('SEAL_FORMAT_INVALID', `unknown algorithm id ${buf[8]}`);
  const log2 = buf[9]!;
  if (log2 < MIN_CHUNK_LOG2 || log2 > MAX_CHUNK_LOG2) throw new SealError('SEAL_HEADER_INVALID', `chunk size 2^${log2} in the header is out of range`);
  const keyVersion = buf.readUInt32BE(10);
  const pathLen = buf.readUInt16BE(14);
  if (pathLen === 0 || pathLen > MAX_PATH_BYTES) throw new SealError('SEAL_HEADER_INVALID', `resource path length ${pathLen} in the header is out of range`);
  const total = FIXED_HEADER_BYTES + pathLen + NONCE_PREFIX_BYTES + 32;
  if (!need(total)) return undefined;
  const pathBytes = buf.subarray(FIXED_HEADER_BYTES, FIXED_HEADER_BYTES + pathLen);
  const resourcePath = new TextDecoder('utf-8', { fatal: true }).decode(pathBytes);
  const p = FIXED_HEADER_BYTES + pathLen;
  return {
    resourcePath,
    keyVersion,
    chunkSize: 2 ** log2,
    noncePrefix: Buffer.from(buf.subarray(p, p + NONCE_PREFIX_BYTES)),
    keyCommitment: Buffer.from(buf.subarray(p + NONCE_PREFIX_BYTES, total)),
    bytes: Buffer.from(buf.subarray(0, total)),
  };
}

function checkKey(key: Uint8Array): void {
  if (key.length !== KEY_BYTES) throw new SealError('SEAL_ARGUMENT_INVALID', `a seal key is ${KEY_BYTES} bytes, got ${key.length}`);
}

function chunkNonce(prefix: Buffer, index: number, last: boolean): Buffer {
  if (index >= MAX_CHUNKS) throw new SealError('SEAL_ARGUMENT_INVALID', 'input too large for one sealed file (2^32 chunks)');
  const nonce = Buffer.alloc(12);
  prefix.copy(nonce, 0);
  nonce.writeUInt32BE(index, NONCE_PREFIX_BYTES);
  nonce[11] = last ? 1 : 0;
  return nonce;
}

/** Encrypts chunks in order. */
export class ChunkSealer {
  private index = 0;
  private finished = false;

  constructor(private readonly key: Uint8Array, readonly header: SealHeader) {
    checkKey(key);
  }

  /**
   * Returns the ciphertext pieces followed by the tag; `plain` (contiguous or
   * consecutive pieces) must be chunkSize bytes unless `last`.
   */
  seal(plain: Uint8Array | readonly Uint8Array[], last: boolean): Buffer[] {
    if (this.finished) throw new SealError('SEAL_ARGUMENT_INVALID', 'the last chunk was already sealed');
    const parts = Array.isArray(plain) ? (plain as readonly Uint8Array[]) : [plain as Uint8Array];
    const total = parts.reduce((n, p) => n + p.length, 0);
    if (total > this.header.chunkSize || (!last && total !== this.header.chunkSize)) {
      throw new SealError('SEAL_ARGUMENT_INVALID', `chunk ${this.index} has ${total} bytes; non-final chunks hold exactly ${this.header.chunkSize}`);
    }
    const c = createCipheriv('aes-256-gcm', this.key, chunkNonce(this.header.noncePrefix, this.index, last));
    c.setAAD(this.header.bytes);
    const out = parts.map((p) => c.update(p));
    c.final();
    out.push(c.getAuthTag());
    this.index++;
    if (last) this.finished = true;
    return out;
  }
}

/** Decrypts chunks in order; verifies the key commitment up front. */
export class ChunkOpener {
  private index = 0;
  private finished = false;

  constructor(private readonly key: Uint8Array, readonly header: SealHeader) {
    checkKey(key);
    const expected = keyCommitment(key);
    if (!timingSafeEqual(expected, header.keyCommitment)) {
      throw new SealError('SEAL_KEY_MISMATCH', `the key for ${header.resourcePath} is not the key this file was sealed with`, {
        hint: 'the resource may have been rotated since sealing; release the version the file was sealed with, or re-seal',
      });
    }
  }

  get done(): boolean {
    return this.finished;
  }

  get chunksOpened(): number {
    return this.index;
  }

  /**
   * `record` is ciphertext || tag of one chunk, contiguous or as consecutive
   * pieces (so callers need not copy a chunk that spans reads). Returns the
   * plaintext pieces.
   */
  open(record: Uint8Array | readonly Uint8Array[], last: boolean): Buffer[] {
    if (this.finished) throw new SealError('SEAL_TRAILING_DATA', 'data follows the final chunk', { hint: 'the file was altered after sealing' });
    const parts = Array.isArray(record) ? (record as readonly Uint8Array[]) : [record as Uint8Array];
    const total = parts.reduce((n, p) => n + p.length, 0);
    if (total < TAG_BYTES || total > this.header.chunkSize + TAG_BYTES) {
      throw new SealError('SEAL_TRUNCATED', `chunk ${this.index} is ${total} bytes, not a whole chunk`, { hint: 'the file was cut short' });
    }
    const ctLen = total - TAG_BYTES;
    const { ct, tag } = splitTag(parts, ctLen);
    const d = createDecipheriv('aes-256-gcm', this.key, chunkNonce(this.header.noncePrefix, this.index, last));
    d.setAAD(this.header.bytes);
    d.setAuthTag(tag);
    const plain = ct.map((p) => d.update(p));
    try {
      d.final();
    } catch (err) {
      // A full-size chunk that fails as "last" is what truncation at a chunk boundary looks like.
      const truncated = last && ctLen === this.header.chunkSize && this.wouldOpenAsMiddle(ct, tag);
      if (truncated) throw new SealError('SEAL_TRUNCATED', `the file ends after chunk ${this.index}, which is not the final chunk`, { cause: err, hint: 'the file was cut short; get a complete copy' });
      throw new SealError('SEAL_CHUNK_TAMPERED', `chunk ${this.index} failed authentication (tampered, reordered or from another file)`, {
        cause: err,
        hint: 'the sealed file was modified; get an intact copy',
      });
    }
    this.index++;
    if (last) this.finished = true;
    return plain;
  }

  private wouldOpenAsMiddle(ct: readonly Uint8Array[], tag: Buffer): boolean {
    const d = createDecipheriv('aes-256-gcm', this.key, chunkNonce(this.header.noncePrefix, this.index, false));
    d.setAAD(this.header.bytes);
    d.setAuthTag(tag);
    for (const p of ct) d.update(p);
    try {
      d.final();
      return true;
    } catch {
      return false;
    }
  }
}

/** Splits consecutive pieces into the ciphertext pieces (no copy) and the 16-byte tag (copied). */
function splitTag(parts: readonly Uint8Array[], ctLen: number): { ct: Uint8Array[]; tag: Buffer } {
  const ct: Uint8Array[] = [];
  const tag = Buffer.alloc(TAG_BYTES);
  let offset = 0;
  let tagFilled = 0;
  for (const p of parts) {
    const ctPart = Math.max(0, Math.min(p.length, ctLen - offset));
    if (ctPart > 0) ct.push(p.subarray(0, ctPart));
    if (ctPart < p.length) {
      tag.set(p.subarray(ctPart), tagFilled);
      tagFilled += p.length - ctPart;
    }
    offset += p.length;
  }
  return { ct, tag };
}
