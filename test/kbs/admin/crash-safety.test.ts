/**
 * Crash safety: the real broker (`kubetee kbs serve` in a child process)
 * takes concurrent writes over HTTP and is SIGKILLed at a random moment,
 * several rounds in a row. After each restart every write the
 * server acknowledged must be present with its exact value, and the audit
 * chain must verify. Runs against SQLite and, when available, PostgreSQL.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { openKbsStore } from '../../../src/kbs/store/open-store.js';
import { verifyAuditChain } from '../../../src/kbs/audit/append.js';
import { startTestPostgres, type TestPostgres } from '../../helpers/postgres.js';
import { waitForOutput } from '../../helpers/cli.js';

const CLI = fileURLToPath(new URL('../../../src/cli/run.ts', import.meta.url));
const WRITERS = 4;

const children = new Set<ChildProcess>();
let pgServer: TestPostgres | undefined;
// One simulated platform state for both tests (created by the first `kbs serve`; creating one costs CPU).
const shared = mkdtempSync(join(tmpdir(), 'kubetee-kbs-crash-sim-'));
after(async () => {
  for (const c of children) c.kill('SIGKILL');
  await pgServer?.stop();
  rmSync(shared, { recursive: true, force: true });
});

interface BrokerFiles {
  db: string;
  dir: string;
  tokenFile: string;
  masterKeyFile: string;
}

/** Starts `kubetee kbs serve` on a free loopback port; resolves with its URL once it listens. */
async function startBroker(f: BrokerFiles): Promise<{ child: ChildProcess; url: string }> {
  const args = ['kbs', 'serve', '--db', f.db, '--data-dir', join(f.dir, 'data'), '--listen', '127.0.0.1:0', '--master-key-file', f.masterKeyFile,
    '--admin-token-file', f.tokenFile, '--trust-sim-root', join(shared, 'sim-platform.json'), '--log-level', 'warn'];
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  child.once('exit', () => children.delete(child));
  const url = /listening on (http:\/\/\S+)/.exec(await waitForOutput(child, /listening on http:\/\/\S+/, 30_000))![1]!;
  return { child, url };
}

