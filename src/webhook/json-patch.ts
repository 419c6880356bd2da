/**
 * RFC 6902 JSON Patch: a structural diff that turns "pod before" and "pod
 * after mutation" into the patch the API server applies, and an applier used
 * by `policy explain` and the tests (apply, then mutate again, must give an
 * empty patch).
 */

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

export type JsonPatchOp =
  | { op: 'add'; path: string; value: JsonValue }
  | { op: 'replace'; path: string; value: JsonValue }
  | { op: 'remove'; path: string }
  | { op: 'test'; path: string; value: JsonValue };

/** RFC 6901: "~" → "~0", "/" → "~1" (annotation and resource keys contain "/"). */
export function escapePointerToken(token: string): string {
  // Most keys need no escaping; skip the two regex passes for them.
  if (!token.includes('~') && !token.includes('/')) return token;
  return token.replace(/~/g, '~0').replace(/\//g, '~1');
}

function unescapePointerToken(token: string): string {
  return token.replace(/~1/g, '/').replace(/~0/g, '~');
}

function isObject(v: unknown): v is Record<string, JsonValue> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) {
    return Array.isArray(b) && a.length === b.length && a.every((x, i) => jsonEqual(x, b[i]));
  }
  if (isObject(a) && isObject(b)) {
    const ka = Object.keys(a).filter((k) => a[k] !== undefined);
    const kb = Object.keys(b).filter((k) => b[k] !== undefined);
    return ka.length === kb.length && ka.every((k) => Object.hasOwn(b, k) && jsonEqual(a[k], b[k]));
  }
  return false;
}

/**
 * Minimal patch from `before` to `after`. Objects are diffed key by key;
 * arrays element by element when only appended to or changed in place
 * (what mutation rules do), otherwise replaced whole.
 */
export function diffJson(before: unknown, after: unknown, path = ''): JsonPatchOp[] {
  const ops: JsonPatchOp[] = [];
  diffInto(before, after, { base: path, tokens: [] }, ops);
  return ops;
}

/** The pointer of the value being compared, kept as unescaped tokens: built only for an op. */
interface PointerStack {
  readonly base: string;
  readonly tokens: string[];
}

function pointer(at: PointerStack, last?: string): string {
  let p = at.base;
  for (const t of at.tokens) p += `/${escapePointerToken(t)}`;
  return last === undefined ? p : `${p}/${escapePointerToken(last)}`;
}

// Recurses without a separate equality pass per level (that made the diff
// quadratic in depth); equal subtrees simply emit nothing. Most of a pod is
// unchanged, so no pointer string is built until an op needs one.
function diffInto(before: unknown, after: unknown, at: PointerStack, ops: JsonPatchOp[]): void {
  if (before === after) return;
  if (isObject(before) && isObject(after)) {
    // for…in with own-key checks visits the same keys in the same order as Object.keys
    // without allocating a key array per object (most of the garbage of a diff).
    for (const key in before) {
      if (!Object.hasOwn(before, key) || before[key] === undefined) continue;
      if (!Object.hasOwn(after, key) || after[key] === undefined) ops.push({ op: 'remove', path: pointer(at, key) });
    }
    for (const key in after) {
      if (!Object.hasOwn(after, key)) continue;
      const v = after[key];
      if (v === undefined) continue;
      if (!Object.hasOwn(before, key) || before[key] === undefined) ops.push({ op: 'add', path: pointer(at, key), value: v });
      else if (before[key] !== v) {
        at.tokens.push(key);
        diffInto(before[key], v, at, ops);
        at.tokens.pop();
      }
    }
    return;
  }
  if (Array.isArray(before) && Array.isArray(after)) {
    if (after.length >= before.length) {
      for (let i = 0; i < before.length; i++) {
        if (before[i] === after[i]) continue;
        at.tokens.push(String(i));
        diffInto(before[i], after[i], at, ops);
        at.tokens.pop();
      }
      for (let i = before.length; i < after.length; i++) ops.push({ op: 'add', path: pointer(at, String(i)), value: after[i] as JsonValue });
      return;
    }
    if (!jsonEqual(before, after)) ops.push({ op: 'replace', path: pointer(at), value: after as JsonValue });
    return;
  }
  if (!jsonEqual(before, after)) ops.push({ op: 'replace', path: pointer(at), value: after as JsonValue });
}

