import { readFileSync, realpathSync, statSync } from 'node:fs';
import { dirname, relative, resolve, isAbsolute } from 'node:path';
import { KbsStoreError } from '../store/errors.js';
import { parseKeyringText, type Keyring } from './keyring.js';

/** Environment variable holding the keyring when no file is given. */
export const MASTER_KEY_ENV = 'KUBETEE_KBS_MASTER_KEY';

export interface LoadKeyringOptions {
  /** Keyring file: base64 keys, one per line, first active. */
  file?: string | undefined;
  /** Environment to read MASTER_KEY_ENV from (passed in; libraries do not read process.env). */
  env?: Record<string, string | undefined>;
  /** The SQLite database file, if any: the key file must not sit in its directory. */
  dataPath?: string | undefined;
}

function isInside(dir: string, file: string): boolean {
  const rel = relative(dir, file);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

/**
 * Loads the master keyring from a file or the environment. Fails closed:
 * no key (MASTER_KEY_MISSING), a key file readable by group or others
 * (MASTER_KEY_FILE_INSECURE), or a key file inside the database's directory
 * (MASTER_KEY_BESIDE_DATA: a copy of the data directory must not carry its own key).
 */
export function loadKeyring(options: LoadKeyringOptions): Keyring {
  if (options.file) {
    const file = resolve(options.file);
    let mode: number;
    let text: string;
    try {
      mode = statSync(file).mode;
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new KbsStoreError('MASTER_KEY_MISSING', `cannot read the master key file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, {
        cause: err,
        hint: 'create it with: (umask 077; openssl rand -base64 32 > FILE)',
      });
    }
    if ((mode & 0o077) !== 0) {
      throw new KbsStoreError('MASTER_KEY_FILE_INSECURE', `the master key file ${file} is readable by group or others (mode ${(mode & 0o777).toString(8)})`, {
        hint: `chmod 600 ${file}`,
      });
    }
    if (options.dataPath) {
      const dataDir = realpathOr(dirname(resolve(options.dataPath)));
      if (isInside(dataDir, realpathOr(file))) {
        throw new KbsStoreError('MASTER_KEY_BESIDE_DATA', `the master key file ${file} is inside the database directory ${dataDir}`, {
          hint: 'keep the key elsewhere (a mounted Kubernetes Secret, a separate volume) so a copy of the data is useless without it',
        });
      }
    }
    return parseKeyringText(text, file);
  }
  const fromEnv = options.env?.[MASTER_KEY_ENV];
  if (fromEnv !== undefined && fromEnv.trim() !== '') return parseKeyringText(fromEnv, `$${MASTER_KEY_ENV}`);
  throw new KbsStoreError('MASTER_KEY_MISSING', 'no master key was given', {
    hint: `pass --master-key-file FILE or set ${MASTER_KEY_ENV} (base64 of 32 random bytes: openssl rand -base64 32)`,
  });
}

function realpathOr(p: string): string {
  try {
    return realpathSync(p);
  } catch {
    return p;
  }
}
