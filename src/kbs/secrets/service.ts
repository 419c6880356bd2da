import type { AuditEntry, AuditRecord, KbsStore, KbsTx, PolicyRecord, SecretKind, SecretRecord, VersionRecord, VersionState } from '../store/types.js';
import { DEFAULT_POLICY_PATH } from '../store/types.js';
import { KbsStoreError } from '../store/errors.js';
import type { Keyring } from '../crypto/keyring.js';
import { openValue, rewrapValue, sealValue, systemRandom, type RandomBytes } from '../crypto/envelope.js';
import { appendAudit, verifyAuditChain } from '../audit/append.js';
import type { AuditAnchor, AuditVerification } from '../audit/chain.js';
import { parseResourcePath } from './resource-path.js';
import { RowMac } from '../crypto/row-mac.js';
import { isKbsStoreError } from '../store/errors.js';
import { remacRows } from './row-mac-upgrade.js';
import { newTokenSigningKeyRecord, openTokenSigningKey, rewrapTokenSigningKey, type TokenSigningKey, type TokenSigningKeyInfo } from './token-signing-keys.js';

/** Largest secret value accepted (Trustee's default request limit is 2 MiB). */
export const MAX_VALUE_BYTES = 1024 * 1024;
export const DEFAULT_KEY_BYTES = 32;
const MIN_KEY_BYTES = 16;
const MAX_KEY_BYTES = 512;

/** Metadata of one version; never the value. */
export interface VersionInfo {
  version: number;
  state: VersionState;
  current: boolean;
  createdAt: string;
  updatedAt: string;
  expiresAt: string | null;
  valueBytes: number;
  /** Master key wrapping this version's data key; null once destroyed. */
  masterKeyId: string | null;
}

/** Metadata of a secret and its versions; never a value. */
export interface SecretInfo {
  path: string;
  kind: SecretKind;
  description: string;
  createdAt: string;
  updatedAt: string;
  currentVersion: number;
  versions: VersionInfo[];
}

export type SecretSummary = Omit<SecretRecord, never>;

/** A decrypted value. Call `value.fill(0)` once it has been sent. */
export interface ReleasableSecret {
  path: string;
  kind: SecretKind;
  version: number;
  value: Buffer;
}

export interface CreateSecretInput {
  path: string;
  /** For `secret`; omit for `key` (generated). */
  value?: Uint8Array;
  kind?: SecretKind;
  /** Key length when generating (default 32). */
  keyBytes?: number;
  description?: string;
  expiresAt?: string | null;
}

export interface SecretServiceOptions {
  store: KbsStore;
  keyring: Keyring;
  clock?: () => Date;
  random?: RandomBytes;
}

/**
 * The secret lifecycle: every operation validates its input, runs in one
 * store transaction and appends its audit record in that same transaction.
 * `actor` is who asks (for example `token:3f9a…`), recorded in the audit chain.
 */
export class SecretService {
  readonly store: KbsStore;
  private keyring: Keyring;
  private readonly clock: () => Date;
  private readonly random: RandomBytes;
  /** MACs policy rows under the keyring of the moment (src/kbs/crypto/row-mac.ts). */
  readonly rowMac: RowMac;

  constructor(options: SecretServiceOptions) {
    this.store = options.store;
    this.keyring = options.keyring;
    this.rowMac = new RowMac(() => this.keyring);
    this.clock = options.clock ?? (() => new Date());
    this.random = options.random ?? systemRandom;
  }

  /**
   * Swaps in a new master keyring (hot reload during a master key rotation).
   * Operations already running finish with the keyring they started with.
   * Returns the previous keyring; wipe it once nothing uses it.
   */
  replaceKeyring(keyring: Keyring): Keyring {
    const previous = this.keyring;
    this.keyring = keyring;
    return previous;
  }

  /** Id of the master key that wraps new data keys. */
  get activeMasterKeyId(): string {
    return this.keyring.active.id;
  }

