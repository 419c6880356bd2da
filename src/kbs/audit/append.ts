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
    actor: entry.actor,
    action: entry.action,
    resource: entry.resource,
    outcome: entry.outcome,
    reason: entry.reason,
    claims: entry.claims ?? null,
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
