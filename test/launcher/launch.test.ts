import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SimulatedPlatform } from '../../src/sim/index.js';
import { startBroker, type Broker } from '../kbs/e2e/harness.js';
import { startCli } from '../helpers/cli.js';
import { freePort } from '../helpers/net.js';

/*
 * `kubetee launch` end to end: the real CLI in a child process, a real key
 * broker over loopback HTTP on SQLite, the simulated SGX platform as the
 * evidence source, and a stand-in application that reports what it received.
 * Gramine's /dev/attestation/keys is a directory here (there is no Gramine on
 * this machine); the key files exist only for declared keys, as in Gramine.
 */

const APP = fileURLToPath(new URL('./fixtures/app.mjs', import.meta.url));
const GOOD = 'a1'.repeat(32);
const BAD = 'b2'.repeat(32);

interface Env {
  dir: string;
  state: string;
  secretsDir: string;
  gramineRoot: string;
  platform: SimulatedPlatform;
}

async function workspace(platform?: SimulatedPlatform): Promise<Env> {
  const dir = mkdtempSync(join(tmpdir(), 'kubetee-launch-'));
  const p = platform ?? (await SimulatedPlatform.create());
  const state = join(dir, 'sim.json');
  writeFileSync(state, JSON.stringify(p.toJSON()), { mode: 0o600 });
  const gramineRoot = join(dir, 'attestation');
  mkdirSync(join(gramineRoot, 'keys'), { recursive: true });
  writeFileSync(join(gramineRoot, 'keys', 'model_fs'), '');
  return { dir, state, secretsDir: join(dir, 'secrets'), gramineRoot, platform: p };
}

const ONLY_GOOD = `rules:\n  - name: model enclave\n    expr: mrenclave == "${GOOD}"\n`;

async function seed(broker: Broker): Promise<void> {
  const s = broker.data.service;
  await s.create('test', { path: 'apps/key/model', value: Buffer.from('model-key-bytes') });
  await s.create('test', { path: 'apps/db/password', value: Buffer.from('hunter2-pässword') });
  await s.create('test', { path: 'apps/api/token', value: new Uint8Array([0, 1, 2, 255]) });
  await s.create('test', { path: 'apps/fs/key', value: new Uint8Array(16).fill(0x5a) });
  for (const p of ['apps/key/model', 'apps/db/password', 'apps/api/token', 'apps/fs/key']) await s.setPolicy('test', p, ONLY_GOOD);
}

function spec(env: Env, url: string, extra: Record<string, unknown> = {}, mrenclave = GOOD): string {
  return JSON.stringify({
    apiVersion: 'kubetee.io/v1alpha1',
    kind: 'LaunchSpec',
    broker: { url },
    attestation: { evidence: 'sim', sim: { state: env.state, mrenclave } },
    gramine: { root: env.gramineRoot },
    deadlineSeconds: 60,
    retry: { initialDelayMs: 50, maxDelayMs: 400 },
    files: { dir: env.secretsDir },
    secrets: [
      { resource: 'apps/key/model', file: 'model.key' },
      { resource: 'apps/db/password', env: 'DB_PASSWORD' },
      { resource: 'apps/api/token', env: 'API_TOKEN_B64', encoding: 'base64' },
      { resource: 'apps/fs/key', gramineKey: 'model_fs' },
    ],
    exec: { env: { SECRETS_DIR: env.secretsDir, PLAIN: 'not secret' } },
    ...extra,
  });
}

interface Run {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs `kubetee launch` asynchronously (the broker lives in this process, so no spawnSync). */
function launch(args: string[], env: NodeJS.ProcessEnv, onOutput?: (seen: string, child: ReturnType<typeof startCli>) => void): Promise<Run> {
  const child = startCli(['launch', ...args], { env: { ...env, KUBETEE_DEBUG: '1' } });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (c: Buffer) => {
    stdout += c.toString();
    onOutput?.(stdout + stderr, child);
  });
  child.stderr!.on('data', (c: Buffer) => {
    stderr += c.toString();
    onOutput?.(stdout + stderr, child);
  });
  return new Promise((resolve) => child.once('close', (status, signal) => resolve({ status, signal, stdout, stderr })));
}

function appReport(run: Run): { argv: string[]; env: Record<string, string | null>; files: Record<string, { content: string; mode: string }> } {
  const line = run.stdout.split('\n').find((l) => l.startsWith('APP {'));
  assert.ok(line, `the application did not run:\n${run.stderr}`);
  return JSON.parse(line.slice(4));
}

function filesIn(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true }) as string[];
}

