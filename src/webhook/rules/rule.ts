import type { ResourceProfile, TrustLevel } from '../../common/labels.js';
import type { AdmissionPolicy } from '../policy/schema.js';
import type { Pod } from '../pod.js';
import type { ResolvedTrust } from '../trust.js';
import type { QuoteSetup } from '../quote-setup.js';

export type RulePhase = 'mutate' | 'validate';

/**
 * One thing a rule found. `pass`: nothing to do (the reason says why);
 * `mutated`: the rule changed the draft; `deny`: the pod must not be admitted.
 */
export interface Finding {
  readonly status: 'pass' | 'mutated' | 'deny';
  readonly message: string;
  /** The container concerned, as `container "app"` (denials always name it when there is one). */
  readonly container?: string;
  /** What the user should change (required for denials). */
  readonly fix?: string;
  /** Stable code for denials that are not policy verdicts (e.g. RULE_FAILED). */
  readonly code?: string;
}

/** Everything a rule may read besides the pod. Pure data: no clock, no I/O. */
export interface RuleContext {
  readonly policy: AdmissionPolicy;
  readonly profile: ResourceProfile;
  readonly trust: ResolvedTrust;
  readonly namespace: string;
  readonly quote: QuoteSetup;
}

interface RuleBase {
  /** Stable id, `<level or scope>.<what>`; named in denials, metrics and docs. */
  readonly id: string;
  /** Trust levels the rule runs in. */
  readonly levels: readonly TrustLevel[];
  /** One line for docs and `policy explain`. */
  readonly summary: string;
}

export interface MutationRule extends RuleBase {
  readonly phase: 'mutate';
  /** Changes `draft` in place; returns what it did. */
  mutate(ctx: RuleContext, draft: Pod): Finding[];
}

export interface ValidationRule extends RuleBase {
  readonly phase: 'validate';
  validate(ctx: RuleContext, pod: Pod): Finding[];
}

export type Rule = MutationRule | ValidationRule;

export const ALL_LEVELS = ['confidential', 'sandboxed', 'standard'] as const satisfies readonly TrustLevel[];

export function pass(message: string, container?: string): Finding {
  return container === undefined ? { status: 'pass', message } : { status: 'pass', message, container };
}

export function mutated(message: string, container?: string): Finding {
  return container === undefined ? { status: 'mutated', message } : { status: 'mutated', message, container };
}

export function deny(message: string, fix: string, container?: string): Finding {
  return container === undefined ? { status: 'deny', message, fix } : { status: 'deny', message, fix, container };
}
