import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { SealedValue } from '../store/types.js';
import { KbsStoreError } from '../store/errors.js';
import type { Keyring, MasterKey } from './keyring.js';

const IV_BYTES = 12;
const TAG_BYTES = 16;
const DATA_KEY_BYTES = 32;

/** Source of random bytes (injected so tests can be deterministic). */
export type RandomBytes = (n: number) => Buffer;
export const systemRandom: RandomBytes = (n) => randomBytes(n);

/*
 * Associated data binds every ciphertext to where it belongs: a value row or a
 * wrapped key copied onto another secret or version fails authentication
 * instead of decrypting to the wrong secret. The master key id is bound into
 * the wrapped key so a row cannot claim another key id either.
 */
function valueAad(path: string, version: number): Buffer {
  return Buffer.from(`kubetee-kbs-value:v1\0${path}\0${version}`, 'utf8');
}
function wrapAad(path: string, version: number, keyId: string): Buffer {
  return Buffer.from(`kubetee-kbs-data-key:v1\0${path}\0${version}\0${keyId}`, 'utf8');
}

function gcmEncrypt(key: Buffer, plaintext: Uint8Array, aad: Buffer, random: RandomBytes): Buffer {
  const iv = random(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(aad);
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([iv, body, cipher.getAuthTag()]);
}

/** Returns the plaintext or undefined when authentication fails. */
function gcmDecrypt(key: Buffer, sealed: Buffer, aad: Buffer): Buffer | undefined {
  if (sealed.byteLength < IV_BYTES + TAG_BYTES) return undefined;
  const iv = sealed.subarray(0, IV_BYTES);
  const tag = sealed.subarray(sealed.byteLength - TAG_BYTES);
  const body = sealed.subarray(IV_BYTES, sealed.byteLength - TAG_BYTES);
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, iv);
    decipher.setAAD(aad);
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(body), decipher.final()]);
  } catch {
    return undefined;
  }
}

/** Encrypts `value` under a fresh data key and wraps that key with the keyring's active master key. */
export function sealValue(keyring: Keyring, path: string, version: number, value: Uint8Array, random: RandomBytes = systemRandom): SealedValue {
  const dataKey = random(DATA_KEY_BYTES);
  try {
    const master = keyring.active;
    return {
      keyId: master.id,
      wrappedKey: gcmEncrypt(master.key, dataKey, wrapAad(path, version, master.id), random),
      ciphertext: gcmEncrypt(dataKey, value, valueAad(path, version), random),
    };
  } finally {
    dataKey.fill(0);
  }
}

function masterFor(keyring: Keyring, sealed: SealedValue, path: string, version: number): MasterKey {
  const master = keyring.get(sealed.keyId);
  if (!master) {
    throw new KbsStoreError('MASTER_KEY_UNKNOWN', `${path} version ${version} is wrapped by master key ${sealed.keyId}, which is not in the keyring`, {
      hint: `add the old master key back to the keyring (keys known: ${keyring.ids().join(', ')}) and re-wrap`,
    });
  }
  return master;
}

function unwrapDataKey(keyring: Keyring, sealed: SealedValue, path: string, version: number): Buffer {
  const master = masterFor(keyring, sealed, path, version);
  const dataKey = gcmDecrypt(master.key, sealed.wrappedKey, wrapAad(path, version, master.id));
  if (!dataKey) {
    throw new KbsStoreError('DECRYPT_FAILED', `the data key of ${path} version ${version} does not authenticate under master key ${master.id}`, {
      hint: 'the stored row was altered or moved from another secret; restore it from a backup',
    });
  }
  return dataKey;
}

/** Decrypts a sealed value; the caller should `fill(0)` the result when done. */
export function openValue(keyring: Keyring, path: string, version: number, sealed: SealedValue): Buffer {
  const dataKey = unwrapDataKey(keyring, sealed, path, version);
  try {
    const value = gcmDecrypt(dataKey, sealed.ciphertext, valueAad(path, version));
    if (!value) {
      throw new KbsStoreError('DECRYPT_FAILED', `the value of ${path} version ${version} does not authenticate`, {
        hint: 'the stored row was altered or moved from another secret; restore it from a backup',
      });
    }
    return value;
  } finally {
    dataKey.fill(0);
  }
}

/** Re-wraps the data key under the active master key; the value ciphertext is unchanged. */
export function rewrapValue(keyring: Keyring, path: string, version: number, sealed: SealedValue, random: RandomBytes = systemRandom): SealedValue {
  if (sealed.keyId === keyring.active.id) return sealed;
  const dataKey = unwrapDataKey(keyring, sealed, path, version);
  try {
    const master = keyring.active;
    return { keyId: master.id, wrappedKey: gcmEncrypt(master.key, dataKey, wrapAad(path, version, master.id), random), ciphertext: sealed.ciphertext };
  } finally {
    dataKey.fill(0);
  }
}
