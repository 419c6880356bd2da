/**
 * Validation of the options callers pass to the platform. Every bad value is
 * a SIM_OPTION_INVALID error naming the option and what would be valid.
 */
import { fromHex } from '../common/hex.js';
import { SimError } from './errors.js';
import type { SimPlatformOptions, SimTcb } from './types.js';

export const DEFAULT_TCB: SimTcb = { sgxTcbComponents: [11, 11, 2, 2, 255, 1, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0], pceSvn: 13 };
export const DEFAULT_FMSPC = '00906ed50000';
export const DEFAULT_PCE_ID = '0000';
export const DEFAULT_QE_SVN = 8;

export function invalid(message: string, hint: string): SimError {
  return new SimError('SIM_OPTION_INVALID', message, { hint });
}

export function parseHexOption(name: string, value: string, bytes: number): Uint8Array {
  const parsed = typeof value === 'string' ? fromHex(value) : undefined;
  if (!parsed || parsed.length !== bytes) {
    throw invalid(`${name} must be ${bytes} bytes of hex (${bytes * 2} digits), got ${JSON.stringify(value)}`, `pass e.g. ${'00'.repeat(bytes)}`);
  }
  return parsed;
}

/** A 32-byte measurement (MRENCLAVE, MRSIGNER) given as hex or bytes; `fill` is the default byte. */
export function measurement(name: string, value: string | Uint8Array | undefined, fill: number): Uint8Array {
  if (value === undefined) return new Uint8Array(32).fill(fill);
  if (typeof value === 'string') return parseHexOption(name, value, 32);
  if (!(value instanceof Uint8Array) || value.length !== 32) {
    throw invalid(`${name} must be 32 bytes, got ${value instanceof Uint8Array ? value.length : typeof value}`, 'pass a SHA-256-sized measurement');
  }
  return value;
}

export function checkUint(name: string, value: number, max: number): number {
  if (!Number.isInteger(value) || value < 0 || value > max) throw invalid(`${name} must be an integer 0..${max}, got ${value}`, `use a value between 0 and ${max}`);
  return value;
}

/** REPORTDATA: at most 64 bytes, zero padded to 64. */
export function paddedReportData(reportData: Uint8Array | undefined): Uint8Array {
  const value = reportData ?? new Uint8Array(0);
  if (!(value instanceof Uint8Array) || value.length > 64) {
    throw invalid(`reportData must be at most 64 bytes, got ${value instanceof Uint8Array ? value.length : typeof value}`, 'hash longer data (e.g. SHA-512) into 64 bytes');
  }
  const padded = new Uint8Array(64);
  padded.set(value);
  return padded;
}

export function resolveTcb(tcb: Partial<SimTcb> | undefined): SimTcb {
  const components = tcb?.sgxTcbComponents ?? DEFAULT_TCB.sgxTcbComponents;
  if (!Array.isArray(components) || components.length !== 16) {
    throw invalid(`tcb.sgxTcbComponents must list 16 SVNs, got ${Array.isArray(components) ? components.length : typeof components}`, 'pass 16 numbers 0..255');
  }
  components.forEach((svn, i) => checkUint(`tcb.sgxTcbComponents[${i}]`, svn, 255));
  return { sgxTcbComponents: [...components], pceSvn: checkUint('tcb.pceSvn', tcb?.pceSvn ?? DEFAULT_TCB.pceSvn, 0xffff) };
}

/** Reads the clock, refusing anything that is not a valid Date (it would be signed into collateral). */
export function readClock(clock: () => Date): Date {
  const now = clock();
  if (!(now instanceof Date) || Number.isNaN(now.getTime())) throw invalid('the platform clock returned an invalid Date', 'pass a clock function that returns a valid Date');
  return now;
}

export function resolveClock(now: SimPlatformOptions['now']): () => Date {
  if (now === undefined) return () => new Date();
  if (typeof now === 'function') return now;
  if (!(now instanceof Date) || Number.isNaN(now.getTime())) throw invalid('now must be a valid Date or a function returning one', 'pass new Date(...)');
  const fixed = new Date(now.getTime());
  return () => fixed;
}
