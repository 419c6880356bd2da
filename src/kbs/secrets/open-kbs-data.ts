import { openKbsStore, parseStoreUrl } from '../store/open-store.js';
import type { KbsStore } from '../store/types.js';
import { loadKeyring } from '../crypto/load-keyring.js';
import type { Keyring } from '../crypto/keyring.js';
import { TokenService } from '../auth/tokens.js';
import { bootstrapAdminToken, type BootstrapResult } from '../auth/bootstrap.js';
import { SecretService } from './service.js';

export interface OpenKbsDataOptions {
  /** `sqlite:PATH` or `postgres://…`. */
  db: string;
  /** Master keyring file; else `env.KUBETEE_KBS_MASTER_KEY`. */
  masterKeyFile?: string | undefined;
  env?: Record<string, string | undefined>;
  /** Where the first start writes the bootstrap admin token (0600). */
  adminTokenFile: string;
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
  try {
    store = await openKbsStore(options.db);
  } catch (err) {
    keyring.wipe();
    throw err;
  }
  const clock = options.clock ?? (() => new Date());
  const service = new SecretService({ store, keyring, clock });
  const tokens = new TokenService({ store, clock });
  try {
    const bootstrap = await bootstrapAdminToken(tokens, options.adminTokenFile);
    return {
      store,
      get keyring() {
        return keyring;
      },
      service,
      tokens,
      bootstrap,
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
