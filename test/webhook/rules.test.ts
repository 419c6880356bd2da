import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ResourceProfile } from '../../src/common/labels.js';
import { RULE_IDS } from '../../src/webhook/rules/catalogue.js';
import { validatePolicy } from '../../src/webhook/policy/load-policy.js';
import { DEFAULT_POLICY } from '../../src/webhook/policy/default-policy.js';
import { trustPolicyFor } from '../../src/deploy/manifests/trust-policy.js';
import { resolveValues } from '../../src/deploy/values.js';
import type { AdmissionPolicy } from '../../src/webhook/policy/schema.js';
import type { NamespaceTrust } from '../../src/webhook/trust.js';
import { admit, container, epc, handlerFor, pod, type Flow, type Obj } from './helpers.js';

const policyWith = (doc: Obj): AdmissionPolicy => validatePolicy({ apiVersion: 'policy.kubetee.io/v1', kind: 'AdmissionPolicy', ...doc });
/** The policy `kubetee install` writes into the trust-policy ConfigMap with default values. */
const installedPolicy = (profile: ResourceProfile): AdmissionPolicy => trustPolicyFor(resolveValues({ profile }, 'default values'));
/** The same policy, letting standard pods opt into confidential by annotation. */
const withOverrides = (base: AdmissionPolicy | undefined): AdmissionPolicy => validatePolicy({ ...(base ?? DEFAULT_POLICY), podOverrides: { ...(base ?? DEFAULT_POLICY).podOverrides, standard: ['sandboxed', 'confidential'] } });

interface Case {
  name: string;
  trust: NamespaceTrust;
  profile?: ResourceProfile;
  policy?: AdmissionPolicy;
  pod: Obj;
  /** Rules expected to mutate (exact set); [] = no patch. */
  mutatedBy: string[];
  /** Rules expected to deny (exact set, from the validating call unless the mutating call denied); [] = admitted. */
  deniedBy: string[];
  /** Denial text must name this container. */
  deniedContainer?: string;
  check?: (f: Flow) => void;
}

const AFFINITY = { key: 'kubetee.io/sgx', operator: 'In', values: ['true'] };
const TOLERATION = { key: 'kubetee.io/sgx', operator: 'Equal', value: 'true', effect: 'NoSchedule' };
const c0 = (f: Flow): Obj => f.mutated['spec'].containers[0];
const WIRE_INTEL = ['confidential.translate-epc', 'confidential.enclave-slot', 'confidential.sgx-node-affinity', 'confidential.sgx-toleration'];
const WIRE_ALIBABA = ['confidential.translate-epc', 'confidential.enclave-slot', 'confidential.sgx-node-affinity', 'confidential.sgx-toleration'];
const WIRE_INTEL_NATIVE = ['confidential.enclave-slot', 'confidential.sgx-node-affinity', 'confidential.sgx-toleration'];
const WIRE_ALIBABA_NATIVE = ['confidential.enclave-slot', 'confidential.sgx-node-affinity', 'confidential.sgx-toleration'];

