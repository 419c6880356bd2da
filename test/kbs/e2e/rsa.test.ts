import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { flattenedDecrypt } from 'jose';
import { parseTeePubKey } from '../../../src/kbs/protocol/tee-key.js';
import { startBroker } from './harness.js';
import { AUTH_BODY, attestBody, bindingFor, get, post } from './raw.js';

test('an RSA TEE key (RSA-OAEP-256) is bound, attested and receives a JWE only it can open', async () => {
  const broker = await startBroker();
  try {
    await broker.data.service.create('token:test', { path: 'default/key/rsa', value: Buffer.from('rsa-wrapped') });
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const tee = parseTeePubKey({ ...publicKey.export({ format: 'jwk' }), alg: 'RSA-OAEP-256' });
    const auth = await post(broker.url, '/kbs/v0/auth', AUTH_BODY);
    const nonce = auth.body['nonce'] as string;
    const attest = await post(broker.url, '/kbs/v0/attest', attestBody(nonce, tee, broker.platform.quote({ reportData: bindingFor(nonce, tee) })), auth.cookie);
    assert.equal(attest.status, 200, JSON.stringify(attest.body));
    const res = await get(broker.url, '/kbs/v0/resource/default/key/rsa', auth.cookie);
    assert.equal(res.status, 200);
    assert.equal(Buffer.from(res.body['protected'] as string, 'base64url').toString(), '{"alg":"RSA-OAEP-256","enc":"A256GCM"}');
    const jwe = res.body as unknown as Parameters<typeof flattenedDecrypt>[0];
    assert.equal(Buffer.from((await flattenedDecrypt(jwe, privateKey)).plaintext).toString(), 'rsa-wrapped');
    await assert.rejects(flattenedDecrypt(jwe, generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey));
  } finally {
    await broker.close();
  }
});
