import { spawn } from 'node:child_process';
import { unlinkSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { LaunchError } from './errors.js';

/**
 * Handing the enclave over to the application. Node 20 has no execve(2)
 * (process.execve arrived in Node 22.15/23.11), so the launcher cannot replace
 * itself. Two handovers, chosen per spec (docs/launcher.md, "Handover"):
 *
 * - `spawn`: the application is a child process; the launcher stays as a thin
 *   parent that forwards signals and exits with the child's status (or dies
 *   by the child's signal). Under Gramine the child is a new enclave with the
 *   same measurement: argv, env and encrypted-files keys travel inside
 *   Gramine's encrypted fork checkpoint, tmpfs files do not.
 * - `in-process`: for a JavaScript application, the launcher imports its entry
 *   module in the same process (and enclave): no second enclave, tmpfs files
 *   visible, the application owns signals and the exit status.
 */

/** Signals a supervisor receives on behalf of its child (kubelet sends SIGTERM; terminals the rest). */
export const FORWARDED_SIGNALS: readonly NodeJS.Signals[] = ['SIGTERM', 'SIGINT', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2', 'SIGWINCH'];

export interface ChildOutcome {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface SpawnOptions {
  env: NodeJS.ProcessEnv;
  cwd?: string | undefined;
  /** Runs once the child is running (e.g. dropping references to secret values). */
  onStarted?: () => void;
}

/** Starts `command` with inherited stdio, forwards signals, resolves with how it ended. */
export async function spawnApplication(command: readonly string[], options: SpawnOptions): Promise<ChildOutcome> {
  const [file, ...args] = command as [string, ...string[]];
  const child = spawn(file, args, { stdio: 'inherit', env: options.env, ...(options.cwd ? { cwd: options.cwd } : {}) });
  await new Promise<void>((resolveStart, reject) => {
    child.once('spawn', resolveStart);
    child.once('error', (err: NodeJS.ErrnoException) => reject(execError(file, err)));
  });
  options.onStarted?.();
  const forward = new Map<NodeJS.Signals, () => void>();
  for (const sig of FORWARDED_SIGNALS) {
    const handler = (): void => {
      child.kill(sig);
    };
    forward.set(sig, handler);
    process.on(sig, handler);
  }
  try {
    return await new Promise<ChildOutcome>((resolveExit) => child.once('exit', (code, signal) => resolveExit({ code, signal })));
  } finally {
    for (const [sig, handler] of forward) process.off(sig, handler);
  }
}

/**
 * Ends the launcher the way the child ended: the same exit code, or death by
 * the same signal (so kubelet and shells see WIFSIGNALED). If the signal does
 * not end the process (Node starts its inspector on SIGUSR1, SIGWINCH is
 * ignored), falls back to the shell convention 128 + signal number.
 */
export function exitLikeChild(outcome: ChildOutcome): void {
  if (outcome.signal === null) {
    process.exitCode = outcome.code ?? 1;
    return;
  }
  const number = osConstants.signals[outcome.signal] ?? 0;
  process.exitCode = 128 + number;
  if (!['SIGUSR1', 'SIGWINCH', 'SIGCHLD', 'SIGCONT', 'SIGURG'].includes(outcome.signal)) {
    process.removeAllListeners(outcome.signal);
    process.kill(process.pid, outcome.signal);
  }
}

/**
 * Imports the application's entry module in this process, as `node ENTRY ARGS`
 * would run it: argv, env and working directory first. `filesToRemove` are
 * unlinked when the process exits (synchronously: the only way an exit hook can).
 */
export async function importApplication(command: readonly string[], options: { env: Record<string, string>; cwd?: string | undefined; filesToRemove: readonly string[] }): Promise<void> {
  if (options.cwd) process.chdir(options.cwd);
  const entry = resolve(command[0]!);
  Object.assign(process.env, options.env);
  process.argv = [process.argv[0]!, entry, ...command.slice(1)];
  if (options.filesToRemove.length > 0) {
    const files = [...options.filesToRemove];
    process.once('exit', () => {
      for (const f of files) {
        try {
          unlinkSync(f);
        } catch {
          // already gone
        }
      }
    });
  }
  try {
    await import(pathToFileURL(entry).href);
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { url?: string };
    if ((e.code === 'ERR_MODULE_NOT_FOUND' && (e.url === undefined || e.url === pathToFileURL(entry).href) && e.message.includes(entry)) || e.code === 'ENOENT') {
      throw new LaunchError('LAUNCH_EXEC_NOT_FOUND', `the application module ${entry} does not exist`, { cause: err, hint: 'check exec.command[0] (in-process handover: the entry .js/.mjs file)' });
    }
    // The application's own failure at start-up: report it as node would, with its exit status 1.
    process.stderr.write(`${e.stack ?? String(err)}\n`);
    process.exitCode = 1;
  }
}

function execError(file: string, err: NodeJS.ErrnoException): LaunchError {
  if (err.code === 'ENOENT') return new LaunchError('LAUNCH_EXEC_NOT_FOUND', `the application ${file} does not exist (or is not on PATH)`, { cause: err, hint: 'check exec.command (or the command after --)' });
  return new LaunchError('LAUNCH_EXEC_FAILED', `cannot start the application ${file}: ${err.code ?? err.message}`, { cause: err, hint: 'check that it is an executable file (and a trusted file in the Gramine manifest)' });
}
