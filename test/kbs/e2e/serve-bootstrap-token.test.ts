/**
 * `kubetee kbs serve --bootstrap-token-file`: real processes. Two brokers
 * starting together on one empty database with the same file converge on
 * that token (it works on the admin API of both, nothing is written to the
 * data directories, the token is never printed); a malformed file stops the
 * broker with a typed error that does not echo the file.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SimulatedPlatform } from '../../../src/sim/index.js';
import { waitForOutput } from '../../helpers/cli.js';

const CLI = fileURLToPath(new URL('../../../src/cli/run.ts', import.meta.url));
const children = new Set<ChildProcess>();
const root = mkdtempSync(join(tmpdir(), 'kubetee-kbs-serve-boot-'));
after(() => {
  for (const c of children) c.kill('SIGKILL');
  rmSync(root, { recursive: true, force: true });
});

const platform = await SimulatedPlatform.create();
const simState = join(root, 'sim-platform.json');
writeFileSync(simState, JSON.stringify(platform.toJSON()), { mode: 0o600 });
const masterKeyFile = join(root, 'master.key');
writeFileSync(masterKeyFile, `${randomBytes(32).toString('base64')}\n`, { mode: 0o600 });

function start(db: string, name: string, bootstrapFile: string, extra: string[] = []): { child: ChildProcess; dir: string; out: () => string } {
  const dir = join(root, name);
  const args = ['kbs', 'serve', '--db', db, '--data-dir', dir, '--listen', '127.0.0.1:0', '--master-key-file', masterKeyFile,
    '--bootstrap-token-file', bootstrapFile, '--trust-sim-root', simState, '--log-level', 'warn', ...extra];
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let text = '';
  child.stdout!.on('data', (c: Buffer) => (text += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (text += c.toString()));
  child.once('exit', () => children.delete(child));
  return { child, dir, out: () => text };
}

function exited(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve(child.exitCode) : child.once('exit', (code) => resolve(code))));
}

test('two kbs serve processes with the same --bootstrap-token-file on one empty database share that one admin token', async () => {
  const token = `kbt_${randomBytes(32).toString('base64url')}`;
  const file = join(root, 'bootstrap-token');
  writeFileSync(file, `${token}\n`, { mode: 0o400 });
  const db = `sqlite:${join(root, 'db', 'kbs.db')}`;
  const a = start(db, 'a', file);
  const b = start(db, 'b', file);
  const urls = await Promise.all([a, b].map(async (r) => /listening on (http:\/\/\S+)/.exec(await waitForOutput(r.child, /listening on http:\/\/\S+/, 60_000))![1]!));
  try {
    const created = [a, b].filter((r) => /first admin token created from /.test(r.out()));
    assert.equal(created.length, 1, `${a.out()}\n${b.out()}`);
    for (const r of [a, b]) {
      assert.ok(!r.out().includes(token), 'the token is never printed');
      assert.ok(!existsSync(join(r.dir, 'admin.token')), 'nothing written to the data directory');
    }
    for (const url of urls) {
      const res = await fetch(`${url}/admin/v1/tokens`, { headers: { authorization: `Bearer ${token}` } });
      assert.equal(res.status, 200, await res.clone().text());
      const body = (await res.json()) as { tokens?: unknown[] } | unknown[];
      const list = Array.isArray(body) ? body : (body.tokens ?? []);
      assert.equal(list.length, 1, JSON.stringify(body));
    }
  } finally {
    for (const r of [a, b]) r.child.kill('SIGTERM');
    await Promise.all([a, b].map((r) => exited(r.child)));
  }
});

test('kbs serve: a malformed --bootstrap-token-file is a typed error that does not echo the file; with --admin-token-file it is a usage error', async () => {
  const file = join(root, 'bad-token');
  const bad = `kbt_${'Z'.repeat(40)}`;
  writeFileSync(file, bad);
  const r = start(`sqlite:${join(root, 'db2', 'kbs.db')}`, 'bad', file);
  assert.notEqual(await exited(r.child), 0);
  assert.match(r.out(), /BOOTSTRAP_TOKEN_INVALID|broker's format/);
  assert.ok(!r.out().includes(bad));
  assert.ok(!readdirSync(root).includes('bad') || !existsSync(join(root, 'bad', 'admin.token')));
  const both = start(`sqlite:${join(root, 'db3', 'kbs.db')}`, 'both', file, ['--admin-token-file', join(root, 'x.token')]);
  assert.notEqual(await exited(both.child), 0);
  assert.match(both.out(), /--bootstrap-token-file and --admin-token-file/);
});
