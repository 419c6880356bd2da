import { createHash, randomBytes } from 'node:crypto';
import type { KbsStore, TokenRecord, TokenRole } from '../store/types.js';
import { TOKEN_ROLES } from '../store/types.js';
import { KbsStoreError } from '../store/errors.js';
import { appendAudit } from '../audit/append.js';
import type { Keyring } from '../crypto/keyring.js';
import { RowMac } from '../crypto/row-mac.js';
// Bearer tokens look like `kbt_<43 base64url chars>` (256 random bits); the format lives in token-format.ts.
import { isTokenShaped, newTokenValue } from './token-format.js';

/** Tokens carry 256 random bits, so a plain SHA-256 is a sufficient one-way store (no salt or slow KDF needed). */
export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** Who a valid token belongs to, as the admin API sees it. */
export interface AdminPrincipal {
  tokenId: string;
  name: string;
  role: TokenRole;
  /** `token:<id>`, the actor written to the audit chain. */
  actor: string;
}

/** A token as listed: everything but the hash. */
export type TokenInfo = Omit<TokenRecord, 'tokenHash' | 'mac'>;

export interface TokenServiceOptions {
  store: KbsStore;
  /**
   * The master keyring (or a getter, for hot reloads): token rows are MAC'd
   * under a key derived from it and refused when the MAC does not verify.
   */
  keyring: Keyring | (() => Keyring);
  clock?: () => Date;
  random?: (n: number) => Buffer;
}

/** Admin bearer tokens: creation (returns the token once), verification, revocation. */
export class TokenService {
  private readonly store: KbsStore;
  private readonly clock: () => Date;
  private readonly random: (n: number) => Buffer;
  private readonly rowMac: RowMac;

  constructor(options: TokenServiceOptions) {
    this.store = options.store;
    this.rowMac = new RowMac(options.keyring);
    this.clock = options.clock ?? (() => new Date());
    this.random = options.random ?? ((n) => randomBytes(n));
  }

  /** Creates a token; the plaintext is returned only here and never stored. */
  async create(actor: string, input: { name: string; role: TokenRole; expiresAt?: string | null }): Promise<{ token: string; info: TokenInfo }> {
    const role = parseRole(input.role);
    const name = typeof input.name === 'string' ? input.name.trim() : '';
    if (name === '' || name.length > 128 || /[\u0000-\u001f]/.test(name)) {
      throw new KbsStoreError('INVALID_REQUEST', 'a token needs a name of 1-128 printable characters', { hint: 'pass --name, e.g. --name ci-pipeline' });
    }
    let expiresAt: string | null = null;
    if (input.expiresAt !== undefined && input.expiresAt !== null) {
      const t = Date.parse(input.expiresAt);
      if (Number.isNaN(t)) throw new KbsStoreError('INVALID_REQUEST', `"${String(input.expiresAt).slice(0, 40)}" is not an ISO-8601 date/time`);
      expiresAt = new Date(t).toISOString();
    }
    const token = newTokenValue(this.random);
    const id = this.random(8).toString('hex');
    return this.store.transaction('write', async (tx) => {
      const now = this.clock();
      const record: TokenRecord = { id, name, role, tokenHash: hashToken(token), createdAt: now.toISOString(), createdBy: actor, expiresAt, revokedAt: null };
      await tx.insertToken({ ...record, mac: this.rowMac.token(record) });
      await appendAudit(tx, { actor, action: 'token.create', resource: `token:${id}`, outcome: 'success', reason: `role ${role}` }, now);
      return { token, info: toInfo(record) };
    });
  }

  /**
   * Resolves a bearer token to its principal. Fails closed with TOKEN_MISSING,
   * TOKEN_INVALID (malformed or unknown), TOKEN_REVOKED or TOKEN_EXPIRED.
   */
  async authenticate(token: string | undefined): Promise<AdminPrincipal> {
    if (token === undefined || token === '') {
      throw new KbsStoreError('TOKEN_MISSING', 'no admin token was sent', { hint: 'send Authorization: Bearer <token> (the CLI reads it from --token-file)' });
    }
    if (!isTokenShaped(token)) throw new KbsStoreError('TOKEN_INVALID', 'the admin token is malformed', { hint: 'check the token file; tokens look like kbt_…' });
    const record = await this.store.transaction('read', (tx) => tx.getTokenByHash(hashToken(token)));
    if (!record) throw new KbsStoreError('TOKEN_INVALID', 'the admin token is not known to this broker', { hint: 'ask an administrator for a token (`kubetee kbs token create`)' });
    // Before the revoked and expiry checks: those fields are only meaningful once the row is authentic.
    try {
      this.rowMac.verifyToken(record);
    } catch (err) {
      await this.store
        .transaction('write', (tx) =>
          appendAudit(tx, { actor: 'system', action: 'row.tampered', resource: `token:${record.id}`, outcome: 'denied', reason: `KBS_ROW_TAMPERED: ${(err as Error).message}` }, this.clock()),
        )
        .catch(() => undefined);
      throw err;
    }
    if (record.revokedAt !== null) throw new KbsStoreError('TOKEN_REVOKED', `admin token ${record.id} was revoked at ${record.revokedAt}`);
    if (record.expiresAt !== null && this.clock().getTime() >= Date.parse(record.expiresAt)) {
      throw new KbsStoreError('TOKEN_EXPIRED', `admin token ${record.id} expired at ${record.expiresAt}`, { hint: 'create a new token' });
    }
    return { tokenId: record.id, name: record.name, role: record.role, actor: `token:${record.id}` };
  }

