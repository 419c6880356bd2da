// One error catalogue: every AttestationError code is documented in
// docs/attestation.md and the docs list no code that does not exist.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ATTESTATION_ERROR_CODES } from '../../src/attestation/index.js';
import { REPO_ROOT } from '../helpers/cli.js';

test('every attestation error code is documented, and only those', () => {
  const doc = readFileSync(join(REPO_ROOT, 'docs', 'attestation.md'), 'utf8');
  const table = doc.slice(doc.indexOf('## Error codes'), doc.indexOf('## Cache design'));
  const documented = [...table.matchAll(/^\| `([A-Z_]+)` \|/gm)].map((m) => m[1]);
  assert.deepEqual([...documented].sort(), [...ATTESTATION_ERROR_CODES].sort());
});

test('every code the sources raise is in the catalogue', () => {
  const dir = join(REPO_ROOT, 'src', 'attestation');
  const raised = new Set<string>();
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.ts'))) {
    const src = readFileSync(join(dir, f), 'utf8');
    for (const m of src.matchAll(/AttestationError\(\s*'([A-Z_]+)'/g)) raised.add(m[1]!);
  }
  assert.ok(raised.size > 30);
  for (const code of raised) assert.ok((ATTESTATION_ERROR_CODES as readonly string[]).includes(code), code);
});