const cases: Case[] = [
  // ---- standard ----
  { name: 'standard: a plain pod is admitted untouched', trust: 'standard', pod: pod(), mutatedBy: [], deniedBy: [] },
  {
    name: 'standard: privileged and hostPath are not this level\'s business',
    trust: 'standard',
    pod: pod({ containers: [container('app', { securityContext: { privileged: true } })], volumes: [{ name: 'h', hostPath: { path: '/var/log' } }] }),
    mutatedBy: [],
    deniedBy: [],
  },
  {
    name: 'standard: EPC outside a confidential namespace is denied (it would start unwired)',
    trust: 'standard',
    pod: pod({ containers: [container('enclave', epc({ 'sgx.intel.com/epc': '64Mi' }))] }),
    mutatedBy: [],
    deniedBy: ['global.epc-outside-confidential'],
    deniedContainer: 'container "enclave"',
  },
  {
    name: 'standard: SGX provisioning is denied outside confidential',
    trust: 'standard',
    pod: pod({ containers: [container('app'), container('quoter', epc({ 'sgx.intel.com/provision': '1' }))] }),
    mutatedBy: [],
    deniedBy: ['global.provision-outside-confidential'],
    deniedContainer: 'container "quoter"',
  },
  {
    name: 'standard: policy may allow EPC outside confidential',
    trust: 'standard',
    policy: policyWith({ global: { denyEpcOutsideConfidential: false } }),
    pod: pod({ containers: [container('enclave', epc({ 'sgx.intel.com/epc': '64Mi' }))] }),
    mutatedBy: [],
    deniedBy: [],
  },
  {
    name: 'standard: a pod may opt into sandboxed by annotation (default policy)',
    trust: 'standard',
    pod: pod({}, { annotations: { 'kubetee.io/trust': 'sandboxed' } }),
    mutatedBy: ['sandboxed.inject-runtime-class'],
    deniedBy: [],
    check: (f) => assert.equal(f.mutated['spec'].runtimeClassName, 'runv'),
  },
  {
    name: 'standard: where the policy allows it, a pod may opt into confidential and gets wired',
    trust: 'standard',
    profile: 'alibaba',
    policy: policyWith({ podOverrides: { standard: ['sandboxed', 'confidential'] } }),
    pod: pod({ containers: [container('enclave', epc({ 'alibabacloud.com/sgx_epc_MiB': '32' }))] }, { annotations: { 'kubetee.io/trust': 'confidential' } }),
    mutatedBy: WIRE_ALIBABA_NATIVE,
    deniedBy: [],
  },
  {
    name: 'standard: opting into confidential is refused by default (it would grant SGX provisioning)',
    trust: 'standard',
    pod: pod({ containers: [container('quoter', epc({ 'sgx.intel.com/epc': '8Mi', 'sgx.intel.com/provision': '1' }))] }, { annotations: { 'kubetee.io/trust': 'confidential' } }),
    mutatedBy: [],
    deniedBy: ['trust.pod-override', 'global.provision-outside-confidential', 'global.epc-outside-confidential'],
  },
  {
    name: 'standard: an unknown trust annotation is denied',
    trust: 'standard',
    pod: pod({}, { annotations: { 'kubetee.io/trust': 'trusted-ish' } }),
    mutatedBy: [],
    deniedBy: ['trust.pod-override'],
  },
  {
    name: 'unlabelled namespace: the policy default level applies (sandboxed here)',
    trust: undefined,
    policy: policyWith({ defaultTrustLevel: 'sandboxed' }),
    pod: pod(),
    mutatedBy: ['sandboxed.inject-runtime-class'],
    deniedBy: [],
  },
  {
    name: 'invalid namespace label: denied, nothing mutated',
    trust: { invalid: 'secret' },
    pod: pod({ containers: [container('enclave', epc({ 'sgx.intel.com/epc': '64Mi' }))] }),
    mutatedBy: [],
    deniedBy: ['trust.namespace-label', 'global.epc-outside-confidential'],
  },
  // ---- sandboxed ----
  {
    name: 'sandboxed: a pod without runtimeClassName gets runv',
    trust: 'sandboxed',
    pod: pod(),
    mutatedBy: ['sandboxed.inject-runtime-class'],
    deniedBy: [],
    check: (f) => assert.deepEqual(f.patch, [{ op: 'add', path: '/spec/runtimeClassName', value: 'runv' }]),
  },
  {
    name: 'sandboxed: policy default class kata-qemu is injected',
    trust: 'sandboxed',
    policy: policyWith({ sandboxed: { defaultRuntimeClass: 'kata-qemu' } }),
    pod: pod(),
    mutatedBy: ['sandboxed.inject-runtime-class'],
    deniedBy: [],
    check: (f) => assert.equal(f.mutated['spec'].runtimeClassName, 'kata-qemu'),
  },
  { name: 'sandboxed: an allowed sandbox class is kept', trust: 'sandboxed', pod: pod({ runtimeClassName: 'gvisor' }), mutatedBy: [], deniedBy: [] },
  { name: 'sandboxed: a non-sandbox class is denied', trust: 'sandboxed', pod: pod({ runtimeClassName: 'runc' }), mutatedBy: [], deniedBy: ['sandboxed.runtime-class-allowed'] },
  {
    name: 'sandboxed: privileged is denied and names the container',
    trust: 'sandboxed',
    pod: pod({ containers: [container('web'), container('debug', { securityContext: { privileged: true } })] }),
    mutatedBy: ['sandboxed.inject-runtime-class'],
    deniedBy: ['sandboxed.no-privileged'],
    deniedContainer: 'container "debug"',
  },
  {
    name: 'sandboxed: privileged init container is denied too',
    trust: 'sandboxed',
    pod: pod({ runtimeClassName: 'kata-qemu', initContainers: [container('setup', { securityContext: { privileged: true } })] }),
    mutatedBy: [],
    deniedBy: ['sandboxed.no-privileged'],
    deniedContainer: 'init container "setup"',
  },
  {
    name: 'sandboxed: policy may allow privileged (inside the VM)',
    trust: 'sandboxed',
    policy: policyWith({ sandboxed: { denyPrivileged: false } }),
    pod: pod({ runtimeClassName: 'kata-qemu', containers: [container('app', { securityContext: { privileged: true } })] }),
    mutatedBy: [],
    deniedBy: [],
  },
  { name: 'sandboxed: hostNetwork/hostPID are denied', trust: 'sandboxed', pod: pod({ runtimeClassName: 'kata-qemu', hostNetwork: true, hostPID: true }), mutatedBy: [], deniedBy: ['sandboxed.no-host-namespaces'] },
  {
    name: 'sandboxed: hostPath volumes are denied with the mounting container',
    trust: 'sandboxed',
    pod: pod({ runtimeClassName: 'kata-qemu', volumes: [{ name: 'logs', hostPath: { path: '/var/log' } }], containers: [container('app', { volumeMounts: [{ name: 'logs', mountPath: '/logs' }] })] }),
    mutatedBy: [],
    deniedBy: ['sandboxed.no-host-path'],
    deniedContainer: 'container "app"',
  },
  {
    name: 'sandboxed: EPC is denied (enclaves belong in confidential namespaces)',
    trust: 'sandboxed',
    pod: pod({ runtimeClassName: 'kata-qemu', containers: [container('app', epc({ 'alibabacloud.com/sgx_epc_MiB': 8 }))] }),
    mutatedBy: [],
    deniedBy: ['global.epc-outside-confidential'],
  },
  {
    name: 'sandboxed: downgrading to standard by annotation is refused',
    trust: 'sandboxed',
    pod: pod({}, { annotations: { 'kubetee.io/trust': 'standard' } }),
    mutatedBy: ['sandboxed.inject-runtime-class'],
    deniedBy: ['trust.pod-override'],
  },
  // ---- confidential: translation into each profile ----
  ...(
    [
      ['sgx.intel.com/epc', '64Mi', 'intel', 'sgx.intel.com/epc', '64Mi'],
      ['sgx.intel.com/epc', '64Mi', 'alibaba', 'alibabacloud.com/sgx_epc_MiB', '64'],
      ['sgx.intel.com/epc', '67108864', 'alibaba', 'alibabacloud.com/sgx_epc_MiB', '64'],
      ['sgx.intel.com/epc', '1Gi', 'alibaba', 'alibabacloud.com/sgx_epc_MiB', '1024'],
      ['alibabacloud.com/sgx_epc_MiB', '64', 'intel', 'sgx.intel.com/epc', '64Mi'],
      ['alibabacloud.com/sgx_epc_MiB', '2048', 'intel', 'sgx.intel.com/epc', '2Gi'],
      ['alibabacloud.com/sgx_epc_MiB', '93', 'alibaba', 'alibabacloud.com/sgx_epc_MiB', '93'],
      ['kubernetes.azure.com/sgx_epc_mem_in_MiB', '10', 'intel', 'sgx.intel.com/epc', '10Mi'],
      ['kubernetes.azure.com/sgx_epc_mem_in_MiB', '10', 'alibaba', 'alibabacloud.com/sgx_epc_MiB', '10'],
    ] as const
  ).map(
    ([from, qty, profile, to, want]): Case => ({
      name: `confidential/${profile}: ${from}=${qty} becomes ${to}=${want}`,
      trust: 'confidential',
      profile,
      pod: pod({ containers: [container('enclave', epc({ [from]: qty }))] }),
      mutatedBy: from === to ? (profile === 'intel' ? WIRE_INTEL_NATIVE : WIRE_ALIBABA_NATIVE) : profile === 'intel' ? WIRE_INTEL : WIRE_ALIBABA,
      deniedBy: [],
      check: (f) => {
        const r = c0(f).resources;
        for (const side of ['requests', 'limits']) {
          assert.equal(String(r[side][to]), want, `${side}[${to}]`);
          for (const other of ['sgx.intel.com/epc', 'alibabacloud.com/sgx_epc_MiB', 'kubernetes.azure.com/sgx_epc_mem_in_MiB'].filter((n) => n !== to)) assert.equal(r[side][other], undefined, `${side}[${other}] removed`);
        }
        if (profile === 'intel') assert.equal(r.limits['sgx.intel.com/enclave'], '1');
        assert.deepEqual(f.mutated['spec'].affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms, [{ matchExpressions: [AFFINITY] }]);
        // kubetee's taint, and <resource>:NoSchedule for each SGX resource requested (ExtendedResourceToleration convention).
        const resourceTolerations = [to, ...(profile === 'intel' ? ['sgx.intel.com/enclave'] : [])].map((key) => ({ key, operator: 'Exists', effect: 'NoSchedule' }));
        assert.deepEqual(f.mutated['spec'].tolerations, [TOLERATION, ...resourceTolerations]);
      },
    }),
  ),
  {
    name: 'confidential/alibaba: an EPC size that is not a whole MiB is rounded up, with a warning',
    trust: 'confidential',
    profile: 'alibaba',
    pod: pod({ containers: [container('enclave', epc({ 'sgx.intel.com/epc': '1500000' }))] }),
    mutatedBy: WIRE_ALIBABA,
    deniedBy: [],
    check: (f) => {
      assert.equal(c0(f).resources.limits['alibabacloud.com/sgx_epc_MiB'], '2');
      assert.match((f.mutate.response.warnings ?? []).join('\n'), /rounded up to 2 MiB/);
    },
  },
  {
    name: 'confidential/alibaba: Intel slot resources are removed (the profile has none)',
    trust: 'confidential',
    profile: 'alibaba',
    pod: pod({ containers: [container('enclave', epc({ 'sgx.intel.com/epc': '8Mi', 'sgx.intel.com/enclave': '1' }))] }),
    mutatedBy: WIRE_ALIBABA,
    deniedBy: [],
    // Intel's slots are replaced by the profile's own enclave slot.
    check: (f) => assert.deepEqual(c0(f).resources.limits, { 'alibabacloud.com/sgx_epc_MiB': '8', 'alibabacloud.com/sgx_enclave': '1' }),
  },
  {
    name: 'confidential/intel: limits-only EPC gets limits-only slots',
    trust: 'confidential',
    profile: 'intel',
    pod: pod({ containers: [container('enclave', { resources: { limits: { 'sgx.intel.com/epc': '16Mi' } } })] }),
    mutatedBy: WIRE_INTEL_NATIVE,
    deniedBy: [],
    check: (f) => assert.deepEqual(c0(f).resources, { limits: { 'sgx.intel.com/epc': '16Mi', 'sgx.intel.com/enclave': '1' } }),
  },
  // ---- confidential: AESM, provisioning, sidecars, init containers ----
  {
    name: 'confidential/intel: quote-provider aesmd (node DaemonSet) mounts the host AESM socket in every EPC container',
    trust: 'confidential',
    profile: 'intel',
    pod: pod({ containers: [container('a', epc({ 'sgx.intel.com/epc': '8Mi' })), container('b', epc({ 'sgx.intel.com/epc': '8Mi' })), container('plain')] }, { annotations: { 'kubetee.io/quote-provider': 'aesmd' } }),
    mutatedBy: [...WIRE_INTEL_NATIVE, 'confidential.aesm-socket'],
    deniedBy: [],
    check: (f) => {
      const [a, b, plain] = f.mutated['spec'].containers;
      for (const c of [a, b]) {
        assert.deepEqual(c.volumeMounts, [{ name: 'aesmd-socket', mountPath: '/var/run/aesmd' }]);
        assert.deepEqual(c.env, [{ name: 'SGX_AESM_ADDR', value: '1' }]);
        assert.equal(c.resources.limits['sgx.intel.com/provision'], undefined, 'AESM on the node quotes; no container gets provision');
      }
      assert.equal(plain.volumeMounts, undefined);
      assert.deepEqual(f.mutated['spec'].volumes, [{ name: 'aesmd-socket', hostPath: { path: '/var/run/aesmd', type: 'Directory' } }]);
      assert.deepEqual(f.mutated['spec'].affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions, [
        AFFINITY,
        { key: 'kubetee.io/sgx.aesm', operator: 'In', values: ['true'] },
      ]);
    },
  },
  {
    name: 'confidential/intel: Intel\'s sgx.intel.com/quote-provider with an aesmd sidecar shares a memory emptyDir; the sidecar alone gets provision',
    trust: 'confidential',
    profile: 'intel',
    pod: pod(
      { containers: [container('app', epc({ 'sgx.intel.com/epc': '64Mi' })), container('aesmd', epc({ 'sgx.intel.com/epc': '1Mi' }))] },
      { annotations: { 'sgx.intel.com/quote-provider': 'aesmd' } },
    ),
    mutatedBy: [...WIRE_INTEL_NATIVE, 'confidential.aesm-socket', 'confidential.provision-quoting-container'],
    deniedBy: [],
    check: (f) => {
      const [app, aesmd] = f.mutated['spec'].containers;
      assert.deepEqual(f.mutated['spec'].volumes, [{ name: 'aesmd-socket', emptyDir: { medium: 'Memory' } }]);
      assert.equal(app.resources.limits['sgx.intel.com/provision'], undefined);
      assert.equal(aesmd.resources.limits['sgx.intel.com/provision'], '1');
      assert.equal(aesmd.resources.requests['sgx.intel.com/provision'], '1');
      assert.deepEqual(f.mutated['spec'].affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions, [AFFINITY], 'no node AESM needed');
    },
  },
  {
    name: 'confidential/intel: a native sidecar (init, restartPolicy Always) aesmd is wired like a container',
    trust: 'confidential',
    profile: 'intel',
    pod: pod(
      { initContainers: [container('aesmd', { restartPolicy: 'Always', ...epc({ 'alibabacloud.com/sgx_epc_MiB': '1' }) })], containers: [container('app', epc({ 'sgx.intel.com/epc': '64Mi' }))] },
      { annotations: { 'kubetee.io/quote-provider': 'aesmd' } },
    ),
    mutatedBy: [...WIRE_INTEL, 'confidential.aesm-socket', 'confidential.provision-quoting-container'],
    deniedBy: [],
    check: (f) => {
      const sidecar = f.mutated['spec'].initContainers[0];
      assert.deepEqual(sidecar.resources.limits, { 'sgx.intel.com/epc': '1Mi', 'sgx.intel.com/enclave': '1', 'sgx.intel.com/provision': '1' });
      assert.deepEqual(sidecar.volumeMounts, [{ name: 'aesmd-socket', mountPath: '/var/run/aesmd' }]);
    },
  },
  {
    name: 'confidential/intel: in-process quoting gives provision to the named container only',
    trust: 'confidential',
    profile: 'intel',
    pod: pod({ containers: [container('quoter', epc({ 'sgx.intel.com/epc': '32Mi' })), container('worker', epc({ 'sgx.intel.com/epc': '32Mi' }))] }, { annotations: { 'kubetee.io/quote-provider': 'quoter' } }),
    mutatedBy: [...WIRE_INTEL_NATIVE, 'confidential.provision-quoting-container'],
    deniedBy: [],
    check: (f) => {
      const [q, w] = f.mutated['spec'].containers;
      assert.equal(q.resources.limits['sgx.intel.com/provision'], '1');
      assert.equal(w.resources.limits['sgx.intel.com/provision'], undefined);
      assert.equal(q.env, undefined, 'no AESM env for in-process quoting');
    },
  },
  {
    name: 'confidential/alibaba: in-process quoting adds nothing (the plugin hands out provision)',
    trust: 'confidential',
    profile: 'alibaba',
    pod: pod({ containers: [container('quoter', epc({ 'alibabacloud.com/sgx_epc_MiB': '32' }))] }, { annotations: { 'kubetee.io/quote-provider': 'quoter' } }),
    mutatedBy: WIRE_ALIBABA_NATIVE,
    deniedBy: [],
  },
  {
    name: 'confidential/intel: init containers that request EPC are wired too',
    trust: 'confidential',
    profile: 'intel',
    pod: pod({ initContainers: [container('seal', epc({ 'kubernetes.azure.com/sgx_epc_mem_in_MiB': '4' }))], containers: [container('app', epc({ 'sgx.intel.com/epc': '16Mi' }))] }),
    mutatedBy: WIRE_INTEL,
    deniedBy: [],
    check: (f) => assert.deepEqual(f.mutated['spec'].initContainers[0].resources.limits, { 'sgx.intel.com/epc': '4Mi', 'sgx.intel.com/enclave': '1' }),
  },
  {
    name: 'confidential/intel: an enclave in a Kata sandbox gets the VM EPC annotation (sum of containers and sidecars, at least the largest init)',
    trust: 'confidential',
    profile: 'intel',
    pod: pod({
      runtimeClassName: 'kata-qemu',
      initContainers: [container('init', epc({ 'sgx.intel.com/epc': '100Mi' })), container('side', { restartPolicy: 'Always', ...epc({ 'sgx.intel.com/epc': '8Mi' }) })],
      containers: [container('a', epc({ 'sgx.intel.com/epc': '64Mi' })), container('b', epc({ 'alibabacloud.com/sgx_epc_MiB': '64' }))],
    }),
    mutatedBy: [...WIRE_INTEL, 'confidential.kata-epc-annotation'],
    deniedBy: [],
    check: (f) => assert.equal(f.mutated['metadata'].annotations['sgx.intel.com/epc'], '136Mi'),
  },
  {
    name: 'confidential/alibaba: a stale Kata EPC annotation is corrected',
    trust: 'confidential',
    profile: 'alibaba',
    pod: pod({ runtimeClassName: 'kata', containers: [container('a', epc({ 'alibabacloud.com/sgx_epc_MiB': '64' }))] }, { annotations: { 'sgx.intel.com/epc': '1Mi' } }),
    mutatedBy: [...WIRE_ALIBABA_NATIVE, 'confidential.kata-epc-annotation'],
    deniedBy: [],
    check: (f) => assert.deepEqual(f.patch.find((p) => p.path === '/metadata/annotations/sgx.intel.com~1epc'), { op: 'replace', path: '/metadata/annotations/sgx.intel.com~1epc', value: '64Mi' }),
  },
  // ---- confidential: enclaves in sandbox VMs (issue 19), with the built-in and the installed policies, every profile ----
  ...(['builtin', 'installed'] as const).flatMap((which) =>
    (['alibaba', 'intel'] as const).flatMap((profile): Case[] => {
      const policy = which === 'builtin' ? undefined : installedPolicy(profile);
      const wire = profile === 'intel' ? WIRE_INTEL_NATIVE : WIRE_ALIBABA_NATIVE;
      const enclave = (runtimeClassName: string | undefined, meta: Obj = {}): Obj =>
        pod({ ...(runtimeClassName ? { runtimeClassName } : {}), containers: [container('app', epc(profile === 'intel' ? { 'sgx.intel.com/epc': '48Mi' } : { 'alibabacloud.com/sgx_epc_MiB': '48' }))] }, meta);
      const at = `${which} policy, ${profile}`;
      return [
        {
          name: `confidential (${at}): an enclave in RuntimeClass "kata" gets the Kata EPC annotation even where the policy does not list kata`,
          trust: 'confidential',
          profile,
          ...(policy ? { policy } : {}),
          pod: enclave('kata'),
          mutatedBy: [...wire, 'confidential.kata-epc-annotation'],
          deniedBy: [],
          check: (f) => assert.equal(f.mutated['metadata'].annotations['sgx.intel.com/epc'], '48Mi'),
        },
        {
          name: `confidential (${at}): an enclave in the policy's Kata class kata-qemu gets the annotation`,
          trust: 'confidential',
          profile,
          ...(policy ? { policy } : {}),
          pod: enclave('kata-qemu'),
          mutatedBy: [...wire, 'confidential.kata-epc-annotation'],
          deniedBy: [],
          check: (f) => assert.equal(f.mutated['metadata'].annotations['sgx.intel.com/epc'], '48Mi'),
        },
        ...(['gvisor', 'runsc', 'kata-fc'] as const).map(
          (rc): Case => ({
            name: `confidential (${at}): an enclave in "${rc}" is denied (the runtime cannot carry EPC)`,
            trust: 'confidential',
            profile,
            ...(policy ? { policy } : {}),
            pod: enclave(rc),
            mutatedBy: wire,
            deniedBy: ['confidential.runtime-carries-epc'],
            check: (f) => assert.match(f.validate.response.status!.message, new RegExp(`RuntimeClass "${rc}" cannot give an enclave EPC: .*(gVisor|Firecracker).*Fix: run the pod on the host kernel`)),
          }),
        ),
        {
          name: `confidential (${at}): an enclave in an unknown RuntimeClass is denied with how to declare it`,
          trust: 'confidential',
          profile,
          ...(policy ? { policy } : {}),
          pod: enclave('secure-vm'),
          mutatedBy: wire,
          deniedBy: ['confidential.runtime-carries-epc'],
          check: (f) => assert.match(f.validate.response.status!.message, /does not know how RuntimeClass "secure-vm" gives an enclave EPC.*Fix: declare the class in the install values: existingRuntimeClasses as \{name: secure-vm, epc: annotation\}.*hostRuntimeClasses/),
        },
        {
          name: `confidential (${at}): a pod opting in by annotation gets the same: kata annotated`,
          trust: 'standard',
          profile,
          policy: withOverrides(policy),
          pod: enclave('kata', { annotations: { 'kubetee.io/trust': 'confidential' } }),
          mutatedBy: [...wire, 'confidential.kata-epc-annotation'],
          deniedBy: [],
          check: (f) => assert.equal(f.mutated['metadata'].annotations['sgx.intel.com/epc'], '48Mi'),
        },
        {
          name: `confidential (${at}): a pod opting in by annotation gets the same: gvisor denied`,
          trust: 'standard',
          profile,
          policy: withOverrides(policy),
          pod: enclave('gvisor', { annotations: { 'kubetee.io/trust': 'confidential' } }),
          mutatedBy: wire,
          deniedBy: ['confidential.runtime-carries-epc'],
        },
      ];
    }),
  ),
  {
    name: 'confidential: the policy may declare a class as a Kata VM, or as running on the host kernel, or overrule the built-in list',
    trust: 'confidential',
    profile: 'intel',
    policy: policyWith({ sandboxRuntimeClasses: ['kata-qemu', { name: 'secure-vm', epc: 'annotation' }, { name: 'gvisor', epc: 'annotation' }], hostRuntimeClasses: ['nvidia'] }),
    pod: pod({ runtimeClassName: 'secure-vm', containers: [container('app', epc({ 'sgx.intel.com/epc': '8Mi' }))] }),
    mutatedBy: [...WIRE_INTEL_NATIVE, 'confidential.kata-epc-annotation'],
    deniedBy: [],
    check: (f) => assert.equal(f.mutated['metadata'].annotations['sgx.intel.com/epc'], '8Mi'),
  },
  {
    name: 'confidential: a class listed in hostRuntimeClasses runs the enclave on the host kernel (no annotation)',
    trust: 'confidential',
    profile: 'intel',
    policy: policyWith({ hostRuntimeClasses: ['nvidia'] }),
    pod: pod({ runtimeClassName: 'nvidia', containers: [container('app', epc({ 'sgx.intel.com/epc': '8Mi' }))] }),
    mutatedBy: WIRE_INTEL_NATIVE,
    deniedBy: [],
    check: (f) => assert.equal(f.mutated['metadata'].annotations?.['sgx.intel.com/epc'], undefined),
  },
  {
    name: 'confidential: a class the policy declares epc: unsupported is denied even when the built-in list would annotate it',
    trust: 'confidential',
    profile: 'alibaba',
    policy: policyWith({ sandboxRuntimeClasses: ['runv', { name: 'kata', epc: 'unsupported' }] }),
    pod: pod({ runtimeClassName: 'kata', containers: [container('app', epc({ 'alibabacloud.com/sgx_epc_MiB': '8' }))] }),
    mutatedBy: WIRE_ALIBABA_NATIVE,
    deniedBy: ['confidential.runtime-carries-epc'],
    check: (f) => assert.match(f.validate.response.status!.message, /declares that it cannot give enclaves EPC \(epc: unsupported\) \(trust policy\)/),
  },
  {
    name: 'confidential: a confidential pod without EPC may use gVisor (nothing to carry)',
    trust: 'confidential',
    profile: 'alibaba',
    policy: policyWith({ confidential: { requireEpc: false } }),
    pod: pod({ runtimeClassName: 'gvisor' }),
    mutatedBy: [],
    deniedBy: [],
  },
  {
    name: 'confidential/intel: the quoting container\'s provision slot is tolerated as a resource-name taint too',
    trust: 'confidential',
    profile: 'intel',
    pod: pod({ containers: [container('app', epc({ 'sgx.intel.com/epc': '8Mi' })), container('quoter', epc({ 'sgx.intel.com/epc': '4Mi' }))] }, { annotations: { 'kubetee.io/quote-provider': 'quoter' } }),
    mutatedBy: [...WIRE_INTEL_NATIVE, 'confidential.provision-quoting-container'],
    deniedBy: [],
    check: (f) => assert.deepEqual(f.mutated['spec'].tolerations.map((t: Obj) => `${t.key}:${t.operator}:${t.effect}`), ['kubetee.io/sgx:Equal:NoSchedule', 'sgx.intel.com/epc:Exists:NoSchedule', 'sgx.intel.com/enclave:Exists:NoSchedule', 'sgx.intel.com/provision:Exists:NoSchedule']),
  },
  {
    name: 'confidential/alibaba: a requested provision slot is tolerated as a resource-name taint; a pod that does not request it does not tolerate it',
    trust: 'confidential',
    profile: 'alibaba',
    pod: pod({ containers: [container('app', epc({ 'alibabacloud.com/sgx_epc_MiB': '8', 'alibabacloud.com/sgx_provision': '1' }))] }),
    mutatedBy: WIRE_ALIBABA_NATIVE,
    deniedBy: [],
    check: (f) => assert.deepEqual(f.mutated['spec'].tolerations.map((t: Obj) => t.key), ['kubetee.io/sgx', 'alibabacloud.com/sgx_epc_MiB', 'alibabacloud.com/sgx_provision']),
  },
  // ---- confidential: pods that already carry part of the wiring ----
  {
    name: 'confidential/intel: a fully wired pod is admitted without a patch',
    trust: 'confidential',
    profile: 'intel',
    pod: pod({
      containers: [container('app', epc({ 'sgx.intel.com/epc': '64Mi', 'sgx.intel.com/enclave': 1 }))],
      tolerations: [{ key: 'kubetee.io/sgx', operator: 'Exists' }, { key: 'sgx.intel.com/epc', operator: 'Exists' }, { key: 'sgx.intel.com/enclave', operator: 'Exists', effect: 'NoSchedule' }],
      affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [AFFINITY] }] } } },
    }),
    mutatedBy: [],
    deniedBy: [],
  },
  {
    name: 'confidential/intel: partial wiring is completed, user choices kept',
    trust: 'confidential',
    profile: 'intel',
    pod: pod(
      {
        containers: [container('app', { ...epc({ 'sgx.intel.com/epc': '64Mi' }), env: [{ name: 'SGX_AESM_ADDR', value: '0' }, { name: 'MODE', value: 'prod' }], volumeMounts: [{ name: 'my-aesm', mountPath: '/var/run/aesmd' }] })],
        volumes: [{ name: 'my-aesm', hostPath: { path: '/var/run/aesmd', type: 'Directory' } }],
        tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'ml', effect: 'NoSchedule' }],
        affinity: {
          nodeAffinity: {
            requiredDuringSchedulingIgnoredDuringExecution: {
              nodeSelectorTerms: [{ matchExpressions: [{ key: 'zone', operator: 'In', values: ['a'] }] }, { matchExpressions: [{ key: 'zone', operator: 'In', values: ['b'] }, AFFINITY] }],
            },
          },
        },
      },
      { annotations: { 'kubetee.io/quote-provider': 'aesmd' } },
    ),
    mutatedBy: [...WIRE_INTEL_NATIVE, 'confidential.aesm-socket'],
    deniedBy: [],
    check: (f) => {
      const app = c0(f);
      assert.deepEqual(app.env, [{ name: 'SGX_AESM_ADDR', value: '1' }, { name: 'MODE', value: 'prod' }]);
      assert.deepEqual(app.volumeMounts, [{ name: 'my-aesm', mountPath: '/var/run/aesmd' }], 'existing AESM mount kept');
      const terms = f.mutated['spec'].affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms;
      const aesm = { key: 'kubetee.io/sgx.aesm', operator: 'In', values: ['true'] };
      assert.deepEqual(terms, [
        { matchExpressions: [{ key: 'zone', operator: 'In', values: ['a'] }, AFFINITY, aesm] },
        { matchExpressions: [{ key: 'zone', operator: 'In', values: ['b'] }, AFFINITY, aesm] },
      ]);
      assert.deepEqual(f.mutated['spec'].tolerations.map((t: Obj) => t.key), ['dedicated', 'kubetee.io/sgx', 'sgx.intel.com/epc', 'sgx.intel.com/enclave']);
      assert.deepEqual(f.mutated['spec'].volumes.map((v: Obj) => v.name), ['my-aesm', 'aesmd-socket']);
    },
  },
  // ---- confidential: denials ----
  {
    name: 'confidential: privileged is denied',
    trust: 'confidential',
    profile: 'alibaba',
    pod: pod({ containers: [container('app', { securityContext: { privileged: true }, ...epc({ 'alibabacloud.com/sgx_epc_MiB': 8 }) })] }),
    mutatedBy: WIRE_ALIBABA_NATIVE,
    deniedBy: ['confidential.no-privileged'],
    deniedContainer: 'container "app"',
  },
  {
    name: 'confidential: EPC requests without limits are denied',
    trust: 'confidential',
    profile: 'intel',
    pod: pod({ containers: [container('app', { resources: { requests: { 'sgx.intel.com/epc': '8Mi' } } })] }),
    mutatedBy: WIRE_INTEL_NATIVE,
    deniedBy: ['confidential.epc-limits-equal-requests'],
    deniedContainer: 'container "app"',
  },
  {
    name: 'confidential: EPC requests != limits are denied',
    trust: 'confidential',
    profile: 'alibaba',
    pod: pod({ containers: [container('app', { resources: { requests: { 'alibabacloud.com/sgx_epc_MiB': '8' }, limits: { 'alibabacloud.com/sgx_epc_MiB': '16' } } })] }),
    mutatedBy: WIRE_ALIBABA_NATIVE,
    deniedBy: ['confidential.epc-limits-equal-requests'],
  },
  {
    name: 'confidential: hostPath /dev/sgx_enclave is denied',
    trust: 'confidential',
    profile: 'alibaba',
    pod: pod({
      volumes: [{ name: 'sgx', hostPath: { path: '/dev/sgx_enclave', type: 'CharDevice' } }],
      containers: [container('app', { ...epc({ 'alibabacloud.com/sgx_epc_MiB': 8 }), volumeMounts: [{ name: 'sgx', mountPath: '/dev/sgx_enclave' }] })],
    }),
    mutatedBy: WIRE_ALIBABA_NATIVE,
    deniedBy: ['confidential.no-host-sgx-devices'],
    deniedContainer: 'container "app"',
  },
  {
    name: 'confidential: hostPath /dev/ (exposes every SGX node) is denied',
    trust: 'confidential',
    profile: 'alibaba',
    pod: pod({ volumes: [{ name: 'dev', hostPath: { path: '/dev/' } }], containers: [container('app', epc({ 'alibabacloud.com/sgx_epc_MiB': 8 }))] }),
    mutatedBy: WIRE_ALIBABA_NATIVE,
    deniedBy: ['confidential.no-host-sgx-devices'],
  },
  {
    name: 'confidential: a pod without EPC is denied',
    trust: 'confidential',
    pod: pod(),
    mutatedBy: [],
    deniedBy: ['confidential.requires-epc'],
    deniedContainer: 'container "app"',
  },
  {
    name: 'confidential: policy may admit pods without EPC in confidential namespaces',
    trust: 'confidential',
    policy: policyWith({ confidential: { requireEpc: false } }),
    pod: pod(),
    mutatedBy: [],
    deniedBy: [],
  },
  {
    name: 'confidential: a quote-provider naming no container is denied',
    trust: 'confidential',
    profile: 'intel',
    pod: pod({ containers: [container('app', epc({ 'sgx.intel.com/epc': '8Mi' }))] }, { annotations: { 'kubetee.io/quote-provider': 'ghost' } }),
    mutatedBy: WIRE_INTEL_NATIVE,
    deniedBy: ['confidential.quote-provider-known'],
  },
  {
    name: 'confidential: a quoting container without EPC is denied',
    trust: 'confidential',
    profile: 'intel',
    pod: pod({ containers: [container('app', epc({ 'sgx.intel.com/epc': '8Mi' })), container('quoter')] }, { annotations: { 'kubetee.io/quote-provider': 'quoter' } }),
    mutatedBy: WIRE_INTEL_NATIVE,
    deniedBy: ['confidential.quote-provider-known'],
    deniedContainer: 'container "quoter"',
  },
  {
    name: 'confidential: an aesmd sidecar without EPC is denied',
    trust: 'confidential',
    profile: 'intel',
    pod: pod({ containers: [container('app', epc({ 'sgx.intel.com/epc': '8Mi' })), container('aesmd')] }, { annotations: { 'kubetee.io/quote-provider': 'aesmd' } }),
    mutatedBy: [...WIRE_INTEL_NATIVE, 'confidential.aesm-socket'],
    deniedBy: ['confidential.quote-provider-known'],
    deniedContainer: 'container "aesmd"',
  },
  {
    name: 'confidential: provision on a container that does not quote is denied',
    trust: 'confidential',
    profile: 'intel',
    pod: pod({ containers: [container('app', epc({ 'sgx.intel.com/epc': '8Mi', 'sgx.intel.com/provision': '1' }))] }),
    mutatedBy: WIRE_INTEL_NATIVE,
    deniedBy: ['confidential.provision-only-quoting-container'],
    deniedContainer: 'container "app"',
  },
  {
    name: 'confidential: conflicting EPC sizes under two names are denied',
    trust: 'confidential',
    profile: 'alibaba',
    pod: pod({ containers: [container('app', epc({ 'sgx.intel.com/epc': '64Mi', 'alibabacloud.com/sgx_epc_MiB': '32' }))] }),
    mutatedBy: [],
    deniedBy: ['confidential.translate-epc'],
    deniedContainer: 'container "app"',
  },
];

