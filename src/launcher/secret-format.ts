import { LaunchError } from './errors.js';
import type { PlacementTarget } from './spec.js';

/** Gramine's encrypted-files keys are exactly 16 raw bytes (PF_KEY_SIZE). */
export const GRAMINE_KEY_BYTES = 16;

/**
 * Turns a released value into what its placement needs, before anything is
 * placed (so a misfit secret aborts the launch with nothing written):
 * a Gramine key is 16 raw bytes, or 32 hex digits (what `gramine-sgx-pf-crypt`
 * key files and `fs.insecure__keys` use); an env value is UTF-8 without NUL
 * (execve cannot carry NUL), or base64/hex of the bytes when asked.
 * `where` names the secret, never its value.
 */
export function formatForTarget(value: Uint8Array, target: PlacementTarget, where: string): Uint8Array | string {
  switch (target.kind) {
    case 'file':
      return value;
    case 'gramineKey':
      return gramineKeyBytes(value, where);
    case 'env':
      return envValue(value, target.encoding, where);
  }
}

function gramineKeyBytes(value: Uint8Array, where: string): Uint8Array {
  if (value.length === GRAMINE_KEY_BYTES) return value;
  const text = value.length <= 34 ? Buffer.from(value).toString('latin1').replace(/\r?\n$/, '') : '';
  if (/^[0-9a-fA-F]{32}$/.test(text)) return new Uint8Array(Buffer.from(text, 'hex'));
  throw new LaunchError('LAUNCH_SECRET_FORMAT', `${where} is ${value.length} bytes; a Gramine encrypted-files key must be exactly 16 raw bytes (or 32 hex digits)`, {
    hint: 'store a 16-byte key at the broker, e.g. `kubetee secret put PATH --generate --bytes 16`',
  });
}

function envValue(value: Uint8Array, encoding: 'utf8' | 'base64' | 'hex', where: string): string {
  if (encoding === 'base64') return Buffer.from(value).toString('base64');
  if (encoding === 'hex') return Buffer.from(value).toString('hex');
  if (value.includes(0)) {
    throw new LaunchError('LAUNCH_SECRET_FORMAT', `${where} contains a NUL byte, which an environment variable cannot hold`, { hint: 'set encoding: base64 (or hex) on this placement, or place it in a file' });
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(value);
  } catch (err) {
    throw new LaunchError('LAUNCH_SECRET_FORMAT', `${where} is not UTF-8 text`, { cause: err, hint: 'set encoding: base64 (or hex) on this placement, or place it in a file' });
  }
}
