import { Command, CommanderError } from 'commander';
import { KubeteeError, describeError } from '../common/errors.js';
import { VERSION } from '../common/version.js';
import { registerCommands } from './commands.js';

/** Builds the `kubetee` command tree (no side effects; tests may call it). */
export function buildProgram(): Command {
  const program = new Command();
  program
    .name('kubetee')
    .description('Confidential computing for Kubernetes: SGX enclaves and sandboxed pods, attestation and an attestation-gated key broker')
    .version(VERSION, '-V, --version', 'print the kubetee version')
    .showHelpAfterError('(run with --help for usage)')
    .showSuggestionAfterError(true)
    .configureHelp({ sortSubcommands: false });
  registerCommands(program);
  applyExitOverride(program);
  return program;
}

function applyExitOverride(cmd: Command): void {
  cmd.exitOverride();
  for (const sub of cmd.commands) applyExitOverride(sub);
}

/**
 * Runs the CLI. The only place that turns errors into exit statuses: usage
 * errors exit 2, KubeteeErrors use their own exit code, anything unexpected
 * exits 1 with its message (the stack only with KUBETEE_DEBUG=1).
 */
export async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (err) {
    process.exitCode = reportError(err);
  }
}

export function reportError(err: unknown): number {
  if (err instanceof CommanderError) {
    // Commander has already printed its message (and help for --help/--version).
    if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return 0;
    return err.exitCode === 0 ? 0 : 2;
  }
  if (err instanceof KubeteeError) {
    process.stderr.write(`kubetee: error [${err.code}]: ${err.message}\n`);
    if (err.hint) process.stderr.write(`  hint: ${err.hint}\n`);
    if (process.env['KUBETEE_DEBUG'] === '1' && err.stack) process.stderr.write(`${err.stack}\n`);
    return err.exitCode;
  }
  process.stderr.write(`kubetee: unexpected error: ${describeError(err)}\n`);
  if (process.env['KUBETEE_DEBUG'] === '1' && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
  else process.stderr.write('  (set KUBETEE_DEBUG=1 for details and please report it)\n');
  return 1;
}
