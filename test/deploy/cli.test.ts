import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { runCli } from '../helpers/cli.js';

const STACK = /\s+at\s+\S+\s+\(/;
let dir: string;
let deadKubeconfig: string;

function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kubetee-deploy-cli-'));
  deadKubeconfig = join(dir, 'kubeconfig');
  const port = await closedPort();
  writeFileSync(
    deadKubeconfig,
    [
      'apiVersion: v1',
      'kind: Config',
      'clusters: [{name: dead, cluster: {server: "https://127.0.0.1:' + port + '", insecure-skip-tls-verify: true}}]',
      'users: [{name: u, user: {token: t}}]',
      'contexts: [{name: dead, context: {cluster: dead, user: u}}]',
      'current-context: dead',
      '',
    ].join('\n'),
  );
});

test('kubetee render prints one valid YAML stream of every manifest', () => {
  const r = runCli(['render', '--profile', 'intel']);
  assert.equal(r.status, 0, r.stderr);
  const docs = parseAllDocuments(r.stdout).map((d) => d.toJS() as { kind: string });
  assert.ok(docs.length >= 25);
  assert.equal(docs[0]!.kind, 'Namespace');
  assert.ok(docs.some((d) => d.kind === 'ValidatingWebhookConfiguration'));
});

test('render with bad values exits 2 with the problem and no stack trace', () => {
  const file = join(dir, 'bad.yaml');
  writeFileSync(file, 'kbs:\n  replicas: 2\n');
  const r = runCli(['render', '--values', file]);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /error \[VALUES_INVALID\]: .*bad\.yaml: invalid values:/);
  assert.match(r.stderr, /kbs\.storage\.postgres/);
  assert.doesNotMatch(r.stderr, STACK);
});

test('render node-init prints cloud-init user data for the given PCCS', () => {
  const ci = runCli(['render', 'node-init', '--pccs', 'https://pccs.example.com/sgx/certification/v4/']);
  assert.equal(ci.status, 0, ci.stderr);
  assert.match(ci.stdout, /^#cloud-config\n/);
  assert.match(ci.stdout, /PCCS_URL='https:\/\/pccs\.example\.com\/sgx\/certification\/v4\/'/);
});

test('cluster commands: missing kubeconfig and unknown context exit 2', () => {
  const missing = runCli(['install', '--kubeconfig', join(dir, 'nope')]);
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /\[KUBECONFIG_INVALID\]: kubeconfig .*nope does not exist/);
  const ctx = runCli(['doctor', '--kubeconfig', deadKubeconfig, '--context', 'prod']);
  assert.equal(ctx.status, 2);
  assert.match(ctx.stderr, /\[CONTEXT_NOT_FOUND\]: context "prod" is not in the kubeconfig/);
  assert.match(ctx.stderr, /hint: known contexts: dead/);
});

test('an unreachable API server is a clear CLUSTER_UNREACHABLE, never a stack trace', () => {
  for (const args of [['doctor'], ['install', '--dry-run']]) {
    const r = runCli([...args, '--kubeconfig', deadKubeconfig]);
    assert.equal(r.status, 1, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, /\[CLUSTER_UNREACHABLE\]: cannot reach the API server https:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\)/, args.join(' '));
    assert.match(r.stderr, /hint: check --kubeconfig\/--context/);
    assert.doesNotMatch(r.stderr, STACK);
  }
});
