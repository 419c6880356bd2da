/**
 * The store suite: one function, registered once per database (sqlite.test.ts,
 * postgres.test.ts). It drives the real stack above the store (secret
 * lifecycle, envelope crypto, audit chain, tokens, policies) so both drivers
 * must behave identically, byte for byte where it matters.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { openKbsStore } from '../../../src/kbs/store/open-store.js';
import type { KbsStore } from '../../../src/kbs/store/types.js';
import { createKeyring, type Keyring } from '../../../src/kbs/crypto/keyring.js';
import { SecretService } from '../../../src/kbs/secrets/service.js';
import { TokenService, hashToken } from '../../../src/kbs/auth/tokens.js';
import { verifyAuditChain } from '../../../src/kbs/audit/append.js';
import { openKbsData } from '../../../src/kbs/secrets/open-kbs-data.js';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface StoreTarget {
  /** A URL for a fresh, empty database. */
  newUrl(): Promise<string>;
  /** Runs raw SQL (with `?` placeholders) against the database at `url`, bypassing the store: the attacker's view. */
  raw(url: string, sql: string, params?: unknown[]): Promise<Record<string, unknown>[]>;
  cleanup(): Promise<void>;
}

const K1 = Buffer.alloc(32, 1);
const K2 = Buffer.alloc(32, 2);

/** A clock tests move by hand. */
function manualClock(start = '2026-01-01T00:00:00.000Z'): { now: () => Date; advance(ms: number): void } {
  let t = Date.parse(start);
  return { now: () => new Date(t), advance: (ms) => (t += ms) };
}

async function assertCode(p: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.equal((err as { code?: string }).code, code, `expected ${code}, got ${(err as Error).message}`);
    return true;
  });
}

