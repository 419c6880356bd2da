import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { fromHex } from '../../src/common/hex.js';
import { FIXTURES_DIR, fixturePresent } from '../helpers/fixtures.js';

/** The shared attestation fixtures (real Intel quotes and collateral). */
export const FIXTURES = join(FIXTURES_DIR, 'attestation');

/** True when the fixtures are present; skips off CI, fails under CI otherwise. */
export function haveFixtures(t: TestContext): boolean {
  return fixturePresent(t, join(FIXTURES, 'README.md'));
}

export function fixturePath(rel: string): string {
  return join(FIXTURES, rel);
}

/** A quote fixture as bytes (hex files decoded). */
export function quoteFixture(rel: string): Uint8Array {
  const bytes = readFileSync(fixturePath(rel));
  if (rel.endsWith('.hex')) {
    const decoded = fromHex(bytes.toString('latin1'));
    if (!decoded) throw new Error(`${rel} is not hex`);
    return decoded;
  }
  return new Uint8Array(bytes);
}

export function textFixture(rel: string): string {
  return readFileSync(fixturePath(rel), 'utf8');
}

export const AUTOMATA_SGX = 'automata-dcap-attestation/quotes/sgx_v3_fmspc00606a.hex';
export const AUG_BUNDLE = 'assembled/collateral_sgx_00606a_2025-08_eval17.json';
export const AUG_AT = new Date('2025-08-30T00:00:00Z');
