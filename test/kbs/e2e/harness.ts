/**
 * A real key broker on loopback for end-to-end tests: the store engineer's
 * data half (SQLite or PostgreSQL), the real quote verifier trusting a
 * simulated platform's root, and createKbsServer over real HTTP.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { QuoteVerifier } from '../../../src/attestation/index.js';
import { SimulatedPlatform } from '../../../src/sim/index.js';
import { openKbsData, type KbsData } from '../../../src/kbs/secrets/open-kbs-data.js';
import { createKbsServer, type KbsServer, type KbsServerOptions } from '../../../src/kbs/server.js';
import { staticCollateral, type CollateralProvider } from '../../../src/kbs/protocol/collateral-source.js';

export interface Broker {
  url: string;
  data: KbsData;
  server: KbsServer;
  platform: SimulatedPlatform;
  /** Moves the broker's clock (not the platform's) forward. */
  advance(ms: number): void;
  close(): Promise<void>;
}

export interface BrokerOptions {
  /** `postgres://...` or `sqlite:PATH`; default a fresh SQLite file. */
  db?: string;
  /** Master keyring (base64); default a fresh key. Replicas of one broker share it. */
  masterKey?: string;
  platform?: SimulatedPlatform;
  collateral?: CollateralProvider;
  verifier?: KbsServerOptions['verifier'];
  clock?: () => Date;
  server?: Partial<KbsServerOptions>;
  /** Loopback port to listen on (default: any free one). */
  port?: number;
}

export async function startBroker(options: BrokerOptions = {}): Promise<Broker> {
  const dir = mkdtempSync(join(tmpdir(), 'kubetee-kbs-e2e-'));
  let offsetMs = 0;
  const baseClock = options.clock ?? (() => new Date());
  const clock = (): Date => new Date(baseClock().getTime() + offsetMs);
  const platform = options.platform ?? (await SimulatedPlatform.create());
  const data = await openKbsData({
    db: options.db ?? `sqlite:${join(dir, 'kbs.db')}`,
    env: { KUBETEE_KBS_MASTER_KEY: options.masterKey ?? randomBytes(32).toString('base64') },
    adminTokenFile: join(dir, 'admin.token'),
    clock,
  });
  const server = await createKbsServer({
    service: data.service,
    tokens: data.tokens,
    verifier: options.verifier ?? new QuoteVerifier({ trustedRootCaDer: [platform.rootCaDer] }),
    // Fresh every time, so recoverTcb()/revokePck() show up in the next attestation.
    collateral: options.collateral ?? staticCollateral(() => [platform.collateral()]),
    clock,
    rateLimit: false,
    ...options.server,
  });
  const url = await server.listen({ host: '127.0.0.1', port: options.port ?? 0 });
  return {
    url,
    data,
    server,
    platform,
    advance: (ms) => (offsetMs += ms),
    async close() {
      await server.close();
      await data.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
