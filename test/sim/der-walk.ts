/**
 * A deliberately separate, tiny DER reader for the tests, so the simulated
 * platform's own encoder is checked by code it does not share. It turns a DER
 * value into a tree of { tag, oid?, hex?, children? } that can be compared
 * with the same tree of Intel's real certificates.
 */

export interface DerNode {
  tag: number;
  /** Dotted OID for tag 0x06. */
  oid?: string;
  /** Content bytes (hex) for primitive values. */
  hex?: string;
  children?: DerNode[];
}

function decodeOid(bytes: Uint8Array): string {
  const arcs: number[] = [];
  let value = 0;
  for (const b of bytes) {
    value = value * 128 + (b & 0x7f);
    if ((b & 0x80) === 0) {
      arcs.push(value);
      value = 0;
    }
  }
  const first = arcs.shift()!;
  return [Math.min(2, Math.floor(first / 40)), first - 40 * Math.min(2, Math.floor(first / 40)), ...arcs].join('.');
}

export function walk(bytes: Uint8Array): DerNode[] {
  const nodes: DerNode[] = [];
  let i = 0;
  while (i < bytes.length) {
    const tag = bytes[i]!;
    let len = bytes[i + 1]!;
    let p = i + 2;
    if (len & 0x80) {
      const n = len & 0x7f;
      len = 0;
      for (let k = 0; k < n; k++) len = len * 256 + bytes[p + k]!;
      p += n;
    }
    if (p + len > bytes.length) throw new Error(`DER truncated at ${i}`);
    const content = bytes.subarray(p, p + len);
    const node: DerNode = { tag };
    if (tag & 0x20) node.children = walk(content);
    else if (tag === 0x06) node.oid = decodeOid(content);
    else node.hex = Buffer.from(content).toString('hex');
    nodes.push(node);
    i = p + len;
  }
  return nodes;
}

/** The shape only: tags and OIDs, no values (what must match Intel's certificates). */
export function skeleton(nodes: DerNode[]): unknown[] {
  return nodes.map((n) => (n.children ? { tag: n.tag, children: skeleton(n.children) } : n.oid ? { oid: n.oid } : { tag: n.tag }));
}

/** Value of the (OID, value) pair with the given OID anywhere in the tree. */
export function valueOf(nodes: DerNode[], oid: string): DerNode | undefined {
  for (const n of nodes) {
    if (n.children) {
      const [first, second] = n.children;
      if (first?.oid === oid) return second;
      const inner = valueOf(n.children, oid);
      if (inner) return inner;
    }
  }
  return undefined;
}
