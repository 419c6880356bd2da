import { z } from 'zod';
import { parse as parseYaml } from 'yaml';
import { readFileSync } from 'node:fs';
import { TRUST_LEVELS } from '../common/labels.js';
import { tryParseQuantity } from '../common/quantity.js';
import { EPC_CARRIAGE, defaultSandboxRuntimes, knownRuntimeByHandler, knownRuntimeByName } from '../common/sandbox-runtimes.js';
import { runtimeClassName, sandboxRuntimeClassEntry } from '../webhook/policy/schema.js';
import { VERSION } from '../common/version.js';
import { NODE_AGENT_FACTS } from '../node/manifests.js';
import { valuesError } from './errors.js';

/**
 * The install values: everything an operator may change about the rendered
 * manifests. Validated once at the edge (schema + cross-field rules), defaults
 * filled in, then frozen; renderers only read the result.
 */

const dnsLabel = z
  .string()
  .regex(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/, 'must be a DNS-1123 label (lower-case letters, digits and "-", at most 63 characters)');
// The shared quantity grammar (src/common/quantity.ts), so values accept exactly what the API server does.
const quantity = z.string().refine((s) => tryParseQuantity(s) !== undefined, 'must be a Kubernetes quantity such as 250m, 128Mi or 1Gi');
const labelMap = z.record(z.string().min(1), z.string());

const resourcesSchema = z
  .object({
    requests: z.object({ cpu: quantity, memory: quantity }).strict(),
    limits: z.object({ cpu: quantity.optional(), memory: quantity }).strict(),
  })
  .strict();

const imageSchema = z
  .object({
    repository: z.string().min(1),
    tag: z.string().min(1),
    pullPolicy: z.enum(['Always', 'IfNotPresent', 'Never']),
  })
  .strict();

const tolerationSchema = z
  .object({
    key: z.string().optional(),
    operator: z.enum(['Exists', 'Equal']).optional(),
    value: z.string().optional(),
    effect: z.enum(['NoSchedule', 'PreferNoSchedule', 'NoExecute']).optional(),
  })
  .strict();

/** Kubernetes label key: optional DNS-subdomain prefix and "/", then a name of at most 63 characters. */
const labelKey = z
  .string()
  .regex(
    /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/,
    'must be a label key such as app.kubernetes.io/name (optional DNS prefix and "/", then at most 63 letters, digits, "-", "_" or ".")',
  )
  .refine((k) => !k.includes('/') || k.indexOf('/') <= 253, 'the label key prefix is longer than 253 characters');
const labelValue = z.string().regex(/^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/, 'must be a label value (at most 63 letters, digits, "-", "_" or ".", or empty)');

/** A Kubernetes LabelSelector, checked the way the API server checks it. */
const labelSelectorSchema = z
  .object({
    matchLabels: z
      .record(z.string(), labelValue)
      .superRefine((m, ctx) => {
        for (const k of Object.keys(m)) {
          const r = labelKey.safeParse(k);
          if (!r.success) ctx.addIssue({ code: 'custom', path: [k], message: `"${k}" ${r.error.issues[0]!.message}` });
        }
      })
      .optional(),
    matchExpressions: z
      .array(
        z
          .object({ key: labelKey, operator: z.enum(['In', 'NotIn', 'Exists', 'DoesNotExist']), values: z.array(labelValue).optional() })
          .strict()
          .superRefine((e, ctx) => {
            const needsValues = e.operator === 'In' || e.operator === 'NotIn';
            if (needsValues && !e.values?.length) ctx.addIssue({ code: 'custom', path: ['values'], message: `operator ${e.operator} needs at least one value` });
            if (!needsValues && e.values?.length) ctx.addIssue({ code: 'custom', path: ['values'], message: `operator ${e.operator} takes no values` });
          }),
      )
      .optional(),
  })
  .strict();

/**
 * Where the monitoring stack (Prometheus) scrapes from: one NetworkPolicy
 * peer. Both selectors together mean "these pods in these namespaces"; a
 * podSelector alone only matches pods in the install namespace.
 */
const metricsFromSchema = z
  .object({ namespaceSelector: labelSelectorSchema.optional(), podSelector: labelSelectorSchema.optional() })
  .strict()
  .refine((p) => p.namespaceSelector !== undefined || p.podSelector !== undefined, 'give a namespaceSelector and/or a podSelector for the monitoring pods');

