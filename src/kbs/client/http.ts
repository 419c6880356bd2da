import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { KbsClientError } from './errors.js';

export interface HttpResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

export interface HttpOptions {
  /** Extra CA certificates (PEM) to trust for an https:// broker. */
  ca?: string | Buffer | undefined;
  timeoutMs?: number;
  /** Cap on the response size. */
  maxResponseBytes?: number;
}

/** One HTTP(S) request with a timeout and a response size cap (node:http, so a custom CA works). */
export function httpCall(method: 'GET' | 'POST', url: URL, headers: Record<string, string>, body: string | undefined, options: HttpOptions = {}): Promise<HttpResponse> {
  const timeoutMs = options.timeoutMs ?? 60_000;
  const max = options.maxResponseBytes ?? 16 * 1024 * 1024;
  return new Promise((resolve, reject) => {
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = send(
      url,
      {
        method,
        headers: body === undefined ? headers : { ...headers, 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) },
        timeout: timeoutMs,
        ...(options.ca ? { ca: options.ca } : {}),
      },
      (res) => {
        const parts: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > max) {
            req.destroy(new KbsClientError('KBS_CLIENT_BAD_RESPONSE', `the broker's reply exceeds ${max} bytes`));
            return;
          }
          parts.push(c);
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts) }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new KbsClientError('KBS_CLIENT_UNREACHABLE', `no answer from ${url.origin} within ${timeoutMs} ms`, { hint: 'check --kbs and that the broker is running' })));
    req.on('error', (err) => {
      if (err instanceof KbsClientError) reject(err);
      else
        reject(
          new KbsClientError('KBS_CLIENT_UNREACHABLE', `cannot reach the key broker at ${url.origin}: ${(err as NodeJS.ErrnoException).code ?? err.message}`, {
            cause: err,
            hint: url.protocol === 'https:' ? 'check --kbs, and pass --ca FILE if the broker uses a private CA' : 'check --kbs and that the broker is running',
          }),
        );
    });
    req.end(body);
  });
}
