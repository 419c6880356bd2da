import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { canonicalJson } from '../../../src/kbs/protocol/jcs.js';
import { expectedReportData } from '../../../src/kbs/protocol/report-data.js';
import { parseTeePubKey } from '../../../src/kbs/protocol/tee-key.js';
import { KbsProtocolError } from '../../../src/kbs/protocol/errors.js';
import { generateKeyPairSync } from 'node:crypto';

test('JCS matches Trustee\'s parse_runtimedata_json_binding vector', () => {
  const text = canonicalJson({ b: 1, a: 'test', c: { d: 'e' } });
  assert.equal(text, '{"a":"test","b":1,"c":{"d":"e"}}');
  assert.equal(
    createHash('sha384').update(text).digest('hex'),
    'e71ce8e70d814ba6639c3612ebee0ff1f76f650f8dbb5e47157e0f3f525cd22c4597480a186427c813ca941da78870c3',
  );
});

test('JCS: numbers and escapes follow ECMAScript, member order by UTF-16 code units', () => {
  assert.equal(canonicalJson({ '\u20ac': 1, '\r': 2, a: [1e21, 0.1, -0, 'é\n'] }), '{"\\r":2,"a":[1e+21,0.1,0,"é\\n"],"€":1}');
  assert.throws(() => canonicalJson({ a: NaN }), TypeError);
});

test('REPORTDATA binding reproduces the documented vector (canonical text, SHA-384, zero padding)', () => {
  const jwk = {
    kty: 'EC',
    crv: 'P-256',
    alg: 'ECDH-ES+A256KW',
    x: 'AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA',
    y: 'ISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0-P0A',
  } as const;
  const nonce = 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=';
  // The vector uses illustrative coordinates (not a curve point), so build the key object directly.
  const rd = expectedReportData(nonce, jwk);
  assert.equal(rd.length, 64);
  assert.equal(
    Buffer.from(rd.subarray(0, 48)).toString('hex'),
    '61802ab20fd1e63ce7d250d9c16b004e7742d206f445d5ae5fe130080beebb23bbc38ba6b02a403050f97e3b811dc1fa',
  );
  assert.deepEqual([...rd.subarray(48)], new Array(16).fill(0));
});

test('tee-pubkey: extra JWK members are dropped before hashing; bad keys get KBS_TEE_KEY_INVALID', () => {
  const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const jwk = publicKey.export({ format: 'jwk' });
  const parsed = parseTeePubKey({ ...jwk, alg: 'ECDH-ES+A256KW', kid: 'k1', use: 'enc' });
  assert.deepEqual(Object.keys(parsed).sort(), ['alg', 'crv', 'kty', 'x', 'y']);
  const code = (f: () => unknown): string => {
    try {
      f();
    } catch (err) {
      assert.ok(err instanceof KbsProtocolError);
      return err.code;
    }
    return 'no error';
  };
  assert.equal(code(() => parseTeePubKey({ ...jwk, crv: 'P-384' })), 'KBS_TEE_KEY_INVALID');
  assert.equal(code(() => parseTeePubKey({ ...jwk, x: `${jwk.x}=` })), 'KBS_TEE_KEY_INVALID');
  assert.equal(code(() => parseTeePubKey({ ...jwk, x: 'AQID' })), 'KBS_TEE_KEY_INVALID');
  // Right sizes but not a point on the curve.
  assert.equal(code(() => parseTeePubKey({ ...jwk, y: Buffer.alloc(32, 7).toString('base64url') })), 'KBS_TEE_KEY_INVALID');
  assert.equal(code(() => parseTeePubKey({ kty: 'RSA', alg: 'RSA1_5', n: 'AQAB', e: 'AQAB' })), 'KBS_TEE_KEY_INVALID');
  assert.equal(code(() => parseTeePubKey('not a key')), 'KBS_TEE_KEY_INVALID');
  const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ format: 'jwk' });
  assert.equal(code(() => parseTeePubKey({ ...rsa, alg: 'RSA-OAEP-256' })), 'KBS_TEE_KEY_INVALID');
});