  /** Creates a secret (with `value`) or a key (generated) as version 1. RESOURCE_EXISTS if present. */
  async create(actor: string, input: CreateSecretInput): Promise<SecretInfo> {
    const path = parseResourcePath(input.path);
    const kind = input.kind ?? (input.value === undefined ? 'key' : 'secret');
    const expiresAt = normaliseExpiry(input.expiresAt ?? null);
    const description = normaliseDescription(input.description);
    // Copied last, after every check that can throw, so the copy is always zeroed below.
    const value = this.valueFor(kind, input.value, input.keyBytes);
    try {
      return await this.write(actor, 'secret.create', path, async (tx, now) => {
        const existing = await tx.getSecret(path);
        if (existing) {
          // Recommend the command that adds a version to what is there, not the one that just failed.
          const hint = existing.kind === 'key' ? `it is a generated key: add a new version with \`kubetee secret rotate ${path}\`` : `add a new version with \`kubetee secret put ${path}\` (the value on stdin or --from-file)`;
          throw new KbsStoreError('RESOURCE_EXISTS', `${path} already exists`, { hint });
        }
        await tx.insertSecret({ path, kind, description, createdAt: now, updatedAt: now, currentVersion: 1 });
        await tx.insertVersion(this.newVersion(path, 1, value, expiresAt, now));
        return this.describeTx(tx, path);
      });
    } finally {
      value.fill(0);
    }
  }

  /**
   * Creates the secret, or adds `value` as its new current version. The
   * returned info is read in the same transaction, so `currentVersion` is the
   * version this call wrote even under concurrent writers.
   */
  async put(actor: string, input: { path: string; value: Uint8Array; description?: string; expiresAt?: string | null }): Promise<SecretInfo> {
    const path = parseResourcePath(input.path);
    const expiresAt = normaliseExpiry(input.expiresAt ?? null);
    const description = input.description === undefined ? undefined : normaliseDescription(input.description);
    const value = this.valueFor('secret', input.value, undefined);
    try {
      // One write transaction decides create-or-add, so concurrent puts cannot race.
      return await this.store.transaction('write', async (tx) => {
        const now = this.clock();
        const nowIso = now.toISOString();
        const existing = await tx.getSecret(path);
        let action: string;
        if (!existing) {
          action = 'secret.create';
          await tx.insertSecret({ path, kind: 'secret', description: description ?? '', createdAt: nowIso, updatedAt: nowIso, currentVersion: 1 });
          await tx.insertVersion(this.newVersion(path, 1, value, expiresAt, nowIso));
        } else {
          action = 'secret.add-version';
          const next = (await tx.maxVersion(path)) + 1;
          await tx.insertVersion(this.newVersion(path, next, value, expiresAt, nowIso));
          await tx.updateSecret(path, { currentVersion: next, updatedAt: nowIso, ...(description !== undefined ? { description } : {}) });
        }
        const info = await this.describeTx(tx, path);
        await appendAudit(tx, { actor, action, resource: path, outcome: 'success', reason: '' }, now);
        return info;
      });
    } finally {
      value.fill(0);
    }
  }

  /** Adds a new current version with the given value (secrets) or fresh random bytes (keys, when value omitted). */
  async addVersion(actor: string, pathIn: string, input: { value?: Uint8Array; keyBytes?: number; expiresAt?: string | null }, action = 'secret.add-version'): Promise<VersionInfo> {
    const info = await this.addVersionInfo(actor, pathIn, input, action);
    return info.versions.find((v) => v.version === info.currentVersion)!;
  }

  private async addVersionInfo(actor: string, pathIn: string, input: { value?: Uint8Array; keyBytes?: number; expiresAt?: string | null }, action: string): Promise<SecretInfo> {
    const path = parseResourcePath(pathIn);
    const expiresAt = normaliseExpiry(input.expiresAt ?? null);
    return this.write(actor, action, path, async (tx, now) => {
      const secret = await this.requireSecret(tx, path);
      const previous = await tx.getVersion(path, secret.currentVersion);
      const keyBytes = input.keyBytes ?? (secret.kind === 'key' ? previous?.valueBytes || DEFAULT_KEY_BYTES : undefined);
      const value = this.valueFor(secret.kind, input.value, keyBytes);
      try {
        const next = (await tx.maxVersion(path)) + 1;
        await tx.insertVersion(this.newVersion(path, next, value, expiresAt, now));
        await tx.updateSecret(path, { currentVersion: next, updatedAt: now });
        return this.describeTx(tx, path);
      } finally {
        value.fill(0);
      }
    });
  }

