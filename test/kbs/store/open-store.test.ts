import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openKbsStore, parseStoreUrl } from '../../../src/kbs/store/open-store.js';
import { redactPostgresUrl } from '../../../src/kbs/store/postgres-driver.js';

test('parseStoreUrl accepts sqlite:PATH and postgres URLs and refuses the rest', () => {
  assert.deepEqual(parseStoreUrl('sqlite:data/kbs.db', '/srv'), { dialect: 'sqlite', path: '/srv/data/kbs.db' });
  assert.deepEqual(parseStoreUrl('sqlite:///var/kbs.db', '/srv'), { dialect: 'sqlite', path: '/var/kbs.db' });
  assert.deepEqual(parseStoreUrl('postgresql://kbs@db:5432/kbs'), { dialect: 'postgres', url: 'postgresql://kbs@db:5432/kbs' });
  for (const bad of ['sqlite:', 'mysql://x', '/var/kbs.db', '']) assert.throws(() => parseStoreUrl(bad), { code: 'STORE_URL_INVALID' }, bad);
  // A password never appears in an error or a location string.
  assert.throws(() => parseStoreUrl('mongodb://user:hunter2@h/db'), (err: Error) => !err.message.includes('hunter2'));
  assert.equal(redactPostgresUrl('postgres://kbs:hunter2@db:5432/kbs'), 'postgres://kbs:***@db:5432/kbs');
});

test('an unreachable PostgreSQL server is STORE_UNAVAILABLE, promptly', async () => {
  // A port that was free a moment ago: nothing listens there.
  const port = await new Promise<number>((resolve) => {
    const srv = createServer().listen(0, '127.0.0.1', () => {
      const a = srv.address();
      srv.close(() => resolve(typeof a === 'object' && a ? a.port : 1));
    });
  });
  const started = Date.now();
  await assert.rejects(openKbsStore(`postgres://kbs:pw@127.0.0.1:${port}/kbs`), (err: Error & { code: string }) => {
    assert.equal(err.code, 'STORE_UNAVAILABLE');
    assert.ok(!err.message.includes(':pw@'), 'password leaked into the message');
    return true;
  });
  assert.ok(Date.now() - started < 15_000);
});

test('an unusable SQLite location is STORE_UNAVAILABLE (a file where a directory should be; holds for root too)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kubetee-kbs-ro-'));
  try {
    writeFileSync(join(dir, 'not-a-dir'), 'x');
    await assert.rejects(openKbsStore(`sqlite:${join(dir, 'not-a-dir', 'kbs.db')}`), { code: 'STORE_UNAVAILABLE' });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a file that is not a database is STORE_UNAVAILABLE, not a crash', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kubetee-kbs-notdb-'));
  try {
    writeFileSync(join(dir, 'kbs.db'), 'this is not an SQLite database, just text that is long enough to matter');
    await assert.rejects(openKbsStore(`sqlite:${join(dir, 'kbs.db')}`), { code: 'STORE_UNAVAILABLE' });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('read-only opening (audit verify --db) changes nothing and refuses a database without the broker schema', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kubetee-kbs-roopen-'));
  try {
    const Database = (await import('better-sqlite3')).default;
    const other = new Database(join(dir, 'other.db'));
    other.exec('CREATE TABLE t (x INTEGER)');
    other.close();
    await assert.rejects(openKbsStore(`sqlite:${join(dir, 'other.db')}`, { readonly: true }), { code: 'STORE_UNAVAILABLE' });
    await assert.rejects(openKbsStore(`sqlite:${join(dir, 'absent.db')}`, { readonly: true }), { code: 'STORE_UNAVAILABLE' });
    const rw = await openKbsStore(`sqlite:${join(dir, 'kbs.db')}`);
    await rw.close();
    const ro = await openKbsStore(`sqlite:${join(dir, 'kbs.db')}`, { readonly: true });
    assert.equal(await ro.schemaVersion(), 3);
    await assert.rejects(ro.transaction('write', (tx) => tx.revokeToken('x', 'now', 'mac')));
    await ro.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
