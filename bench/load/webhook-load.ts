// Load generator for bench/webhook.ts, run as its own process (pinned to its
// own core by the parent) so it never shares an event loop or a core with the
// server under test.
//
//   node --import tsx bench/load/webhook-load.ts '<LoadConfig as JSON>'
//
// open:   constant rate, open loop. Request i is due at t0 + i/rate whatever
//         happened to earlier ones; latency is measured from that due time, so a
//         stalled server (or a late load generator) shows up in the numbers
//         instead of silently lowering the offered rate (no coordinated omission).
//         A warm-up at the same rate runs first, continuous with the measured window.
// closed: `concurrency` requests in flight, each sent as soon as the previous
//         one returns: the server's maximum admissions/s.
//
// Requests go over a small pool of keep-alive HTTPS connections (opened
// before the clock starts), like kube-apiserver's webhook client. Every request
// carries a fresh uid; a response counts as ok only with status 200, the same
// uid and the expected verdict. Sends an IPC message at the start and end of
// the measured window (the parent samples server CPU there) and prints one
// JSON line (LoadResult) on stdout.
import { Agent, request } from 'node:https';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

export interface LoadConfig {
  mode: 'open' | 'closed';
  /** https://host:port, paths come from the reviews. */
  baseUrl: string;
  caFile: string;
  /** JSON file: [{ kind, path, body, allowed }] (body contains the uid placeholder). */
  reviewsFile: string;
  uidPlaceholder: string;
  /** open: requests per second. */
  rate: number;
  /** closed: requests in flight. */
  concurrency: number;
  /** Keep-alive connections. */
  pool: number;
  warmupSeconds: number;
  measureSeconds: number;
  /**
   * open: how the sender waits for the next due time. 'timer' sleeps on a 1 ms
   * timer (sends up to ~1 ms late, but yields the core); 'spin' polls the clock
   * (precise on an idle core, but a CPU hog that a busy scheduler makes wait).
   */
  pacing: 'timer' | 'spin';
  /** Per-request timeout (kube-apiserver's default webhook timeout is 10 s). */
  timeoutMs: number;
}

export interface Percentiles {
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
}

export interface LoadResult {
  mode: 'open' | 'closed';
  /** Measured requests scheduled (open) or sent (closed). */
  sent: number;
  ok: number;
  /** By cause: status, timeout, socket, uid, verdict, dropped. */
  errors: Record<string, number>;
  errorSamples: string[];
  /** ok responses per second over the measured window (first due time to last response). */
  achievedPerSecond: number;
  /** ms from due time (open) or send time (closed) to the end of the response. */
  latency: Percentiles;
  /** ms from the actual send to the end of the response (open loop: excludes load generator lateness). */
  service: Percentiles;
  /** ms the load generator sent after the due time (its own lateness; open loop). */
  sendLag: Percentiles;
  byKind: Record<string, Percentiles & { ok: number }>;
  /** Connections the pool ended up with. */
  sockets: number;
}

interface WireReview {
  kind: string;
  path: string;
  body: string;
  allowed: boolean;
}

const config = JSON.parse(process.argv[2] ?? '') as LoadConfig;
const ca = readFileSync(config.caFile, 'utf8');
const reviews = (JSON.parse(readFileSync(config.reviewsFile, 'utf8')) as WireReview[]).map((r) => {
  const template = Buffer.from(r.body);
  const uidAt = template.indexOf(config.uidPlaceholder);
  if (uidAt < 0) throw new Error(`review ${r.kind} has no uid placeholder`);
  return { ...r, template, uidAt, verdict: r.allowed ? '"allowed":true' : '"allowed":false' };
});
const base = new URL(config.baseUrl);
const agent = new Agent({ keepAlive: true, maxSockets: config.pool, maxFreeSockets: config.pool, ca });
let sockets = 0;
const countSockets = (): void => {
  sockets = Math.max(sockets, Object.values(agent.sockets).reduce((n, l) => n + (l?.length ?? 0), 0) + Object.values(agent.freeSockets).reduce((n, l) => n + (l?.length ?? 0), 0));
};

