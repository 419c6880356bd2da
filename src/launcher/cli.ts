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

interface PrepareOptions {
  manifest: string;
  spec: string;
  specInImage?: string;
  node: string;
  kubeteeRoot: string;
  encryptedHostDir?: string;
  out?: string;
  json?: boolean;
}

export function registerGramine(program: Command): void {
  const gramine = program.command('gramine').description('Gramine SGX manifests for enclaves that start under kubetee launch');
  gramine
    .command('prepare')
    .description('rewrite a Gramine manifest so the enclave starts kubetee launch (then the application), and print every MRENCLAVE-relevant change')
    .requiredOption('--manifest <file>', 'the application\'s manifest (TOML; a rendered manifest or a template with {{ }} only inside strings)')
    .requiredOption('--spec <file>', 'the launch spec; its SHA-256 is pinned in the measured argv')
    .option('--spec-in-image <path>', 'ship the spec in the image at this path (a trusted file) instead of injecting $KUBETEE_LAUNCH_SPEC')
    .option('--node <path>', 'the node binary inside the enclave image', process.execPath)
    .option('--kubetee-root <dir>', 'where the kubetee package is installed inside the image', packageRoot())
    .option('--encrypted-host-dir <dir>', 'host directory behind the ephemeral encrypted mount (spawn handover)', '/run/kubetee/secrets.enc')
    .option('--out <file>', 'write the prepared manifest here (default stdout)')
    .option('--json', 'print the changes as JSON (needs --out)')
    .action(async (opts: PrepareOptions) => {
      const { readFileSync, writeFileSync } = await import('node:fs');
      const { createHash } = await import('node:crypto');
      const { UsageError } = await import('../common/errors.js');
      const { parseLaunchSpec } = await import('./spec.js');
      const { prepareManifest } = await import('./gramine/prepare.js');
      if (opts.json && !opts.out) throw new UsageError('USAGE', '--json needs --out for the manifest', { hint: 'pass --out app.manifest' });
      const read = (file: string, what: string): Buffer => {
        try {
          return readFileSync(file);
        } catch (err) {
          throw new UsageError('FILE_UNREADABLE', `cannot read ${what} ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
        }
      };
      const specBytes = read(opts.spec, 'the launch spec');
      const specSha256 = createHash('sha256').update(specBytes).digest('hex');
      const spec = parseLaunchSpec(specBytes.toString('utf8'), opts.spec);
      for (const [flag, value] of [['--node', opts.node], ['--kubetee-root', opts.kubeteeRoot], ['--spec-in-image', opts.specInImage], ['--encrypted-host-dir', opts.encryptedHostDir]] as const) {
        if (value !== undefined && !value.startsWith('/')) throw new UsageError('USAGE', `${flag} must be an absolute path inside the enclave image, not ${value}`);
      }
      const result = prepareManifest({
        manifest: read(opts.manifest, 'the manifest').toString('utf8'),
        where: opts.manifest,
        spec,
        specSha256,
        specInImage: opts.specInImage,
        nodePath: opts.node,
        kubeteeRoot: opts.kubeteeRoot.replace(/\/+$/, ''),
        encryptedHostDir: opts.encryptedHostDir,
      });
      if (opts.out) writeFileSync(opts.out, result.manifest);
      else process.stdout.write(result.manifest);
      if (opts.json) {
        process.stdout.write(`${JSON.stringify({ specSha256, appCommand: result.appCommand, changes: result.changes, warnings: result.warnings }, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), 2)}\n`);
        return;
      }
      const report = opts.out ? process.stdout : process.stderr;
      const show = (v: unknown): string => (v === undefined ? '(unset)' : JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x)));
      const lines = [`MRENCLAVE-relevant changes to ${opts.manifest} (${result.changes.length}); sign the enclave again and update the release policies' mrenclave:`];
      for (const c of result.changes) lines.push(`  ${c.key}`, `      before: ${show(c.before)}`, `      after:  ${show(c.after)}`, `      why:    ${c.why}`);
      lines.push(`the launcher starts: ${result.appCommand.join(' ')}`, `spec sha256: ${specSha256}`);
      for (const w of result.warnings) lines.push(`warning: ${w}`);
      report.write(`${lines.join('\n')}\n`);
    });
}

/** The installed kubetee package (this file is src/launcher/cli.ts or dist/launcher/cli.js). */
function packageRoot(): string {
  return new URL('../..', import.meta.url).pathname.replace(/\/+$/, '');
}
