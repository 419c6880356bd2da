import type { Model } from '@kubernetes-models/base';
import { Namespace, ServiceAccount, ConfigMap, Secret, Service, PersistentVolumeClaim } from 'kubernetes-models/v1';
import { DaemonSet, Deployment } from 'kubernetes-models/apps/v1';
import { ClusterRole, ClusterRoleBinding, Role, RoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1';
import { MutatingWebhookConfiguration, ValidatingWebhookConfiguration } from 'kubernetes-models/admissionregistration.k8s.io/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { RuntimeClass } from 'kubernetes-models/node.k8s.io/v1';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import { DeployError } from './errors.js';
import { objectRef, type KubeObject } from './objects.js';

type ModelClass = new (data: never) => Model<unknown>;

const MODELS: Record<string, ModelClass> = {
  'v1/Namespace': Namespace as unknown as ModelClass,
  'v1/ServiceAccount': ServiceAccount as unknown as ModelClass,
  'v1/ConfigMap': ConfigMap as unknown as ModelClass,
  'v1/Secret': Secret as unknown as ModelClass,
  'v1/Service': Service as unknown as ModelClass,
  'v1/PersistentVolumeClaim': PersistentVolumeClaim as unknown as ModelClass,
  'apps/v1/DaemonSet': DaemonSet as unknown as ModelClass,
  'apps/v1/Deployment': Deployment as unknown as ModelClass,
  'rbac.authorization.k8s.io/v1/ClusterRole': ClusterRole as unknown as ModelClass,
  'rbac.authorization.k8s.io/v1/ClusterRoleBinding': ClusterRoleBinding as unknown as ModelClass,
  'rbac.authorization.k8s.io/v1/Role': Role as unknown as ModelClass,
  'rbac.authorization.k8s.io/v1/RoleBinding': RoleBinding as unknown as ModelClass,
  'admissionregistration.k8s.io/v1/MutatingWebhookConfiguration': MutatingWebhookConfiguration as unknown as ModelClass,
  'admissionregistration.k8s.io/v1/ValidatingWebhookConfiguration': ValidatingWebhookConfiguration as unknown as ModelClass,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget as unknown as ModelClass,
  'node.k8s.io/v1/RuntimeClass': RuntimeClass as unknown as ModelClass,
  'networking.k8s.io/v1/NetworkPolicy': NetworkPolicy as unknown as ModelClass,
};

/**
 * Validates each object against the Kubernetes OpenAPI schema (offline, via
 * kubernetes-models). An unknown kind is an error too: everything kubetee
 * renders must be checked.
 */
export function validateObjects(objects: readonly KubeObject[]): void {
  const problems: string[] = [];
  for (const obj of objects) {
    const Model = MODELS[`${obj.apiVersion}/${obj.kind}`];
    if (!Model) {
      problems.push(`${objectRef(obj)}: no schema for ${obj.apiVersion} ${obj.kind}`);
      continue;
    }
    try {
      new Model(structuredClone(obj) as never).validate();
    } catch (err) {
      problems.push(`${objectRef(obj)}: ${(err as Error).message}`);
    }
  }
  if (problems.length) {
    throw new DeployError('MANIFEST_INVALID', `rendered manifests fail Kubernetes schema validation:\n  ${problems.join('\n  ')}`, {
      hint: 'this is a kubetee bug or a values combination the schema does not catch; please report it with your values file',
    });
  }
}
