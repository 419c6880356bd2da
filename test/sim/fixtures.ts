import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { FIXTURES_DIR, fixturePresent } from '../helpers/fixtures.js';

/** Shared attestation fixtures (real Intel data). */
export const ATTESTATION_FIXTURES = join(FIXTURES_DIR, 'attestation');

/** Reads a fixture file; skips off CI and fails under CI when it is missing. */
export function readFixture(t: TestContext, relativePath: string): Buffer | undefined {
  const path = join(ATTESTATION_FIXTURES, relativePath);
  return fixturePresent(t, path) ? readFileSync(path) : undefined;
}
