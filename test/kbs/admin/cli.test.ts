/**
 * The CLI as a user runs it (child processes) against a real broker data half
 * and admin plugin on loopback HTTP. Kept to a few invocations: each CLI start
 * costs seconds under tsx.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import Database from 'better-sqlite3';
import { REPO_ROOT, type CliResult } from '../../helpers/cli.js';
import { openKbsData, type KbsData } from '../../../src/kbs/secrets/open-kbs-data.js';
import { adminRoutes } from '../../../src/kbs/admin/routes.js';
import { readTokenFile } from '../../../src/kbs/admin/cli.js';

const MAIN = join(REPO_ROOT, 'src/cli/run.ts');
let dir: string;
let dbPath: string;
let data: KbsData;
let app: FastifyInstance;
let url: string;
let tokenFile: string;

/** Like runCli, but async so independent invocations run side by side. */
function cli(args: string[], input?: string): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], { cwd: REPO_ROOT, env: { ...process.env, KUBETEE_KBS_URL: '', KUBETEE_KBS_TOKEN_FILE: '' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.once('error', reject);
    child.once('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
    child.stdin.end(input ?? '');
  });
}
const conn = (file = tokenFile): string[] => ['--kbs', url, '--token-file', file];

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kubetee-kbs-cli-'));
  dbPath = join(dir, 'data', 'kbs.db');
  tokenFile = join(dir, 'admin-token');
  data = await openKbsData({ db: `sqlite:${dbPath}`, env: { KUBETEE_KBS_MASTER_KEY: Buffer.alloc(32, 9).toString('base64') }, adminTokenFile: tokenFile });
  app = Fastify();
  await app.register(adminRoutes, { service: data.service, tokens: data.tokens });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const addr = app.server.address();
  url = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  await data.service.create('token:seed', { path: 'app/db/password', value: Buffer.from('hunter2') });
});

after(async () => {
  await app.close();
  await data.close();
  rmSync(dir, { recursive: true, force: true });
});

test('the CLI end to end: put from stdin, get, refused role, audit verify over HTTP and --db', async () => {
  const put = await cli(['secret', 'put', 'app/api/key', ...conn(), '--description', 'api key'], 'pa55-from-stdin');
  assert.equal(put.status, 0, put.stderr);
  assert.match(put.stdout, /stored app\/api\/key version 1/);

  const auditor = await data.tokens.create('token:seed', { name: 'reviewer', role: 'auditor' });
  const auditorFile = join(dir, 'auditor-token');
  writeFileSync(auditorFile, auditor.token, { mode: 0o600 });
  const [get, forbidden, viaHttp] = await Promise.all([
    cli(['secret', 'get', 'app/api/key', ...conn()]),
    cli(['secret', 'destroy', 'app/db/password', '--ver', '1', ...conn(auditorFile)]),
    cli(['kbs', 'audit', 'verify', ...conn()]),
  ]);
  assert.equal(get.status, 0, get.stderr);
  assert.equal(get.stdout, 'pa55-from-stdin');

  assert.equal(forbidden.status, 1, forbidden.stdout);
  assert.match(forbidden.stderr, /error \[ROLE_FORBIDDEN\]: role auditor may not secret.destroy/);
  assert.match(forbidden.stderr, /hint:/);
  assert.doesNotMatch(forbidden.stderr, /\s+at\s+\S+\s+\(/);
  assert.equal((await data.service.describe('app/db/password')).versions[0]!.state, 'enabled');

  assert.equal(viaHttp.status, 0, viaHttp.stderr);
  assert.match(viaHttp.stdout, /audit chain OK: \d+ records/);

  // Tamper with the database behind the broker's back; --db names the record.
  const db = new Database(dbPath);
  db.pragma('busy_timeout = 5000');
  db.prepare("UPDATE audit_log SET actor = 'token:someone-else' WHERE seq = 2").run();
  db.close();
  const broken = await cli(['kbs', 'audit', 'verify', '--db', `sqlite:${dbPath}`]);
  assert.equal(broken.status, 1);
  assert.match(broken.stderr, /\[AUDIT_CHAIN_BROKEN\]: audit record 2 is edited/);
});

test('kbs signing-key rotate, then list', async () => {
  const before = (await data.service.tokenSigningKeys())[0]!.kid;
  const rotate = await cli(['kbs', 'signing-key', 'rotate', ...conn()]);
  assert.equal(rotate.status, 0, rotate.stderr);
  const kid = /token signing key (\S+) is now current/.exec(rotate.stdout)?.[1];
  assert.ok(kid && kid !== before, rotate.stdout);
  const list = await cli(['kbs', 'signing-key', 'list', '--json', ...conn()]);
  assert.equal(list.status, 0, list.stderr);
  const keys = JSON.parse(list.stdout) as { kid: string; current: boolean }[];
  assert.deepEqual(keys.map((k) => [k.kid, k.current]), [[kid, true], [before, false]]);
});

test('a token file readable by others is refused before any request', () => {
  const loose = join(dir, 'loose-token');
  writeFileSync(loose, `kbt_${'x'.repeat(43)}\n`);
  chmodSync(loose, 0o644);
  assert.throws(() => readTokenFile(loose), { code: 'TOKEN_FILE_UNUSABLE' });
  chmodSync(loose, 0o600);
  assert.equal(readTokenFile(loose), `kbt_${'x'.repeat(43)}`);
  assert.throws(() => readTokenFile(join(dir, 'absent')), { code: 'FILE_UNREADABLE' });
});