const runtimeClassSchema = z
  .object({
    name: dnsLabel,
    handler: dnsLabel,
    overhead: z.object({ cpu: quantity, memory: quantity }).strict(),
    /** Labels of nodes that can run this runtime; merged into every pod that uses it. */
    nodeSelector: labelMap.refine((m) => Object.keys(m).length > 0, 'needs at least one label so pods only land on nodes with the runtime'),
    tolerations: z.array(tolerationSchema).default([]),
    /** How the runtime gives an enclave EPC; default: from its handler (or name) in kubetee's runtime list. */
    epc: z.enum(EPC_CARRIAGE).optional(),
  })
  .strict();

/** The node component's own sizing of its agent (src/node/manifests.ts). */
const NODE_AGENT_RESOURCES = {
  requests: { ...NODE_AGENT_FACTS.resources.requests },
  limits: { ...NODE_AGENT_FACTS.resources.limits },
};

/**
 * Intel's Provisioning Certification Service (PCS) v4: the broker's default
 * collateral source. The broker derives the TDX paths from the same base
 * (src/attestation/pccs-client.ts), so one URL serves SGX and TDX quotes.
 */
export const INTEL_PCS_URL = 'https://api.trustedservices.intel.com/sgx/certification/v4/';

/** Default PCCS of the quote provider library: a PCCS on the same host (Intel's default). */
export const DEFAULT_AESM_PCCS_URL = 'https://localhost:8081/sgx/certification/v4/';

const DEFAULT_IMAGE = { repository: 'ghcr.io/kubetee/kubetee', tag: VERSION, pullPolicy: 'IfNotPresent' as const };

