#!/usr/bin/env node
// Runs every unit/integration test file (test/**/*.test.ts, except test/e2e/)
// with node's built-in test runner, TypeScript loaded through tsx.
// Usage: node scripts/run-tests.mjs [path-substring ...]   (filters files)
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { spawnSync } from 'node:child_process';

const root = new URL('..', import.meta.url).pathname;
const filters = process.argv.slice(2);

function walk(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) {
      // Only the top-level test/e2e (real-cluster suite) is separate; component e2e folders such as test/kbs/e2e run here.
      if ((name === 'e2e' && dir === join(root, 'test')) || name === 'node_modules' || name === 'fixtures') continue;
      out.push(...walk(p));
    } else if (name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

const files = walk(join(root, 'test'))
  .map((f) => relative(root, f))
  .filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)))
  .sort();
if (files.length === 0) {
  console.error(`no test files matched ${filters.join(' ') || 'test/**/*.test.ts'}`);
  process.exit(1);
}
const concurrency = process.env.KUBETEE_TEST_CONCURRENCY ?? '2';
const result = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, '--test-reporter=spec', ...files],
  { stdio: 'inherit', cwd: root },
);
process.exit(result.status ?? 1);
