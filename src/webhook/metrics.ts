import { Counter, Histogram, Registry } from 'prom-client';
import type { Verdict } from './decision-log.js';

/** Prometheus metrics of the webhook, on their own registry so several instances never collide. */
export interface WebhookMetrics {
  readonly registry: Registry;
  readonly admissions: Counter<'phase' | 'verdict' | 'rule'>;
  readonly duration: Histogram<'phase'>;
  readonly badRequests: Counter<'phase'>;
}

export function createWebhookMetrics(registry = new Registry()): WebhookMetrics {
  return {
    registry,
    admissions: new Counter({
      name: 'kubetee_webhook_admissions_total',
      help: 'Admission decisions by phase (mutate|validate), verdict (allowed|mutated|denied) and rule (the rule that mutated or denied; "none" for a plain allow)',
      labelNames: ['phase', 'verdict', 'rule'],
      registers: [registry],
    }),
    duration: new Histogram({
      name: 'kubetee_webhook_admission_duration_seconds',
      help: 'Time to decide one AdmissionReview, from parsed body to response',
      labelNames: ['phase'],
      // The target is p99 < 2 ms; resolve well below and above it.
      buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.05, 0.25],
      registers: [registry],
    }),
    badRequests: new Counter({
      name: 'kubetee_webhook_bad_requests_total',
      help: 'Request bodies that were not a valid AdmissionReview (answered 400)',
      labelNames: ['phase'],
      registers: [registry],
    }),
  };
}

export function countDecision(m: WebhookMetrics, phase: string, verdict: Verdict, rules: readonly string[]): void {
  if (rules.length === 0) {
    m.admissions.inc({ phase, verdict, rule: 'none' });
    return;
  }
  for (const rule of new Set(rules)) m.admissions.inc({ phase, verdict, rule });
}