export const valuesSchema = z
  .object({
    namespace: dnsLabel.default('kubetee-system'),
    /** Which EPC resource names the cluster uses (see src/common/labels.ts RESOURCES). */
    profile: z.enum(['alibaba', 'intel']).default('alibaba'),
    image: imageSchema.default(DEFAULT_IMAGE),
    imagePullSecrets: z.array(dnsLabel).default([]),
    nodeAgent: z
      .object({
        enabled: z.boolean().default(true),
        resources: resourcesSchema.default(NODE_AGENT_RESOURCES),
        /** Extra node labels that mark SGX-capable nodes before the agent has labelled them. */
        extraNodeSelectorTerms: z.array(labelMap).default([]),
      })
      .strict()
      .default({ enabled: true, resources: NODE_AGENT_RESOURCES, extraNodeSelectorTerms: [] }),
    aesm: z
      .object({
        enabled: z.boolean().default(true),
        image: imageSchema.default({ repository: 'ghcr.io/kubetee/sgx-aesm', tag: '2.26', pullPolicy: 'IfNotPresent' }),
        /** PCCS the quote provider library fetches collateral from (the cloud's regional one on ACK). */
        pccsURL: z.url({ protocol: /^https$/ }).default(DEFAULT_AESM_PCCS_URL),
        resources: resourcesSchema.default({ requests: { cpu: '20m', memory: '64Mi' }, limits: { memory: '256Mi' } }),
      })
      .strict()
      .default({
        enabled: true,
        image: { repository: 'ghcr.io/kubetee/sgx-aesm', tag: '2.26', pullPolicy: 'IfNotPresent' },
        pccsURL: DEFAULT_AESM_PCCS_URL,
        resources: { requests: { cpu: '20m', memory: '64Mi' }, limits: { memory: '256Mi' } },
      }),
    webhook: z
      .object({
        replicas: z.number().int().min(1).max(10).default(2),
        port: z.number().int().min(1024).max(65535).default(8443),
        timeoutSeconds: z.number().int().min(1).max(30).default(10),
        /**
         * Point the webhook configurations at this HTTPS URL instead of the
         * in-cluster Service (a webhook outside the cluster, or the e2e suite's
         * host process). Needs `caBundle`.
         */
        externalURL: z.url({ protocol: /^https$/ }).optional(),
        /** Base64 of the PEM CA that signed the webhook's serving certificate. */
        caBundle: z.string().optional(),
        /** Namespaces the webhook never intercepts (kube-system and the install namespace always). */
        excludedNamespaces: z.array(dnsLabel).default([]),
        /**
         * Trust level of namespaces without the kubetee.io/trust label: written
         * into the trust policy and into the webhooks' namespace selectors, so
         * unlabelled namespaces go to that level's webhook (and its failure policy).
         */
        defaultTrustLevel: z.enum(TRUST_LEVELS).default('standard'),
        /**
         * Failure policy of the standard-level webhooks. Ignore (default): a
         * webhook outage never blocks pods in standard namespaces; the global
         * rules (no EPC or provisioning outside confidential) then hold only
         * while the webhook is up. Confidential and sandboxed are always Fail.
         */
        standardFailurePolicy: z.enum(['Ignore', 'Fail']).default('Ignore'),
        resources: resourcesSchema.default({ requests: { cpu: '50m', memory: '64Mi' }, limits: { memory: '256Mi' } }),
      })
      .strict()
      .default({
        replicas: 2,
        port: 8443,
        timeoutSeconds: 10,
        excludedNamespaces: [],
        defaultTrustLevel: 'standard',
        standardFailurePolicy: 'Ignore',
        resources: { requests: { cpu: '50m', memory: '64Mi' }, limits: { memory: '256Mi' } },
      }),
    kbs: z
      .object({
        enabled: z.boolean().default(true),
        replicas: z.number().int().min(1).max(10).default(1),
        port: z.number().int().min(1024).max(65535).default(8080),
        /**
         * PCS/PCCS the broker fetches collateral from (TCB info, QE identity,
         * CRLs). Not aesm.pccsURL: that one is seen from the AESM pods, and its
         * localhost default would be the broker pod itself here.
         */
        pccsURL: z.url({ protocol: /^https$/ }).default(INTEL_PCS_URL),
        storage: z
          .object({
            /** SQLite on a PersistentVolumeClaim: only for a single replica. */
            size: quantity.default('1Gi'),
            storageClassName: z.string().optional(),
            /** Secret holding a PostgreSQL connection URL; required when replicas > 1. */
            postgres: z.object({ secretName: dnsLabel, key: z.string().min(1).default('url') }).strict().optional(),
          })
          .strict()
          .default({ size: '1Gi' }),
        resources: resourcesSchema.default({ requests: { cpu: '50m', memory: '96Mi' }, limits: { memory: '512Mi' } }),
      })
      .strict()
      .default({ enabled: true, replicas: 1, port: 8080, pccsURL: INTEL_PCS_URL, storage: { size: '1Gi' }, resources: { requests: { cpu: '50m', memory: '96Mi' }, limits: { memory: '512Mi' } } }),
    /** Sandbox RuntimeClasses install creates; `undefined` means the profile's defaults (src/common/sandbox-runtimes.ts). */
    runtimeClasses: z.array(runtimeClassSchema).optional(),
    /**
     * Sandbox RuntimeClasses that already exist (kata-deploy, the CoCo
     * operator, created by hand): not created or touched by install, counted
     * as sandboxes by the trust policy. A name kubetee knows, or {name, epc}.
     */
    existingRuntimeClasses: z.array(sandboxRuntimeClassEntry).default([]),
    /** RuntimeClasses that run pods on the host kernel (runc-like), which confidential pods may use. */
    hostRuntimeClasses: z.array(runtimeClassName).default([]),
    networkPolicies: z
      .object({
        enabled: z.boolean().default(true),
        /**
         * Monitoring pods allowed to reach the metrics ports (node agent 9756,
         * the broker's port; the webhook's port is open to every source anyway).
         * Unset: no metrics opening.
         */
        metricsFrom: metricsFromSchema.optional(),
      })
      .strict()
      .default({ enabled: true }),
  })
  .strict()
  .superRefine((v, ctx) => {
    if (v.kbs.enabled && v.kbs.replicas > 1 && !v.kbs.storage.postgres) {
      ctx.addIssue({
        code: 'custom',
        path: ['kbs', 'storage', 'postgres'],
        message: `kbs.replicas is ${v.kbs.replicas} but SQLite on a volume serves only one replica; set kbs.storage.postgres.secretName to a Secret with a PostgreSQL URL, or use replicas: 1`,
      });
    }
    if (v.webhook.externalURL && !v.webhook.caBundle) {
      ctx.addIssue({ code: 'custom', path: ['webhook', 'caBundle'], message: 'webhook.externalURL needs webhook.caBundle (base64 PEM of the CA that signed its certificate)' });
    }
    if (v.webhook.caBundle !== undefined && !isBase64Pem(v.webhook.caBundle)) {
      ctx.addIssue({ code: 'custom', path: ['webhook', 'caBundle'], message: 'webhook.caBundle must be the base64 encoding of a PEM certificate' });
    }
    const names = new Set<string>();
    const seen = (name: string, path: (string | number)[]): void => {
      if (names.has(name)) ctx.addIssue({ code: 'custom', path, message: `RuntimeClass "${name}" is listed twice (runtimeClasses, existingRuntimeClasses and hostRuntimeClasses name each class once)` });
      names.add(name);
    };
    for (const [i, rc] of (v.runtimeClasses ?? []).entries()) {
      seen(rc.name, ['runtimeClasses', i, 'name']);
      if (!rc.epc && !knownRuntimeByHandler(rc.handler) && !knownRuntimeByName(rc.name)) {
        ctx.addIssue({
          code: 'custom',
          path: ['runtimeClasses', i, 'epc'],
          message: `handler "${rc.handler}" is not a runtime kubetee knows; say how it gives enclaves EPC: epc: annotation (a Kata VM sized by the sgx.intel.com/epc annotation) or epc: unsupported`,
        });
      }
    }
    if (!v.runtimeClasses) {
      const created = defaultSandboxRuntimes(v.profile).map((r) => r.name);
      for (const [i, rc] of v.existingRuntimeClasses.entries()) {
        if (created.includes(rc.name)) {
          ctx.addIssue({
            code: 'custom',
            path: ['existingRuntimeClasses', i],
            message: `RuntimeClass "${rc.name}" is one kubetee creates by default for the ${v.profile} profile (${created.join(', ')}); to use the cluster's own, also set runtimeClasses to the classes kubetee should create (e.g. without ${rc.name}, or [])`,
          });
        }
      }
    }
    for (const [i, rc] of v.existingRuntimeClasses.entries()) seen(rc.name, ['existingRuntimeClasses', i]);
    for (const [i, name] of v.hostRuntimeClasses.entries()) seen(name, ['hostRuntimeClasses', i]);
    if (v.runtimeClasses?.length === 0 && v.existingRuntimeClasses.length === 0) {
      ctx.addIssue({ code: 'custom', path: ['runtimeClasses'], message: 'no sandbox RuntimeClass: sandboxed namespaces could never run a pod; keep the defaults, list the classes to create, or name the cluster\'s own in existingRuntimeClasses' });
    }
  });

