import { z } from 'zod';
import { TRUST_LEVELS } from '../../common/labels.js';

/** The only policy document version this build understands. */
export const POLICY_API_VERSION = 'policy.kubetee.io/v1';
export const POLICY_KIND = 'AdmissionPolicy';

const trustLevel = z.enum(TRUST_LEVELS);
const DEFAULT_SANDBOX_CLASSES = ['runv', 'kata', 'kata-qemu', 'runsc'];
// RuntimeClass names are DNS-1123 subdomains.
const runtimeClassName = z
  .string()
  .max(253)
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/, 'must be a DNS-1123 name such as "kata-qemu"');
const absolutePath = z.string().regex(/^\/[^\0]*$/, 'must be an absolute path');

/**
 * The trust policy document (YAML or JSON). Every section is optional and
 * filled from the defaults; unknown keys are errors so a typo never silently
 * weakens the policy.
 */
export const policySchema = z
  .strictObject({
    apiVersion: z.literal(POLICY_API_VERSION, { error: `must be "${POLICY_API_VERSION}"` }),
    kind: z.literal(POLICY_KIND, { error: `must be "${POLICY_KIND}"` }),
    /** Trust level of a namespace without the kubetee.io/trust label. */
    defaultTrustLevel: trustLevel.default('standard'),
    /** RuntimeClasses that count as a sandbox (their own guest kernel). */
    sandboxRuntimeClasses: z.array(runtimeClassName).min(1).default(DEFAULT_SANDBOX_CLASSES),
    /**
     * Levels a pod may opt into with the kubetee.io/trust annotation, keyed by
     * its namespace's level. Empty means the annotation is refused. By default
     * a standard pod may only opt into a sandbox (that only tightens it);
     * opting into confidential would hand SGX nodes, EPC and provisioning to
     * any namespace, so it must be enabled explicitly.
     */
    podOverrides: z
      .strictObject({
        confidential: z.array(trustLevel).default([]),
        sandboxed: z.array(trustLevel).default([]),
        standard: z.array(trustLevel).default(['sandboxed']),
      })
      .prefault({}),
    global: z
      .strictObject({
        /** Deny sgx.intel.com/provision outside confidential pods. */
        denyProvisionOutsideConfidential: z.boolean().default(true),
        /** Deny EPC requests outside confidential pods (they would start without devices). */
        denyEpcOutsideConfidential: z.boolean().default(true),
      })
      .prefault({}),
    sandboxed: z
      .strictObject({
        /** Injected when a sandboxed pod names no RuntimeClass; "runv" matches ACK. */
        defaultRuntimeClass: runtimeClassName.default('runv'),
        denyPrivileged: z.boolean().default(true),
        denyHostNamespaces: z.boolean().default(true),
        denyHostPath: z.boolean().default(true),
      })
      .prefault({}),
    confidential: z
      .strictObject({
        /** A pod in a confidential namespace must request EPC somewhere. */
        requireEpc: z.boolean().default(true),
        /** Allow `kubectl debug` containers in confidential pods. */
        allowEphemeralContainers: z.boolean().default(false),
        /** Host directory holding aesm.socket (PSW default). */
        aesmSocketHostPath: absolutePath.default('/var/run/aesmd'),
        /** Where the AESM directory appears in containers. */
        aesmSocketMountPath: absolutePath.default('/var/run/aesmd'),
      })
      .prefault({}),
  });

/**
 * Rules that span fields. Run on the raw document, leniently (a field of the
 * wrong type is already reported by the schema), so one pass reports every
 * problem even when the schema itself also failed.
 */
export function crossFieldProblems(raw: unknown): string[] {
  const problems: string[] = [];
  if (!raw || typeof raw !== 'object') return problems;
  const doc = raw as Record<string, unknown>;
  const classesRaw = doc['sandboxRuntimeClasses'];
  const classes = Array.isArray(classesRaw) ? classesRaw.filter((c): c is string => typeof c === 'string') : DEFAULT_SANDBOX_CLASSES;
  const sandboxed = doc['sandboxed'] && typeof doc['sandboxed'] === 'object' ? (doc['sandboxed'] as Record<string, unknown>) : {};
  const dflt = typeof sandboxed['defaultRuntimeClass'] === 'string' ? sandboxed['defaultRuntimeClass'] : 'runv';
  if (Array.isArray(classesRaw) || typeof sandboxed['defaultRuntimeClass'] === 'string') {
    if (!classes.includes(dflt)) {
      problems.push(`sandboxed.defaultRuntimeClass: "${dflt}" is not in sandboxRuntimeClasses (${classes.join(', ')})`);
    }
  }
  const dup = classes.find((c, i) => classes.indexOf(c) !== i);
  if (dup) problems.push(`sandboxRuntimeClasses: "${dup}" is listed twice`);
  const overrides = doc['podOverrides'];
  if (overrides && typeof overrides === 'object') {
    for (const level of TRUST_LEVELS) {
      const list = (overrides as Record<string, unknown>)[level];
      if (Array.isArray(list) && list.includes(level)) problems.push(`podOverrides.${level}: a level cannot list itself ("${level}")`);
    }
  }
  return problems;
}

/** A validated policy with every default filled in (deep-frozen by the loader). */
export type AdmissionPolicy = z.output<typeof policySchema>;
/** What a user writes: every field except apiVersion/kind may be left out. */
export type AdmissionPolicyInput = z.input<typeof policySchema>;
