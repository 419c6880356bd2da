/**
 * Kubernetes resource quantities ("64Mi", "1048576", "1.5Gi", "1e3", "250m"),
 * parsed once for every component (webhook, node agent, doctor, install
 * values). Values are kept as an exact fraction of bigints, never floats:
 * EPC translation and limits must not round silently.
 *
 * Grammar: apimachinery's resource.Quantity, non-negative only (a negative
 * size is never meaningful here). Decimal suffixes n u m "" k M G T P E,
 * binary Ki Mi Gi Ti Pi Ei, or a decimal exponent (e3, E-2). Note the
 * lower-case "k": "1K" is not a Kubernetes quantity and is refused.
 */
import { KubeteeError } from './errors.js';

export type QuantityErrorCode = 'QUANTITY_INVALID' | 'QUANTITY_NOT_WHOLE' | 'QUANTITY_TOO_LARGE';

/** A value that is not a usable quantity; the message names where it came from. */
export class QuantityError extends KubeteeError<QuantityErrorCode> {}

/** An exact non-negative rational value: numerator / denominator (reduced). */
export interface Quantity {
  readonly num: bigint;
  readonly den: bigint;
}

export const MIB = 1n << 20n;
/** Kubernetes stores quantities as int64 (after scaling); anything larger is a typo. */
export const MAX_INT64 = (1n << 63n) - 1n;

const BINARY_SUFFIX: Readonly<Record<string, bigint>> = { Ki: 1n << 10n, Mi: 1n << 20n, Gi: 1n << 30n, Ti: 1n << 40n, Pi: 1n << 50n, Ei: 1n << 60n };
const DECIMAL_EXPONENT: Readonly<Record<string, number>> = { n: -9, u: -6, m: -3, '': 0, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };

// Digits with an optional fraction (".5" and "5." are valid, as in apimachinery), then a suffix or an exponent.
const QUANTITY_RE = /^\+?(\d*)(?:\.(\d*))?(?:(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE])|[eE]([+-]?\d{1,3}))?$/;
const MAX_LENGTH = 64;

// Pods repeat a handful of quantity strings ("1", "64Mi"); parsing is pure, so remember them.
const MEMO_LIMIT = 1024;
const memo = new Map<string, Quantity | undefined>();

/** Parses a quantity (string or JSON number); undefined when it is not one. */
export function tryParseQuantity(value: unknown): Quantity | undefined {
  if (typeof value !== 'string') return parseUncached(value);
  if (memo.has(value)) return memo.get(value);
  const q = parseUncached(value);
  if (memo.size >= MEMO_LIMIT) memo.clear();
  memo.set(value, q);
  return q;
}

/**
 * Parses a quantity or throws QUANTITY_INVALID naming `where` (e.g.
 * `node sgx-1 allocatable["sgx.intel.com/epc"]`) and the accepted forms.
 */
export function parseQuantity(value: unknown, where = 'value'): Quantity {
  const q = tryParseQuantity(value);
  if (q === undefined) {
    throw new QuantityError('QUANTITY_INVALID', `${where} = ${describe(value)} is not a Kubernetes quantity`, {
      hint: 'write a non-negative number with an optional suffix, e.g. 64Mi, 1Gi, 1048576, 500m or 1e3 (decimal "k" is lower-case)',
    });
  }
  return q;
}

/**
 * A quantity that must be a whole number of `unit`s, returned as that count
 * times `unit` (e.g. bytes). Throws QUANTITY_INVALID, QUANTITY_NOT_WHOLE
 * (fractional: extended resources and byte sizes are integers) or
 * QUANTITY_TOO_LARGE (over int64 after scaling by `unit`).
 */
export function parseWholeQuantity(value: unknown, where = 'value', unit = 1n): bigint {
  const q = parseQuantity(value, where);
  if (!isInteger(q)) {
    throw new QuantityError('QUANTITY_NOT_WHOLE', `${where} = ${describe(value)} is not a whole number`, { hint: 'use a whole number of units (e.g. 64Mi rather than 0.5Ki)' });
  }
  const scaled = (q.num / q.den) * unit;
  if (scaled > MAX_INT64) {
    throw new QuantityError('QUANTITY_TOO_LARGE', `${where} = ${describe(value)} is larger than any Kubernetes quantity (over 2^63)`, { hint: 'check the value for a typo' });
  }
  return scaled;
}

function describe(value: unknown): string {
  const text = typeof value === 'string' ? JSON.stringify(value.length > MAX_LENGTH ? `${value.slice(0, MAX_LENGTH)}…` : value) : JSON.stringify(value);
  return text ?? String(value);
}

function parseUncached(value: unknown): Quantity | undefined {
  let text: string;
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0) return undefined;
    text = String(value);
  } else if (typeof value === 'string') {
    text = value.trim();
  } else {
    return undefined;
  }
  if (text.length === 0 || text.length > MAX_LENGTH) return undefined;
  const m = QUANTITY_RE.exec(text);
  if (!m) return undefined;
  const [, whole = '', frac = '', suffix, exponent] = m;
  if (whole.length + frac.length === 0) return undefined;
  let num = BigInt(whole + frac || '0');
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

/** Largest integer <= q. */
export function floorInteger(q: Quantity): bigint {
  return q.num / q.den;
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
