/**
 * Master key rotation without downtime, on one live broker data half: the
 * keyring file changes, the process reloads it, data keys are re-wrapped
 * while releases keep succeeding, and the old key is dropped.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openKbsData } from '../../../src/kbs/secrets/open-kbs-data.js';
import { masterKeyId } from '../../../src/kbs/crypto/keyring.js';

const K1 = Buffer.alloc(32, 0xa1);
const K2 = Buffer.alloc(32, 0xb2);

test('rotate the master key live: reload, re-wrap under load, drop the old key; no release fails', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kubetee-kbs-rotate-'));
  mkdirSync(join(dir, 'keys'), { mode: 0o700 });
  const keyFile = join(dir, 'keys', 'master.key');
  const writeKeys = (...keys: Buffer[]): void => writeFileSync(keyFile, keys.map((k) => k.toString('base64')).join('\n'), { mode: 0o600 });
  writeKeys(K1);
  const data = await openKbsData({ db: `sqlite:${join(dir, 'data', 'kbs.db')}`, masterKeyFile: keyFile, adminTokenFile: join(dir, 'data', 'admin.token') });
  try {
    const svc = data.service;
    for (let i = 0; i < 40; i++) await svc.create('token:a', { path: `app/key/k${i}`, kind: 'key' });
    const expected = new Map<string, string>();
    for (let i = 0; i < 40; i++) expected.set(`app/key/k${i}`, (await svc.getReleasableSecret(`app/key/k${i}`, new Date())).value.toString('hex'));

    // Releases run continuously through every step below.
    let stop = false;
    let releases = 0;
    const failures: string[] = [];
    const reader = (async () => {
      for (let n = 0; !stop && n < 100_000; n++) {
        const path = `app/key/k${n % 40}`;
        try {
          const s = await svc.getReleasableSecret(path, new Date());
          if (s.value.toString('hex') !== expected.get(path)) failures.push(`${path}: wrong value`);
          releases++;
        } catch (err) {
          failures.push(`${path}: ${(err as { code?: string }).code}`);
        }
        await new Promise((r) => setImmediate(r));
      }
    })();

    /** Waits (bounded) until the reader has done `n` more releases: every step overlaps live traffic. */
    const moreReleases = async (n: number): Promise<void> => {
      const target = releases + n;
      for (let i = 0; releases < target && i < 500; i++) await new Promise((r) => setTimeout(r, 10));
      assert.ok(releases >= target, 'the reader stalled');
    };
    await moreReleases(10);

    // A bad keyring file is refused and the running keyring stays.
    writeFileSync(keyFile, 'not a key', { mode: 0o600 });
    assert.throws(() => data.reloadKeyring(), { code: 'MASTER_KEY_INVALID' });
    assert.equal(svc.activeMasterKeyId, masterKeyId(K1));

    writeKeys(K2, K1);
    assert.equal(data.reloadKeyring(), masterKeyId(K2));
    await moreReleases(10);
    await svc.create('token:a', { path: 'app/key/new', kind: 'key' });
    assert.equal((await svc.describe('app/key/new')).versions[0]!.masterKeyId, masterKeyId(K2));
    const [r] = await Promise.all([svc.rewrapAll('token:admin', { batchSize: 7 }), moreReleases(5)]);
    assert.equal(r.rewrapped, 40);
    assert.deepEqual(r.rowMacs, { policies: 0, tokens: 1, tampered: [] });

    writeKeys(K2);
    data.reloadKeyring();
    await moreReleases(10);
    stop = true;
    await reader;
    assert.deepEqual(failures, []);
    for (const [path, hex] of expected) assert.equal((await svc.getReleasableSecret(path, new Date())).value.toString('hex'), hex);
    const audit = await svc.listAudit({ limit: 1000 });
    // 6 batches of data keys and the bootstrap admin token's re-MAC.
    assert.equal(audit.filter((a) => a.action === 'master-key.rewrap').length, 7);
    // The admin token row, re-MAC'd under K2, still authenticates once K1 is gone.
    assert.equal((await data.tokens.authenticate(readFileSync(join(dir, 'data', 'admin.token'), 'utf8').trim())).role, 'admin');
    assert.equal((await svc.verifyAudit()).ok, true);
  } finally {
    await data.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
