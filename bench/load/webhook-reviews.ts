// AdmissionReview bodies for bench/webhook.ts, shaped like what kube-apiserver
// sends for a pod created by a ReplicaSet: the object after defaulting and the
// built-in admission plugins (ServiceAccount's projected token volume,
// DefaultTolerationSeconds, Priority), with managedFields, requestKind,
// options and oldObject: null. Three kinds, sent in rotation:
//   confidential  POST /mutate/confidential  an SGX pod every mutation rule rewrites (profile intel)
//   sandboxed     POST /mutate/sandboxed     an untrusted build pod that gets runtimeClassName
//   denied        POST /validate/standard    EPC + provisioning in a standard namespace: denied (and logged)
// Each body carries UID_PLACEHOLDER as request.uid; the load generator writes a
// fresh uid into that spot for every request and checks the response echoes it.

export const UID_PLACEHOLDER = '00000000-0000-4000-8000-000000000000';

export type ReviewKind = 'confidential' | 'sandboxed' | 'denied';

export interface BenchReview {
  readonly kind: ReviewKind;
  /** Path kube-apiserver calls for this namespace's trust level (webhook configurations: /<phase>/<level>). */
  readonly path: string;
  /** kubetee's verdict: allowed (with a patch when `mutated`) or denied. */
  readonly expect: 'mutated' | 'denied';
  readonly body: string;
}

interface ContainerSpec {
  name: string;
  image: string;
  requests?: Record<string, string>;
  limits?: Record<string, string>;
  ports?: number[];
  args?: string[];
}

const TOKEN_VOLUME = 'kube-api-access-7xk2p';

function container(c: ContainerSpec): Record<string, unknown> {
  return {
    name: c.name,
    image: c.image,
    ...(c.args ? { args: c.args } : {}),
    ...(c.ports ? { ports: c.ports.map((p) => ({ containerPort: p, protocol: 'TCP' })) } : {}),
    resources: { ...(c.limits ? { limits: c.limits } : {}), ...(c.requests ? { requests: c.requests } : {}) },
    volumeMounts: [{ name: TOKEN_VOLUME, readOnly: true, mountPath: '/var/run/secrets/kubernetes.io/serviceaccount' }],
    terminationMessagePath: '/dev/termination-log',
    terminationMessagePolicy: 'File',
    imagePullPolicy: 'IfNotPresent',
  };
}

function managedFields(containers: ContainerSpec[], annotations: Record<string, string>): unknown[] {
  const fContainers: Record<string, unknown> = {};
  for (const c of containers) {
    fContainers[`k:{"name":"${c.name}"}`] = {
      '.': {},
      'f:image': {},
      'f:imagePullPolicy': {},
      'f:name': {},
      'f:resources': { '.': {}, ...(c.limits ? { 'f:limits': Object.fromEntries(Object.keys(c.limits).map((k) => [`f:${k}`, {}])) } : {}), ...(c.requests ? { 'f:requests': Object.fromEntries(Object.keys(c.requests).map((k) => [`f:${k}`, {}])) } : {}) },
      'f:terminationMessagePath': {},
      'f:terminationMessagePolicy': {},
    };
  }
  return [
    {
      manager: 'kube-controller-manager',
      operation: 'Update',
      apiVersion: 'v1',
      time: '2025-11-27T02:41:36Z',
      fieldsType: 'FieldsV1',
      fieldsV1: {
        'f:metadata': {
          'f:generateName': {},
          ...(Object.keys(annotations).length ? { 'f:annotations': Object.fromEntries(Object.keys(annotations).map((k) => [`f:${k}`, {}])) } : {}),
          'f:labels': { '.': {}, 'f:app': {}, 'f:pod-template-hash': {} },
          'f:ownerReferences': { '.': {}, 'k:{"uid":"3b0f6c2a-9d1e-4f57-a8c4-2e6b1d9f0a7c"}': {} },
        },
        'f:spec': {
          'f:containers': fContainers,
          'f:dnsPolicy': {},
          'f:enableServiceLinks': {},
          'f:restartPolicy': {},
          'f:schedulerName': {},
          'f:securityContext': {},
          'f:serviceAccount': {},
          'f:serviceAccountName': {},
          'f:terminationGracePeriodSeconds': {},
        },
      },
    },
  ];
}

