import { isIP } from 'node:net';
import { basename } from 'node:path';
import { parse as parseToml, stringify as stringifyToml, TomlError, type TomlTable, type TomlValue } from 'smol-toml';
import { KubeteeError } from '../../common/errors.js';
import { SPEC_ENV } from '../spec-source.js';
import type { LaunchSpec } from '../spec.js';

export type GraminePrepareErrorCode =
  /** Not TOML, or a field has the wrong type. */
  | 'GRAMINE_MANIFEST_INVALID'
  /** The template lets the host steer the launcher (host env, argv from the command line, NODE_OPTIONS passthrough...). */
  | 'GRAMINE_MANIFEST_UNSAFE'
  /** The template and the launch spec disagree (a mount at the secrets path of another type, an undeclared key). */
  | 'GRAMINE_MANIFEST_CONFLICT';

export class GraminePrepareError extends KubeteeError<GraminePrepareErrorCode> {}

export interface PrepareInput {
  /** The manifest (TOML: a rendered manifest, or a template whose Jinja expressions sit inside strings). */
  manifest: string;
  /** Names the manifest in errors. */
  where: string;
  spec: LaunchSpec;
  /** SHA-256 of the exact spec bytes: pinned in the measured argv. */
  specSha256: string;
  /** Ship the spec in the image at this path (a trusted file) instead of injecting it through $KUBETEE_LAUNCH_SPEC. */
  specInImage?: string | undefined;
  /** Absolute path of the node binary inside the enclave. */
  nodePath: string;
  /** Where the kubetee package is installed inside the enclave image. */
  kubeteeRoot: string;
  /** Host directory backing the ephemeral encrypted mount (spawn handover with secret files). */
  encryptedHostDir?: string | undefined;
}

export interface ManifestChange {
  key: string;
  before: unknown;
  after: unknown;
  why: string;
}

export interface PrepareResult {
  manifest: string;
  changes: ManifestChange[];
  warnings: string[];
  /** The application command the launcher starts after placing the secrets. */
  appCommand: string[];
}

/** Passing these through from the host would let it load code into the launcher or the application. */
const UNSAFE_PASSTHROUGH = /^(NODE_OPTIONS|NODE_PATH|NODE_EXTRA_CA_CERTS|LD_PRELOAD|LD_LIBRARY_PATH|LD_AUDIT|PYTHONPATH|PYTHONSTARTUP|KUBETEE_LAUNCH_SPEC_FILE)$/;

/**
 * Rewrites a Gramine manifest so the enclave starts `kubetee launch`, which
 * fetches the secrets and then starts the original entrypoint with its
 * original arguments. Every change alters the measured manifest, so every one
 * is returned for the MRENCLAVE report. Pure: file reading, writing and
 * printing are the CLI's.
 */
