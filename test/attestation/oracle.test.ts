/**
 * Differential test against an oracle nobody on this team wrote: Phala's
 * dcap-qvl Rust crate (pinned in test/oracle/Cargo.toml, built by
 * scripts/oracle/build.sh into a cache outside the repo) through our small
 * runner (test/oracle/src/main.rs). Every attestation fixture and every
 * simulated-platform case (oracle-cases.ts, >= 200) is verified by both;
 * verdict (accepted or not), status and advisory IDs must agree, except for
 * the disagreements listed in test/oracle/allowed-disagreements.json, each
 * with the Intel QVL source that shows who is right.
 *
 * The npm @phala/dcap-qvl 0.3.9 (differential.test.ts) is an older port; this
 * Rust crate is the reference now.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { QuoteVerifier, isAttestationError } from '../../src/attestation/index.js';
import { REPO_ROOT } from '../helpers/cli.js';
import { haveFixtures } from './fixtures.js';
import { fixtureCases, generatedCases, oracleLine, type OracleCase } from './oracle-cases.js';

interface Verdict {
  ok: boolean;
  status?: string;
  advisory_ids?: string[];
  error?: string;
}

interface Allowed {
  id: string;
  ours: string;
  oracle: string;
  right: 'kubetee' | 'oracle';
  why: string;
  qvl: string;
}

const ALLOWED_FILE = join(REPO_ROOT, 'test', 'oracle', 'allowed-disagreements.json');

/** The oracle binary, built by scripts/oracle/build.sh (never built here: that takes minutes). */
function oracleBinary(): string | undefined {
  const r = spawnSync('bash', [join(REPO_ROOT, 'scripts', 'oracle', 'build.sh')], { env: { ...process.env, KUBETEE_ORACLE_NO_BUILD: '1' }, encoding: 'utf8' });
  if (r.status === 0) return r.stdout.trim().split('\n').at(-1);
  return undefined;
}

/** "accept UpToDate [A,B]" or "reject". */
function summary(v: Verdict): string {
  return v.ok ? `accept ${v.status} [${(v.advisory_ids ?? []).join(',')}]` : 'reject';
}

function ours(c: OracleCase): Verdict & { code?: string } {
  const verifier = new QuoteVerifier({ ...(c.root ? { trustedRootCaDer: [c.root] } : {}), cacheMaxEntries: 0 });
  try {
    const r = verifier.verify(c.quote, c.collateral, { at: c.at });
    return { ok: true, status: r.status, advisory_ids: r.advisoryIds };
  } catch (err) {
    assert.ok(isAttestationError(err), `${c.id}: not an AttestationError: ${String(err)}`);
    return { ok: false, error: err.message, code: err.code };
  }
}

test('kubetee and dcap-qvl (Rust) agree on every fixture and >= 200 simulated cases, or the disagreement is listed with its QVL reference', async (t) => {
  if (!haveFixtures(t)) return;
  const bin = oracleBinary();
  if (!bin) {
    if (process.env['CI']) assert.fail('the dcap-qvl oracle is not built: .ci/run must run scripts/oracle/build.sh before npm test');
    t.skip('the dcap-qvl oracle is not built (run scripts/oracle/build.sh; needs cargo)');
    return;
  }
  const generated = await generatedCases();
  assert.ok(generated.length >= 200, `only ${generated.length} generated cases`);
  const cases = [...fixtureCases(), ...generated];
  assert.equal(new Set(cases.map((c) => c.id)).size, cases.length, 'case ids are unique');

  const run = spawnSync(bin, [], { input: cases.map(oracleLine).join('\n') + '\n', encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  assert.equal(run.status, 0, `oracle exited ${run.status}: ${run.stderr}`);
  const theirs = new Map<string, Verdict>();
  for (const line of run.stdout.trim().split('\n')) {
    const v = JSON.parse(line) as Verdict & { id: string };
    theirs.set(v.id, v);
  }
  assert.equal(theirs.size, cases.length, 'one oracle verdict per case');

  const allowed = JSON.parse(readFileSync(ALLOWED_FILE, 'utf8')) as Allowed[];
  const allowedById = new Map(allowed.map((a) => [a.id, a]));
  for (const a of allowed) {
    assert.ok(a.qvl && a.why && (a.right === 'kubetee' || a.right === 'oracle'), `${a.id}: every allowed disagreement names who is right, why, and the QVL source`);
  }
  const unexpected: string[] = [];
  const seenAllowed = new Set<string>();
  let agreedAccept = 0;
  let agreedReject = 0;
  for (const c of cases) {
    const a = ours(c);
    const b = theirs.get(c.id)!;
    const same = a.ok === b.ok && (!a.ok || (a.status === b.status && JSON.stringify(a.advisory_ids) === JSON.stringify(b.advisory_ids)));
    const entry = allowedById.get(c.id);
    if (same) {
      if (a.ok) agreedAccept++;
      else agreedReject++;
      if (entry) unexpected.push(`${c.id}: listed as a disagreement but both now say ${summary(a)} (remove it from allowed-disagreements.json)`);
      continue;
    }
    if (entry && entry.ours === summary(a) && entry.oracle === summary(b)) {
      seenAllowed.add(c.id);
      continue;
    }
    unexpected.push(`${c.id}: kubetee ${summary(a)}${a.code ? ` (${a.code}: ${a.error})` : ''} / dcap-qvl ${summary(b)}${b.error ? ` (${b.error})` : ''}`);
  }
  for (const a of allowed) if (!seenAllowed.has(a.id) && !cases.some((c) => c.id === a.id)) unexpected.push(`${a.id}: allowed disagreement for a case that no longer exists`);
  assert.deepEqual(unexpected, [], `${unexpected.length} unexplained disagreement(s):\n${unexpected.join('\n')}`);
  // Both verdict kinds are exercised: a comparison that only ever rejects proves little.
  assert.ok(agreedAccept >= 40 && agreedReject >= 60, `agreed accept ${agreedAccept}, reject ${agreedReject}`);
  t.diagnostic(`${cases.length} cases: ${agreedAccept} accepted and ${agreedReject} rejected by both, ${seenAllowed.size} listed disagreements`);
});
