// `npm run bench kbs`: the key broker's two throughput numbers, each beside
// its reference measured in the same run.
//  1. Full attested releases (auth + attest + resource, simulated SGX quotes)
//     over loopback HTTP with the SQLite store and with PostgreSQL: releases/s,
//     p50/p99 latency; reference: bare quote verification (QuoteVerifier.verify)
//     on the same kind of quote, so the ratio is the protocol's overhead. Then
//     the shared protocol state's own cost per release (sessions in the store),
//     beside one audit append.
//  2. Seal/unseal throughput (GB/s) in memory and file to file; reference:
//     node's raw AES-256-GCM and `openssl speed -evp aes-256-gcm`.
import { randomBytes } from 'node:crypto';
import { createCipheriv } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { createReadStream, createWriteStream, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { QuoteVerifier } from '../src/attestation/index.js';
import { SimulatedPlatform } from '../src/sim/index.js';
import { openKbsData } from '../src/kbs/secrets/open-kbs-data.js';
import { createKbsServer } from '../src/kbs/server.js';
import { staticCollateral } from '../src/kbs/protocol/collateral-source.js';
import { KbsClient, simEvidence } from '../src/kbs/client/index.js';
import { sealStream, unsealStream } from '../src/kbs/seal/stream.js';
import { sealFile, unsealFile } from '../src/kbs/seal/file.js';
import { startTestPostgres } from '../test/helpers/postgres.js';

const RELEASES = Number(process.env['KBS_BENCH_RELEASES'] ?? 300);
const CONCURRENCY = 4;
const SEAL_MIB = Number(process.env['KBS_BENCH_SEAL_MIB'] ?? 512);

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function releases(platform: SimulatedPlatform, db: string, label: string): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'kubetee-bench-kbs-'));
  const data = await openKbsData({ db, env: { KUBETEE_KBS_MASTER_KEY: randomBytes(32).toString('base64') }, adminTokenFile: join(dir, 'admin.token') });
  const collateral = platform.collateral();
  const server = await createKbsServer({
    service: data.service,
    verifier: new QuoteVerifier({ trustedRootCaDer: [platform.rootCaDer] }),
    collateral: staticCollateral([collateral]),
    rateLimit: false,
  });
  try {
    const url = await server.listen({ host: '127.0.0.1', port: 0 });
    await data.service.create('token:bench', { path: 'bench/key/model', value: randomBytes(32) });
    const evidence = simEvidence(platform, { mrenclave: 'ab'.repeat(32) });
    // Warm-up: caches, JIT, connection set-up.
    for (let i = 0; i < 10; i++) await new KbsClient({ url, evidence }).getResource('bench/key/model');
    const latencies: number[] = [];
    let next = 0;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < RELEASES) {
          next++;
          const t0 = performance.now();
          // A new client per release: a fresh TEE key, session, quote and JWE each time.
          await new KbsClient({ url, evidence }).getResource('bench/key/model');
          latencies.push(performance.now() - t0);
        }
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    latencies.sort((a, b) => a - b);
    const rate = latencies.length / seconds;
    console.log(`  ${label.padEnd(10)} ${rate.toFixed(0).padStart(6)} releases/s   p50 ${pct(latencies, 50).toFixed(1)} ms   p99 ${pct(latencies, 99).toFixed(1)} ms   (${latencies.length} releases, concurrency ${CONCURRENCY}, client quoting in-process)`);
    return rate;
  } finally {
    await server.close();
    await data.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The protocol state's share of one release, measured on the store alone:
 * /auth's INSERT, /attest's claim (UPDATE ... RETURNING) and attested UPDATE,
 * and the SELECT another replica does on /resource (4 statements, one round
 * trip each). Reference: one durable audit append (what every release
 * already paid before sessions moved to the store).
 */
async function sessionCost(db: string, label: string): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'kubetee-bench-kbs-sessions-'));
  const data = await openKbsData({ db, env: { KUBETEE_KBS_MASTER_KEY: randomBytes(32).toString('base64') }, adminTokenFile: join(dir, 'admin.token') });
  try {
    const s = data.store.sessions;
    const n = 400;
    const now = Date.now();
    const ids = Array.from({ length: n }, () => randomBytes(32).toString('hex'));
    const run = async (): Promise<number> => {
      const t0 = performance.now();
      for (const id of ids) {
        await s.insert({ idHash: id, tee: 'sgx', nonce: 'n'.repeat(44), expiresAtMs: now + 300_000 });
        await s.claim(id, now);
        await s.transition(id, ['attesting'], 'attested', 'x'.repeat(1500));
        await s.get(id);
      }
      const ms = (performance.now() - t0) / n;
      for (const id of ids) await s.delete(id);
      return ms;
    };
    await run();
    const perRelease = Math.min(await run(), await run());
    const t0 = performance.now();
    for (let i = 0; i < n / 4; i++) await data.service.appendAudit({ actor: 'bench', action: 'resource.release', resource: 'bench/key/model', outcome: 'success', reason: '' });
    const audit = (performance.now() - t0) / (n / 4);
    console.log(`  ${label.padEnd(10)} sessions in the store: ${(perRelease * 1000).toFixed(0)} µs per release (insert + claim + attested + read); reference: one audit append ${(audit * 1000).toFixed(0)} µs`);
  } finally {
    await data.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

function verifyRate(platform: SimulatedPlatform): number {
  const verifier = new QuoteVerifier({ trustedRootCaDer: [platform.rootCaDer] });
  const collateral = platform.collateral();
  const quotes = Array.from({ length: 50 }, () => platform.quote({ reportData: randomBytes(64) }));
  for (const q of quotes.slice(0, 10)) verifier.verify(q, collateral);
  const n = 500;
  const t0 = performance.now();
  for (let i = 0; i < n; i++) verifier.verify(quotes[i % quotes.length]!, collateral);
  return n / ((performance.now() - t0) / 1000);
}

function quoteRate(platform: SimulatedPlatform): number {
  const n = 300;
  const t0 = performance.now();
  for (let i = 0; i < n; i++) platform.quote({ reportData: randomBytes(64) });
  return n / ((performance.now() - t0) / 1000);
}

async function* source(chunk: Buffer, count: number): AsyncGenerator<Buffer> {
  for (let i = 0; i < count; i++) yield chunk;
}

async function drain(gen: AsyncIterable<Buffer>): Promise<Buffer[]> {
  const keep: Buffer[] = [];
  for await (const b of gen) keep.push(b);
  return keep;
}

async function sealing(): Promise<void> {
  const key = randomBytes(32);
  const mib = 1024 * 1024;
  const chunk = randomBytes(mib);
  const bytes = SEAL_MIB * mib;

  // Each in-memory figure is the best of three rounds: the machine is shared, and the best round is the least disturbed one.
  const best = async (f: () => Promise<number> | number): Promise<number> => Math.max(await f(), await f(), await f());
  let t0 = 0;

  // Reference 1: node's raw AES-256-GCM over the same bytes (one cipher, no framing, no I/O).
  const raw = await best(() => {
    const t = performance.now();
    const c = createCipheriv('aes-256-gcm', key, randomBytes(12));
    for (let i = 0; i < SEAL_MIB; i++) c.update(chunk);
    c.final();
    return bytes / ((performance.now() - t) / 1000) / 1e9;
  });

  // Reference 2: OpenSSL's own AES-256-GCM (EVP) on 1 MiB blocks.
  let openssl: number | undefined;
  const r = spawnSync('openssl', ['speed', '-evp', 'aes-256-gcm', '-seconds', '2', '-bytes', String(mib)], { encoding: 'utf8' });
  const m = /aes-256-gcm\s+([\d.]+)k/i.exec(r.stdout ?? '');
  if (m) openssl = (Number(m[1]) * 1000) / 1e9;

  // Seal in memory (stream API): framing, per-chunk nonces and tags.
  const rssBefore = process.memoryUsage().rss;
  let peakRss = rssBefore;
  let sealedBytes = 0;
  const sealMem = await best(async () => {
    const t = performance.now();
    sealedBytes = 0;
    let n = 0;
    for await (const b of sealStream(source(chunk, SEAL_MIB), key, { resourcePath: 'bench/key/seal' })) {
      sealedBytes += b.length;
      if (++n % 64 === 0) peakRss = Math.max(peakRss, process.memoryUsage.rss());
    }
    return bytes / ((performance.now() - t) / 1000) / 1e9;
  });

  // Unseal in memory: seal a 64 MiB sample once, then open it repeatedly to reach the same volume.
  const sampleMib = 64;
  const sealedSample = await drain(sealStream(source(chunk, sampleMib), key, { resourcePath: 'bench/key/seal' }));
  const rounds = Math.max(1, Math.floor(SEAL_MIB / sampleMib));
  const unsealMem = await best(async () => {
    const t = performance.now();
    for (let i = 0; i < rounds; i++) {
      for await (const _ of unsealStream((async function* () { yield* sealedSample; })(), { resolveKey: () => key })) void _;
    }
    return (rounds * sampleMib * mib) / ((performance.now() - t) / 1000) / 1e9;
  });

  // File to file (page cache; includes fsync of the output).
  const dir = mkdtempSync(join(tmpdir(), 'kubetee-bench-seal-'));
  const fileMib = Math.min(SEAL_MIB, 256);
  try {
    const input = join(dir, 'in.bin');
    writeFileSync(input, Buffer.concat(Array.from({ length: fileMib }, () => chunk)));
    // Reference 3: a plain streamed copy of the same file (same I/O, no crypto), synced like the sealed output.
    t0 = performance.now();
    await pipeline(createReadStream(input, { highWaterMark: mib }), createWriteStream(join(dir, 'copy.bin')));
    const fh = await open(join(dir, 'copy.bin'), 'r+');
    await fh.sync();
    await fh.close();
    const copyRate = (fileMib * mib) / ((performance.now() - t0) / 1000) / 1e9;
    t0 = performance.now();
    await sealFile(input, `${input}.sealed`, key, { resourcePath: 'bench/key/seal' });
    const sealFileRate = (fileMib * mib) / ((performance.now() - t0) / 1000) / 1e9;
    t0 = performance.now();
    await unsealFile(`${input}.sealed`, join(dir, 'out.bin'), { resolveKey: () => key });
    const unsealFileRate = (fileMib * mib) / ((performance.now() - t0) / 1000) / 1e9;
    const ref = openssl ?? raw;
    const refName = openssl ? 'openssl speed' : 'node raw GCM';
    console.log(`  reference   node raw AES-256-GCM ${raw.toFixed(2)} GB/s; openssl speed -evp aes-256-gcm (1 MiB) ${openssl ? `${openssl.toFixed(2)} GB/s` : 'n/a'}`);
    console.log(`  seal   mem  ${sealMem.toFixed(2)} GB/s  = ${(sealMem / raw).toFixed(2)}x node raw GCM, ${(sealMem / ref).toFixed(2)}x ${refName}   (${SEAL_MIB} MiB, ${sealedBytes - bytes} bytes overhead, RSS growth ${((peakRss - rssBefore) / mib).toFixed(0)} MiB)`);
    console.log(`  unseal mem  ${unsealMem.toFixed(2)} GB/s  = ${(unsealMem / raw).toFixed(2)}x node raw GCM, ${(unsealMem / ref).toFixed(2)}x ${refName}`);
    console.log(`  reference   plain streamed copy of the ${fileMib} MiB file (fsync included) ${copyRate.toFixed(2)} GB/s`);
    console.log(`  seal   file ${sealFileRate.toFixed(2)} GB/s  = ${(sealFileRate / copyRate).toFixed(2)}x plain copy, ${(sealFileRate / raw).toFixed(2)}x node raw GCM   (file to file, fsync included)`);
    console.log(`  unseal file ${unsealFileRate.toFixed(2)} GB/s  = ${(unsealFileRate / copyRate).toFixed(2)}x plain copy, ${(unsealFileRate / raw).toFixed(2)}x node raw GCM`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const platform = await SimulatedPlatform.create();
console.log('Attested releases (auth + attest + resource) over loopback HTTP');
const verify = verifyRate(platform);
const quoting = quoteRate(platform);
console.log(`  reference  ${verify.toFixed(0).padStart(6)} quote verifications/s (QuoteVerifier.verify alone, warm caches); simulated quoting ${quoting.toFixed(0)}/s`);
const dir = mkdtempSync(join(tmpdir(), 'kubetee-bench-sqlite-'));
const sqliteRate = await releases(platform, `sqlite:${join(dir, 'kbs.db')}`, 'SQLite');
await sessionCost(`sqlite:${join(dir, 'sessions.db')}`, 'SQLite');
rmSync(dir, { recursive: true, force: true });
console.log(`             SQLite releases/s = ${(sqliteRate / verify).toFixed(2)}x bare verification`);
const pg = await startTestPostgres();
if ('skip' in pg) {
  console.log(`  PostgreSQL skipped: ${pg.skip}`);
} else {
  try {
    const pgRate = await releases(platform, await pg.createDatabase(), 'PostgreSQL');
    await sessionCost(await pg.createDatabase(), 'PostgreSQL');
    console.log(`             PostgreSQL releases/s = ${(pgRate / verify).toFixed(2)}x bare verification, ${(pgRate / sqliteRate).toFixed(2)}x SQLite`);
  } finally {
    await pg.stop();
  }
}
console.log('\nSealed files (chunked AES-256-GCM, 1 MiB chunks)');
await sealing();
