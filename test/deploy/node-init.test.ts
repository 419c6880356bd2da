import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { checkPccsUrl, nodeInitScript, renderNodeInit, renderNodeInitDaemonSet } from '../../src/deploy/node-init.js';
import { resolveValues } from '../../src/deploy/values.js';
import { DeployError } from '../../src/deploy/errors.js';

const PCCS = 'https://sgx-dcap-server.cn-hangzhou.aliyuncs.com/sgx/certification/v4/';

function shellcheck(script: string): { status: number | null; out: string } {
  const r = spawnSync('shellcheck', ['-s', 'bash', '-'], { input: script, encoding: 'utf8', timeout: 30_000 });
  if (r.error && (r.error as NodeJS.ErrnoException).code === 'ENOENT') {
    if (process.env['CI']) assert.fail('shellcheck is not installed (CI must have it: .ci/run installs it)');
    return { status: -1, out: 'shellcheck missing' };
  }
  return { status: r.status, out: r.stdout + r.stderr };
}

test('the node-init script passes shellcheck in both delivery formats', (t) => {
  const cloudInit = renderNodeInit('cloud-init', PCCS, resolveValues({}, 'test'));
  assert.ok(cloudInit.startsWith('#cloud-config\n'));
  const doc = parse(cloudInit) as { write_files: { path: string; content: string; permissions: string }[]; runcmd: string[][] };
  assert.equal(doc.write_files[0]!.path, '/usr/local/sbin/kubetee-node-init');
  assert.equal(doc.write_files[0]!.permissions, '0755');
  assert.deepEqual(doc.runcmd, [['/usr/local/sbin/kubetee-node-init']]);
  const ds = parseAllDocuments(renderNodeInit('daemonset', PCCS, resolveValues({}, 'test'))).map((d) => d.toJS() as { kind: string; data?: Record<string, string> });
  const fromConfigMap = ds.find((d) => d.kind === 'ConfigMap')!.data!['node-init.sh']!;
  assert.equal(fromConfigMap, doc.write_files[0]!.content);
  const r = shellcheck(doc.write_files[0]!.content);
  if (r.status === -1) {
    if (process.env['CI']) assert.fail('shellcheck is not installed; .ci/run installs it and CI must run this check');
    return t.skip('shellcheck not installed');
  }
  assert.equal(r.status, 0, r.out);
});

test('the DaemonSet alternative is a privileged one-shot init container on SGX nodes only', () => {
  const objs = renderNodeInitDaemonSet(PCCS, resolveValues({}, 'test'));
  const ds = objs.find((o) => o.kind === 'DaemonSet') as unknown as { spec: { template: { spec: Record<string, any> } } };
  const pod = ds.spec.template.spec;
  assert.equal(pod['hostPID'], true);
  assert.equal(pod['initContainers'][0].securityContext.privileged, true);
  assert.equal(pod['containers'][0].securityContext.allowPrivilegeEscalation, false);
  assert.ok(pod['affinity'].nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms.length >= 2);
});

test('--pccs must be a plain https URL (it is written into a shell script)', () => {
  assert.equal(checkPccsUrl(PCCS), PCCS);
  for (const bad of ['http://pccs.example/', 'not a url', "https://x/'; rm -rf / #", 'https://x/$(id)']) {
    assert.throws(() => nodeInitScript(bad), (e: unknown) => e instanceof DeployError && e.code === 'NODE_INIT_INVALID' && e.exitCode === 2, bad);
  }
});

// The script run for real against a fake host root. Package manager and
// systemd cannot run here, so small recording stand-ins take their place.
let root: string;
let bin: string;
let calls: string;
let script: string;
before(() => {
  const dir = mkdtempSync(join(tmpdir(), 'kubetee-node-init-'));
  root = join(dir, 'root');
  bin = join(dir, 'bin');
  calls = join(dir, 'calls.log');
  mkdirSync(join(root, 'proc'), { recursive: true });
  mkdirSync(join(root, 'etc'), { recursive: true });
  mkdirSync(bin);
  writeFileSync(calls, '');
  script = join(dir, 'node-init.sh');
  writeFileSync(script, nodeInitScript(PCCS));
  const stub = (name: string, body: string): void => {
    writeFileSync(join(bin, name), `#!/usr/bin/env bash\necho "${name} $*" >> "${calls}"\n${body}\n`);
    chmodSync(join(bin, name), 0o755);
  };
  const installed = join(dir, 'installed');
  const active = join(dir, 'active');
  stub('dpkg-query', `pkg="\${!#}"; grep -qx "$pkg" "${installed}" 2>/dev/null && printf 'install ok installed' && exit 0; exit 1`);
  stub('apt-get', `[ "$1" = install ] && for a in "$@"; do case "$a" in libsgx*|sgx*) echo "$a" >> "${installed}";; esac; done; exit 0`);
  stub('systemctl', `case "$1" in is-enabled) [ -f "${active}.enabled" ];; enable) touch "${active}.enabled";; is-active) [ -f "${active}" ];; start|restart) touch "${active}";; esac`);
});

