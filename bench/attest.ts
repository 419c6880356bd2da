// `npm run bench attest`: DCAP quote verification, kubetee against Phala's
// native Rust crate dcap-qvl (the version pinned in test/oracle/Cargo.toml,
// built by scripts/oracle/build.sh into a cache outside the repo), on the
// same quotes, collateral and verification time in the same run.
//
// Method: both run one thread pinned to the same CPU (taskset), and are
// measured interleaved in short slices (the Rust runner is a child process
// that loops verification for one slice while this process waits), so load
// from other jobs hits both alike. The unit is quotes per CPU-second: calls
// divided by the CPU time the verifier's process (Node: all its threads) or
// thread (Rust) consumed, which is what a busy machine cannot fake.
//
// Paths:
//   warm          one QuoteVerifier reused (the key broker's case), same quote.
//   cold          a new QuoteVerifier({ cacheMaxEntries: 0 }) per quote; the
//                 process-wide cache of shared certificates (roots, PCK CAs, TCB
//                 Signing: parsed, keys, signature verdicts on exact bytes)
//                 stays, as it does in any running verifier process.
//   cold, empty process  the same with that process-wide cache emptied before
//                 every quote: the first quote a fresh process verifies (info).
//   new platform  64 simulated platforms that share one PCK CA, TCB Signing
//                 certificate and collateral (one FMSPC) but each have their
//                 own PCK leaf and attestation key (nodes joining); one
//                 verifier with cacheMaxEntries 1 verifies them round-robin,
//                 so every quote's PCK chain, QE report and key are unseen
//                 while the collateral stays prepared.
// The Rust crate keeps nothing between calls, so its rate is the same kind of
// work for all three paths; it verifies exactly the quotes kubetee verifies.
import { readFileSync, existsSync } from 'node:fs';
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { QuoteVerifier, collateralToJson, parseCollateral, type Collateral } from '../src/attestation/index.js';
import { clearSharedCaches } from '../src/attestation/shared-certificates.js';
import { fromHex } from '../src/common/hex.js';
import { newPlatformQuotes } from './_new-platforms.js';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const FIXTURES = join(process.env['KUBETEE_FIXTURES'] ?? join(REPO, '..', 'shared', 'fixtures'), 'attestation');
const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 3);
const ROUNDS = 6;
const CPU = process.env['BENCH_CPU'] ?? '0';
const PLATFORMS = 64;

interface Vector {
  id: string;
  quote: string;
  collateral: string;
  at: string;
  status: string;
}

const VECTORS: Vector[] = [
  { id: 'V1 SGX v3 (phala)', quote: 'phala-dcap-qvl/sgx_quote', collateral: 'phala-dcap-qvl/sgx_quote_collateral.json', at: '2025-07-04T00:00:00Z', status: 'ConfigurationAndSWHardeningNeeded' },
  { id: 'V2 SGX v3 (automata)', quote: 'automata-dcap-attestation/quotes/sgx_v3_fmspc00606a.hex', collateral: 'assembled/collateral_sgx_00606a_2025-08_eval17.json', at: '2025-08-30T00:00:00Z', status: 'SWHardeningNeeded' },
  { id: 'V5 TDX v4 (phala)', quote: 'phala-dcap-qvl/tdx_quote', collateral: 'phala-dcap-qvl/tdx_quote_collateral.json', at: '2025-07-04T00:00:00Z', status: 'UpToDate' },
];

function loadQuote(rel: string): Uint8Array {
  const b = readFileSync(join(FIXTURES, rel));
  return rel.endsWith('.hex') ? fromHex(b.toString('latin1'))! : new Uint8Array(b);
}

interface Rate {
  n: number;
  cpuNs: number;
}

/** The Rust runner as a child: one request line, one answer line. */
class RustRunner {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly waiting: ((line: string) => void)[] = [];

  constructor(bin: string) {
    const pinned = hasTaskset();
    this.child = pinned ? spawn('taskset', ['-c', CPU, bin]) : spawn(bin);
    this.child.stderr.pipe(process.stderr);
    createInterface({ input: this.child.stdout }).on('line', (line) => this.waiting.shift()?.(line));
  }

