import type {
  AuditRecord,
  KbsReleaseReads,
  KbsSessionStore,
  KbsStore,
  KbsTx,
  PolicyRecord,
  SealedValue,
  SecretKind,
  SecretRecord,
  SessionRecord,
  SessionState,
  TokenRecord,
  TokenSigningKeyRecord,
  TokenRole,
  TxMode,
  VersionRecord,
  VersionState,
} from './types.js';
import { KbsStoreError } from './errors.js';
import { MIGRATIONS, ROW_MAC_MIGRATION, migrationChecksum } from './migrations.js';
import type { SqlDriver, SqlParam, SqlQuery, SqlRow } from './sql-driver.js';

/*
 * One implementation of KbsTx over portable SQL (SQLite 3.24+ and
 * PostgreSQL 9.5+ share ON CONFLICT, LIMIT and these types). Only the driver
 * differs, which is what lets one test suite run against both.
 */

const str = (v: unknown): string => String(v);
const strOrNull = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));
const num = (v: unknown): number => Number(v);

function toSecret(r: SqlRow): SecretRecord {
  return {
    path: str(r['path']),
    kind: str(r['kind']) as SecretKind,
    description: str(r['description']),
    createdAt: str(r['created_at']),
    updatedAt: str(r['updated_at']),
    currentVersion: num(r['current_version']),
  };
}

function toVersion(r: SqlRow): VersionRecord {
  const ciphertext = r['ciphertext'];
  const wrapped = r['wrapped_key'];
  const sealed: SealedValue | null =
    Buffer.isBuffer(ciphertext) && Buffer.isBuffer(wrapped) && r['key_id'] != null
      ? { keyId: str(r['key_id']), wrappedKey: wrapped, ciphertext }
      : null;
  return {
    path: str(r['path']),
    version: num(r['version']),
    state: str(r['state']) as VersionState,
    createdAt: str(r['created_at']),
    updatedAt: str(r['updated_at']),
    expiresAt: strOrNull(r['expires_at']),
    valueBytes: num(r['value_bytes']),
    sealed,
  };
}

function toAudit(r: SqlRow): AuditRecord {
  const claims = r['claims'];
  return {
    seq: num(r['seq']),
    at: str(r['at']),
    actor: str(r['actor']),
    action: str(r['action']),
    resource: str(r['resource']),
    outcome: str(r['outcome']) as AuditRecord['outcome'],
    reason: str(r['reason']),
    claims: claims === null || claims === undefined ? null : (JSON.parse(str(claims)) as Record<string, unknown>),
    prevHash: str(r['prev_hash']),
    hash: str(r['hash']),
  };
}

function toToken(r: SqlRow): TokenRecord {
  return {
    id: str(r['id']),
    name: str(r['name']),
    role: str(r['role']) as TokenRole,
    tokenHash: str(r['token_hash']),
    createdAt: str(r['created_at']),
    createdBy: str(r['created_by']),
    expiresAt: strOrNull(r['expires_at']),
    revokedAt: strOrNull(r['revoked_at']),
    mac: strOrNull(r['mac']),
  };
}

function toPolicy(r: SqlRow): PolicyRecord {
  return { path: str(r['path']), document: str(r['document']), updatedAt: str(r['updated_at']), updatedBy: str(r['updated_by']), mac: strOrNull(r['mac']) };
}

function toSigningKey(r: SqlRow): TokenSigningKeyRecord {
  return {
    kid: str(r['kid']),
    createdAt: str(r['created_at']),
    retiredAt: strOrNull(r['retired_at']),
    sealed: { keyId: str(r['key_id']), wrappedKey: r['wrapped_key'] as Buffer, ciphertext: r['ciphertext'] as Buffer },
  };
}

function toSession(r: SqlRow): SessionRecord {
  return {
    idHash: str(r['id_hash']),
    tee: str(r['tee']),
    nonce: str(r['nonce']),
    state: str(r['state']) as SessionState,
    expiresAtMs: num(r['expires_at_ms']),
    attested: strOrNull(r['attested']),
  };
}

const SESSION_COLUMNS = 'id_hash, tee, nonce, state, expires_at_ms, attested';

