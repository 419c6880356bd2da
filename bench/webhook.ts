// Admission webhook: admissions per second and p50/p99 latency over HTTPS on
// loopback. Target: p99 under 2 ms at 1,000 requests/s.
//
// Three processes per measurement: the server under test, the load generator
// (bench/load/webhook-load.ts) and this one, which only orchestrates and
// samples. With taskset available the server runs on CPU 1 and the load
// generator on CPU 0, so neither competes with the other (other processes on
// the machine still can; the output says how much they did).
//
// Server under test: the real `kubetee webhook serve` (src/cli/run.ts through
// tsx, self-managed CA, --profile intel, default policy, --log-level info so
// denials are logged as in production). References, measured in the same run
// with the same certificate, TLS settings, client and load: a bare node:https
// server and a bare fastify server that parse the AdmissionReview and answer
// allowed: true for its uid (bench/load/webhook-reference.ts). The ratio to
// node:https is kubetee's own cost over the floor of HTTPS + JSON on this
// machine at that moment; the fastify reference splits it into framework and
// rules.
//
// Load: open loop at 1,000/s over a pool of 8 keep-alive connections (opened
// before the clock starts), rotating a confidential pod that gets mutated, a
// sandboxed pod that gets its runtime class and a pod that is denied (bodies
// shaped like kube-apiserver's, bench/load/webhook-reviews.ts; every answer is
// checked once in full, then by uid and verdict). Latency runs from each
// request's scheduled send time (no coordinated omission). A warm-up precedes
// the measured window; then a closed loop with one request in flight per
// connection gives the maximum admissions/s. Rounds repeat it all with the
// target order reversed every other round.
//
// Also reported per window: server CPU per request (process.cpuUsage() in the
// server, through a preload, CPU_PRELOAD below), event-loop utilisation, GC
// pauses, the time the server waited for a CPU (/proc/<pid>/schedstat), other
// processes' share of the server's core (/proc/stat), system CPU pressure
// (/proc/pressure/cpu) and the load average, so a reader can tell the
// machine's noise from kubetee's cost.
//
// Environment (defaults in brackets):
//   BENCH_RATE [1000]  BENCH_WARMUP s [3]  BENCH_SECONDS s [10]  BENCH_ROUNDS [2]
//   BENCH_POOL connections [8]  BENCH_CLOSED_SECONDS [3, 0 skips the closed loop]
//   BENCH_TARGETS [kubetee,https,fastify]  BENCH_LOG_LEVEL of kubetee [info]
//   BENCH_PACING [spin: poll the clock between sends; timer: 1 ms timers, which a
//     busy scheduler wakes late]  BENCH_CPU_PROF=DIR (--cpu-prof of each kubetee server)
//   BENCH_KUBETEE_CLI=path/to/cli/run.js (a compiled build instead of the sources)
//   BENCH_NODE_ARGS="--single-threaded-gc ..." (node flags for every server process)
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SelfManagedCa } from '../src/webhook/tls/self-managed-ca.js';
import type { LoadConfig, LoadResult } from './load/webhook-load.js';
import { BENCH_REVIEWS, UID_PLACEHOLDER, type BenchReview } from './load/webhook-reviews.js';

const env = (name: string, fallback: number): number => {
  const v = process.env[name];
  const n = v === undefined || v === '' ? fallback : Number(v);
  if (!Number.isFinite(n) || n < 0) throw new Error(`${name}=${v} is not a non-negative number`);
  return n;
};
const RATE = env('BENCH_RATE', 1000);
const WARMUP_S = env('BENCH_WARMUP', 3);
const MEASURE_S = env('BENCH_SECONDS', 10);
const ROUNDS = Math.max(1, Math.round(env('BENCH_ROUNDS', 2)));
const POOL = Math.max(1, Math.round(env('BENCH_POOL', 8)));
const CLOSED_S = env('BENCH_CLOSED_SECONDS', 3);
const LOG_LEVEL = process.env['BENCH_LOG_LEVEL'] ?? 'info';
const PROFILE_DIR = process.env['BENCH_CPU_PROF'];
/** Extra node flags for every server process (kubetee and references alike), e.g. --single-threaded-gc. */
const NODE_ARGS = (process.env['BENCH_NODE_ARGS'] ?? '').split(/\s+/).filter(Boolean);
const PACING = process.env['BENCH_PACING'] === 'timer' ? 'timer' : 'spin';
const TARGET_P99_MS = 2;