const errors: Record<string, number> = {};
const errorSamples: string[] = [];
function fail(cause: string, detail: string): void {
  errors[cause] = (errors[cause] ?? 0) + 1;
  if (errorSamples.length < 5) errorSamples.push(`${cause}: ${detail}`);
}

let uidCounter = 0;
function freshUid(): string {
  const n = (uidCounter++).toString(16).padStart(12, '0');
  return `${(process.pid & 0xffffffff).toString(16).padStart(8, '0')}-0000-4000-8000-${n}`;
}

/** Sends review `k`; resolves with the end time (ms, performance.now) or undefined on error. */
function send(k: number): Promise<number | undefined> {
  const r = reviews[k]!;
  const body = Buffer.from(r.template);
  const uid = freshUid();
  body.write(uid, r.uidAt, 'latin1');
  return new Promise((resolve) => {
    let settled = false;
    const done = (end: number | undefined): void => {
      if (settled) return;
      settled = true;
      resolve(end);
    };
    const req = request(
      { protocol: 'https:', hostname: base.hostname, port: base.port, path: r.path, method: 'POST', agent, timeout: config.timeoutMs, headers: { 'content-type': 'application/json', accept: 'application/json, */*', 'content-length': body.length } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const end = performance.now();
          const text = Buffer.concat(chunks).toString('latin1');
          if (res.statusCode !== 200) fail('status', `${r.kind}: HTTP ${res.statusCode} ${text.slice(0, 200)}`);
          else if (!text.includes(`"uid":"${uid}"`)) fail('uid', `${r.kind}: response does not echo uid ${uid}: ${text.slice(0, 200)}`);
          else if (!text.includes(r.verdict)) fail('verdict', `${r.kind}: expected ${r.verdict}: ${text.slice(0, 200)}`);
          else return done(end);
          done(undefined);
        });
        res.on('error', (err) => {
          fail('socket', `${r.kind}: ${err.message}`);
          done(undefined);
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no response within ${config.timeoutMs} ms`)));
    req.on('error', (err) => {
      fail(err.message.startsWith('no response') ? 'timeout' : 'socket', `${r.kind}: ${err.message}`);
      done(undefined);
    });
    req.end(body);
  });
}

function percentiles(values: Float64Array): Percentiles {
  const sorted = values.slice().sort();
  const at = (p: number): number => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]! : Number.NaN);
  return { p50: at(0.5), p90: at(0.9), p99: at(0.99), p999: at(0.999), max: sorted.length ? sorted[sorted.length - 1]! : Number.NaN };
}

function notify(phase: 'measure-start' | 'measure-end'): Promise<void> {
  // Wait until the parent has sampled the server, so the window it measures is the one we load.
  return new Promise((resolve) => {
    if (!process.send) return resolve();
    const onMessage = (m: unknown): void => {
      if (m === `${phase}:ack`) {
        process.off('message', onMessage);
        resolve();
      }
    };
    process.on('message', onMessage);
    process.send(phase);
  });
}

// Open the pool before the clock starts (TLS handshakes are not what we measure).
await Promise.all(Array.from({ length: config.pool }, (_, i) => send(i % reviews.length)));
countSockets();

let result: LoadResult;
if (config.mode === 'open') {
  const intervalMs = 1000 / config.rate;
  const warmup = Math.round(config.rate * config.warmupSeconds);
  const measured = Math.round(config.rate * config.measureSeconds);
  const total = warmup + measured;
  const latency = new Float64Array(measured).fill(Number.NaN);
  const service = new Float64Array(measured).fill(Number.NaN);
  const lag = new Float64Array(measured);
  const maxInFlight = config.rate * 20; // 20 s of requests queued: the server is gone, stop piling on
  let inFlight = 0;
  let lastEnd = 0;
  let scheduledAll = false;
  let drained: () => void = () => undefined;
  const allDone = new Promise<void>((r) => (drained = r));
  let measureStarted: Promise<void> | undefined;
  const t0 = performance.now() + 20;
  let i = 0;
  await new Promise<void>((allScheduled) => {
    const tick = (): void => {
      const now = performance.now();
      while (i < total && t0 + i * intervalMs <= now) {
        const n = i++;
        const due = t0 + n * intervalMs;
        const m = n - warmup;
        if (m === 0) measureStarted = notify('measure-start');
        if (inFlight >= maxInFlight) {
          if (m >= 0) fail('dropped', `${inFlight} requests in flight`);
          continue;
        }
        inFlight++;
        if (n % 1000 === 0) countSockets();
        const sentAt = performance.now();
        if (m >= 0) lag[m] = sentAt - due;
        void send(n % reviews.length).then((end) => {
          inFlight--;
          if (end !== undefined && m >= 0) {
            latency[m] = end - due;
            service[m] = end - sentAt;
            lastEnd = Math.max(lastEnd, end);
          }
          if (scheduledAll && inFlight === 0) drained();
        });
      }
      if (i >= total) {
        scheduledAll = true;
        if (inFlight === 0) drained();
        return allScheduled();
      }
      const wait = t0 + i * intervalMs - performance.now();
      if (config.pacing === 'spin' && wait < 2) setImmediate(tick);
      else setTimeout(tick, Math.max(0, Math.floor(wait)));
    };
    tick();
  });
  await allDone;
  await measureStarted;
  await notify('measure-end');
  const firstDue = t0 + warmup * intervalMs;
  const byKind: LoadResult['byKind'] = {};
  reviews.forEach((r, k) => {
    const own = latency.filter((v, m) => (warmup + m) % reviews.length === k && !Number.isNaN(v));
    byKind[r.kind] = { ...percentiles(own), ok: own.length };
  });
  const okLatency = latency.filter((v) => !Number.isNaN(v));
  result = {
    mode: 'open',
    sent: measured,
    ok: okLatency.length,
    errors,
    errorSamples,
    achievedPerSecond: okLatency.length && lastEnd > firstDue ? okLatency.length / ((lastEnd - firstDue) / 1000) : 0,
    latency: percentiles(okLatency),
    service: percentiles(service.filter((v) => !Number.isNaN(v))),
    sendLag: percentiles(lag),
    byKind,
    sockets,
  };
} else {
  const samples: number[] = [];
  let sent = 0;
  let measuring = false;
  const warmupEnd = performance.now() + config.warmupSeconds * 1000;
  const measureEnd = warmupEnd + config.measureSeconds * 1000;
  let k = 0;
  const worker = async (): Promise<void> => {
    while (performance.now() < measureEnd) {
      const start = performance.now();
      const counted = measuring;
      if (counted) sent++;
      const end = await send(k++ % reviews.length);
      if (counted && end !== undefined && end <= measureEnd) samples.push(end - start);
    }
  };
  const workers = Array.from({ length: config.concurrency }, worker);
  await new Promise((r) => setTimeout(r, Math.max(0, warmupEnd - performance.now())));
  await notify('measure-start');
  measuring = true;
  const measuredFrom = performance.now();
  await new Promise((r) => setTimeout(r, Math.max(0, measureEnd - performance.now())));
  await notify('measure-end');
  const measuredFor = measureEnd - measuredFrom;
  await Promise.all(workers);
  const s = Float64Array.from(samples);
  result = { mode: 'closed', sent, ok: s.length, errors, errorSamples, achievedPerSecond: s.length / (measuredFor / 1000), latency: percentiles(s), service: percentiles(s), sendLag: percentiles(new Float64Array(0)), byKind: {}, sockets };
}
countSockets();
result.sockets = sockets;
agent.destroy();
process.stdout.write(`${JSON.stringify(result)}\n`);
process.disconnect?.();