  /** Creates a random key (kind `key`). */
  async generateKey(actor: string, input: { path: string; keyBytes?: number; description?: string; expiresAt?: string | null }): Promise<SecretInfo> {
    return this.create(actor, { ...input, kind: 'key' });
  }

  /**
   * Rotation: a new current version. Keys get fresh random bytes of the same
   * length; secrets need the new value. Older versions stay as they are
   * (disable or destroy them explicitly).
   */
  async rotate(actor: string, path: string, input: { value?: Uint8Array; keyBytes?: number; expiresAt?: string | null } = {}): Promise<VersionInfo> {
    return this.addVersion(actor, path, input, 'secret.rotate');
  }

  /** Sets (or with null clears) the expiry of one version, the current one by default. */
  async setExpiry(actor: string, pathIn: string, input: { version?: number; expiresAt: string | null }): Promise<VersionInfo> {
    const path = parseResourcePath(pathIn);
    const expiresAt = normaliseExpiry(input.expiresAt);
    return this.changeVersion(actor, 'secret.expire', path, input.version, async (tx, v, now) => {
      if (v.state === 'destroyed') throw destroyedError(path, v.version);
      await tx.updateVersion(path, v.version, { expiresAt, updatedAt: now });
    });
  }

  async disable(actor: string, path: string, input: { version?: number } = {}): Promise<VersionInfo> {
    return this.setState(actor, 'secret.disable', path, input.version, 'disabled');
  }

  async enable(actor: string, path: string, input: { version?: number } = {}): Promise<VersionInfo> {
    return this.setState(actor, 'secret.enable', path, input.version, 'enabled');
  }

  /**
   * Destroys one version irrecoverably: its wrapped data key and ciphertext
   * are overwritten with NULL in the same transaction, then the store scrubs
   * (SQLite: secure_delete zeroes freed space and the WAL is checkpointed and
   * truncated; PostgreSQL: VACUUM). The version number and
   * metadata remain so history and audit still make sense.
   */
  async destroy(actor: string, pathIn: string, input: { version: number }): Promise<VersionInfo> {
    const path = parseResourcePath(pathIn);
    if (!Number.isSafeInteger(input.version) || input.version < 1) {
      throw new KbsStoreError('INVALID_REQUEST', 'destroy needs an explicit version number (1 or more)', { hint: 'pass --ver N (CLI) or version (API); see `kubetee secret describe`' });
    }
    const info = await this.changeVersion(actor, 'secret.destroy', path, input.version, async (tx, v, now) => {
      if (v.state === 'destroyed') throw destroyedError(path, v.version);
      await tx.updateVersion(path, v.version, { state: 'destroyed', sealed: null, updatedAt: now });
    });
    // The destroy is committed either way; scrubbing only shortens how long old bytes linger on disk.
    await this.store.scrub().catch(() => undefined);
    return info;
  }

  /** Secrets (metadata only), sorted by path. */
  async list(options: { prefix?: string; limit?: number; after?: string } = {}): Promise<SecretRecord[]> {
    const limit = Math.min(Math.max(options.limit ?? 1000, 1), 1000);
    return this.store.transaction('read', (tx) => tx.listSecrets({ ...options, limit }));
  }

  /** Metadata of one secret and all its versions; RESOURCE_NOT_FOUND when absent. */
  async describe(pathIn: string): Promise<SecretInfo> {
    const path = parseResourcePath(pathIn);
    return this.store.transaction('read', (tx) => this.describeTx(tx, path));
  }