type TargetId = 'kubetee' | 'https' | 'fastify';
const TARGET_NAMES: Record<TargetId, string> = { kubetee: 'kubetee webhook serve', https: 'reference node:https', fastify: 'reference fastify' };
const targets = (process.env['BENCH_TARGETS'] ?? 'kubetee,https,fastify').split(',').map((s) => s.trim()) as TargetId[];
for (const t of targets) if (!(t in TARGET_NAMES)) throw new Error(`BENCH_TARGETS: unknown target "${t}" (kubetee, https, fastify)`);

const here = (p: string): string => fileURLToPath(new URL(p, import.meta.url));
// BENCH_KUBETEE_CLI=path/to/cli/run.js runs a compiled build instead of the sources through tsx.
const CLI = process.env['BENCH_KUBETEE_CLI'] ?? here('../src/cli/run.ts');
const REFERENCE = here('./load/webhook-reference.ts');
const LOAD = here('./load/webhook-load.ts');

/** What a server process reports about itself (see CPU_PRELOAD). */
interface CpuSample {
  /** process.cpuUsage(): µs of user and system CPU since start. */
  user: number;
  system: number;
  /** performance.eventLoopUtilization(): ms idle and active since start. */
  idle: number;
  active: number;
  /** Garbage collections since start, their total pause, and the longest pause since the previous sample (ms). */
  gcCount: number;
  gcMs: number;
  gcMaxMs: number;
}
// Preloaded (`node --import`) into every server process, kubetee's real CLI included:
// answers the 'cpu' message on the IPC channel with the process's own CPU time,
// event-loop utilisation and GC pauses. Plain JavaScript in a data: URL, so it needs
// no loader; it does nothing per request (the GC observer runs once per collection).
// The channel must not keep a stopped server alive.
const CPU_PRELOAD = `data:text/javascript,${encodeURIComponent(`
import { performance, PerformanceObserver } from 'node:perf_hooks';
if (process.send) {
  let gcCount = 0, gcMs = 0, gcMaxMs = 0;
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      gcCount++;
      gcMs += e.duration;
      if (e.duration > gcMaxMs) gcMaxMs = e.duration;
    }
  }).observe({ entryTypes: ['gc'] });
  process.on('message', (m) => {
    if (m !== 'cpu') return;
    const { user, system } = process.cpuUsage();
    const { idle, active } = performance.eventLoopUtilization();
    process.send({ cpu: { user, system, idle, active, gcCount, gcMs, gcMaxMs } });
    gcMaxMs = 0;
  });
  setImmediate(() => process.channel?.unref());
}`)}`;

// ---- the machine -----------------------------------------------------------

const cpus = availableParallelism();
const pinning = ((): { server: string[]; load: string[]; note: string } => {
  if (process.platform !== 'linux' || spawnSync('taskset', ['-c', '0', 'true']).status !== 0) return { server: [], load: [], note: 'no pinning (taskset unavailable): server and load generator share all CPUs' };
  if (cpus < 2 || spawnSync('taskset', ['-c', '1', 'true']).status !== 0) return { server: [], load: [], note: 'no pinning (fewer than 2 usable CPUs)' };
  // This process (it drains the server's log and samples it) joins the load generator on
  // CPU 0, so the server's core runs nothing of the bench but the server.
  const self = spawnSync('taskset', ['-a', '-p', '-c', '0', String(process.pid)]).status === 0;
  return { server: ['taskset', '-c', '1'], load: ['taskset', '-c', '0'], note: `pinned with taskset: server on CPU 1, load generator${self ? ' and this orchestrator' : ''} on CPU 0` };
})();

