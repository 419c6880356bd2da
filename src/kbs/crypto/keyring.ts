import { createHash } from 'node:crypto';
import { KbsStoreError } from '../store/errors.js';

/** One 256-bit master key and its id (a fingerprint, so ids never collide or lie). */
export interface MasterKey {
  readonly id: string;
  readonly key: Buffer;
}

/**
 * The master keys this process knows. The first is active (wraps new data
 * keys); the others still unwrap data keys written before a rotation, so a
 * rotation is: add the new key in front, restart (or reload), then re-wrap in
 * the background while reads keep working (`SecretService.rewrapAll`).
 */
export interface Keyring {
  readonly active: MasterKey;
  get(id: string): MasterKey | undefined;
  ids(): string[];
  /** Overwrites every key's bytes; call on shutdown. */
  wipe(): void;
}

export const MASTER_KEY_BYTES = 32;

/** Id of a master key: first 16 hex digits of SHA-256 over a domain tag and the key. */
export function masterKeyId(key: Uint8Array): string {
  return createHash('sha256').update('kubetee-kbs-master-key-id:v1\0').update(key).digest('hex').slice(0, 16);
}

/** Builds a keyring; the first key is active. Pure: keys are passed in. */
export function createKeyring(keys: readonly Uint8Array[]): Keyring {
  if (keys.length === 0) {
    throw new KbsStoreError('MASTER_KEY_MISSING', 'the master keyring is empty', {
      hint: 'give at least one 32-byte key (base64), one per line in the key file or comma-separated in the variable',
    });
  }
  const list: MasterKey[] = [];
  const byId = new Map<string, MasterKey>();
  keys.forEach((k, i) => {
    if (k.byteLength !== MASTER_KEY_BYTES) {
      throw new KbsStoreError('MASTER_KEY_INVALID', `master key #${i + 1} is ${k.byteLength} bytes, expected ${MASTER_KEY_BYTES}`, {
        hint: 'generate one with: openssl rand -base64 32',
      });
    }
    const mk: MasterKey = { id: masterKeyId(k), key: Buffer.from(k) };
    if (!byId.has(mk.id)) {
      byId.set(mk.id, mk);
      list.push(mk);
    }
  });
  const active = list[0]!;
  return {
    active,
    get: (id) => byId.get(id),
    ids: () => list.map((k) => k.id),
    wipe() {
      for (const k of list) k.key.fill(0);
    },
  };
}

/**
 * Parses keyring text: base64 keys separated by newlines or commas, `#`
 * comments and blank lines ignored, first key active. `where` names the source
 * in errors (a file path or an environment variable), never the key.
 */
export function parseKeyringText(text: string, where: string): Keyring {
  const entries = text
    .split(/[\n,]/)
    .map((line) => line.replace(/#.*$/, '').trim())
    .filter((line) => line.length > 0);
  if (entries.length === 0) {
    throw new KbsStoreError('MASTER_KEY_MISSING', `no master key in ${where}`, {
      hint: 'put a base64 32-byte key there, e.g. the output of: openssl rand -base64 32',
    });
  }
  const keys = entries.map((entry, i) => {
    if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(entry)) {
      throw new KbsStoreError('MASTER_KEY_INVALID', `master key #${i + 1} in ${where} is not base64`, {
        hint: 'each key is 32 random bytes in base64 (openssl rand -base64 32)',
      });
    }
    return Buffer.from(entry.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
  });
  try {
    return createKeyring(keys);
  } catch (err) {
    if (err instanceof KbsStoreError) throw new KbsStoreError(err.code, `${err.message} (in ${where})`, { hint: err.hint ?? '' });
    throw err;
  } finally {
    for (const k of keys) k.fill(0);
  }
}
