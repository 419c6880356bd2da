import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { flattenedDecrypt } from 'jose';
import { encryptToTee, concatKdfSha256 } from '../../../src/kbs/protocol/jwe.js';
import { parseTeePubKey } from '../../../src/kbs/protocol/tee-key.js';

function ecKey(curve: 'prime256v1' | 'secp521r1') {
  const pair = generateKeyPairSync('ec', { namedCurve: curve });
  return { ...pair, tee: parseTeePubKey({ ...pair.publicKey.export({ format: 'jwk' }), alg: 'ECDH-ES+A256KW' }) };
}

/** What the Trustee guest client does: decode the header, re-serialise alg, enc, then the rest, compactly. */
function trusteeClientAad(protectedB64: string): string {
  const h = JSON.parse(Buffer.from(protectedB64, 'base64url').toString('utf8')) as Record<string, unknown>;
  const { alg, enc, ...rest } = h;
  return Buffer.from(JSON.stringify({ alg, enc, ...rest }), 'utf8').toString('base64url');
}

for (const curve of ['prime256v1', 'secp521r1'] as const) {
  test(`ECDH-ES+A256KW (${curve}): decrypts with the TEE private key via an independent JOSE implementation`, async () => {
    const k = ecKey(curve);
    const jwe = encryptToTee(k.tee, Buffer.from('model key'));
    const out = await flattenedDecrypt(jwe, k.privateKey);
    assert.equal(Buffer.from(out.plaintext).toString(), 'model key');
    assert.equal(Buffer.from(jwe.encrypted_key, 'base64url').length, 40);
    assert.equal(Buffer.from(jwe.iv, 'base64url').length, 12);
    assert.equal(Buffer.from(jwe.tag, 'base64url').length, 16);
    assert.equal('aad' in jwe, false);
  });
}

test('protected header has Trustee\'s exact byte order, so the re-serialising client computes the same AAD', () => {
  const k = ecKey('prime256v1');
  const jwe = encryptToTee(k.tee, Buffer.from('x'));
  const header = Buffer.from(jwe.protected, 'base64url').toString('utf8');
  assert.match(header, /^\{"alg":"ECDH-ES\+A256KW","enc":"A256GCM","epk":\{"crv":"P-256","kty":"EC","x":"[A-Za-z0-9_-]{43}","y":"[A-Za-z0-9_-]{43}"\}\}$/);
  assert.equal(trusteeClientAad(jwe.protected), jwe.protected);
});

test('the JWE does not decrypt with any other private key', async () => {
  const k = ecKey('prime256v1');
  const other = ecKey('prime256v1');
  const jwe = encryptToTee(k.tee, Buffer.from('secret'));
  await assert.rejects(flattenedDecrypt(jwe, other.privateKey));
  // A flipped ciphertext byte fails authentication.
  const ct = Buffer.from(jwe.ciphertext, 'base64url');
  ct[0]! ^= 1;
  await assert.rejects(flattenedDecrypt({ ...jwe, ciphertext: ct.toString('base64url') }, k.privateKey));
});

test('RSA-OAEP-256: decrypts with the RSA private key', async () => {
  const pair = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const tee = parseTeePubKey({ ...pair.publicKey.export({ format: 'jwk' }), alg: 'RSA-OAEP-256' });
  const jwe = encryptToTee(tee, Buffer.from('rsa secret'));
  assert.equal(Buffer.from(jwe.protected, 'base64url').toString(), '{"alg":"RSA-OAEP-256","enc":"A256GCM"}');
  const out = await flattenedDecrypt(jwe, pair.privateKey);
  assert.equal(Buffer.from(out.plaintext).toString(), 'rsa secret');
});

test('kbs-types AAD vector: {"alg":"fakealg","enc":"fakeenc"} encodes to the documented string', () => {
  assert.equal(Buffer.from('{"alg":"fakealg","enc":"fakeenc"}').toString('base64url'), 'eyJhbGciOiJmYWtlYWxnIiwiZW5jIjoiZmFrZWVuYyJ9');
  assert.equal(concatKdfSha256(Buffer.alloc(32), 'ECDH-ES+A256KW', 256).length, 32);
});
