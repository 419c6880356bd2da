/**
 * Which cloud instance types can run SGX enclaves (docs: shared node-side
 * research, "Alibaba ECS SGX instance facts"). Alibaba: the bare-metal
 * ecs.ebmhfg5.2xlarge and the security-enhanced g7t / c7t / r7t families
 * (vSGX, DCAP only). Azure: the DCsv2/DCsv3/DCdsv3 families.
 */
const ALIBABA_SGX_SIZES: Record<string, readonly string[]> = {
  g7t: ['large', 'xlarge', '2xlarge', '3xlarge', '4xlarge', '6xlarge', '8xlarge', '16xlarge', '32xlarge'],
  c7t: ['large', 'xlarge', '2xlarge', '3xlarge', '4xlarge', '6xlarge', '8xlarge', '16xlarge', '32xlarge'],
  r7t: ['large', 'xlarge', '2xlarge', '3xlarge', '4xlarge', '6xlarge', '8xlarge', '16xlarge'],
};

/** Every Alibaba SGX instance type, for node affinity (`In` needs exact values). */
export const ALIBABA_SGX_INSTANCE_TYPES: readonly string[] = [
  'ecs.ebmhfg5.2xlarge',
  ...Object.entries(ALIBABA_SGX_SIZES).flatMap(([family, sizes]) => sizes.map((s) => `ecs.${family}.${s}`)),
];

export type SgxCapability = 'capable' | 'incapable' | 'unknown';

/** Well-known label the cloud controller sets on every node. */
export const INSTANCE_TYPE_LABEL = 'node.kubernetes.io/instance-type';

/** Classifies an instance type; `unknown` for clouds we have no facts about (never a false alarm). */
export function sgxCapability(instanceType: string | undefined): SgxCapability {
  if (!instanceType) return 'unknown';
  if (instanceType.startsWith('ecs.')) {
    if (instanceType === 'ecs.ebmhfg5.2xlarge') return 'capable';
    return /^ecs\.(g7t|c7t|r7t)\.[0-9]*x?large$/.test(instanceType) ? 'capable' : 'incapable';
  }
  if (/^Standard_/i.test(instanceType)) {
    return /^Standard_DC\d+d?s_v[23]$/i.test(instanceType) ? 'capable' : 'incapable';
  }
  return 'unknown';
}