/** Protocol sessions: every call is one autocommit statement (see KbsSessionStore). */
function makeSessionStore(driver: SqlDriver): KbsSessionStore {
  const relaxed = { relaxed: true };
  // Concurrent sweeps on several replicas skip each other's rows instead of waiting on (or deadlocking over) them.
  const skipLocked = driver.dialect === 'postgres' ? ' FOR UPDATE SKIP LOCKED' : '';
  return {
    async insert(r) {
      await driver.single(`INSERT INTO protocol_sessions (${SESSION_COLUMNS}) VALUES (?, ?, ?, 'challenged', ?, NULL)`, [r.idHash, r.tee, r.nonce, r.expiresAtMs], relaxed);
    },
    async get(idHash) {
      const { rows } = await driver.single(`SELECT ${SESSION_COLUMNS} FROM protocol_sessions WHERE id_hash = ?`, [idHash]);
      return rows.length ? toSession(rows[0]!) : undefined;
    },
    async claim(idHash, nowMs) {
      // The single-use check: exactly one UPDATE, on any replica, can move this row out of 'challenged'.
      const { rows } = await driver.single(
        `UPDATE protocol_sessions SET state = 'attesting' WHERE id_hash = ? AND state = 'challenged' AND expires_at_ms > ? RETURNING ${SESSION_COLUMNS}`,
        [idHash, nowMs],
        relaxed,
      );
      return rows.length === 1 ? toSession(rows[0]!) : undefined;
    },
    async transition(idHash, from, to, attested) {
      const marks = from.map(() => '?').join(', ');
      const sets = attested === undefined ? 'state = ?' : 'state = ?, attested = ?';
      const params: SqlParam[] = attested === undefined ? [to] : [to, attested];
      const { changes } = await driver.single(`UPDATE protocol_sessions SET ${sets} WHERE id_hash = ? AND state IN (${marks})`, [...params, idHash, ...from], relaxed);
      return changes === 1;
    },
    async delete(idHash) {
      await driver.single('DELETE FROM protocol_sessions WHERE id_hash = ?', [idHash], relaxed);
    },
    async sweep(nowMs, limit) {
      const { changes } = await driver.single(
        `DELETE FROM protocol_sessions WHERE id_hash IN (SELECT id_hash FROM protocol_sessions WHERE expires_at_ms <= ? ORDER BY expires_at_ms LIMIT ?${skipLocked})`,
        [nowMs, limit],
        relaxed,
      );
      return changes;
    },
    async countLive(nowMs) {
      const { rows } = await driver.single('SELECT COUNT(*) AS n FROM protocol_sessions WHERE expires_at_ms > ?', [nowMs]);
      return num(rows[0]?.['n'] ?? 0);
    },
  };
}

/** The release path's reads as single statements (see KbsReleaseReads). */
function makeReleaseReads(driver: SqlDriver): KbsReleaseReads {
  return {
    async policy(path) {
      const { rows } = await driver.single(
        "SELECT path, document, updated_at, updated_by, mac FROM policies WHERE path IN (?, 'default') ORDER BY CASE WHEN path = 'default' THEN 1 ELSE 0 END LIMIT 1",
        [path],
      );
      return rows.length ? toPolicy(rows[0]!) : undefined;
    },
    async secretVersion(path, version) {
      const { rows } = await driver.single(
        `SELECT s.path, s.kind, s.description, s.created_at, s.updated_at, s.current_version,
                v.version AS v_version, v.state AS v_state, v.created_at AS v_created_at, v.updated_at AS v_updated_at,
                v.expires_at AS v_expires_at, v.value_bytes AS v_value_bytes, v.key_id AS v_key_id, v.wrapped_key AS v_wrapped_key, v.ciphertext AS v_ciphertext
           FROM secrets s LEFT JOIN secret_versions v ON v.path = s.path AND v.version = ${version === undefined ? 's.current_version' : '?'}
          WHERE s.path = ?`,
        version === undefined ? [path] : [version, path],
      );
      if (rows.length === 0) return undefined;
      const r = rows[0]!;
      const secret = toSecret(r);
      if (r['v_version'] === null || r['v_version'] === undefined) return { secret, version: undefined };
      const v: SqlRow = { path: r['path'] };
      for (const [k, value] of Object.entries(r)) if (k.startsWith('v_')) v[k.slice(2)] = value;
      return { secret, version: toVersion(v) };
    },
  };
}

const VERSION_COLUMNS = 'path, version, state, created_at, updated_at, expires_at, value_bytes, key_id, wrapped_key, ciphertext';

