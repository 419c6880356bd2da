import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** The broker's Prometheus metrics, on their own registry so several brokers can live in one process. */
export class KbsMetrics {
  readonly registry: Registry;
  readonly releases: Counter<'tee'>;
  readonly denials: Counter<'endpoint' | 'reason'>;
  readonly attestations: Counter<'tee'>;
  readonly verifySeconds: Histogram;
  readonly sessions: Gauge;
  readonly collateralExpiry: Gauge;
  /** Earliest collateral expiry of the latest successful verification, and when it was seen (for /readyz and doctor). */
  lastCollateral: { expiresAt: Date; observedAt: Date } | undefined;

  constructor(options: { registry?: Registry; defaultMetrics?: boolean; sessionCount?: () => number } = {}) {
    this.registry = options.registry ?? new Registry();
    if (options.defaultMetrics) collectDefaultMetrics({ register: this.registry, prefix: 'kbs_process_' });
    this.releases = new Counter({ name: 'kbs_releases_total', help: 'Secrets released to attested TEEs', labelNames: ['tee'], registers: [this.registry] });
    this.denials = new Counter({
      name: 'kbs_denials_total',
      help: 'Refused protocol requests by endpoint and reason (error code, verifier code or policy rule outcome)',
      labelNames: ['endpoint', 'reason'],
      registers: [this.registry],
    });
    this.attestations = new Counter({ name: 'kbs_attestations_total', help: 'Successful attestations (tokens issued)', labelNames: ['tee'], registers: [this.registry] });
    this.verifySeconds = new Histogram({
      name: 'kbs_verify_duration_seconds',
      help: 'Quote verification latency',
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers: [this.registry],
    });
    const count = options.sessionCount;
    this.sessions = new Gauge({
      name: 'kbs_sessions',
      help: 'Open attestation sessions',
      registers: [this.registry],
      collect() {
        if (count) this.set(count());
      },
    });
    this.collateralExpiry = new Gauge({
      name: 'kbs_collateral_expiry_timestamp_seconds',
      help: 'When the collateral used by the latest successful verification expires (earliest nextUpdate/notAfter); alert well before it',
      registers: [this.registry],
    });
  }

  /** Records the collateral expiry of a successful verification. */
  noteCollateral(expiresAt: Date | string | undefined, observedAt: Date): void {
    if (expiresAt === undefined) return;
    const at = expiresAt instanceof Date ? expiresAt : new Date(expiresAt);
    if (Number.isNaN(at.getTime())) return;
    this.lastCollateral = { expiresAt: at, observedAt };
    this.collateralExpiry.set(at.getTime() / 1000);
  }
}