export type ValuesInput = z.input<typeof valuesSchema>;
export type Values = Readonly<z.output<typeof valuesSchema>>;
export type RuntimeClassValues = z.output<typeof runtimeClassSchema>;

function isBase64Pem(b64: string): boolean {
  if (!/^[A-Za-z0-9+/=\s]+$/.test(b64)) return false;
  return Buffer.from(b64, 'base64').toString('utf8').includes('-----BEGIN CERTIFICATE-----');
}

/**
 * Validates a values document (already parsed) and returns frozen values with
 * defaults filled in. `overrides` (from flags) win over the document.
 */
export function resolveValues(doc: unknown, source: string, overrides: { profile?: 'alibaba' | 'intel' } = {}): Values {
  const base = doc ?? {};
  if (typeof base !== 'object' || Array.isArray(base)) {
    throw valuesError('VALUES_INVALID', `${source}: values must be a YAML mapping, got ${Array.isArray(base) ? 'a list' : typeof base}`, 'see docs/install.md for the values reference');
  }
  const merged = { ...(base as Record<string, unknown>), ...(overrides.profile ? { profile: overrides.profile } : {}) };
  const result = valuesSchema.safeParse(merged);
  if (!result.success) {
    const lines = result.error.issues.map((i) => `  ${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`);
    throw valuesError('VALUES_INVALID', `${source}: invalid values:\n${lines.join('\n')}`, 'fix the listed fields; docs/install.md lists every value with its default');
  }
  return deepFreeze(result.data);
}

/** Reads and validates a values file (YAML or JSON). */
export function loadValuesFile(path: string, overrides: { profile?: 'alibaba' | 'intel' } = {}): Values {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw valuesError('VALUES_UNREADABLE', `cannot read values file ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, 'check the --values path', err);
  }
  return resolveValues(parseValuesText(text, path), path, overrides);
}

export function parseValuesText(text: string, source: string): unknown {
  try {
    return parseYaml(text, { prettyErrors: true, uniqueKeys: true });
  } catch (err) {
    throw valuesError('VALUES_PARSE', `${source}: not valid YAML: ${(err as Error).message.split('\n')[0]}`, 'fix the YAML syntax at the position shown', err);
  }
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
