import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyJsonPatch, cloneJson, diffJson, jsonEqual, type JsonPatchOp, type JsonValue } from '../../src/webhook/json-patch.js';
import { decide } from '../../src/webhook/decide.js';
import { DEFAULT_POLICY } from '../../src/webhook/policy/default-policy.js';
import { container, epc, pod } from './helpers.js';
import { seededRandom as rng } from '../helpers/random.js';

// The diff as it was before pointers were built lazily: the oracle the faster
// diff must match op for op (the API server must receive the same patch).
function escapeToken(token: string): string {
  return token.replace(/~/g, '~0').replace(/\//g, '~1');
}
function isObject(v: unknown): v is Record<string, JsonValue> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
function oracleDiff(before: unknown, after: unknown, path = '', ops: JsonPatchOp[] = []): JsonPatchOp[] {
  if (before === after) return ops;
  if (isObject(before) && isObject(after)) {
    for (const key of Object.keys(before)) {
      if (before[key] === undefined) continue;
      if (!Object.hasOwn(after, key) || after[key] === undefined) ops.push({ op: 'remove', path: `${path}/${escapeToken(key)}` });
    }
    for (const key of Object.keys(after)) {
      const v = after[key];
      if (v === undefined) continue;
      const p = `${path}/${escapeToken(key)}`;
      if (!Object.hasOwn(before, key) || before[key] === undefined) ops.push({ op: 'add', path: p, value: v });
      else oracleDiff(before[key], v, p, ops);
    }
    return ops;
  }
  if (Array.isArray(before) && Array.isArray(after)) {
    if (after.length >= before.length) {
      before.forEach((item, i) => oracleDiff(item, after[i], `${path}/${i}`, ops));
      for (let i = before.length; i < after.length; i++) ops.push({ op: 'add', path: `${path}/${i}`, value: after[i] as JsonValue });
      return ops;
    }
    if (!jsonEqual(before, after)) ops.push({ op: 'replace', path, value: after as JsonValue });
    return ops;
  }
  if (!jsonEqual(before, after)) ops.push({ op: 'replace', path, value: after as JsonValue });
  return ops;
}

const KEYS = ['a', 'b', 'x/y', 'm~n', '~1', '/', 'kubetee.io/trust', 'sgx.intel.com/epc', '0', ''];
function randomValue(r: () => number, depth: number): JsonValue {
  const pick = r();
  if (depth <= 0 || pick < 0.35) return [null, true, false, 0, 1, 'v', '64Mi', ''][Math.floor(r() * 8)]!;
  if (pick < 0.6) return Array.from({ length: Math.floor(r() * 4) }, () => randomValue(r, depth - 1));
  const o: Record<string, JsonValue> = {};
  for (let i = Math.floor(r() * 5); i > 0; i--) o[KEYS[Math.floor(r() * KEYS.length)]!] = randomValue(r, depth - 1);
  return o;
}
/** Changes a copy the way mutation rules do (set, delete, append, change in place), sometimes shrinking an array. */
function mutateValue(r: () => number, v: JsonValue, depth: number): JsonValue {
  if (Array.isArray(v)) {
    const out = v.map((x) => (r() < 0.3 ? mutateValue(r, x, depth - 1) : x));
    if (r() < 0.3) out.push(randomValue(r, depth - 1));
    if (r() < 0.1) out.pop();
    return out;
  }
  if (isObject(v)) {
    const out: Record<string, JsonValue> = { ...v };
    for (const k of Object.keys(out)) {
      const roll = r();
      if (roll < 0.15) delete out[k];
      else if (roll < 0.45) out[k] = mutateValue(r, out[k]!, depth - 1);
    }
    if (r() < 0.3) out[KEYS[Math.floor(r() * KEYS.length)]!] = randomValue(r, depth - 1);
    return out;
  }
  return r() < 0.5 ? randomValue(r, depth) : v;
}

test('diffJson emits exactly the patch of the previous implementation, and applying it gives the target', () => {
  const r = rng(20251127);
  for (let i = 0; i < 3000; i++) {
    const before = randomValue(r, 5);
    const after = mutateValue(r, cloneJson(before), 5);
    const ops = diffJson(before, after);
    assert.deepEqual(ops, oracleDiff(before, after), `case ${i}: ${JSON.stringify(before)} → ${JSON.stringify(after)}`);
    if (isObject(before) || Array.isArray(before)) assert.deepEqual(applyJsonPatch(before, ops), after, `case ${i}`);
  }
  // A base path is prefixed as given, tokens below it are escaped.
  assert.deepEqual(diffJson({ 'a/b': { c: 1 } }, { 'a/b': { c: 2 } }, '/spec'), [{ op: 'replace', path: '/spec/a~1b/c', value: 2 }]);
  assert.deepEqual(diffJson(1, 2), [{ op: 'replace', path: '', value: 2 }]);
});

test('cloneJson: a deep copy sharing nothing with the input; non-JSON values go through structuredClone', () => {
  const r = rng(7);
  for (let i = 0; i < 500; i++) {
    const v = randomValue(r, 5);
    const c = cloneJson(v);
    assert.deepEqual(c, v);
    assert.deepEqual(c, structuredClone(v));
  }
  const input = { a: { b: [1, { c: 'd' }] }, e: null, f: undefined };
  const copy = cloneJson(input);
  assert.deepEqual(copy, structuredClone(input));
  assert.ok(Object.hasOwn(copy, 'f'), 'undefined-valued keys stay, as with structuredClone');
  (copy.a.b[1] as { c: string }).c = 'changed';
  (copy.a.b as unknown[]).push(2);
  assert.equal((input.a.b[1] as { c: string }).c, 'd');
  assert.equal(input.a.b.length, 2);

  // JSON.parse makes "__proto__" an own key: it must stay data, never become the prototype.
  const parsed = JSON.parse('{"__proto__": {"polluted": true}, "k": 1}') as Record<string, unknown>;
  const safe = cloneJson(parsed);
  assert.equal(Object.getPrototypeOf(safe), Object.prototype);
  assert.equal((safe as { polluted?: boolean }).polluted, undefined);
  assert.ok(Object.hasOwn(safe, '__proto__'));
  assert.deepEqual(Object.getOwnPropertyDescriptor(safe, '__proto__')?.value, { polluted: true });
  assert.notEqual(Object.getOwnPropertyDescriptor(safe, '__proto__')?.value, Object.getOwnPropertyDescriptor(parsed, '__proto__')?.value);
  assert.equal(({} as { polluted?: boolean }).polluted, undefined);

  // A manifest loaded from YAML may hold non-JSON objects: copied, not shared.
  const when = new Date(0);
  const odd = cloneJson({ when, map: new Map([['k', 'v']]) });
  assert.ok(odd.when instanceof Date && odd.when !== when && odd.when.getTime() === 0);
  assert.ok(odd.map instanceof Map && odd.map.get('k') === 'v');
});

test('decide(mutate) leaves the input pod untouched and patches only what the rules changed', () => {
  const input = pod(
    { containers: [container('kms', epc({ 'alibabacloud.com/sgx_epc_MiB': '64' })), container('sidecar')] },
    {
      namespace: 'vault',
      annotations: { 'kubetee.io/quote-provider': 'aesmd' },
      managedFields: [{ manager: 'kube-controller-manager', fieldsV1: { 'f:spec': { 'f:containers': { 'k:{"name":"kms"}': {} } } } }],
    },
  );
  const snapshot = JSON.stringify(input);
  const d = decide('mutate', { pod: input, namespace: 'vault', namespaceTrust: 'confidential', policy: DEFAULT_POLICY, profile: 'intel' });
  assert.equal(JSON.stringify(input), snapshot, 'the input is not mutated');
  assert.ok(d.allowed && d.patch.length > 0);
  assert.deepEqual(d.patch, oracleDiff(input, d.pod));
  assert.deepEqual(applyJsonPatch(input, d.patch), d.pod);
  assert.ok(!d.patch.some((op) => op.path.startsWith('/metadata/managedFields')));
});