  /** An administrator reads a value (audited as `secret.read`). Ignores expiry, refuses disabled/destroyed. */
  async readValue(actor: string, pathIn: string, input: { version?: number } = {}): Promise<ReleasableSecret> {
    const path = parseResourcePath(pathIn);
    return this.write(actor, 'secret.read', path, async (tx) => {
      const secret = await this.requireSecret(tx, path);
      const version = input.version ?? secret.currentVersion;
      const v = await this.requireVersion(tx, path, version);
      return this.decryptUsable(secret, v);
    });
  }

  /**
   * The release path (used by the attestation side after policy allowed):
   * the current version's value when it is enabled and unexpired at `now`.
   * Typed errors: RESOURCE_NOT_FOUND, VERSION_NOT_FOUND, VERSION_DISABLED,
   * VERSION_DESTROYED, SECRET_EXPIRED, INVALID_RESOURCE_PATH, DECRYPT_FAILED.
   * Read-only: the caller records the release or denial with `appendAudit`.
   */
  async getReleasableSecret(pathIn: string, now: Date, options: { version?: number } = {}): Promise<ReleasableSecret> {
    const path = parseResourcePath(pathIn);
    // One statement (one round trip): the secret and the wanted version together.
    const found = await this.store.releaseReads.secretVersion(path, options.version);
    if (!found) throw notFound(path);
    const v = found.version;
    if (!v) throw versionNotFound(path, options.version ?? found.secret.currentVersion);
    if (v.expiresAt !== null && now.getTime() >= Date.parse(v.expiresAt)) {
      throw new KbsStoreError('SECRET_EXPIRED', `${path} version ${v.version} expired at ${v.expiresAt}`, {
        hint: 'rotate it or extend the expiry with `kubetee secret expire`',
      });
    }
    return this.decryptUsable(found.secret, v);
  }

  /**
   * The policy stored for `path`, else the stored default, else undefined (the
   * caller's built-in default applies). One statement, then an HMAC check: a
   * row whose MAC does not verify is refused with KBS_ROW_TAMPERED (and an
   * audit record), never used.
   */
  async getPolicy(path: string): Promise<PolicyRecord | undefined> {
    const record = await this.store.releaseReads.policy(path);
    if (record) await this.verifiedPolicy(record, path);
    return record && publicPolicy(record);
  }

  /** Exactly what is stored under `path` (no fallback), verified like `getPolicy`. */
  async getStoredPolicy(path: string): Promise<PolicyRecord | undefined> {
    const record = await this.store.transaction('read', (tx) => tx.getPolicy(path));
    if (record) await this.verifiedPolicy(record, path);
    return record && publicPolicy(record);
  }

  /** Every stored policy; KBS_ROW_TAMPERED (naming the row) if one does not verify. */
  async listPolicies(): Promise<PolicyRecord[]> {
    const records = await this.store.transaction('read', (tx) => tx.listPolicies());
    for (const r of records) await this.verifiedPolicy(r, r.path);
    return records.map(publicPolicy);
  }

  /** Stores a policy for a resource path or for `default`. The document is validated by the caller. */
  async setPolicy(actor: string, pathIn: string, document: string): Promise<PolicyRecord> {
    const path = pathIn === DEFAULT_POLICY_PATH ? pathIn : parseResourcePath(pathIn);
    if (typeof document !== 'string' || document.trim() === '' || Buffer.byteLength(document) > 64 * 1024) {
      throw new KbsStoreError('POLICY_INVALID', `the policy for ${path} is empty or larger than 64 KiB`, { hint: 'send the policy text in the request body' });
    }
    return this.write(actor, 'policy.set', `policy:${path}`, async (tx, now) => {
      const record: PolicyRecord = { path, document, updatedAt: now, updatedBy: actor };
      await tx.putPolicy({ ...record, mac: this.rowMac.policy(record) });
      return record;
    });
  }

