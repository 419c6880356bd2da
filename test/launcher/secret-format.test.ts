import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatForTarget } from '../../src/launcher/secret-format.js';
import { LaunchError } from '../../src/launcher/errors.js';

const key = { kind: 'gramineKey', name: 'k' } as const;
const env = (encoding: 'utf8' | 'base64' | 'hex') => ({ kind: 'env', name: 'E', encoding }) as const;
const bytes = (...b: number[]) => new Uint8Array(b);

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof LaunchError);
    assert.equal(err.exitCode, 65);
    assert.doesNotMatch(err.message, /s3cret/, 'values never appear in errors');
    return err.code;
  }
  return 'ok';
}

test('secret format: a Gramine key is 16 raw bytes or 32 hex digits, nothing else', () => {
  const raw = new Uint8Array(16).fill(7);
  assert.deepEqual(formatForTarget(raw, key, 's'), raw);
  const hex = Buffer.from('00112233445566778899aabbccddeeff\n');
  assert.deepEqual(Buffer.from(formatForTarget(new Uint8Array(hex), key, 's') as Uint8Array).toString('hex'), '00112233445566778899aabbccddeeff');
  assert.equal(code(() => formatForTarget(new Uint8Array(32), key, 's')), 'LAUNCH_SECRET_FORMAT');
  assert.equal(code(() => formatForTarget(new Uint8Array(15), key, 's')), 'LAUNCH_SECRET_FORMAT');
  assert.equal(code(() => formatForTarget(new Uint8Array(Buffer.from('zz112233445566778899aabbccddeeff')), key, 's')), 'LAUNCH_SECRET_FORMAT');
});

test('secret format: env values are UTF-8 without NUL unless encoded', () => {
  assert.equal(formatForTarget(new Uint8Array(Buffer.from('pässword')), env('utf8'), 's'), 'pässword');
  assert.equal(code(() => formatForTarget(new Uint8Array(Buffer.from('s3cret\0x')), env('utf8'), 's')), 'LAUNCH_SECRET_FORMAT');
  assert.equal(code(() => formatForTarget(bytes(0xc3, 0x28), env('utf8'), 's')), 'LAUNCH_SECRET_FORMAT');
  assert.equal(formatForTarget(bytes(0, 255), env('base64'), 's'), 'AP8=');
  assert.equal(formatForTarget(bytes(0, 255), env('hex'), 's'), '00ff');
  assert.deepEqual(formatForTarget(bytes(0, 1), { kind: 'file', path: 'x' }, 's'), bytes(0, 1));
});
