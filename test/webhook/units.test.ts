import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyJsonPatch, diffJson, JsonPatchError, type JsonPatchOp } from '../../src/webhook/json-patch.js';
import { epcQuantityForProfile, readContainerEpc } from '../../src/webhook/epc.js';
import { exposesSgxDevice } from '../../src/webhook/rules/confidential-validations.js';
import { toleratesSgxTaint } from '../../src/webhook/rules/confidential-mutations.js';
import { DecisionLog } from '../../src/webhook/decision-log.js';

test('EPC is read under every name with its unit; problems are reported, not thrown', () => {
  assert.deepEqual(readContainerEpc({ name: 'a', resources: { limits: { 'alibabacloud.com/sgx_epc_MiB': '2' } } }).bytes, { requests: undefined, limits: 2n << 20n });
  assert.deepEqual(readContainerEpc({ name: 'a', resources: { limits: { 'kubernetes.azure.com/sgx_epc_mem_in_MiB': 3 } } }).bytes.limits, 3n << 20n);
  assert.match(readContainerEpc({ name: 'a', resources: { limits: { 'alibabacloud.com/sgx_epc_MiB': '1.5' } } }).problems[0]!, /whole number of MiB/);
  assert.match(readContainerEpc({ name: 'a', resources: { limits: { 'sgx.intel.com/epc': '0.5' } } }).problems[0]!, /whole number of bytes/);
  assert.deepEqual(readContainerEpc({ name: 'a', resources: { limits: { 'sgx.intel.com/epc': '2Mi', 'alibabacloud.com/sgx_epc_MiB': '2' } } }).problems, [], 'equal sizes under two names agree');
  assert.match(readContainerEpc({ name: 'a', resources: { limits: { 'sgx.intel.com/epc': 1e308 } } }).problems[0]!, /larger than any EPC/);
  assert.match(readContainerEpc({ name: 'a', resources: { limits: { 'alibabacloud.com/sgx_epc_MiB': '9Ei' } } }).problems[0]!, /larger than any EPC/);
  assert.deepEqual(epcQuantityForProfile(1n, 'alibaba'), { value: '1', roundedUp: true });
  assert.deepEqual(epcQuantityForProfile(5n << 20n, 'alibaba'), { value: '5', roundedUp: false });
  assert.deepEqual(epcQuantityForProfile(5n << 20n, 'intel'), { value: '5Mi', roundedUp: false });
});

test('JSON patch: diff then apply reproduces the target; pointer escaping of "/" and "~"', () => {
  const before = { metadata: { annotations: { 'a/b': '1', 'x~y': '2' } }, spec: { list: [1, 2], gone: true, obj: { k: 'v' } } };
  const after = { metadata: { annotations: { 'a/b': '9', 'x~y': '2', 'new/key': 'n' } }, spec: { list: [1, 3, 4], obj: { k: 'v', k2: [] } } };
  const ops = diffJson(before, after);
  assert.ok(ops.some((o) => o.path === '/metadata/annotations/a~1b'));
  assert.ok(ops.some((o) => o.path === '/metadata/annotations/new~1key'));
  assert.deepEqual(applyJsonPatch(before, ops), after);
  assert.deepEqual(diffJson(after, after), []);
  // A shrinking array is replaced whole.
  assert.deepEqual(diffJson({ a: [1, 2, 3] }, { a: [1] }), [{ op: 'replace', path: '/a', value: [1] }]);
  assert.deepEqual(applyJsonPatch({ a: [1, 2] }, [{ op: 'add', path: '/a/-', value: 3 }, { op: 'test', path: '/a/2', value: 3 }]), { a: [1, 2, 3] });
  const bad: JsonPatchOp[][] = [[{ op: 'remove', path: '/nope' }], [{ op: 'add', path: '/a/b/c', value: 1 }], [{ op: 'test', path: '/a', value: 2 }], [{ op: 'add', path: '/a/9', value: 1 }]];
  for (const ops2 of bad) assert.throws(() => applyJsonPatch({ a: [1] }, ops2), JsonPatchError);
});

test('host paths that expose SGX devices', () => {
  for (const p of ['/dev/sgx_enclave', '/dev/sgx/enclave', '/dev/sgx', '/dev/isgx', '/dev/gsgx', '/dev', '/dev/', '/', '//dev//sgx_provision', '/var/../dev/sgx_enclave']) assert.equal(exposesSgxDevice(p), true, p);
  for (const p of ['/var/run/aesmd', '/dev/null', '/devices', '/home/dev/sgx']) assert.equal(exposesSgxDevice(p), false, p);
});

test('toleration matching follows Kubernetes semantics', () => {
  assert.equal(toleratesSgxTaint({ key: 'kubetee.io/sgx', operator: 'Exists' }), true);
  assert.equal(toleratesSgxTaint({ operator: 'Exists' }), true);
  assert.equal(toleratesSgxTaint({ key: 'kubetee.io/sgx', value: 'true' }), true, 'operator defaults to Equal');
  assert.equal(toleratesSgxTaint({ key: 'kubetee.io/sgx', value: 'false' }), false);
  assert.equal(toleratesSgxTaint({ key: 'kubetee.io/sgx', operator: 'Exists', effect: 'NoExecute' }), false);
  assert.equal(toleratesSgxTaint({ key: 'other', operator: 'Exists' }), false);
});

test('decision log keeps the newest entries and counts by rule', () => {
  const log = new DecisionLog(3);
  for (let i = 0; i < 5; i++) log.record({ at: `t${i}`, phase: 'validate', uid: `u${i}`, pod: `ns/p${i}`, trust: 'confidential', verdict: i % 2 ? 'denied' : 'mutated', rules: i % 2 ? ['r.deny'] : ['r.mut', 'r.mut'] });
  assert.deepEqual(log.recent().map((e) => e.uid), ['u4', 'u3', 'u2']);
  assert.deepEqual(log.recent(1).map((e) => e.uid), ['u4']);
  assert.deepEqual(log.countsByRule(), { 'r.deny': { mutated: 0, denied: 2 }, 'r.mut': { mutated: 3, denied: 0 } });
  assert.deepEqual(log.totals(), { allowed: 0, mutated: 3, denied: 2 });
  assert.throws(() => new DecisionLog(0), RangeError);
});