  /** Verifies a policy row; on failure appends a `row.tampered` audit record (best effort) and throws KBS_ROW_TAMPERED. */
  private async verifiedPolicy(record: PolicyRecord, requested: string): Promise<void> {
    try {
      this.rowMac.verifyPolicy(record);
    } catch (err) {
      if (!isKbsStoreError(err, 'KBS_ROW_TAMPERED')) throw err;
      const via = requested === record.path ? '' : ` (looked up for ${requested})`;
      await this.appendAudit({ actor: 'system', action: 'row.tampered', resource: `policy:${record.path}`, outcome: 'failure', reason: `KBS_ROW_TAMPERED: ${err.message}${via}` }).catch(() => undefined);
      throw err;
    }
  }

  async deletePolicy(actor: string, pathIn: string): Promise<void> {
    const path = pathIn === DEFAULT_POLICY_PATH ? pathIn : parseResourcePath(pathIn);
    await this.write(actor, 'policy.delete', `policy:${path}`, async (tx) => {
      if (!(await tx.deletePolicy(path))) throw new KbsStoreError('POLICY_NOT_FOUND', `no policy is stored for ${path}`);
    });
  }

  /** Appends a record on its own (releases, denials, refused admin calls). */
  async appendAudit(entry: AuditEntry): Promise<AuditRecord> {
    return this.store.transaction('write', (tx) => appendAudit(tx, entry, this.clock()));
  }

  /**
   * The attestation-token signing keys, decrypted, newest first: the current
   * one (retiredAt null) and retired ones still kept for verification. With
   * `create` (the default) and no current key, one is generated and stored in
   * a write transaction that checks again under the write lock, so replicas
   * starting together all end up with the same key. A retired key that no
   * longer decrypts is left out (`onSkip` hears of it); the current one must.
   */
  async tokenSigningKeys(options: { create?: boolean; onSkip?: (kid: string, err: unknown) => void } = {}): Promise<TokenSigningKey[]> {
    let rows = await this.store.transaction('read', (tx) => tx.listTokenSigningKeys());
    if (options.create !== false && !rows.some((r) => r.retiredAt === null)) {
      rows = await this.store.transaction('write', async (tx) => {
        const existing = await tx.listTokenSigningKeys();
        if (existing.some((r) => r.retiredAt === null)) return existing;
        const now = this.clock();
        const record = newTokenSigningKeyRecord(this.keyring, now.toISOString(), this.random);
        await tx.insertTokenSigningKey(record);
        await appendAudit(tx, { actor: 'system', action: 'token-signing-key.create', resource: `token-signing-key:${record.kid}`, outcome: 'success', reason: 'first start' }, now);
        return [record, ...existing];
      });
    }
    const keyring = this.keyring;
    const out: TokenSigningKey[] = [];
    for (const r of rows) {
      if (r.retiredAt === null) {
        out.push(openTokenSigningKey(keyring, r));
        continue;
      }
      try {
        out.push(openTokenSigningKey(keyring, r));
      } catch (err) {
        options.onSkip?.(r.kid, err);
      }
    }
    return out;
  }

  /** The stored signing keys without private material (admin API, `kbs signing-key list`). */
  async listTokenSigningKeys(): Promise<TokenSigningKeyInfo[]> {
    const rows = await this.store.transaction('read', (tx) => tx.listTokenSigningKeys());
    const keyring = this.keyring;
    return rows.map((r) => {
      const info: TokenSigningKeyInfo = { kid: r.kid, createdAt: r.createdAt, retiredAt: r.retiredAt, current: r.retiredAt === null, masterKeyId: r.sealed.keyId, publicJwk: {} };
      try {
        info.publicJwk = openTokenSigningKey(keyring, r).publicKey.export({ format: 'jwk' }) as Record<string, unknown>;
      } catch {
        // Listed anyway: the operator needs to see a key the keyring cannot open.
      }
      return info;
    });
  }

