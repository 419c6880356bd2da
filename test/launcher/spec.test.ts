import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseLaunchSpec } from '../../src/launcher/spec.js';
import { loadLaunchSpec } from '../../src/launcher/spec-source.js';
import { LaunchError } from '../../src/launcher/errors.js';

const BASE = `apiVersion: kubetee.io/v1alpha1
kind: LaunchSpec
broker: { url: "https://kbs.example:8080" }
attestation: { evidence: gramine }
`;

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof LaunchError, `expected a LaunchError, got ${String(err)}`);
    return `${err.code}: ${err.message}`;
  }
  return 'no error';
}

test('spec: a minimal document gets the documented defaults', () => {
  const spec = parseLaunchSpec(BASE, 'test');
  assert.equal(spec.deadlineSeconds, 120);
  assert.deepEqual(spec.retry, { initialDelayMs: 250, maxDelayMs: 5000 });
  assert.deepEqual(spec.files, { dir: '/run/kubetee/secrets', removeOnExit: true });
  assert.equal(spec.gramine.root, '/dev/attestation');
  assert.equal(spec.exec.handover, 'spawn');
  assert.deepEqual(spec.secrets, []);
});

test('spec: JSON is accepted as well as YAML', () => {
  const spec = parseLaunchSpec(
    JSON.stringify({ apiVersion: 'kubetee.io/v1alpha1', kind: 'LaunchSpec', broker: { url: 'https://kbs:1' }, attestation: { evidence: 'gramine' }, secrets: [{ resource: 'a/b/c', env: 'X' }] }),
    'test',
  );
  assert.equal(spec.secrets[0]!.env, 'X');
});

test('spec: every invalid shape is a LAUNCH_SPEC_INVALID naming the field', () => {
  const cases: Array<[string, string, RegExp]> = [
    ['not yaml', '{', /not valid YAML/],
    ['wrong apiVersion', BASE.replace('v1alpha1', 'v2'), /apiVersion/],
    ['unknown key', `${BASE}identity: true\n`, /Unrecognized key.*identity|identity/],
    ['no target', `${BASE}secrets: [{ resource: a/b/c }]\n`, /secrets\.0: needs exactly one of file, env or gramineKey/],
    ['two targets', `${BASE}secrets: [{ resource: a/b/c, file: x, env: X }]\n`, /exactly one/],
    ['path escape', `${BASE}secrets: [{ resource: a/b/c, file: ../etc/passwd }]\n`, /secrets\.0\.file/],
    ['absolute file', `${BASE}secrets: [{ resource: a/b/c, file: /etc/x }]\n`, /secrets\.0\.file/],
    ['hidden file', `${BASE}secrets: [{ resource: a/b/c, file: .x }]\n`, /secrets\.0\.file/],
    ['bad resource', `${BASE}secrets: [{ resource: a/b, env: X }]\n`, /secrets\.0\.resource/],
    ['dot resource', `${BASE}secrets: [{ resource: a/../c, env: X }]\n`, /secrets\.0\.resource/],
    ['bad env name', `${BASE}secrets: [{ resource: a/b/c, env: "1X" }]\n`, /secrets\.0\.env/],
    ['sealing key', `${BASE}secrets: [{ resource: a/b/c, gramineKey: _sgx_mrenclave }]\n`, /read-only sealing keys/],
    ['encoding without env', `${BASE}secrets: [{ resource: a/b/c, file: x, encoding: hex }]\n`, /encoding: applies only to env/],
    ['duplicate target', `${BASE}secrets: [{ resource: a/b/c, env: X }, { resource: a/b/d, env: X }]\n`, /env X is already the target of secrets\.0/],
    ['env also in exec.env', `${BASE}secrets: [{ resource: a/b/c, env: X }]\nexec: { env: { X: "1" } }\n`, /X is also set in exec\.env/],
    ['plain http with gramine', BASE.replace('https://', 'http://'), /broker\.url: is plain HTTP/],
    ['relative files.dir', `${BASE}files: { dir: run/secrets }\n`, /files\.dir/],
    ['sim without state', BASE.replace('{ evidence: gramine }', '{ evidence: sim }'), /attestation\.sim/],
    ['deadline 0', `${BASE}deadlineSeconds: 0\n`, /deadlineSeconds/],
    ['identity file taken', `${BASE}secrets: [{ resource: a/b/c, file: svid.pem }]\nidentity: {}\n`, /identity\.certFile: file svid\.pem is already the target of secrets\.0/],
    ['identity unknown key', `${BASE}identity: { trustDomain: x }\n`, /identity/],
  ];
  for (const [name, text, pattern] of cases) {
    const got = codeOf(() => parseLaunchSpec(text, 'spec.yaml'));
    assert.match(got, /^LAUNCH_SPEC_INVALID: spec\.yaml/, name);
    assert.match(got, pattern, name);
  }
  // Plain HTTP is fine for the simulator, and with the explicit opt-in.
  parseLaunchSpec(BASE.replace('https://', 'http://').replace('{ url:', '{ allowPlainHttp: true, url:'), 't');
  parseLaunchSpec(BASE.replace('https://', 'http://').replace('{ evidence: gramine }', '{ evidence: sim, sim: { state: /x } }'), 't');
});

test('spec source: --spec wins, then $KUBETEE_LAUNCH_SPEC, then $KUBETEE_LAUNCH_SPEC_FILE; the pin must match the bytes', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kubetee-spec-'));
  try {
    const file = join(dir, 'spec.yaml');
    writeFileSync(file, BASE);
    const sha = createHash('sha256').update(BASE).digest('hex');
    const fromFile = await loadLaunchSpec({ file, env: { KUBETEE_LAUNCH_SPEC: 'ignored' } });
    assert.equal(fromFile.sha256, sha);
    assert.match(fromFile.origin, /--spec/);
    assert.match((await loadLaunchSpec({ env: { KUBETEE_LAUNCH_SPEC: BASE } })).origin, /\$KUBETEE_LAUNCH_SPEC$/);
    assert.match((await loadLaunchSpec({ env: { KUBETEE_LAUNCH_SPEC_FILE: file } })).origin, /KUBETEE_LAUNCH_SPEC_FILE/);
    await loadLaunchSpec({ env: { KUBETEE_LAUNCH_SPEC: BASE }, pinnedSha256: sha.toUpperCase() });

    const refused = async (options: Parameters<typeof loadLaunchSpec>[0]): Promise<string> => {
      try {
        await loadLaunchSpec(options);
      } catch (err) {
        assert.ok(err instanceof LaunchError);
        assert.equal(err.exitCode, 78);
        return `${err.code}: ${err.message}`;
      }
      return 'accepted';
    };
    // One changed byte (a different broker, say) no longer matches the measured pin.
    assert.match(await refused({ env: { KUBETEE_LAUNCH_SPEC: BASE.replace('kbs.example', 'kbs.evil') }, pinnedSha256: sha }), /not the pinned/);
    assert.match(await refused({ env: { KUBETEE_LAUNCH_SPEC: BASE }, pinnedSha256: 'abc' }), /not 64 hex/);
    assert.match(await refused({ env: {} }), /no launch spec given/);
    assert.match(await refused({ env: { KUBETEE_LAUNCH_SPEC: BASE, KUBETEE_LAUNCH_SPEC_FILE: file } }), /both/);
    assert.match(await refused({ file: join(dir, 'absent.yaml'), env: {} }), /ENOENT/);
    writeFileSync(join(dir, 'bin.yaml'), Buffer.from([0xff, 0xfe, 0x00]));
    assert.match(await refused({ file: join(dir, 'bin.yaml'), env: {} }), /not UTF-8/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