export function prepareManifest(input: PrepareInput): PrepareResult {
  const m = parseManifest(input.manifest, input.where);
  const spec = input.spec;
  const changes: ManifestChange[] = [];
  const warnings: string[] = [];
  const at = (key: string): string => `${input.where}: ${key}`;

  if (spec.attestation.evidence !== 'gramine') {
    throw new GraminePrepareError('GRAMINE_MANIFEST_CONFLICT', `the launch spec attests with "${spec.attestation.evidence}" evidence; an enclave attests with evidence: gramine`, { hint: 'set attestation: { evidence: gramine } in the spec' });
  }
  if (spec.gramine.root !== '/dev/attestation') {
    throw new GraminePrepareError('GRAMINE_MANIFEST_CONFLICT', `the spec's gramine.root is ${spec.gramine.root}; inside Gramine the pseudo-files are at /dev/attestation`, { hint: 'drop gramine.root from the spec (it is for tests)' });
  }

  // --- the application the launcher will start -------------------------------------------------
  const entrypoint = getPath(m, 'libos.entrypoint');
  if (typeof entrypoint !== 'string' || entrypoint === '') throw invalid(at('libos.entrypoint'), 'is missing or not a string', 'the template must name the application as libos.entrypoint');
  if (getPath(m, 'loader.argv_src_file') !== undefined) {
    throw new GraminePrepareError('GRAMINE_MANIFEST_UNSAFE', `${at('loader.argv_src_file')}: the launcher's arguments must be in the measured manifest`, { hint: 'move the arguments into loader.argv' });
  }
  if (getPath(m, 'loader.insecure__use_host_env') === true) {
    throw new GraminePrepareError('GRAMINE_MANIFEST_UNSAFE', `${at('loader.insecure__use_host_env')}: the host would choose the launcher's environment (NODE_OPTIONS=--require ... runs its code before the launcher)`, { hint: 'remove it and list the variables the application needs under loader.env' });
  }
  const env = getPath(m, 'loader.env');
  if (env !== undefined && !isTable(env)) throw invalid(at('loader.env'), 'is not a table');
  for (const [name, value] of Object.entries(env ?? {})) {
    if (isTable(value) && value['passthrough'] === true && UNSAFE_PASSTHROUGH.test(name)) {
      throw new GraminePrepareError('GRAMINE_MANIFEST_UNSAFE', `${at(`loader.env.${name}`)}: passing ${name} through from the host lets it change what code runs in the enclave`, { hint: `set a fixed value (loader.env.${name} = "...") or remove it` });
    }
  }
  const argv = getPath(m, 'loader.argv');
  if (argv !== undefined && !(Array.isArray(argv) && argv.length > 0 && argv.every((a) => typeof a === 'string'))) throw invalid(at('loader.argv'), 'is not a non-empty list of strings');
  const argvList = argv as string[] | undefined;
  if (argvList && argvList[1]?.endsWith('/bin/kubetee.js') && argvList[2] === 'launch') {
    throw new GraminePrepareError('GRAMINE_MANIFEST_CONFLICT', `${input.where} already starts kubetee launch`, { hint: 'prepare the original template, not a prepared manifest' });
  }
  let appCommand = [entrypoint, ...((argv as string[] | undefined)?.slice(1) ?? [])];
  if (spec.exec.handover === 'in-process') {
    // The template runs `node app.js ...`; in-process, the launcher imports app.js itself.
    if (!/^node(js)?(\d+)?$/.test(basename(entrypoint))) {
      throw new GraminePrepareError('GRAMINE_MANIFEST_CONFLICT', `the spec asks for the in-process handover, which imports a JavaScript module, but the template's entrypoint is ${entrypoint}`, { hint: 'use exec.handover: spawn for a non-Node application' });
    }
    appCommand = appCommand.slice(1);
    if (appCommand.length === 0) throw invalid(at('loader.argv'), 'names no JavaScript entry module for the in-process handover');
  }
  if (spec.exec.command !== undefined) {
    appCommand = [...spec.exec.command];
    warnings.push('the spec has exec.command: the template\'s entrypoint and argv are replaced by it');
  }

  // --- the launcher becomes the entrypoint --------------------------------------------------------
  const launcherArgv = [input.nodePath, `${input.kubeteeRoot}/bin/kubetee.js`, 'launch', '--spec-sha256', input.specSha256];
  if (input.specInImage !== undefined) launcherArgv.push('--spec', input.specInImage);
  if (spec.exec.command === undefined) launcherArgv.push('--', ...appCommand);
  set(m, 'libos.entrypoint', input.nodePath, changes, 'the launcher (under node) runs first and starts the application after placing its secrets');
  set(m, 'loader.argv', launcherArgv, changes, 'launcher arguments, the pinned spec hash and the original command, all measured');
  if (getPath(m, 'loader.insecure__use_cmdline_argv') !== undefined) {
    remove(m, 'loader.insecure__use_cmdline_argv', changes, 'the host must not choose the launcher\'s arguments');
  }
  if (input.specInImage === undefined) {
    set(m, `loader.env.${SPEC_ENV}`, { passthrough: true }, changes, 'the spec comes from the pod (checked against the pinned hash)');
  }

  // --- where secret files go ----------------------------------------------------------------------
  const needsFiles = spec.identity !== undefined || spec.secrets.some((s) => s.file !== undefined);
  const mounts = getPath(m, 'fs.mounts');
  if (mounts !== undefined && !(Array.isArray(mounts) && mounts.every(isTable))) throw invalid(at('fs.mounts'), 'is not a list of tables');
  const mountList = (mounts as TomlTable[] | undefined) ?? [];
  if (needsFiles) {
    let wanted: TomlTable;
    if (spec.exec.handover === 'in-process') {
      wanted = { type: 'tmpfs', path: spec.files.dir };
    } else {
      if (spec.files.ephemeralKey === undefined) {
        throw new GraminePrepareError(
          'GRAMINE_MANIFEST_CONFLICT',
          'the spec places secret files and starts the application as a child process, which Gramine runs in a new enclave that cannot see the launcher\'s tmpfs',
          { hint: 'set files.ephemeralKey (e.g. kubetee_files) for an encrypted mount with a fresh key per start, or use exec.handover: in-process for a Node application' },
        );
      }
      const hostDir = input.encryptedHostDir ?? '/run/kubetee/secrets.enc';
      wanted = { type: 'encrypted', path: spec.files.dir, uri: `file:${hostDir}`, key_name: spec.files.ephemeralKey };
    }
    const existing = mountList.find((x) => x['path'] === spec.files.dir);
    if (existing === undefined) {
      const next = [...mountList, wanted];
      set(m, 'fs.mounts', next, changes, `${wanted['type']} mount for the secret files at ${spec.files.dir}${wanted['type'] === 'encrypted' ? ` (key ${spec.files.ephemeralKey} is set to fresh random bytes at each start, so the host sees only ciphertext under a key that dies with the enclave)` : ' (enclave memory only)'}`);
    } else if (existing['type'] !== wanted['type'] || (wanted['key_name'] !== undefined && existing['key_name'] !== wanted['key_name'])) {
      throw new GraminePrepareError('GRAMINE_MANIFEST_CONFLICT', `${at('fs.mounts')}: ${spec.files.dir} is already mounted as ${String(existing['type'] ?? 'chroot')}${existing['key_name'] ? ` with key ${String(existing['key_name'])}` : ''}; the launcher needs ${String(wanted['type'])}${wanted['key_name'] ? ` with key ${String(wanted['key_name'])}` : ''}`, {
        hint: 'remove that mount from the template or change files.dir in the spec',
      });
    }
  }
  // Every Gramine key the spec sets must be declared, or the launcher meets ENOENT at start.
  const declared = new Set<string>([...mountList, ...((getPath(m, 'fs.mounts') as TomlTable[] | undefined) ?? [])].filter((x) => x['type'] === 'encrypted').map((x) => String(x['key_name'] ?? 'default')));
  const insecureKeys = getPath(m, 'fs.insecure__keys');
  if (isTable(insecureKeys)) for (const k of Object.keys(insecureKeys)) declared.add(k);
  for (const s of spec.secrets) {
    if (s.gramineKey !== undefined && !declared.has(s.gramineKey)) {
      throw new GraminePrepareError('GRAMINE_MANIFEST_CONFLICT', `the spec sets Gramine key ${s.gramineKey} (from ${s.resource}) but no encrypted mount in ${input.where} uses key_name = "${s.gramineKey}"`, {
        hint: `add the encrypted mount that this key opens, e.g. { type = "encrypted", path = "/data", uri = "file:data", key_name = "${s.gramineKey}" }`,
      });
    }
  }
  if (isTable(insecureKeys)) warnings.push('fs.insecure__keys puts keys in the manifest in clear: for debugging only');

  // --- attestation, name resolution, trusted files ----------------------------------------------
  set(m, 'sgx.remote_attestation', 'dcap', changes, 'the launcher needs /dev/attestation/quote (DCAP)');
  const host = new URL(spec.broker.url).hostname.replace(/^\[|\]$/g, '');
  if (isIP(host) === 0) set(m, 'sys.enable_extra_runtime_domain_names_conf', true, changes, `to resolve the broker's name ${host} inside the enclave`);
  const trusted = getPath(m, 'sgx.trusted_files');
  if (trusted !== undefined && !Array.isArray(trusted)) throw invalid(at('sgx.trusted_files'), 'is not a list');
  const trustedList = (trusted as TomlValue[] | undefined) ?? [];
  const uris = new Set(trustedList.map((t) => (typeof t === 'string' ? t : isTable(t) ? String(t['uri']) : '')));
  const add: string[] = [];
  const want = [`file:${input.nodePath}`, `file:${input.kubeteeRoot}/package.json`, `file:${input.kubeteeRoot}/bin/`, `file:${input.kubeteeRoot}/dist/`, `file:${input.kubeteeRoot}/node_modules/`];
  if (input.specInImage !== undefined) want.push(`file:${input.specInImage}`);
  if (spec.broker.caFile !== undefined) want.push(`file:${spec.broker.caFile}`);
  for (const u of want) if (!uris.has(u)) add.push(u);
  if (add.length > 0) set(m, 'sgx.trusted_files', [...trustedList, ...add], changes, 'the launcher\'s code, its spec and the broker CA are hashed into the enclave (the host cannot swap them)');

  const allowed = getPath(m, 'sgx.allowed_files');
  if (Array.isArray(allowed)) {
    for (const a of allowed) {
      const uri = typeof a === 'string' ? a : '';
      if (want.some((w) => uri === w || (w.endsWith('/') && uri.startsWith(w)) || (uri.endsWith('/') && w.startsWith(uri)))) {
        throw new GraminePrepareError('GRAMINE_MANIFEST_UNSAFE', `${at('sgx.allowed_files')}: ${uri} makes launcher files host-controlled`, { hint: 'remove it; kubetee gramine prepare lists them as trusted files' });
      }
    }
  }
  if (getPath(m, 'sgx.debug') === true) warnings.push('sgx.debug = true: brokers refuse debug enclaves unless the policy says allowDebug: true');
  if (getPath(m, 'sgx.file_check_policy') === 'allow_all_but_log') warnings.push('sgx.file_check_policy = "allow_all_but_log": files that are not trusted are opened anyway, so the host can replace code; use "strict"');

  const header = `# Prepared by kubetee gramine prepare: the enclave starts kubetee launch (spec sha256 ${input.specSha256}).\n# Every change below alters MRENCLAVE: sign the enclave again and update the release policies.\n\n`;
  return { manifest: `${header}${stringifyToml(m)}\n`, changes, warnings, appCommand };
}

