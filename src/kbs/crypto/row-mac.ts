import { createHmac, createSecretKey, hkdfSync, timingSafeEqual, type KeyObject } from 'node:crypto';
import { KbsStoreError } from '../store/errors.js';
import type { Keyring, MasterKey } from './keyring.js';

/*
 * Row authentication for the rows that grant access but hold no secret value:
 * release policies and admin tokens. Secret values are protected by the
 * envelope (src/kbs/crypto/envelope.ts); without a MAC these rows could be
 * rewritten by anyone with write access to the database (set a policy to
 * `true`, insert the hash of a token they know, raise a role, clear a
 * revocation). Each row carries
 *
 *   mac = "v1." + masterKeyId + "." + base64url(HMAC-SHA-256(K_row, input))
 *   K_row = HKDF-SHA-256(master key, salt "kubetee-kbs-row-mac:v1", info "row-mac")
 *   input = "kubetee-kbs-row-mac:v1\0" + table + "\0" + JSON([...row fields, masterKeyId])
 *
 * so a row cannot be altered, moved to another primary key (the key is a MAC'd
 * field), copied between tables, or claim another master key. The key id makes
 * master-key rotation work like the envelope: rows MAC'd under an older key
 * in the keyring still verify until `kbs master-key rewrap` re-MACs them.
 */

const MAC_VERSION = 'v1';
const DOMAIN = 'kubetee-kbs-row-mac:v1';

/** The authenticated fields of a policy row. */
export interface PolicyRowFields {
  path: string;
  document: string;
  updatedAt: string;
  updatedBy: string;
}

/** The authenticated fields of an admin token row. */
export interface TokenRowFields {
  id: string;
  name: string;
  role: string;
  tokenHash: string;
  createdAt: string;
  createdBy: string;
  expiresAt: string | null;
  revokedAt: string | null;
}

export type MacTable = 'policies' | 'admin_tokens';

/** Derived keys, per master key object (so a replaced keyring drops its keys with it), as KeyObjects (no re-import per MAC). */
const derived = new WeakMap<MasterKey, KeyObject>();

function rowKey(master: MasterKey): KeyObject {
  let k = derived.get(master);
  if (!k) {
    const bytes = Buffer.from(hkdfSync('sha256', master.key, Buffer.from(DOMAIN, 'utf8'), Buffer.from('row-mac', 'utf8'), 32));
    k = createSecretKey(bytes);
    bytes.fill(0);
    derived.set(master, k);
  }
  return k;
}

function macInput(table: MacTable, fields: readonly (string | null)[], keyId: string): string {
  return `${DOMAIN}\0${table}\0${JSON.stringify([...fields, keyId])}`;
}

export function policyFields(p: PolicyRowFields): (string | null)[] {
  return [p.path, p.document, p.updatedAt, p.updatedBy];
}

export function tokenFields(t: TokenRowFields): (string | null)[] {
  return [t.id, t.name, t.role, t.tokenHash, t.createdAt, t.createdBy, t.expiresAt, t.revokedAt];
}

/** The master key id a stored MAC names, or undefined when it is not a well-formed MAC. */
export function rowMacKeyId(mac: string | null | undefined): string | undefined {
  const m = typeof mac === 'string' ? /^v1\.([0-9a-f]{16})\.[A-Za-z0-9_-]{43}$/.exec(mac) : null;
  return m ? m[1] : undefined;
}

/**
 * Computes and checks row MACs with the keyring of the moment (a getter, so a
 * hot keyring reload is picked up). HMAC costs about a microsecond; the HKDF
 * step runs once per master key.
 */
export class RowMac {
  private readonly keyring: () => Keyring;

  constructor(keyring: Keyring | (() => Keyring)) {
    this.keyring = typeof keyring === 'function' ? keyring : () => keyring;
  }

  /** The active master key id (rows MAC'd under another key are re-MAC'd by rewrap). */
  get activeKeyId(): string {
    return this.keyring().active.id;
  }

  policy(p: PolicyRowFields): string {
    return this.sign('policies', policyFields(p));
  }

  token(t: TokenRowFields): string {
    return this.sign('admin_tokens', tokenFields(t));
  }

  /** Throws KBS_ROW_TAMPERED unless `mac` authenticates this policy row. */
  verifyPolicy(p: PolicyRowFields & { mac?: string | null | undefined }): void {
    this.verify('policies', policyFields(p), p.mac, `the policy row for ${p.path}`);
  }

  /** Throws KBS_ROW_TAMPERED unless `mac` authenticates this token row. */
  verifyToken(t: TokenRowFields & { mac?: string | null | undefined }): void {
    this.verify('admin_tokens', tokenFields(t), t.mac, `the admin token row ${t.id}`);
  }

  /** True when the row's MAC is under the active master key (nothing to re-MAC). */
  isCurrent(mac: string | null | undefined): boolean {
    return rowMacKeyId(mac) === this.activeKeyId;
  }

  private sign(table: MacTable, fields: readonly (string | null)[]): string {
    const master = this.keyring().active;
    const tag = createHmac('sha256', rowKey(master)).update(macInput(table, fields, master.id), 'utf8').digest('base64url');
    return `${MAC_VERSION}.${master.id}.${tag}`;
  }

  private verify(table: MacTable, fields: readonly (string | null)[], mac: string | null | undefined, what: string): void {
    const hint = 'someone changed the row in the database without the master key; review the audit trail, then set the row again through the admin API (or restore a backup)';
    if (mac === null || mac === undefined || mac === '') {
      throw new KbsStoreError('KBS_ROW_TAMPERED', `${what} carries no MAC`, { hint });
    }
    const keyId = rowMacKeyId(mac);
    if (keyId === undefined) throw new KbsStoreError('KBS_ROW_TAMPERED', `${what} has a malformed MAC`, { hint });
    const master = this.keyring().get(keyId);
    if (!master) {
      throw new KbsStoreError('KBS_ROW_TAMPERED', `${what} is MAC'd under master key ${keyId}, which is not in the keyring`, {
        hint: `if that key was retired too early, add it back to the keyring and run \`kubetee kbs master-key rewrap\`; otherwise ${hint}`,
      });
    }
    const expected = createHmac('sha256', rowKey(master)).update(macInput(table, fields, keyId), 'utf8').digest();
    const given = Buffer.from(mac.slice(mac.lastIndexOf('.') + 1), 'base64url');
    if (given.byteLength !== expected.byteLength || !timingSafeEqual(given, expected)) {
      throw new KbsStoreError('KBS_ROW_TAMPERED', `${what} does not match its MAC`, { hint });
    }
  }
}
