import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { openKbsData, type KbsData } from '../../kbs/secrets/open-kbs-data.js';
import { ADMIN_PREFIX } from '../../kbs/admin/routes.js';
import { kbsPlugin } from '../../kbs/server.js';
import { staticCollateral } from '../../kbs/protocol/collateral-source.js';
import { QuoteVerifier, type QuoteCollateralV3Json } from '../../attestation/index.js';
import type { Logger } from '../../common/log.js';
import type { SimPlatformStore } from '../sim-platform-store.js';
import type { ControlPlaneComponent } from '../control-plane.js';
import { brokerPart } from './broker-views.js';

/** Where the local stack keeps the key broker's files inside the data dir. */
export function brokerPaths(dataDir: string): { db: string; dbDir: string; masterKeyFile: string; adminTokenFile: string } {
  const dbDir = join(dataDir, 'kbs');
  return {
    dbDir,
    db: `sqlite:${join(dbDir, 'kbs.sqlite')}`,
    // Outside the database's directory, as the keyring loader insists; still in the
    // data dir because this is a single-machine development stack.
    masterKeyFile: join(dataDir, 'kbs-master.key'),
    adminTokenFile: join(dataDir, 'admin-token'),
  };
}

/** Creates the development master key once (0600); later starts reuse it so stored secrets stay readable. */
function ensureMasterKey(file: string): void {
  if (existsSync(file)) return;
  writeFileSync(file, `${randomBytes(32).toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
}

export interface LocalBroker {
  data: KbsData;
  views: ReturnType<typeof brokerPart>;
  component: ControlPlaneComponent;
  adminTokenFile: string;
}

/**
 * A verifier that trusts exactly the current simulated platform's root. The
 * platform can be re-provisioned (`/dev/simulated-platform/update`), so the
 * verifier is rebuilt whenever the root changes; the Intel root is NOT
 * trusted here, so production quotes never reach this development broker.
 */
function simRootVerifier(sim: SimPlatformStore): Pick<QuoteVerifier, 'verify'> {
  let current: { root: Uint8Array; verifier: QuoteVerifier } | undefined;
  return {
    verify(quote: Uint8Array, collateral: QuoteCollateralV3Json | Parameters<QuoteVerifier['verify']>[1], options?: { at?: Date }) {
      const root = sim.platform.rootCaDer;
      if (!current || current.root !== root) current = { root, verifier: new QuoteVerifier({ trustedRootCaDer: [root] }) };
      return current.verifier.verify(quote, collateral, options);
    },
  };
}

/**
 * Opens the key broker's store in the data dir and mounts the whole broker
 * (Trustee KBS protocol under /kbs/v0, admin API under /admin/v1), verifying
 * quotes against the simulated platform's root and collateral.
 */
export async function openLocalBroker(dataDir: string, sim: SimPlatformStore, logger: Logger): Promise<LocalBroker> {
  const paths = brokerPaths(dataDir);
  mkdirSync(paths.dbDir, { recursive: true, mode: 0o700 });
  ensureMasterKey(paths.masterKeyFile);
  const data = await openKbsData({ db: paths.db, masterKeyFile: paths.masterKeyFile, adminTokenFile: paths.adminTokenFile });
  const component: ControlPlaneComponent = {
    name: 'key broker',
    register: async (app) => {
      await app.register(kbsPlugin, {
        service: data.service,
        tokens: data.tokens,
        verifier: simRootVerifier(sim),
        collateral: staticCollateral(() => [sim.platform.collateral()]),
        logger,
        trustsSimulatedRoot: true,
      });
    },
    services: (url) => [
      { name: 'key broker (KBS)', where: `${url}/kbs/v0`, note: 'Trustee protocol; trusts the SIMULATED SGX root: development only' },
      { name: 'key broker admin', where: `${url}${ADMIN_PREFIX}`, note: `bearer token in ${paths.adminTokenFile}` },
    ],
    close: () => data.close(),
  };
  return { data, views: brokerPart(data.service), component, adminTokenFile: paths.adminTokenFile };
}