  async run(id: string, quotes: Uint8Array[], collateral: Collateral, at: Date, root: Uint8Array | undefined, seconds: number): Promise<Rate & { status: string }> {
    const line = JSON.stringify({
      id,
      quotes: quotes.map((q) => Buffer.from(q).toString('hex')),
      collateral: collateralToJson(collateral),
      ...(root ? { root: Buffer.from(root).toString('hex') } : {}),
      at: Math.floor(at.getTime() / 1000),
      seconds,
    });
    const answer = await new Promise<string>((resolve) => {
      this.waiting.push(resolve);
      this.child.stdin.write(line + '\n');
    });
    const a = JSON.parse(answer) as { error?: string; status: string; n: number; cpu_ns: number };
    if (a.error) throw new Error(`dcap-qvl (Rust) rejected ${id}: ${a.error}`);
    return { status: a.status, n: a.n, cpuNs: a.cpu_ns };
  }

  close(): void {
    this.child.stdin.end();
  }
}

let tasksetChecked: boolean | undefined;
function hasTaskset(): boolean {
  return (tasksetChecked ??= spawnSync('taskset', ['-V']).status === 0);
}

function rustBinary(): string {
  const r = spawnSync('bash', [join(REPO, 'scripts', 'oracle', 'build.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (r.status !== 0) throw new Error('could not build the dcap-qvl reference (scripts/oracle/build.sh; needs cargo)');
  const oracle = r.stdout.trim().split('\n').at(-1)!;
  return join(oracle, '..', 'kubetee-qvl-bench');
}

/** Loops `fn` for `seconds` of wall time; returns calls and the process's CPU time. */
function measure(fn: () => void, seconds: number): Rate {
  const deadline = process.hrtime.bigint() + BigInt(Math.round(seconds * 1e9));
  const cpu0 = process.cpuUsage();
  let n = 0;
  while (process.hrtime.bigint() < deadline) {
    for (let k = 0; k < 4; k++) fn();
    n += 4;
  }
  const cpu = process.cpuUsage(cpu0);
  return { n, cpuNs: (cpu.user + cpu.system) * 1000 };
}

function perCpuSecond(r: Rate): number {
  return r.n / (r.cpuNs / 1e9);
}

function add(a: Rate, b: Rate): Rate {
  return { n: a.n + b.n, cpuNs: a.cpuNs + b.cpuNs };
}

interface Row {
  vector: string;
  path: string;
  target: number;
  ours: Rate;
  rust: Rate;
}

function fmt(x: number): string {
  return x >= 100 ? x.toFixed(0) : x.toFixed(2);
}

async function main(): Promise<void> {
  if (!existsSync(FIXTURES)) {
    console.error(`fixtures not found at ${FIXTURES}`);
    process.exit(1);
  }
  const rust = new RustRunner(rustBinary());
  const pinned = hasTaskset() && spawnSync('taskset', ['-a', '-cp', CPU, String(process.pid)], { stdio: 'ignore' }).status === 0;
  const load0 = loadavg();
  console.log(`Node ${process.version}; ${pinned ? `kubetee and dcap-qvl pinned to CPU ${CPU}` : 'NOT pinned (taskset missing)'}; ${SECONDS}s per measurement in ${ROUNDS} interleaved slices (BENCH_SECONDS to change)`);
  console.log(`load average at start: ${load0.map((l) => l.toFixed(2)).join(' ')}`);

  interface Case {
    vector: string;
    quotes: Uint8Array[];
    collateral: Collateral;
    root: Uint8Array | undefined;
    at: Date;
    status: string;
    paths: { path: string; target: number; fn: () => void }[];
  }
  const cases: Case[] = [];
  for (const v of VECTORS) {
    const quote = loadQuote(v.quote);
    const collateral = parseCollateral(readFileSync(join(FIXTURES, v.collateral), 'utf8'));
    const at = new Date(v.at);
    const warm = new QuoteVerifier();
    cases.push({
      vector: v.id,
      quotes: [quote],
      collateral,
      root: undefined,
      at,
      status: v.status,
      paths: [
        { path: 'warm', target: 5, fn: () => warm.verify(quote, collateral, { at }) },
        { path: 'cold', target: 1, fn: () => new QuoteVerifier({ cacheMaxEntries: 0 }).verify(quote, collateral, { at }) },
        {
          path: 'cold, empty process',
          target: 0,
          fn: () => {
            clearSharedCaches();
            new QuoteVerifier({ cacheMaxEntries: 0 }).verify(quote, collateral, { at });
          },
        },
      ],
    });
  }
  const np = await newPlatformQuotes(PLATFORMS);
  const joining = new QuoteVerifier({ trustedRootCaDer: [np.root], cacheMaxEntries: 1 });
  let k = 0;
  cases.push({
    vector: `sim SGX v3, ${PLATFORMS} platforms`,
    quotes: np.quotes,
    collateral: np.collateral,
    root: np.root,
    at: np.at,
    status: 'UpToDate',
    paths: [{ path: 'new platform', target: 3, fn: () => joining.verify(np.quotes[k++ % PLATFORMS]!, np.collateral, { at: np.at }) }],
  });

  // Both must give the expected answer for every quote before anything is timed.
  for (const c of cases) {
    for (const q of c.quotes) {
      const v = new QuoteVerifier({ ...(c.root ? { trustedRootCaDer: [c.root] } : {}), cacheMaxEntries: 0 });
      const got = v.verify(q, c.collateral, { at: c.at }).status;
      if (got !== c.status) throw new Error(`kubetee says ${got} for ${c.vector}, expected ${c.status}`);
    }
    const r = await rust.run(c.vector, c.quotes, c.collateral, c.at, c.root, 0.05);
    if (r.status !== c.status) throw new Error(`dcap-qvl says ${r.status} for ${c.vector}, expected ${c.status}`);
    for (const p of c.paths) measure(p.fn, 0.1); // warm-up (JIT)
  }

  const zero = (): Rate => ({ n: 0, cpuNs: 0 });
  const rustTotals = cases.map(zero);
  const oursTotals = cases.map((c) => c.paths.map(zero));
  const slice = SECONDS / ROUNDS;
  for (let r = 0; r < ROUNDS; r++) {
    for (const [i, c] of cases.entries()) {
      rustTotals[i] = add(rustTotals[i]!, await rust.run(c.vector, c.quotes, c.collateral, c.at, c.root, slice));
      for (const [j, p] of c.paths.entries()) oursTotals[i]![j] = add(oursTotals[i]![j]!, measure(p.fn, slice));
    }
  }
  rust.close();

  const rows: Row[] = cases.flatMap((c, i) => c.paths.map((p, j) => ({ vector: c.vector, path: p.path, target: p.target, ours: oursTotals[i]![j]!, rust: rustTotals[i]! })));
  const head = ['vector', 'path', 'kubetee /CPU-s', 'µs CPU', 'dcap-qvl (Rust) /CPU-s', 'µs CPU', 'ratio', 'target'];
  const cells = rows.map((r) => {
    const ours = perCpuSecond(r.ours);
    const ref = perCpuSecond(r.rust);
    const ratio = ours / ref;
    return [r.vector, r.path, fmt(ours), (1e6 / ours).toFixed(0), fmt(ref), (1e6 / ref).toFixed(0), `${ratio.toFixed(2)}x`, r.target ? `>= ${r.target}x ${ratio >= r.target ? 'met' : 'NOT met'}` : '(info)'];
  });
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((r) => r[i]!.length)));
  const line = (cs: string[]): string => cs.map((c, i) => c.padEnd(widths[i]!)).join('  ');
  console.log(line(head));
  for (const c of cells) console.log(line(c));
  console.log(`load average at end: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  console.log('\nquotes per CPU-second: calls / CPU time (Node: process.cpuUsage of the whole process; Rust: the verifying thread). Collateral is passed decoded to both (kubetee: parseCollateral result; Rust: QuoteCollateralV3).');
}

await main();
