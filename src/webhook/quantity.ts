/**
 * Exact arithmetic on Kubernetes resource quantities ("64Mi", "1048576",
 * "1.5Gi", "1e3"). EPC translation must never round silently, so values are
 * kept as an exact fraction of bigints rather than floats.
 */

/** An exact non-negative rational value: numerator / denominator. */
export interface Quantity {
  readonly num: bigint;
  readonly den: bigint;
}

export const MIB = 1n << 20n;

const BINARY_SUFFIX: Record<string, bigint> = {
  Ki: 1n << 10n,
  Mi: 1n << 20n,
  Gi: 1n << 30n,
  Ti: 1n << 40n,
  Pi: 1n << 50n,
  Ei: 1n << 60n,
};
const DECIMAL_EXPONENT: Record<string, number> = { n: -9, u: -6, m: -3, '': 0, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };

// The Kubernetes quantity grammar (apimachinery resource.Quantity), sign limited to "+".
const QUANTITY_RE = /^\+?(\d+)(?:\.(\d*))?(?:(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE])|[eE]([+-]?\d{1,3}))?$/;

// Pods repeat a handful of quantity strings ("1", "64Mi"); parsing is pure, so remember them.
const MEMO_LIMIT = 1024;
const memo = new Map<string, Quantity | undefined>();

/** Parses a quantity (string or JSON number); undefined when it is not one. */
export function parseQuantity(value: unknown): Quantity | undefined {
  if (typeof value !== 'string') return parseQuantityUncached(value);
  if (memo.has(value)) return memo.get(value);
  const q = parseQuantityUncached(value);
  if (memo.size >= MEMO_LIMIT) memo.clear();
  memo.set(value, q);
  return q;
}

function parseQuantityUncached(value: unknown): Quantity | undefined {
  let text: string;
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0) return undefined;
    text = String(value);
  } else if (typeof value === 'string') {
    text = value.trim();
  } else {
    return undefined;
  }
  if (text.length === 0 || text.length > 64) return undefined;
  const m = QUANTITY_RE.exec(text);
  if (!m) return undefined;
  const [, whole = '', frac = '', suffix, exponent] = m;
  let num = BigInt(whole + frac);
  let den = 10n ** BigInt(frac.length);
  if (suffix !== undefined && suffix in BINARY_SUFFIX) {
    num *= BINARY_SUFFIX[suffix]!;
  } else {
    const exp = exponent !== undefined ? Number(exponent) : DECIMAL_EXPONENT[suffix ?? '']!;
    if (exp >= 0) num *= 10n ** BigInt(exp);
    else den *= 10n ** BigInt(-exp);
  }
  return Object.freeze(reduce({ num, den }));
}

function gcd(a: bigint, b: bigint): bigint {
  while (b !== 0n) [a, b] = [b, a % b];
  return a;
}

function reduce(q: Quantity): Quantity {
  if (q.num === 0n) return { num: 0n, den: 1n };
  const g = gcd(q.num, q.den);
  return { num: q.num / g, den: q.den / g };
}

export function isInteger(q: Quantity): boolean {
  return q.num % q.den === 0n;
}

export function quantityEquals(a: Quantity, b: Quantity): boolean {
  return a.num * b.den === b.num * a.den;
}

export function multiply(q: Quantity, factor: bigint): Quantity {
  return reduce({ num: q.num * factor, den: q.den });
}

/** Smallest integer >= q. */
export function ceilInteger(q: Quantity): bigint {
  return (q.num + q.den - 1n) / q.den;
}

/**
 * Formats a whole number of bytes the way Kubernetes prints binary quantities:
 * the largest binary suffix that divides it exactly, else plain bytes.
 */
export function formatBinaryBytes(bytes: bigint): string {
  if (bytes === 0n) return '0';
  for (const suffix of ['Ei', 'Pi', 'Ti', 'Gi', 'Mi', 'Ki']) {
    const unit = BINARY_SUFFIX[suffix]!;
    if (bytes % unit === 0n) return `${bytes / unit}${suffix}`;
  }
  return bytes.toString();
}