test('launch: every placement kind reaches the application, its exit code passes through, values never reach the log', { timeout: 120_000 }, async () => {
  const broker = await startBroker();
  const env = await workspace(broker.platform);
  try {
    await seed(broker);
    const run = await launch(['--', process.execPath, APP, 'exit', '7'], { KUBETEE_LAUNCH_SPEC: spec(env, broker.url) });
    assert.equal(run.status, 7, run.stderr);
    const report = appReport(run);
    assert.deepEqual(report.argv, ['7']);
    assert.deepEqual(report.files, { 'model.key': { content: 'model-key-bytes', mode: '400' } });
    assert.equal(report.env['DB_PASSWORD'], 'hunter2-pässword');
    assert.equal(report.env['API_TOKEN_B64'], Buffer.from([0, 1, 2, 255]).toString('base64'));
    assert.equal(report.env['PLAIN'], 'not secret');
    assert.equal(report.env['KUBETEE_LAUNCH_SPEC'], null, 'the spec variable is not passed on');
    assert.deepEqual(readFileSync(join(env.gramineRoot, 'keys', 'model_fs')), Buffer.alloc(16, 0x5a));
    // removeOnExit (default): the files are gone once the application ended.
    assert.deepEqual(filesIn(env.secretsDir), []);
    assert.match(run.stderr, /placed file .*model\.key <- apps\/key\/model/);
    assert.match(run.stderr, /placed env DB_PASSWORD <- apps\/db\/password/);
    assert.match(run.stderr, /placed gramine key model_fs <- apps\/fs\/key/);
    assert.doesNotMatch(run.stderr, /model-key-bytes|hunter2|AAEC\/w==/);
  } finally {
    await broker.close();
    rmSync(env.dir, { recursive: true, force: true });
  }
});

test('launch: a wrong measurement is refused: exit 77, the application never starts, nothing written', { timeout: 120_000 }, async () => {
  const broker = await startBroker();
  const env = await workspace(broker.platform);
  try {
    await seed(broker);
    // Let the first secret through for any enclave, so the refusal comes after one release.
    await broker.data.service.setPolicy('test', 'apps/key/model', 'rules: []\n');
    const run = await launch(['--', process.execPath, APP, 'exit', '0'], { KUBETEE_LAUNCH_SPEC: spec(env, broker.url, {}, BAD) });
    assert.equal(run.status, 77, run.stderr);
    assert.match(run.stderr, /error \[LAUNCH_BROKER_REFUSED\].*KBS_POLICY_DENIED/);
    assert.doesNotMatch(run.stdout, /APP/);
    assert.deepEqual(filesIn(env.secretsDir), []);
    assert.equal(readFileSync(join(env.gramineRoot, 'keys', 'model_fs')).length, 0, 'no Gramine key set');
  } finally {
    await broker.close();
    rmSync(env.dir, { recursive: true, force: true });
  }
});

test('launch: the broker down at start and up within the deadline: retried, then launched', { timeout: 120_000 }, async () => {
  const port = await freePort();
  const platform = await SimulatedPlatform.create();
  const env = await workspace(platform);
  let broker: Broker | undefined;
  let starting: Promise<void> | undefined;
  try {
    const run = await launch(['--', process.execPath, APP, 'exit', '0'], { KUBETEE_LAUNCH_SPEC: spec(env, `http://127.0.0.1:${port}`) }, (seen) => {
      // Start the broker only after the launcher has failed to reach it at least once.
      if (starting === undefined && /retrying in \d+ ms/.test(seen)) {
        starting = (async () => {
          broker = await startBroker({ platform, port });
          await seed(broker);
        })();
      }
    });
    await starting;
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stderr, /broker not available \(attempt 1: KBS_CLIENT_UNREACHABLE\)/);
    assert.equal(appReport(run).env['DB_PASSWORD'], 'hunter2-pässword');
  } finally {
    await broker?.close();
    rmSync(env.dir, { recursive: true, force: true });
  }
});

test('launch: no broker until the deadline: exit 69 with the last error, nothing written', { timeout: 120_000 }, async () => {
  const port = await freePort();
  const env = await workspace();
  try {
    const started = Date.now();
    const run = await launch(['--', process.execPath, APP, 'exit', '0'], { KUBETEE_LAUNCH_SPEC: spec(env, `http://127.0.0.1:${port}`, { deadlineSeconds: 2 }) });
    assert.equal(run.status, 69, run.stderr);
    assert.match(run.stderr, /error \[LAUNCH_DEADLINE_EXCEEDED\].*within 2 s.*ECONNREFUSED/);
    assert.ok(Date.now() - started >= 1500, 'it kept trying for about the deadline');
    assert.doesNotMatch(run.stdout, /APP/);
    assert.deepEqual(filesIn(env.secretsDir), []);
  } finally {
    rmSync(env.dir, { recursive: true, force: true });
  }
});

test('launch: SIGTERM is forwarded to the application and its exit status comes back', { timeout: 120_000 }, async () => {
  const broker = await startBroker();
  const env = await workspace(broker.platform);
  try {
    await seed(broker);
    let sent = false;
    const run = await launch(['--', process.execPath, APP, 'wait-term'], { KUBETEE_LAUNCH_SPEC: spec(env, broker.url) }, (seen, child) => {
      if (!sent && seen.includes('APP ready')) {
        sent = true;
        child.kill('SIGTERM'); // to the launcher only, as kubelet does to PID 1
      }
    });
    assert.ok(sent);
    assert.match(run.stdout, /APP got SIGTERM/);
    assert.equal(run.status, 42, run.stderr);
    assert.deepEqual(filesIn(env.secretsDir), [], 'removed after the application exited');
  } finally {
    await broker.close();
    rmSync(env.dir, { recursive: true, force: true });
  }
});