  /**
   * Retires the current signing key and makes a fresh one current, in one
   * write transaction with its audit record. Retired keys keep verifying the
   * tokens they signed (the protocol side accepts them for the token lifetime
   * plus its refresh interval); keys retired before `pruneRetiredBefore`
   * (default: one day ago) are deleted.
   */
  async rotateTokenSigningKey(actor: string, options: { pruneRetiredBefore?: Date } = {}): Promise<TokenSigningKeyInfo> {
    const now = this.clock();
    const pruneBefore = (options.pruneRetiredBefore ?? new Date(now.getTime() - 24 * 3600_000)).getTime();
    const record = await this.store.transaction('write', async (tx) => {
      const existing = await tx.listTokenSigningKeys();
      const current = existing.find((r) => r.retiredAt === null);
      if (current) await tx.updateTokenSigningKey(current.kid, { retiredAt: now.toISOString() });
      for (const r of existing) if (r.retiredAt !== null && Date.parse(r.retiredAt) < pruneBefore) await tx.deleteTokenSigningKey(r.kid);
      const next = newTokenSigningKeyRecord(this.keyring, now.toISOString(), this.random);
      await tx.insertTokenSigningKey(next);
      await appendAudit(tx, { actor, action: 'token-signing-key.rotate', resource: `token-signing-key:${next.kid}`, outcome: 'success', reason: current ? `replaces ${current.kid}` : 'no current key' }, now);
      return next;
    });
    return { kid: record.kid, createdAt: record.createdAt, retiredAt: null, current: true, masterKeyId: record.sealed.keyId, publicJwk: openTokenSigningKey(this.keyring, record).publicKey.export({ format: 'jwk' }) as Record<string, unknown> };
  }

  async listAudit(options: { afterSeq?: number; limit?: number } = {}): Promise<AuditRecord[]> {
    const limit = Math.min(Math.max(options.limit ?? 100, 1), 1000);
    return this.store.transaction('read', (tx) => tx.listAudit({ afterSeq: options.afterSeq ?? 0, limit }));
  }

  async verifyAudit(anchor?: AuditAnchor): Promise<AuditVerification> {
    return verifyAuditChain(this.store, { anchor });
  }

  /**
   * Re-wraps every data key not yet under the active master key, in small
   * transactions so readers and writers keep going meanwhile. Bounded: each
   * batch moves `batchSize` versions to the active key or fails.
   */
  async rewrapAll(
    actor: string,
    options: { batchSize?: number } = {},
  ): Promise<{ rewrapped: number; tokenSigningKeys: number; rowMacs: { policies: number; tokens: number; tampered: string[] }; activeKeyId: string }> {
    const batchSize = options.batchSize ?? 100;
    const activeKeyId = this.keyring.active.id;
    // Policy and admin token rows: re-MAC'd under the active key (a few rows, one transaction). Rows that do not verify stay refused.
    const rowMacs = await this.store.transaction('write', async (tx) => {
      const r = await remacRows(tx, this.rowMac);
      const now = this.clock();
      if (r.policies + r.tokens > 0) {
        await appendAudit(tx, { actor, action: 'master-key.rewrap', resource: '', outcome: 'success', reason: `${r.policies} policy and ${r.tokens} admin token MAC(s) to ${activeKeyId}` }, now);
      }
      for (const row of r.tampered) {
        await appendAudit(tx, { actor, action: 'row.tampered', resource: row, outcome: 'failure', reason: 'KBS_ROW_TAMPERED: MAC does not verify; not re-MACd by rewrap' }, now);
      }
      return r;
    });
    // The attestation-token signing keys first (a handful of rows, one transaction).
    const tokenSigningKeys = await this.store.transaction('write', async (tx) => {
      const stale = (await tx.listTokenSigningKeys()).filter((k) => k.sealed.keyId !== activeKeyId);
      for (const k of stale) await tx.updateTokenSigningKey(k.kid, { sealed: rewrapTokenSigningKey(this.keyring, k, this.random) });
      if (stale.length > 0) {
        await appendAudit(tx, { actor, action: 'master-key.rewrap', resource: '', outcome: 'success', reason: `${stale.length} token signing key(s) to ${activeKeyId}` }, this.clock());
      }
      return stale.length;
    });
    let rewrapped = 0;
    for (;;) {
      const n = await this.store.transaction('write', async (tx) => {
        const batch = await tx.listVersionsNotWrappedBy(activeKeyId, batchSize);
        const now = this.clock().toISOString();
        for (const v of batch) {
          if (!v.sealed) continue;
          await tx.updateVersion(v.path, v.version, { sealed: rewrapValue(this.keyring, v.path, v.version, v.sealed, this.random), updatedAt: v.updatedAt });
        }
        if (batch.length > 0) {
          await appendAudit(tx, { actor, action: 'master-key.rewrap', resource: '', outcome: 'success', reason: `${batch.length} data key(s) to ${activeKeyId}` }, new Date(now));
        }
        return batch.length;
      });
      rewrapped += n;
      if (n < batchSize) return { rewrapped, tokenSigningKeys, rowMacs, activeKeyId };
    }
  }

