import { stringify } from 'yaml';
import type { KubeObject } from './objects.js';

/** Server-managed metadata that says nothing about what the operator asked for. */
const SERVER_METADATA = ['managedFields', 'resourceVersion', 'uid', 'creationTimestamp', 'generation', 'selfLink'];

/** Drops status and server-managed metadata so live and desired compare field by field. */
export function comparable(obj: KubeObject): Record<string, unknown> {
  const copy = structuredClone(obj) as Record<string, unknown> & { metadata: Record<string, unknown> };
  delete copy['status'];
  for (const key of SERVER_METADATA) delete copy.metadata[key];
  const annotations = copy.metadata['annotations'] as Record<string, string> | undefined;
  if (annotations) {
    delete annotations['deprecated.daemonset.template.generation'];
    delete annotations['deployment.kubernetes.io/revision'];
    if (Object.keys(annotations).length === 0) delete copy.metadata['annotations'];
  }
  // Secret payloads are never printed, only whether they change.
  if (copy['kind'] === 'Secret') {
    const data: Record<string, string> = { ...((copy['data'] ?? {}) as Record<string, string>) };
    for (const [k, v] of Object.entries((copy['stringData'] ?? {}) as Record<string, string>)) data[k] = Buffer.from(v).toString('base64');
    delete copy['stringData'];
    if (Object.keys(data).length) copy['data'] = Object.fromEntries(Object.entries(data).map(([k, v]) => [k, `(${Buffer.from(v, 'base64').length} bytes, hash ${hashPrefix(v)})`]));
  }
  return copy;
}

function hashPrefix(text: string): string {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619) >>> 0;
  return h.toString(16).padStart(8, '0');
}

/**
 * A unified-style line diff (longest common subsequence over YAML lines).
 * Returns an empty string when both sides are equal.
 */
export function lineDiff(before: string, after: string, context = 3): string {
  const a = before.split('\n');
  const b = after.split('\n');
  const n = a.length;
  const m = b.length;
  const lcs: number[][] = Array.from({ length: n + 1 }, () => new Array<number>(m + 1).fill(0));
  for (let i = n - 1; i >= 0; i--) for (let j = m - 1; j >= 0; j--) lcs[i]![j] = a[i] === b[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
  const ops: { op: ' ' | '-' | '+'; line: string }[] = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[i] === b[j]) ops.push({ op: ' ', line: a[i++]! }), j++;
    // Deletions before additions, as unified diffs print them.
    else if (i < n && (j >= m || lcs[i + 1]![j]! >= lcs[i]![j + 1]!)) ops.push({ op: '-', line: a[i++]! });
    else ops.push({ op: '+', line: b[j++]! });
  }
  if (!ops.some((o) => o.op !== ' ')) return '';
  const keep = ops.map((o, k) => o.op !== ' ' || ops.slice(Math.max(0, k - context), k + context + 1).some((x) => x.op !== ' '));
  const out: string[] = [];
  let skipped = false;
  ops.forEach((o, k) => {
    if (keep[k]) {
      if (skipped) out.push('  ...');
      skipped = false;
      out.push(`${o.op} ${o.line}`);
    } else skipped = true;
  });
  return out.join('\n');
}

/** Sorted keys so field order never shows as a change; no aliases (shared objects are printed in full). */
const YAML_OPTIONS = { lineWidth: 0, sortMapEntries: true, aliasDuplicateObjects: false } as const;

export type ChangeKind = 'create' | 'update' | 'unchanged';

/** What applying `desired` (the server's dry-run result) would do to `live`. */
export function describeChange(live: KubeObject | undefined, dryRunResult: KubeObject): { change: ChangeKind; diff: string } {
  const after = stringify(comparable(dryRunResult), YAML_OPTIONS);
  if (!live) return { change: 'create', diff: after.trimEnd().split('\n').map((l) => `+ ${l}`).join('\n') };
  const before = stringify(comparable(live), YAML_OPTIONS);
  const diff = lineDiff(before, after);
  return { change: diff ? 'update' : 'unchanged', diff };
}
