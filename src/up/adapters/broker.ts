import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { openKbsData, type KbsData } from '../../kbs/secrets/open-kbs-data.js';
import { adminRoutes, ADMIN_PREFIX } from '../../kbs/admin/routes.js';
import { compilePolicy } from '../../kbs/policy/engine.js';
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

/** Opens the key broker's store in the data dir and mounts its admin API. */
export async function openLocalBroker(dataDir: string): Promise<LocalBroker> {
  const paths = brokerPaths(dataDir);
  mkdirSync(paths.dbDir, { recursive: true, mode: 0o700 });
  ensureMasterKey(paths.masterKeyFile);
  const data = await openKbsData({ db: paths.db, masterKeyFile: paths.masterKeyFile, adminTokenFile: paths.adminTokenFile });
  const component: ControlPlaneComponent = {
    name: 'key broker',
    register: async (app) => {
      await app.register(adminRoutes, {
        service: data.service,
        tokens: data.tokens,
        validatePolicy: (document, path) => void compilePolicy(document, `policy for ${path}`),
      });
    },
    services: (url) => [{ name: 'key broker admin', where: `${url}${ADMIN_PREFIX}`, note: `bearer token in ${paths.adminTokenFile}` }],
    close: () => data.close(),
  };
  return { data, views: brokerPart(data.service), component, adminTokenFile: paths.adminTokenFile };
}
