import type { FastifyError, FastifyInstance, FastifyPluginAsync, FastifyReply } from 'fastify';
import type { ResourceProfile } from '../common/labels.js';
import { describeError } from '../common/errors.js';
import { silentLogger, type Logger } from '../common/log.js';
import { decide, denialMessage, type Decision } from './decide.js';
import { DecisionLog, type Verdict } from './decision-log.js';
import { countDecision, createWebhookMetrics, type WebhookMetrics } from './metrics.js';
import type { AdmissionPolicy } from './policy/schema.js';
import { parseAdmissionReview, reviewResponse, type AdmissionReviewResponse } from './review.js';
import type { RulePhase } from './rules/rule.js';
import { isTrustLevel, type NamespaceTrust } from './trust.js';

/** Path segment for namespaces whose kubetee.io/trust label holds an unknown value. */
export const INVALID_LABEL_SEGMENT = 'invalid-label';

export interface AdmissionHandlerOptions {
  policy: AdmissionPolicy;
  /** The cluster's active EPC resource profile. */
  profile: ResourceProfile;
  logger?: Logger;
  /** Shared with the dashboard; a new one (200 entries) when omitted. */
  decisionLog?: DecisionLog;
  metrics?: WebhookMetrics;
  /**
   * Trust of a namespace for the level-less paths (`/mutate`, `/validate`).
   * The webhook configurations call `/mutate/<level>` instead, so the API
   * server's namespaceSelector decides; without this option a level-less
   * request gets the policy's default level.
   */
  namespaceTrust?: (namespace: string) => NamespaceTrust | Promise<NamespaceTrust>;
  /** Clock for the decision log (ISO timestamps). */
  now?: () => Date;
}

export interface AdmissionHandler {
  /** Fastify plugin adding POST /mutate, /validate and /mutate/:level, /validate/:level. */
  readonly plugin: FastifyPluginAsync;
  readonly decisionLog: DecisionLog;
  readonly metrics: WebhookMetrics;
  /**
   * Answers one AdmissionReview body (already JSON-parsed). `status` is 200
   * with a review, or 400 with an error body when the input is not a review.
   */
  review(phase: RulePhase, body: unknown, namespaceTrust?: NamespaceTrust | 'resolve'): Promise<{ status: 200; body: AdmissionReviewResponse } | { status: 400; body: BadRequestBody }>;
  /** The policy in force. */
  policy(): AdmissionPolicy;
  /** Replaces the policy for every later review (an already validated, frozen document). */
  setPolicy(next: AdmissionPolicy): void;
}

export interface BadRequestBody {
  code: 'ADMISSION_REVIEW_INVALID';
  message: string;
  hint: string;
}

function badRequest(message: string): { status: 400; body: BadRequestBody } {
  return {
    status: 400,
    body: { code: 'ADMISSION_REVIEW_INVALID', message, hint: 'POST an admission.k8s.io/v1 AdmissionReview with request.uid, request.kind, request.operation and request.object (Content-Type: application/json)' },
  };
}

function verdictOf(d: Decision): { verdict: Verdict; rules: string[] } {
  if (!d.allowed) return { verdict: 'denied', rules: d.denials.map((r) => r.ruleId) };
  if (d.patch.length > 0) return { verdict: 'mutated', rules: d.results.filter((r) => r.status === 'mutated').map((r) => r.ruleId) };
  return { verdict: 'allowed', rules: [] };
}

/**
 * The embeddable admission endpoint: a fastify plugin (no TLS of its own; the
 * caller's server provides it) plus the decision log and metrics it feeds.
 * `kubetee webhook serve` mounts it on its HTTPS server; `kubetee up` may mount
 * it on the control plane.
 */
