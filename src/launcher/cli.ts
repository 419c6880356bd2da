import { InvalidArgumentError, type Command } from 'commander';

/*
 * `kubetee launch` and `kubetee gramine prepare`. Thin: parse flags, call the
 * launcher library (loaded only when the command runs).
 */

function parseSha256(value: string): string {
  if (!/^[0-9a-fA-F]{64}$/.test(value)) throw new InvalidArgumentError(`"${value}" is not a SHA-256 (64 hex digits)`);
  return value.toLowerCase();
}

export function registerLaunch(program: Command): void {
  program
    .command('launch')
    .description('in-enclave entrypoint: attest, fetch the secrets the launch spec lists, place them inside the enclave, then run the application')
    .argument('[command...]', 'the application and its arguments (after --), when the spec has no exec.command')
    .option('--spec <file>', 'launch spec (YAML/JSON); default $KUBETEE_LAUNCH_SPEC (the document) or $KUBETEE_LAUNCH_SPEC_FILE (a path)')
    .option('--spec-sha256 <hex>', 'refuse a spec whose SHA-256 differs (set in the measured Gramine argv by `kubetee gramine prepare`)', parseSha256)
    .action(async (command: string[], opts: { spec?: string; specSha256?: string }) => {
      const { launch } = await import('./launch.js');
      const { exitLikeChild } = await import('./handover.js');
      const outcome = await launch({ specFile: opts.spec, pinnedSha256: opts.specSha256, command, env: process.env });
      if (outcome.handover === 'spawn') exitLikeChild(outcome.child);
    });
}
