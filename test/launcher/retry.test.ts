import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DeadlineExceeded, retryUntilDeadline } from '../../src/launcher/retry.js';

/** A fake clock: sleeping advances it, so the tests never wait. */
function clock(): { now: () => number; sleep: (ms: number) => Promise<void>; slept: number[] } {
  let t = 1_000_000;
  const slept: number[] = [];
  return { now: () => t, sleep: async (ms) => void (slept.push(ms), (t += ms)), slept };
}

const transient = new Error('transient');
const permanent = new Error('permanent');
const retryable = (err: unknown): boolean => err === transient;

test('retry: backs off exponentially (with jitter between half and all of each step) up to the cap', async () => {
  const c = clock();
  let calls = 0;
  const result = await retryUntilDeadline(
    async () => {
      if (++calls < 6) throw transient;
      return 'ok';
    },
    retryable,
    { deadlineMs: c.now() + 60_000, initialDelayMs: 100, maxDelayMs: 1000, now: c.now, sleep: c.sleep, random: () => 0.999999 },
  );
  assert.equal(result, 'ok');
  assert.deepEqual(c.slept, [100, 200, 400, 800, 1000]);
  const low = clock();
  calls = 0;
  await retryUntilDeadline(async () => void (++calls < 3 && (() => { throw transient; })()), retryable, { deadlineMs: low.now() + 60_000, initialDelayMs: 100, maxDelayMs: 1000, now: low.now, sleep: low.sleep, random: () => 0 });
  assert.deepEqual(low.slept, [50, 100]);
});

test('retry: a permanent error is rethrown at once', async () => {
  const c = clock();
  await assert.rejects(retryUntilDeadline(async () => { throw permanent; }, retryable, { deadlineMs: c.now() + 60_000, initialDelayMs: 100, maxDelayMs: 1000, now: c.now, sleep: c.sleep }), (err) => err === permanent);
  assert.deepEqual(c.slept, []);
});

test('retry: stops before the deadline with the last error, and hands each attempt the time left', async () => {
  const c = clock();
  const remaining: number[] = [];
  await assert.rejects(
    retryUntilDeadline(
      async (left) => {
        remaining.push(left);
        throw transient;
      },
      retryable,
      { deadlineMs: c.now() + 1000, initialDelayMs: 200, maxDelayMs: 200, now: c.now, sleep: c.sleep, random: () => 0.999999 },
    ),
    (err) => err instanceof DeadlineExceeded && err.lastError === transient && err.attempts === 5,
  );
  assert.deepEqual(remaining, [1000, 800, 600, 400, 200]);
  assert.ok(c.now() < 1_000_000 + 1000, 'never sleeps past the deadline');
});