export function createAdmissionHandler(options: AdmissionHandlerOptions): AdmissionHandler {
  const logger = options.logger ?? silentLogger();
  const decisionLog = options.decisionLog ?? new DecisionLog();
  const metrics = options.metrics ?? createWebhookMetrics();
  const now = options.now ?? (() => new Date());
  let policy = options.policy;

  async function review(phase: RulePhase, body: unknown, trustArg: NamespaceTrust | 'resolve' = 'resolve'): ReturnType<AdmissionHandler['review']> {
    const started = process.hrtime.bigint();
    const parsed = parseAdmissionReview(body);
    if (!parsed.request) {
      metrics.badRequests.inc({ phase });
      return badRequest(`the body is not an AdmissionReview: ${parsed.problems.join('; ')}`);
    }
    const req = parsed.request;
    if ((req.operation === 'CREATE' || req.operation === 'UPDATE') && (req.object === undefined || req.object === null)) {
      metrics.badRequests.inc({ phase });
      return badRequest(`request.object is missing for a ${req.operation}`);
    }
    let response: AdmissionReviewResponse;
    let entry: { verdict: Verdict; rules: string[]; trust?: Decision['trust']; pod: string; message?: string };
    try {
      if (req.kind.kind !== 'Pod' || req.kind.group !== '') {
        const message = `kubetee admits pods only, got ${req.kind.group ? `${req.kind.group}/` : ''}${req.kind.version}/${req.kind.kind}; check the rules of the kubetee webhook configurations`;
        response = reviewResponse({ uid: req.uid, allowed: false, status: { code: 400, reason: 'BadRequest', message } });
        entry = { verdict: 'denied', rules: ['engine.pod-shape'], pod: `${req.namespace ?? ''}/${req.name ?? '?'}`, message };
      } else if ((req.operation !== 'CREATE' || req.subResource) && !(phase === 'validate' && req.operation === 'UPDATE' && req.subResource === 'ephemeralcontainers')) {
        // Pod specs are immutable after creation except fields these rules do not read;
        // the one exception, debug containers, is validated above.
        response = reviewResponse({ uid: req.uid, allowed: true });
        entry = { verdict: 'allowed', rules: [], pod: `${req.namespace ?? ''}/${req.name ?? '?'}` };
      } else {
        const namespace = req.namespace ?? '';
        const namespaceTrust = trustArg === 'resolve' ? (options.namespaceTrust ? await options.namespaceTrust(namespace) : undefined) : trustArg;
        const d = decide(phase, { pod: req.object, namespace, namespaceTrust, policy, profile: options.profile });
        const v = verdictOf(d);
        if (!d.allowed) {
          const message = denialMessage(d);
          const code = d.denials.find((r) => r.code)?.code;
          response = reviewResponse({
            uid: req.uid,
            allowed: false,
            status: { code: 403, reason: 'Forbidden', message },
            auditAnnotations: { 'denied-by': [...new Set(v.rules)].join(','), ...(code ? { code } : {}) },
          });
          entry = { ...v, trust: d.trust, pod: d.podName, message };
        } else if (d.patch.length > 0) {
          const warnings = d.results.filter((r) => r.status === 'mutated' && r.message.includes('rounded up')).map((r) => `[${r.ruleId}] ${r.container ?? 'pod'}: ${r.message}`);
          response = reviewResponse({
            uid: req.uid,
            allowed: true,
            patchType: 'JSONPatch',
            patch: Buffer.from(JSON.stringify(d.patch)).toString('base64'),
            auditAnnotations: { 'mutated-by': [...new Set(v.rules)].join(',') },
            ...(warnings.length ? { warnings } : {}),
          });
          entry = { ...v, trust: d.trust, pod: d.podName };
        } else {
          response = reviewResponse({ uid: req.uid, allowed: true });
          entry = { ...v, trust: d.trust, pod: d.podName };
        }
      }
    } catch (err) {
      // Fail closed: whatever went wrong, this pod is not admitted unchecked.
      const message = `kubetee could not decide on this pod (${describeError(err)}); denied rather than admitted unchecked`;
      logger.error({ err, uid: req.uid, phase }, 'admission decision failed');
      response = reviewResponse({ uid: req.uid, allowed: false, status: { code: 500, reason: 'InternalError', message }, auditAnnotations: { code: 'RULE_FAILED' } });
      entry = { verdict: 'denied', rules: ['engine.rule-failed'], pod: `${req.namespace ?? ''}/${req.name ?? '?'}`, message };
    }
    countDecision(metrics, phase, entry.verdict, entry.rules);
    metrics.duration.observe({ phase }, Number(process.hrtime.bigint() - started) / 1e9);
    decisionLog.record({
      at: now().toISOString(),
      phase,
      uid: req.uid,
      pod: entry.pod,
      trust: entry.trust?.level,
      verdict: entry.verdict,
      rules: entry.rules,
      ...(entry.message ? { message: entry.message } : {}),
    });
    if (entry.verdict === 'denied') logger.info({ uid: req.uid, phase, pod: entry.pod, rules: entry.rules }, entry.message ?? 'denied');
    else logger.debug({ uid: req.uid, phase, pod: entry.pod, verdict: entry.verdict, rules: entry.rules }, 'admitted');
    return { status: 200, body: response };
  }

  // Returns the reply (fastify's "already sent" signal) instead of awaiting it: awaiting a
  // reply waits for the socket to finish, which costs a listener per request.
  function send(reply: FastifyReply, result: Awaited<ReturnType<typeof review>>): FastifyReply {
    return reply.code(result.status).header('content-type', 'application/json; charset=utf-8').send(JSON.stringify(result.body));
  }

  const plugin: FastifyPluginAsync = async (app: FastifyInstance) => {
    // Only malformed input reaches this handler from the routes below (parse errors, wrong
    // content type, oversized bodies): answer 4xx with a clear message, never a 500.
    app.setErrorHandler(async (err: FastifyError, request, reply) => {
      const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 400;
      if (!err.statusCode || err.statusCode >= 500) logger.error({ err, url: request.url }, 'unexpected error in the admission route');
      metrics.badRequests.inc({ phase: request.url.includes('mutate') ? 'mutate' : 'validate' });
      await reply
        .code(status)
        .send({ code: 'ADMISSION_REVIEW_INVALID', message: `cannot read the request: ${err.message}`, hint: 'POST an admission.k8s.io/v1 AdmissionReview as application/json' });
    });
    const bodyLimit = 4 * 1024 * 1024; // pods are bounded by etcd's ~1.5 MiB object limit
    for (const phase of ['mutate', 'validate'] as const) {
      app.post(`/${phase}`, { bodyLimit }, async (request, reply) => send(reply, await review(phase, request.body, 'resolve')));
      app.post<{ Params: { level: string } }>(`/${phase}/:level`, { bodyLimit }, async (request, reply) => {
        const level = request.params.level;
        let trust: NamespaceTrust;
        if (isTrustLevel(level)) trust = level;
        else if (level === INVALID_LABEL_SEGMENT) trust = { invalid: '(a value other than confidential, sandboxed, standard)' };
        else {
          return reply.code(404).send({ code: 'ADMISSION_REVIEW_INVALID', message: `unknown path /${phase}/${level}`, hint: `use /${phase}/confidential, /${phase}/sandboxed, /${phase}/standard or /${phase}/${INVALID_LABEL_SEGMENT}` });
        }
        return send(reply, await review(phase, request.body, trust));
      });
    }
  };

  return {
    plugin,
    decisionLog,
    metrics,
    review,
    policy: () => policy,
    setPolicy(next: AdmissionPolicy) {
      policy = next;
    },
  };
}

