import { randomBytes } from 'node:crypto';

/**
 * The admin bearer token format, on its own so `kubetee install` can mint
 * the bootstrap token without loading the broker: `kbt_<43 base64url chars>`
 * (256 random bits).
 */
export const TOKEN_PREFIX = 'kbt_';
export const TOKEN_SHAPE = /^kbt_[A-Za-z0-9_-]{43}$/;

/** A fresh admin token value in the broker's format. */
export function newTokenValue(random: (n: number) => Buffer = (n) => randomBytes(n)): string {
  return TOKEN_PREFIX + random(32).toString('base64url');
}

/** True when `s` has the shape of an admin token (says nothing about whether a broker knows it). */
export function isTokenShaped(s: string): boolean {
  return TOKEN_SHAPE.test(s);
}