// An unparseable quantity is already rejected by the OpenAPI schema, so that case is sent
// to /mutate and /validate directly below instead of through the table's schema check.
const observed = new Set<string>();
const profiles: ResourceProfile[] = ['intel', 'alibaba'];

function ids(annotation: string | undefined): string[] {
  return annotation ? [...new Set(annotation.split(','))].sort() : [];
}

for (const c of cases) {
  for (const profile of c.profile ? [c.profile] : profiles) {
    test(`${c.name}${c.profile ? '' : ` [${profile}]`}`, async () => {
      const h = handlerFor(profile, c.policy);
      const f = await admit(h, c.pod, c.trust);
      const mutatedBy = f.mutate.response.allowed ? ids(f.mutate.response.auditAnnotations?.['mutated-by']) : [];
      const deniedBy = f.mutate.response.allowed ? ids(f.validate.response.auditAnnotations?.['denied-by']) : ids(f.mutate.response.auditAnnotations?.['denied-by']);
      assert.deepEqual(mutatedBy, [...new Set(c.mutatedBy)].sort(), 'mutating rules');
      assert.equal(f.patch.length > 0, c.mutatedBy.length > 0, 'a patch exactly when a rule mutated');
      assert.deepEqual(deniedBy, [...new Set(c.deniedBy)].sort(), `denying rules; message: ${f.validate.response.status?.message ?? f.mutate.response.status?.message}`);
      const denied = c.deniedBy.length > 0;
      const final = f.mutate.response.allowed ? f.validate : f.mutate;
      assert.equal(final.response.allowed, !denied);
      if (denied) {
        assert.equal(final.response.status?.code, 403);
        const message = final.response.status!.message;
        for (const id of c.deniedBy) assert.ok(message.includes(`[${id}]`), `denial names rule ${id}: ${message}`);
        assert.match(message, /Fix: /);
        if (c.deniedContainer) assert.ok(message.includes(c.deniedContainer), `denial names ${c.deniedContainer}: ${message}`);
      }
      c.check?.(f);
      mutatedBy.forEach((id) => observed.add(id));
      deniedBy.forEach((id) => observed.add(id));
    });
  }
}

