import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../../helpers/cli.js';
import { KBS_PROTOCOL_ERRORS, KbsProtocolError, errorResponse } from '../../../src/kbs/protocol/errors.js';
import { TokenBucketLimiter } from '../../../src/kbs/protocol/rate-limit.js';

const DOC = readFileSync(join(REPO_ROOT, 'docs', 'key-broker.md'), 'utf8');

/** Every `'CODE'` member of a code union in a source file. */
function unionCodes(file: string): string[] {
  const text = readFileSync(join(REPO_ROOT, file), 'utf8');
  return [...text.matchAll(/\|\s*'([A-Z][A-Z_]+)'/g)].map((m) => m[1]!);
}

test('every protocol, policy, seal and client error code is documented in docs/key-broker.md', () => {
  const codes = [
    ...Object.keys(KBS_PROTOCOL_ERRORS),
    ...unionCodes('src/kbs/policy/errors.ts'),
    ...unionCodes('src/kbs/seal/errors.ts'),
    ...unionCodes('src/kbs/client/errors.ts'),
    'POLICY_DENIED',
  ];
  assert.ok(codes.length > 30);
  const missing = codes.filter((c) => !DOC.includes(`\`${c}\``));
  assert.deepEqual(missing, []);
  // And no documented KBS_ code that no longer exists.
  const documented = [...DOC.matchAll(/`(KBS_[A-Z_]+)`/g)].map((m) => m[1]!).filter((c) => !c.startsWith('KBS_CLIENT_') && !c.startsWith('KBS_BENCH'));
  assert.deepEqual(documented.filter((c) => !(c in KBS_PROTOCOL_ERRORS)), []);
  assert.ok(readdirSync(join(REPO_ROOT, 'src', 'kbs', 'protocol')).includes('errors.ts'));
});

test('error bodies carry Trustee\'s type URL, the detail, the code and the hint; trustee mode maps 403/404 to 401', () => {
  const denied = new KbsProtocolError('KBS_POLICY_DENIED', 'rule "x" failed', { hint: 'fix it' });
  assert.deepEqual(errorResponse(denied), {
    status: 403,
    body: { type: 'https://github.com/confidential-containers/kbs/errors/PolicyDeny', detail: 'rule "x" failed', code: 'KBS_POLICY_DENIED', hint: 'fix it' },
  });
  assert.equal(errorResponse(denied, 'trustee').status, 401);
  assert.equal(errorResponse(new KbsProtocolError('KBS_RESOURCE_NOT_FOUND', 'x'), 'trustee').status, 401);
  assert.equal(errorResponse(new KbsProtocolError('KBS_RESOURCE_PATH_INVALID', 'x'), 'trustee').status, 404);
});

test('token buckets: burst, refill over time, per client, bounded table', () => {
  let now = 0;
  const limiter = new TokenBucketLimiter({ ratePerSecond: 2, burst: 3, maxClients: 2, now: () => now });
  assert.deepEqual([limiter.take('a'), limiter.take('a'), limiter.take('a')], [0, 0, 0]);
  assert.equal(limiter.take('a'), 1);
  assert.equal(limiter.take('b'), 0);
  now += 500;
  assert.equal(limiter.take('a'), 0); // one token back after 0.5 s at 2/s
  assert.equal(limiter.take('a'), 1);
  limiter.take('c'); // evicts the least recently seen client (b)
  assert.deepEqual([limiter.take('b'), limiter.take('b'), limiter.take('b'), limiter.take('b')], [0, 0, 0, 1]);
  assert.throws(() => new TokenBucketLimiter({ ratePerSecond: 0, burst: 1, now: () => 0 }), RangeError);
});
