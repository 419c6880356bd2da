import { NODE_LABELS } from '../../common/labels.js';
import { ALIBABA_SGX_INSTANCE_TYPES, INSTANCE_TYPE_LABEL } from '../instance-types.js';
import type { Values } from '../values.js';

/**
 * Node affinity for the per-SGX-node DaemonSets. Terms are ORed: a node
 * qualifies once the node agent labelled it, or before that when its instance
 * type is an SGX family, or when NFD / Intel's rules found SGX, or any term the
 * operator adds. Without such a rule the agent would crash-loop on every node.
 */
export function sgxNodeAffinity(values: Values): Record<string, unknown> {
  const terms: Record<string, unknown>[] = [
    { matchExpressions: [{ key: NODE_LABELS.sgx, operator: 'In', values: ['true'] }] },
    { matchExpressions: [{ key: INSTANCE_TYPE_LABEL, operator: 'In', values: [...ALIBABA_SGX_INSTANCE_TYPES] }] },
    { matchExpressions: [{ key: 'intel.feature.node.kubernetes.io/sgx', operator: 'In', values: ['true'] }] },
    ...values.nodeAgent.extraNodeSelectorTerms.map((labels) => ({
      matchExpressions: Object.entries(labels).map(([key, value]) => ({ key, operator: 'In', values: [value] })),
    })),
  ];
  return { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: terms } } };
}
