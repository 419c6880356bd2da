import { parseAllDocuments } from 'yaml';
import { WebhookError } from './errors.js';

// Workload kinds whose pod template is admitted as a pod when they create pods.
const TEMPLATE_PATHS: Record<string, string[]> = {
  Deployment: ['spec', 'template'],
  StatefulSet: ['spec', 'template'],
  DaemonSet: ['spec', 'template'],
  ReplicaSet: ['spec', 'template'],
  Job: ['spec', 'template'],
  CronJob: ['spec', 'jobTemplate', 'spec', 'template'],
};

/**
 * The pod described by a manifest: a Pod, or the pod template of a workload
 * (Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob). Exactly one
 * YAML/JSON document.
 */
export function podFromManifest(text: string, source: string): { pod: Record<string, unknown>; namespace: string | undefined; kind: string } {
  const docs = parseAllDocuments(text, { prettyErrors: true }).filter((d) => d.contents !== null);
  if (docs.length !== 1) {
    throw new WebhookError('POD_MANIFEST_INVALID', `${source} holds ${docs.length} YAML documents; expected exactly one`, { hint: 'explain one pod (or one workload) per file' });
  }
  const doc = docs[0]!;
  if (doc.errors.length) {
    throw new WebhookError('POD_MANIFEST_INVALID', `${source} is not valid YAML/JSON: ${doc.errors.map((e) => e.message.split('\n')[0]).join('; ')}`, { hint: 'fix the syntax at the position shown' });
  }
  const obj = doc.toJS({ maxAliasCount: 50 }) as unknown;
  if (!obj || typeof obj !== 'object' || Array.isArray(obj)) throw new WebhookError('POD_MANIFEST_INVALID', `${source} is not a Kubernetes object`, { hint: 'pass a Pod manifest' });
  const o = obj as Record<string, any>;
  const kind = typeof o['kind'] === 'string' ? o['kind'] : '';
  const namespace = typeof o['metadata']?.namespace === 'string' ? o['metadata'].namespace : undefined;
  if (kind === 'Pod') return { pod: o, namespace, kind };
  const path = TEMPLATE_PATHS[kind];
  if (!path) {
    throw new WebhookError('POD_MANIFEST_INVALID', `${source} is a ${kind || 'object without kind'}, not a Pod or workload`, { hint: `pass a Pod or one of ${Object.keys(TEMPLATE_PATHS).join(', ')}` });
  }
  let t: any = o;
  for (const k of path) t = t?.[k];
  if (!t || typeof t !== 'object') throw new WebhookError('POD_MANIFEST_INVALID', `${source}: ${kind} has no ${path.join('.')}`, { hint: 'add the pod template' });
  const name = typeof o['metadata']?.name === 'string' ? `${o['metadata'].name}-<hash>` : undefined;
  return { pod: { apiVersion: 'v1', kind: 'Pod', ...t, metadata: { ...(name ? { name } : {}), ...(t.metadata ?? {}) } }, namespace, kind };
}
