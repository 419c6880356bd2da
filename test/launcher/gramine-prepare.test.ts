import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseTomlRaw } from 'smol-toml';
import { prepareManifest, GraminePrepareError, type PrepareInput } from '../../src/launcher/gramine/prepare.js';
import { parseLaunchSpec } from '../../src/launcher/spec.js';
import { runCli } from '../helpers/cli.js';

/* `kubetee gramine prepare`, offline: the rewritten manifest is parsed back and checked key by key. */

const TEMPLATE_FILE = fileURLToPath(new URL('./fixtures/python-app.manifest.toml', import.meta.url));
const TEMPLATE = readFileSync(TEMPLATE_FILE, 'utf8');
const SPEC = `apiVersion: kubetee.io/v1alpha1
kind: LaunchSpec
broker: { url: "https://kbs.kubetee-system.svc:8080", caFile: /etc/kubetee/kbs-ca.pem }
attestation: { evidence: gramine }
files: { ephemeralKey: kubetee_files }
secrets:
  - { resource: models/key/tls, file: tls.key }
  - { resource: models/db/password, env: DB_PASSWORD }
  - { resource: models/key/fs, gramineKey: model_fs }
`;
/** Plain objects (smol-toml's tables have no prototype), so deepEqual compares values only. */
const parseToml = (text: string): unknown => JSON.parse(JSON.stringify(parseTomlRaw(text)));
const SHA = createHash('sha256').update(SPEC).digest('hex');

function input(overrides: Partial<PrepareInput> = {}, specText = SPEC): PrepareInput {
  return { manifest: TEMPLATE, where: 'app.manifest', spec: parseLaunchSpec(specText, 'spec'), specSha256: SHA, nodePath: '/usr/bin/node', kubeteeRoot: '/opt/kubetee', ...overrides };
}

