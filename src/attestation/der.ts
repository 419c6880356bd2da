import { AttestationError, type AttestationErrorCode } from './errors.js';

/** One DER TLV: tag byte, value bounds and the whole element's bounds within `bytes`. */
export interface DerNode {
  tag: number;
  /** Start of the whole element (tag byte). */
  start: number;
  /** Start of the value. */
  valueStart: number;
  /** End (exclusive) of the value and of the element. */
  end: number;
}

export const TAG = {
  BOOLEAN: 0x01,
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  ENUMERATED: 0x0a,
  UTF8_STRING: 0x0c,
  PRINTABLE_STRING: 0x13,
  IA5_STRING: 0x16,
  UTC_TIME: 0x17,
  GENERALIZED_TIME: 0x18,
  SEQUENCE: 0x30,
  SET: 0x31,
} as const;

/**
 * Minimal bounds-checked DER reader: just enough for X.509 certificates, CRLs
 * and Intel's SGX extension. Any inconsistency raises `errorCode` with `where`.
 * Only definite lengths up to 4 bytes are accepted (DER forbids indefinite).
 */
export class DerReader {
  constructor(
    readonly bytes: Uint8Array,
    private readonly errorCode: AttestationErrorCode,
    readonly where: string,
  ) {}

  fail(what: string): never {
    throw new AttestationError(this.errorCode, `${this.where}: ${what}`);
  }

  /** Reads the element starting at `pos`, which must end by `limit`. */
  node(pos: number, limit: number): DerNode {
    const b = this.bytes;
    if (pos + 2 > limit) this.fail(`truncated DER element at byte ${pos}`);
    const tag = b[pos]!;
    if ((tag & 0x1f) === 0x1f) this.fail(`multi-byte DER tag at byte ${pos}`);
    let len = b[pos + 1]!;
    let valueStart = pos + 2;
    if (len & 0x80) {
      const n = len & 0x7f;
      if (n === 0 || n > 4) this.fail(`unsupported DER length form at byte ${pos + 1}`);
      if (valueStart + n > limit) this.fail(`truncated DER length at byte ${pos + 1}`);
      len = 0;
      for (let i = 0; i < n; i++) len = len * 256 + b[valueStart + i]!;
      valueStart += n;
    }
    const end = valueStart + len;
    if (end > limit) this.fail(`DER element at byte ${pos} runs past its container (${end} > ${limit})`);
    return { tag, start: pos, valueStart, end };
  }

  /** Reads an element and checks its tag. */
  expect(pos: number, limit: number, tag: number, what: string): DerNode {
    const n = this.node(pos, limit);
    if (n.tag !== tag) this.fail(`expected ${what} (tag 0x${tag.toString(16)}) at byte ${pos}, found tag 0x${n.tag.toString(16)}`);
    return n;
  }

  /** The direct children of a constructed element. */
  children(parent: DerNode): DerNode[] {
    const out: DerNode[] = [];
    let p = parent.valueStart;
    while (p < parent.end) {
      const c = this.node(p, parent.end);
      out.push(c);
      p = c.end;
      if (out.length > 100_000) this.fail('too many DER elements');
    }
    return out;
  }

  value(n: DerNode): Uint8Array {
    return this.bytes.subarray(n.valueStart, n.end);
  }

  raw(n: DerNode): Uint8Array {
    return this.bytes.subarray(n.start, n.end);
  }

  oid(n: DerNode): string {
    if (n.tag !== TAG.OID) this.fail(`expected an OBJECT IDENTIFIER at byte ${n.start}`);
    return decodeOid(this.value(n), () => this.fail(`malformed OBJECT IDENTIFIER at byte ${n.start}`));
  }

  /** Non-negative INTEGER value as a bigint-free unsigned integer (small values only). */
  smallInt(n: DerNode): number {
    if (n.tag !== TAG.INTEGER && n.tag !== TAG.ENUMERATED) this.fail(`expected an INTEGER at byte ${n.start}`);
    const v = this.value(n);
    if (v.length === 0 || v.length > 6) this.fail(`INTEGER at byte ${n.start} has unsupported size ${v.length}`);
    if (v[0]! & 0x80) this.fail(`negative INTEGER at byte ${n.start}`);
    let x = 0;
    for (const byte of v) x = x * 256 + byte;
    return x;
  }

  time(n: DerNode): Date {
    const s = Buffer.from(this.value(n)).toString('latin1');
    let m: RegExpExecArray | null;
    let iso: string;
    if (n.tag === TAG.UTC_TIME && (m = /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(s))) {
      // RFC 5280: YY >= 50 means 19YY.
      const yy = Number(m[1]);
      iso = `${yy >= 50 ? 1900 + yy : 2000 + yy}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}Z`;
    } else if (n.tag === TAG.GENERALIZED_TIME && (m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(s))) {
      iso = `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}Z`;
    } else {
      this.fail(`malformed time "${s.slice(0, 20)}" at byte ${n.start}`);
    }
    const d = new Date(iso);
    if (Number.isNaN(d.getTime())) this.fail(`invalid date "${s}" at byte ${n.start}`);
    return d;
  }
}

function decodeOid(v: Uint8Array, fail: () => never): string {
  if (v.length === 0) fail();
  const parts: number[] = [];
  let acc = 0;
  for (let i = 0; i < v.length; i++) {
    const byte = v[i]!;
    if (acc === 0 && byte === 0x80) fail();
    acc = acc * 128 + (byte & 0x7f);
    if (acc > Number.MAX_SAFE_INTEGER / 128) fail();
    if (!(byte & 0x80)) {
      parts.push(acc);
      acc = 0;
    } else if (i === v.length - 1) fail();
  }
  const first = parts[0]!;
  const head = first < 40 ? [0, first] : first < 80 ? [1, first - 40] : [2, first - 80];
  return [...head, ...parts.slice(1)].join('.');
}
