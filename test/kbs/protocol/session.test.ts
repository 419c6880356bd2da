import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { SessionManager, sessionIdHash, type AttestedState } from '../../../src/kbs/protocol/session.js';
import { AttestationTokenIssuer } from '../../../src/kbs/protocol/token.js';
import { KbsProtocolError } from '../../../src/kbs/protocol/errors.js';
import { openKbsStore } from '../../../src/kbs/store/open-store.js';
import type { KbsStore } from '../../../src/kbs/store/types.js';
import type { AttestationClaims } from '../../../src/kbs/policy/claims.js';
import type { TeePubKey } from '../../../src/kbs/protocol/tee-key.js';

async function codeOf(f: () => Promise<unknown>): Promise<string> {
  try {
    await f();
  } catch (err) {
    assert.ok(err instanceof KbsProtocolError, String(err));
    return err.code;
  }
  return 'no error';
}

const stores: KbsStore[] = [];
after(async () => {
  for (const s of stores) await s.close();
});

/** A session manager on a real (in-memory SQLite) store; `other` is a second manager on the same store, like a second replica. */
async function manager(options: { ttlMs?: number; maxSessions?: number } = {}) {
  const store = await openKbsStore('sqlite::memory:');
  stores.push(store);
  let now = Date.parse('2026-01-01T00:00:00Z');
  const issuer = new AttestationTokenIssuer({ now: () => now });
  const make = (): SessionManager => new SessionManager({ ...options, store: store.sessions, now: () => now, randomBytes, verifyToken: (t) => issuer.verify(t) });
  const attested = async (): Promise<AttestedState> => ({ claims, teePubKey, token: await issuer.issue(claims, teePubKey, {}) });
  return { m: make(), other: make(), store, attested, advance: (ms: number) => (now += ms), now: () => now };
}

const claims: AttestationClaims = {
  tee: 'sgx',
  status: 'UpToDate',
  advisoryIds: [],
  fmspc: '00906ed50000',
  mrenclave: 'ab'.repeat(32),
  mrsigner: 'cd'.repeat(32),
  isvProdId: 1,
  isvSvn: 3,
  debug: false,
  reportData: '00'.repeat(64),
  td: {},
};
const teePubKey: TeePubKey = { kty: 'EC', crv: 'P-256', alg: 'ECDH-ES+A256KW', x: 'f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU', y: 'x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0' };

test('a challenge is a 32-byte standard-base64 nonce and a 32-hex session id; the store keeps only its hash', async () => {
  const { m, store } = await manager();
  const s = await m.create('sgx');
  assert.match(s.nonce, /^[A-Za-z0-9+/]{43}=$/);
  assert.equal(Buffer.from(s.nonce, 'base64').length, 32);
  assert.match(s.id, /^[0-9a-f]{32}$/);
  const row = await store.sessions.get(sessionIdHash(s.id));
  assert.equal(row?.state, 'challenged');
  assert.equal(row?.nonce, s.nonce);
  assert.equal(await store.sessions.get(s.id), undefined);
});

test('a nonce is single-use: the second presentation is a replay, on this manager or another', async () => {
  const { m, other } = await manager();
  const s = await m.create('sgx');
  await other.claimNonce(s.id, s.nonce);
  assert.equal(await codeOf(() => m.claimNonce(s.id, s.nonce)), 'KBS_NONCE_REPLAYED');
  assert.equal(await codeOf(() => other.claimNonce(s.id, s.nonce)), 'KBS_NONCE_REPLAYED');
});

test('concurrent claims of one nonce: exactly one wins', async () => {
  const { m, other } = await manager();
  const s = await m.create('sgx');
  const results = await Promise.allSettled([m, other, m, other].map((x) => x.claimNonce(s.id, s.nonce)));
  assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
  for (const r of results) if (r.status === 'rejected') assert.equal((r.reason as KbsProtocolError).code, 'KBS_NONCE_REPLAYED');
});

test('a foreign nonce (from another session) is refused and burns the session', async () => {
  const { m } = await manager();
  const a = await m.create('sgx');
  const b = await m.create('sgx');
  assert.equal(await codeOf(() => m.claimNonce(a.id, b.nonce)), 'KBS_NONCE_MISMATCH');
  assert.equal(await codeOf(() => m.claimNonce(a.id, a.nonce)), 'KBS_NONCE_REPLAYED');
});

