import { readFileSync } from 'node:fs';
import { QuoteVerifier, parseCollateral } from '../src/attestation/index.js';
const F = '/work/shared/fixtures/attestation/';
const quote = new Uint8Array(readFileSync(F + 'phala-dcap-qvl/sgx_quote'));
const col = parseCollateral(readFileSync(F + 'phala-dcap-qvl/sgx_quote_collateral.json', 'utf8'));
const at = new Date('2025-07-04T00:00:00Z');
const mode = process.argv[2];
const warm = new QuoteVerifier();
const t0 = Date.now();
let n = 0;
while (Date.now() - t0 < 4000) {
  if (mode === 'cold') new QuoteVerifier({ cacheMaxEntries: 0 }).verify(quote, col, { at });
  else warm.verify(quote, col, { at });
  n++;
}
console.log(mode, n);
