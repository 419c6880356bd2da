// `npm run bench kbs-store`: what the key broker's store costs per operation,
// measured side by side with the floor it cannot beat on the same database in
// the same run: one raw durable INSERT+COMMIT (same pragmas / same server).
//   write   = SecretService.put (envelope-encrypt a new version + audit append, one commit)
//   release = getReleasableSecret (read + unwrap + decrypt) + appendAudit (one commit),
//             i.e. the store's share of one attested release
// Reported as ops/s, p50/p99 latency and the ratio to the raw commit.
// PostgreSQL runs when a server can be started (Debian postgresql) or KUBETEE_TEST_PG_URL is set.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import Database from 'better-sqlite3';
import pg from 'pg';
import { openKbsStore } from '../src/kbs/store/open-store.js';
import { SecretService } from '../src/kbs/secrets/service.js';
import { createKeyring } from '../src/kbs/crypto/keyring.js';
import { openValue, sealValue } from '../src/kbs/crypto/envelope.js';
import { startTestPostgres } from '../test/helpers/postgres.js';

const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 2);
const MAX_OPS = 20_000;

interface Result {
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
  n: number;
}

function summarise(lat: number[]): Result {
  const totalMs = lat.reduce((a, b) => a + b, 0);
  const sorted = [...lat].sort((a, b) => a - b);
  return { perSecond: (lat.length * 1000) / totalMs, p50Ms: sorted[Math.floor(sorted.length * 0.5)]!, p99Ms: sorted[Math.floor(sorted.length * 0.99)]!, n: lat.length };
}

/**
 * Runs `ref` and `fn` alternately (one call each per step) for about SECONDS
 * (at most MAX_OPS steps), timing each call, so both see the same machine
 * load; ops/s is computed from the time spent in each.
 */
async function measurePair(ref: ((i: number) => Promise<void> | void) | undefined, fn: (i: number) => Promise<void> | void): Promise<[Result | undefined, Result]> {
  for (let i = 0; i < 10; i++) {
    await ref?.(-1 - i);
    await fn(-1 - i);
  }
  const refLat: number[] = [];
  const lat: number[] = [];
  const deadline = process.hrtime.bigint() + BigInt(Math.round(SECONDS * 1e9));
  for (let i = 0; process.hrtime.bigint() < deadline && i < MAX_OPS; i++) {
    if (ref) {
      const r0 = process.hrtime.bigint();
      await ref(i);
      refLat.push(Number(process.hrtime.bigint() - r0) / 1e6);
    }
    const t0 = process.hrtime.bigint();
    await fn(i);
    lat.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return [ref ? summarise(refLat) : undefined, summarise(lat)];
}

async function measure(fn: (i: number) => Promise<void> | void): Promise<Result> {
  return (await measurePair(undefined, fn))[1];
}

const fmt = (x: number): string => (x >= 100 ? x.toFixed(0) : x >= 1 ? x.toFixed(1) : x.toFixed(3));
function row(name: string, r: Result, ref?: Result): void {
  const ratio = ref ? `  ${(r.perSecond / ref.perSecond).toFixed(2)}x of raw commit` : '';
  console.log(`  ${name.padEnd(34)} ${fmt(r.perSecond).padStart(8)} ops/s   p50 ${fmt(r.p50Ms).padStart(6)} ms   p99 ${fmt(r.p99Ms).padStart(6)} ms   (n=${r.n})${ratio}`);
}

async function benchStore(label: string, url: string, rawCommit: (i: number) => Promise<void> | void): Promise<void> {
  console.log(`\n${label}`);
  const store = await openKbsStore(url);
  const svc = new SecretService({ store, keyring: createKeyring([randomBytes(32)]) });
  try {
    const value = randomBytes(32);
    await svc.create('bench', { path: 'bench/secret/release', value });
    const [rawW, put] = await measurePair(rawCommit, (i) => svc.put('bench', { path: `bench/secret/w${i & 63}`, value }).then(() => undefined));
    row('raw INSERT + COMMIT (floor)', rawW!);
    row('write: put (new version + audit)', put, rawW);
    const [rawR, release] = await measurePair(rawCommit, async () => {
      const s = await svc.getReleasableSecret('bench/secret/release', new Date());
      s.value.fill(0);
      await svc.appendAudit({ actor: 'tee:bench', action: 'resource.release', resource: s.path, outcome: 'success', reason: '', claims: { mrenclave: 'ab'.repeat(32) } });
    });
    row('release: lookup + decrypt + audit', release, rawR);
    row('lookup + decrypt only (no commit)', await measure(async () => {
      (await svc.getReleasableSecret('bench/secret/release', new Date())).value.fill(0);
    }));
    const v = await svc.verifyAudit();
    console.log(`  audit chain after the run: ${v.ok ? `ok, ${v.count} records` : `BROKEN at ${v.seq}`}`);
  } finally {
    await store.close();
  }
}

async function main(): Promise<void> {
  console.log(`kbs store: sequential operations, ${SECONDS}s each (BENCH_SECONDS), node ${process.version}`);
  const ring = createKeyring([randomBytes(32)]);
  const v = randomBytes(32);
  row('envelope seal + open (in memory)', await measure(() => {
    openValue(ring, 'a/b/c', 1, sealValue(ring, 'a/b/c', 1, v)).fill(0);
  }));

  const dir = mkdtempSync(join(tmpdir(), 'kubetee-bench-kbs-'));
  try {
    const rawDb = new Database(join(dir, 'raw.db'));
    rawDb.pragma('journal_mode = WAL');
    rawDb.pragma('synchronous = FULL');
    rawDb.exec('CREATE TABLE t (k INTEGER PRIMARY KEY, v BLOB)');
    const ins = rawDb.prepare('INSERT INTO t (v) VALUES (?)');
    const payload = randomBytes(200);
    await benchStore('SQLite (WAL, synchronous=FULL)', `sqlite:${join(dir, 'kbs.db')}`, () => {
      rawDb.exec('BEGIN IMMEDIATE');
      ins.run(payload);
      rawDb.exec('COMMIT');
    });
    rawDb.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  const server = await startTestPostgres();
  if ('skip' in server) {
    console.log(`\nPostgreSQL: skipped (${server.skip})`);
    return;
  }
  try {
    const url = await server.createDatabase();
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    await client.query('CREATE TABLE raw_t (k BIGSERIAL PRIMARY KEY, v BYTEA)');
    const payload = randomBytes(200);
    await benchStore('PostgreSQL 15 (throwaway server, fsync off: compare ratios, not absolutes)', url, async () => {
      await client.query('BEGIN');
      await client.query('INSERT INTO raw_t (v) VALUES ($1)', [payload]);
      await client.query('COMMIT');
    });
    await client.end();
  } finally {
    await server.stop();
  }
}

await main();
