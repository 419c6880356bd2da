// Profiling driver (not a benchmark; run.ts skips files starting with "_"):
//   node --import tsx --cpu-prof bench/_profile-attest.ts cold|warm|new
// loops one path for 4 s so a CPU profile shows where its time goes.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { QuoteVerifier, parseCollateral } from '../src/attestation/index.js';
import { newPlatformQuotes } from './_new-platforms.js';

const FIXTURES = join(process.env['KUBETEE_FIXTURES'] ?? join(import.meta.dirname, '..', '..', 'shared', 'fixtures'), 'attestation');
const quote = new Uint8Array(readFileSync(join(FIXTURES, 'phala-dcap-qvl/sgx_quote')));
const collateral = parseCollateral(readFileSync(join(FIXTURES, 'phala-dcap-qvl/sgx_quote_collateral.json'), 'utf8'));
const at = new Date('2025-07-04T00:00:00Z');
const mode = process.argv[2] ?? 'cold';
const np = await newPlatformQuotes(64);
const joining = new QuoteVerifier({ trustedRootCaDer: [np.root], cacheMaxEntries: 1 });
const warm = new QuoteVerifier();
const step: Record<string, (i: number) => void> = {
  cold: () => new QuoteVerifier({ cacheMaxEntries: 0 }).verify(quote, collateral, { at }),
  warm: () => warm.verify(quote, collateral, { at }),
  new: (i) => joining.verify(np.quotes[i % np.quotes.length]!, np.collateral, { at: np.at }),
};
const fn = step[mode];
if (!fn) throw new Error(`mode must be one of ${Object.keys(step).join(', ')}`);
const t0 = Date.now();
let n = 0;
while (Date.now() - t0 < 4000) fn(n++);
console.log(mode, n, 'calls');
