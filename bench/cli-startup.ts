// CLI start-up: `kubetee --help`, `--version` and `attest verify` against a
// bare `node -e 0`, measured side by side in the same run (interleaved, so
// machine load hits both alike) and reported as ratios. Target: within 3x of
// bare node start-up. Runs the compiled CLI (bin/kubetee.js -> dist/), as a
// user does after `npm ci`.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIN = join(ROOT, 'bin', 'kubetee.js');
const ROUNDS = Number(process.env['KUBETEE_BENCH_ROUNDS'] ?? 15);
const TARGET = 3;

if (!existsSync(join(ROOT, 'dist', 'cli', 'main.js'))) {
  console.error('dist/ is missing: run `npm run build` first (the benchmark measures the compiled CLI users run)');
  process.exit(1);
}

function run(args: string[]): number {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`node ${args.join(' ')} exited ${r.status}: ${r.stderr.toString()}`);
  return ms;
}

const dir = mkdtempSync(join(tmpdir(), 'kubetee-bench-cli-'));
try {
  const state = join(dir, 'sim.json');
  for (const a of [['sim', 'init'], ['sim', 'quote', '--out', join(dir, 'q.dat')], ['sim', 'collateral', '--out', join(dir, 'c.json')], ['sim', 'root', '--out', join(dir, 'root.pem')]]) {
    run([BIN, ...a, '--state', state]);
  }
  const cases: [string, string[]][] = [
    ['node -e 0 (reference)', ['-e', '0']],
    ['kubetee --help', [BIN, '--help']],
    ['kubetee --version', [BIN, '--version']],
    ['kubetee attest verify', [BIN, 'attest', 'verify', '--quote', join(dir, 'q.dat'), '--collateral', join(dir, 'c.json'), '--trust-root', join(dir, 'root.pem')]],
  ];
  for (const [, args] of cases) run(args); // warm the file cache
  const samples = cases.map(() => [] as number[]);
  for (let i = 0; i < ROUNDS; i++) cases.forEach(([, args], j) => samples[j]!.push(run(args)));
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const base = median(samples[0]!);
  console.log(`CLI start-up, median of ${ROUNDS} interleaved runs (wall clock), compiled CLI`);
  console.log(`${'command'.padEnd(24)} ${'median ms'.padStart(10)} ${'vs node'.padStart(8)}  target`);
  cases.forEach(([name], j) => {
    const m = median(samples[j]!);
    const ratio = m / base;
    const verdict = j === 0 ? '' : ratio <= TARGET ? `<= ${TARGET}x ok` : `> ${TARGET}x MISSED`;
    console.log(`${name.padEnd(24)} ${m.toFixed(0).padStart(10)} ${`${ratio.toFixed(2)}x`.padStart(8)}  ${verdict}`);
  });
} finally {
  rmSync(dir, { recursive: true, force: true });
}
