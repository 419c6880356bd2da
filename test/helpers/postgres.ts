/**
 * A real, throwaway PostgreSQL server for tests (Debian's postgresql package),
 * or the server named by KUBETEE_TEST_PG_URL. Each caller gets its own fresh
 * database, so parallel test files never share state.
 *
 * When CI is set and no server can be had, `startTestPostgres` throws (the
 * test fails); otherwise it returns `{ skip: reason }` so a developer machine
 * without PostgreSQL still runs the SQLite half.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { freePort } from './net.js';

export interface TestPostgres {
  /** Creates an empty database and returns its URL. */
  createDatabase(): Promise<string>;
  /** Stops the server (if this helper started it) and removes its files. */
  stop(): Promise<void>;
}

const STARTUP_TIMEOUT_MS = 30_000;

function findBinDir(): string | undefined {
  const base = '/usr/lib/postgresql';
  if (!existsSync(base)) return undefined;
  const versions = readdirSync(base)
    .filter((v) => existsSync(join(base, v, 'bin', 'postgres')))
    .sort((a, b) => Number(b) - Number(a));
  return versions.length ? join(base, versions[0]!, 'bin') : undefined;
}


async function waitReady(url: string, child: ChildProcess | undefined, log: () => string): Promise<void> {
  const deadline = Date.now() + STARTUP_TIMEOUT_MS;
  let lastError = '';
  while (Date.now() < deadline) {
    if (child && child.exitCode !== null) throw new Error(`postgres exited with ${child.exitCode}: ${log()}`);
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
    try {
      await client.connect();
      await client.query('SELECT 1');
      await client.end();
      return;
    } catch (err) {
      lastError = (err as Error).message;
      await client.end().catch(() => undefined);
      await new Promise((r) => setTimeout(r, 150));
    }
  }
  throw new Error(`postgres did not accept connections within ${STARTUP_TIMEOUT_MS} ms (${lastError}): ${log()}`);
}

function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

function serverFor(adminUrl: string, stop: () => Promise<void>): TestPostgres {
  const created: string[] = [];
  return {
    async createDatabase() {
      const name = `kbs_test_${randomBytes(6).toString('hex')}`;
      const client = new pg.Client({ connectionString: adminUrl });
      await client.connect();
      try {
        await client.query(`CREATE DATABASE ${name}`);
      } finally {
        await client.end();
      }
      created.push(name);
      return withDatabase(adminUrl, name);
    },
    async stop() {
      await stop();
    },
  };
}

async function startLocalServer(): Promise<TestPostgres> {
  const bin = findBinDir();
  if (!bin) throw new Error('PostgreSQL server binaries not found under /usr/lib/postgresql (apt-get install postgresql)');
  const asRoot = process.getuid?.() === 0;
  const dir = mkdtempSync(join(tmpdir(), 'kubetee-pg-'));
  const dataDir = join(dir, 'data');
  const runAs = (cmd: string, args: string[]): [string, string[]] => (asRoot ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args]);
  if (asRoot) {
    const pw = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
    const gid = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
    if (pw.status !== 0) throw new Error('running as root but there is no postgres user to run the server as');
    chownSync(dir, Number(pw.stdout.trim()), Number(gid.stdout.trim()));
  }
  const [initCmd, initArgs] = runAs(join(bin, 'initdb'), ['-D', dataDir, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--no-sync', '--no-instructions']);
  const init = spawnSync(initCmd, initArgs, { encoding: 'utf8', timeout: STARTUP_TIMEOUT_MS });
  if (init.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`initdb failed (${init.status}): ${init.stderr || init.error?.message}`);
  }
  let lastErr: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    // fsync off: these tests crash the broker process, never PostgreSQL itself,
    // so PostgreSQL's own durability is not under test and fsync only costs time.
    const [cmd, args] = runAs(join(bin, 'postgres'), [
      '-D', dataDir, '-p', String(port), '-k', dir, '-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off', '-c', 'full_page_writes=off', '-c', 'max_connections=60', '-c', 'shared_buffers=16MB',
    ]);
    const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    child.stderr?.on('data', (c: Buffer) => {
      log = (log + c.toString()).slice(-4000);
    });
    const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
    try {
      await waitReady(url, child, () => log);
    } catch (err) {
      lastErr = err;
      child.kill('SIGKILL');
      continue;
    }
    const stop = async (): Promise<void> => {
      // Signal the postmaster itself (runuser may not forward signals), then wait.
      const pidFile = join(dataDir, 'postmaster.pid');
      const pid = existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8').split('\n')[0]) : undefined;
      const exited = new Promise<void>((r) => (child.exitCode !== null ? r() : child.once('exit', () => r())));
      try {
        if (pid) process.kill(pid, 'SIGQUIT');
        else child.kill('SIGTERM');
      } catch {
        /* already gone */
      }
      await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    };
    return serverFor(url, stop);
  }
  rmSync(dir, { recursive: true, force: true });
  throw lastErr instanceof Error ? lastErr : new Error(String(lastErr));
}

/**
 * Starts (or connects to) PostgreSQL. Resolves to a server, or to
 * `{ skip }` outside CI when none is available.
 */
export async function startTestPostgres(): Promise<TestPostgres | { skip: string }> {
  const external = process.env['KUBETEE_TEST_PG_URL'];
  try {
    if (external) {
      await waitReady(external, undefined, () => '');
      return serverFor(external, async () => undefined);
    }
    return await startLocalServer();
  } catch (err) {
    if (process.env['CI']) throw new Error(`PostgreSQL is required in CI but could not be started: ${(err as Error).message}`);
    return { skip: `PostgreSQL unavailable: ${(err as Error).message}` };
  }
}
