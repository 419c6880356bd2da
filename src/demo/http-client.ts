import { DemoError } from './errors.js';
import { describeFetchFailure } from '../common/net-errors.js';

export { DemoError, type DemoErrorCode } from './errors.js';

/** Small JSON-over-HTTP helper with a timeout; errors carry the server's code and message. */
export async function requestJson<T>(method: string, url: string, options: { body?: unknown; token?: string; timeoutMs?: number } = {}): Promise<T> {
  const headers: Record<string, string> = {};
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  if (options.token) headers['authorization'] = `Bearer ${options.token}`;
  let res: Response;
  try {
    res = await fetch(url, {
      method,
      headers,
      ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
      signal: AbortSignal.timeout(options.timeoutMs ?? 15_000),
    });
  } catch (err) {
    throw new DemoError('DEMO_STACK_UNREACHABLE', `kubetee up at ${new URL(url).origin} is not reachable (${describeFetchFailure(err, options.timeoutMs ?? 15_000)})`, {
      cause: err,
      hint: 'start it with `npx kubetee up` in another terminal, or pass --url with the address it printed (or leave out --url to run the demo on a stack of its own)',
    });
  }
  const text = await res.text();
  let json: unknown;
  try {
    json = text === '' ? {} : JSON.parse(text);
  } catch {
    json = { message: text.slice(0, 200) };
  }
  if (!res.ok) {
    const body = json as { code?: unknown; message?: unknown };
    const code = typeof body.code === 'string' ? body.code : `HTTP_${res.status}`;
    throw new DemoError('DEMO_REQUEST_FAILED', `${method} ${new URL(url).pathname} answered ${res.status} ${code}: ${typeof body.message === 'string' ? body.message : ''}`, {
      hint: 'check the kubetee up log for details',
    });
  }
  return json as T;
}
