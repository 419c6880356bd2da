import type { TrustLevel } from '../common/labels.js';
import type { RulePhase } from './rules/rule.js';

export type Verdict = 'allowed' | 'mutated' | 'denied';

/** One admission decision, as the dashboard shows it. */
export interface DecisionEntry {
  readonly at: string;
  readonly phase: RulePhase;
  readonly uid: string;
  readonly pod: string;
  readonly trust: TrustLevel | undefined;
  readonly verdict: Verdict;
  /** Rules that mutated (verdict mutated) or denied (verdict denied). */
  readonly rules: readonly string[];
  /** The denial message, when denied. */
  readonly message?: string;
}

export interface RuleCounts {
  mutated: number;
  denied: number;
}

/**
 * Recent admission decisions (a bounded ring) plus counts per rule and per
 * verdict since start. Read by `kubetee up`'s dashboard.
 */
export class DecisionLog {
  readonly capacity: number;
  private readonly ring: DecisionEntry[] = [];
  private next = 0;
  private readonly byRule = new Map<string, RuleCounts>();
  private readonly byVerdict: Record<Verdict, number> = { allowed: 0, mutated: 0, denied: 0 };

  constructor(capacity = 200) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError('DecisionLog capacity must be a positive integer');
    this.capacity = capacity;
  }

  record(entry: DecisionEntry): void {
    if (this.ring.length < this.capacity) this.ring.push(entry);
    else this.ring[this.next] = entry;
    this.next = (this.next + 1) % this.capacity;
    this.byVerdict[entry.verdict]++;
    if (entry.verdict === 'allowed') return;
    for (const id of new Set(entry.rules)) {
      const c = this.byRule.get(id) ?? { mutated: 0, denied: 0 };
      c[entry.verdict]++;
      this.byRule.set(id, c);
    }
  }

  /** Newest first, at most `limit`. */
  recent(limit = this.capacity): DecisionEntry[] {
    const ordered = this.ring.length < this.capacity ? [...this.ring] : [...this.ring.slice(this.next), ...this.ring.slice(0, this.next)];
    return ordered.reverse().slice(0, Math.max(0, limit));
  }

  /** Per rule id: how many pods it mutated and denied. */
  countsByRule(): Record<string, RuleCounts> {
    return Object.fromEntries([...this.byRule.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => [k, { ...v }]));
  }

  totals(): Record<Verdict, number> {
    return { ...this.byVerdict };
  }
}
