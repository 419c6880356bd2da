// `KBS_COMPARE_BEFORE=/path/to/other/checkout npm run bench kbs-compare`: the
// attested-release loop of bench/kbs.ts run against two source trees loaded
// side by side in one process (the other checkout, then this one), alternating
// the order each round, so both see the same machine load. Prints each round
// and the medians. How docs/key-broker.md ("Several replicas") compared the
// broker before and after its sessions moved into the store:
//   git worktree add /tmp/kbs-before <commit> && ln -s "$PWD/node_modules" /tmp/kbs-before/
//   KBS_COMPARE_BEFORE=/tmp/kbs-before KBS_COMPARE_ROUNDS=8 npm run bench kbs-compare
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const beforeRoot = process.env['KBS_COMPARE_BEFORE'];
if (!beforeRoot) {
  console.log('  skipped: set KBS_COMPARE_BEFORE to another checkout of kubetee (with node_modules) to compare against');
  process.exit(0);
}
const trees = { before: resolve(beforeRoot), after: resolve(fileURLToPath(new URL('..', import.meta.url))) };
const ROUNDS = Number(process.env['KBS_COMPARE_ROUNDS'] ?? 6);
const RELEASES = Number(process.env['KBS_COMPARE_RELEASES'] ?? 400);
const CONCURRENCY = 4;

/* eslint-disable @typescript-eslint/no-explicit-any -- the other tree's modules are loaded by path */
async function load(root: string): Promise<Record<string, any>> {
  return {
    QuoteVerifier: (await import(join(root, 'src/attestation/index.ts'))).QuoteVerifier,
    openKbsData: (await import(join(root, 'src/kbs/secrets/open-kbs-data.ts'))).openKbsData,
    createKbsServer: (await import(join(root, 'src/kbs/server.ts'))).createKbsServer,
    staticCollateral: (await import(join(root, 'src/kbs/protocol/collateral-source.ts'))).staticCollateral,
    client: await import(join(root, 'src/kbs/client/index.ts')),
  };
}
const mods = { before: await load(trees.before), after: await load(trees.after) };
const { SimulatedPlatform } = await import('../src/sim/index.js');
const { startTestPostgres } = await import('../test/helpers/postgres.js');
const platform = await SimulatedPlatform.create();
const pg = await startTestPostgres();

async function releases(m: Record<string, any>, db: string): Promise<{ rate: number; p50: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'kubetee-bench-kbs-compare-'));
  const data = await m['openKbsData']({ db, env: { KUBETEE_KBS_MASTER_KEY: randomBytes(32).toString('base64') }, adminTokenFile: join(dir, 'admin.token') });
  const server = await m['createKbsServer']({
    service: data.service,
    verifier: new m['QuoteVerifier']({ trustedRootCaDer: [platform.rootCaDer] }),
    collateral: m['staticCollateral']([platform.collateral()]),
    rateLimit: false,
  });
  try {
    const url = await server.listen({ host: '127.0.0.1', port: 0 });
    await data.service.create('token:bench', { path: 'bench/key/model', value: randomBytes(32) });
    const evidence = m['client'].simEvidence(platform, { mrenclave: 'ab'.repeat(32) });
    for (let i = 0; i < 10; i++) await new m['client'].KbsClient({ url, evidence }).getResource('bench/key/model');
    const latencies: number[] = [];
    let next = 0;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < RELEASES) {
          next++;
          const t0 = performance.now();
          await new m['client'].KbsClient({ url, evidence }).getResource('bench/key/model');
          latencies.push(performance.now() - t0);
        }
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    latencies.sort((a, b) => a - b);
    return { rate: latencies.length / seconds, p50: latencies[Math.floor(latencies.length / 2)]! };
  } finally {
    await server.close();
    await data.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
/* eslint-enable @typescript-eslint/no-explicit-any */

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const rates = new Map<string, number[]>();
const p50s = new Map<string, number[]>();
const dialects = 'skip' in pg ? (['sqlite'] as const) : (['sqlite', 'postgres'] as const);
if ('skip' in pg) console.log(`  PostgreSQL skipped: ${pg.skip}`);
console.log(`Attested releases, ${trees.before} (before) against ${trees.after} (after), ${RELEASES} per run, concurrency ${CONCURRENCY}`);
try {
  for (let round = 1; round <= ROUNDS; round++) {
    for (const which of round % 2 ? (['before', 'after'] as const) : (['after', 'before'] as const)) {
      for (const dialect of dialects) {
        const dir = mkdtempSync(join(tmpdir(), 'kubetee-bench-kbs-compare-db-'));
        try {
          const db = dialect === 'sqlite' ? `sqlite:${join(dir, 'kbs.db')}` : await (pg as Exclude<typeof pg, { skip: string }>).createDatabase();
          const r = await releases(mods[which], db);
          const key = `${which} ${dialect}`;
          rates.set(key, [...(rates.get(key) ?? []), r.rate]);
          p50s.set(key, [...(p50s.get(key) ?? []), r.p50]);
          console.log(`  round ${round} ${which.padEnd(6)} ${dialect.padEnd(10)} ${r.rate.toFixed(0).padStart(5)} releases/s   p50 ${r.p50.toFixed(1)} ms   (load ${loadavg()[0]!.toFixed(1)})`);
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      }
    }
  }
  for (const dialect of dialects) {
    const b = rates.get(`before ${dialect}`)!;
    const a = rates.get(`after ${dialect}`)!;
    console.log(`  ${dialect.padEnd(10)} median before ${median(b).toFixed(0)} releases/s (p50 ${median(p50s.get(`before ${dialect}`)!).toFixed(1)} ms), after ${median(a).toFixed(0)} (p50 ${median(p50s.get(`after ${dialect}`)!).toFixed(1)} ms) = ${(median(a) / median(b)).toFixed(2)}x; rounds ranged ${Math.min(...b, ...a).toFixed(0)}-${Math.max(...b, ...a).toFixed(0)}`);
  }
} finally {
  if (!('skip' in pg)) await pg.stop();
}
