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
  /**
   * One statement in its own transaction, without the write lock that
   * `transaction('write')` takes: one round trip on PostgreSQL. Rows are those
   * a SELECT or `RETURNING` produced; `changes` counts changed rows.
   * `relaxed`: the commit need not be flushed to disk before this returns
   * (SQLite synchronous=NORMAL for this statement; PostgreSQL tables meant for
   * it are UNLOGGED). Only for rows that may be lost in a power failure.
   */
  single(sql: string, params: readonly SqlParam[], options?: { relaxed?: boolean }): Promise<{ rows: SqlRow[]; changes: number }>;
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
