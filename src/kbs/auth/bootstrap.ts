import { randomBytes } from 'node:crypto';
import { chmodSync, closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { dirname, join, basename } from 'node:path';
import { KbsStoreError } from '../store/errors.js';
import type { TokenService } from './tokens.js';
import { isTokenShaped } from './token-format.js';

export interface BootstrapResult {
  /** True when this call created the first admin token. */
  created: boolean;
  /** Where the token was written, or read from with `source: 'file'` (only when created). */
  file?: string;
  /** `generated` (written to `file`) or `file` (the value given in `file`, nothing written). Only when created. */
  source?: 'generated' | 'file';
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
  return { created: true, file, tokenId: created.info.id, source: 'generated' };
}

/**
 * `kbs serve --bootstrap-token-file`: on the first start (no tokens at all)
 * the first admin token is the value in `file` (e.g. a Kubernetes Secret
 * mounted read-only) rather than a generated one, and nothing is written to
 * disk. The file is read only when the store is empty; a later start ignores
 * it. Several replicas starting together with the same file converge on one
 * token row (createFirstAdmin checks and inserts in one transaction). The
 * token is never logged or put in an error message.
 */
export async function bootstrapAdminTokenFromFile(tokens: TokenService, file: string): Promise<BootstrapResult> {
  if (!(await tokens.isEmpty())) return { created: false };
  const token = readBootstrapToken(file);
  const created = await tokens.createFirstAdmin(undefined, { token });
  if (!created) return { created: false };
  return { created: true, file, tokenId: created.info.id, source: 'file' };
}

/** Reads and validates a bootstrap token file: one token in the broker's format, surrounding whitespace ignored. */
export function readBootstrapToken(file: string): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new KbsStoreError('TOKEN_FILE_UNUSABLE', `cannot read the bootstrap token file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, {
      cause: err,
      hint: 'check the path given to --bootstrap-token-file (in a cluster: the Secret kubetee-kbs-bootstrap-token, created by `kubetee install`)',
    });
  }
  const token = text.trim();
  if (!isTokenShaped(token)) {
    // The content is deliberately not echoed: it may be a real credential with a typo.
    throw new KbsStoreError('BOOTSTRAP_TOKEN_INVALID', `the bootstrap token file ${file} does not hold an admin token in the broker's format`, {
      hint: 'the file must contain one token: kbt_ followed by 43 base64url characters (32 random bytes), e.g. from `kubetee install`',
    });
  }
  return token;
}