/** Busy and total jiffies of one CPU (/proc/stat), or undefined off Linux. */
function cpuJiffies(cpu: number): { busy: number; total: number } | undefined {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n').find((l) => l.startsWith(`cpu${cpu} `));
    if (!line) return undefined;
    const f = line.trim().split(/\s+/).slice(1).map(Number);
    const total = f.slice(0, 8).reduce((a, b) => a + b, 0); // user..steal (guest is inside user)
    return { busy: total - f[3]! - f[4]!, total };
  } catch {
    return undefined;
  }
}

/** ns on CPU and ns runnable but waiting for a CPU, of a process's main thread. */
function schedstat(pid: number | undefined): { run: number; wait: number } | undefined {
  if (!pid) return undefined;
  try {
    const [run, wait] = readFileSync(`/proc/${pid}/schedstat`, 'utf8').trim().split(/\s+/).map(Number);
    return { run: run!, wait: wait! };
  } catch {
    return undefined;
  }
}

/** µs during which some runnable task waited for a CPU, system-wide (Linux PSI), or undefined. */
function cpuPressureUs(): number | undefined {
  try {
    const m = /^some .*total=(\d+)/m.exec(readFileSync('/proc/pressure/cpu', 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

const load1 = (): number => loadavg()[0]!;
const loadNote = (l: number): string => (process.platform !== 'linux' ? '' : l >= cpus ? 'HIGH' : l >= cpus / 2 ? 'busy' : 'quiet');

// ---- processes -------------------------------------------------------------

function spawnPinned(pin: string[], args: string[], stdio: ('ignore' | 'pipe' | 'inherit' | 'ipc' | number)[]): ChildProcess {
  const [cmd, ...rest] = pin.length ? [...pin, process.execPath, ...args] : [process.execPath, ...args];
  return spawn(cmd!, rest, { stdio });
}

interface Server {
  target: TargetId;
  child: ChildProcess;
  url: string;
  /** Lines the server wrote to stderr (its log) so far. */
  logLines(): number;
  cpu(): Promise<CpuSample>;
  stop(): Promise<void>;
}

async function startServer(target: TargetId, caDir: string, tag: string): Promise<Server> {
  const prof = target === 'kubetee' && PROFILE_DIR ? ['--cpu-prof', '--cpu-prof-dir', PROFILE_DIR, '--cpu-prof-name', `${tag}.cpuprofile`] : [];
  const args =
    target === 'kubetee'
      ? [...NODE_ARGS, ...(CLI.endsWith('.ts') ? ['--import', 'tsx'] : []), '--import', CPU_PRELOAD, ...prof, CLI, 'webhook', 'serve', '--listen', '127.0.0.1:0', '--ca-dir', caDir, '--profile', 'intel', '--log-level', LOG_LEVEL]
      : [...NODE_ARGS, '--import', 'tsx', '--import', CPU_PRELOAD, REFERENCE, target, caDir];
  // stderr (the JSON log) is a pipe drained here, as a container runtime drains a pod's:
  // a file on this machine's disk would make the server's synchronous log writes wait on
  // other processes' fsyncs, which is not what a pod sees.
  const child = spawnPinned(pinning.server, args, ['ignore', 'pipe', 'pipe', 'ipc']);
  let lines = 0;
  let tail = '';
  child.stderr!.on('data', (c: Buffer) => {
    for (let i = c.indexOf(10); i !== -1; i = c.indexOf(10, i + 1)) lines++;
    tail = (tail + c.toString()).slice(-2000);
  });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`${target} did not start within 60 s: ${out}${tail}`)), 60_000);
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /listening on (https:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${target} exited ${code} before listening: ${out}${tail}`));
    });
  });
  child.stdout!.resume();
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  return {
    target,
    child,
    url,
    logLines: () => lines,
    cpu: () =>
      new Promise((resolve) => {
        const onMessage = (m: unknown): void => {
          const cpu = (m as { cpu?: CpuSample }).cpu;
          if (!cpu) return;
          child.off('message', onMessage);
          resolve(cpu);
        };
        child.on('message', onMessage);
        child.send('cpu');
      }),
    async stop() {
      if (child.connected) child.disconnect();
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(killer);
    },
  };
}

/** One request of each review, checked in full (the load generator only checks uid and verdict). */
async function preflight(server: Server, caPem: string): Promise<string> {
  const seen: string[] = [];
  for (const r of BENCH_REVIEWS) {
    const uid = '11111111-2222-4333-8444-555555555555';
    const body = r.body.replace(UID_PLACEHOLDER, uid);
    const u = new URL(r.path, server.url);
    const { status, text } = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = request(u, { method: 'POST', ca: caPem, headers: { 'content-type': 'application/json' } }, (res) => {
        let t = '';
        res.on('data', (c: Buffer) => (t += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: t }));
      });
      req.on('error', reject);
      req.end(body);
    });
    const review = JSON.parse(text) as { response?: { uid?: string; allowed?: boolean; patch?: string; status?: { message?: string } } };
    const res = review.response;
    if (status !== 200 || res?.uid !== uid) throw new Error(`${server.target} ${r.path}: HTTP ${status}, ${text.slice(0, 300)}`);
    if (server.target !== 'kubetee') {
      if (res.allowed !== true) throw new Error(`${server.target}: expected allowed: true, got ${text.slice(0, 300)}`);
      continue;
    }
    if (r.expect === 'denied') {
      if (res.allowed !== false) throw new Error(`kubetee ${r.kind}: expected a denial, got ${text.slice(0, 300)}`);
      const rules = [...new Set([...(res.status?.message ?? '').matchAll(/\[([\w.-]+)\]/g)].map((m) => m[1]))];
      seen.push(`${r.kind} → denied by ${rules.join(', ')}`);
    } else {
      const ops = res.patch ? (JSON.parse(Buffer.from(res.patch, 'base64').toString()) as { path: string }[]) : [];
      if (res.allowed !== true || ops.length === 0) throw new Error(`kubetee ${r.kind}: expected a mutation, got ${text.slice(0, 300)}`);
      seen.push(`${r.kind} → mutated (${ops.length} patch op${ops.length === 1 ? '' : 's'})`);
    }
  }
  return seen.join('; ');
}

interface Window {
  cpuUs: number;
  wallMs: number;
  eluActive: number;
  waitMs: number | undefined;
  serverCoreBusyPct: number | undefined;
  gc: { count: number; ms: number; maxMs: number };
  /** Share of the window in which some task on the machine waited for a CPU (PSI "some"). */
  pressurePct: number | undefined;
  load1End: number;
}

async function runLoad(server: Server, reviewsFile: string, caFile: string, mode: 'open' | 'closed'): Promise<{ result: LoadResult; window: Window }> {
  const config: LoadConfig = {
    mode,
    baseUrl: server.url,
    caFile,
    reviewsFile,
    uidPlaceholder: UID_PLACEHOLDER,
    rate: RATE,
    concurrency: POOL,
    pool: POOL,
    warmupSeconds: mode === 'open' ? WARMUP_S : 1,
    measureSeconds: mode === 'open' ? MEASURE_S : CLOSED_S,
    pacing: PACING,
    timeoutMs: 10_000,
  };
  const child = spawnPinned(pinning.load, ['--import', 'tsx', LOAD, JSON.stringify(config)], ['ignore', 'pipe', 'inherit', 'ipc']);
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  const serverCore = pinning.server.length ? 1 : undefined;
  let start: { cpu: CpuSample; at: number; sched: ReturnType<typeof schedstat>; core: ReturnType<typeof cpuJiffies>; psi: number | undefined } | undefined;
  let window: Window | undefined;
  child.on('message', (m: unknown) => {
    void (async () => {
      const sample = { cpu: await server.cpu(), at: performance.now(), sched: schedstat(server.child.pid), core: serverCore === undefined ? undefined : cpuJiffies(serverCore), psi: cpuPressureUs() };
      if (m === 'measure-start') start = sample;
      else if (m === 'measure-end' && start) {
        const cpuUs = sample.cpu.user + sample.cpu.system - start.cpu.user - start.cpu.system;
        const active = sample.cpu.active - start.cpu.active;
        const idle = sample.cpu.idle - start.cpu.idle;
        window = {
          cpuUs,
          wallMs: sample.at - start.at,
          eluActive: active / (active + idle),
          gc: { count: sample.cpu.gcCount - start.cpu.gcCount, ms: sample.cpu.gcMs - start.cpu.gcMs, maxMs: sample.cpu.gcMaxMs },
          waitMs: sample.sched && start.sched ? (sample.sched.wait - start.sched.wait) / 1e6 : undefined,
          serverCoreBusyPct: sample.core && start.core ? (100 * (sample.core.busy - start.core.busy)) / (sample.core.total - start.core.total) : undefined,
          pressurePct: sample.psi !== undefined && start.psi !== undefined ? (100 * (sample.psi - start.psi)) / 1000 / (sample.at - start.at) : undefined,
          load1End: load1(),
        };
      }
      child.send(`${String(m)}:ack`);
    })();
  });
  const timeoutMs = (config.warmupSeconds + config.measureSeconds + 90) * 1000;
  const code = await new Promise<number | null>((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('exit', (c) => {
      clearTimeout(timer);
      resolve(c);
    });
  });
  if (code !== 0 || !window) throw new Error(`load generator (${mode}) exited ${code}: ${out}`);
  return { result: JSON.parse(out.trim().split('\n').at(-1)!) as LoadResult, window };
}

// ---- report ----------------------------------------------------------------

const ms = (n: number): string => (Number.isFinite(n) ? (n < 10 ? n.toFixed(2) : n < 100 ? n.toFixed(1) : n.toFixed(0)) : 'n/a');
const pad = (s: string, n: number): string => s.padStart(n);
const errorCount = (r: LoadResult): number => Object.values(r.errors).reduce((a, b) => a + b, 0);
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

interface Measurement {
  round: number;
  target: TargetId;
  open: LoadResult;
  openWindow: Window;
  closed?: LoadResult;
  closedWindow?: Window;
  logLines: number;
}

function printOpenRow(m: Measurement): void {
  const r = m.open;
  const w = m.openWindow;
  const cpuPerReq = w.cpuUs / Math.max(1, r.ok + errorCount(r));
  const others = w.serverCoreBusyPct === undefined ? '' : `${pad(Math.max(0, w.serverCoreBusyPct - (100 * w.cpuUs) / 1000 / w.wallMs).toFixed(0), 4)}%`;
  console.log(
    `${TARGET_NAMES[m.target].padEnd(23)}${pad(r.achievedPerSecond.toFixed(0), 6)}/s ${pad(ms(r.latency.p50), 6)} ${pad(ms(r.latency.p90), 6)} ${pad(ms(r.latency.p99), 6)} ${pad(ms(r.latency.p999), 6)} ${pad(ms(r.latency.max), 6)} ${pad(String(errorCount(r)), 6)}  ${pad(cpuPerReq.toFixed(0), 5)} µs ${pad((100 * w.eluActive).toFixed(0), 4)}% ${pad(w.waitMs === undefined ? 'n/a' : w.waitMs.toFixed(0), 6)} ms ${others} ${pad(ms(r.sendLag.p99), 6)} ${pad(w.load1End.toFixed(1), 5)} ${pad(w.pressurePct === undefined ? 'n/a' : `${w.pressurePct.toFixed(0)}%`, 4)}`,
  );
}

function printRoundHeader(): void {
  console.log(`${''.padEnd(23)}achieved ${'--- latency from scheduled send, ms ---'.padEnd(34)} errors   server  loop  waited others    lag  load  CPU`);
  console.log(`${'target'.padEnd(23)}${pad('rate', 8)} ${pad('p50', 6)} ${pad('p90', 6)} ${pad('p99', 6)} ${pad('p99.9', 6)} ${pad('max', 6)} ${pad('', 6)}  CPU/req  busy for CPU  CPU 1    p99  1min pres.`);
}

// ---- main ------------------------------------------------------------------

const dir = mkdtempSync(join(tmpdir(), 'kubetee-bench-webhook-'));
const caDir = join(dir, 'ca');
const measurements: Measurement[] = [];
let current: Server | undefined;
try {
  const ca = await SelfManagedCa.open({ dir: caDir, hosts: ['127.0.0.1'] });
  const caFile = join(dir, 'ca-bundle.pem');
  writeFileSync(caFile, ca.caBundlePem());
  const reviewsFile = join(dir, 'reviews.json');
  const wire = (target: TargetId): { kind: string; path: string; body: string; allowed: boolean }[] =>
    BENCH_REVIEWS.map((r: BenchReview) => ({ kind: r.kind, path: r.path, body: r.body, allowed: target === 'kubetee' ? r.expect !== 'denied' : true }));
  if (PROFILE_DIR) mkdirSync(PROFILE_DIR, { recursive: true });

  const l = loadavg();
  console.log(`webhook bench: Node ${process.version}, ${cpus} CPUs, ${pinning.note}`);
  console.log(
    `load: open loop ${RATE} req/s over ${POOL} keep-alive HTTPS connections, rotating ${BENCH_REVIEWS.map((r) => `${r.kind} (POST ${r.path}, ${(Buffer.byteLength(r.body) / 1024).toFixed(1)} KiB)`).join(', ')}; warm-up ${WARMUP_S} s, measured ${MEASURE_S} s${CLOSED_S > 0 ? `, then closed loop ${CLOSED_S} s with ${POOL} in flight` : ''}; ${ROUNDS} round${ROUNDS === 1 ? '' : 's'}`,
  );
  console.log(
    `kubetee: ${CLI.endsWith('.ts') ? 'src/cli/run.ts (through tsx)' : CLI} webhook serve --profile intel --log-level ${LOG_LEVEL} (default policy, self-managed CA, ECDSA P-256)${NODE_ARGS.length ? `; node flags for every server: ${NODE_ARGS.join(' ')}` : ''}${PROFILE_DIR ? `; CPU profiles in ${PROFILE_DIR}` : ''}`,
  );
  console.log(`machine at start: load average ${l.map((x) => x.toFixed(2)).join(' ')} on ${cpus} CPUs (${loadNote(l[0]!)})${l[0]! >= cpus ? ': other processes are competing for the CPUs, expect latency tails from waiting for a core (see "waited for CPU")' : ''}`);

  for (let round = 1; round <= ROUNDS; round++) {
    const order = round % 2 ? targets : [...targets].reverse();
    console.log(`\nround ${round} (open loop, ${RATE}/s)`);
    printRoundHeader();
    for (const target of order) {
      const tag = `${target}-${round}`;
      current = await startServer(target, caDir, tag);
      const answers = await preflight(current, ca.caBundlePem());
      writeFileSync(reviewsFile, JSON.stringify(wire(target)));
      const open = await runLoad(current, reviewsFile, caFile, 'open');
      const closed = CLOSED_S > 0 ? await runLoad(current, reviewsFile, caFile, 'closed') : undefined;
      await current.stop();
      const logLines = current.logLines();
      current = undefined;
      const m: Measurement = { round, target, open: open.result, openWindow: open.window, ...(closed ? { closed: closed.result, closedWindow: closed.window } : {}), logLines };
      measurements.push(m);
      printOpenRow(m);
      if (round === 1 && target === 'kubetee') console.log(`${''.padEnd(23)}(checked: ${answers}; ${m.open.sockets} connections; ${logLines} log lines)`);
      if (errorCount(m.open)) console.log(`${''.padEnd(23)}errors: ${JSON.stringify(m.open.errors)} ${m.open.errorSamples.join(' | ')}`);
    }
  }

  console.log('\ncolumns: achieved = ok responses/s in the measured window; latency from each request\'s scheduled send time; server CPU/req = user+system CPU of the');
  console.log('server process per request (process.cpuUsage); loop busy = event-loop utilisation; waited for CPU = time the server\'s main thread was runnable but');
  console.log('not running (/proc/<pid>/schedstat) during the window; others CPU 1 = share of the server\'s core used by other processes; lag p99 = how late the');
  console.log('load generator itself sent (part of the latency, same for every target); CPU pres. = share of the window in which some task on the');
  console.log('machine waited for a CPU (/proc/pressure/cpu).');

  const kubetee = measurements.filter((m) => m.target === 'kubetee');
  const refs = (['https', 'fastify'] as const).filter((t) => targets.includes(t));
  console.log('\ndetail (open loop): service time = from the actual send (excludes load generator lateness); GC = pauses in the server during the window');
  for (const m of measurements) {
    const kinds = m.target === 'kubetee' ? `; ${Object.entries(m.open.byKind).map(([k, p]) => `${k} p50 ${ms(p.p50)} p99 ${ms(p.p99)}`).join(', ')}` : '';
    const gc = m.openWindow.gc;
    console.log(`  round ${m.round} ${TARGET_NAMES[m.target].padEnd(23)}service p50 ${ms(m.open.service.p50)} p99 ${ms(m.open.service.p99)}; GC ${gc.count} pauses, ${ms(gc.ms)} ms, max ${ms(gc.maxMs)} ms${kinds}`);
  }
  if (CLOSED_S > 0) {
    console.log(`\nclosed loop, ${POOL} in flight (maximum admissions/s on one core):`);
    for (const t of targets) {
      const ms_ = measurements.filter((m) => m.target === t && m.closed);
      const rates = ms_.map((m) => m.closed!.achievedPerSecond);
      const cpu = ms_.map((m) => m.closedWindow!.cpuUs / Math.max(1, m.closed!.ok));
      console.log(`  ${TARGET_NAMES[t].padEnd(23)}${rates.map((r) => r.toFixed(0)).join(', ')} admissions/s; server CPU ${cpu.map((c) => c.toFixed(0)).join(', ')} µs/request${ms_.some((m) => errorCount(m.closed!)) ? `; errors ${ms_.map((m) => errorCount(m.closed!)).join(', ')}` : ''}`);
    }
  }

  console.log('\nsummary (per round, then median):');
  if (kubetee.length) {
    for (const ref of refs) {
      const pairs = kubetee.map((k) => [k, measurements.find((m) => m.target === ref && m.round === k.round)!] as const);
      const ratio = (f: (m: Measurement) => number): string => {
        const rs = pairs.map(([k, r]) => f(k) / f(r));
        return `${rs.map((x) => `${x.toFixed(2)}×`).join(', ')} (median ${median(rs).toFixed(2)}×)`;
      };
      const cpuPerReq = (m: Measurement): number => m.openWindow.cpuUs / Math.max(1, m.open.ok);
      console.log(`  kubetee / ${TARGET_NAMES[ref]}: p50 ${ratio((m) => m.open.latency.p50)}; p99 ${ratio((m) => m.open.latency.p99)}; server CPU/request ${ratio(cpuPerReq)}`);
    }
    const p99s = kubetee.map((m) => m.open.latency.p99);
    const met = kubetee.filter((m) => m.open.latency.p99 < TARGET_P99_MS && errorCount(m.open) === 0 && m.open.achievedPerSecond >= RATE * 0.98).length;
    const refP99 = measurements.filter((m) => m.target === 'https').map((m) => m.open.latency.p99);
    const loads = kubetee.map((m) => m.openWindow.load1End);
    console.log(
      `  target p99 < ${TARGET_P99_MS} ms at ${RATE}/s (no errors, rate held): met in ${met} of ${kubetee.length} round${kubetee.length === 1 ? '' : 's'} (kubetee p99 ${p99s.map(ms).join(', ')} ms${refP99.length ? `; node:https reference p99 ${refP99.map(ms).join(', ')} ms` : ''}; load average ${loads.map((x) => x.toFixed(1)).join(', ')} on ${cpus} CPUs${loads.some((x) => x >= cpus) ? ', HIGH: tails include waiting for a CPU' : ''})`,
    );
  }
} finally {
  await current?.stop().catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
}
