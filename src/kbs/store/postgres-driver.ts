import pg from 'pg';
import { KbsStoreError } from './errors.js';
import type { SqlDriver, SqlParam, SqlQuery, SqlRow } from './sql-driver.js';
import type { TxMode } from './types.js';

/** Arbitrary constant naming the broker's write lock (pg_advisory_xact_lock). */
const WRITE_LOCK_KEY = 0x6b627331; // "kbs1"

/** `?` placeholders to `$1, $2, …` (our SQL never has `?` inside literals). */
function numbered(sql: string): string {
  let i = 0;
  return sql.replace(/\?/g, () => `$${++i}`);
}

/** The URL with any password masked, safe for logs and errors. */
export function redactPostgresUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'postgres://(unparseable URL)';
  }
}

/**
 * PostgreSQL through a pg Pool. Write transactions take one advisory
 * transaction lock so they are serialised like SQLite's (the audit chain
 * cannot fork); reads use REPEATABLE READ snapshots and never wait for writers.
 */
export function openPostgresDriver(url: string, options: { max?: number; connectionTimeoutMs?: number } = {}): SqlDriver {
  const location = redactPostgresUrl(url);
  const pool = new pg.Pool({ connectionString: url, max: options.max ?? 4, connectionTimeoutMillis: options.connectionTimeoutMs ?? 10_000 });
  // An idle client losing its server must not crash the process; the next query reports it.
  pool.on('error', () => undefined);
  let closed = false;

  return {
    dialect: 'postgres',
    location,
    async transaction<T>(mode: TxMode, fn: (q: SqlQuery) => Promise<T>): Promise<T> {
      if (closed) throw new KbsStoreError('STORE_CLOSED', 'the store is closed');
      let client: pg.PoolClient;
      try {
        client = await pool.connect();
      } catch (err) {
        throw new KbsStoreError('STORE_UNAVAILABLE', `cannot connect to PostgreSQL at ${location}: ${(err as Error).message}`, {
          cause: err,
          hint: 'check that the server runs and the URL (host, port, database, user) is right',
        });
      }
      const q: SqlQuery = {
        async all(sql, params: readonly SqlParam[] = []) {
          return (await client.query(numbered(sql), params as SqlParam[])).rows as SqlRow[];
        },
        async run(sql, params: readonly SqlParam[] = []) {
          return (await client.query(numbered(sql), params as SqlParam[])).rowCount ?? 0;
        },
      };
      let broken = false;
      try {
        if (mode === 'write') {
          // One round trip: a parameterless multi-statement simple query.
          await client.query(`BEGIN; SELECT pg_advisory_xact_lock(${WRITE_LOCK_KEY})`);
        } else {
          await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
        }
        const result = await fn(q);
        await client.query('COMMIT');
        return result;
      } catch (err) {
        try {
          await client.query('ROLLBACK');
        } catch {
          broken = true;
        }
        if (isConnectionError(err)) {
          broken = true;
          throw new KbsStoreError('STORE_UNAVAILABLE', `PostgreSQL at ${location} failed: ${(err as Error).message}`, { cause: err, hint: 'check the database server' });
        }
        throw err;
      } finally {
        client.release(broken);
      }
    },
    async single(sql, params) {
      if (closed) throw new KbsStoreError('STORE_CLOSED', 'the store is closed');
      try {
        // Autocommit on a pooled connection: one round trip, no advisory lock.
        const r = await pool.query(numbered(sql), params as SqlParam[]);
        return { rows: r.rows as SqlRow[], changes: r.rowCount ?? 0 };
      } catch (err) {
        if (isConnectionError(err) || /timeout exceeded when trying to connect|Connection terminated/i.test((err as Error).message ?? '')) {
          throw new KbsStoreError('STORE_UNAVAILABLE', `PostgreSQL at ${location} failed: ${(err as Error).message}`, { cause: err, hint: 'check the database server' });
        }
        throw err;
      }
    },
    async scrub() {
      if (closed) return;
      const client = await pool.connect();
      try {
        // VACUUM cannot run inside a transaction block; it reclaims the dead tuple
        // that still held the destroyed version's ciphertext.
        await client.query('VACUUM secret_versions');
      } finally {
        client.release();
      }
    },
    async close() {
      if (closed) return;
      closed = true;
      await pool.end();
    },
  };
}

function isConnectionError(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' && (/^08/.test(code) || code === '57P01' || code === 'ECONNREFUSED' || code === 'ECONNRESET' || code === 'ENOENT');
}
