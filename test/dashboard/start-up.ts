import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { startCli, waitForOutput } from '../helpers/cli.js';
import { freePort } from '../helpers/net.js';
export { freePort };


export interface RunningUp {
  url: string;
  dataDir: string;
  child: ChildProcess;
  banner: string;
  /** SIGTERM and wait; resolves with the exit code. */
  stop(): Promise<number | null>;
}

/** Starts `kubetee up` from the sources on a free port with a temp (or given) data dir. */
export async function startUp(dataDir = mkdtempSync(join(tmpdir(), 'kubetee-dash-'))): Promise<RunningUp> {
  const port = await freePort();
  const child = startCli(['up', '--port', String(port), '--data-dir', dataDir, '--log-level', 'warn']);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let banner: string;
  try {
    banner = await waitForOutput(child, /Press Ctrl\+C to stop/);
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  return {
    url: `http://127.0.0.1:${port}`,
    dataDir,
    child,
    banner,
    async stop() {
      if (child.exitCode !== null) return child.exitCode;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}
