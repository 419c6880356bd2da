import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GENESIS_HASH, auditRecordHash, canonicalJson, parseAuditAnchor, verifyAuditRecords } from '../../../src/kbs/audit/chain.js';
import type { AuditRecord } from '../../../src/kbs/store/types.js';

function chain(n: number): AuditRecord[] {
  const out: AuditRecord[] = [];
  let prev = GENESIS_HASH;
  for (let seq = 1; seq <= n; seq++) {
    const r = { seq, at: `2026-01-01T00:00:0${seq}.000Z`, actor: 'token:a', action: 'secret.create', resource: `r/t/${seq}`, outcome: 'success' as const, reason: '', claims: seq === 2 ? { b: 1, a: [true, null] } : null, prevHash: prev };
    const rec = { ...r, hash: auditRecordHash(r) };
    out.push(rec);
    prev = rec.hash;
  }
  return out;
}

/** Recomputes hashes after an edit, as an attacker with write access would. */
function rehash(records: AuditRecord[]): AuditRecord[] {
  return records.map((r) => ({ ...r, hash: auditRecordHash(r) }));
}

test('canonical JSON sorts keys at every level and drops undefined members', () => {
  assert.equal(canonicalJson({ b: 1, a: { d: [2, { z: 1, y: 2 }], c: undefined } }), '{"a":{"d":[2,{"y":2,"z":1}]},"b":1}');
});

test('an intact chain verifies and reports its head', () => {
  const c = chain(4);
  assert.deepEqual(verifyAuditRecords(c), { ok: true, count: 4, headSeq: 4, headHash: c[3]!.hash });
  assert.deepEqual(verifyAuditRecords([]), { ok: true, count: 0, headSeq: 0, headHash: GENESIS_HASH });
});

const cases: { name: string; mutate: (c: AuditRecord[]) => AuditRecord[]; seq: number; problem: string }[] = [
  { name: 'edited field', mutate: (c) => c.map((r) => (r.seq === 3 ? { ...r, outcome: 'denied' as const } : r)), seq: 3, problem: 'edited' },
  { name: 'edited claims', mutate: (c) => c.map((r) => (r.seq === 2 ? { ...r, claims: { b: 2, a: [true, null] } } : r)), seq: 2, problem: 'edited' },
  { name: 'removed record', mutate: (c) => c.filter((r) => r.seq !== 2), seq: 3, problem: 'removed' },
  { name: 'removed first record', mutate: (c) => c.slice(1), seq: 2, problem: 'removed' },
  { name: 'removed and renumbered (hashes recomputed)', mutate: (c) => rehash(c.filter((r) => r.seq !== 2).map((r) => (r.seq > 2 ? { ...r, seq: r.seq - 1 } : r))), seq: 2, problem: 'reordered' },
  { name: 'reordered (swapped in place)', mutate: (c) => [c[0]!, c[2]!, c[1]!, c[3]!], seq: 3, problem: 'removed' },
  { name: 'reordered and renumbered (hashes recomputed)', mutate: (c) => rehash([c[0]!, { ...c[2]!, seq: 2 }, { ...c[1]!, seq: 3 }, c[3]!]), seq: 2, problem: 'reordered' },
  { name: 'duplicated record', mutate: (c) => [c[0]!, c[1]!, c[1]!, c[2]!], seq: 2, problem: 'reordered' },
  { name: 'forged record at the start', mutate: (c) => rehash([{ ...c[0]!, prevHash: 'f'.repeat(64) }, ...c.slice(1)]), seq: 1, problem: 'inserted' },
];

for (const tc of cases) {
  test(`detects: ${tc.name}`, () => {
    const v = verifyAuditRecords(tc.mutate(chain(4)));
    assert.equal(v.ok, false);
    if (!v.ok) {
      assert.equal(v.seq, tc.seq, v.detail);
      assert.equal(v.problem, tc.problem, v.detail);
      assert.match(v.detail, new RegExp(`record ${tc.seq}`));
    }
  });
}

test('an anchor (a head recorded earlier) exposes records cut off the end and a rewritten history', () => {
  const c = chain(5);
  const anchor = parseAuditAnchor(`4:${c[3]!.hash}`)!;
  assert.deepEqual(anchor, { seq: 4, hash: c[3]!.hash });
  assert.equal(verifyAuditRecords(c, anchor).ok, true);
  // Without the anchor, dropping the tail is invisible; with it, it is not.
  assert.equal(verifyAuditRecords(c.slice(0, 3)).ok, true);
  const cut = verifyAuditRecords(c.slice(0, 3), anchor);
  assert.equal(cut.ok, false);
  assert.equal(!cut.ok && cut.problem, 'truncated');
  assert.equal(!cut.ok && cut.seq, 4);
  // A consistently rewritten chain (all hashes recomputed) no longer matches the anchor.
  const rewritten: AuditRecord[] = [];
  let prev = GENESIS_HASH;
  for (const r of c) {
    const body = { ...r, reason: r.seq === 2 ? 'forged' : r.reason, prevHash: prev };
    const rec = { ...body, hash: auditRecordHash(body) };
    rewritten.push(rec);
    prev = rec.hash;
  }
  assert.equal(verifyAuditRecords(rewritten).ok, true);
  const v = verifyAuditRecords(rewritten, anchor);
  assert.equal(!v.ok && v.seq, 4);
  for (const bad of ['4', `0:${c[0]!.hash}`, `4:${'X'.repeat(64)}`, `x:${c[0]!.hash}`]) assert.equal(parseAuditAnchor(bad), undefined, bad);
});
