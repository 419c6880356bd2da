import { Command, CommanderError } from 'commander';
import { KubeteeError, describeError } from '../common/errors.js';
import { VERSION } from '../common/version.js';
import { registerCommands } from './commands.js';
import { exitStatusFor } from './exit-status.js';
import { optionDescription } from './help-format.js';

/**
 * Builds the `kubetee` command tree (no side effects; tests may call it).
 * `wanted` is the top-level command about to run: only its module is loaded
 * (the rest are listed by name and summary); 'none' loads no command module
 * (`kubetee --help`, `--version`). The default declares everything.
 */
export async function buildProgram(wanted: string = 'all'): Promise<Command> {
  running = undefined;
  const program = new Command();
  program
    .name('kubetee')
    .description('Confidential computing for Kubernetes: SGX enclaves and sandboxed pods, attestation and an attestation-gated key broker')
    .version(VERSION, '-V, --version', 'print the kubetee version')
    .showSuggestionAfterError(true)
    .configureHelp({ sortSubcommands: false, optionDescription })
    // Errors are printed once, by reportError, in the one format; commander prints nothing to stderr itself.
    .configureOutput({ writeErr: () => undefined, outputError: () => undefined })
    .hook('preAction', (_program, action) => void (running = action));
  await registerCommands(program, wanted);
  applyExitOverride(program);
  return program;
}

/** The top-level command an argument vector runs (`help X` runs X's help), if any. */
export function commandOf(argv: readonly string[]): string | undefined {
  const operands = argv.slice(2).filter((a) => !a.startsWith('-'));
  return operands[0] === 'help' ? operands[1] : operands[0];
}

/** A commander parse error together with the command it was raised for. */
class CommandLineError extends Error {
  constructor(
    readonly commander: CommanderError,
    readonly command: Command,
  ) {
    super(commander.message);
  }
}

function applyExitOverride(cmd: Command): void {
  cmd.exitOverride((err) => {
    throw new CommandLineError(err, cmd);
  });
  for (const sub of cmd.commands) applyExitOverride(sub);
}

/**
 * Runs the CLI. The only place that turns errors into exit statuses
 * (src/cli/exit-status.ts has the table; 2 = the user's input is wrong,
 * 1 = the operation ran and failed or said no).
 */
export async function main(argv: string[]): Promise<void> {
  try {
    const program = await buildProgram(commandOf(argv) ?? 'none');
    await program.parseAsync(argv);
  } catch (err) {
    process.exitCode = reportError(err);
  }
}

function commandPath(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

/** Commander's own parse errors as a UsageError-shaped report (code USAGE, a hint naming the right --help). */
function commandLineReport(err: CommanderError, cmd: Command | undefined): { message: string; hint: string } | undefined {
  const path = cmd ? commandPath(cmd) : 'kubetee';
  if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version') return undefined;
  if (err.code === 'commander.help') {
    if (err.exitCode === 0) return undefined;
    // A group (`kubetee attest`) or the program itself was run without a command.
    const subs = (cmd?.commands ?? []).filter((c) => !(c as Command & { _hidden?: boolean })._hidden).map((c) => c.name()).filter((n) => n !== 'help');
    return {
      message: `'${path}' needs a command${subs.length ? `: ${subs.join(', ')}` : ''}`,
      hint: `run '${path} --help' to see what each one does`,
    };
  }
  const [first, ...rest] = err.message.replace(/^error: /, '').split('\n');
  const suggestion = rest.join(' ').replace(/^\(|\)$/g, '').trim();
  return {
    message: first!.trim(),
    hint: suggestion ? `${suggestion} Run '${path} --help' for usage.` : `run '${path} --help' for usage`,
  };
}

/**
 * Text from an error made safe for a terminal: control characters (escape
 * sequences from a binary file quoted by a parser) are shown as \xNN, never
 * sent; further lines are indented under the first; blank lines dropped.
 */
export function terminalSafe(text: string): string {
  const escaped = text
    .replace(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029]/g, (ch) => `\\x${ch.charCodeAt(0).toString(16).padStart(2, '0')}`)
    .replace(/\ufffd/g, '?'); // bytes that were not UTF-8
  const [first, ...rest] = escaped.split('\n').filter((l) => l.trim() !== '');
  return [first ?? '', ...rest.map((l) => `  ${l.replace(/^ {0,2}/, '')}`)].join('\n');
}

/** The command that was running when an error ended it (set before each action). */
let running: Command | undefined;

function printError(code: string, message: string, hint: string | undefined): void {
  process.stderr.write(`kubetee: error [${code}]: ${terminalSafe(message)}\n`);
  // The contract promises a hint with every error; when a library had nothing specific to say, point at the command's help.
  const fallback = running ? `see '${commandPath(running)} --help'` : "see 'kubetee --help'";
  process.stderr.write(`  hint: ${terminalSafe(hint ?? fallback).replace(/\n/g, ' ')}\n`);
}

/** Prints an error in the one CLI format and returns the exit status. */
export function reportError(err: unknown): number {
  const commander = err instanceof CommandLineError ? err.commander : err instanceof CommanderError ? err : undefined;
  if (commander) {
    const report = commandLineReport(commander, err instanceof CommandLineError ? err.command : undefined);
    if (!report) return commander.exitCode === 0 ? 0 : 2;
    printError('USAGE', report.message, report.hint);
    return exitStatusFor('USAGE', 2);
  }
  if (err instanceof KubeteeError) {
    printError(err.code, err.message, err.hint);
    if (process.env['KUBETEE_DEBUG'] === '1' && err.stack) process.stderr.write(`${err.stack}\n`);
    return exitStatusFor(err.code, err.exitCode);
  }
  printError('INTERNAL', `unexpected error: ${describeError(err)}`, 'this is a bug in kubetee; set KUBETEE_DEBUG=1 for details and please report it');
  if (process.env['KUBETEE_DEBUG'] === '1' && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
  return 1;
}