/** Escapes LIKE wildcards so a prefix matches literally. */
function likePrefix(prefix: string): string {
  return `${prefix.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

function makeTx(q: SqlQuery): KbsTx {
  const one = async <T>(sql: string, params: readonly SqlParam[], map: (r: SqlRow) => T): Promise<T | undefined> => {
    const rows = await q.all(sql, params);
    return rows.length === 0 ? undefined : map(rows[0]!);
  };
  return {
    getSecret: (path) => one('SELECT * FROM secrets WHERE path = ?', [path], toSecret),
    async listSecrets(options = {}) {
      const where: string[] = [];
      const params: SqlParam[] = [];
      if (options.prefix) {
        where.push("path LIKE ? ESCAPE '\\'");
        params.push(likePrefix(options.prefix));
      }
      if (options.after) {
        where.push('path > ?');
        params.push(options.after);
      }
      params.push(options.limit ?? 1000);
      const rows = await q.all(`SELECT * FROM secrets ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY path LIMIT ?`, params);
      return rows.map(toSecret);
    },
    async insertSecret(s) {
      await q.run('INSERT INTO secrets (path, kind, description, created_at, updated_at, current_version) VALUES (?, ?, ?, ?, ?, ?)', [
        s.path,
        s.kind,
        s.description,
        s.createdAt,
        s.updatedAt,
        s.currentVersion,
      ]);
    },
    async updateSecret(path, changes) {
      const sets = ['updated_at = ?'];
      const params: SqlParam[] = [changes.updatedAt];
      if (changes.currentVersion !== undefined) {
        sets.push('current_version = ?');
        params.push(changes.currentVersion);
      }
      if (changes.description !== undefined) {
        sets.push('description = ?');
        params.push(changes.description);
      }
      await q.run(`UPDATE secrets SET ${sets.join(', ')} WHERE path = ?`, [...params, path]);
    },
    async deleteSecret(path) {
      await q.run('DELETE FROM secret_versions WHERE path = ?', [path]);
      await q.run('DELETE FROM secrets WHERE path = ?', [path]);
    },

    getVersion: (path, version) => one(`SELECT ${VERSION_COLUMNS} FROM secret_versions WHERE path = ? AND version = ?`, [path, version], toVersion),
    async listVersions(path) {
      return (await q.all(`SELECT ${VERSION_COLUMNS} FROM secret_versions WHERE path = ? ORDER BY version`, [path])).map(toVersion);
    },
    async listVersionMeta(path) {
      const rows = await q.all('SELECT path, version, state, created_at, updated_at, expires_at, value_bytes, key_id FROM secret_versions WHERE path = ? ORDER BY version', [path]);
      return rows.map((r) => {
        const { sealed: _none, ...meta } = toVersion(r);
        return { ...meta, keyId: strOrNull(r['key_id']) };
      });
    },
    async maxVersion(path) {
      const rows = await q.all('SELECT MAX(version) AS v FROM secret_versions WHERE path = ?', [path]);
      return num(rows[0]?.['v'] ?? 0);
    },
    async insertVersion(v) {
      await q.run(`INSERT INTO secret_versions (${VERSION_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, [
        v.path,
        v.version,
        v.state,
        v.createdAt,
        v.updatedAt,
        v.expiresAt,
        v.valueBytes,
        v.sealed?.keyId ?? null,
        v.sealed?.wrappedKey ?? null,
        v.sealed?.ciphertext ?? null,
      ]);
    },
    async updateVersion(path, version, changes) {
      const sets = ['updated_at = ?'];
      const params: SqlParam[] = [changes.updatedAt];
      if (changes.state !== undefined) {
        sets.push('state = ?');
        params.push(changes.state);
      }
      if (changes.expiresAt !== undefined) {
        sets.push('expires_at = ?');
        params.push(changes.expiresAt);
      }
      if (changes.sealed !== undefined) {
        sets.push('key_id = ?', 'wrapped_key = ?', 'ciphertext = ?');
        params.push(changes.sealed?.keyId ?? null, changes.sealed?.wrappedKey ?? null, changes.sealed?.ciphertext ?? null);
      }
      await q.run(`UPDATE secret_versions SET ${sets.join(', ')} WHERE path = ? AND version = ?`, [...params, path, version]);
    },
    async listVersionsNotWrappedBy(keyId, limit) {
      const rows = await q.all(
        `SELECT ${VERSION_COLUMNS} FROM secret_versions WHERE ciphertext IS NOT NULL AND key_id <> ? ORDER BY path, version LIMIT ?`,
        [keyId, limit],
      );
      return rows.map(toVersion);
    },

    lastAudit: () => one('SELECT * FROM audit_log ORDER BY seq DESC LIMIT 1', [], toAudit),
    async insertAudit(r) {
      await q.run(
        'INSERT INTO audit_log (seq, at, actor, action, resource, outcome, reason, claims, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
        [r.seq, r.at, r.actor, r.action, r.resource, r.outcome, r.reason, r.claims === null ? null : JSON.stringify(r.claims), r.prevHash, r.hash],
      );
    },
    async listAudit(options) {
      return (await q.all('SELECT * FROM audit_log WHERE seq > ? ORDER BY seq LIMIT ?', [options.afterSeq ?? 0, options.limit])).map(toAudit);
    },

    async insertToken(t) {
      await q.run('INSERT INTO admin_tokens (id, name, role, token_hash, created_at, created_by, expires_at, revoked_at, mac) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)', [
        t.id,
        t.name,
        t.role,
        t.tokenHash,
        t.createdAt,
        t.createdBy,
        t.expiresAt,
        t.revokedAt,
        t.mac ?? null,
      ]);
    },
    getTokenByHash: (hash) => one('SELECT * FROM admin_tokens WHERE token_hash = ?', [hash], toToken),
    getToken: (id) => one('SELECT * FROM admin_tokens WHERE id = ?', [id], toToken),
    async listTokens() {
      return (await q.all('SELECT * FROM admin_tokens ORDER BY created_at, id')).map(toToken);
    },
    async countTokens() {
      return num((await q.all('SELECT COUNT(*) AS n FROM admin_tokens'))[0]!['n']);
    },
    async revokeToken(id, revokedAt, mac) {
      await q.run('UPDATE admin_tokens SET revoked_at = ?, mac = ? WHERE id = ? AND revoked_at IS NULL', [revokedAt, mac, id]);
    },
    async setTokenMac(id, mac) {
      await q.run('UPDATE admin_tokens SET mac = ? WHERE id = ?', [mac, id]);
    },

    getPolicy: (path) => one('SELECT * FROM policies WHERE path = ?', [path], toPolicy),
    async putPolicy(p) {
      await q.run(
        'INSERT INTO policies (path, document, updated_at, updated_by, mac) VALUES (?, ?, ?, ?, ?) ON CONFLICT (path) DO UPDATE SET document = excluded.document, updated_at = excluded.updated_at, updated_by = excluded.updated_by, mac = excluded.mac',
        [p.path, p.document, p.updatedAt, p.updatedBy, p.mac ?? null],
      );
    },
    async deletePolicy(path) {
      return (await q.run('DELETE FROM policies WHERE path = ?', [path])) > 0;
    },
    async listPolicies() {
      return (await q.all('SELECT * FROM policies ORDER BY path')).map(toPolicy);
    },
    async setPolicyMac(path, mac) {
      await q.run('UPDATE policies SET mac = ? WHERE path = ?', [mac, path]);
    },

    async listTokenSigningKeys() {
      return (await q.all('SELECT kid, created_at, retired_at, key_id, wrapped_key, ciphertext FROM token_signing_keys ORDER BY created_at DESC, kid')).map(toSigningKey);
    },
    async insertTokenSigningKey(k) {
      await q.run('INSERT INTO token_signing_keys (kid, created_at, retired_at, key_id, wrapped_key, ciphertext) VALUES (?, ?, ?, ?, ?, ?)', [
        k.kid,
        k.createdAt,
        k.retiredAt,
        k.sealed.keyId,
        k.sealed.wrappedKey,
        k.sealed.ciphertext,
      ]);
    },
    async updateTokenSigningKey(kid, changes) {
      const sets: string[] = [];
      const params: SqlParam[] = [];
      if (changes.retiredAt !== undefined) {
        sets.push('retired_at = ?');
        params.push(changes.retiredAt);
      }
      if (changes.sealed !== undefined) {
        sets.push('key_id = ?', 'wrapped_key = ?', 'ciphertext = ?');
        params.push(changes.sealed.keyId, changes.sealed.wrappedKey, changes.sealed.ciphertext);
      }
      if (sets.length === 0) return;
      await q.run(`UPDATE token_signing_keys SET ${sets.join(', ')} WHERE kid = ?`, [...params, kid]);
    },
    async deleteTokenSigningKey(kid) {
      await q.run('DELETE FROM token_signing_keys WHERE kid = ?', [kid]);
    },
  };
}

