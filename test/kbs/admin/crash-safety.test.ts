/**
 * Crash safety: a real broker process (the admin harness: openKbsData +
 * createKbsServer on real HTTP) takes concurrent writes and is SIGKILLed at a
 * random moment, several rounds in a row. After each restart every write the
 * server acknowledged must be present with its exact value, and the audit
 * chain must verify. Runs against SQLite and, when available, PostgreSQL.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { openKbsStore } from '../../../src/kbs/store/open-store.js';
import { verifyAuditChain } from '../../../src/kbs/audit/append.js';
import { startTestPostgres, type TestPostgres } from '../../helpers/postgres.js';

const HARNESS = fileURLToPath(new URL('../helpers/admin-harness.ts', import.meta.url));
const MASTER = randomBytes(32).toString('base64');
const WRITERS = 4;

const children = new Set<ChildProcess>();
let pgServer: TestPostgres | undefined;
after(async () => {
  for (const c of children) c.kill('SIGKILL');
  await pgServer?.stop();
});

async function startBroker(db: string, tokenFile: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', HARNESS, db, tokenFile], {
    env: { ...process.env, KUBETEE_KBS_MASTER_KEY: MASTER },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  child.once('exit', () => children.delete(child));
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`broker did not start: ${out}`)), 30_000);
    const onData = (c: Buffer): void => {
      out += c.toString();
      const m = /listening (http:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`broker exited (${code}): ${out}`));
    });
  });
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

/** Writers loop until `stop` resolves; only 200 replies count as acknowledged. */
async function writeUntil(url: string, token: string, stop: Promise<void>, acked: Acked, round: number): Promise<number> {
  let stopped = false;
  void stop.then(() => (stopped = true));
  let attempts = 0;
  const writer = async (w: number): Promise<void> => {
    for (let i = 0; !stopped && i < 10_000; i++) {
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
        }
      } catch {
        return; // connection died with the server: this write was never acknowledged
      }
    }
  };
  await Promise.all(Array.from({ length: WRITERS }, (_, w) => writer(w)));
  return attempts;
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

async function crashRounds(db: string, dir: string, rounds: number): Promise<string> {
  const tokenFile = join(dir, 'admin-token');
  let broker = await startBroker(db, tokenFile);
  const token = readFileSync(tokenFile, 'utf8').trim();
  const acked: Acked = new Map();
  let totalAttempts = 0;
  for (let round = 0; round < rounds; round++) {
    // Kill after 150-650 ms of writing: a random point inside a burst of commits.
    const killAfterMs = 150 + Math.floor(Math.random() * 500);
    const killed = new Promise<void>((resolve) => setTimeout(() => void killHard(broker.child).then(resolve), killAfterMs));
    totalAttempts += await writeUntil(broker.url, token, killed, acked, round);
    await killed;
    broker = await startBroker(db, tokenFile);
    const checked = await assertAllPresent(broker.url, token, acked);
    assert.equal(checked, [...acked.values()].reduce((n, m) => n + m.size, 0));
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
    t.diagnostic(await crashRounds(`sqlite:${join(dir, 'kbs.db')}`, dir, 8));
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
