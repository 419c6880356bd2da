import { KubeteeError } from '../common/errors.js';

export type DemoErrorCode = 'DEMO_STACK_UNREACHABLE' | 'DEMO_REQUEST_FAILED' | 'DEMO_ADMIN_TOKEN_MISSING' | 'DEMO_FAILED';

export class DemoError extends KubeteeError<DemoErrorCode> {
  constructor(code: DemoErrorCode, message: string, options: { cause?: unknown; hint?: string } = {}) {
    super(code, message, options);
  }
}

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
    throw new DemoError('DEMO_STACK_UNREACHABLE', `cannot reach ${new URL(url).origin} (${(err as Error).message})`, {
      cause: err,
      hint: 'start the stack with `npx kubetee up` (or pass --url with its address)',
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
