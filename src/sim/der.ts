/**
 * A minimal DER encoder: just the universal types the SGX PCK extension and
 * X.509 CRLs need. Encoding is synchronous so collateral can be produced (and
 * re-signed) without awaiting WebCrypto.
 */

function encodeLength(length: number): Uint8Array {
  if (length < 0x80) return Uint8Array.of(length);
  const bytes: number[] = [];
  for (let n = length; n > 0; n = Math.floor(n / 256)) bytes.unshift(n & 0xff);
  return Uint8Array.of(0x80 | bytes.length, ...bytes);
}

/** One TLV with the given tag byte. */
export function tlv(tag: number, content: Uint8Array): Uint8Array {
  return Buffer.concat([Uint8Array.of(tag), encodeLength(content.length), content]);
}

export function sequence(...items: Uint8Array[]): Uint8Array {
  return tlv(0x30, Buffer.concat(items));
}

/** Context-specific constructed tag [n] (explicit tagging). */
export function explicit(n: number, content: Uint8Array): Uint8Array {
  return tlv(0xa0 | n, content);
}

/** Non-negative INTEGER from a number or big-endian unsigned bytes (minimal, sign-safe). */
export function integer(value: number | Uint8Array): Uint8Array {
  let bytes: Uint8Array;
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`DER INTEGER needs a non-negative safe integer, got ${value}`);
    const out: number[] = [];
    for (let n = value; n > 0; n = Math.floor(n / 256)) out.unshift(n & 0xff);
    bytes = Uint8Array.from(out.length === 0 ? [0] : out);
  } else {
    let start = 0;
    while (start < value.length - 1 && value[start] === 0) start++;
    bytes = value.length === 0 ? Uint8Array.of(0) : value.subarray(start);
  }
  // A set high bit would read as negative: prefix a zero byte.
  if ((bytes[0] ?? 0) & 0x80) bytes = Buffer.concat([Uint8Array.of(0), bytes]);
  return tlv(0x02, bytes);
}

export function enumerated(value: number): Uint8Array {
  const int = integer(value);
  int[0] = 0x0a;
  return int;
}

export function boolean(value: boolean): Uint8Array {
  return tlv(0x01, Uint8Array.of(value ? 0xff : 0x00));
}

export function octetString(bytes: Uint8Array): Uint8Array {
  return tlv(0x04, bytes);
}

/** BIT STRING with no unused bits. */
export function bitString(bytes: Uint8Array): Uint8Array {
  return tlv(0x03, Buffer.concat([Uint8Array.of(0), bytes]));
}

export function utf8String(text: string): Uint8Array {
  return tlv(0x0c, Buffer.from(text, 'utf8'));
}

export function printableString(text: string): Uint8Array {
  return tlv(0x13, Buffer.from(text, 'ascii'));
}

export function oid(dotted: string): Uint8Array {
  const arcs = dotted.split('.').map((s) => {
    const n = Number(s);
    if (!/^\d+$/.test(s) || !Number.isSafeInteger(n)) throw new RangeError(`bad OID arc in ${dotted}`);
    return n;
  });
  if (arcs.length < 2) throw new RangeError(`OID ${dotted} needs at least two arcs`);
  const out: number[] = [40 * arcs[0]! + arcs[1]!];
  for (const arc of arcs.slice(2)) {
    const chunk: number[] = [arc & 0x7f];
    for (let n = Math.floor(arc / 128); n > 0; n = Math.floor(n / 128)) chunk.unshift(0x80 | (n & 0x7f));
    out.push(...chunk);
  }
  return tlv(0x06, Uint8Array.from(out));
}

/**
 * X.509 Time: UTCTime for years 1950..2049, GeneralizedTime otherwise
 * (RFC 5280 §4.1.2.5), whole seconds, Zulu.
 */
export function time(date: Date): Uint8Array {
  const iso = date.toISOString(); // YYYY-MM-DDTHH:MM:SS.sssZ
  const year = date.getUTCFullYear();
  const digits = iso.slice(0, 19).replace(/[-T:]/g, '');
  if (year >= 1950 && year < 2050) return tlv(0x17, Buffer.from(`${digits.slice(2)}Z`, 'ascii'));
  return tlv(0x18, Buffer.from(`${digits}Z`, 'ascii'));
}

export const NULL = Uint8Array.of(0x05, 0x00);

/** One decoded TLV: `bytes` is the whole element, `content` its value. */
export interface DerElement {
  tag: number;
  bytes: Uint8Array;
  content: Uint8Array;
}

/** Reads the element at `offset` (definite lengths only, as DER requires); throws RangeError on truncation. */
export function readElement(buf: Uint8Array, offset = 0): DerElement {
  if (offset + 2 > buf.length) throw new RangeError('DER element truncated');
  const tag = buf[offset]!;
  let length = buf[offset + 1]!;
  let header = 2;
  if (length & 0x80) {
    const n = length & 0x7f;
    if (n === 0 || n > 4 || offset + 2 + n > buf.length) throw new RangeError('bad DER length');
    length = 0;
    for (let i = 0; i < n; i++) length = length * 256 + buf[offset + 2 + i]!;
    header += n;
  }
  const end = offset + header + length;
  if (end > buf.length) throw new RangeError('DER element truncated');
  return { tag, bytes: buf.subarray(offset, end), content: buf.subarray(offset + header, end) };
}

/** The elements inside a constructed element. */
export function childrenOf(element: DerElement): DerElement[] {
  const out: DerElement[] = [];
  for (let offset = 0; offset < element.content.length; ) {
    const child = readElement(element.content, offset);
    out.push(child);
    offset += child.bytes.length;
  }
  return out;
}
