/**
 * Two real `kubetee kbs serve` processes on one database, started together
 * on an empty one (SQLite file shared by two processes; PostgreSQL when
 * available): the protocol steps may land on either process, a nonce is
 * single-use across both, a token from one verifies on the other, and a
 * restarted process still accepts it.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeProtectedHeader, flattenedDecrypt } from 'jose';
import { SimulatedPlatform } from '../../../src/sim/index.js';
import { startTestPostgres, type TestPostgres } from '../../helpers/postgres.js';
import { AUTH_BODY, attestBody, bindingFor, get, post, teeKey } from './raw.js';
import { waitForOutput } from '../../helpers/cli.js';

const CLI = fileURLToPath(new URL('../../../src/cli/run.ts', import.meta.url));
const GOOD = { mrenclave: 'ab'.repeat(32), mrsigner: 'cd'.repeat(32), isvProdId: 1, isvSvn: 3 };
const RESOURCE = '/kbs/v0/resource/default/key/model';

const children = new Set<ChildProcess>();
const root = mkdtempSync(join(tmpdir(), 'kubetee-kbs-serve-replicas-'));
let pgServer: TestPostgres | undefined;
after(async () => {
  for (const c of children) c.kill('SIGKILL');
  await pgServer?.stop();
  rmSync(root, { recursive: true, force: true });
});

const platform = await SimulatedPlatform.create();
const simState = join(root, 'sim-platform.json');
writeFileSync(simState, JSON.stringify(platform.toJSON()), { mode: 0o600 });
const masterKeyFile = join(root, 'master.key');
writeFileSync(masterKeyFile, `${randomBytes(32).toString('base64')}\n`, { mode: 0o600 });

interface Replica {
  child: ChildProcess;
  url: string;
  tokenFile: string;
}

async function serve(db: string, name: string): Promise<Replica> {
  const dir = join(root, name);
  const tokenFile = join(dir, 'admin.token');
  const args = ['kbs', 'serve', '--db', db, '--data-dir', dir, '--listen', '127.0.0.1:0', '--master-key-file', masterKeyFile,
    '--admin-token-file', tokenFile, '--trust-sim-root', simState, '--rate-limit', '1000', '--log-level', 'warn'];
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  child.once('exit', () => children.delete(child));
  const url = /listening on (http:\/\/\S+)/.exec(await waitForOutput(child, /listening on http:\/\/\S+/, 60_000))![1]!;
  return { child, url, tokenFile };
}

function stop(r: Replica): Promise<void> {
  return new Promise((resolve) => {
    if (r.child.exitCode !== null || r.child.signalCode !== null) return resolve();
    r.child.once('exit', () => resolve());
    r.child.kill('SIGTERM');
  });
}

async function attestOn(authOn: Replica, attestOn: Replica) {
  const auth = await post(authOn.url, '/kbs/v0/auth', AUTH_BODY);
  assert.equal(auth.status, 200, JSON.stringify(auth.body));
  const nonce = auth.body['nonce'] as string;
  const { tee, privateKey } = teeKey();
  const body = attestBody(nonce, tee, platform.quote({ ...GOOD, reportData: bindingFor(nonce, tee) }));
  const attested = await post(attestOn.url, '/kbs/v0/attest', body, auth.cookie);
  assert.equal(attested.status, 200, JSON.stringify(attested.body));
  return { cookie: auth.cookie!, body, privateKey, token: attested.body['token'] as string };
}

async function decrypts(res: { status: number; body: Record<string, unknown> }, privateKey: import('node:crypto').KeyObject): Promise<void> {
  assert.equal(res.status, 200, JSON.stringify(res.body));
  const jwe = res.body as unknown as Parameters<typeof flattenedDecrypt>[0];
  assert.equal(Buffer.from((await flattenedDecrypt(jwe, privateKey)).plaintext).toString(), 'model-key-v1');
}

async function scenario(db: string, tag: string): Promise<void> {
  // Started together on an empty database: one migrates, one creates the admin token and the signing key.
  const [a, b] = await Promise.all([serve(db, `${tag}-a`), serve(db, `${tag}-b`)]);
  const tokenFiles = [a.tokenFile, b.tokenFile].filter((f) => existsSync(f));
  assert.equal(tokenFiles.length, 1, 'exactly one process created the first admin token');
  const admin = readFileSync(tokenFiles[0]!, 'utf8').trim();
  const put = await fetch(`${b.url}/admin/v1/secrets/default/key/model`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
    body: JSON.stringify({ value: Buffer.from('model-key-v1').toString('base64') }),
  });
  assert.equal(put.status, 200, await put.text());

  // /auth on A, /attest on B, /resource on A (cookie) and on B.
  const s1 = await attestOn(a, b);
  await decrypts(await get(a.url, RESOURCE, s1.cookie), s1.privateKey);
  await decrypts(await get(b.url, RESOURCE, s1.cookie), s1.privateKey);
  for (const on of [a, b]) {
    const replay = await post(on.url, '/kbs/v0/attest', s1.body, s1.cookie);
    assert.deepEqual([replay.status, replay.body['code']], [401, 'KBS_NONCE_REPLAYED']);
  }
  // Both processes sign with the same stored key; a token from B verifies on A and the other way round.
  const s2 = await attestOn(a, a);
  assert.equal(decodeProtectedHeader(s1.token).kid, decodeProtectedHeader(s2.token).kid);
  await decrypts(await get(a.url, RESOURCE, undefined, { authorization: `Bearer ${s1.token}` }), s1.privateKey);
  await decrypts(await get(b.url, RESOURCE, undefined, { authorization: `Bearer ${s2.token}` }), s2.privateKey);

  // Restart A: B's token and the cookie session still work there.
  await stop(a);
  const a2 = await serve(db, `${tag}-a`);
  await decrypts(await get(a2.url, RESOURCE, undefined, { authorization: `Bearer ${s1.token}` }), s1.privateKey);
  await decrypts(await get(a2.url, RESOURCE, s2.cookie), s2.privateKey);
  await Promise.all([stop(a2), stop(b)]);
}

test('two kubetee kbs serve processes on one SQLite file share sessions, nonces and the signing key', async () => {
  await scenario(`sqlite:${join(root, 'db', 'kbs.db')}`, 'sqlite');
});

test('two kubetee kbs serve processes on one PostgreSQL database share sessions, nonces and the signing key', async (t) => {
  const started = await startTestPostgres();
  if ('skip' in started) return t.skip(started.skip);
  pgServer = started;
  await scenario(await started.createDatabase(), 'pg');
});
