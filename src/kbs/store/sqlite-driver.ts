import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { KbsStoreError } from './errors.js';
import { AsyncMutex, type SqlDriver, type SqlParam, type SqlQuery, type SqlRow } from './sql-driver.js';
import type { TxMode } from './types.js';

/*
 * One mutex per database file in this process. better-sqlite3 is synchronous:
 * if a second connection to the same file tried BEGIN IMMEDIATE while the
 * first held the lock across an await, its busy-wait would block the only
 * thread, and with it the first connection's commit. Sharing the mutex makes
 * such connections queue instead. Other processes are handled by the file
 * lock and busy_timeout.
 */
const fileMutexes = new Map<string, { mutex: AsyncMutex; users: number }>();

function mutexFor(path: string): AsyncMutex {
  if (path === ':memory:') return new AsyncMutex();
  const entry = fileMutexes.get(path) ?? { mutex: new AsyncMutex(), users: 0 };
  entry.users++;
  fileMutexes.set(path, entry);
  return entry.mutex;
}

function releaseMutex(path: string): void {
  const entry = fileMutexes.get(path);
  if (entry && --entry.users <= 0) fileMutexes.delete(path);
}

/**
 * SQLite through better-sqlite3. WAL lets readers (e.g. `audit verify --db`)
 * run beside the server; synchronous=FULL makes every COMMIT durable before it
 * returns (the crash test relies on it); secure_delete zeroes freed pages so a
 * destroyed version's ciphertext does not linger in the file.
 */
export function openSqliteDriver(path: string, options: { readonly?: boolean } = {}): SqlDriver {
  let db: Database.Database;
  try {
    if (!options.readonly && path !== ':memory:') mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    db = new Database(path, { readonly: options.readonly ?? false, fileMustExist: options.readonly ?? false });
    db.pragma('busy_timeout = 5000');
    if (!options.readonly) {
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = FULL');
      db.pragma('secure_delete = ON');
    }
    db.pragma('foreign_keys = ON');
  } catch (err) {
    throw new KbsStoreError('STORE_UNAVAILABLE', `cannot open the SQLite database ${path}: ${(err as Error).message}`, {
      cause: err,
      hint: options.readonly ? 'check the path given with --db' : 'check that the directory exists and is writable',
    });
  }
  const mutex = mutexFor(path);
  const statements = new Map<string, Database.Statement>();
  let closed = false;

  const prepare = (sql: string): Database.Statement => {
    let st = statements.get(sql);
    if (!st) {
      st = db.prepare(sql);
      statements.set(sql, st);
    }
    return st;
  };
  const query: SqlQuery = {
    async all(sql, params: readonly SqlParam[] = []) {
      return prepare(sql).all(...params) as SqlRow[];
    },
    async run(sql, params: readonly SqlParam[] = []) {
      return prepare(sql).run(...params).changes;
    },
  };

  return {
    dialect: 'sqlite',
    location: `sqlite:${path}`,
    transaction<T>(mode: TxMode, fn: (q: SqlQuery) => Promise<T>): Promise<T> {
      return mutex.run(async () => {
        if (closed) throw new KbsStoreError('STORE_CLOSED', 'the store is closed');
        try {
          // IMMEDIATE takes the write lock up front, so writers from other processes queue (busy_timeout) instead of deadlocking.
          db.exec(mode === 'write' ? 'BEGIN IMMEDIATE' : 'BEGIN');
        } catch (err) {
          throw new KbsStoreError('STORE_UNAVAILABLE', `SQLite ${path} is busy or unusable: ${(err as Error).message}`, { cause: err, hint: 'another process may hold the database; retry' });
        }
        try {
          const result = await fn(query);
          db.exec('COMMIT');
          return result;
        } catch (err) {
          if (db.inTransaction) db.exec('ROLLBACK');
          throw asStoreError(err, path);
        }
      });
    },
    single(sql, params, statementOptions = {}) {
      return mutex.run(async () => {
        if (closed) throw new KbsStoreError('STORE_CLOSED', 'the store is closed');
        const relax = statementOptions.relaxed === true && !options.readonly;
        try {
          const st = prepare(sql);
          // NORMAL in WAL mode: the commit is atomic and ordered, written to the WAL but not fsynced;
          // the next FULL commit (any audited write) or checkpoint makes it durable.
          if (relax) prepare('PRAGMA synchronous = NORMAL').run();
          if (st.reader) {
            const rows = st.all(...params) as SqlRow[];
            return { rows, changes: rows.length };
          }
          return { rows: [], changes: st.run(...params).changes };
        } catch (err) {
          throw asStoreError(err, path);
        } finally {
          if (relax) prepare('PRAGMA synchronous = FULL').run();
        }
      });
    },
    scrub() {
      return mutex.run(async () => {
        if (closed || options.readonly) return;
        // Copies the pages (already zeroed by secure_delete) into the main file
        // and truncates the WAL, so old page images with the erased value go too.
        db.pragma('wal_checkpoint(TRUNCATE)');
      });
    },
    async close() {
      await mutex.run(async () => {
        if (closed) return;
        closed = true;
        statements.clear();
        db.close();
        releaseMutex(path);
      });
    },
  };
}

/**
 * SQLite I/O failures (disk full, read-only file, corruption) become a typed
 * STORE_UNAVAILABLE; our own errors and programming errors pass through.
 */
function asStoreError(err: unknown, path: string): unknown {
  const code = (err as { code?: unknown }).code;
  if (err instanceof KbsStoreError || typeof code !== 'string' || !code.startsWith('SQLITE_') || code.startsWith('SQLITE_CONSTRAINT')) return err;
  return new KbsStoreError('STORE_UNAVAILABLE', `SQLite ${path} failed: ${(err as Error).message} (${code})`, {
    cause: err,
    hint: 'check free disk space, file permissions and the database file',
  });
}
