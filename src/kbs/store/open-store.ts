import { resolve } from 'node:path';
import { KbsStoreError } from './errors.js';
import { openPostgresDriver } from './postgres-driver.js';
import { openSqliteDriver } from './sqlite-driver.js';
import { SqlKbsStore, migrate, type MigrateOptions } from './sql-store.js';
import type { SqlDriver } from './sql-driver.js';
import type { KbsStore } from './types.js';

export type StoreLocation = { dialect: 'sqlite'; path: string } | { dialect: 'postgres'; url: string };

/**
 * Parses `--db`: `sqlite:PATH` (relative paths resolve against `cwd`) or
 * `postgres://…` / `postgresql://…`. Pure.
 */
export function parseStoreUrl(url: string, cwd: string = process.cwd()): StoreLocation {
  if (typeof url === 'string' && url.startsWith('sqlite:')) {
    const path = url.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, '');
    if (path === '') throw new KbsStoreError('STORE_URL_INVALID', '"sqlite:" needs a file path', { hint: 'for example --db sqlite:./.kubetee/kbs.db' });
    return { dialect: 'sqlite', path: path === ':memory:' ? path : resolve(cwd, path) };
  }
  if (typeof url === 'string' && /^postgres(ql)?:\/\//.test(url)) {
    try {
      new URL(url);
    } catch {
      throw new KbsStoreError('STORE_URL_INVALID', 'the PostgreSQL URL is not a valid URL', { hint: 'for example postgres://kbs@127.0.0.1:5432/kbs' });
    }
    return { dialect: 'postgres', url };
  }
  throw new KbsStoreError('STORE_URL_INVALID', `"${String(url).replace(/:\/\/[^@]*@/, '://***@').slice(0, 80)}" is not a database URL`, {
    hint: 'use sqlite:PATH or postgres://USER@HOST:PORT/DB',
  });
}

/** Opens the store named by `url` and brings its schema up to date. */
export async function openKbsStore(
  url: string,
  options: { cwd?: string; readonly?: boolean; upTo?: number; onMigrationApplied?: MigrateOptions['onApplied'] } = {},
): Promise<KbsStore> {
  const loc = parseStoreUrl(url, options.cwd);
  const driver: SqlDriver = loc.dialect === 'sqlite' ? openSqliteDriver(loc.path, { readonly: options.readonly ?? false }) : openPostgresDriver(loc.url);
  try {
    if (!options.readonly) {
      await migrate(driver, {
        ...(options.upTo !== undefined ? { upTo: options.upTo } : {}),
        ...(options.onMigrationApplied ? { onApplied: options.onMigrationApplied } : {}),
      });
      return new SqlKbsStore(driver);
    }
    // Read-only (e.g. `kbs audit verify --db`): change nothing, but say clearly when this is not a broker database.
    const store = new SqlKbsStore(driver);
    let version: number;
    try {
      version = await store.schemaVersion();
    } catch (err) {
      if (err instanceof KbsStoreError) throw err;
      version = 0;
    }
    if (version < 1) {
      throw new KbsStoreError('STORE_UNAVAILABLE', `${driver.location} holds no kubetee key broker schema`, { hint: 'point --db at the database the broker uses' });
    }
    return store;
  } catch (err) {
    await driver.close().catch(() => undefined);
    throw err;
  }
}
