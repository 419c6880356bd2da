import { knownRuntimeByName } from '../../common/sandbox-runtimes.js';
import { describeContainer, listContainers, listEphemeralContainers } from '../pod.js';
import { deny, mutated, pass, type Finding, type MutationRule, type ValidationRule } from './rule.js';

/** Untrusted work runs in its own guest kernel: give it the default sandbox class when it names none. */
export const injectRuntimeClassRule: MutationRule = {
  id: 'sandboxed.inject-runtime-class',
  phase: 'mutate',
  levels: ['sandboxed'],
  summary: 'set spec.runtimeClassName to the policy default sandbox class (the first of sandboxRuntimeClasses, runv by default) when the pod names none',
  mutate(ctx, draft) {
    if (draft.spec.runtimeClassName) return [pass(`pod already names runtimeClassName "${draft.spec.runtimeClassName}"`)];
    draft.spec.runtimeClassName = ctx.policy.sandboxed.defaultRuntimeClass;
    return [mutated(`set runtimeClassName to "${ctx.policy.sandboxed.defaultRuntimeClass}"`)];
  },
};

export const runtimeClassAllowedRule: ValidationRule = {
  id: 'sandboxed.runtime-class-allowed',
  phase: 'validate',
  levels: ['sandboxed'],
  summary: 'a sandboxed pod must use a RuntimeClass from sandboxRuntimeClasses',
  validate(ctx, pod) {
    const allowed = ctx.policy.sandboxRuntimeClasses.map((c) => c.name);
    const name = pod.spec.runtimeClassName;
    if (name && allowed.includes(name)) return [pass(`runtimeClassName "${name}" is a sandbox`)];
    if (!name) {
      return [deny('pod has no runtimeClassName, so it would run on the host kernel', `set spec.runtimeClassName to one of ${allowed.join(', ')} (the kubetee mutating webhook injects it when it runs for this namespace)`)];
    }
    // A conventional name is not trusted by name alone (anyone may call a runc class "kata"): the operator lists it.
    const known = knownRuntimeByName(name);
    return [
      deny(
        `runtimeClassName "${name}" is not a sandbox runtime of this cluster's trust policy (allowed: ${allowed.join(', ')})`,
        known
          ? `use one of ${allowed.join(', ')}, or, if RuntimeClass "${name}" exists in the cluster (${known.family === 'kata' ? 'Kata' : known.family === 'gvisor' ? 'gVisor' : 'runV'}), list it in the install values under existingRuntimeClasses (policy: sandboxRuntimeClasses) and re-run kubetee install`
          : `use one of ${allowed.join(', ')}, or list RuntimeClass "${name}" in the install values under existingRuntimeClasses as {name: ${name}, epc: annotation|unsupported} (policy: sandboxRuntimeClasses) if it runs pods in their own guest kernel`,
      ),
    ];
  },
};

export const sandboxNoPrivilegedRule: ValidationRule = {
  id: 'sandboxed.no-privileged',
  phase: 'validate',
  levels: ['sandboxed'],
  summary: 'deny privileged containers in sandboxed pods (policy sandboxed.denyPrivileged)',
  validate(ctx, pod) {
    if (!ctx.policy.sandboxed.denyPrivileged) return [pass('disabled by policy (sandboxed.denyPrivileged: false)')];
    const out: Finding[] = [...listContainers(pod), ...listEphemeralContainers(pod)]
      .filter((r) => r.container.securityContext?.privileged === true)
      .map((r) => deny('is privileged, which defeats the sandbox', 'remove securityContext.privileged (grant only the capabilities it needs)', describeContainer(r)));
    return out.length ? out : [pass('no privileged container')];
  },
};

export const sandboxNoHostNamespacesRule: ValidationRule = {
  id: 'sandboxed.no-host-namespaces',
  phase: 'validate',
  levels: ['sandboxed'],
  summary: 'deny hostNetwork, hostPID and hostIPC in sandboxed pods (policy sandboxed.denyHostNamespaces)',
  validate(ctx, pod) {
    if (!ctx.policy.sandboxed.denyHostNamespaces) return [pass('disabled by policy (sandboxed.denyHostNamespaces: false)')];
    const used = (['hostNetwork', 'hostPID', 'hostIPC'] as const).filter((f) => pod.spec[f] === true);
    if (used.length === 0) return [pass('pod shares no host namespace')];
    return [deny(`pod sets ${used.join(', ')}, sharing host namespaces with untrusted code`, `remove ${used.map((f) => `spec.${f}`).join(', ')}`)];
  },
};

export const sandboxNoHostPathRule: ValidationRule = {
  id: 'sandboxed.no-host-path',
  phase: 'validate',
  levels: ['sandboxed'],
  summary: 'deny hostPath volumes in sandboxed pods (policy sandboxed.denyHostPath)',
  validate(ctx, pod) {
    if (!ctx.policy.sandboxed.denyHostPath) return [pass('disabled by policy (sandboxed.denyHostPath: false)')];
    const out: Finding[] = [];
    for (const v of pod.spec.volumes ?? []) {
      if (!v.hostPath) continue;
      const users = listContainers(pod).filter((r) => (r.container.volumeMounts ?? []).some((m) => m.name === v.name));
      const who = users.length ? users.map(describeContainer).join(', ') : undefined;
      out.push(deny(`volume "${v.name}" mounts host path ${v.hostPath.path} into a sandboxed pod`, `replace volume "${v.name}" with an emptyDir, configMap, secret or persistentVolumeClaim`, who));
    }
    return out.length ? out : [pass('no hostPath volume')];
  },
};
