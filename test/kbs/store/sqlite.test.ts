import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { defineStoreSuite } from './store-suite.js';
import { openKbsStore } from '../../../src/kbs/store/open-store.js';
import { SecretService } from '../../../src/kbs/secrets/service.js';
import { createKeyring } from '../../../src/kbs/crypto/keyring.js';

defineStoreSuite('SQLite', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kubetee-kbs-sqlite-'));
  let n = 0;
  return {
    async newUrl() {
      return `sqlite:${join(dir, `kbs-${++n}.db`)}`;
    },
    async raw(url, sql, params = []) {
      const db = new Database(url.slice('sqlite:'.length));
      try {
        db.pragma('busy_timeout = 5000');
        const st = db.prepare(sql);
        return st.reader ? (st.all(...(params as never[])) as Record<string, unknown>[]) : (st.run(...(params as never[])), []);
      } finally {
        db.close();
      }
    },
    async cleanup() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

test('SQLite: a destroyed version leaves no copy of its ciphertext or wrapped key in the database file or WAL', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kubetee-kbs-scrub-'));
  const path = join(dir, 'kbs.db');
  const store = await openKbsStore(`sqlite:${path}`);
  try {
    const svc = new SecretService({ store, keyring: createKeyring([Buffer.alloc(32, 5)]) });
    await svc.create('t', { path: 'r/t/gone', value: randomBytes(2048) });
    await svc.create('t', { path: 'r/t/kept', value: randomBytes(64) });
    const row = await store.transaction('read', (tx) => tx.getVersion('r/t/gone', 1));
    const { ciphertext, wrappedKey } = row!.sealed!;
    const onDisk = (): Buffer => Buffer.concat([path, `${path}-wal`].filter((p) => existsSync(p)).map((p) => readFileSync(p)));
    assert.ok(onDisk().includes(ciphertext.subarray(0, 64)), 'precondition: the ciphertext is on disk before destroy');
    await svc.destroy('t', 'r/t/gone', { version: 1 });
    const after = onDisk();
    assert.ok(!after.includes(ciphertext.subarray(0, 32)), 'ciphertext still on disk after destroy');
    assert.ok(!after.includes(wrappedKey.subarray(12, 44)), 'wrapped data key still on disk after destroy');
    assert.equal((await svc.getReleasableSecret('r/t/kept', new Date())).value.length, 64);
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('SQLite: two stores on one file in one process queue instead of deadlocking, and keep one linear audit chain', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kubetee-kbs-two-'));
  const url = `sqlite:${join(dir, 'kbs.db')}`;
  const a = await openKbsStore(url);
  const b = await openKbsStore(url);
  try {
    const keyring = createKeyring([Buffer.alloc(32, 3)]);
    const sa = new SecretService({ store: a, keyring });
    const sb = new SecretService({ store: b, keyring });
    await Promise.all(
      Array.from({ length: 30 }, (_, i) => (i % 2 ? sa : sb).put(`w${i % 2}`, { path: 'r/t/shared', value: Buffer.from(`v${i}`) })),
    );
    const info = await sa.describe('r/t/shared');
    assert.deepEqual(info.versions.map((v) => v.version), Array.from({ length: 30 }, (_, i) => i + 1));
    const v = await sb.verifyAudit();
    assert.equal(v.ok, true);
    assert.equal(v.count, 30);
  } finally {
    await a.close();
    await b.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
