import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { SimulatedPlatform } from '../../../src/sim/index.js';
import { REPO_ROOT, waitForOutput } from '../../helpers/cli.js';

const MAIN = fileURLToPath(new URL('../../../src/cli/run.ts', import.meta.url));
const MRENCLAVE = '5a'.repeat(32);

/** Runs the CLI asynchronously (the broker runs in this test's child, so spawnSync would deadlock nothing but blocks the loop). */
function cli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], { cwd: REPO_ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('exit', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

let dir: string;
let broker: ChildProcess | undefined;
let url: string;
let tokenFile: string;
let state: string;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kubetee-kbs-cli-'));
  state = join(dir, 'sim.json');
  writeFileSync(state, JSON.stringify((await SimulatedPlatform.create()).toJSON()));
  tokenFile = join(dir, 'data', 'admin.token');
  broker = spawn(process.execPath, ['--import', 'tsx', MAIN, 'kbs', 'serve', '--data-dir', join(dir, 'data'), '--listen', '127.0.0.1:0', '--trust-sim-root', state, '--log-level', 'warn'], {
    cwd: REPO_ROOT,
    env: { ...process.env, KUBETEE_KBS_MASTER_KEY: randomBytes(32).toString('base64') },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const out = await waitForOutput(broker, /listening on (http:\/\/\S+)[\s\S]*Ctrl\+C/, 60_000);
  url = /listening on (http:\/\/\S+)/.exec(out)![1]!;
  assert.match(out, /development only/i);
  assert.match(out, /first admin token written to/);
});

after(async () => {
  if (broker && broker.exitCode === null) {
    const exited = new Promise((r) => broker!.once('exit', r));
    broker.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
    if (broker.exitCode === null) broker.kill('SIGKILL');
  }
  rmSync(dir, { recursive: true, force: true });
});

const conn = (): string[] => ['--kbs', url, '--token-file', tokenFile];
const sim = (...extra: string[]): string[] => ['--kbs', url, '--evidence', 'sim', '--sim-state', state, '--mrenclave', MRENCLAVE, ...extra];

/*
 * Every CLI run costs a few seconds of TypeScript loading on this shared
 * machine, so independent commands run side by side in three rounds.
 */
test('CLI: seal/unseal with a policy, policy set/get/test, get-resource --save-claims, typed flag errors', async () => {
  const input = join(dir, 'model.bin');
  const plain = randomBytes(3 * 1024 * 1024 + 123);
  writeFileSync(input, plain);
  const policy = join(dir, 'policy.yaml');
  writeFileSync(policy, `rules:\n  - name: model enclave\n    expr: mrenclave == "${MRENCLAVE}"\n  - name: svn\n    expr: isvSvn >= 2\n`);
  const strict = join(dir, 'strict.yaml');
  writeFileSync(strict, 'rules:\n  - name: svn\n    expr: isvSvn >= 3\n');
  const bad = join(dir, 'bad.yaml');
  writeFileSync(bad, 'rules: ["isvSvm >= 2"]\n');

  // Round 1: seal (stores the policy, then the key); a bad policy is refused before it reaches the broker; bad flags.
  const [sealed, refusedPolicy, badFlag] = await Promise.all([
    cli(['seal', '--in', input, '--out', `${input}.sealed`, '--resource', 'models/key/llama', '--policy', policy, ...conn()]),
    cli(['kbs', 'policy', 'set', 'models/key/other', '--file', bad, ...conn()]),
    cli(['kbs', 'get-resource', '--resource', 'a/b/c', '--evidence', 'sim', '--mrenclave', 'xyz', '--kbs', url]),
  ]);
  assert.equal(sealed.status, 0, sealed.stderr);
  assert.match(sealed.stdout, /sealed 3145851 bytes .* models\/key\/llama version 1/);
  assert.equal(refusedPolicy.status, 2);
  assert.match(refusedPolicy.stderr, /POLICY_EXPRESSION_INVALID.*isvSvm/);
  assert.equal(badFlag.status, 2);
  assert.match(badFlag.stderr, /64 hex digits/);

  // Round 2: the right enclave unseals; another is refused by the policy (nothing written); claims are saved; policy get.
  const claimsFile = join(dir, 'claims.json');
  const [unsealed, other, fetched, got] = await Promise.all([
    cli(['unseal', '--in', `${input}.sealed`, '--out', join(dir, 'model.out'), ...sim('--isv-svn', '2')]),
    cli(['unseal', '--in', `${input}.sealed`, '--out', join(dir, 'other.out'), '--kbs', url, '--evidence', 'sim', '--sim-state', state, '--mrenclave', '77'.repeat(32), '--isv-svn', '2']),
    cli(['kbs', 'get-resource', '--resource', 'models/key/llama', '--out', join(dir, 'key.bin'), '--save-claims', claimsFile, ...sim('--isv-svn', '2')]),
    cli(['kbs', 'policy', 'get', 'models/key/llama', ...conn()]),
  ]);
  assert.equal(unsealed.status, 0, unsealed.stderr);
  assert.ok(readFileSync(join(dir, 'model.out')).equals(plain));
  assert.equal(other.status, 1);
  assert.match(other.stderr, /KBS_CLIENT_REFUSED.*403 KBS_POLICY_DENIED.*model enclave/);
  assert.doesNotMatch(other.stderr, /\s+at\s+\S+\s+\(/);
  assert.equal(existsSync(join(dir, 'other.out')), false);
  assert.equal(fetched.status, 0, fetched.stderr);
  assert.equal(readFileSync(join(dir, 'key.bin')).length, 32);
  assert.equal(got.stdout, readFileSync(policy, 'utf8'));

  // Round 3: replay the saved attestation result against policies offline; fetch a named key version.
  const [allow, deny, v1, v9] = await Promise.all([
    cli(['kbs', 'policy', 'test', '--policy', policy, '--claims', claimsFile, '--resource', 'models/key/llama']),
    cli(['kbs', 'policy', 'test', '--policy', strict, '--claims', claimsFile]),
    cli(['kbs', 'get-resource', '--resource', 'models/key/llama', '--ver', '1', '--out', join(dir, 'key-v1.bin'), ...sim('--isv-svn', '2')]),
    cli(['kbs', 'get-resource', '--resource', 'models/key/llama', '--ver', '9', ...sim('--isv-svn', '2')]),
  ]);
  assert.equal(v1.status, 0, v1.stderr);
  assert.ok(readFileSync(join(dir, 'key-v1.bin')).equals(readFileSync(join(dir, 'key.bin'))), 'version 1 is the current key');
  assert.equal(v9.status, 1);
  assert.match(v9.stderr, /404/);
  assert.doesNotMatch(v9.stderr, /\s+at\s+\S+\s+\(/);
  assert.equal(allow.status, 0, allow.stderr);
  assert.match(allow.stdout, /^ALLOW/);
  assert.equal(deny.status, 1);
  assert.match(deny.stdout, /DENY: rule "svn" failed/);
  assert.match(deny.stderr, /POLICY_DENIED/);
});