test('confidential: an unparseable EPC quantity is denied at mutate and validate, with the container', async () => {
  const bad = pod({ containers: [container('app', epc({ 'sgx.intel.com/epc': 'lots' }))] });
  const h = handlerFor('intel');
  for (const phase of ['mutate', 'validate'] as const) {
    const r = await h.review(phase, { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid: 'u1', kind: { group: '', version: 'v1', kind: 'Pod' }, operation: 'CREATE', namespace: 'team', object: bad } }, 'confidential');
    const body = r.body as { response: { allowed: boolean; status?: { message: string }; auditAnnotations?: Record<string, string> } };
    assert.equal(body.response.allowed, false);
    assert.match(body.response.status!.message, /container "app".*not a Kubernetes quantity/);
    ids(body.response.auditAnnotations?.['denied-by']).forEach((id) => observed.add(id));
  }
});

test('confidential: a pod that skipped the mutating webhook is denied by the validating one (never starts unwired)', async () => {
  const h = handlerFor('intel');
  const unwired = pod({ containers: [container('app', epc({ 'alibabacloud.com/sgx_epc_MiB': '8' }))] });
  const r = await h.review('validate', { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid: 'u2', kind: { group: '', version: 'v1', kind: 'Pod' }, operation: 'CREATE', namespace: 'team', object: unwired } }, 'confidential');
  const body = r.body as { response: { allowed: boolean; status?: { message: string }; auditAnnotations?: Record<string, string> } };
  assert.equal(body.response.allowed, false);
  assert.deepEqual(ids(body.response.auditAnnotations?.['denied-by']), ['confidential.wiring-complete']);
  assert.match(body.response.status!.message, /uses alibabacloud\.com\/sgx_epc_MiB instead of sgx\.intel\.com\/epc; has no sgx\.intel\.com\/enclave slot/);
  assert.match(body.response.status!.message, /does not require nodes labelled kubetee\.io\/sgx=true/);
  assert.match(body.response.status!.message, /does not tolerate the SGX node taint/);
  ids(body.response.auditAnnotations?.['denied-by']).forEach((id) => observed.add(id));
});

