import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { REPO_ROOT } from './cli.js';

/** The shared fixtures folder (`<repo>/../shared/fixtures`). */
export const FIXTURES_DIR = join(REPO_ROOT, '..', 'shared', 'fixtures');

/**
 * Path of a shared fixture. When it is missing the test is skipped locally but
 * fails under CI (CI must never silently skip).
 */
export function fixturePath(t: TestContext, ...parts: string[]): string | undefined {
  const p = join(FIXTURES_DIR, ...parts);
  if (existsSync(p)) return p;
  if (process.env['CI']) throw new Error(`fixture missing under CI: ${p}`);
  t.skip(`fixture ${p} not present`);
  return undefined;
}
