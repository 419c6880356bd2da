import type { Command } from 'commander';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { silentLogger } from '../common/log.js';
import type { ScenarioRun as ScenarioRunView, ScenarioStep as ScenarioStepView } from './steps.js';
import { runModelProtection, type StepReporter } from './model-protection.js';
import { runDataSharing } from './data-sharing.js';
import { httpScenarioPorts } from './ports.js';
import { DemoError, requestJson } from './http-client.js';

/** Where `kubetee up` accepts run records from `kubetee demo --url` (src/up/dev-endpoints.ts). */
const DEV_SCENARIO_PREFIX = '/dev/scenario-runs';

interface DemoOptions {
  url?: string;
  dataDir: string;
  adminTokenFile?: string;
}

const MARK: Record<ScenarioStepView['outcome'], string> = { ok: 'ok     ', 'refused-as-expected': 'refused', failed: 'FAILED ' };

/** Prints one step as it finishes: number, result, title, then the detail indented. */
export function printStep(write: (s: string) => void): StepReporter {
  return (step, index) => write(`${String(index + 1).padStart(2)}. [${MARK[step.outcome]}] ${step.title}\n      ${step.detail}\n`);
}

function readAdminToken(file: string): string {
  try {
    const token = readFileSync(file, 'utf8').trim();
    if (token) return token;
  } catch {
    // reported below
  }
  throw new DemoError('DEMO_ADMIN_TOKEN_MISSING', `cannot read the key broker admin token from ${file}`, {
    hint: 'kubetee up writes it to <data dir>/admin-token on its first start; pass --data-dir or --admin-token-file',
  });
}

function finish(run: ScenarioRunView, write: (s: string) => void, seeIt: string): void {
  const failed = run.steps.filter((s) => s.outcome === 'failed').length;
  write(run.passed ? `\nscenario passed: ${run.steps.length} steps; ${seeIt}\n` : '\n');
  if (!run.passed) throw new DemoError('DEMO_FAILED', `the ${run.name} scenario failed at ${failed} of ${run.steps.length} steps`, { hint: 'read the FAILED lines above and the kubetee up log' });
}

type DemoName = 'model-protection' | 'data-sharing';

async function runDemo(name: DemoName, opts: DemoOptions): Promise<void> {
  const write = (s: string): void => void process.stdout.write(s);
  if (opts.url) {
    const url = opts.url.replace(/\/+$/, '');
    const token = readAdminToken(resolve(opts.adminTokenFile ?? join(opts.dataDir, 'admin-token')));
    // Before any step: is a stack there at all? (Otherwise every step would fail with the same cause.)
    await requestJson('GET', `${url}/healthz`, { timeoutMs: 10_000 });
    const work = mkdtempSync(join(tmpdir(), 'kubetee-demo-'));
    write(`${name} scenario against ${url} (simulated SGX platform, development only)\n\n`);
    try {
      const ports = httpScenarioPorts(url, token, work);
      const run = name === 'data-sharing' ? await runDataSharing(ports, printStep(write)) : await runModelProtection(ports, printStep(write));
      // The run happened against that stack: its Scenarios page shows it like a run from the button.
      await requestJson('POST', `${url}${DEV_SCENARIO_PREFIX}`, { body: run }).catch(() => undefined);
      finish(run, write, `see it on ${url}/scenario, and the Attestations and Audit pages`);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
    return;
  }
  // No --url: the same stack `kubetee up` runs, in this process, on a free loopback port.
  const { startLocalStack } = await import('../up/local-stack.js');
  const stack = await startLocalStack({ host: '127.0.0.1', port: 0, dataDir: resolve(opts.dataDir), logger: silentLogger() });
  write(`${name} scenario on an in-process stack at ${stack.url} (data dir ${resolve(opts.dataDir)}; simulated SGX platform, development only)\n\n`);
  try {
    const run = await stack.runScenario(name, printStep(write));
    const dataDir = resolve(opts.dataDir);
    finish(run, write, `this in-process stack stops now; its audit trail and attestations stay in ${dataDir}: run \`npx kubetee up --data-dir ${dataDir}\` and open the Attestations and Audit pages`);
  } finally {
    await stack.close();
  }
}

export function registerDemo(program: Command): void {
  const demo = program.command('demo').description('run an end-to-end scenario against the local stack (kubetee up)');
  const scenarios: [DemoName, string][] = [
    ['model-protection', 'seal a model, release its key only to the right enclave on an up-to-date platform, refuse the rest'],
    ['data-sharing', 'two owners release their dataset keys only to the enclave both agreed on'],
  ];
  for (const [name, description] of scenarios) {
    demo
      .command(name)
      .description(description)
      .option('--url <url>', 'a running kubetee up (default: start one in this process on a free port)')
      .option('--data-dir <dir>', 'data dir of that kubetee up (for its admin token), or of the in-process stack', './.kubetee')
      .option('--admin-token-file <file>', 'key broker admin token (default <data-dir>/admin-token)')
      .action((opts: DemoOptions) => runDemo(name, opts));
  }
}