test('confidential: a Kata pod whose EPC annotation was dropped or shrunk after mutation is denied by validation', async () => {
  const h = handlerFor('intel');
  const wired = (annotations: Obj): Obj =>
    pod(
      {
        runtimeClassName: 'kata-qemu',
        containers: [container('app', epc({ 'sgx.intel.com/epc': '64Mi', 'sgx.intel.com/enclave': '1' }))],
        tolerations: [{ key: 'kubetee.io/sgx', operator: 'Exists' }, { key: 'sgx.intel.com/epc', operator: 'Exists' }, { key: 'sgx.intel.com/enclave', operator: 'Exists' }],
        affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [AFFINITY] }] } } },
      },
      { annotations },
    );
  const validate = async (object: Obj) => ((await h.review('validate', { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid: 'k1', kind: { group: '', version: 'v1', kind: 'Pod' }, operation: 'CREATE', namespace: 'team', object } }, 'confidential')).body as { response: { allowed: boolean; status?: { message: string } } }).response;
  assert.equal((await validate(wired({ 'sgx.intel.com/epc': '64Mi' }))).allowed, true);
  assert.equal((await validate(wired({ 'sgx.intel.com/epc': '67108864' }))).allowed, true, 'the same size in bytes');
  for (const [annotations, says] of [[{}, /lacks it/], [{ 'sgx.intel.com/epc': '1Mi' }, /has sgx\.intel\.com\/epc="1Mi" instead of 64Mi/]] as const) {
    const r = await validate(wired(annotations));
    assert.equal(r.allowed, false);
    assert.match(r.status!.message, /\[confidential\.runtime-carries-epc\] RuntimeClass "kata-qemu" is a Kata VM that takes its EPC from the sgx\.intel\.com\/epc annotation/);
    assert.match(r.status!.message, says);
  }
});

