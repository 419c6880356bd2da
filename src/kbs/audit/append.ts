import type { AuditEntry, AuditRecord, KbsStore, KbsTx } from '../store/types.js';
import { AuditChainVerifier, GENESIS_HASH, auditRecordHash, type AuditAnchor, type AuditVerification } from './chain.js';

/**
 * Appends one record to the chain inside the caller's write transaction, so
 * the record commits if and only if the change it describes commits.
 */
export async function appendAudit(tx: KbsTx, entry: AuditEntry, now: Date): Promise<AuditRecord> {
  const last = await tx.lastAudit();
  const unsigned: Omit<AuditRecord, 'hash'> = {
    seq: (last?.seq ?? 0) + 1,
    at: now.toISOString(),
    actor: auditText(entry.actor, 256),
    action: auditText(entry.action, 128),
    resource: auditText(entry.resource, 512),
    outcome: entry.outcome,
    reason: auditText(entry.reason, 2048),
    claims: auditClaims(entry.claims),
    prevHash: last?.hash ?? GENESIS_HASH,
  };
  const record: AuditRecord = { ...unsigned, hash: auditRecordHash(unsigned) };
  await tx.insertAudit(record);
  return record;
}

/**
 * Reads the whole chain from the store in pages and verifies it; with an
 * `anchor` (a head recorded earlier) it also detects records cut off the end.
 */
export async function verifyAuditChain(store: KbsStore, options: { pageSize?: number; anchor?: AuditAnchor | undefined } = {}): Promise<AuditVerification> {
  const pageSize = options.pageSize ?? 1000;
  const verifier = new AuditChainVerifier(options.anchor);
  let afterSeq = 0;
  // Bounded by the table size: each page advances afterSeq strictly.
  for (;;) {
    const page = await store.transaction('read', (tx) => tx.listAudit({ afterSeq, limit: pageSize }));
    for (const r of page) if (!verifier.push(r)) return verifier.result();
    if (page.length < pageSize) return verifier.result();
    afterSeq = page[page.length - 1]!.seq;
  }
}

/*
 * The hash is computed over exactly what a later reader gets back from the
 * database, so inputs are normalised first: text without NUL (PostgreSQL TEXT
 * refuses it) and bounded in length; claims passed through a JSON round trip
 * (a Date becomes its ISO string, a bigint its decimal string) so verification
 * recomputes the same canonical form.
 */
function auditText(value: unknown, max: number): string {
  const s = typeof value === 'string' ? value : String(value ?? '');
  const clean = s.replace(/\u0000/g, '\ufffd');
  return clean.length > max ? `${clean.slice(0, max - 1)}…` : clean;
}

function auditClaims(claims: Record<string, unknown> | undefined): Record<string, unknown> | null {
  if (claims === undefined || claims === null) return null;
  const text = JSON.stringify(claims, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
  const parsed: unknown = text === undefined ? null : JSON.parse(text);
  return parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : null;
}