test('gramine prepare: the enclave starts the launcher, which starts the original command; everything it needs is measured', () => {
  const r = prepareManifest(input());
  const m = parseToml(r.manifest) as Record<string, any>;
  assert.equal(m.libos.entrypoint, '/usr/bin/node');
  assert.deepEqual(m.loader.argv, ['/usr/bin/node', '/opt/kubetee/bin/kubetee.js', 'launch', '--spec-sha256', SHA, '--', '/usr/bin/python3', '/app/serve.py', '--port', '8443']);
  assert.deepEqual(r.appCommand, ['/usr/bin/python3', '/app/serve.py', '--port', '8443']);
  assert.deepEqual(m.loader.env.KUBETEE_LAUNCH_SPEC, { passthrough: true });
  assert.equal(m.loader.env.MODEL_PATH, '/data/model.bin', 'the rest of the template is kept');
  assert.equal(m.sgx.remote_attestation, 'dcap');
  assert.equal(m.sys.enable_extra_runtime_domain_names_conf, true);
  assert.equal(m.sgx.isvprodid, 7);
  assert.equal(m.sgx.enclave_size, '2G');
  assert.equal(m.loader.entrypoint.uri, 'file:{{ gramine.libos }}', 'Jinja inside strings survives');
  assert.deepEqual(m.fs.mounts.at(-1), { type: 'encrypted', path: '/run/kubetee/secrets', uri: 'file:/run/kubetee/secrets.enc', key_name: 'kubetee_files' });
  assert.equal(m.fs.mounts.length, 6);
  for (const uri of ['file:/usr/bin/node', 'file:/opt/kubetee/dist/', 'file:/opt/kubetee/node_modules/', 'file:/opt/kubetee/bin/', 'file:/opt/kubetee/package.json', 'file:/etc/kubetee/kbs-ca.pem']) {
    assert.ok(m.sgx.trusted_files.includes(uri), uri);
  }
  assert.deepEqual(m.sgx.trusted_files[3], { uri: 'file:/usr/lib/python3.11/', sha256: '4b4f2d0c5d0e6f3a1b2c3d4e5f60718293a4b5c6d7e8f90112233445566778899' });
  assert.deepEqual(
    r.changes.map((c) => c.key),
    ['libos.entrypoint', 'loader.argv', 'loader.env.KUBETEE_LAUNCH_SPEC', 'fs.mounts', 'sgx.remote_attestation', 'sys.enable_extra_runtime_domain_names_conf', 'sgx.trusted_files'],
  );
  assert.equal(r.changes[0]!.before, '/usr/bin/python3');
  assert.match(r.manifest, /^# Prepared by kubetee gramine prepare/);
});

test('gramine prepare: a spec shipped in the image is a trusted file and no variable is passed through; an IP broker needs no DNS', () => {
  const spec = SPEC.replace('kbs.kubetee-system.svc', '10.0.0.7');
  const r = prepareManifest(input({ specInImage: '/etc/kubetee/launch.yaml', specSha256: createHash('sha256').update(spec).digest('hex') }, spec));
  const m = parseToml(r.manifest) as Record<string, any>;
  assert.deepEqual(m.loader.argv.slice(2, 7), ['launch', '--spec-sha256', createHash('sha256').update(spec).digest('hex'), '--spec', '/etc/kubetee/launch.yaml']);
  assert.equal(m.loader.env.KUBETEE_LAUNCH_SPEC, undefined);
  assert.ok(m.sgx.trusted_files.includes('file:/etc/kubetee/launch.yaml'));
  assert.equal(m.sys, undefined);
});

test('gramine prepare: a spec that only asks for a workload certificate still gets the secrets mount', () => {
  const spec = SPEC.replace(/secrets:\n(  - .*\n)+/, 'identity: {}\n');
  assert.doesNotMatch(spec, /resource:/);
  const m = parseToml(prepareManifest(input({}, spec)).manifest) as Record<string, any>;
  assert.deepEqual(m.fs.mounts.at(-1), { type: 'encrypted', path: '/run/kubetee/secrets', uri: 'file:/run/kubetee/secrets.enc', key_name: 'kubetee_files' });
});

test('gramine prepare: in-process handover mounts tmpfs and imports the template\'s node entry module', () => {
  const template = TEMPLATE.replace('libos.entrypoint = "/usr/bin/python3"', 'libos.entrypoint = "/usr/bin/node"').replace('["python3", "/app/serve.py", "--port", "8443"]', '["node", "/app/server.mjs", "--port", "8443"]');
  const spec = SPEC.replace('files: { ephemeralKey: kubetee_files }', 'exec: { handover: in-process }');
  const r = prepareManifest(input({ manifest: template }, spec));
  const m = parseToml(r.manifest) as Record<string, any>;
  assert.deepEqual(r.appCommand, ['/app/server.mjs', '--port', '8443']);
  assert.deepEqual(m.fs.mounts.at(-1), { type: 'tmpfs', path: '/run/kubetee/secrets' });
  assert.throws(() => prepareManifest(input({}, spec)), (err) => err instanceof GraminePrepareError && err.code === 'GRAMINE_MANIFEST_CONFLICT' && /in-process/.test(err.message));
});

test('gramine prepare: templates that let the host steer the enclave, or disagree with the spec, are refused with the key named', () => {
  const cases: Array<[string, Partial<PrepareInput>, string, RegExp]> = [
    ['not TOML', { manifest: 'libos.entrypoint = \n' }, 'GRAMINE_MANIFEST_INVALID', /not TOML at line 1/],
    ['unquoted Jinja', { manifest: 'sgx.debug = {{ debug }}\n' }, 'GRAMINE_MANIFEST_INVALID', /not TOML/],
    ['no entrypoint', { manifest: 'loader.log_level = "error"\n' }, 'GRAMINE_MANIFEST_INVALID', /libos\.entrypoint/],
    ['host env', { manifest: `${TEMPLATE}\nloader.insecure__use_host_env = true\n` }, 'GRAMINE_MANIFEST_UNSAFE', /insecure__use_host_env/],
    ['NODE_OPTIONS passthrough', { manifest: TEMPLATE.replace('loader.env.MODEL_PATH', 'loader.env.NODE_OPTIONS = { passthrough = true }\nloader.env.MODEL_PATH') }, 'GRAMINE_MANIFEST_UNSAFE', /NODE_OPTIONS/],
    ['argv from a file', { manifest: `${TEMPLATE}\nloader.argv_src_file = "file:argv"\n` }, 'GRAMINE_MANIFEST_UNSAFE', /argv_src_file/],
    ['launcher files host-controlled', { manifest: TEMPLATE.replace('["file:/app/logs/"]', '["file:/opt/"]') }, 'GRAMINE_MANIFEST_UNSAFE', /allowed_files.*file:\/opt\//],
    ['secrets dir mounted otherwise', { manifest: TEMPLATE.replace('{ type = "tmpfs", path = "/tmp" }', '{ type = "tmpfs", path = "/run/kubetee/secrets" }') }, 'GRAMINE_MANIFEST_CONFLICT', /already mounted as tmpfs/],
    ['undeclared key', { manifest: TEMPLATE.replace('key_name = "model_fs"', 'key_name = "other"') }, 'GRAMINE_MANIFEST_CONFLICT', /Gramine key model_fs/],
    ['prepared twice', { manifest: prepareManifest(input()).manifest }, 'GRAMINE_MANIFEST_CONFLICT', /already starts kubetee launch/],
  ];
  for (const [name, overrides, code, pattern] of cases) {
    assert.throws(() => prepareManifest(input(overrides)), (err) => err instanceof GraminePrepareError && err.code === code && pattern.test(err.message), name);
  }
  const specCases: Array<[string, string, RegExp]> = [
    ['spawn with files and no ephemeral key', SPEC.replace('files: { ephemeralKey: kubetee_files }\n', ''), /new enclave that cannot see the launcher's tmpfs/],
    ['sim evidence', SPEC.replace('{ evidence: gramine }', '{ evidence: sim, sim: { state: /x } }'), /"sim" evidence/],
  ];
  for (const [name, spec, pattern] of specCases) {
    assert.throws(() => prepareManifest(input({}, spec)), (err) => err instanceof GraminePrepareError && err.code === 'GRAMINE_MANIFEST_CONFLICT' && pattern.test(err.message), name);
  }
});

test('gramine prepare (CLI): writes the manifest and prints each change with before and after; --json for tools', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kubetee-prepare-'));
  try {
    const specFile = join(dir, 'launch.yaml');
    writeFileSync(specFile, SPEC);
    const out = join(dir, 'app.manifest');
    const r = runCli(['gramine', 'prepare', '--manifest', TEMPLATE_FILE, '--spec', specFile, '--node', '/usr/bin/node', '--kubetee-root', '/opt/kubetee', '--out', out]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /MRENCLAVE-relevant changes to .*python-app\.manifest\.toml \(7\)/);
    assert.match(r.stdout, /libos\.entrypoint\n\s+before: "\/usr\/bin\/python3"\n\s+after: {2}"\/usr\/bin\/node"/);
    assert.match(r.stdout, new RegExp(`spec sha256: ${SHA}`));
    assert.equal((parseToml(readFileSync(out, 'utf8')) as Record<string, any>).libos.entrypoint, '/usr/bin/node');
    const j = runCli(['gramine', 'prepare', '--manifest', TEMPLATE_FILE, '--spec', specFile, '--node', '/usr/bin/node', '--kubetee-root', '/opt/kubetee', '--out', out, '--json']);
    assert.equal(j.status, 0, j.stderr);
    const report = JSON.parse(j.stdout) as { specSha256: string; changes: Array<{ key: string }> };
    assert.equal(report.specSha256, SHA);
    assert.equal(report.changes.length, 7);
    const bad = runCli(['gramine', 'prepare', '--manifest', TEMPLATE_FILE, '--spec', specFile, '--node', 'node']);
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /--node must be an absolute path/);
    writeFileSync(specFile, SPEC.replace('gramineKey: model_fs', 'gramineKey: nope'));
    const conflict = runCli(['gramine', 'prepare', '--manifest', TEMPLATE_FILE, '--spec', specFile]);
    assert.equal(conflict.status, 1);
    assert.match(conflict.stderr, /error \[GRAMINE_MANIFEST_CONFLICT\].*Gramine key nope/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
