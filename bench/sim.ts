// Simulated platform throughput: quotes and collateral per second, side by
// side with the floor they are made of (raw node:crypto ECDSA P-256 signing:
// a quote needs 2 signatures, collateral 4), reported as ratios.
// Run: npm run bench sim
import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import { SimulatedPlatform } from '../src/sim/index.js';

function rate(iterations: number, run: () => void): { perSecond: number; msEach: number } {
  for (let i = 0; i < Math.min(20, iterations); i++) run(); // warm-up
  const start = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) run();
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  return { perSecond: iterations / seconds, msEach: (seconds * 1000) / iterations };
}

const createStart = process.hrtime.bigint();
const platform = await SimulatedPlatform.create({ now: new Date('2026-01-01T00:00:00Z') });
const createMs = Number(process.hrtime.bigint() - createStart) / 1e6;

const key = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
const data = createHash('sha256').update('bench').digest();
const signOnce = (): void => {
  sign('sha256', data, { key, dsaEncoding: 'ieee-p1363' });
};

const reportData = new Uint8Array(64).fill(7);
const signs = rate(2000, signOnce);
const quotes = rate(1000, () => platform.quote({ reportData }));
const collaterals = rate(200, () => platform.collateral());

const floorQuote = signs.msEach * 2;
const floorCollateral = signs.msEach * 4;
console.log(`create (keys + 5 certificates): ${createMs.toFixed(1)} ms`);
console.log(`reference ECDSA P-256 sign: ${signs.perSecond.toFixed(0)}/s (${(signs.msEach * 1000).toFixed(0)} µs)`);
console.log(`quote():      ${quotes.perSecond.toFixed(0)}/s (${quotes.msEach.toFixed(3)} ms) = ${(quotes.msEach / floorQuote).toFixed(2)}× the 2-signature floor`);
console.log(`collateral(): ${collaterals.perSecond.toFixed(0)}/s (${collaterals.msEach.toFixed(3)} ms) = ${(collaterals.msEach / floorCollateral).toFixed(2)}× the 4-signature floor`);
