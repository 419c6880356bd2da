import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadValuesFile, resolveValues } from '../../src/deploy/values.js';
import { DeployError } from '../../src/deploy/errors.js';

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof DeployError, `expected a DeployError, got ${String(err)}`);
    return err.code;
  }
  assert.fail('expected an error');
}

test('empty values get every default and are frozen', () => {
  const v = resolveValues({}, 'test');
  assert.equal(v.namespace, 'kubetee-system');
  assert.equal(v.profile, 'alibaba');
  assert.equal(v.webhook.replicas, 2);
  assert.equal(v.kbs.replicas, 1);
  assert.equal(v.networkPolicies.enabled, true);
  assert.ok(Object.isFrozen(v) && Object.isFrozen(v.webhook));
});

test('the --profile flag overrides the file', () => {
  assert.equal(resolveValues({ profile: 'alibaba' }, 'test', { profile: 'intel' }).profile, 'intel');
});

test('invalid values list every problem with its path and exit 2', () => {
  try {
    resolveValues({ namespace: 'Bad_NS', webhook: { replicas: 0 }, nope: 1 }, 'values.yaml');
    assert.fail('accepted');
  } catch (err) {
    assert.ok(err instanceof DeployError);
    assert.equal(err.code, 'VALUES_INVALID');
    assert.equal(err.exitCode, 2);
    assert.match(err.message, /namespace: must be a DNS-1123 label/);
    assert.match(err.message, /webhook\.replicas/);
    assert.match(err.message, /nope|Unrecognized key/);
  }
});

test('more than one broker replica needs PostgreSQL', () => {
  try {
    resolveValues({ kbs: { replicas: 3 } }, 'v');
    assert.fail('accepted');
  } catch (err) {
    assert.equal((err as DeployError).code, 'VALUES_INVALID');
    assert.match((err as Error).message, /kbs\.storage\.postgres: kbs\.replicas is 3 but SQLite/);
  }
  assert.equal(resolveValues({ kbs: { replicas: 3, storage: { postgres: { secretName: 'kbs-db' } } } }, 'v').kbs.storage.postgres?.key, 'url');
});

test('webhook.externalURL needs an https URL and a PEM caBundle', () => {
  assert.equal(codeOf(() => resolveValues({ webhook: { externalURL: 'https://127.0.0.1:9443' } }, 'v')), 'VALUES_INVALID');
  assert.equal(codeOf(() => resolveValues({ webhook: { externalURL: 'http://127.0.0.1:9443', caBundle: 'eA==' } }, 'v')), 'VALUES_INVALID');
  assert.equal(codeOf(() => resolveValues({ webhook: { externalURL: 'https://127.0.0.1:9443', caBundle: Buffer.from('not a cert').toString('base64') } }, 'v')), 'VALUES_INVALID');
});

test('duplicate RuntimeClass names and selector-less RuntimeClasses are rejected', () => {
  const rc = { name: 'kata', handler: 'kata', overhead: { cpu: '250m', memory: '160Mi' }, nodeSelector: { a: 'b' } };
  assert.equal(codeOf(() => resolveValues({ runtimeClasses: [rc, rc] }, 'v')), 'VALUES_INVALID');
  assert.equal(codeOf(() => resolveValues({ runtimeClasses: [{ ...rc, nodeSelector: {} }] }, 'v')), 'VALUES_INVALID');
});

test('values files: unreadable, bad YAML, not a mapping', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kubetee-values-'));
  assert.equal(codeOf(() => loadValuesFile(join(dir, 'missing.yaml'))), 'VALUES_UNREADABLE');
  writeFileSync(join(dir, 'bad.yaml'), 'webhook: [unclosed\n');
  assert.equal(codeOf(() => loadValuesFile(join(dir, 'bad.yaml'))), 'VALUES_PARSE');
  writeFileSync(join(dir, 'list.yaml'), '- a\n- b\n');
  assert.equal(codeOf(() => loadValuesFile(join(dir, 'list.yaml'))), 'VALUES_INVALID');
  writeFileSync(join(dir, 'dup.yaml'), 'profile: intel\nprofile: alibaba\n');
  assert.equal(codeOf(() => loadValuesFile(join(dir, 'dup.yaml'))), 'VALUES_PARSE');
  writeFileSync(join(dir, 'ok.yaml'), 'profile: intel\nkbs:\n  storage:\n    size: 5Gi\n');
  const v = loadValuesFile(join(dir, 'ok.yaml'));
  assert.equal(v.profile, 'intel');
  assert.equal(v.kbs.storage.size, '5Gi');
});
