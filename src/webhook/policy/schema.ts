import { z } from 'zod';
import { TRUST_LEVELS } from '../../common/labels.js';
import { DEFAULT_PROFILE, EPC_CARRIAGE, SANDBOX_RUNTIMES, defaultSandboxRuntimes, knownRuntimeByName } from '../../common/sandbox-runtimes.js';

/** The only policy document version this build understands. */
export const POLICY_API_VERSION = 'policy.kubetee.io/v1';
export const POLICY_KIND = 'AdmissionPolicy';

const trustLevel = z.enum(TRUST_LEVELS);
/** The classes a default install of the default profile creates (src/common/sandbox-runtimes.ts). */
export const DEFAULT_SANDBOX_CLASSES: readonly string[] = Object.freeze(defaultSandboxRuntimes(DEFAULT_PROFILE).map((r) => r.name));
// RuntimeClass names are DNS-1123 subdomains.
export const runtimeClassName = z
  .string()
  .max(253)
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/, 'must be a DNS-1123 name such as "kata-qemu"');

const KNOWN_NAMES = SANDBOX_RUNTIMES.map((r) => r.name).join(', ');

/**
 * One sandbox RuntimeClass: a name kubetee knows (its EPC handling comes from
 * the catalogue), or `{name, epc}` for any other class. An unknown bare name
 * is an error, so a typo ("kata-qmeu") never silently becomes a sandbox whose
 * EPC handling is guessed.
 */
const declaredSandboxClass = z.strictObject({ name: runtimeClassName, epc: z.enum(EPC_CARRIAGE, { error: `must be one of ${EPC_CARRIAGE.join(', ')}` }) });

export const sandboxRuntimeClassEntry = z
  // Checked by shape below rather than z.union, so a bad entry gets the precise message of its own form.
  .custom<string | z.input<typeof declaredSandboxClass>>()
  .transform((entry, ctx): z.output<typeof declaredSandboxClass> => {
    const form = typeof entry === 'string' ? runtimeClassName : declaredSandboxClass;
    const parsed = form.safeParse(entry);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) ctx.addIssue({ code: 'custom', input: entry, path: issue.path as (string | number)[], message: typeof entry === 'string' || (entry && typeof entry === 'object') ? issue.message : 'must be a RuntimeClass name or {name, epc}' });
      return z.NEVER;
    }
    if (typeof parsed.data !== 'string') return parsed.data;
    const known = knownRuntimeByName(parsed.data);
    if (known) return { name: parsed.data, epc: known.epc };
    ctx.addIssue({
      code: 'custom',
      input: entry,
      message: `"${parsed.data}" is not a runtime kubetee knows (${KNOWN_NAMES}); declare it as {name: ${parsed.data}, epc: annotation} for a Kata VM sized by the sgx.intel.com/epc annotation, or epc: unsupported when it cannot give enclaves EPC`,
    });
    return z.NEVER;
  });
export type SandboxRuntimeClass = z.output<typeof sandboxRuntimeClassEntry>;
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
    /**
     * RuntimeClasses that count as a sandbox (their own guest kernel), each
     * with how it gives a confidential pod's enclave its EPC.
     */
    sandboxRuntimeClasses: z.array(sandboxRuntimeClassEntry).min(1).prefault([...DEFAULT_SANDBOX_CLASSES]),
    /**
     * RuntimeClasses that run pods on the host kernel (runc or crun with other
     * settings): confidential pods may use them as if they named no class.
     * A confidential pod naming a class that is in neither list, nor a known
     * runtime, is denied: kubetee cannot tell how its enclave would get EPC.
     */
    hostRuntimeClasses: z.array(runtimeClassName).default([]),
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
        /**
         * Injected when a sandboxed pod names no RuntimeClass. Default: the
         * first of sandboxRuntimeClasses ("runv" with the built-in list, as on ACK).
         */
        defaultRuntimeClass: runtimeClassName.optional(),
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
  const classes = Array.isArray(classesRaw) ? classesRaw.map(entryName).filter((c): c is string => c !== undefined) : [...DEFAULT_SANDBOX_CLASSES];
  const sandboxed = doc['sandboxed'] && typeof doc['sandboxed'] === 'object' ? (doc['sandboxed'] as Record<string, unknown>) : {};
  const dflt = sandboxed['defaultRuntimeClass'];
  if (typeof dflt === 'string' && !classes.includes(dflt)) {
    problems.push(`sandboxed.defaultRuntimeClass: "${dflt}" is not in sandboxRuntimeClasses (${classes.join(', ')})`);
  }
  const dup = classes.find((c, i) => classes.indexOf(c) !== i);
  if (dup) problems.push(`sandboxRuntimeClasses: "${dup}" is listed twice`);
  const hostRaw = doc['hostRuntimeClasses'];
  const host = Array.isArray(hostRaw) ? hostRaw.filter((c): c is string => typeof c === 'string') : [];
  const hostDup = host.find((c, i) => host.indexOf(c) !== i);
  if (hostDup) problems.push(`hostRuntimeClasses: "${hostDup}" is listed twice`);
  for (const c of host) {
    if (classes.includes(c)) problems.push(`hostRuntimeClasses: "${c}" is also in sandboxRuntimeClasses; a class either runs on the host kernel or in a sandbox`);
  }
  const overrides = doc['podOverrides'];
  if (overrides && typeof overrides === 'object') {
    for (const level of TRUST_LEVELS) {
      const list = (overrides as Record<string, unknown>)[level];
      if (Array.isArray(list) && list.includes(level)) problems.push(`podOverrides.${level}: a level cannot list itself ("${level}")`);
    }
  }
  return problems;
}

function entryName(entry: unknown): string | undefined {
  if (typeof entry === 'string') return entry;
  if (entry && typeof entry === 'object' && typeof (entry as { name?: unknown }).name === 'string') return (entry as { name: string }).name;
  return undefined;
}

type ParsedPolicy = z.output<typeof policySchema>;
/** A validated policy with every default filled in (deep-frozen by the loader). */
export type AdmissionPolicy = Omit<ParsedPolicy, 'sandboxed'> & { readonly sandboxed: ParsedPolicy['sandboxed'] & { readonly defaultRuntimeClass: string } };
/** What a user writes: every field except apiVersion/kind may be left out. */
export type AdmissionPolicyInput = z.input<typeof policySchema>;
