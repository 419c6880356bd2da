import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { decodeJwt, flattenedDecrypt } from 'jose';
import { expectedReportData } from '../protocol/report-data.js';
import { parseTeePubKey, type TeePubKey } from '../protocol/tee-key.js';
import { KBS_PROTOCOL_VERSION, SESSION_COOKIE } from '../protocol/constants.js';
import type { AttestationClaims } from '../policy/claims.js';
import type { EvidenceProvider } from './evidence.js';
import { KbsClientError } from './errors.js';
import { httpCall, type HttpOptions, type HttpResponse } from './http.js';

export interface KbsClientOptions extends HttpOptions {
  /** Broker base URL, e.g. https://kbs.example:8080. */
  url: string;
  evidence: EvidenceProvider;
}

export interface AttestResult {
  token: string;
  /** The broker's verified claims, decoded from the token (informational; the broker re-checks them). */
  claims: AttestationClaims | undefined;
}

/**
 * Client for the Trustee KBS protocol: auth (challenge), attest (evidence
 * bound to a fresh TEE key) and resource (JWE decrypted with that key). The
 * TEE key pair lives only in this object; the private key never leaves it.
 *
 * @example
 * const kbs = new KbsClient({ url, evidence: gramineEvidence() });
 * const key = await kbs.getResource('models/key/llama');
 */
export class KbsClient {
  private readonly base: URL;
  private cookie: string | undefined;
  private privateKey: KeyObject | undefined;
  private lastClaims: AttestationClaims | undefined;

  constructor(private readonly options: KbsClientOptions) {
    try {
      this.base = new URL(options.url);
    } catch (err) {
      throw new KbsClientError('KBS_CLIENT_UNREACHABLE', `"${options.url}" is not a URL`, { cause: err, hint: 'pass --kbs like http://127.0.0.1:8080' });
    }
    if (this.base.protocol !== 'http:' && this.base.protocol !== 'https:') {
      throw new KbsClientError('KBS_CLIENT_UNREACHABLE', `"${options.url}" is not an http(s) URL`, { hint: 'pass --kbs like https://kbs.example:8080' });
    }
  }

  get claims(): AttestationClaims | undefined {
    return this.lastClaims;
  }

  /**
   * Runs the RCAR handshake: /auth, then /attest with a fresh P-256 key bound into REPORTDATA.
   * `additionalEvidence` (a string, usually JSON) is bound into REPORTDATA too; kubetee launch uses
   * it for the workload certificate key (`{"svid-pubkey": JWK}`, src/kbs/identity).
   */
  async attest(options: { additionalEvidence?: string } = {}): Promise<AttestResult> {
    const additional = options.additionalEvidence ?? '';
    this.cookie = undefined;
    const auth = await this.call('POST', 'kbs/v0/auth', { version: KBS_PROTOCOL_VERSION, tee: this.options.evidence.tee, 'extra-params': '' });
    const challenge = this.json(auth) as { nonce?: unknown };
    if (typeof challenge.nonce !== 'string') throw new KbsClientError('KBS_CLIENT_BAD_RESPONSE', 'the /auth reply has no nonce');
    this.cookie = cookieFrom(auth);
    if (!this.cookie) throw new KbsClientError('KBS_CLIENT_BAD_RESPONSE', `the /auth reply set no ${SESSION_COOKIE} cookie`);

    const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const jwk = publicKey.export({ format: 'jwk' });
    const teePubKey: TeePubKey = parseTeePubKey({ kty: 'EC', crv: 'P-256', alg: 'ECDH-ES+A256KW', x: jwk.x, y: jwk.y });
    const reportData = expectedReportData(challenge.nonce, teePubKey, additional);
    const quote = await this.options.evidence.quote(reportData);
    const attest = await this.call('POST', 'kbs/v0/attest', {
      'runtime-data': { nonce: challenge.nonce, 'tee-pubkey': teePubKey },
      'tee-evidence': { primary_evidence: { quote: Buffer.from(quote).toString('base64') }, additional_evidence: additional },
    });
    const token = (this.json(attest) as { token?: unknown }).token;
    if (typeof token !== 'string') throw new KbsClientError('KBS_CLIENT_BAD_RESPONSE', 'the /attest reply has no token');
    this.privateKey = privateKey;
    this.lastClaims = claimsOf(token);
    return { token, claims: this.lastClaims };
  }

