import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { LaunchError } from '../errors.js';
import { GRAMINE_KEY_BYTES } from '../secret-format.js';

/**
 * Sets a Gramine encrypted-files key by writing its 16 raw bytes to
 * `<root>/keys/<name>` (root is /dev/attestation in an enclave). Gramine
 * answers ENOENT for a name no mount or `fs.insecure__keys` declares, and
 * EACCES for a write of another length. The key lives in enclave memory and is
 * passed to forked children with the rest of the process state.
 */
export async function writeGramineKey(root: string, name: string, key: Uint8Array): Promise<void> {
  if (key.length !== GRAMINE_KEY_BYTES) throw new LaunchError('LAUNCH_SECRET_FORMAT', `Gramine key ${name} must be ${GRAMINE_KEY_BYTES} bytes`);
  const path = join(root, 'keys', name);
  let fh;
  try {
    // No O_CREAT: the key file exists exactly when the manifest declares the key.
    fh = await open(path, constants.O_WRONLY | constants.O_NOFOLLOW);
    const { bytesWritten } = await fh.write(key, 0, key.length, null);
    if (bytesWritten !== key.length) throw Object.assign(new Error(`short write (${bytesWritten} of ${key.length} bytes)`), { code: 'EIO' });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new LaunchError('LAUNCH_PLACEMENT_FAILED', `cannot set Gramine key ${name} at ${path}: ${code ?? (err as Error).message}`, {
      cause: err,
      hint:
        code === 'ENOENT'
          ? `declare the key in the manifest: an fs.mounts entry of type "encrypted" with key_name = "${name}" (kubetee gramine prepare adds the launcher's own)`
          : 'run inside Gramine with the key declared in the manifest',
    });
  } finally {
    await fh?.close().catch(() => undefined);
  }
}

/** 16 fresh random bytes for the launcher's own encrypted mount (files.ephemeralKey). */
export async function writeEphemeralGramineKey(root: string, name: string): Promise<void> {
  const key = new Uint8Array(randomBytes(GRAMINE_KEY_BYTES));
  try {
    await writeGramineKey(root, name, key);
  } finally {
    key.fill(0);
  }
}