  async list(): Promise<TokenInfo[]> {
    return (await this.store.transaction('read', (tx) => tx.listTokens())).map(toInfo);
  }

  async revoke(actor: string, id: string): Promise<TokenInfo> {
    if (typeof id !== 'string' || !/^[0-9a-f]{16}$/.test(id)) {
      throw new KbsStoreError('INVALID_REQUEST', `"${String(id).slice(0, 40)}" is not a token id`, { hint: 'token ids are 16 hex digits; see `kubetee kbs token list`' });
    }
    return this.store.transaction('write', async (tx) => {
      const now = this.clock();
      const record = await tx.getToken(id);
      if (!record) throw new KbsStoreError('TOKEN_NOT_FOUND', `no admin token has id ${id}`, { hint: 'see `kubetee kbs token list`' });
      if (record.revokedAt === null) {
        // Revoking is always allowed, even a row that does not verify (it can only take access away); the audit record says so.
        let reason = '';
        try {
          this.rowMac.verifyToken(record);
        } catch {
          reason = 'the row did not verify (KBS_ROW_TAMPERED); revoked anyway';
        }
        const revokedAt = now.toISOString();
        await tx.revokeToken(id, revokedAt, this.rowMac.token({ ...record, revokedAt }));
        await appendAudit(tx, { actor, action: 'token.revoke', resource: `token:${id}`, outcome: 'success', reason }, now);
      }
      return toInfo((await tx.getToken(id))!);
    });
  }

  /**
   * First start: creates an admin token only when no token exists, checked
   * and inserted in one write transaction so two replicas starting together
   * cannot both mint one. Returns undefined when tokens already exist.
   * `persist` runs inside the transaction before the commit (save the token
   * there); if it throws, nothing is created. `options.token` makes the
   * first admin token that value (it must have the token format) instead of
   * a generated one: replicas starting together with the same value still
   * converge on one row.
   */
  async createFirstAdmin(persist?: (token: string) => void | Promise<void>, options: { token?: string } = {}): Promise<{ token: string; info: TokenInfo } | undefined> {
    if (options.token !== undefined && !isTokenShaped(options.token)) {
      throw new KbsStoreError('BOOTSTRAP_TOKEN_INVALID', 'the given first admin token does not have the token format', { hint: 'tokens are kbt_ followed by 43 base64url characters' });
    }
    const token = options.token ?? newTokenValue(this.random);
    const id = this.random(8).toString('hex');
    return this.store.transaction('write', async (tx) => {
      if ((await tx.countTokens()) > 0) return undefined;
      const now = this.clock();
      const record: TokenRecord = { id, name: 'bootstrap admin', role: 'admin', tokenHash: hashToken(token), createdAt: now.toISOString(), createdBy: 'system', expiresAt: null, revokedAt: null };
      await tx.insertToken({ ...record, mac: this.rowMac.token(record) });
      await appendAudit(tx, { actor: 'system', action: 'token.create', resource: `token:${id}`, outcome: 'success', reason: 'bootstrap admin on first start' }, now);
      // Saved before the commit: if saving fails the token is never created, so nobody is locked out.
      if (persist) await persist(token);
      return { token, info: toInfo(record) };
    });
  }

  /** True when no token exists yet (first start). */
  async isEmpty(): Promise<boolean> {
    return (await this.store.transaction('read', (tx) => tx.countTokens())) === 0;
  }
}

export function parseRole(role: unknown): TokenRole {
  if (typeof role === 'string' && (TOKEN_ROLES as readonly string[]).includes(role)) return role as TokenRole;
  throw new KbsStoreError('INVALID_REQUEST', `"${String(role).slice(0, 40)}" is not a role`, { hint: `roles are ${TOKEN_ROLES.join(', ')}` });
}

function toInfo(r: TokenRecord): TokenInfo {
  const { tokenHash: _hidden, mac: _mac, ...info } = r;
  return info;
}