function killHard(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

async function api(url: string, token: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> { // eslint-disable-line @typescript-eslint/no-explicit-any
  const r = await fetch(`${url}/admin/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await r.text();
  return { status: r.status, body: text ? JSON.parse(text) : undefined };
}

/** Acknowledged writes: resource path → version → base64 value. */
type Acked = Map<string, Map<number, string>>;

/**
 * Writers loop until the server dies; only 200 replies count as acknowledged.
 * The kill comes after a random number (5-40) of acknowledged writes in this
 * round, while the other writers have requests in flight, so the work per
 * round is bounded and a kill never lands in an idle moment, however fast or
 * slow the machine. A time-based kill (5 s) bounds a stalled round.
 */
async function writeUntilKilled(url: string, token: string, child: ChildProcess, acked: Acked, round: number): Promise<{ attempts: number }> {
  const killAfterAcks = 5 + Math.floor(Math.random() * 36);
  let ackCount = 0;
  let attempts = 0;
  let killing: Promise<void> | undefined;
  const kill = (): Promise<void> => (killing ??= killHard(child));
  const fallback = setTimeout(() => void kill(), 5_000);
  const writer = async (w: number): Promise<void> => {
    for (let i = 0; i < 10_000; i++) {
      attempts++;
      // Alternate between new secrets and new versions of one shared secret.
      const path = i % 2 === 0 ? `crash/r${round}w${w}/s${i}` : 'crash/shared/secret';
      const value = randomBytes(24).toString('base64');
      try {
        const r = await api(url, token, 'PUT', `/secrets/${path}`, { value });
        if (r.status === 200) {
          const versions = acked.get(path) ?? new Map<number, string>();
          versions.set(r.body.currentVersion as number, value);
          acked.set(path, versions);
          if (++ackCount === killAfterAcks) void kill();
        }
      } catch {
        return; // connection died with the server: this write was never acknowledged
      }
    }
  };
  await Promise.all(Array.from({ length: WRITERS }, (_, w) => writer(w)));
  clearTimeout(fallback);
  await kill();
  return { attempts };
}

async function assertAllPresent(url: string, token: string, acked: Acked): Promise<number> {
  let checked = 0;
  for (const [path, versions] of acked) {
    for (const [version, value] of versions) {
      const r = await api(url, token, 'GET', `/secrets/${path}/value?version=${version}`);
      assert.equal(r.status, 200, `acknowledged ${path} v${version} is missing after a crash: ${JSON.stringify(r.body)}`);
      assert.equal(r.body.value, value, `${path} v${version} has a different value after a crash`);
      checked++;
    }
  }
  return checked;
}

/** One listing: every acknowledged path exists with at least its highest acknowledged version. */
async function assertAllListed(url: string, token: string, acked: Acked): Promise<void> {
  const r = await api(url, token, 'GET', '/secrets?prefix=crash%2F&limit=1000');
  assert.equal(r.status, 200);
  const current = new Map<string, number>((r.body.secrets as { path: string; currentVersion: number }[]).map((s) => [s.path, s.currentVersion]));
  // Paths sort alphabetically; 1000 per page is enough for a bounded test run, checked here.
  assert.ok(current.size < 1000, 'too many secrets for one page');
  for (const [path, versions] of acked) {
    const newest = Math.max(...versions.keys());
    assert.ok((current.get(path) ?? 0) >= newest, `${path} v${newest} is missing from the listing after a crash`);
  }
}

async function crashRounds(db: string, dir: string, rounds: number): Promise<string> {
  // The master key lives apart from the data directory, as the broker insists.
  mkdirSync(join(dir, 'keys'), { mode: 0o700 });
  const files: BrokerFiles = { db, dir, tokenFile: join(dir, 'data', 'admin.token'), masterKeyFile: join(dir, 'keys', 'master.key') };
  writeFileSync(files.masterKeyFile, `${randomBytes(32).toString('base64')}\n`, { mode: 0o600 });
  let broker = await startBroker(files);
  const token = readFileSync(files.tokenFile, 'utf8').trim();
  const acked: Acked = new Map();
  let totalAttempts = 0;
  for (let round = 0; round < rounds; round++) {
    const roundAcked: Acked = new Map();
    totalAttempts += (await writeUntilKilled(broker.url, token, broker.child, roundAcked, round)).attempts;
    for (const [path, versions] of roundAcked) {
      const all = acked.get(path) ?? new Map<number, string>();
      for (const [v, value] of versions) all.set(v, value);
      acked.set(path, all);
    }
    broker = await startBroker(files);
    // Every value written in this round is read back; earlier rounds' writes must all still be listed
    // (one request), and after the last round every value ever acknowledged is read back.
    const last = round === rounds - 1;
    await assertAllPresent(broker.url, token, last ? acked : roundAcked);
    await assertAllListed(broker.url, token, acked);
    const v = await api(broker.url, token, 'GET', '/audit/verify');
    assert.equal(v.body.ok, true, `audit chain broken after crash round ${round}: ${JSON.stringify(v.body)}`);
  }
  await killHard(broker.child);
  const ackedCount = [...acked.values()].reduce((n, m) => n + m.size, 0);
  assert.ok(ackedCount >= rounds, `too few acknowledged writes (${ackedCount}) for the test to mean anything`);
  assert.ok(totalAttempts > ackedCount, 'some writes should have been in flight when the server died');
  // The chain also verifies when read directly from the database, after the last kill.
  const store = await openKbsStore(db);
  try {
    const v = await verifyAuditChain(store);
    assert.equal(v.ok, true);
    assert.ok(v.count >= ackedCount);
    return `${rounds} kills, ${totalAttempts} writes attempted, ${ackedCount} acknowledged and verified, ${v.count} audit records`;
  } finally {
    await store.close();
  }
}

test('SQLite: every acknowledged write survives SIGKILL during concurrent writes (8 rounds)', { timeout: 180_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'kubetee-kbs-crash-'));
  try {
    t.diagnostic(await crashRounds(`sqlite:${join(dir, 'data', 'kbs.db')}`, dir, 8));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('PostgreSQL: every acknowledged write survives SIGKILL during concurrent writes (3 rounds)', { timeout: 180_000 }, async (t) => {
  const server = await startTestPostgres();
  if ('skip' in server) {
    t.skip(server.skip);
    return;
  }
  pgServer = server;
  const dir = mkdtempSync(join(tmpdir(), 'kubetee-kbs-crash-pg-'));
  try {
    t.diagnostic(await crashRounds(await server.createDatabase(), dir, 3));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
