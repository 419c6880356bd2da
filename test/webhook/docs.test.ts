import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../helpers/cli.js';
import { ENGINE_RULE_IDS, RULE_IDS } from '../../src/webhook/rules/catalogue.js';
import { DENIAL_CODES, POLICY_ERROR_CODES, WEBHOOK_ERROR_CODES } from '../../src/webhook/errors.js';

const doc = readFileSync(join(REPO_ROOT, 'docs', 'admission.md'), 'utf8');

test('docs/admission.md lists every rule id in its rules table', () => {
  const documented = new Set([...doc.matchAll(/^\| `([a-z-]+\.[a-z-]+)` \|/gm)].map((m) => m[1]!));
  const expected = [...RULE_IDS, ...Object.values(ENGINE_RULE_IDS)];
  assert.deepEqual(expected.filter((id) => !documented.has(id)), [], 'rules missing from the docs');
  assert.deepEqual([...documented].filter((id) => !expected.includes(id)), [], 'docs list rules that do not exist');
});

test('docs/admission.md documents every error and denial code', () => {
  for (const code of [...WEBHOOK_ERROR_CODES, ...POLICY_ERROR_CODES, ...DENIAL_CODES]) assert.ok(doc.includes(`\`${code}\``), `${code} is not documented`);
});
