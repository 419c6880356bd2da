import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { REPO_ROOT } from './cli.js';

/**
 * The shared fixtures folder: `$KUBETEE_FIXTURES` when set, else
 * `<repo>/../shared/fixtures` (where the team's checkout keeps it).
 */
export const FIXTURES_DIR = process.env['KUBETEE_FIXTURES'] ?? join(REPO_ROOT, '..', 'shared', 'fixtures');

/**
 * True when `path` exists. A missing fixture skips the test on a developer
 * machine but fails it when CI is set: CI must never silently skip real vectors.
 */
export function fixturePresent(t: TestContext, path: string): boolean {
  if (existsSync(path)) return true;
  if (process.env['CI']) throw new Error(`fixture missing under CI: ${path} (set KUBETEE_FIXTURES to the shared fixtures folder)`);
  t.skip(`fixture ${path} not present`);
  return false;
}

/** Path of a shared fixture, or undefined (test skipped) when it is missing off CI. */
export function fixturePath(t: TestContext, ...parts: string[]): string | undefined {
  const p = join(FIXTURES_DIR, ...parts);
  return fixturePresent(t, p) ? p : undefined;
}
