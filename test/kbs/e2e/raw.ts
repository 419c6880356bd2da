/** Raw protocol steps (no client library) for replay and binding tests. */
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { expectedReportData } from '../../../src/kbs/protocol/report-data.js';
import { parseTeePubKey, type TeePubKey } from '../../../src/kbs/protocol/tee-key.js';

export interface RawResponse {
  status: number;
  body: Record<string, unknown>;
  cookie: string | undefined;
}

export async function post(url: string, path: string, body: unknown, cookie?: string): Promise<RawResponse> {
  const res = await fetch(`${url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(cookie ? { cookie: `kbs-session-id=${cookie}` } : {}) },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return wrap(res);
}

export async function get(url: string, path: string, cookie?: string, headers: Record<string, string> = {}): Promise<RawResponse> {
  const res = await fetch(`${url}${path}`, { headers: { ...headers, ...(cookie ? { cookie: `kbs-session-id=${cookie}` } : {}) } });
  return wrap(res);
}

async function wrap(res: Response): Promise<RawResponse> {
  const text = await res.text();
  let body: Record<string, unknown> = {};
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    body = { text };
  }
  const m = /kbs-session-id=([0-9a-f]+)/.exec(res.headers.get('set-cookie') ?? '');
  return { status: res.status, body, cookie: m?.[1] };
}

export function teeKey(): { privateKey: KeyObject; tee: TeePubKey } {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const jwk = publicKey.export({ format: 'jwk' });
  return { privateKey, tee: parseTeePubKey({ kty: 'EC', crv: 'P-256', alg: 'ECDH-ES+A256KW', x: jwk.x, y: jwk.y }) };
}

export function attestBody(nonce: string, tee: TeePubKey, quote: Uint8Array): Record<string, unknown> {
  return {
    'runtime-data': { nonce, 'tee-pubkey': tee },
    'tee-evidence': { primary_evidence: { quote: Buffer.from(quote).toString('base64') }, additional_evidence: '' },
  };
}

export function bindingFor(nonce: string, tee: TeePubKey): Uint8Array {
  return expectedReportData(nonce, tee, '');
}

export const AUTH_BODY = { version: '0.4.0', tee: 'sgx', 'extra-params': { 'supported-hash-algorithms': ['sha384'] } };
