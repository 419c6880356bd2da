import { describeFetchFailure } from '../../common/net-errors.js';
import { KbsStoreError, type KbsStoreErrorCode } from '../store/errors.js';
import { ADMIN_HTTP_STATUS } from './http-status.js';
import { parseResourcePath } from '../secrets/resource-path.js';
import { ADMIN_PREFIX } from './routes.js';
import type { SecretInfo, VersionInfo } from '../secrets/service.js';
import type { TokenSigningKeyInfo } from '../secrets/token-signing-keys.js';
import type { AuditRecord, PolicyRecord, SecretRecord, TokenRole } from '../store/types.js';
import type { AdminPrincipal, TokenInfo } from '../auth/tokens.js';
import type { AuditVerification } from '../audit/chain.js';

export interface AdminClientOptions {
  /** Broker base URL, e.g. http://127.0.0.1:8750 */
  baseUrl: string;
  token: string;
  timeoutMs?: number;
  fetch?: typeof fetch;
}

const enc = encodeURIComponent;
const secretUrl = (path: string): string => `/secrets/${path.split('/').map(enc).join('/')}`;
/** A path that is not repo/type/tag would only meet a bare 404: refuse it here with the code the server uses. */
const policyUrl = (path: string): string => `/policies/${path === 'default' ? 'default' : parseResourcePath(path).split('/').map(enc).join('/')}`;

/** Typed client for the admin API (used by the CLI; usable by scripts). Errors keep the server's code. */
export class AdminClient {
  private readonly base: string;
  private readonly token: string;
  private readonly timeoutMs: number;
  private readonly fetchImpl: typeof fetch;

  constructor(options: AdminClientOptions) {
    let url: URL;
    try {
      url = new URL(options.baseUrl);
      if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('scheme');
    } catch {
      throw new KbsStoreError('INVALID_REQUEST', `"${options.baseUrl}" is not an http(s) URL`, { hint: 'pass --kbs http://HOST:PORT', exitCode: 2 });
    }
    this.base = url.toString().replace(/\/+$/, '');
    this.token = options.token;
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.fetchImpl = options.fetch ?? fetch;
  }