test('launch: an application killed by a signal takes the launcher down with the same signal', { timeout: 120_000 }, async () => {
  const broker = await startBroker();
  const env = await workspace(broker.platform);
  try {
    await seed(broker);
    const run = await launch(['--', process.execPath, APP, 'kill-self'], { KUBETEE_LAUNCH_SPEC: spec(env, broker.url) });
    assert.equal(run.signal, 'SIGKILL', `status ${run.status}: ${run.stderr}`);
    assert.deepEqual(filesIn(env.secretsDir), []);
  } finally {
    await broker.close();
    rmSync(env.dir, { recursive: true, force: true });
  }
});

test('launch: in-process handover imports the application with its secrets in the same process', { timeout: 120_000 }, async () => {
  const broker = await startBroker();
  const env = await workspace(broker.platform);
  try {
    await seed(broker);
    const file = join(env.dir, 'spec.json');
    writeFileSync(file, spec(env, broker.url, { exec: { handover: 'in-process', command: [APP, 'in-process', '5'], env: { SECRETS_DIR: env.secretsDir } } }));
    const run = await launch(['--spec', file], {});
    assert.equal(run.status, 5, run.stderr);
    const report = appReport(run);
    assert.deepEqual(report.argv, ['5']);
    assert.equal(report.files['model.key']?.content, 'model-key-bytes');
    assert.equal(report.env['DB_PASSWORD'], 'hunter2-pässword');
    assert.deepEqual(filesIn(env.secretsDir), [], 'removed when the process exits');
  } finally {
    await broker.close();
    rmSync(env.dir, { recursive: true, force: true });
  }
});

test('launch: a placement that fails removes what was placed before it (exit 73)', { timeout: 120_000 }, async () => {
  const broker = await startBroker();
  const env = await workspace(broker.platform);
  try {
    await seed(broker);
    // The second file needs directory "sub", where a regular file stands.
    mkdirSync(env.secretsDir);
    writeFileSync(join(env.secretsDir, 'sub'), 'in the way');
    const text = spec(env, broker.url, {
      secrets: [
        { resource: 'apps/key/model', file: 'model.key' },
        { resource: 'apps/db/password', file: 'sub/password' },
      ],
    });
    const run = await launch(['--', process.execPath, APP, 'exit', '0'], { KUBETEE_LAUNCH_SPEC: text });
    assert.equal(run.status, 73, run.stderr);
    assert.match(run.stderr, /error \[LAUNCH_PLACEMENT_FAILED\]/);
    assert.deepEqual(filesIn(env.secretsDir).sort(), ['sub'], 'model.key was removed again, no temporary file left');
    assert.doesNotMatch(run.stdout, /APP/);
  } finally {
    await broker.close();
    rmSync(env.dir, { recursive: true, force: true });
  }
});

test('launch: misfit secrets, undeclared Gramine keys, a changed spec and a missing application fail before anything is placed', { timeout: 120_000 }, async () => {
  const broker = await startBroker();
  const env = await workspace(broker.platform);
  try {
    await seed(broker);
    const cmd = ['--', process.execPath, APP, 'exit', '0'];
    const cases: Array<{ name: string; text: string; args?: string[]; status: number; code: RegExp }> = [
      { name: 'a 15-byte value as a Gramine key', text: spec(env, broker.url, { secrets: [{ resource: 'apps/key/model', file: 'model.key' }, { resource: 'apps/db/password', gramineKey: 'model_fs' }] }), status: 65, code: /LAUNCH_SECRET_FORMAT/ },
      { name: 'an undeclared Gramine key', text: spec(env, broker.url, { secrets: [{ resource: 'apps/key/model', file: 'model.key' }, { resource: 'apps/fs/key', gramineKey: 'other' }] }), status: 73, code: /LAUNCH_PLACEMENT_FAILED.*ENOENT/ },
      { name: 'a spec that is not the pinned one', text: spec(env, broker.url), args: ['--spec-sha256', '0'.repeat(64)], status: 78, code: /LAUNCH_SPEC_INVALID.*not the pinned/ },
      { name: 'an application that does not exist', text: spec(env, broker.url), args: ['--', join(env.dir, 'absent')], status: 127, code: /LAUNCH_EXEC_NOT_FOUND/ },
      { name: 'a command in the spec and after --', text: spec(env, broker.url, { exec: { command: ['/bin/true'] } }), status: 78, code: /given twice/ },
    ];
    for (const c of cases) {
      const run = await launch([...(c.args ?? []), ...(c.args?.includes('--') ? [] : cmd)], { KUBETEE_LAUNCH_SPEC: c.text });
      assert.equal(run.status, c.status, `${c.name}: ${run.stderr}`);
      assert.match(run.stderr, c.code, c.name);
      assert.deepEqual(filesIn(env.secretsDir), [], c.name);
      assert.doesNotMatch(run.stdout, /APP/, c.name);
    }
  } finally {
    await broker.close();
    rmSync(env.dir, { recursive: true, force: true });
  }
});
