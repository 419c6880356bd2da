import { openKbsStore, parseStoreUrl } from '../store/open-store.js';
import type { KbsStore } from '../store/types.js';
import { loadKeyring } from '../crypto/load-keyring.js';
import type { Keyring } from '../crypto/keyring.js';
import { TokenService } from '../auth/tokens.js';
import { bootstrapAdminToken, bootstrapAdminTokenFromFile, type BootstrapResult } from '../auth/bootstrap.js';
import { SecretService } from './service.js';
import { RowMac } from '../crypto/row-mac.js';
import { ROW_MAC_MIGRATION } from '../store/migrations.js';
import { macLegacyRows } from './row-mac-upgrade.js';

export interface OpenKbsDataOptions {
  /** `sqlite:PATH` or `postgres://…`. */
  db: string;
  /** Master keyring file; else `env.KUBETEE_KBS_MASTER_KEY`. */
  masterKeyFile?: string | undefined;
  env?: Record<string, string | undefined>;
  /** Where the first start writes the bootstrap admin token (0600). */
  adminTokenFile: string;
  /**
   * When set, the first admin token (store without any token) is the value
   * read from this file instead of a generated one written to
   * `adminTokenFile`; nothing is written. Ignored once tokens exist.
   */
  bootstrapTokenFile?: string | undefined;
  clock?: () => Date;
}

/** The broker's data half, opened and ready: what `kbs serve` hands to `adminRoutes` and the release path. */
export interface KbsData {
  store: KbsStore;
  keyring: Keyring;
  service: SecretService;
  tokens: TokenService;
  /** What the first-start check did; print `bootstrap.file` when `created`. */
  bootstrap: BootstrapResult;
  /**
   * Set when this start applied the row-MAC schema upgrade: how many existing
   * policy and admin token rows were MAC'd (also in the audit chain as
   * `row-mac.upgrade`); log it.
   */
  rowMacUpgrade: { policies: number; tokens: number } | undefined;
  /**
   * Re-reads the master keyring from the same file or variable and swaps it
   * in without a restart (wire it to SIGHUP). Fails closed: on any error the
   * current keyring stays. Returns the new active key id.
   */
  reloadKeyring(): string;
  close(): Promise<void>;
}

/**
 * Loads the master keyring (fails closed before touching the database),
 * opens and migrates the store, and creates the first admin token if there is
 * none yet.
 */
export async function openKbsData(options: OpenKbsDataOptions): Promise<KbsData> {
  const loc = parseStoreUrl(options.db);
  const load = (): Keyring => loadKeyring({ file: options.masterKeyFile, env: options.env ?? {}, dataPath: loc.dialect === 'sqlite' ? loc.path : undefined });
  let keyring = load();
  let store: KbsStore;
  const clock = options.clock ?? (() => new Date());
  let rowMacUpgrade: { policies: number; tokens: number } | undefined;
  try {
    // The row-MAC migration MACs the rows that exist at that moment in its own transaction (one time, audited).
    store = await openKbsStore(options.db, {
      onMigrationApplied: async (version, tx) => {
        if (version === ROW_MAC_MIGRATION) rowMacUpgrade = await macLegacyRows(tx, new RowMac(keyring), clock());
      },
    });
  } catch (err) {
    keyring.wipe();
    throw err;
  }
  const service = new SecretService({ store, keyring, clock });
  const tokens = new TokenService({ store, clock, keyring: () => keyring });
  try {
    const bootstrap =
      options.bootstrapTokenFile !== undefined ? await bootstrapAdminTokenFromFile(tokens, options.bootstrapTokenFile) : await bootstrapAdminToken(tokens, options.adminTokenFile);
    return {
      store,
      get keyring() {
        return keyring;
      },
      service,
      tokens,
      bootstrap,
      rowMacUpgrade,
      reloadKeyring() {
        const next = load();
        const previous = service.replaceKeyring(next);
        keyring = next;
        // Operations that started with the old keyring finish within a request's lifetime.
        setTimeout(() => previous.wipe(), 60_000).unref();
        return next.active.id;
      },
      async close() {
        await store.close();
        keyring.wipe();
      },
    };
  } catch (err) {
    await store.close().catch(() => undefined);
    keyring.wipe();
    throw err;
  }
}
