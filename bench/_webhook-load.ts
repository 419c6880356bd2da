// Load generator for bench/webhook.ts, run as its own process so the server
// under test does not share an event loop with the client.
//   open-loop:   node --import tsx bench/_webhook-load.ts open  <url> <caFile> <bodyFile> <rate/s> <seconds>
//   closed-loop: node --import tsx bench/_webhook-load.ts closed <url> <caFile> <bodyFile> <concurrency> <seconds>
// Open loop: request i is due at start + i/rate whether or not earlier ones
// returned; latency is measured from the due time (no coordinated omission).
// Prints one JSON line with the results.
import { Agent, request } from 'node:https';
import { readFileSync } from 'node:fs';

const [mode, url, caFile, bodyFile, rateOrConc, secondsText] = process.argv.slice(2);
if (!mode || !url || !caFile || !bodyFile || !rateOrConc || !secondsText) {
  console.error('usage: _webhook-load.ts open|closed URL CA BODY RATE|CONCURRENCY SECONDS');
  process.exit(2);
}
const ca = readFileSync(caFile, 'utf8');
const body = readFileSync(bodyFile);
const seconds = Number(secondsText);
const MAX_IN_FLIGHT = 512;
const agent = new Agent({ keepAlive: true, maxSockets: 64, ca });
const latenciesMs: number[] = [];
let errors = 0;
let dropped = 0;
let inFlight = 0;

function send(dueNs: bigint): Promise<void> {
  inFlight++;
  return new Promise((resolve) => {
    const req = request(url, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': body.length }, timeout: 5_000 }, (res) => {
      res.resume();
      res.on('end', () => {
        inFlight--;
        if (res.statusCode === 200) latenciesMs.push(Number(process.hrtime.bigint() - dueNs) / 1e6);
        else errors++;
        resolve();
      });
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => {
      inFlight--;
      errors++;
      resolve();
    });
    req.end(body);
  });
}

const start = process.hrtime.bigint();
const endNs = start + BigInt(Math.round(seconds * 1e9));
if (mode === 'open') {
  const rate = Number(rateOrConc);
  const intervalNs = BigInt(Math.round(1e9 / rate));
  const total = Math.round(rate * seconds);
  let i = 0;
  const pending: Promise<void>[] = [];
  await new Promise<void>((done) => {
    const tick = (): void => {
      const now = process.hrtime.bigint();
      while (i < total && start + BigInt(i) * intervalNs <= now) {
        const due = start + BigInt(i) * intervalNs;
        i++;
        if (inFlight >= MAX_IN_FLIGHT) dropped++;
        else pending.push(send(due));
      }
      if (i >= total) done();
      else setImmediate(tick);
    };
    tick();
  });
  await Promise.race([Promise.all(pending), new Promise((r) => setTimeout(r, 10_000))]);
} else {
  const concurrency = Number(rateOrConc);
  const worker = async (): Promise<void> => {
    while (process.hrtime.bigint() < endNs) await send(process.hrtime.bigint());
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}
const elapsedS = Number(process.hrtime.bigint() - start) / 1e9;
latenciesMs.sort((a, b) => a - b);
const pct = (p: number): number => latenciesMs[Math.min(latenciesMs.length - 1, Math.floor((p / 100) * latenciesMs.length))] ?? Number.NaN;
process.stdout.write(
  `${JSON.stringify({ ok: latenciesMs.length, errors, dropped, perSecond: latenciesMs.length / Math.min(elapsedS, seconds + 10), p50: pct(50), p99: pct(99), max: latenciesMs.at(-1) ?? Number.NaN })}\n`,
);
agent.destroy();
