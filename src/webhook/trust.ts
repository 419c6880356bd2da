import { POD_TRUST_ANNOTATION, TRUST_LABEL, TRUST_LEVELS, type TrustLevel } from '../common/labels.js';
import type { AdmissionPolicy } from './policy/schema.js';

/**
 * What is known about the namespace: its trust level, `{ invalid }` when the
 * label holds an unknown value, or undefined when it carries no label (the
 * policy's default applies).
 */
export type NamespaceTrust = TrustLevel | { invalid: string } | undefined;

export function isTrustLevel(value: unknown): value is TrustLevel {
  return typeof value === 'string' && (TRUST_LEVELS as readonly string[]).includes(value);
}

/** Reads the kubetee.io/trust label of a namespace. */
export function namespaceTrustFromLabels(labels: Readonly<Record<string, string>> | undefined): NamespaceTrust {
  const value = labels?.[TRUST_LABEL];
  if (value === undefined) return undefined;
  return isTrustLevel(value) ? value : { invalid: value };
}

export interface ResolvedTrust {
  /** The level the rules enforce. */
  readonly level: TrustLevel;
  /** The namespace's own level (label or policy default). */
  readonly namespaceLevel: TrustLevel;
  /** Set when the namespace label holds an unknown value (the pod is denied). */
  readonly invalidLabel?: string;
  /** Set when the pod's kubetee.io/trust annotation asks for a level the policy does not allow. */
  readonly refusedOverride?: string;
  /** Where the level came from, for explanations. */
  readonly source: 'namespace label' | 'policy default' | 'pod annotation';
}

/**
 * The effective trust level of a pod. A refused or unknown annotation never
 * changes the level (the validating rules deny it); an unknown namespace label
 * keeps the policy default only so that the rules can still name it.
 */
export function resolveTrust(namespaceTrust: NamespaceTrust, annotations: Readonly<Record<string, string>> | null | undefined, policy: AdmissionPolicy): ResolvedTrust {
  const invalidLabel = typeof namespaceTrust === 'object' ? namespaceTrust.invalid : undefined;
  const namespaceLevel = typeof namespaceTrust === 'string' ? namespaceTrust : policy.defaultTrustLevel;
  const base = {
    namespaceLevel,
    ...(invalidLabel !== undefined ? { invalidLabel } : {}),
    source: typeof namespaceTrust === 'string' ? ('namespace label' as const) : ('policy default' as const),
  };
  const requested = annotations?.[POD_TRUST_ANNOTATION];
  if (requested === undefined || requested === namespaceLevel) return { ...base, level: namespaceLevel };
  if (isTrustLevel(requested) && invalidLabel === undefined && policy.podOverrides[namespaceLevel].includes(requested)) {
    return { ...base, level: requested, source: 'pod annotation' };
  }
  return { ...base, level: namespaceLevel, refusedOverride: requested };
}
