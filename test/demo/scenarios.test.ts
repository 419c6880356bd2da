import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../../src/common/log.js';
import { startLocalStack, type LocalStack } from '../../src/up/local-stack.js';
import { runModelProtection, DEMO_BUILDS, MODEL_RESOURCE_PATH } from '../../src/demo/model-protection.js';
import { httpScenarioPorts } from '../../src/demo/ports.js';
import { runDataSharing } from '../../src/demo/data-sharing.js';
import { startCli } from '../helpers/cli.js';

/** Runs the CLI without blocking this process's event loop (the stack under test lives in it). */
function runCliAsync(args: string[], timeoutMs = 300_000): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const child = startCli(args);
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('exit', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

let stack: LocalStack;
let dataDir: string;
let work: string;

before(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'kubetee-demo-'));
  work = mkdtempSync(join(tmpdir(), 'kubetee-demo-work-'));
  stack = await startLocalStack({ host: '127.0.0.1', port: 0, dataDir, logger: silentLogger() });
});

after(async () => {
  await stack.close();
  rmSync(work, { recursive: true, force: true });
});

const token = (): string => readFileSync(join(dataDir, 'admin-token'), 'utf8').trim();

test('over HTTP (what --url does): every step has the expected outcome, and the audit trail records it', async () => {
  const run = await runModelProtection(httpScenarioPorts(stack.url, token(), work));
  assert.equal(run.passed, true, JSON.stringify(run.steps, null, 2));
  assert.deepEqual(
    run.steps.map((s) => s.outcome),
    ['ok', 'ok', 'ok', 'refused-as-expected', 'ok', 'ok', 'refused-as-expected', 'refused-as-expected', 'ok', 'refused-as-expected', 'ok', 'ok'],
  );
  const detail = (i: number): string => run.steps[i]!.detail;
  assert.match(detail(4), /512 MiB of EPC on NUMA node/);
  assert.match(detail(5), /key released, model unsealed and byte-identical/);
  assert.match(detail(6), /^KBS_POLICY_DENIED: .*no-debug/);
  assert.match(detail(7), /^KBS_POLICY_DENIED: .*reviewed model-server build/);
  assert.match(detail(8), /OutOfDate/);
  assert.match(detail(9), /^KBS_POLICY_DENIED: .*accepted-status.*\(TCB OutOfDate\)/);

  const headers = { authorization: `Bearer ${token()}` };
  const audit = (await (await fetch(`${stack.url}/admin/v1/audit?limit=1000`, { headers })).json()) as { records: { action: string; outcome: string; actor: string; resource: string }[] };
  const releases = audit.records.filter((r) => r.action === 'resource.release' && r.resource === MODEL_RESOURCE_PATH);
  assert.deepEqual(releases.map((r) => r.outcome), ['success', 'denied', 'denied', 'denied', 'success']);
  assert.equal(releases[2]!.actor, `tee:sgx:${DEMO_BUILDS.otherBuild.mrEnclave}`);
  const verify = (await (await fetch(`${stack.url}/admin/v1/audit/verify`, { headers })).json()) as { ok: boolean };
  assert.equal(verify.ok, true);
});

test('the scenario fails (not passes) when the broker releases what it should refuse', async () => {
  const ports = httpScenarioPorts(stack.url, token(), work);
  // A careless owner: the policy lets debug enclaves and any TCB status through.
  const careless = { ...ports, setPolicy: (path: string, _policy: string) => ports.setPolicy(path, 'allowDebug: true\nacceptedStatuses: [UpToDate, OutOfDate]\n') };
  const run = await runModelProtection(careless);
  assert.equal(run.passed, false);
  const failed = run.steps.filter((s) => s.outcome === 'failed').map((s) => s.title);
  assert.ok(failed.some((t) => /debug build/.test(t)), failed.join('\n'));
  assert.ok(failed.some((t) => /OutOfDate platform/.test(t)), failed.join('\n'));
});

test('kubetee demo model-protection --url prints each step and exits 0; bad input gets typed errors', async () => {
  const ok = await runCliAsync(['demo', 'model-protection', '--url', stack.url, '--data-dir', dataDir]);
  assert.equal(ok.status, 0, ok.stderr + ok.stdout);
  assert.match(ok.stdout, / 1\. \[ok {5}\] Model owner seals the model file/);
  assert.match(ok.stdout, /\[refused\] A model-server v1\.0 \(debug build\)/);
  assert.match(ok.stdout, /scenario passed: 12 steps/);

  const noToken = await runCliAsync(['demo', 'model-protection', '--url', stack.url, '--data-dir', join(dataDir, 'nope')]);
  assert.equal(noToken.status, 2, 'a token file the user points at that cannot be read is bad input (docs/errors.md)');
  assert.match(noToken.stderr, /DEMO_ADMIN_TOKEN_MISSING/);
  assert.doesNotMatch(noToken.stderr, /\s+at\s+\S+\s+\(/);
});

test('data sharing: each owner releases only to the agreed enclave, and a withdrawal stops only that owner', async () => {
  const ports = httpScenarioPorts(stack.url, token(), join(work, 'sharing'));
  for (let round = 1; round <= 2; round++) {
    // Twice: a second run after a withdrawal must start clean (new key versions).
    const run = await runDataSharing(ports);
    assert.equal(run.passed, true, JSON.stringify(run.steps, null, 2));
    assert.deepEqual(run.steps.map((s) => s.outcome), ['ok', 'ok', 'ok', 'refused-as-expected', 'refused-as-expected', 'ok', 'refused-as-expected']);
    assert.match(run.steps[2]!.detail, /367 in common/);
    assert.match(run.steps[6]!.detail, /Owner A: released; Owner B: KBS_SECRET_UNAVAILABLE/);
  }
});