  private async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    let res: Response;
    try {
      res = await this.fetchImpl(`${this.base}${ADMIN_PREFIX}${path}`, {
        method,
        headers: { authorization: `Bearer ${this.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (err) {
      throw new KbsStoreError('KBS_UNREACHABLE', `cannot reach the key broker at ${this.base}${ADMIN_PREFIX}${path} (${describeFetchFailure(err, this.timeoutMs)})`, { cause: err, hint: 'check --kbs and that `kubetee kbs serve` is running' });
    }
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    if (!res.ok) {
      const e = (parsed as { error?: { code?: string; message?: string; hint?: string } } | undefined)?.error;
      const known = e?.code !== undefined && e.code in ADMIN_HTTP_STATUS;
      const code = (known ? e!.code : 'KBS_REQUEST_FAILED') as KbsStoreErrorCode;
      const message = e?.message ?? `the key broker answered ${res.status} ${res.statusText}`;
      throw new KbsStoreError(code, known ? message : `${message} (HTTP ${res.status}${e?.code ? `, ${e.code}` : ''})`, e?.hint ? { hint: e.hint } : {});
    }
    return parsed as T;
  }

  whoami(): Promise<AdminPrincipal> {
    return this.call('GET', '/whoami');
  }
  async listSecrets(options: { prefix?: string; limit?: number; after?: string } = {}): Promise<SecretRecord[]> {
    const q = new URLSearchParams();
    if (options.prefix) q.set('prefix', options.prefix);
    if (options.after) q.set('after', options.after);
    if (options.limit) q.set('limit', String(options.limit));
    const qs = q.toString();
    return (await this.call<{ secrets: SecretRecord[] }>('GET', `/secrets${qs ? `?${qs}` : ''}`)).secrets;
  }
  describe(path: string): Promise<SecretInfo> {
    return this.call('GET', secretUrl(path));
  }
  async getValue(path: string, version?: number): Promise<{ path: string; version: number; value: Buffer }> {
    const r = await this.call<{ path: string; version: number; value: string }>('GET', `${secretUrl(path)}/value${version ? `?version=${version}` : ''}`);
    return { path: r.path, version: r.version, value: Buffer.from(r.value, 'base64') };
  }
  put(path: string, value: Uint8Array, options: { description?: string; expiresAt?: string | null } = {}): Promise<SecretInfo> {
    return this.call('PUT', secretUrl(path), { value: Buffer.from(value).toString('base64'), ...options });
  }
  generate(path: string, options: { bytes?: number; description?: string; expiresAt?: string | null } = {}): Promise<SecretInfo> {
    return this.call('POST', `${secretUrl(path)}/generate`, options);
  }
  rotate(path: string, options: { value?: Uint8Array; bytes?: number; expiresAt?: string | null } = {}): Promise<VersionInfo> {
    const { value, ...rest } = options;
    return this.call('POST', `${secretUrl(path)}/rotate`, { ...rest, ...(value ? { value: Buffer.from(value).toString('base64') } : {}) });
  }
  expire(path: string, expiresAt: string | null, version?: number): Promise<VersionInfo> {
    return this.call('POST', `${secretUrl(path)}/expire`, { expiresAt, ...(version ? { version } : {}) });
  }
  disable(path: string, version?: number): Promise<VersionInfo> {
    return this.call('POST', `${secretUrl(path)}/disable`, version ? { version } : {});
  }
  enable(path: string, version?: number): Promise<VersionInfo> {
    return this.call('POST', `${secretUrl(path)}/enable`, version ? { version } : {});
  }
  destroy(path: string, version: number): Promise<VersionInfo> {
    return this.call('POST', `${secretUrl(path)}/destroy`, { version });
  }
  createToken(name: string, role: TokenRole, expiresAt?: string | null): Promise<{ token: string; info: TokenInfo }> {
    return this.call('POST', '/tokens', { name, role, ...(expiresAt ? { expiresAt } : {}) });
  }
  revokeToken(id: string): Promise<TokenInfo> {
    return this.call('POST', `/tokens/${enc(id)}/revoke`, {});
  }
  async listTokens(): Promise<TokenInfo[]> {
    return (await this.call<{ tokens: TokenInfo[] }>('GET', '/tokens')).tokens;
  }
  async listAudit(options: { afterSeq?: number; limit?: number } = {}): Promise<AuditRecord[]> {
    const q = new URLSearchParams();
    if (options.afterSeq !== undefined) q.set('afterSeq', String(options.afterSeq));
    if (options.limit !== undefined) q.set('limit', String(options.limit));
    return (await this.call<{ records: AuditRecord[] }>('GET', `/audit?${q.toString()}`)).records;
  }
  verifyAudit(anchor?: string): Promise<AuditVerification> {
    return this.call('GET', `/audit/verify${anchor ? `?anchor=${enc(anchor)}` : ''}`);
  }
  async listPolicies(): Promise<PolicyRecord[]> {
    return (await this.call<{ policies: PolicyRecord[] }>('GET', '/policies')).policies;
  }
  async getPolicy(path: string): Promise<PolicyRecord> {
    return this.call('GET', policyUrl(path));
  }
  /** Stores the policy document for a resource path or `default` (admin role); the broker compiles it first (POLICY_INVALID). */
  async setPolicy(path: string, document: string): Promise<PolicyRecord> {
    return this.call('PUT', policyUrl(path), { policy: document });
  }
  async deletePolicy(path: string): Promise<{ deleted: string }> {
    return this.call('DELETE', policyUrl(path));
  }
  rewrap(batchSize?: number): Promise<{ rewrapped: number; tokenSigningKeys: number; rowMacs?: { policies: number; tokens: number; tampered: string[] }; activeKeyId: string }> {
    return this.call('POST', '/master-key/rewrap', batchSize ? { batchSize } : {});
  }
  async listSigningKeys(): Promise<TokenSigningKeyInfo[]> {
    return (await this.call<{ keys: TokenSigningKeyInfo[] }>('GET', '/signing-keys')).keys;
  }
  rotateSigningKey(): Promise<TokenSigningKeyInfo> {
    return this.call('POST', '/signing-keys/rotate', {});
  }
}