test('an attested session is visible to another manager with its claims and TEE key', async () => {
  const { m, other, attested } = await manager();
  const s = await m.create('sgx');
  const claimed = await m.claimNonce(s.id, s.nonce);
  await m.markAttested(claimed, await attested());
  const seen = await other.get(s.id);
  assert.equal(seen.state, 'attested');
  assert.deepEqual(seen.attested?.claims, claims);
  assert.deepEqual(seen.attested?.teePubKey, teePubKey);
  // A burned session is not attested anywhere.
  const t = await m.create('sgx');
  const c2 = await other.claimNonce(t.id, t.nonce);
  await other.markBurned(c2);
  assert.equal((await m.get(t.id)).state, 'burned');
});

test('an expired session is refused and forgotten; unknown and missing ids are refused', async () => {
  const { m, other, advance } = await manager({ ttlMs: 1000 });
  const s = await m.create('sgx');
  const t = await m.create('sgx');
  advance(1000);
  assert.equal(await codeOf(() => other.claimNonce(s.id, s.nonce)), 'KBS_SESSION_EXPIRED');
  assert.equal(await codeOf(() => m.get(s.id)), 'KBS_SESSION_UNKNOWN');
  assert.equal(await codeOf(() => m.get(t.id)), 'KBS_SESSION_EXPIRED');
  assert.equal(await codeOf(() => m.get('0'.repeat(32))), 'KBS_SESSION_UNKNOWN');
  assert.equal(await codeOf(() => m.get(undefined)), 'KBS_SESSION_MISSING');
});

test('an attested session row cannot be forged in the database: its stored token must verify', async () => {
  const { m, other, store } = await manager();
  const s = await m.create('sgx');
  await store.sessions.transition(sessionIdHash(s.id), ['challenged'], 'attested', JSON.stringify({ claims, 'tee-pubkey': teePubKey }));
  assert.equal(await codeOf(() => other.get(s.id)), 'KBS_SESSION_UNKNOWN');
  // A token signed by a key this broker does not hold is no better.
  const t = await m.create('sgx');
  const foreign = await new AttestationTokenIssuer({ now: Date.now }).issue(claims, teePubKey, {});
  await store.sessions.transition(sessionIdHash(t.id), ['challenged'], 'attested', foreign);
  assert.equal(await codeOf(() => other.get(t.id)), 'KBS_SESSION_UNKNOWN');
});

test('an attested session cached in memory still expires', async () => {
  const { m, advance, attested } = await manager({ ttlMs: 1000 });
  const s = await m.create('sgx');
  await m.markAttested(await m.claimNonce(s.id, s.nonce), await attested());
  assert.equal((await m.get(s.id)).state, 'attested');
  advance(1000);
  assert.equal(await codeOf(() => m.get(s.id)), 'KBS_SESSION_EXPIRED');
});

test('the session table is bounded per process: when full of live sessions /auth is refused until they expire', async () => {
  const { m, other, advance } = await manager({ ttlMs: 1000, maxSessions: 3 });
  for (let i = 0; i < 3; i++) await m.create('sgx');
  assert.equal(await codeOf(() => m.create('sgx')), 'KBS_BUSY');
  await other.create('sgx'); // another replica has its own bound
  advance(1001);
  await m.create('sgx');
  assert.equal(m.size, 1);
});

test('the sweep deletes expired sessions in bounded batches, leaving live ones', async () => {
  const { m, store, advance, now } = await manager({ ttlMs: 1000 });
  for (let i = 0; i < 25; i++) await m.create('sgx');
  advance(500);
  const live = await m.create('sgx');
  advance(600);
  assert.equal(await m.sweep({ batch: 10, maxBatches: 2 }), 20);
  assert.equal(await store.sessions.countLive(now() - 10_000), 6);
  assert.equal(await m.sweep({ batch: 10 }), 5);
  assert.equal(await m.sweep(), 0);
  assert.equal((await m.get(live.id)).state, 'challenged');
});
