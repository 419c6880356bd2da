import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { createLogger } from '../../../src/common/log.js';
import { startBroker } from './harness.js';
import { AUTH_BODY, attestBody, bindingFor, get, post, teeKey } from './raw.js';

test('structured logs: JSON lines about attestations, releases and refusals, never nonces, tokens, quotes or secret values', async () => {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      done();
    },
  });
  const logger = createLogger({ level: 'debug', destination: sink });
  const broker = await startBroker({ server: { logger } });
  const secret = 'S3CRET-VALUE-do-not-log';
  let nonce = '';
  let token = '';
  let quoteB64 = '';
  try {
    await broker.data.service.create('token:test', { path: 'default/key/logged', value: Buffer.from(secret) });
    const { tee } = teeKey();
    const auth = await post(broker.url, '/kbs/v0/auth', AUTH_BODY);
    nonce = auth.body['nonce'] as string;
    const quote = broker.platform.quote({ reportData: bindingFor(nonce, tee) });
    const attest = await post(broker.url, '/kbs/v0/attest', attestBody(nonce, tee, quote), auth.cookie);
    token = attest.body['token'] as string;
    quoteB64 = Buffer.from(quote).toString('base64');
    const res = await get(broker.url, '/kbs/v0/resource/default/key/logged', auth.cookie);
    assert.equal(res.status, 200);
    await post(broker.url, '/kbs/v0/attest', attestBody(nonce, tee, quote), auth.cookie); // replay: refused and logged
  } finally {
    await broker.close();
  }
  const text = lines.join('\n');
  for (const line of lines) assert.doesNotThrow(() => JSON.parse(line), line);
  assert.ok(lines.some((l) => /"msg":"tee attested"/.test(l)));
  assert.ok(lines.some((l) => /"msg":"secret released"/.test(l) && /default\/key\/logged/.test(l)));
  assert.ok(lines.some((l) => /"msg":"kbs request refused"/.test(l) && /KBS_NONCE_REPLAYED/.test(l)));
  assert.equal(text.includes(secret), false);
  assert.equal(text.includes(Buffer.from(secret).toString('base64')), false);
  for (const forbidden of [/kbs-session-id=/, /eyJhbGciOiJFUzI1Ni/]) assert.doesNotMatch(text, forbidden);
  assert.ok(nonce.length > 0 && token.length > 0);
  assert.equal(text.includes(nonce), false);
  assert.equal(text.includes(token), false);
  assert.equal(text.includes(quoteB64.slice(0, 64)), false);
});
