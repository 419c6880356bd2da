import { UpError } from './errors.js';
import { closeSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';

export const LOCK_FILE = 'kubetee-up.pid';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * One `kubetee up` per data dir: a second one would remove the first one's
 * kubelet and device-plugin sockets and write the same SQLite store. The pid
 * file of a process that no longer runs (a crash, kill -9) is taken over.
 */
export function lockDataDir(dataDir: string, pid = process.pid): { release(): void } {
  const file = join(dataDir, LOCK_FILE);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(file, 'wx', 0o600);
      writeSync(fd, `${pid}\n`);
      closeSync(fd);
      return { release: () => rmSync(file, { force: true }) };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const holder = Number.parseInt(readFileSync(file, 'utf8').trim(), 10);
      if (Number.isInteger(holder) && holder > 0 && alive(holder)) {
        throw new UpError('DATA_DIR_IN_USE', `another kubetee up (pid ${holder}) is using the data dir ${dataDir}`, {
          hint: 'stop it first or pass a different --data-dir; to use the running stack instead, pass its address: kubetee demo model-protection --url http://127.0.0.1:8750 (the address it printed)',
        });
      }
      rmSync(file, { force: true }); // stale: its process is gone
    }
  }
  throw new UpError('DATA_DIR_IN_USE', `cannot take the lock file ${file}`, { hint: 'remove it if no kubetee up is running' });
}
