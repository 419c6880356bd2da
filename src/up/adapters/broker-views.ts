import type { SecretService } from '../../kbs/secrets/service.js';
import type { AuditRecord } from '../../kbs/store/types.js';
import { DEFAULT_POLICY_PATH } from '../../kbs/store/types.js';
import type { AttestationView, AuditView, SecretView } from '../../dashboard/model.js';
import type { BrokerPart } from '../parts.js';

/** How many audit records the audit page shows (the chain check always covers all of them). */
const AUDIT_PAGE_ROWS = 200;

/** Secrets with their versions (metadata only) and the policy that applies to each. */
export async function secretViews(service: SecretService): Promise<SecretView[]> {
  const [secrets, policies] = await Promise.all([service.list({ limit: 500 }), service.listPolicies()]);
  const policyFor = new Map(policies.map((p) => [p.path, p]));
  const out: SecretView[] = [];
  for (const s of secrets) {
    const info = await service.describe(s.path);
    const own = policyFor.get(s.path);
    const policy = own ?? policyFor.get(DEFAULT_POLICY_PATH);
    const view: SecretView = {
      path: s.path,
      versions: info.versions
        .map((v) => ({ version: v.version, state: v.current && v.state === 'enabled' ? 'active' : v.state, createdAt: v.createdAt, ...(v.expiresAt ? { expiresAt: v.expiresAt } : {}) }))
        .sort((a, b) => b.version - a.version),
    };
    if (policy) {
      view.policyName = own ? `policy for ${s.path}` : 'default policy';
      view.policyText = policy.document;
    } else {
      view.policyName = 'built-in default policy';
    }
    out.push(view);
  }
  return out;
}

function claim<T>(claims: Record<string, unknown> | null, key: string, guard: (v: unknown) => v is T): T | undefined {
  const v = claims?.[key];
  return guard(v) ? v : undefined;
}
const isString = (v: unknown): v is string => typeof v === 'string';
const isStringArray = (v: unknown): v is string[] => Array.isArray(v) && v.every(isString);

/** `tee:sgx:<64 hex>` is an enclave by its MRENCLAVE; shorten it for tables. */
function shortActor(actor: string): string {
  const m = /^tee:(\w+):([0-9a-f]{64})$/.exec(actor);
  return m ? `${m[1]} enclave ${m[2]!.slice(0, 12)}…` : actor;
}

/** Release decisions in the audit trail (records that carry attestation claims), newest first. */
export function attestationsFromAudit(records: AuditRecord[]): AttestationView[] {
  return records
    .filter((r) => r.claims !== null && (r.outcome === 'success' || r.outcome === 'denied'))
    .map((r): AttestationView => {
      const view: AttestationView = {
        at: r.at,
        subject: `${shortActor(r.actor)} → ${r.resource}`,
        verdict: r.outcome === 'success' ? 'released' : 'refused',
        advisoryIds: claim(r.claims, 'advisoryIds', isStringArray) ?? [],
      };
      const tee = claim(r.claims, 'tee', isString);
      const status = claim(r.claims, 'status', isString);
      const mr = claim(r.claims, 'mrenclave', isString);
      if (tee) view.tee = tee;
      if (status) view.tcbStatus = status;
      if (mr) view.mrEnclave = mr;
      if (r.reason) view.reason = r.reason;
      return view;
    })
    .reverse();
}

/** The newest `n` records in chain order (the store lists ascending from a sequence number). */
async function recentAudit(service: SecretService, n: number, headSeq?: number): Promise<AuditRecord[]> {
  const head = headSeq ?? (await service.verifyAudit()).count;
  return service.listAudit({ afterSeq: Math.max(0, head - n), limit: n });
}

export async function auditView(service: SecretService): Promise<AuditView> {
  const verification = await service.verifyAudit();
  const all = await recentAudit(service, AUDIT_PAGE_ROWS, verification.ok ? verification.headSeq : verification.count);
  const entries = all.reverse().map((r) => ({
    seq: r.seq,
    at: r.at,
    actor: shortActor(r.actor),
    action: r.action,
    subject: r.resource,
    outcome: r.outcome,
    reason: r.reason,
    hash: r.hash,
  }));
  return verification.ok
    ? { chainOk: true, checkedEntries: verification.count, entries }
    : { chainOk: false, checkedEntries: verification.count, problem: `record ${verification.seq} ${verification.problem}: ${verification.detail}`, entries };
}

export function brokerPart(service: SecretService): BrokerPart & { attestations(): Promise<AttestationView[]> } {
  return {
    secrets: () => secretViews(service),
    audit: () => auditView(service),
    attestations: async () => attestationsFromAudit(await recentAudit(service, 1000)),
  };
}
