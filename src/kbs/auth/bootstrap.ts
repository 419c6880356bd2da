import { randomBytes } from 'node:crypto';
import { chmodSync, closeSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { dirname, join, basename } from 'node:path';
import { KbsStoreError } from '../store/errors.js';
import type { TokenService } from './tokens.js';

export interface BootstrapResult {
  /** True when this call created the first admin token. */
  created: boolean;
  /** Where the token was written (only when created). */
  file?: string;
  tokenId?: string;
}

/**
 * On the first start (no tokens at all), creates an admin token and writes it
 * to `file` readable only by its owner (0600, in a 0700 directory created if
 * needed). The caller prints where; the token itself is never logged.
 * The token is written and fsynced to a temporary name before the database
 * commits it, then renamed: a failed write creates no token (nobody locked
 * out), and a crash never leaves a half-written token file.
 */
export async function bootstrapAdminToken(tokens: TokenService, file: string): Promise<BootstrapResult> {
  if (!(await tokens.isEmpty())) return { created: false };
  const dir = dirname(file);
  const tmp = join(dir, `.${basename(file)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const fd = openSync(tmp, 'wx', 0o600);
    closeSync(fd);
  } catch (err) {
    throw new KbsStoreError('TOKEN_FILE_UNUSABLE', `cannot write the admin token file ${file}: ${(err as Error).message}`, {
      cause: err,
      hint: 'choose a writable location with --admin-token-file',
    });
  }
  let created: Awaited<ReturnType<TokenService['createFirstAdmin']>>;
  try {
    created = await tokens.createFirstAdmin((token) => {
      const fd = openSync(tmp, 'w', 0o600);
      try {
        writeSync(fd, `${token}\n`);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
    });
  } catch (err) {
    rmSync(tmp, { force: true });
    if (err instanceof KbsStoreError) throw err;
    throw new KbsStoreError('TOKEN_FILE_UNUSABLE', `cannot write the admin token file ${file}: ${(err as Error).message}`, { cause: err, hint: 'choose a writable location with --admin-token-file' });
  }
  if (!created) {
    rmSync(tmp, { force: true });
    return { created: false };
  }
  chmodSync(tmp, 0o600);
  renameSync(tmp, file);
  return { created: true, file, tokenId: created.info.id };
}
