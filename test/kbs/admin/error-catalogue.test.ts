import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../../helpers/cli.js';
import { ADMIN_HTTP_STATUS } from '../../../src/kbs/admin/http-status.js';

// ADMIN_HTTP_STATUS is typed Record<KbsStoreErrorCode, number>, so the compiler
// already forces one status per code; this checks the docs list exactly those codes.
test('every store error code is documented in docs/key-broker-store.md, and no stale one is', () => {
  const doc = readFileSync(join(REPO_ROOT, 'docs', 'key-broker-store.md'), 'utf8');
  const section = doc.slice(doc.indexOf('## Error codes'), doc.indexOf('## Command line'));
  assert.ok(section.length > 100, 'the Error codes section exists');
  const codes = Object.keys(ADMIN_HTTP_STATUS).sort();
  for (const code of codes) assert.match(section, new RegExp(`\`${code}\``), `${code} is not documented`);
  const documented = [...section.matchAll(/`([A-Z][A-Z_]+)`/g)].map((m) => m[1]!);
  for (const code of documented) assert.ok(codes.includes(code), `docs list ${code}, which no longer exists`);
});
