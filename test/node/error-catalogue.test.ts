import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { NODE_ERROR_CODES } from '../../src/node/errors.js';
import { SGX_ERROR_CODES } from '../../src/sgx/errors.js';
import { DEVICE_PLUGIN_ERROR_CODES } from '../../src/deviceplugin/errors.js';
import { REPO_ROOT } from '../helpers/cli.js';

test('every node-side error code is documented in docs/node-agent.md, and the docs list no stale code', () => {
  const doc = readFileSync(join(REPO_ROOT, 'docs', 'node-agent.md'), 'utf8');
  const table = doc.slice(doc.indexOf('## Error codes'), doc.indexOf('## Tests and benchmark'));
  const documented = new Set([...table.matchAll(/^\| `([A-Z_]+)` \|/gm)].map((m) => m[1]));
  const codes = [...NODE_ERROR_CODES, ...SGX_ERROR_CODES, ...DEVICE_PLUGIN_ERROR_CODES];
  for (const c of codes) assert.ok(documented.has(c), `${c} is missing from the error table`);
  for (const d of documented) assert.ok((codes as readonly string[]).includes(d!), `${d} is documented but no longer exists`);
});
