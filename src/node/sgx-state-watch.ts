/**
 * Watches the SGX device nodes and the AESM socket under a host root and
 * reports changes (device health). fs.watch on /dev, /dev/sgx and the AESM
 * directory reacts quickly; a bounded poll catches what inotify cannot see
 * (AESM dying without removing its socket, directories that appear later).
 */
import { watch, type FSWatcher } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Logger } from '../common/log.js';
import { silentLogger } from '../common/log.js';
import type { SgxNodeState, SgxStateSource } from '../deviceplugin/sgx/state.js';
import { checkAesmSocket } from './aesm.js';
import { detectSgxDevices } from './devices.js';

export interface SgxStateWatchOptions {
  hostRoot: string;
  /** Absolute path of the AESM socket to check (already resolved under the host root); null = AESM not used. */
  aesmSocketPath: string | null;
  /** Poll interval; default 1000 ms. */
  pollIntervalMs?: number;
  logger?: Logger;
}

export interface SgxStateWatcher extends SgxStateSource {
  /** Re-checks now (also runs on every fs event and poll tick). */
  refresh(): Promise<void>;
  close(): void;
}

function sameState(a: SgxNodeState, b: SgxNodeState): boolean {
  return a.aesmAlive === b.aesmAlive && a.present.length === b.present.length && a.present.every((p, i) => p === b.present[i]);
}

export async function watchSgxState(options: SgxStateWatchOptions): Promise<SgxStateWatcher> {
  const log = options.logger ?? silentLogger();
  const read = async (): Promise<SgxNodeState> => ({
    present: detectSgxDevices(options.hostRoot).present,
    aesmAlive: options.aesmSocketPath === null ? null : await checkAesmSocket(options.aesmSocketPath),
  });
  let state = await read();
  const subs = new Set<(s: SgxNodeState) => void>();
  const watchers = new Map<string, FSWatcher>();
  let closed = false;
  let running: Promise<void> | undefined;
  let again = false;
  let debounce: NodeJS.Timeout | undefined;

  const watchDirs = [join(options.hostRoot, 'dev'), join(options.hostRoot, 'dev', 'sgx'), ...(options.aesmSocketPath ? [dirname(options.aesmSocketPath)] : [])];
  const ensureWatchers = (): void => {
    for (const dir of watchDirs) {
      if (watchers.has(dir)) continue;
      try {
        const w = watch(dir, { persistent: false }, () => schedule());
        w.on('error', () => {
          w.close();
          watchers.delete(dir);
        });
        watchers.set(dir, w);
      } catch {
        // Directory absent for now; the poll retries.
      }
    }
  };

  const refresh = async (): Promise<void> => {
    if (closed) return;
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      do {
        again = false;
        ensureWatchers();
        const next = await read();
        if (!sameState(next, state)) {
          log.info({ before: state, after: next }, 'SGX node state changed');
          state = next;
          for (const fn of subs) fn(state);
        }
      } while (again && !closed);
    })().finally(() => {
      running = undefined;
    });
    return running;
  };
  // fs events come in bursts (a wiped /dev/sgx fires several); coalesce them.
  const schedule = (): void => {
    clearTimeout(debounce);
    debounce = setTimeout(() => void refresh(), 20);
    debounce.unref();
  };

  ensureWatchers();
  const poll = setInterval(() => void refresh(), options.pollIntervalMs ?? 1000);
  poll.unref();

  return {
    current: () => state,
    subscribe(fn) {
      subs.add(fn);
      return () => subs.delete(fn);
    },
    refresh,
    close() {
      closed = true;
      clearInterval(poll);
      clearTimeout(debounce);
      for (const w of watchers.values()) w.close();
      watchers.clear();
      subs.clear();
    },
  };
}