export interface MigrateOptions {
  now?: () => Date;
  /** Stop at this schema version (tests build databases at an older schema). */
  upTo?: number;
  /**
   * Runs inside the transaction that applies migration `version`, after its
   * SQL (openKbsData MACs the existing policy and token rows there, so the
   * column and the MACs commit together or not at all).
   */
  onApplied?: (version: number, tx: KbsTx) => Promise<void>;
}

/** Applies pending migrations (each in its own write transaction) after checking applied ones. */
export async function migrate(driver: SqlDriver, options: MigrateOptions = {}): Promise<number> {
  const now = options.now ?? (() => new Date());
  const upTo = options.upTo ?? Number.MAX_SAFE_INTEGER;
  const dialect = driver.dialect;
  const applied = await driver.transaction('write', async (q) => {
    await q.run('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, checksum TEXT NOT NULL, applied_at TEXT NOT NULL)');
    return q.all('SELECT version, checksum FROM schema_migrations ORDER BY version');
  });
  const known = new Map(MIGRATIONS.map((m) => [m.version, m]));
  for (const row of applied) {
    const version = num(row['version']);
    const m = known.get(version);
    if (!m) {
      throw new KbsStoreError('SCHEMA_TOO_NEW', `the database at ${driver.location} has schema version ${version}, newer than this kubetee knows (${MIGRATIONS.length})`, {
        hint: 'upgrade kubetee, or point --db at the right database',
      });
    }
    if (str(row['checksum']) !== migrationChecksum(m, dialect)) {
      throw new KbsStoreError('MIGRATION_CHECKSUM_MISMATCH', `migration ${version} (${m.name}) applied to ${driver.location} differs from this kubetee's`, {
        hint: 'the schema was changed by hand or by another build; restore a backup or use the matching kubetee version',
      });
    }
  }
  const done = new Set(applied.map((r) => num(r['version'])));
  for (const m of MIGRATIONS) {
    if (done.has(m.version) || m.version > upTo) continue;
    await driver.transaction('write', async (q) => {
      // Re-check under the write lock: a concurrent starter may have applied it.
      if ((await q.all('SELECT 1 FROM schema_migrations WHERE version = ?', [m.version])).length > 0) return;
      for (const stmt of m[dialect]) await q.run(stmt);
      if (options.onApplied) await options.onApplied(m.version, makeTx(q));
      else if (m.version === ROW_MAC_MIGRATION) {
        const rows = await q.all('SELECT (SELECT COUNT(*) FROM policies) + (SELECT COUNT(*) FROM admin_tokens) AS n');
        if (num(rows[0]?.['n'] ?? 0) > 0) {
          throw new KbsStoreError('MASTER_KEY_MISSING', `schema version ${m.version} (${m.name}) must MAC the existing policy and token rows of ${driver.location}, which needs the master key`, {
            hint: 'start the broker once (`kubetee kbs serve`, which loads the master key) to upgrade the database',
          });
        }
      }
      await q.run('INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES (?, ?, ?, ?)', [
        m.version,
        m.name,
        migrationChecksum(m, dialect),
        now().toISOString(),
      ]);
    });
  }
  return Math.min(MIGRATIONS[MIGRATIONS.length - 1]!.version, upTo);
}

/** A KbsStore over any SqlDriver. Call `migrate` first (openKbsStore does). */
export class SqlKbsStore implements KbsStore {
  readonly dialect: 'sqlite' | 'postgres';
  readonly location: string;
  readonly sessions: KbsSessionStore;
  readonly releaseReads: KbsReleaseReads;

  constructor(private readonly driver: SqlDriver) {
    this.dialect = driver.dialect;
    this.location = driver.location;
    this.sessions = makeSessionStore(driver);
    this.releaseReads = makeReleaseReads(driver);
  }

  transaction<T>(mode: TxMode, fn: (tx: KbsTx) => Promise<T>): Promise<T> {
    return this.driver.transaction(mode, (q) => fn(makeTx(q)));
  }

  scrub(): Promise<void> {
    return this.driver.scrub();
  }

  async schemaVersion(): Promise<number> {
    const rows = await this.driver.transaction('read', (q) => q.all('SELECT MAX(version) AS v FROM schema_migrations'));
    return num(rows[0]?.['v'] ?? 0);
  }

  close(): Promise<void> {
    return this.driver.close();
  }
}
