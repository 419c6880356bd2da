import { createAdmissionHandler } from '../../webhook/handler.js';
import { DEFAULT_POLICY } from '../../webhook/policy/default-policy.js';
import type { Logger } from '../../common/log.js';
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
          recent: handler.decisionLog.recent(50).map((d) => {
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