/**
 * Deep copy of a JSON document (what a parsed request body or manifest is):
 * plain objects, arrays and primitives are copied directly, which is several
 * times cheaper than structuredClone on a pod; anything else (a Date, a Map, a
 * class instance) is handed to structuredClone, so the result is never shared
 * with the input.
 */
export function cloneJson<T>(value: T): T {
  return cloneValue(value) as T;
}

function cloneValue(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) {
    const out = new Array<unknown>(value.length);
    for (let i = 0; i < value.length; i++) out[i] = cloneValue(value[i]);
    return out;
  }
  const proto = Object.getPrototypeOf(value) as unknown;
  if (proto !== Object.prototype && proto !== null) return structuredClone(value);
  const out: Record<string, unknown> = {};
  for (const key in value) {
    if (!Object.hasOwn(value, key)) continue;
    const v = (value as Record<string, unknown>)[key];
    // __proto__ as an own key (JSON.parse makes one) must stay a plain property.
    if (key === '__proto__') Object.defineProperty(out, key, { value: cloneValue(v), enumerable: true, writable: true, configurable: true });
    else out[key] = cloneValue(v);
  }
  return out;
}

export class JsonPatchError extends Error {}

/** Applies a patch to a deep copy of `doc` (RFC 6902 add/remove/replace/test). */
export function applyJsonPatch<T>(doc: T, ops: readonly JsonPatchOp[]): T {
  let root = structuredClone(doc) as unknown;
  for (const op of ops) {
    if (op.path === '') {
      if (op.op === 'remove') throw new JsonPatchError('cannot remove the document root');
      if (op.op === 'test') {
        if (!jsonEqual(root, op.value)) throw new JsonPatchError('test failed at the root');
        continue;
      }
      root = structuredClone(op.value);
      continue;
    }
    if (!op.path.startsWith('/')) throw new JsonPatchError(`bad pointer "${op.path}"`);
    const tokens = op.path.slice(1).split('/').map(unescapePointerToken);
    const last = tokens.pop()!;
    let parent: unknown = root;
    for (const t of tokens) {
      if (Array.isArray(parent)) parent = parent[Number(t)];
      else if (isObject(parent)) parent = parent[t];
      else throw new JsonPatchError(`path ${op.path} does not exist`);
      if (parent === undefined) throw new JsonPatchError(`path ${op.path} does not exist`);
    }
    if (Array.isArray(parent)) {
      const index = last === '-' ? parent.length : Number(last);
      if (!Number.isInteger(index) || index < 0 || index > parent.length) throw new JsonPatchError(`index ${last} out of range at ${op.path}`);
      if (op.op === 'add') parent.splice(index, 0, structuredClone(op.value));
      else if (index >= parent.length) throw new JsonPatchError(`index ${last} out of range at ${op.path}`);
      else if (op.op === 'remove') parent.splice(index, 1);
      else if (op.op === 'replace') parent[index] = structuredClone(op.value);
      else if (!jsonEqual(parent[index], op.value)) throw new JsonPatchError(`test failed at ${op.path}`);
    } else if (isObject(parent)) {
      if (op.op === 'add') parent[last] = structuredClone(op.value);
      else if (!Object.hasOwn(parent, last)) throw new JsonPatchError(`path ${op.path} does not exist`);
      else if (op.op === 'remove') delete parent[last];
      else if (op.op === 'replace') parent[last] = structuredClone(op.value);
      else if (!jsonEqual(parent[last], op.value)) throw new JsonPatchError(`test failed at ${op.path}`);
    } else {
      throw new JsonPatchError(`path ${op.path} does not exist`);
    }
  }
  return root as T;
}
