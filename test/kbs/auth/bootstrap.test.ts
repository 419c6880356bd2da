import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openKbsStore } from '../../../src/kbs/store/open-store.js';
import { TokenService } from '../../../src/kbs/auth/tokens.js';
import { createKeyring } from '../../../src/kbs/crypto/keyring.js';
import { bootstrapAdminToken, bootstrapAdminTokenFromFile } from '../../../src/kbs/auth/bootstrap.js';
import { KbsStoreError } from '../../../src/kbs/store/errors.js';

test('first start: one admin token, 0600 in a 0700 directory, a stale file replaced, concurrent starts mint one', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kubetee-kbs-boot-'));
  const store = await openKbsStore(`sqlite:${join(dir, 'kbs.db')}`);
  try {
    const tokens = new TokenService({ store, keyring: createKeyring([Buffer.alloc(32, 7)]) });
    const file = join(dir, 'secret', 'admin.token');
    // Two starts racing (same store): exactly one creates a token.
    const results = await Promise.all([bootstrapAdminToken(tokens, file), bootstrapAdminToken(tokens, file)]);
    assert.equal(results.filter((r) => r.created).length, 1);
    assert.equal((await tokens.list()).length, 1);
    const token = readFileSync(file, 'utf8').trim();
    assert.equal((await tokens.authenticate(token)).role, 'admin');
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.equal(statSync(join(dir, 'secret')).mode & 0o777, 0o700);
    assert.deepEqual(readdirSync(join(dir, 'secret')), ['admin.token'], 'no temporary files left behind');
    // Later starts leave the file alone.
    assert.deepEqual(await bootstrapAdminToken(tokens, file), { created: false });
    assert.equal(readFileSync(file, 'utf8').trim(), token);
    const audit = await store.transaction('read', (tx) => tx.listAudit({ limit: 10 }));
    assert.deepEqual(audit.map((a) => [a.actor, a.action]), [['system', 'token.create']]);
  } finally {
    await store.close();
  }

  // A fresh database with a stale token file from an old one: the file is replaced.
  const store2 = await openKbsStore(`sqlite:${join(dir, 'kbs2.db')}`);
  try {
    const file = join(dir, 'secret', 'admin.token');
    writeFileSync(file, 'kbt_stale\n', { mode: 0o600 });
    const r = await bootstrapAdminToken(new TokenService({ store: store2, keyring: createKeyring([Buffer.alloc(32, 7)]) }), file);
    assert.equal(r.created, true);
    assert.notEqual(readFileSync(file, 'utf8').trim(), 'kbt_stale');
    // An unusable location is a typed error, and no token is minted for it.
    const blocked = join(dir, 'blocker');
    writeFileSync(blocked, 'a file where a directory should be');
    const store3 = await openKbsStore(`sqlite:${join(dir, 'kbs3.db')}`);
    try {
      const t3 = new TokenService({ store: store3, keyring: createKeyring([Buffer.alloc(32, 7)]) });
      await assert.rejects(bootstrapAdminToken(t3, join(blocked, 'admin.token')), { code: 'TOKEN_FILE_UNUSABLE' });
      assert.equal(await t3.isEmpty(), true);
    } finally {
      await store3.close();
    }
  } finally {
    await store2.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('--bootstrap-token-file: the given token is the first admin token; malformed or unreadable is a typed error; a non-empty store ignores the file', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kubetee-kbs-bootfile-'));
  const keyring = createKeyring([Buffer.alloc(32, 7)]);
  const given = `kbt_${Buffer.alloc(32, 9).toString('base64url')}`;
  const file = join(dir, 'token');
  writeFileSync(file, `  ${given}\n`);
  const store = await openKbsStore(`sqlite:${join(dir, 'kbs.db')}`);
  try {
    const tokens = new TokenService({ store, keyring });
    const r = await bootstrapAdminTokenFromFile(tokens, file);
    assert.equal(r.created, true);
    assert.equal(r.source, 'file');
    assert.equal(r.file, file);
    assert.equal((await tokens.authenticate(given)).role, 'admin');
    assert.ok(!readdirSync(dir).some((f) => f.includes('admin')), 'nothing written to disk');
    // Tokens exist: the file is not read at all (not even validated), the store is unchanged.
    writeFileSync(file, 'garbage');
    assert.deepEqual(await bootstrapAdminTokenFromFile(tokens, file), { created: false });
    assert.deepEqual(await bootstrapAdminTokenFromFile(tokens, join(dir, 'missing')), { created: false });
    assert.equal((await tokens.list()).length, 1);
  } finally {
    await store.close();
  }

  const empty = await openKbsStore(`sqlite:${join(dir, 'kbs2.db')}`);
  try {
    const tokens = new TokenService({ store: empty, keyring });
    const secret = `kbt_${'x'.repeat(42)}`; // one character short
    for (const content of [secret, `${given}${given}`, '', `${given}\nkbt_second`, 'not a token']) {
      writeFileSync(file, content);
      await assert.rejects(bootstrapAdminTokenFromFile(tokens, file), (err: Error & { code: string }) => {
        assert.equal(err.code, 'BOOTSTRAP_TOKEN_INVALID');
        assert.ok(err instanceof KbsStoreError);
        assert.ok(!content || !err.message.includes(content.trim()), 'the file content is never echoed');
        return true;
      });
    }
    await assert.rejects(bootstrapAdminTokenFromFile(tokens, join(dir, 'missing')), { code: 'TOKEN_FILE_UNUSABLE' });
    // createFirstAdmin refuses a value that is not a token, too.
    await assert.rejects(tokens.createFirstAdmin(undefined, { token: 'kbt_short' }), { code: 'BOOTSTRAP_TOKEN_INVALID' });
    assert.equal(await tokens.isEmpty(), true, 'no token minted on a failed bootstrap');
  } finally {
    await empty.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