  // ---- internals ----

  /** Runs a write transaction that appends a success record for `action` on `resource`. */
  private async write<T>(actor: string, action: string, resource: string, fn: (tx: KbsTx, nowIso: string) => Promise<T>): Promise<T> {
    return this.store.transaction('write', async (tx) => {
      const now = this.clock();
      const result = await fn(tx, now.toISOString());
      await appendAudit(tx, { actor, action, resource, outcome: 'success', reason: '' }, now);
      return result;
    });
  }

  private async setState(actor: string, action: string, pathIn: string, version: number | undefined, state: 'enabled' | 'disabled'): Promise<VersionInfo> {
    const path = parseResourcePath(pathIn);
    return this.changeVersion(actor, action, path, version, async (tx, v, now) => {
      if (v.state === 'destroyed') throw destroyedError(path, v.version);
      await tx.updateVersion(path, v.version, { state, updatedAt: now });
    });
  }

  private async changeVersion(
    actor: string,
    action: string,
    path: string,
    version: number | undefined,
    change: (tx: KbsTx, v: VersionRecord, nowIso: string) => Promise<void>,
  ): Promise<VersionInfo> {
    if (version !== undefined && (!Number.isSafeInteger(version) || version < 1)) {
      throw new KbsStoreError('INVALID_REQUEST', `version must be a positive integer, got ${String(version)}`);
    }
    return this.write(actor, action, `${path}#${version ?? 'current'}`, async (tx, now) => {
      const secret = await this.requireSecret(tx, path);
      const v = await this.requireVersion(tx, path, version ?? secret.currentVersion);
      await change(tx, v, now);
      await tx.updateSecret(path, { updatedAt: now });
      return (await this.describeTx(tx, path)).versions.find((x) => x.version === v.version)!;
    });
  }

  private decryptUsable(secret: SecretRecord, v: VersionRecord): ReleasableSecret {
    if (v.state === 'destroyed' || !v.sealed) throw destroyedError(secret.path, v.version);
    if (v.state === 'disabled') {
      throw new KbsStoreError('VERSION_DISABLED', `${secret.path} version ${v.version} is disabled`, {
        hint: 'enable it with `kubetee secret enable` or rotate to a new version',
      });
    }
    return { path: secret.path, kind: secret.kind, version: v.version, value: openValue(this.keyring, secret.path, v.version, v.sealed) };
  }

  private async requireSecret(tx: KbsTx, path: string): Promise<SecretRecord> {
    const s = await tx.getSecret(path);
    if (!s) throw notFound(path);
    return s;
  }

  private async requireVersion(tx: KbsTx, path: string, version: number): Promise<VersionRecord> {
    const v = await tx.getVersion(path, version);
    if (!v) throw versionNotFound(path, version);
    return v;
  }

