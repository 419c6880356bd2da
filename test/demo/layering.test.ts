import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { REPO_ROOT } from '../helpers/cli.js';

/**
 * Dependency direction: the UI (src/dashboard) and the composition layers
 * (src/up, src/cli) may know the components; no component may know the UI.
 * (src/demo used to import the dashboard's view types for its run records.)
 */
const MAY_IMPORT_DASHBOARD = ['src/dashboard/', 'src/up/', 'src/cli/'];

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? tsFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
}

test('no component below the UI imports src/dashboard', () => {
  const offenders: string[] = [];
  for (const file of tsFiles(join(REPO_ROOT, 'src'))) {
    const rel = relative(REPO_ROOT, file);
    if (MAY_IMPORT_DASHBOARD.some((p) => rel.startsWith(p))) continue;
    const src = readFileSync(file, 'utf8');
    for (const m of src.matchAll(/from\s+'([^']+)'|import\(\s*'([^']+)'\s*\)/g)) {
      const spec = m[1] ?? m[2]!;
      if (/(^|\/)dashboard\//.test(spec)) offenders.push(`${rel} imports ${spec}`);
    }
  }
  assert.deepEqual(offenders, []);
});
