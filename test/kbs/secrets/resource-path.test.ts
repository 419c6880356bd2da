import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseResourcePath } from '../../../src/kbs/secrets/resource-path.js';
import { normaliseExpiry } from '../../../src/kbs/secrets/service.js';

test('accepts Trustee-style repo/type/tag paths', () => {
  for (const ok of ['default/key/1', 'my-repo/License/key.v2', '_a/-b/c.d.e', `${'a'.repeat(128)}/b/c`]) assert.equal(parseResourcePath(ok), ok);
});

test('rejects everything else with INVALID_RESOURCE_PATH naming the segment', () => {
  const bad: [unknown, RegExp][] = [
    [undefined, /missing/],
    ['a/b', /2 segment/],
    ['a/b/c/d', /4 segment/],
    ['../b/c', /repo segment/],
    ['a/.b/c', /type segment/],
    ['a/b/', /tag segment/],
    ['a/b/c d', /tag segment/],
    ['a/b/ü', /tag segment/],
    [`${'a'.repeat(129)}/b/c`, /repo segment/],
  ];
  for (const [path, msg] of bad) {
    assert.throws(() => parseResourcePath(path), (err: Error & { code: string }) => err.code === 'INVALID_RESOURCE_PATH' && msg.test(err.message), String(path));
  }
});

test('expiry times are normalised to UTC ISO or refused', () => {
  assert.equal(normaliseExpiry('2027-01-31T01:00:00+01:00'), '2027-01-31T00:00:00.000Z');
  assert.equal(normaliseExpiry(null), null);
  for (const bad of ['tomorrow', '1700000000', '', '2027-13-45']) assert.throws(() => normaliseExpiry(bad), { code: 'INVALID_REQUEST' });
});
