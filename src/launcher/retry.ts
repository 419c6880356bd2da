/**
 * Retries an operation with exponential backoff until an absolute deadline.
 * Pure apart from the injected clock, sleep and randomness, so tests drive it
 * without waiting.
 */
export interface RetryOptions {
  /** Absolute deadline (epoch ms, same clock as `now`). */
  deadlineMs: number;
  initialDelayMs: number;
  maxDelayMs: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  /** [0, 1); the delay is between half and all of the exponential step ("equal jitter"). */
  random?: () => number;
  /** Called before each wait; `err` is the failure that caused it. */
  onRetry?: (info: { attempt: number; delayMs: number; err: unknown }) => void;
}

export class DeadlineExceeded extends Error {
  constructor(
    readonly attempts: number,
    readonly lastError: unknown,
  ) {
    super(`gave up after ${attempts} attempt${attempts === 1 ? '' : 's'}`);
  }
}

/**
 * Runs `fn(remainingMs, attempt)` until it succeeds, throws an error that
 * `isRetryable` rejects (rethrown as is), or the next attempt would start
 * after the deadline (DeadlineExceeded, carrying the last error).
 */
export async function retryUntilDeadline<T>(fn: (remainingMs: number, attempt: number) => Promise<T>, isRetryable: (err: unknown) => boolean, options: RetryOptions): Promise<T> {
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const random = options.random ?? Math.random;
  for (let attempt = 1; ; attempt++) {
    const remaining = options.deadlineMs - now();
    if (remaining <= 0) throw new DeadlineExceeded(attempt - 1, undefined);
    try {
      return await fn(remaining, attempt);
    } catch (err) {
      if (!isRetryable(err)) throw err;
      const step = Math.min(options.maxDelayMs, options.initialDelayMs * 2 ** Math.min(attempt - 1, 30));
      const delayMs = Math.round(step / 2 + (step / 2) * random());
      if (now() + delayMs >= options.deadlineMs) throw new DeadlineExceeded(attempt, err);
      options.onRetry?.({ attempt, delayMs, err });
      await sleep(delayMs);
    }
  }
}
