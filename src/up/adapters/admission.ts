import { createAdmissionHandler } from '../../webhook/handler.js';
import { DEFAULT_POLICY } from '../../webhook/policy/default-policy.js';
import type { Logger } from '../../common/log.js';
import type { DecisionEntry } from '../../webhook/decision-log.js';
import type { AdmissionsView } from '../../dashboard/model.js';
import type { ControlPlaneComponent } from '../control-plane.js';
import type { AdmissionPart } from '../parts.js';

/** Where the admission routes answer on the local control plane. */
export const WEBHOOK_PREFIX = '/webhook';

/**
 * The admission webhook mounted on the local control plane (plain HTTP on
 * loopback: there is no API server here to demand TLS; `kubetee webhook serve`
 * is the HTTPS deployment). Its decision log feeds the dashboard.
 */
export function localAdmission(logger: Logger): { component: ControlPlaneComponent; api: AdmissionPart } {
  const handler = createAdmissionHandler({ policy: DEFAULT_POLICY, profile: 'alibaba', logger });
  return {
    component: {
      name: 'admission webhook',
      register: async (app) => {
        await app.register(handler.plugin, { prefix: WEBHOOK_PREFIX });
      },
      services: (url) => [{ name: 'admission webhook', where: `${url}${WEBHOOK_PREFIX}/mutate/<trust level>`, note: 'AdmissionReview over plain HTTP on loopback' }],
    },
    api: {
      async admissions(): Promise<AdmissionsView> {
        const counts = handler.decisionLog.countsByRule();
        const totals = handler.decisionLog.totals();
        const byRule = Object.entries(counts).map(([rule, c]) => ({ rule, allowed: 0, mutated: c.mutated, denied: c.denied }));
        if (totals.allowed > 0) byRule.unshift({ rule: '(no rule fired: admitted as is)', allowed: totals.allowed, mutated: 0, denied: 0 });
        return {
          byRule,
          recent: onePerReview(handler.decisionLog.recent(50)).map((d) => {
            const [namespace = '', name = ''] = d.pod.split('/');
            return {
              at: d.at,
              namespace,
              name,
              rule: d.rules.join(', ') || '-',
              decision: d.verdict,
              reason: d.message ?? `${d.phase}${d.trust ? ` (${d.trust})` : ''}`,
            };
          }),
        };
      },
    },
  };
}

const VERDICT_RANK = { allowed: 0, mutated: 1, denied: 2 } as const;

/**
 * One row per admission request: the API server calls the mutating and then
 * the validating webhook under the same uid, and the pod's fate is the
 * strongest verdict (a pod mutated and then denied was denied). Rules of both
 * calls are kept; newest request first.
 */
export function onePerReview(entries: readonly DecisionEntry[]): DecisionEntry[] {
  const byUid = new Map<string, DecisionEntry>();
  for (const e of entries) {
    const seen = byUid.get(e.uid);
    if (!seen) {
      byUid.set(e.uid, e);
      continue;
    }
    const strongest = VERDICT_RANK[e.verdict] > VERDICT_RANK[seen.verdict] ? e : seen;
    const at = e.at > seen.at ? e.at : seen.at;
    byUid.set(e.uid, { ...strongest, at, rules: [...new Set([...seen.rules, ...e.rules])] });
  }
  return [...byUid.values()].sort((a, b) => (a.at < b.at ? 1 : a.at > b.at ? -1 : 0));
}
