import { createHash } from 'node:crypto';
import type { AuditRecord } from '../store/types.js';

/** prevHash of the first record. */
export const GENESIS_HASH = '0'.repeat(64);

/** JSON with object keys sorted at every level (RFC 8785 style for the values we store). */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj).filter((k) => obj[k] !== undefined).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`).join(',')}}`;
}

/**
 * Hash of a record: SHA-256 over the canonical JSON of every field except
 * `hash` itself. The seq and prevHash inside it are what make removals and
 * reorderings visible, not only edits.
 */
export function auditRecordHash(record: Omit<AuditRecord, 'hash'>): string {
  const body = {
    v: 1,
    seq: record.seq,
    at: record.at,
    actor: record.actor,
    action: record.action,
    resource: record.resource,
    outcome: record.outcome,
    reason: record.reason,
    claims: record.claims,
    prevHash: record.prevHash,
  };
  return createHash('sha256').update(canonicalJson(body)).digest('hex');
}

export type AuditProblem = 'edited' | 'removed' | 'reordered' | 'inserted' | 'truncated';

/**
 * A head an operator recorded earlier (`seq` and `hash` printed by
 * `kbs audit verify`). A hash chain alone cannot show that records were cut
 * off its end; checking against a recorded head can.
 */
export interface AuditAnchor {
  seq: number;
  hash: string;
}

/** Parses `SEQ:HASH` as printed by `kbs audit verify`; undefined when malformed. */
export function parseAuditAnchor(text: string): AuditAnchor | undefined {
  const m = /^(\d{1,15}):([0-9a-f]{64})$/.exec(text.trim());
  return m && Number(m[1]) > 0 ? { seq: Number(m[1]), hash: m[2]! } : undefined;
}

export type AuditVerification =
  | { ok: true; count: number; headSeq: number; headHash: string }
  | { ok: false; count: number; seq: number; problem: AuditProblem; detail: string };

/**
 * Incremental verifier: feed records in storage order (ascending seq as the
 * database returns them) and ask for the verdict at the end. Pure; no I/O.
 */
export class AuditChainVerifier {
  private expectedSeq = 1;
  private prevHash = GENESIS_HASH;
  private count = 0;
  private failure: Extract<AuditVerification, { ok: false }> | undefined;

  constructor(private readonly anchor?: AuditAnchor) {}

  /** Returns false once a problem has been found (further records are ignored). */
  push(record: AuditRecord): boolean {
    if (this.failure) return false;
    this.count++;
    const fail = (problem: AuditProblem, detail: string): false => {
      this.failure = { ok: false, count: this.count, seq: record.seq, problem, detail };
      return false;
    };
    if (auditRecordHash(record) !== record.hash) {
      return fail('edited', `record ${record.seq} does not match its hash (a field was changed)`);
    }
    if (record.seq !== this.expectedSeq) {
      if (record.seq > this.expectedSeq) {
        return fail('removed', `record ${record.seq} follows record ${this.expectedSeq - 1}: ${record.seq - this.expectedSeq} record(s) missing (or moved) before it`);
      }
      return fail('reordered', `record ${record.seq} appears after record ${this.expectedSeq - 1}`);
    }
    if (record.prevHash !== this.prevHash) {
      // Seq numbers were rewritten to hide a removal, insertion or swap.
      return fail(record.seq === 1 ? 'inserted' : 'reordered', `record ${record.seq} does not link to the record before it (prevHash mismatch)`);
    }
    if (this.anchor && record.seq === this.anchor.seq && record.hash !== this.anchor.hash) {
      return fail('edited', `record ${record.seq} differs from the recorded head ${this.anchor.seq}:${this.anchor.hash.slice(0, 12)}… (the chain was rewritten from here or earlier)`);
    }
    this.expectedSeq++;
    this.prevHash = record.hash;
    return true;
  }

  result(): AuditVerification {
    if (this.failure) return this.failure;
    if (this.anchor && this.expectedSeq - 1 < this.anchor.seq) {
      return {
        ok: false,
        count: this.count,
        seq: this.expectedSeq,
        problem: 'truncated',
        detail: `the chain ends at record ${this.expectedSeq - 1} but record ${this.anchor.seq} was recorded earlier: records ${this.expectedSeq}-${this.anchor.seq} were removed`,
      };
    }
    return { ok: true, count: this.count, headSeq: this.expectedSeq - 1, headHash: this.prevHash };
  }
}

/** Verifies a whole in-memory chain. */
export function verifyAuditRecords(records: Iterable<AuditRecord>, anchor?: AuditAnchor): AuditVerification {
  const v = new AuditChainVerifier(anchor);
  for (const r of records) if (!v.push(r)) break;
  return v.result();
}