  /** Fetches and decrypts a resource, attesting first when this client has no session yet. */
  async getResource(path: string, options: { version?: number } = {}): Promise<Uint8Array> {
    if (!this.privateKey) await this.attest();
    const query = options.version === undefined ? '' : `?version=${options.version}`;
    let res = await this.send('GET', `kbs/v0/resource/${path.split('/').map(encodeURIComponent).join('/')}${query}`);
    if (res.status === 401) {
      // As the Trustee client does: an expired session means attest again, once.
      await this.attest();
      res = await this.send('GET', `kbs/v0/resource/${path.split('/').map(encodeURIComponent).join('/')}${query}`);
    }
    this.check(res, `GET resource ${path}`);
    const jwe = this.json(res) as Parameters<typeof flattenedDecrypt>[0];
    try {
      const { plaintext } = await flattenedDecrypt(jwe, this.privateKey!);
      return plaintext;
    } catch (err) {
      throw new KbsClientError('KBS_CLIENT_BAD_RESPONSE', `the resource reply does not decrypt with this TEE's key: ${(err as Error).message}`, { cause: err });
    }
  }

  private async call(method: 'GET' | 'POST', path: string, body?: unknown): Promise<HttpResponse> {
    const res = await this.send(method, path, body);
    this.check(res, `${method} /${path}`);
    return res;
  }

  private send(method: 'GET' | 'POST', path: string, body?: unknown): Promise<HttpResponse> {
    const url = new URL(path, this.base.href.endsWith('/') ? this.base.href : `${this.base.href}/`);
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.cookie) headers['cookie'] = `${SESSION_COOKIE}=${this.cookie}`;
    return httpCall(method, url, headers, body === undefined ? undefined : JSON.stringify(body), this.options);
  }

  private check(res: HttpResponse, what: string): void {
    if (res.status === 200) return;
    let info: { type?: string; detail?: string; code?: string; hint?: string } = {};
    try {
      info = JSON.parse(res.body.toString('utf8')) as typeof info;
    } catch {
      // not an ErrorInformation body
    }
    const variant = info.type?.split('/').pop();
    throw new KbsClientError('KBS_CLIENT_REFUSED', `the key broker refused ${what} (${res.status}${info.code ? ` ${info.code}` : variant ? ` ${variant}` : ''}): ${info.detail ?? res.body.toString('utf8').slice(0, 200)}`, {
      status: res.status,
      ...(info.code ? { serverCode: info.code } : {}),
      hint: info.hint ?? 'see the broker log for details',
    });
  }

  private json(res: HttpResponse): unknown {
    try {
      return JSON.parse(res.body.toString('utf8'));
    } catch (err) {
      throw new KbsClientError('KBS_CLIENT_BAD_RESPONSE', 'the key broker sent a reply that is not JSON', { cause: err });
    }
  }
}

function cookieFrom(res: HttpResponse): string | undefined {
  const set = res.headers['set-cookie'];
  for (const line of Array.isArray(set) ? set : set ? [set] : []) {
    const m = new RegExp(`^${SESSION_COOKIE}=([^;]*)`).exec(line);
    if (m) return m[1];
  }
  return undefined;
}

function claimsOf(token: string): AttestationClaims | undefined {
  try {
    const payload = decodeJwt(token) as { kubetee?: { claims?: AttestationClaims } };
    return payload.kubetee?.claims;
  } catch {
    return undefined;
  }
}
