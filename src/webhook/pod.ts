import { z } from 'zod';

/**
 * The part of a core/v1 Pod the admission rules read. Unknown fields pass
 * through untouched (the draft the rules mutate is a copy of the original,
 * never this parsed view), so a newer Kubernetes field is never dropped.
 */
const quantityMap = z.record(z.string(), z.union([z.string(), z.number()]));
const containerSchema = z.looseObject({
  name: z.string().min(1),
  resources: z.looseObject({ requests: quantityMap.nullish(), limits: quantityMap.nullish() }).nullish(),
  securityContext: z.looseObject({ privileged: z.boolean().nullish() }).nullish(),
  volumeMounts: z.array(z.looseObject({ name: z.string(), mountPath: z.string() })).nullish(),
  env: z.array(z.looseObject({ name: z.string(), value: z.string().nullish() })).nullish(),
  restartPolicy: z.string().nullish(),
});
const podSchema = z.looseObject({
  metadata: z
    .looseObject({
      name: z.string().nullish(),
      generateName: z.string().nullish(),
      namespace: z.string().nullish(),
      annotations: z.record(z.string(), z.string()).nullish(),
      labels: z.record(z.string(), z.string()).nullish(),
    })
    .nullish(),
  spec: z.looseObject({
    containers: z.array(containerSchema).min(1),
    initContainers: z.array(containerSchema).nullish(),
    ephemeralContainers: z.array(containerSchema).nullish(),
    volumes: z.array(z.looseObject({ name: z.string(), hostPath: z.looseObject({ path: z.string() }).nullish() })).nullish(),
    runtimeClassName: z.string().nullish(),
    hostNetwork: z.boolean().nullish(),
    hostPID: z.boolean().nullish(),
    hostIPC: z.boolean().nullish(),
    affinity: z
      .looseObject({
        nodeAffinity: z
          .looseObject({
            requiredDuringSchedulingIgnoredDuringExecution: z
              .looseObject({
                nodeSelectorTerms: z.array(
                  z.looseObject({ matchExpressions: z.array(z.looseObject({ key: z.string(), operator: z.string(), values: z.array(z.string()).nullish() })).nullish() }),
                ),
              })
              .nullish(),
          })
          .nullish(),
      })
      .nullish(),
    tolerations: z.array(z.looseObject({ key: z.string().nullish(), operator: z.string().nullish(), value: z.string().nullish(), effect: z.string().nullish() })).nullish(),
  }),
});

export type Pod = z.output<typeof podSchema>;
export type Container = z.output<typeof containerSchema>;

/** Checks that `value` has the shape of a Pod; returns every problem as "path: message". */
export function checkPodShape(value: unknown): { pod: Pod; problems: [] } | { pod: undefined; problems: string[] } {
  const r = podSchema.safeParse(value);
  if (r.success) return { pod: value as Pod, problems: [] };
  return { pod: undefined, problems: r.error.issues.map((i) => `${i.path.length ? i.path.join('.') : '(pod)'}: ${i.message}`) };
}

export type ContainerKind = 'container' | 'initContainer' | 'sidecar' | 'ephemeral';

/** A container with where it sits in the pod (JSON pointer base for patches). */
export interface ContainerRef {
  readonly kind: ContainerKind;
  readonly index: number;
  readonly container: Container;
  readonly field: 'containers' | 'initContainers' | 'ephemeralContainers';
}

/**
 * Every container that can run an enclave: app containers, init containers
 * and native sidecars (init containers with restartPolicy Always).
 * Ephemeral containers are added through a subresource this webhook never sees.
 */
export function listContainers(pod: Pod): ContainerRef[] {
  const refs: ContainerRef[] = [];
  (pod.spec.initContainers ?? []).forEach((container, index) =>
    refs.push({ kind: container.restartPolicy === 'Always' ? 'sidecar' : 'initContainer', index, container, field: 'initContainers' }),
  );
  pod.spec.containers.forEach((container, index) => refs.push({ kind: 'container', index, container, field: 'containers' }));
  return refs;
}

/**
 * Debug containers added with `kubectl debug` (the pods/ephemeralcontainers
 * subresource). Kept out of listContainers: they cannot request resources and
 * never take part in SGX wiring, only in the privilege checks.
 */
export function listEphemeralContainers(pod: Pod): ContainerRef[] {
  return (pod.spec.ephemeralContainers ?? []).map((container, index) => ({ kind: 'ephemeral' as const, index, container, field: 'ephemeralContainers' as const }));
}

/** Human name of a container for messages: `container "app"` / `init container "setup"`. */
export function describeContainer(ref: { kind: ContainerKind; container: { name: string } }): string {
  const label = { container: 'container', sidecar: 'sidecar container', initContainer: 'init container', ephemeral: 'ephemeral container' }[ref.kind];
  return `${label} "${ref.container.name}"`;
}

export function podDisplayName(pod: Pod, namespace: string): string {
  const name = pod.metadata?.name ?? (pod.metadata?.generateName ? `${pod.metadata.generateName}*` : '(unnamed)');
  return `${namespace || '(no namespace)'}/${name}`;
}
