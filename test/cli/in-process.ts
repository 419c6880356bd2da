import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { buildProgram, commandOf, reportError } from '../../src/cli/main.js';
import { REPO_ROOT, type CliResult } from '../helpers/cli.js';

/**
 * Runs the CLI in this process with the entry point's command tree and error
 * reporting (main.ts), capturing stdout and stderr by replacing the streams'
 * write for the duration. Only for a process of its own (`runBatch`): the
 * test runner reports through this process's stdout.
 */
export async function runInProcess(args: string[], options: { timeoutMs?: number } = {}): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const out = process.stdout.write.bind(process.stdout);
  const err = process.stderr.write.bind(process.stderr);
  process.stdout.write = ((chunk: string | Uint8Array) => ((stdout += chunk.toString()), true)) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string | Uint8Array) => ((stderr += chunk.toString()), true)) as typeof process.stderr.write;
  const savedExit = process.exitCode;
  process.exitCode = undefined;
  let status: number | null = 0;
  let timer: NodeJS.Timeout | undefined;
  const timeoutMs = options.timeoutMs ?? 60_000;
  try {
    const argv = ['node', 'kubetee', ...args];
    const program = await buildProgram(commandOf(argv) ?? 'none');
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`kubetee ${args.join(' ')} did not finish within ${timeoutMs} ms`)), timeoutMs);
    });
    await Promise.race([program.parseAsync(argv), timeout]);
    status = typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (e) {
    if (e instanceof Error && /did not finish within/.test(e.message)) {
      status = null;
      stderr += e.message;
    } else status = reportError(e);
  } finally {
    clearTimeout(timer);
    process.stdout.write = out;
    process.stderr.write = err;
    process.exitCode = savedExit;
  }
  return { status, stdout, stderr };
}

export interface BatchCase {
  argv: string[];
  env?: Record<string, string>;
}

/**
 * Runs many CLI invocations one after another in ONE child process (a spawn
 * per case costs a second or more on a loaded 2-core machine) and returns
 * their results in order.
 */
export function runBatch(cases: BatchCase[], timeoutMs = 60_000): CliResult[] {
  const r = spawnSync(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url)], {
    cwd: REPO_ROOT,
    input: JSON.stringify({ cases, timeoutMs }),
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    timeout: Math.max(120_000, cases.length * timeoutMs),
  });
  const line = r.stdout.split('\n').find((l) => l.startsWith('{"results":'));
  if (!line) throw new Error(`batch runner failed (status ${r.status}):\n${r.stderr}\n${r.stdout.slice(0, 2000)}`);
  return (JSON.parse(line) as { results: CliResult[] }).results;
}

/** runBatch without blocking this process (for a server running in the test process itself). */
export function runBatchAsync(cases: BatchCase[], timeoutMs = 60_000): Promise<CliResult[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url)], { cwd: REPO_ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => void (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => void (stderr += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), Math.max(120_000, cases.length * timeoutMs));
    child.once('exit', (status) => {
      clearTimeout(timer);
      const line = stdout.split('\n').find((l) => l.startsWith('{"results":'));
      if (!line) reject(new Error(`batch runner failed (status ${status}):\n${stderr}\n${stdout.slice(0, 2000)}`));
      else resolve((JSON.parse(line) as { results: CliResult[] }).results);
    });
    child.stdin.end(JSON.stringify({ cases, timeoutMs }));
  });
}

// Entry point of the batch child: cases on stdin, one JSON line of results on stdout.
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  const { cases, timeoutMs } = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { cases: BatchCase[]; timeoutMs: number };
  const results: CliResult[] = [];
  for (const c of cases) {
    const saved = { ...process.env };
    Object.assign(process.env, c.env ?? {});
    results.push(await runInProcess(c.argv, { timeoutMs }));
    process.env = saved;
  }
  process.stdout.write(`${JSON.stringify({ results })}\n`);
  // Anything a failed command left behind (a half-started server) must not keep the batch alive.
  process.exit(0);
}
