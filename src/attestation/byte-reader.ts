import { AttestationError, type AttestationErrorCode } from './errors.js';

/**
 * Bounds-checked little-endian cursor over quote bytes. Every read checks the
 * remaining length first and raises a typed error naming the field and the
 * absolute offset, so a decoder can never index past the buffer.
 */
export class ByteReader {
  private pos: number;

  constructor(
    private readonly bytes: Uint8Array,
    start = 0,
    private readonly end = bytes.length,
    /** Offset of `bytes[0]` in the whole quote, for messages. */
    private readonly base = 0,
    private readonly truncatedCode: AttestationErrorCode = 'QUOTE_TRUNCATED',
  ) {
    this.pos = start;
  }

  get offset(): number {
    return this.pos;
  }

  get absoluteOffset(): number {
    return this.base + this.pos;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  private need(n: number, field: string): void {
    if (n < 0 || this.pos + n > this.end) {
      throw new AttestationError(
        this.truncatedCode,
        `quote truncated: ${field} needs ${n} bytes at offset ${this.base + this.pos}, only ${Math.max(0, this.end - this.pos)} left`,
      );
    }
  }

  u16(field: string): number {
    this.need(2, field);
    const v = this.bytes[this.pos]! | (this.bytes[this.pos + 1]! << 8);
    this.pos += 2;
    return v;
  }

  u32(field: string): number {
    this.need(4, field);
    const b = this.bytes;
    const p = this.pos;
    const v = (b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16) | (b[p + 3]! << 24)) >>> 0;
    this.pos += 4;
    return v;
  }

  /** A view (no copy) of the next `n` bytes. */
  bytesOf(n: number, field: string): Uint8Array {
    this.need(n, field);
    const v = this.bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }

  /** A reader over the next `n` bytes, advancing this one past them. */
  sub(n: number, field: string, truncatedCode: AttestationErrorCode = this.truncatedCode): ByteReader {
    this.need(n, field);
    const r = new ByteReader(this.bytes, this.pos, this.pos + n, this.base, truncatedCode);
    this.pos += n;
    return r;
  }
}

/** Reads an unsigned little-endian u16 at `offset` of `b` (caller checked bounds). */
export function u16le(b: Uint8Array, offset: number): number {
  return b[offset]! | (b[offset + 1]! << 8);
}