function review(opts: { namespace: string; app: string; hash: string; serviceAccount: string; annotations?: Record<string, string>; initContainers?: ContainerSpec[]; containers: ContainerSpec[] }): string {
  const annotations = opts.annotations ?? {};
  const pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      generateName: `${opts.app}-${opts.hash}-`,
      namespace: opts.namespace,
      creationTimestamp: null,
      labels: { app: opts.app, 'pod-template-hash': opts.hash },
      ...(Object.keys(annotations).length ? { annotations } : {}),
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: `${opts.app}-${opts.hash}`, uid: '3b0f6c2a-9d1e-4f57-a8c4-2e6b1d9f0a7c', controller: true, blockOwnerDeletion: true }],
      managedFields: managedFields([...(opts.initContainers ?? []), ...opts.containers], annotations),
    },
    spec: {
      volumes: [
        {
          name: TOKEN_VOLUME,
          projected: {
            sources: [
              { serviceAccountToken: { expirationSeconds: 3607, path: 'token' } },
              { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
              { downwardAPI: { items: [{ path: 'namespace', fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } }] } },
            ],
            defaultMode: 420,
          },
        },
      ],
      ...(opts.initContainers ? { initContainers: opts.initContainers.map(container) } : {}),
      containers: opts.containers.map(container),
      restartPolicy: 'Always',
      terminationGracePeriodSeconds: 30,
      dnsPolicy: 'ClusterFirst',
      serviceAccountName: opts.serviceAccount,
      serviceAccount: opts.serviceAccount,
      securityContext: {},
      schedulerName: 'default-scheduler',
      tolerations: [
        { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
        { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
      ],
      priority: 0,
      enableServiceLinks: true,
      preemptionPolicy: 'PreemptLowerPriority',
    },
    status: {},
  };
  return JSON.stringify({
    kind: 'AdmissionReview',
    apiVersion: 'admission.k8s.io/v1',
    request: {
      uid: UID_PLACEHOLDER,
      kind: { group: '', version: 'v1', kind: 'Pod' },
      resource: { group: '', version: 'v1', resource: 'pods' },
      requestKind: { group: '', version: 'v1', kind: 'Pod' },
      requestResource: { group: '', version: 'v1', resource: 'pods' },
      namespace: opts.namespace,
      operation: 'CREATE',
      userInfo: {
        username: 'system:serviceaccount:kube-system:replicaset-controller',
        uid: 'c4e1a7b2-5f3d-4e8a-9b6c-1d2e3f4a5b6c',
        groups: ['system:serviceaccounts', 'system:serviceaccounts:kube-system', 'system:authenticated'],
      },
      object: pod,
      oldObject: null,
      dryRun: false,
      options: { kind: 'CreateOptions', apiVersion: 'meta.k8s.io/v1' },
    },
  });
}

/** The three reviews, in the order the load generator rotates through them. */
export const BENCH_REVIEWS: readonly BenchReview[] = [
  {
    kind: 'confidential',
    path: '/mutate/confidential',
    expect: 'mutated',
    // Alibaba and Azure EPC names on an intel-profile cluster, AESM quoting, a plain sidecar:
    // translation, enclave slots, AESM socket, node affinity, toleration and the Kata annotation all apply.
    body: review({
      namespace: 'vault',
      app: 'kms',
      hash: '5d8f7c9b4',
      serviceAccount: 'kms',
      annotations: { 'kubetee.io/quote-provider': 'aesmd' },
      initContainers: [{ name: 'unseal', image: 'registry.example/unseal:2', requests: { 'kubernetes.azure.com/sgx_epc_mem_in_MiB': '16' }, limits: { 'kubernetes.azure.com/sgx_epc_mem_in_MiB': '16' } }],
      containers: [
        { name: 'kms', image: 'registry.example/kms:1.4', ports: [8443], requests: { 'alibabacloud.com/sgx_epc_MiB': '64', cpu: '500m', memory: '256Mi' }, limits: { 'alibabacloud.com/sgx_epc_MiB': '64', memory: '256Mi' } },
        { name: 'log-shipper', image: 'registry.example/fluent-bit:3', requests: { cpu: '50m' } },
      ],
    }),
  },
  {
    kind: 'sandboxed',
    path: '/mutate/sandboxed',
    expect: 'mutated',
    body: review({
      namespace: 'ci',
      app: 'build',
      hash: '7c6b5d4f8',
      serviceAccount: 'default',
      containers: [{ name: 'build', image: 'registry.example/untrusted-build:latest', args: ['make', 'all'], requests: { cpu: '2', memory: '4Gi' }, limits: { memory: '4Gi' } }],
    }),
  },
  {
    kind: 'denied',
    path: '/validate/standard',
    expect: 'denied',
    body: review({
      namespace: 'web',
      app: 'quoter',
      hash: '9f8e7d6c5',
      serviceAccount: 'default',
      containers: [
        { name: 'quoter', image: 'registry.example/quoter:1', requests: { 'sgx.intel.com/epc': '32Mi', 'sgx.intel.com/provision': '1' }, limits: { 'sgx.intel.com/epc': '32Mi', 'sgx.intel.com/provision': '1' } },
        { name: 'web', image: 'registry.example/web:5', ports: [8080], requests: { cpu: '100m' } },
      ],
    }),
  },
];
