import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createKeyring, masterKeyId, parseKeyringText } from '../../../src/kbs/crypto/keyring.js';
import { openValue, rewrapValue, sealValue } from '../../../src/kbs/crypto/envelope.js';
import { loadKeyring, MASTER_KEY_ENV } from '../../../src/kbs/crypto/load-keyring.js';

const K1 = Buffer.alloc(32, 0x11);
const K2 = Buffer.alloc(32, 0x22);

test('seal/open round-trips and binds path and version', () => {
  const ring = createKeyring([K1]);
  const sealed = sealValue(ring, 'a/b/c', 3, Buffer.from('value'));
  assert.equal(sealed.keyId, masterKeyId(K1));
  assert.equal(openValue(ring, 'a/b/c', 3, sealed).toString(), 'value');
  assert.throws(() => openValue(ring, 'a/b/d', 3, sealed), { code: 'DECRYPT_FAILED' });
  assert.throws(() => openValue(ring, 'a/b/c', 4, sealed), { code: 'DECRYPT_FAILED' });
  // Claiming another key id does not help either.
  const ring2 = createKeyring([K2, K1]);
  assert.throws(() => openValue(ring2, 'a/b/c', 3, { ...sealed, keyId: masterKeyId(K2) }), { code: 'DECRYPT_FAILED' });
  assert.throws(() => openValue(createKeyring([K2]), 'a/b/c', 3, sealed), { code: 'MASTER_KEY_UNKNOWN' });
  const cut = { ...sealed, ciphertext: sealed.ciphertext.subarray(0, 10) };
  assert.throws(() => openValue(ring, 'a/b/c', 3, cut), { code: 'DECRYPT_FAILED' });
});

test('each value gets its own data key and IV (same plaintext, different ciphertexts)', () => {
  const ring = createKeyring([K1]);
  const a = sealValue(ring, 'a/b/c', 1, Buffer.from('same'));
  const b = sealValue(ring, 'a/b/c', 1, Buffer.from('same'));
  assert.notDeepEqual(a.ciphertext, b.ciphertext);
  assert.notDeepEqual(a.wrappedKey, b.wrappedKey);
});

test('rewrap moves the data key to the active master key and leaves the ciphertext alone', () => {
  const sealed = sealValue(createKeyring([K1]), 'a/b/c', 1, Buffer.from('v'));
  const ring = createKeyring([K2, K1]);
  const moved = rewrapValue(ring, 'a/b/c', 1, sealed);
  assert.equal(moved.keyId, masterKeyId(K2));
  assert.deepEqual(moved.ciphertext, sealed.ciphertext);
  assert.equal(openValue(createKeyring([K2]), 'a/b/c', 1, moved).toString(), 'v');
  assert.equal(rewrapValue(ring, 'a/b/c', 1, moved), moved);
});

test('keyring text: first key active, comments and commas, typed errors', () => {
  const text = `# rotated 2026-11\n${K2.toString('base64')}\n${K1.toString('base64url')} # old\n`;
  const ring = parseKeyringText(text, 'test');
  assert.equal(ring.active.id, masterKeyId(K2));
  assert.deepEqual(ring.ids(), [masterKeyId(K2), masterKeyId(K1)]);
  assert.equal(parseKeyringText(`${K1.toString('base64')},${K2.toString('base64')}`, 'env').active.id, masterKeyId(K1));
  assert.throws(() => parseKeyringText('# nothing\n', 'f'), { code: 'MASTER_KEY_MISSING' });
  assert.throws(() => parseKeyringText('not base64 !!', 'f'), { code: 'MASTER_KEY_INVALID' });
  assert.throws(() => parseKeyringText(Buffer.alloc(16).toString('base64'), 'f'), (err: Error & { code: string }) => err.code === 'MASTER_KEY_INVALID' && /16 bytes/.test(err.message));
  const wiped = createKeyring([K1]);
  wiped.wipe();
  assert.ok(wiped.active.key.every((b) => b === 0));
  assert.ok(K1.every((b) => b === 0x11), 'the caller’s buffer is copied, not wiped');
});

test('loadKeyring fails closed: missing, world-readable, or beside the database', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kubetee-kbs-key-'));
  try {
    assert.throws(() => loadKeyring({ env: {} }), { code: 'MASTER_KEY_MISSING' });
    assert.equal(loadKeyring({ env: { [MASTER_KEY_ENV]: K1.toString('base64') } }).active.id, masterKeyId(K1));
    const file = join(dir, 'keys', 'master.key');
    mkdirSync(join(dir, 'keys'));
    writeFileSync(file, `${K1.toString('base64')}\n`, { mode: 0o644 });
    chmodSync(file, 0o644);
    assert.throws(() => loadKeyring({ file }), { code: 'MASTER_KEY_FILE_INSECURE' });
    chmodSync(file, 0o600);
    assert.equal(loadKeyring({ file, dataPath: join(dir, 'data', 'kbs.db') }).active.id, masterKeyId(K1));
    assert.throws(() => loadKeyring({ file, dataPath: join(dir, 'keys', 'kbs.db') }), { code: 'MASTER_KEY_BESIDE_DATA' });
    assert.throws(() => loadKeyring({ file: join(dir, 'absent') }), { code: 'MASTER_KEY_MISSING' });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
