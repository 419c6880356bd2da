import { DeployError } from './errors.js';
import type { Cluster } from './cluster.js';
import { objectRef, type KubeObject } from './objects.js';

export interface RolloutState {
  done: boolean;
  /** Short progress text, e.g. "1 of 2 replicas available". */
  message: string;
}

type Num = number | undefined;
interface Status {
  observedGeneration?: Num;
  replicas?: Num;
  updatedReplicas?: Num;
  availableReplicas?: Num;
  desiredNumberScheduled?: Num;
  updatedNumberScheduled?: Num;
  numberAvailable?: Num;
  conditions?: { type: string; status: string; reason?: string; message?: string }[];
}

/** Rollout state of a live Deployment or DaemonSet (same rules as `kubectl rollout status`). */
export function rolloutState(live: KubeObject): RolloutState {
  const status = (live['status'] ?? {}) as Status;
  const generation = (live.metadata['generation'] as number | undefined) ?? 0;
  if ((status.observedGeneration ?? 0) < generation) return { done: false, message: 'waiting for the controller to observe the new spec' };
  if (live.kind === 'Deployment') {
    const progressing = status.conditions?.find((c) => c.type === 'Progressing');
    if (progressing?.reason === 'ProgressDeadlineExceeded') return { done: false, message: `rollout stuck: ${progressing.message ?? 'progress deadline exceeded'}` };
    const want = ((live['spec'] as { replicas?: number } | undefined)?.replicas) ?? 1;
    const updated = status.updatedReplicas ?? 0;
    const available = status.availableReplicas ?? 0;
    const total = status.replicas ?? 0;
    if (updated < want) return { done: false, message: `${updated} of ${want} replicas updated` };
    if (total > updated) return { done: false, message: `${total - updated} old replicas pending termination` };
    if (available < updated) return { done: false, message: `${available} of ${want} replicas available` };
    return { done: true, message: `${available} of ${want} replicas available` };
  }
  if (live.kind === 'DaemonSet') {
    const desired = status.desiredNumberScheduled ?? 0;
    const updated = status.updatedNumberScheduled ?? 0;
    const available = status.numberAvailable ?? 0;
    if (updated < desired) return { done: false, message: `${updated} of ${desired} nodes updated` };
    if (available < desired) return { done: false, message: `${available} of ${desired} nodes available` };
    return { done: true, message: desired === 0 ? 'no matching nodes yet' : `${available} of ${desired} nodes available` };
  }
  return { done: true, message: 'no rollout' };
}

export interface WaitOptions {
  timeoutMs: number;
  pollMs?: number;
  onProgress?: (ref: string, state: RolloutState) => void;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
}

/**
 * Polls every Deployment and DaemonSet in `objects` until all are rolled out,
 * reporting each change of progress text. Bounded by `timeoutMs`; the error
 * lists what was still pending.
 */
export async function waitForRollouts(cluster: Cluster, objects: readonly KubeObject[], options: WaitOptions): Promise<void> {
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const now = options.now ?? Date.now;
  const pending = new Map(objects.filter((o) => o.kind === 'Deployment' || o.kind === 'DaemonSet').map((o) => [objectRef(o), o]));
  const last = new Map<string, string>();
  const deadline = now() + options.timeoutMs;
  for (;;) {
    for (const [ref, obj] of pending) {
      const live = await cluster.get(obj);
      const state: RolloutState = live ? rolloutState(live) : { done: false, message: 'not found' };
      if (last.get(ref) !== state.message || state.done) options.onProgress?.(ref, state);
      last.set(ref, state.message);
      if (state.done) pending.delete(ref);
    }
    if (pending.size === 0) return;
    if (now() >= deadline) {
      const lines = [...pending.keys()].map((ref) => `${ref}: ${last.get(ref) ?? 'unknown'}`);
      throw new DeployError('ROLLOUT_TIMEOUT', `rollout did not finish within ${Math.round(options.timeoutMs / 1000)}s:\n  ${lines.join('\n  ')}`, {
        hint: 'inspect the pods (kubectl -n <namespace> get pods, describe) for image pull, scheduling or probe failures; re-run install with a larger --timeout',
      });
    }
    await sleep(options.pollMs ?? 1000);
  }
}