function parseManifest(text: string, where: string): TomlTable {
  try {
    return parseToml(text, { integersAsBigInt: 'asNeeded', unsafeKeyBehaviour: 'throw', maxDepth: 64 });
  } catch (err) {
    const loc = err instanceof TomlError ? ` at line ${err.line}, column ${err.column}` : '';
    throw new GraminePrepareError('GRAMINE_MANIFEST_INVALID', `${where} is not TOML${loc}: ${(err as Error).message.split('\n')[0]}`, {
      cause: err,
      hint: 'pass a rendered manifest (gramine-manifest output), or a template whose {{ }} expressions are inside strings',
    });
  }
}

function invalid(where: string, what: string, hint?: string): GraminePrepareError {
  return new GraminePrepareError('GRAMINE_MANIFEST_INVALID', `${where} ${what}`, hint ? { hint } : {});
}

function isTable(v: unknown): v is TomlTable {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date);
}

function getPath(m: TomlTable, path: string): TomlValue | undefined {
  let cur: TomlValue | undefined = m;
  for (const k of path.split('.')) {
    if (!isTable(cur)) return undefined;
    cur = cur[k];
  }
  return cur;
}

function parentOf(m: TomlTable, path: string): { table: TomlTable; key: string } {
  const keys = path.split('.');
  let cur: TomlTable = m;
  for (const k of keys.slice(0, -1)) {
    const next = cur[k];
    if (next === undefined) cur[k] = {};
    else if (!isTable(next)) throw invalid(keys.slice(0, keys.indexOf(k) + 1).join('.'), 'is not a table');
    cur = cur[k] as TomlTable;
  }
  return { table: cur, key: keys[keys.length - 1]! };
}

function set(m: TomlTable, path: string, value: TomlValue, changes: ManifestChange[], why: string): void {
  const before = getPath(m, path);
  if (JSON.stringify(before, bigints) === JSON.stringify(value, bigints)) return;
  const { table, key } = parentOf(m, path);
  table[key] = value;
  changes.push({ key: path, before, after: value, why });
}

function remove(m: TomlTable, path: string, changes: ManifestChange[], why: string): void {
  const { table, key } = parentOf(m, path);
  changes.push({ key: path, before: table[key], after: undefined, why });
  delete table[key];
}

function bigints(_key: string, v: unknown): unknown {
  return typeof v === 'bigint' ? v.toString() : v;
}
