// `npm run bench attest`: DCAP quote verification throughput, kubetee against
// both npm builds of Phala's dcap-qvl (pure JS 0.3.9 and wasm 0.3.3), on the
// same real quotes and collateral in the same process, one core. Prints
// quotes/s for each and the ratios (implementations are measured interleaved
// in short slices so load changes affect all alike); warm = one verifier reused (caches hot),
// cold = an empty cache for every quote.
import { readFileSync, existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { QuoteVerifier, parseCollateral } from '../src/attestation/index.js';
import { fromHex } from '../src/common/hex.js';
import { SimulatedPlatform } from '../src/sim/index.js';

const require = createRequire(import.meta.url);
const REPO = fileURLToPath(new URL('..', import.meta.url));
const FIXTURES = join(process.env['KUBETEE_FIXTURES'] ?? join(REPO, '..', 'shared', 'fixtures'), 'attestation');
const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 2);

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

interface Measurement {
  perSecond: number;
  meanMs: number;
  n: number;
}

/**
 * Measures several implementations interleaved: ROUNDS rounds, each giving
 * every implementation SECONDS/ROUNDS of calls, so load changes on a shared
 * machine hit all of them alike and the ratios stay meaningful.
 */
function measureInterleaved(fns: (() => void)[], warmup: number[]): Measurement[] {
  fns.forEach((fn, i) => {
    for (let k = 0; k < warmup[i]!; k++) fn();
  });
  const rounds = 10;
  const slice = BigInt(Math.round((SECONDS / rounds) * 1e9));
  const totals = fns.map(() => ({ n: 0, ns: 0n }));
  for (let r = 0; r < rounds; r++) {
    fns.forEach((fn, i) => {
      const start = process.hrtime.bigint();
      const deadline = start + slice;
      let now = start;
      let n = 0;
      // Check the clock every 4 calls; bounded by the deadline.
      while (now < deadline) {
        for (let k = 0; k < 4; k++) fn();
        n += 4;
        now = process.hrtime.bigint();
      }
      totals[i]!.n += n;
      totals[i]!.ns += now - start;
    });
  }
  return totals.map(({ n, ns }) => {
    const seconds = Number(ns) / 1e9;
    return { perSecond: n / seconds, meanMs: (seconds * 1000) / n, n };
  });
}

function fmt(x: number): string {
  return x >= 100 ? x.toFixed(0) : x.toFixed(1);
}

async function main(): Promise<void> {
  if (!existsSync(FIXTURES)) {
    console.error(`fixtures not found at ${FIXTURES}`);
    process.exit(1);
  }
  const js = require('@phala/dcap-qvl') as { verify(q: Uint8Array, c: unknown, nowSecs: number): { status: string } };
  const wasm = (await import('@phala/dcap-qvl-web')) as unknown as { initSync(m: { module: Uint8Array }): unknown; js_verify(q: Uint8Array, c: unknown, now: bigint): { status: string } };
  wasm.initSync({ module: readFileSync(require.resolve('@phala/dcap-qvl-web/dcap-qvl-web_bg.wasm')) });

  console.log(`Node ${process.version}, one process, ${SECONDS}s per measurement (BENCH_SECONDS to change)`);
  const rows: string[][] = [];
  for (const v of VECTORS) {
    const quote = loadQuote(v.quote);
    const text = readFileSync(join(FIXTURES, v.collateral), 'utf8');
    const json = JSON.parse(text) as Record<string, unknown>;
    const collateral = parseCollateral(text);
    const at = new Date(v.at);
    const nowSecs = Math.floor(at.getTime() / 1000);

    // Every implementation must give the expected answer before it is timed.
    const warm = new QuoteVerifier();
    const check = (name: string, status: string): void => {
      if (status !== v.status) throw new Error(`${name} says ${status} for ${v.id}, expected ${v.status}`);
    };
    check('kubetee', warm.verify(quote, collateral, { at }).status);
    check('dcap-qvl JS', js.verify(quote, json, nowSecs).status);
    check('dcap-qvl wasm', wasm.js_verify(quote, json, BigInt(nowSecs)).status);

    const [jsRes, wasmRes, warmObj, warmText, cold] = measureInterleaved(
      [
        () => js.verify(quote, json, nowSecs),
        () => wasm.js_verify(quote, json, BigInt(nowSecs)),
        () => warm.verify(quote, collateral, { at }),
        () => warm.verify(quote, text, { at }),
        () => new QuoteVerifier({ cacheMaxEntries: 0 }).verify(quote, text, { at }),
      ],
      [10, 10, 200, 200, 10],
    ) as [Measurement, Measurement, Measurement, Measurement, Measurement];
    const slowest = Math.max(jsRes.perSecond, wasmRes.perSecond);
    rows.push([
      v.id,
      fmt(jsRes.perSecond),
      fmt(wasmRes.perSecond),
      fmt(warmObj.perSecond),
      fmt(warmText.perSecond),
      `${cold.meanMs.toFixed(2)} ms (${fmt(cold.perSecond)}/s)`,
      `${fmt(warmObj.perSecond / jsRes.perSecond)}x`,
      `${fmt(warmObj.perSecond / wasmRes.perSecond)}x`,
      `${fmt(cold.perSecond / slowest)}x`,
    ]);
  }
  const head = ['vector', 'dcap-qvl JS /s', 'dcap-qvl wasm /s', 'kubetee warm /s', 'warm (JSON text) /s', 'kubetee cold', 'warm vs JS', 'warm vs wasm', 'cold vs best ref'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ');
  console.log(line(head));
  for (const r of rows) console.log(line(r));

  // Distinct quotes: 512 quotes of one simulated platform, each with its own REPORTDATA, so
  // every call verifies a new quote signature (only platform-level results are cached).
  const sim = await SimulatedPlatform.create();
  const simQuotes = Array.from({ length: 512 }, (_, i) => sim.quote({ reportData: new Uint8Array([i & 0xff, i >> 8, 7]) }));
  const simCollateral = parseCollateral(sim.collateral());
  const simVerifier = new QuoteVerifier({ trustedRootCaDer: [sim.rootCaDer] });
  let k = 0;
  const [distinct] = measureInterleaved([() => simVerifier.verify(simQuotes[k++ & 511]!, simCollateral)], [200]) as [Measurement];
  console.log(`\nkubetee warm, 512 distinct quotes of one (simulated) platform: ${fmt(distinct.perSecond)} quotes/s (${(distinct.meanMs * 1000).toFixed(0)} µs each)`);
  console.log('\nwarm: one QuoteVerifier, collateral passed as the parsed Collateral (or its JSON text); cold: cacheMaxEntries 0, a new verifier per quote.');
}

await main();
