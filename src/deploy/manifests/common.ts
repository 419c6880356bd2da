import type { Values } from '../values.js';

/** Container image reference from values. */
export function imageRef(image: { repository: string; tag: string }): string {
  return `${image.repository}:${image.tag}`;
}

/**
 * The securityContext every kubetee container starts from: no privilege
 * escalation, no capabilities, read-only root, the runtime's seccomp profile.
 * Components loosen only what they need (and say why).
 */
export function restrictedContainerSecurity(runAsNonRoot = true): Record<string, unknown> {
  return {
    allowPrivilegeEscalation: false,
    privileged: false,
    readOnlyRootFilesystem: true,
    capabilities: { drop: ['ALL'] },
    ...(runAsNonRoot ? { runAsNonRoot: true, runAsUser: 65532, runAsGroup: 65532 } : {}),
    seccompProfile: { type: 'RuntimeDefault' },
  };
}

export function imagePullSecrets(values: Values): Record<string, unknown> {
  return values.imagePullSecrets.length ? { imagePullSecrets: values.imagePullSecrets.map((name) => ({ name })) } : {};
}