function runInit(): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync('bash', [script], { encoding: 'utf8', timeout: 30_000, env: { ...process.env, KUBETEE_NODE_INIT_ROOT: root, PATH: `${bin}:${process.env['PATH']}` } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('node-init fails clearly without an SGX driver', () => {
  writeFileSync(join(root, 'proc', 'cpuinfo'), 'flags\t: fpu sgx\n');
  const none = runInit();
  assert.equal(none.status, 3);
  assert.match(none.stderr, /no SGX device node/);
  assert.match(none.stderr, /hint: use an SGX instance type/);
  // The DCAP driver layout (plain files are enough for its -e checks).
  mkdirSync(join(root, 'dev', 'sgx'), { recursive: true });
  writeFileSync(join(root, 'dev', 'sgx', 'enclave'), '');
  writeFileSync(join(root, 'dev', 'sgx', 'provision'), '');
});

test('node-init installs, configures the PCCS and starts AESM once, then changes nothing', () => {
  const first = runInit();
  assert.equal(first.status, 0, first.stderr);
  assert.match(first.stdout, /SGX driver: dcap/);
  assert.match(first.stdout, /installing sgx-aesm-service/);
  assert.match(first.stdout, /quote provider configured for https:\/\/sgx-dcap-server/);
  assert.match(first.stdout, /aesmd started/);
  const qcnl = JSON.parse(readFileSync(join(root, 'etc', 'sgx_default_qcnl.conf'), 'utf8')) as { pccs_url: string; use_secure_cert: boolean };
  assert.equal(qcnl.pccs_url, PCCS);
  assert.equal(qcnl.use_secure_cert, true);
  writeFileSync(calls, '');
  const second = runInit();
  assert.equal(second.status, 0, second.stderr);
  assert.match(second.stdout, /SGX packages already installed/);
  assert.match(second.stdout, /quote provider already configured/);
  assert.match(second.stdout, /aesmd already running/);
  const log = readFileSync(calls, 'utf8');
  assert.doesNotMatch(log, /apt-get|systemctl (start|restart|enable)/, 'a second run must not change anything');
  assert.ok(!existsSync(join(root, 'etc', 'sgx_default_qcnl.conf.tmp')));
});

test('node-init refuses the in-kernel driver without Flexible Launch Control', (t) => {
  const devDir = mkdtempSync(join(tmpdir(), 'kubetee-node-init-dev-'));
  const flcRoot = join(devDir, 'root');
  mkdirSync(join(flcRoot, 'dev'), { recursive: true });
  mkdirSync(join(flcRoot, 'proc'), { recursive: true });
  // The in-kernel driver check wants real character devices: needs root (CAP_MKNOD).
  for (const [name, minor] of [['sgx_enclave', '125'], ['sgx_provision', '126']] as const) {
    const r = spawnSync('mknod', [join(flcRoot, 'dev', name), 'c', '10', minor]);
    if (r.status !== 0) {
      if (process.env['CI']) assert.fail('mknod failed; CI runs as root and must be able to create device nodes');
      return t.skip('mknod needs root');
    }
  }
  const run = (flags: string) => {
    writeFileSync(join(flcRoot, 'proc', 'cpuinfo'), `flags\t: fpu ${flags}\n`);
    return spawnSync('bash', [script], { encoding: 'utf8', timeout: 30_000, env: { ...process.env, KUBETEE_NODE_INIT_ROOT: flcRoot, PATH: `${bin}:${process.env['PATH']}` } });
  };
  const noFlc = run('sgx');
  assert.equal(noFlc.status, 4);
  assert.match(noFlc.stderr, /does not report Flexible Launch Control \(sgx_lc\)/);
  const flc = run('sgx sgx_lc');
  assert.equal(flc.status, 0, flc.stderr);
  assert.match(flc.stdout, /SGX driver: in-kernel/);
});
