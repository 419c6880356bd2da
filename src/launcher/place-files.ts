import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { lstat, mkdir, open, rename, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { LaunchError } from './errors.js';

/**
 * Secret files under one directory (an in-enclave mount: Gramine tmpfs, or an
 * encrypted mount with an ephemeral key). Each file appears atomically, mode
 * 0400: written to an exclusive temporary name, flushed, then renamed, so a
 * reader sees the whole value or nothing. Every file placed is remembered so a
 * failed launch can remove all of them.
 */
export class SecretFiles {
  private readonly placed: string[] = [];

  constructor(readonly dir: string) {}

  get paths(): readonly string[] {
    return this.placed;
  }

  /** Writes `relative` (already validated by the spec schema: no "..", no leading "/"). */
  async write(relative: string, value: Uint8Array): Promise<string> {
    const target = join(this.dir, relative);
    try {
      await this.ensureDirs(dirname(target));
    } catch (err) {
      if (err instanceof LaunchError) throw err;
      throw failed(`cannot create the directory for ${target}`, err);
    }
    const tmp = join(dirname(target), `.${relative.split('/').pop()}.${randomBytes(6).toString('hex')}.tmp`);
    let fh;
    try {
      // O_EXCL|O_NOFOLLOW: never write through a name someone else prepared.
      fh = await open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o400);
      await fh.write(value, 0, value.length, 0);
      await fh.sync();
      await fh.close();
      fh = undefined;
      await rename(tmp, target);
      this.placed.push(target);
      return target;
    } catch (err) {
      await fh?.close().catch(() => undefined);
      await unlink(tmp).catch(() => undefined);
      throw failed(`cannot write secret file ${target}`, err);
    }
  }

  /** Removes every file this object placed (best effort, all of them). */
  async removeAll(): Promise<void> {
    while (this.placed.length > 0) await unlink(this.placed.pop()!).catch(() => undefined);
  }

  /** Creates missing directories (0700) from `dir` down; refuses a symlink or non-directory on the way. */
  private async ensureDirs(path: string): Promise<void> {
    const parts = path.slice(this.dir.length).split('/').filter(Boolean);
    let current = this.dir;
    for (const next of ['', ...parts]) {
      current = next === '' ? current : join(current, next);
      const st = await lstat(current).catch((err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT') return undefined;
        throw err;
      });
      if (st === undefined) {
        await mkdir(current, { recursive: next === '', mode: 0o700 });
        continue;
      }
      if (st.isSymbolicLink() || !st.isDirectory()) {
        throw new LaunchError('LAUNCH_PLACEMENT_FAILED', `${current} is ${st.isSymbolicLink() ? 'a symbolic link' : 'not a directory'}; secret files go only into a real directory`, {
          hint: 'files.dir must be an in-enclave mount (Gramine tmpfs or encrypted) that nothing else prepared',
        });
      }
    }
  }
}

function failed(message: string, err: unknown): LaunchError {
  return new LaunchError('LAUNCH_PLACEMENT_FAILED', `${message}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, {
    cause: err,
    hint: 'files.dir must exist or be creatable and writable inside the enclave (kubetee gramine prepare mounts it)',
  });
}