test('sandboxed: a pod that skipped the mutating webhook is denied (no runtimeClassName)', async () => {
  const h = handlerFor('alibaba');
  const r = await h.review('validate', { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid: 'u3', kind: { group: '', version: 'v1', kind: 'Pod' }, operation: 'CREATE', namespace: 'team', object: pod() } }, 'sandboxed');
  const body = r.body as { response: { allowed: boolean; status?: { message: string } } };
  assert.equal(body.response.allowed, false);
  assert.match(body.response.status!.message, /\[sandboxed\.runtime-class-allowed\] pod has no runtimeClassName/);
});

test('kubectl debug: ephemeral containers are refused in confidential pods, privileged ones in sandboxed pods, allowed in standard', async () => {
  const debug = (privileged: boolean): Obj => container('debugger', { ...(privileged ? { securityContext: { privileged: true } } : {}) });
  const running = (level: string, extra: Obj): Obj =>
    level === 'confidential'
      ? pod({
          containers: [container('app', epc({ 'sgx.intel.com/epc': '8Mi', 'sgx.intel.com/enclave': '1' }))],
          tolerations: [{ key: 'kubetee.io/sgx', operator: 'Exists' }, { key: 'sgx.intel.com/epc', operator: 'Exists' }, { key: 'sgx.intel.com/enclave', operator: 'Exists' }],
          affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [AFFINITY] }] } } },
          ...extra,
        })
      : pod({ runtimeClassName: 'kata-qemu', ...extra });
  const cases: [string, boolean, boolean, string[]][] = [
    ['confidential', false, false, ['confidential.no-ephemeral-containers']],
    ['confidential', true, false, ['confidential.no-ephemeral-containers', 'confidential.no-privileged']],
    ['sandboxed', true, false, ['sandboxed.no-privileged']],
    ['sandboxed', false, true, []],
    ['standard', true, true, []],
  ];
  const h = handlerFor('intel');
  for (const [level, privileged, allowed, rules] of cases) {
    const object = running(level, { ephemeralContainers: [debug(privileged)] });
    const review = { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid: 'e1', kind: { group: '', version: 'v1', kind: 'Pod' }, operation: 'UPDATE', subResource: 'ephemeralcontainers', namespace: 'team', object, oldObject: running(level, {}) } };
    const r = (await h.review('validate', review, level as NamespaceTrust)).body as { response: { allowed: boolean; status?: { message: string }; auditAnnotations?: Record<string, string> } };
    assert.equal(r.response.allowed, allowed, `${level} privileged=${privileged}: ${r.response.status?.message}`);
    assert.deepEqual(ids(r.response.auditAnnotations?.['denied-by']), [...rules].sort());
    if (!allowed) assert.match(r.response.status!.message, /ephemeral container "debugger"/);
    rules.forEach((id) => observed.add(id));
  }
});

test('every rule in the catalogue is exercised in a non-pass outcome', () => {
  const missing = RULE_IDS.filter((id) => !observed.has(id));
  assert.deepEqual(missing, [], `rules never seen mutating or denying: ${missing.join(', ')}`);
});