export function defineStoreSuite(name: string, getTarget: () => Promise<StoreTarget | { skip: string }>): void {
  describe(`KbsStore on ${name}`, () => {
    let target: StoreTarget | undefined;
    let skipReason: string | undefined;
    const stores: KbsStore[] = [];

    before(async () => {
      const t = await getTarget();
      if ('skip' in t) skipReason = t.skip;
      else target = t;
    });
    after(async () => {
      for (const s of stores) await s.close().catch(() => undefined);
      await target?.cleanup();
    });

    async function fresh(keys: Buffer[] = [K1], clock = manualClock()): Promise<{ url: string; store: KbsStore; svc: SecretService; tokens: TokenService; clock: typeof clock; keyring: Keyring }> {
      const url = await target!.newUrl();
      const store = await openKbsStore(url);
      stores.push(store);
      const keyring = createKeyring(keys);
      return { url, store, keyring, clock, svc: new SecretService({ store, keyring, clock: clock.now }), tokens: new TokenService({ store, keyring, clock: clock.now }) };
    }

    function it(title: string, fn: () => Promise<void>): void {
      test(title, async (t) => {
        if (skipReason !== undefined) {
          t.skip(skipReason);
          return;
        }
        await fn();
      });
    }

    it('migrates a new database to the current schema and reopening is idempotent', async () => {
      const { url, store } = await fresh();
      assert.equal(await store.schemaVersion(), 3);
      const again = await openKbsStore(url);
      stores.push(again);
      assert.equal(await again.schemaVersion(), 3);
      const rows = await target!.raw(url, 'SELECT version, checksum FROM schema_migrations');
      assert.equal(rows.length, 3);
      // Read-only opening (kbs audit verify --db) works on a migrated database and refuses an empty one.
      const ro = await openKbsStore(url, { readonly: true });
      stores.push(ro);
      assert.equal((await verifyAuditChain(ro)).ok, true);
      await assertCode(openKbsStore(await target!.newUrl(), { readonly: true }), 'STORE_UNAVAILABLE');
    });

    it('refuses a database whose schema is newer or whose migration was edited', async () => {
      const { url } = await fresh();
      await target!.raw(url, "UPDATE schema_migrations SET checksum = 'x' WHERE version = 1");
      await assertCode(openKbsStore(url), 'MIGRATION_CHECKSUM_MISMATCH');
      const { url: url2 } = await fresh();
      await target!.raw(url2, "INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES (99, 'future', 'x', 'now')");
      await assertCode(openKbsStore(url2), 'SCHEMA_TOO_NEW');
    });

    it('creates a secret, describes it without the value, and reads the value back', async () => {
      const { url, svc } = await fresh();
      const value = Buffer.from('s3cr3t-model-key-material');
      const info = await svc.create('token:a', { path: 'default/secret/db', value, description: 'db password' });
      assert.equal(info.kind, 'secret');
      assert.equal(info.currentVersion, 1);
      assert.equal(info.versions.length, 1);
      assert.equal(info.versions[0]!.valueBytes, value.length);
      assert.equal(info.versions[0]!.state, 'enabled');
      assert.ok(!JSON.stringify(info).includes('s3cr3t'));
      const read = await svc.readValue('token:a', 'default/secret/db');
      assert.equal(read.value.toString(), 's3cr3t-model-key-material');
      // Encrypted at rest: the plaintext appears nowhere in the row.
      const rows = await target!.raw(url, 'SELECT ciphertext, wrapped_key FROM secret_versions');
      const row = rows[0]!;
      assert.ok(Buffer.isBuffer(row['ciphertext']));
      assert.ok(!(row['ciphertext'] as Buffer).includes(value));
      assert.equal((row['wrapped_key'] as Buffer).length, 12 + 32 + 16);
      await assertCode(svc.create('token:a', { path: 'default/secret/db', value }), 'RESOURCE_EXISTS');
    });

    it('rejects malformed resource paths and values with typed errors', async () => {
      const { svc } = await fresh();
      for (const bad of ['a/b', 'a/b/c/d', '../b/c', 'a//c', 'a/b/.hidden', 'a b/c/d', '']) {
        await assertCode(svc.create('t', { path: bad, value: Buffer.from('x') }), 'INVALID_RESOURCE_PATH');
      }
      await assertCode(svc.create('t', { path: 'a/b/c', value: Buffer.alloc(0) }), 'INVALID_VALUE');
      await assertCode(svc.create('t', { path: 'a/b/c', value: Buffer.alloc(1024 * 1024 + 1) }), 'INVALID_VALUE');
      await assertCode(svc.create('t', { path: 'a/b/c', kind: 'key', keyBytes: 8 }), 'INVALID_VALUE');
      await assertCode(svc.create('t', { path: 'a/b/c', value: Buffer.from('x'), expiresAt: 'tomorrow' }), 'INVALID_REQUEST');
      await assertCode(svc.describe('a/b/c'), 'RESOURCE_NOT_FOUND');
    });

    it('generates keys and rotates them to fresh bytes of the same length', async () => {
      const { svc } = await fresh();
      const info = await svc.generateKey('t', { path: 'models/key/llama', keyBytes: 32 });
      assert.equal(info.kind, 'key');
      const v1 = await svc.getReleasableSecret('models/key/llama', new Date());
      assert.equal(v1.value.length, 32);
      const v2info = await svc.rotate('t', 'models/key/llama');
      assert.equal(v2info.version, 2);
      assert.equal(v2info.current, true);
      const v2 = await svc.getReleasableSecret('models/key/llama', new Date());
      assert.equal(v2.version, 2);
      assert.equal(v2.value.length, 32);
      assert.notDeepEqual(v2.value, v1.value);
      // The old version is still there and readable by version number.
      const old = await svc.getReleasableSecret('models/key/llama', new Date(), { version: 1 });
      assert.deepEqual(old.value, v1.value);
      // Secrets (not keys) need a value to rotate.
      await svc.create('t', { path: 'a/secret/b', value: Buffer.from('one') });
      await assertCode(svc.rotate('t', 'a/secret/b'), 'INVALID_VALUE');
      const v = await svc.rotate('t', 'a/secret/b', { value: Buffer.from('two') });
      assert.equal(v.version, 2);
      assert.equal((await svc.getReleasableSecret('a/secret/b', new Date())).value.toString(), 'two');
    });

    it('releases only an enabled, unexpired current version', async () => {
      const { svc, clock } = await fresh();
      await svc.create('t', { path: 'r/t/x', value: Buffer.from('v1') });
      assert.equal((await svc.getReleasableSecret('r/t/x', clock.now())).value.toString(), 'v1');
      await assertCode(svc.getReleasableSecret('r/t/none', clock.now()), 'RESOURCE_NOT_FOUND');
      await assertCode(svc.getReleasableSecret('r/t/x', clock.now(), { version: 7 }), 'VERSION_NOT_FOUND');

      await svc.disable('t', 'r/t/x');
      await assertCode(svc.getReleasableSecret('r/t/x', clock.now()), 'VERSION_DISABLED');
      await svc.enable('t', 'r/t/x', { version: 1 });
      assert.equal((await svc.getReleasableSecret('r/t/x', clock.now())).version, 1);

      const expiresAt = new Date(clock.now().getTime() + 60_000).toISOString();
      const info = await svc.setExpiry('t', 'r/t/x', { expiresAt });
      assert.equal(info.expiresAt, expiresAt);
      assert.equal((await svc.getReleasableSecret('r/t/x', clock.now())).version, 1);
      await assertCode(svc.getReleasableSecret('r/t/x', new Date(Date.parse(expiresAt))), 'SECRET_EXPIRED');
      await svc.setExpiry('t', 'r/t/x', { expiresAt: null });
      assert.equal((await svc.getReleasableSecret('r/t/x', new Date(Date.parse(expiresAt) + 1))).version, 1);
    });

    it('destroys a version irrecoverably and keeps its metadata', async () => {
      const { url, svc } = await fresh();
      await svc.create('t', { path: 'r/t/d', value: Buffer.from('gone soon') });
      await svc.rotate('t', 'r/t/d', { value: Buffer.from('stays') });
      await assertCode(svc.destroy('t', 'r/t/d', { version: 0 }), 'INVALID_REQUEST');
      const d = await svc.destroy('t', 'r/t/d', { version: 1 });
      assert.equal(d.state, 'destroyed');
      assert.equal(d.masterKeyId, null);
      const rows = await target!.raw(url, 'SELECT ciphertext, wrapped_key, key_id, value_bytes FROM secret_versions WHERE version = 1');
      assert.equal(rows[0]!['ciphertext'], null);
      assert.equal(rows[0]!['wrapped_key'], null);
      assert.equal(rows[0]!['key_id'], null);
      await assertCode(svc.getReleasableSecret('r/t/d', new Date(), { version: 1 }), 'VERSION_DESTROYED');
      await assertCode(svc.readValue('t', 'r/t/d', { version: 1 }), 'VERSION_DESTROYED');
      await assertCode(svc.enable('t', 'r/t/d', { version: 1 }), 'VERSION_DESTROYED');
      await assertCode(svc.destroy('t', 'r/t/d', { version: 1 }), 'VERSION_DESTROYED');
      assert.equal((await svc.getReleasableSecret('r/t/d', new Date())).value.toString(), 'stays');
      const info = await svc.describe('r/t/d');
      assert.deepEqual(info.versions.map((v) => [v.version, v.state]), [[1, 'destroyed'], [2, 'enabled']]);
    });

    it('refuses to decrypt a row moved to another secret or version (path and version are bound)', async () => {
      const { url, svc } = await fresh();
      await svc.create('t', { path: 'r/t/a', value: Buffer.from('alpha') });
      await svc.create('t', { path: 'r/t/b', value: Buffer.from('bravo') });
      const [a] = await target!.raw(url, "SELECT key_id, wrapped_key, ciphertext FROM secret_versions WHERE path = 'r/t/a'");
      await target!.raw(url, "UPDATE secret_versions SET key_id = ?, wrapped_key = ?, ciphertext = ? WHERE path = 'r/t/b'", [a!['key_id'], a!['wrapped_key'], a!['ciphertext']]);
      await assertCode(svc.getReleasableSecret('r/t/b', new Date()), 'DECRYPT_FAILED');
      const tampered = Buffer.from(a!['ciphertext'] as Buffer);
      tampered[20] ^= 1;
      await target!.raw(url, "UPDATE secret_versions SET ciphertext = ? WHERE path = 'r/t/a'", [tampered]);
      await assertCode(svc.getReleasableSecret('r/t/a', new Date()), 'DECRYPT_FAILED');
    });

    it('lists by prefix in path order, treating LIKE wildcards literally', async () => {
      const { svc } = await fresh();
      for (const p of ['b/key/1', 'a_x/key/1', 'a/key/2', 'a/key/1', 'aax/key/1']) await svc.create('t', { path: p, kind: 'key' });
      assert.deepEqual((await svc.list()).map((s) => s.path), ['a/key/1', 'a/key/2', 'a_x/key/1', 'aax/key/1', 'b/key/1']);
      assert.deepEqual((await svc.list({ prefix: 'a/' })).map((s) => s.path), ['a/key/1', 'a/key/2']);
      assert.deepEqual((await svc.list({ prefix: 'a_' })).map((s) => s.path), ['a_x/key/1']);
      assert.deepEqual((await svc.list({ limit: 2, after: 'a/key/2' })).map((s) => s.path), ['a_x/key/1', 'aax/key/1']);
    });

    it('appends an audit record with every change, none for a refused change, and the chain verifies', async () => {
      const { svc } = await fresh();
      await svc.create('token:w', { path: 'r/t/x', value: Buffer.from('1') });
      await svc.rotate('token:w', 'r/t/x', { value: Buffer.from('2') });
      await svc.disable('token:w', 'r/t/x', { version: 1 });
      await assertCode(svc.create('token:w', { path: 'r/t/x', value: Buffer.from('3') }), 'RESOURCE_EXISTS');
      await svc.appendAudit({ actor: 'tee:abc', action: 'resource.release', resource: 'r/t/x', outcome: 'denied', reason: 'debug enclave', claims: { debug: true, mrenclave: 'ab'.repeat(32) } });
      const records = await svc.listAudit();
      assert.deepEqual(records.map((r) => [r.seq, r.action, r.outcome]), [
        [1, 'secret.create', 'success'],
        [2, 'secret.rotate', 'success'],
        [3, 'secret.disable', 'success'],
        [4, 'resource.release', 'denied'],
      ]);
      assert.deepEqual(records[3]!.claims, { debug: true, mrenclave: 'ab'.repeat(32) });
      assert.equal(records[1]!.prevHash, records[0]!.hash);
      const v = await svc.verifyAudit();
      assert.deepEqual(v, { ok: true, count: 4, headSeq: 4, headHash: records[3]!.hash });
    });

    it('audit records survive awkward input: Dates, bigints, NUL bytes, huge reasons', async () => {
      const { svc } = await fresh();
      const r = await svc.appendAudit({
        actor: 'tee:\u0000x',
        action: 'resource.release',
        resource: 'r/t/x',
        outcome: 'denied',
        reason: `rule "a\u0000b" failed ${'x'.repeat(10_000)}`,
        claims: { at: new Date('2026-01-02T03:04:05Z'), svn: 10n, nested: { u: undefined, n: null, s: 'é\u0000' } },
      });
      assert.equal(r.actor, 'tee:\ufffdx');
      assert.ok(r.reason.length <= 2048);
      assert.deepEqual(r.claims, { at: '2026-01-02T03:04:05.000Z', svn: '10', nested: { n: null, s: 'é\u0000' } });
      const [stored] = await svc.listAudit();
      assert.deepEqual(stored, r);
      assert.equal((await svc.verifyAudit()).ok, true);
    });

    it('verifyAuditChain names the edited, removed or reordered record', async () => {
      const setup = async (): Promise<{ url: string; store: KbsStore }> => {
        const f = await fresh();
        for (let i = 0; i < 5; i++) await f.svc.appendAudit({ actor: 'system', action: 'test.event', resource: `r/t/${i}`, outcome: 'success', reason: `n${i}` });
        return f;
      };
      let f = await setup();
      await target!.raw(f.url, "UPDATE audit_log SET reason = 'forged' WHERE seq = 3");
      assert.deepEqual(pick(await verifyAuditChain(f.store)), { ok: false, seq: 3, problem: 'edited' });

      f = await setup();
      await target!.raw(f.url, 'DELETE FROM audit_log WHERE seq = 2');
      assert.deepEqual(pick(await verifyAuditChain(f.store)), { ok: false, seq: 3, problem: 'removed' });

      f = await setup();
      // Swap records 2 and 4 wholesale (seq numbers exchanged): links break at 2.
      await target!.raw(f.url, 'UPDATE audit_log SET seq = -2 WHERE seq = 2');
      await target!.raw(f.url, 'UPDATE audit_log SET seq = 2 WHERE seq = 4');
      await target!.raw(f.url, 'UPDATE audit_log SET seq = 4 WHERE seq = -2');
      const r = await verifyAuditChain(f.store);
      assert.equal(r.ok, false);
      assert.equal(r.ok === false && r.seq, 2);
    });

    it('re-wraps data keys under a new master key while the old one still reads, then drops the old one', async () => {
      const { url, store, svc } = await fresh([K1]);
      for (let i = 0; i < 5; i++) await svc.create('t', { path: `r/key/${i}`, kind: 'key' });
      const before = await Promise.all([0, 1, 2, 3, 4].map((i) => svc.getReleasableSecret(`r/key/${i}`, new Date())));
      // Step 1: new key in front, old key kept: everything still reads.
      const both = new SecretService({ store, keyring: createKeyring([K2, K1]) });
      const k2 = createKeyring([K2]).active.id;
      const k1 = createKeyring([K1]).active.id;
      assert.deepEqual((await both.getReleasableSecret('r/key/0', new Date())).value, before[0]!.value);
      // New writes already use the new key.
      await both.create('t', { path: 'r/key/new', kind: 'key' });
      assert.equal((await both.describe('r/key/new')).versions[0]!.masterKeyId, k2);
      // Step 2: re-wrap in small batches.
      const result = await both.rewrapAll('token:admin', { batchSize: 2 });
      assert.deepEqual(result, { rewrapped: 5, tokenSigningKeys: 0, rowMacs: { policies: 0, tokens: 0, tampered: [] }, activeKeyId: k2 });
      const ids = await target!.raw(url, 'SELECT DISTINCT key_id FROM secret_versions');
      assert.deepEqual(ids.map((r) => r['key_id']), [k2]);
      // Step 3: the old key can go.
      const only2 = new SecretService({ store, keyring: createKeyring([K2]) });
      for (let i = 0; i < 5; i++) assert.deepEqual((await only2.getReleasableSecret(`r/key/${i}`, new Date())).value, before[i]!.value);
      const only1 = new SecretService({ store, keyring: createKeyring([K1]) });
      await assertCode(only1.getReleasableSecret('r/key/0', new Date()), 'MASTER_KEY_UNKNOWN');
      assert.notEqual(k1, k2);
      assert.equal((await svc.verifyAudit()).ok, true);
    });

    it('upgrades a schema-1 database (data kept) to the protocol tables of migration 2', async () => {
      const url = await target!.newUrl();
      // What a broker of the previous release left behind: migration 1 only, and a secret in it.
      const { MIGRATIONS, migrationChecksum } = await import('../../../src/kbs/store/migrations.js');
      const m1 = MIGRATIONS[0]!;
      const dialect = url.startsWith('sqlite:') ? 'sqlite' : 'postgres';
      await target!.raw(url, 'CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, checksum TEXT NOT NULL, applied_at TEXT NOT NULL)');
      for (const stmt of m1[dialect]) await target!.raw(url, stmt);
      await target!.raw(url, 'INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES (?, ?, ?, ?)', [1, m1.name, migrationChecksum(m1, dialect), 'then']);
      await target!.raw(url, "INSERT INTO policies (path, document, updated_at, updated_by) VALUES ('default', 'rules: []', 'then', 'token:a')");
      // Up to 2 only: migration 3 (row MACs) needs the master key for the policy row (next test).
      const store = await openKbsStore(url, { upTo: 2 });
      stores.push(store);
      assert.equal(await store.schemaVersion(), 2);
      assert.equal((await store.transaction('read', (tx) => tx.getPolicy('default')))?.document, 'rules: []');
      assert.equal(await store.sessions.countLive(0), 0);
      assert.deepEqual(await store.transaction('read', (tx) => tx.listTokenSigningKeys()), []);
    });

    it('refuses policy and admin token rows changed in the database without the master key (KBS_ROW_TAMPERED)', async () => {
      const { url, svc, tokens } = await fresh();
      await svc.setPolicy('token:a', 'default', 'claims.debug == false');
      await svc.setPolicy('token:a', 'r/t/a', 'claims.isvSvn >= 3');
      await svc.setPolicy('token:a', 'r/t/b', 'claims.isvSvn >= 4');
      assert.equal((await svc.getPolicy('r/t/a'))!.document, 'claims.isvSvn >= 3');
      assert.ok(!('mac' in (await svc.getPolicy('r/t/a'))!));
      // A tampered document: refused, never evaluated, no fall-back to the default.
      await target!.raw(url, "UPDATE policies SET document = 'true' WHERE path = 'r/t/a'");
      await assertCode(svc.getPolicy('r/t/a'), 'KBS_ROW_TAMPERED');
      await assertCode(svc.getStoredPolicy('r/t/a'), 'KBS_ROW_TAMPERED');
      await assertCode(svc.listPolicies(), 'KBS_ROW_TAMPERED');
      // A policy moved to another resource path (document and MAC intact).
      await target!.raw(url, "UPDATE policies SET path = 'r/t/c' WHERE path = 'r/t/b'");
      await assertCode(svc.getPolicy('r/t/c'), 'KBS_ROW_TAMPERED');
      // The untouched default still applies to other paths; re-setting a policy through the service heals it.
      assert.equal((await svc.getPolicy('r/t/z'))!.document, 'claims.debug == false');
      await svc.setPolicy('token:a', 'r/t/a', 'claims.isvSvn >= 3');
      assert.equal((await svc.getPolicy('r/t/a'))!.document, 'claims.isvSvn >= 3');
      // A policy row inserted with the MAC of another row.
      await target!.raw(url, "INSERT INTO policies (path, document, updated_at, updated_by, mac) SELECT 'r/t/d', 'true', updated_at, updated_by, mac FROM policies WHERE path = 'default'");
      await assertCode(svc.getPolicy('r/t/d'), 'KBS_ROW_TAMPERED');

      const admin = await tokens.create('system', { name: 'admin', role: 'admin' });
      const writer = await tokens.create('system', { name: 'writer', role: 'writer' });
      const gone = await tokens.create('system', { name: 'gone', role: 'auditor' });
      // An inserted token row (the hash of a token the attacker knows), without and with a MAC copied from another row.
      const forged = `kbt_${'F'.repeat(43)}`;
      await target!.raw(url, "INSERT INTO admin_tokens (id, name, role, token_hash, created_at, created_by, expires_at, revoked_at) VALUES ('00000000000000ff', 'x', 'admin', ?, 'then', 'system', NULL, NULL)", [hashToken(forged)]);
      await assertCode(tokens.authenticate(forged), 'KBS_ROW_TAMPERED');
      await target!.raw(url, 'UPDATE admin_tokens SET mac = (SELECT mac FROM admin_tokens WHERE id = ?) WHERE id = ?', [admin.info.id, '00000000000000ff']);
      await assertCode(tokens.authenticate(forged), 'KBS_ROW_TAMPERED');
      // A token whose role was raised.
      assert.equal((await tokens.authenticate(writer.token)).role, 'writer');
      await target!.raw(url, "UPDATE admin_tokens SET role = 'admin' WHERE id = ?", [writer.info.id]);
      await assertCode(tokens.authenticate(writer.token), 'KBS_ROW_TAMPERED');
      // A revoked flag cleared by SQL.
      await tokens.revoke('system', gone.info.id);
      await assertCode(tokens.authenticate(gone.token), 'TOKEN_REVOKED');
      await target!.raw(url, 'UPDATE admin_tokens SET revoked_at = NULL WHERE id = ?', [gone.info.id]);
      await assertCode(tokens.authenticate(gone.token), 'KBS_ROW_TAMPERED');
      // An expiry removed by SQL.
      const brief = await tokens.create('system', { name: 'brief', role: 'admin', expiresAt: '2026-01-01T00:00:01Z' });
      await target!.raw(url, 'UPDATE admin_tokens SET expires_at = NULL WHERE id = ?', [brief.info.id]);
      await assertCode(tokens.authenticate(brief.token), 'KBS_ROW_TAMPERED');
      // The untouched admin still works; revoking a tampered row is allowed (and says so).
      assert.equal((await tokens.authenticate(admin.token)).role, 'admin');
      await tokens.revoke('token:admin', writer.info.id);
      await assertCode(tokens.authenticate(writer.token), 'TOKEN_REVOKED');
      const audit = await svc.listAudit({ limit: 1000 });
      const tampered = audit.filter((r) => r.action === 'row.tampered');
      assert.deepEqual([...new Set(tampered.map((r) => r.resource))].sort(), ['policy:r/t/a', 'policy:r/t/c', 'policy:r/t/d', `token:${'00000000000000ff'}`, `token:${brief.info.id}`, `token:${gone.info.id}`, `token:${writer.info.id}`].sort());
      assert.ok(tampered.every((r) => r.reason.startsWith('KBS_ROW_TAMPERED')));
      assert.match(audit.find((r) => r.action === 'token.revoke' && r.resource === `token:${writer.info.id}`)!.reason, /KBS_ROW_TAMPERED/);
      assert.equal((await svc.verifyAudit()).ok, true);
    });

    it('master-key rewrap re-MACs policy and token rows; the old key verifies until then, a tampered row is not laundered', async () => {
      const { url, store, svc, tokens, clock } = await fresh([K1]);
      await svc.setPolicy('token:a', 'default', 'claims.debug == false');
      await svc.setPolicy('token:a', 'r/t/a', 'claims.isvSvn >= 3');
      await svc.setPolicy('token:a', 'r/t/bad', 'claims.isvSvn >= 3');
      const admin = await tokens.create('system', { name: 'admin', role: 'admin' });
      const gone = await tokens.create('system', { name: 'gone', role: 'writer' });
      await tokens.revoke('system', gone.info.id);
      await target!.raw(url, "UPDATE policies SET document = 'true' WHERE path = 'r/t/bad'");
      const k2 = createKeyring([K2]).active.id;
      const both = createKeyring([K2, K1]);
      const svc2 = new SecretService({ store, keyring: both, clock: clock.now });
      const tokens2 = new TokenService({ store, keyring: both, clock: clock.now });
      // During the rotation: rows MAC'd under K1 still verify.
      assert.equal((await svc2.getPolicy('r/t/a'))!.document, 'claims.isvSvn >= 3');
      assert.equal((await tokens2.authenticate(admin.token)).role, 'admin');
      const r = await svc2.rewrapAll('token:admin');
      assert.deepEqual(r.rowMacs, { policies: 2, tokens: 2, tampered: ['policy:r/t/bad'] });
      const macs = await target!.raw(url, "SELECT mac FROM policies WHERE path <> 'r/t/bad' UNION ALL SELECT mac FROM admin_tokens");
      assert.ok(macs.every((m) => String(m['mac']).startsWith(`v1.${k2}.`)));
      // After the old key is gone: everything valid still verifies, the revocation holds, the tampered row stays refused.
      const only2 = createKeyring([K2]);
      const svc3 = new SecretService({ store, keyring: only2 });
      const tokens3 = new TokenService({ store, keyring: only2, clock: clock.now });
      assert.equal((await svc3.getPolicy('r/t/a'))!.document, 'claims.isvSvn >= 3');
      assert.equal((await svc3.getPolicy('r/t/x'))!.document, 'claims.debug == false');
      assert.equal((await tokens3.authenticate(admin.token)).role, 'admin');
      await assertCode(tokens3.authenticate(gone.token), 'TOKEN_REVOKED');
      await assertCode(svc3.getPolicy('r/t/bad'), 'KBS_ROW_TAMPERED');
      // A keyring without the new key cannot verify the re-MAC'd rows.
      await assertCode(new SecretService({ store, keyring: createKeyring([K1]) }).getPolicy('r/t/a'), 'KBS_ROW_TAMPERED');
      assert.equal((await svc3.rewrapAll('token:admin')).rowMacs.policies, 0);
      assert.equal((await svc.verifyAudit()).ok, true);
    });

    it('upgrades a schema-2 database: existing policy and token rows are MACd once at start (audited), later unMACd rows are refused', async () => {
      const url = await target!.newUrl();
      const old = await openKbsStore(url, { upTo: 2 });
      assert.equal(await old.schemaVersion(), 2);
      await old.close();
      const known = `kbt_${'K'.repeat(43)}`;
      await target!.raw(url, "INSERT INTO policies (path, document, updated_at, updated_by) VALUES ('default', 'claims.debug == false', 'then', 'token:a')");
      await target!.raw(url, "INSERT INTO admin_tokens (id, name, role, token_hash, created_at, created_by, expires_at, revoked_at) VALUES ('0123456789abcdef', 'old admin', 'admin', ?, 'then', 'system', NULL, NULL)", [hashToken(known)]);
      // Without the master key the upgrade refuses (and changes nothing).
      await assertCode(openKbsStore(url), 'MASTER_KEY_MISSING');
      const v = await target!.raw(url, 'SELECT MAX(version) AS v FROM schema_migrations');
      assert.equal(Number(v[0]!['v']), 2);
      const dir = mkdtempSync(join(tmpdir(), 'kbs-rowmac-'));
      const env = { KUBETEE_KBS_MASTER_KEY: K1.toString('base64') };
      try {
        const data = await openKbsData({ db: url, env, adminTokenFile: join(dir, 'admin.token') });
        try {
          assert.deepEqual(data.rowMacUpgrade, { policies: 1, tokens: 1 });
          assert.equal(data.bootstrap.created, false);
          assert.equal(await data.store.schemaVersion(), 3);
          assert.equal((await data.service.getPolicy('r/t/x'))!.document, 'claims.debug == false');
          assert.equal((await data.tokens.authenticate(known)).role, 'admin');
          const upgrade = (await data.service.listAudit()).filter((r) => r.action === 'row-mac.upgrade');
          assert.equal(upgrade.length, 1);
          assert.match(upgrade[0]!.reason, /1 policy row\(s\) and 1 admin token row\(s\)/);
          // After the upgrade an unMACd row is refused, and a restart does not upgrade it.
          const sneaked = `kbt_${'S'.repeat(43)}`;
          await target!.raw(url, "INSERT INTO admin_tokens (id, name, role, token_hash, created_at, created_by, expires_at, revoked_at) VALUES ('00000000000000aa', 'x', 'admin', ?, 'then', 'system', NULL, NULL)", [hashToken(sneaked)]);
          await assertCode(data.tokens.authenticate(sneaked), 'KBS_ROW_TAMPERED');
        } finally {
          await data.close();
        }
        const again = await openKbsData({ db: url, env, adminTokenFile: join(dir, 'admin.token') });
        try {
          assert.equal(again.rowMacUpgrade, undefined);
          await assertCode(again.tokens.authenticate(`kbt_${'S'.repeat(43)}`), 'KBS_ROW_TAMPERED');
          assert.equal((await again.tokens.authenticate(known)).role, 'admin');
          assert.equal((await again.service.verifyAudit()).ok, true);
        } finally {
          await again.close();
        }
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it('--bootstrap-token-file: two brokers starting together on one empty database with the same file make one token row, the given one', async () => {
      const url = await target!.newUrl();
      const dir = mkdtempSync(join(tmpdir(), 'kbs-boot-file-'));
      const env = { KUBETEE_KBS_MASTER_KEY: K1.toString('base64') };
      const given = `kbt_${randomBytes(32).toString('base64url')}`;
      const file = join(dir, 'token');
      writeFileSync(file, `${given}\n`);
      try {
        const open = () => openKbsData({ db: url, env, adminTokenFile: join(dir, 'admin.token'), bootstrapTokenFile: file });
        const [a, b] = await Promise.all([open(), open()]);
        try {
          assert.deepEqual([a.bootstrap.created, b.bootstrap.created].sort(), [false, true]);
          assert.equal((a.bootstrap.created ? a : b).bootstrap.source, 'file');
          const rows = await target!.raw(url, 'SELECT token_hash FROM admin_tokens');
          assert.deepEqual(rows.map((r) => r['token_hash']), [hashToken(given)]);
          assert.equal((await a.tokens.authenticate(given)).role, 'admin');
          assert.equal((await b.tokens.authenticate(given)).role, 'admin');
          assert.equal(existsSync(join(dir, 'admin.token')), false, 'nothing is written to disk');
          assert.deepEqual((await a.service.listAudit()).filter((r) => r.action === 'token.create').length, 1);
        } finally {
          await a.close();
          await b.close();
        }
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it('protocol sessions: one atomic claim per nonce across connections, bounded sweeps', async () => {
      const { url, store } = await fresh();
      const other = await openKbsStore(url); // a second replica's connection
      stores.push(other);
      const t0 = Date.parse('2026-01-01T00:00:00Z');
      await store.sessions.insert({ idHash: 'a'.repeat(64), tee: 'sgx', nonce: 'n1', expiresAtMs: t0 + 1000 });
      assert.deepEqual(await other.sessions.get('a'.repeat(64)), { idHash: 'a'.repeat(64), tee: 'sgx', nonce: 'n1', state: 'challenged', expiresAtMs: t0 + 1000, attested: null });
      // Eight claims race on two connections: exactly one moves the row.
      const claims = await Promise.all(Array.from({ length: 8 }, (_, i) => (i % 2 ? other : store).sessions.claim('a'.repeat(64), t0)));
      assert.equal(claims.filter((c) => c !== undefined).length, 1);
      assert.equal(claims.find((c) => c !== undefined)!.state, 'attesting');
      assert.equal(await store.sessions.transition('a'.repeat(64), ['attesting'], 'attested', '{"x":1}'), true);
      assert.equal(await other.sessions.transition('a'.repeat(64), ['attesting'], 'burned'), false);
      assert.equal((await other.sessions.get('a'.repeat(64)))!.attested, '{"x":1}');
      // An expired session cannot be claimed.
      await store.sessions.insert({ idHash: 'b'.repeat(64), tee: 'tdx', nonce: 'n2', expiresAtMs: t0 + 10 });
      assert.equal(await other.sessions.claim('b'.repeat(64), t0 + 10), undefined);
      assert.equal((await store.sessions.get('b'.repeat(64)))!.state, 'challenged');
      // Sweeps delete only expired rows, at most `limit` per call.
      for (let i = 0; i < 30; i++) await store.sessions.insert({ idHash: i.toString(16).padStart(64, 'c'), tee: 'sgx', nonce: `x${i}`, expiresAtMs: t0 + 100 + i });
      assert.equal(await store.sessions.countLive(t0), 32);
      const swept = await Promise.all([store.sessions.sweep(t0 + 500, 12), other.sessions.sweep(t0 + 500, 12)]);
      assert.equal(swept[0] + swept[1], 24);
      assert.equal(await store.sessions.sweep(t0 + 500, 100), 7);
      assert.equal(await store.sessions.countLive(0), 1);
      assert.equal((await store.sessions.get('a'.repeat(64)))!.state, 'attested');
      await store.sessions.delete('a'.repeat(64));
      assert.equal(await other.sessions.get('a'.repeat(64)), undefined);
    });

    it('token signing keys: created once by concurrent starters, sealed under the master key, rotated, re-wrapped', async () => {
      const { url, store, svc, clock } = await fresh([K1]);
      const stores2 = await Promise.all([0, 1, 2].map(() => openKbsStore(url)));
      stores.push(...stores2);
      const services = [svc, ...stores2.map((s) => new SecretService({ store: s, keyring: createKeyring([K1]), clock: clock.now }))];
      const loaded = await Promise.all(services.map((s) => s.tokenSigningKeys()));
      const kids = new Set(loaded.map((keys) => keys.map((k) => k.kid).join(',')));
      assert.equal(kids.size, 1, 'every starter loads the same single key');
      const [first] = loaded[0]!;
      assert.equal(first!.retiredAt, null);
      const rows = await target!.raw(url, 'SELECT * FROM token_signing_keys');
      assert.equal(rows.length, 1);
      const pkcs8 = first!.privateKey.export({ format: 'der', type: 'pkcs8' });
      assert.ok(!Buffer.from(rows[0]!['ciphertext'] as Uint8Array).includes(pkcs8.subarray(-32)), 'the private key is not stored in the clear');
      assert.equal(rows[0]!['key_id'], createKeyring([K1]).active.id);
      // Another keyring cannot open it; the current key must open (no silent replacement).
      await assertCode(new SecretService({ store, keyring: createKeyring([K2]) }).tokenSigningKeys(), 'MASTER_KEY_UNKNOWN');

      // Rotation retires the current key and adds one; the audit chain records both events.
      clock.advance(1000);
      const rotated = await svc.rotateTokenSigningKey('token:admin');
      assert.notEqual(rotated.kid, first!.kid);
      const after = await services[1]!.tokenSigningKeys();
      assert.deepEqual(after.map((k) => [k.kid, k.retiredAt]), [[rotated.kid, null], [first!.kid, clock.now().toISOString()]]);
      // Two more rotations a day later prune the long-retired key.
      clock.advance(25 * 3600_000);
      await svc.rotateTokenSigningKey('token:admin');
      const listed = await svc.listTokenSigningKeys();
      assert.equal(listed.length, 2);
      assert.ok(!listed.some((k) => k.kid === first!.kid));
      assert.equal(listed.filter((k) => k.current).length, 1);
      assert.equal(listed[0]!.publicJwk['crv'], 'P-256');
      assert.ok(!('d' in listed[0]!.publicJwk));

      // Master key rotation re-wraps the signing keys too.
      const both = new SecretService({ store, keyring: createKeyring([K2, K1]), clock: clock.now });
      const r = await both.rewrapAll('token:admin');
      assert.deepEqual(r, { rewrapped: 0, tokenSigningKeys: 2, rowMacs: { policies: 0, tokens: 0, tampered: [] }, activeKeyId: createKeyring([K2]).active.id });
      const only2 = new SecretService({ store, keyring: createKeyring([K2]) });
      assert.deepEqual((await only2.tokenSigningKeys()).map((k) => k.kid), listed.map((k) => k.kid));
      const audit = await svc.listAudit({ limit: 1000 });
      assert.deepEqual(audit.map((a) => a.action), ['token-signing-key.create', 'token-signing-key.rotate', 'token-signing-key.rotate', 'master-key.rewrap']);
      assert.equal((await svc.verifyAudit()).ok, true);
    });

    it('stores admin tokens hashed and enforces revocation and expiry', async () => {
      const { url, tokens, clock } = await fresh();
      assert.equal(await tokens.isEmpty(), true);
      const { token, info } = await tokens.create('system', { name: 'first admin', role: 'admin' });
      assert.match(token, /^kbt_[A-Za-z0-9_-]{43}$/);
      assert.equal(await tokens.isEmpty(), false);
      const rows = await target!.raw(url, 'SELECT * FROM admin_tokens');
      assert.equal(rows[0]!['token_hash'], hashToken(token));
      assert.ok(!JSON.stringify(rows).includes(token.slice(4)));
      const p = await tokens.authenticate(token);
      assert.deepEqual(p, { tokenId: info.id, name: 'first admin', role: 'admin', actor: `token:${info.id}` });
      await assertCode(tokens.authenticate(undefined), 'TOKEN_MISSING');
      await assertCode(tokens.authenticate('kbt_short'), 'TOKEN_INVALID');
      await assertCode(tokens.authenticate(`kbt_${'A'.repeat(43)}`), 'TOKEN_INVALID');
      await assertCode(tokens.create('system', { name: 'x', role: 'root' as never }), 'INVALID_REQUEST');

      const short = await tokens.create(p.actor, { name: 'ci', role: 'writer', expiresAt: new Date(clock.now().getTime() + 1000).toISOString() });
      assert.equal((await tokens.authenticate(short.token)).role, 'writer');
      clock.advance(1000);
      await assertCode(tokens.authenticate(short.token), 'TOKEN_EXPIRED');

      await tokens.revoke(p.actor, info.id);
      await assertCode(tokens.authenticate(token), 'TOKEN_REVOKED');
      await assertCode(tokens.revoke(p.actor, 'ffffffffffffffff'), 'TOKEN_NOT_FOUND');
      const listed = await tokens.list();
      assert.equal(listed.length, 2);
      assert.ok(listed.every((t) => !('tokenHash' in t)));
    });

    it('stores policies per resource with a default fallback', async () => {
      const { svc } = await fresh();
      assert.equal(await svc.getPolicy('r/t/x'), undefined);
      await svc.setPolicy('token:a', 'default', 'claims.debug == false');
      assert.equal((await svc.getPolicy('r/t/x'))!.path, 'default');
      await svc.setPolicy('token:a', 'r/t/x', 'claims.isvSvn >= 3');
      assert.equal((await svc.getPolicy('r/t/x'))!.document, 'claims.isvSvn >= 3');
      assert.equal((await svc.getPolicy('r/t/y'))!.document, 'claims.debug == false');
      await svc.setPolicy('token:a', 'r/t/x', 'claims.isvSvn >= 4');
      assert.equal((await svc.getStoredPolicy('r/t/x'))!.document, 'claims.isvSvn >= 4');
      assert.deepEqual((await svc.listPolicies()).map((p) => p.path), ['default', 'r/t/x']);
      await svc.deletePolicy('token:a', 'r/t/x');
      await assertCode(svc.deletePolicy('token:a', 'r/t/x'), 'POLICY_NOT_FOUND');
      await assertCode(svc.setPolicy('token:a', 'bad path', 'true'), 'INVALID_RESOURCE_PATH');
      await assertCode(svc.setPolicy('token:a', 'r/t/x', '  '), 'POLICY_INVALID');
    });

    it('keeps versions contiguous and the audit chain linear under concurrent writers', async () => {
      const { svc } = await fresh();
      await svc.create('t', { path: 'r/t/c', value: Buffer.from('0') });
      const writers = Array.from({ length: 24 }, (_, i) =>
        i % 3 === 0
          ? svc.appendAudit({ actor: 'tee:x', action: 'resource.release', resource: 'r/t/c', outcome: 'success', reason: '' })
          : svc.put('t', { path: i % 2 ? 'r/t/c' : `r/t/c${i}`, value: randomBytes(16) }),
      );
      await Promise.all(writers);
      const info = await svc.describe('r/t/c');
      assert.deepEqual(info.versions.map((v) => v.version), Array.from({ length: info.versions.length }, (_, i) => i + 1));
      const v = await svc.verifyAudit();
      assert.equal(v.ok, true);
      assert.equal(v.count, 1 + 24);
    });
  });
}

function pick(v: { ok: boolean; seq?: number; problem?: string }): { ok: boolean; seq?: number; problem?: string } {
  return { ok: v.ok, seq: v.seq, problem: v.problem } as never;
}
