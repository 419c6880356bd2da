import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { REPO_ROOT } from '../helpers/cli.js';

/** Shared attestation fixtures (real Intel data), next to the repository. */
export const ATTESTATION_FIXTURES = join(REPO_ROOT, '..', 'shared', 'fixtures', 'attestation');

/**
 * Reads a fixture file. Missing fixtures skip the test locally but fail it in
 * CI (env CI set), so a broken checkout can never pass silently.
 */
export function readFixture(t: TestContext, relativePath: string): Buffer | undefined {
  const path = join(ATTESTATION_FIXTURES, relativePath);
  if (existsSync(path)) return readFileSync(path);
  if (process.env.CI) throw new Error(`fixture ${path} is missing (CI is set, so this fails instead of skipping)`);
  t.skip(`fixture ${path} not present`);
  return undefined;
}
