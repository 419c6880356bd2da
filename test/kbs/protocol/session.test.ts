import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { SessionManager } from '../../../src/kbs/protocol/session.js';
import { KbsProtocolError } from '../../../src/kbs/protocol/errors.js';

function codeOf(f: () => unknown): string {
  try {
    f();
  } catch (err) {
    assert.ok(err instanceof KbsProtocolError, String(err));
    return err.code;
  }
  return 'no error';
}

function manager(options: { ttlMs?: number; maxSessions?: number } = {}) {
  let now = Date.parse('2026-01-01T00:00:00Z');
  const m = new SessionManager({ ...options, now: () => now, randomBytes });
  return { m, advance: (ms: number) => (now += ms) };
}

test('a challenge is a 32-byte standard-base64 nonce and a 32-hex session id', () => {
  const { m } = manager();
  const s = m.create('sgx');
  assert.match(s.nonce, /^[A-Za-z0-9+/]{43}=$/);
  assert.equal(Buffer.from(s.nonce, 'base64').length, 32);
  assert.match(s.id, /^[0-9a-f]{32}$/);
});

test('a nonce is single-use: the second presentation is a replay', () => {
  const { m } = manager();
  const s = m.create('sgx');
  m.claimNonce(s.id, s.nonce);
  assert.equal(codeOf(() => m.claimNonce(s.id, s.nonce)), 'KBS_NONCE_REPLAYED');
});

test('a foreign nonce (from another session) is refused and burns the session', () => {
  const { m } = manager();
  const a = m.create('sgx');
  const b = m.create('sgx');
  assert.equal(codeOf(() => m.claimNonce(a.id, b.nonce)), 'KBS_NONCE_MISMATCH');
  assert.equal(codeOf(() => m.claimNonce(a.id, a.nonce)), 'KBS_NONCE_REPLAYED');
});

test('an expired session is refused and forgotten; unknown and missing ids are refused', () => {
  const { m, advance } = manager({ ttlMs: 1000 });
  const s = m.create('sgx');
  advance(1000);
  assert.equal(codeOf(() => m.claimNonce(s.id, s.nonce)), 'KBS_SESSION_EXPIRED');
  assert.equal(codeOf(() => m.get(s.id)), 'KBS_SESSION_UNKNOWN');
  assert.equal(codeOf(() => m.get(undefined)), 'KBS_SESSION_MISSING');
});

test('the session table is bounded: when full of live sessions /auth is refused, expired ones are swept', () => {
  const { m, advance } = manager({ ttlMs: 1000, maxSessions: 3 });
  for (let i = 0; i < 3; i++) m.create('sgx');
  assert.equal(codeOf(() => m.create('sgx')), 'KBS_BUSY');
  advance(1001);
  m.create('sgx');
  assert.equal(m.size, 1);
});