  private async describeTx(tx: KbsTx, path: string): Promise<SecretInfo> {
    const s = await this.requireSecret(tx, path);
    const versions = await tx.listVersionMeta(path);
    return {
      path: s.path,
      kind: s.kind,
      description: s.description,
      createdAt: s.createdAt,
      updatedAt: s.updatedAt,
      currentVersion: s.currentVersion,
      versions: versions.map((v) => ({
        version: v.version,
        state: v.state,
        current: v.version === s.currentVersion,
        createdAt: v.createdAt,
        updatedAt: v.updatedAt,
        expiresAt: v.expiresAt,
        valueBytes: v.valueBytes,
        masterKeyId: v.keyId,
      })),
    };
  }

  private newVersion(path: string, version: number, value: Uint8Array, expiresAt: string | null, now: string): VersionRecord {
    return {
      path,
      version,
      state: 'enabled',
      createdAt: now,
      updatedAt: now,
      expiresAt,
      valueBytes: value.byteLength,
      sealed: sealValue(this.keyring, path, version, value, this.random),
    };
  }

  /** The bytes to store: a copy of the given value, or random key bytes. Caller zeroes it. */
  private valueFor(kind: SecretKind, value: Uint8Array | undefined, keyBytes: number | undefined): Buffer {
    if (value !== undefined) {
      if (!(value instanceof Uint8Array)) throw new KbsStoreError('INVALID_VALUE', 'the value must be bytes');
      if (value.byteLength === 0) throw new KbsStoreError('INVALID_VALUE', 'the value is empty', { hint: 'pass the value on stdin or with --from-file' });
      if (value.byteLength > MAX_VALUE_BYTES) {
        throw new KbsStoreError('INVALID_VALUE', `the value is ${value.byteLength} bytes; the limit is ${MAX_VALUE_BYTES}`, {
          hint: 'seal large files with `kubetee seal` and store only the key',
        });
      }
      return Buffer.from(value);
    }
    if (kind === 'secret') throw new KbsStoreError('INVALID_VALUE', 'a secret needs a value', { hint: 'pass the value, or create a generated key instead' });
    const n = keyBytes ?? DEFAULT_KEY_BYTES;
    if (!Number.isSafeInteger(n) || n < MIN_KEY_BYTES || n > MAX_KEY_BYTES) {
      throw new KbsStoreError('INVALID_VALUE', `a key length of ${String(n)} bytes is not allowed`, { hint: `use ${MIN_KEY_BYTES}-${MAX_KEY_BYTES} bytes (32 for AES-256)` });
    }
    return this.random(n);
  }
}

/** A policy as callers see it: without the row MAC. */
function publicPolicy(r: PolicyRecord): PolicyRecord {
  const { mac: _mac, ...rest } = r;
  return rest;
}

function notFound(path: string): KbsStoreError {
  return new KbsStoreError('RESOURCE_NOT_FOUND', `no secret or key is stored at ${path}`, { hint: 'list what exists with `kubetee secret list`' });
}

function versionNotFound(path: string, version: number): KbsStoreError {
  return new KbsStoreError('VERSION_NOT_FOUND', `${path} has no version ${version}`, { hint: 'see the versions with `kubetee secret describe`' });
}

function destroyedError(path: string, version: number): KbsStoreError {
  return new KbsStoreError('VERSION_DESTROYED', `${path} version ${version} was destroyed`, { hint: 'destroyed versions cannot be read or changed; rotate to a new version' });
}

/** Accepts an ISO-8601 instant (or null) and returns its canonical UTC form. */
export function normaliseExpiry(value: string | null): string | null {
  if (value === null) return null;
  const t = typeof value === 'string' && /^\d{4}-\d{2}-\d{2}/.test(value) ? Date.parse(value) : NaN;
  if (Number.isNaN(t)) {
    throw new KbsStoreError('INVALID_REQUEST', `"${String(value).slice(0, 40)}" is not an ISO-8601 date/time`, { hint: 'for example 2027-01-31T00:00:00Z' });
  }
  return new Date(t).toISOString();
}

function normaliseDescription(d: string | undefined): string {
  if (d === undefined) return '';
  if (typeof d !== 'string' || d.length > 1024) throw new KbsStoreError('INVALID_REQUEST', 'the description must be text of at most 1024 characters');
  return d;
}
