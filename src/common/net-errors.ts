/**
 * Why a `fetch` failed, in words a user can act on: the system error code
 * (ECONNREFUSED, ENOTFOUND, ...) or a timeout, never just "TypeError" or
 * "fetch failed" (undici hides the real reason in `cause`, sometimes inside
 * an AggregateError when a name resolves to several addresses).
 */
export function describeFetchFailure(err: unknown, timeoutMs?: number): string {
  const e = err as { name?: string; message?: string; cause?: unknown };
  if (e?.name === 'TimeoutError' || e?.name === 'AbortError') return timeoutMs === undefined ? 'no answer in time' : `no answer within ${timeoutMs} ms`;
  const cause = e?.cause as { code?: string; message?: string; errors?: { code?: string; message?: string }[] } | undefined;
  const inner = cause?.errors?.find((x) => x?.code) ?? cause;
  if (inner?.code) return inner.code;
  if (cause?.message) return cause.message;
  return e?.message ?? String(err);
}
