import type { TxMode } from './types.js';

/** A value bound to a `?` placeholder. */
export type SqlParam = string | number | null | Buffer;
export type SqlRow = Record<string, unknown>;

/** Statements inside one transaction. SQL uses `?` placeholders in both dialects. */
export interface SqlQuery {
  all(sql: string, params?: readonly SqlParam[]): Promise<SqlRow[]>;
  /** Returns the number of rows changed. */
  run(sql: string, params?: readonly SqlParam[]): Promise<number>;
}

/** The only dialect-specific part of the store: connections and transactions. */
export interface SqlDriver {
  readonly dialect: 'sqlite' | 'postgres';
  readonly location: string;
  transaction<T>(mode: TxMode, fn: (q: SqlQuery) => Promise<T>): Promise<T>;
  /** Dialect-specific physical cleanup (see KbsStore.scrub). */
  scrub(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Serialises async critical sections on one connection (better-sqlite3 has a
 * single connection; two interleaved BEGINs on it would be an error).
 */
export class AsyncMutex {
  private tail: Promise<void> = Promise.resolve();

  async run<T>(fn: () => Promise<T>): Promise<T> {
    const previous = this.tail;
    let release!: () => void;
    this.tail = new Promise<void>((r) => (release = r));
    await previous;
    try {
      return await fn();
    } finally {
      release();
    }
  }
}
