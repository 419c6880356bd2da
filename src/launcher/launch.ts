import { constants } from 'node:fs';
import { access, readFile } from 'node:fs/promises';
import type { EvidenceProvider } from '../kbs/client/evidence.js';
import { LaunchError } from './errors.js';
import { evidenceFor } from './evidence.js';
import { fetchSecrets, type FetchOptions } from './fetch-secrets.js';
import { importApplication, spawnApplication, type ChildOutcome } from './handover.js';
import { placeSecrets } from './place.js';
import { loadLaunchSpec, SPEC_ENV, SPEC_FILE_ENV } from './spec-source.js';
import type { LaunchSpec } from './spec.js';

export interface LaunchOptions {
  /** `--spec FILE`. */
  specFile?: string | undefined;
  /** `--spec-sha256 HEX`. */
  pinnedSha256?: string | undefined;
  /** The command after `--` (used when the spec has no exec.command). */
  command?: readonly string[] | undefined;
  /** The launcher's environment; the application inherits it minus the spec variables, plus its secrets. */
  env: NodeJS.ProcessEnv;
  /** Progress lines on stderr (names only; never a value). */
  log?: (line: string) => void;
  /** Tests: an evidence source other than the spec's. */
  evidence?: EvidenceProvider;
  retry?: FetchOptions['retry'];
}

export type LaunchOutcome = { handover: 'spawn'; child: ChildOutcome } | { handover: 'in-process' };

/**
 * `kubetee launch`: spec → attest → fetch every secret → place them inside the
 * enclave → hand over to the application. Any failure before the handover is a
 * LaunchError with nothing left placed; the application's own status is
 * returned for the caller to pass on.
 */
export async function launch(options: LaunchOptions): Promise<LaunchOutcome> {
  const log = options.log ?? ((line: string) => process.stderr.write(`kubetee launch: ${line}\n`));
  const { spec, origin, sha256 } = await loadLaunchSpec({ file: options.specFile, env: options.env, pinnedSha256: options.pinnedSha256 });
  const command = commandOf(spec, options.command);
  await precheckCommand(spec, command);
  log(`spec from ${origin} (sha256 ${sha256.slice(0, 16)}…): ${spec.secrets.length} secret${spec.secrets.length === 1 ? '' : 's'}, evidence ${spec.attestation.evidence}, handover ${spec.exec.handover}`);
  const ca = await caOf(spec);
  const evidence = options.evidence ?? (await evidenceFor(spec));
  const fetched = await fetchSecrets({ spec, evidence, ca, log, ...(options.retry ? { retry: options.retry } : {}) });
  const placement = await placeSecrets(spec, fetched.values, fetched.identity);
  for (const line of placement.summary) log(`placed ${line}`);

  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(options.env)) if (v !== undefined && k !== SPEC_ENV && k !== SPEC_FILE_ENV) env[k] = v;
  Object.assign(env, spec.exec.env ?? {}, placement.env);

  if (spec.exec.handover === 'in-process') {
    log(`importing ${command[0]}`);
    delete process.env[SPEC_ENV];
    delete process.env[SPEC_FILE_ENV];
    await importApplication(command, { env: { ...(spec.exec.env ?? {}), ...placement.env }, cwd: spec.exec.workingDir, filesToRemove: spec.files.removeOnExit ? placement.files.paths : [] });
    return { handover: 'in-process' };
  }

  let child: ChildOutcome;
  try {
    child = await spawnApplication(command, {
      env,
      cwd: spec.exec.workingDir,
      onStarted: () => {
        // The child has its copy; drop ours (strings cannot be wiped, only released to the GC).
        for (const k of Object.keys(placement.env)) {
          delete placement.env[k];
          delete env[k];
        }
        log(`started ${command[0]}`);
      },
    });
  } catch (err) {
    await placement.files.removeAll();
    throw err;
  }
  if (spec.files.removeOnExit) await placement.files.removeAll();
  return { handover: 'spawn', child };
}

function commandOf(spec: LaunchSpec, fromArgv: readonly string[] | undefined): readonly string[] {
  const argv = fromArgv && fromArgv.length > 0 ? fromArgv : undefined;
  if (spec.exec.command && argv) throw new LaunchError('LAUNCH_SPEC_INVALID', 'the application is given twice: in exec.command and after --', { hint: 'keep one' });
  const command = spec.exec.command ?? argv;
  if (!command) throw new LaunchError('LAUNCH_SPEC_INVALID', 'no application to run', { hint: 'set exec.command in the spec, or pass it after --: kubetee launch --spec FILE -- /app/server --port 8443' });
  return command;
}

/** A command given by path that cannot run fails before anything is fetched. */
async function precheckCommand(spec: LaunchSpec, command: readonly string[]): Promise<void> {
  const file = command[0]!;
  if (!file.includes('/')) return; // looked up on PATH at spawn time
  try {
    await access(file, spec.exec.handover === 'spawn' ? constants.X_OK : constants.R_OK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new LaunchError(code === 'ENOENT' ? 'LAUNCH_EXEC_NOT_FOUND' : 'LAUNCH_EXEC_FAILED', `the application ${file} ${code === 'ENOENT' ? 'does not exist' : `cannot be run (${code})`}`, {
      cause: err,
      hint: 'check exec.command (or the command after --); nothing was fetched',
    });
  }
}

async function caOf(spec: LaunchSpec): Promise<string | undefined> {
  if (spec.broker.ca !== undefined) return spec.broker.ca;
  if (spec.broker.caFile === undefined) return undefined;
  try {
    return await readFile(spec.broker.caFile, 'utf8');
  } catch (err) {
    throw new LaunchError('LAUNCH_SPEC_INVALID', `cannot read broker.caFile ${spec.broker.caFile}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { cause: err });
  }
}
