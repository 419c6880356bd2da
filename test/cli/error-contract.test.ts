import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { buildProgram } from '../../src/cli/main.js';
import { EXIT_STATUS } from '../../src/cli/exit-status.js';
import { REPO_ROOT, runCli } from '../helpers/cli.js';
import { runBatch } from './in-process.js';

/**
 * The CLI's one error contract (README "Errors", docs/errors.md): every
 * failure prints `kubetee: error [CODE]: message` and `  hint: ...`, nothing
 * else on stderr, no stack, no echo of the input; the exit status is the one
 * the table lists for CODE (2 = the user's input, 1 = the operation said no).
 */
const FORMAT = /^kubetee: error \[([A-Z][A-Z0-9_]*)\]: [^\n]+\n(?:  (?!hint: )[^\n]+\n)*  hint: [^\n]+\n$/;

function checkContract(what: string, r: { status: number | null; stderr: string }, expect: { code?: string; exit?: number; noEcho?: boolean } = {}): string {
  const m = FORMAT.exec(r.stderr);
  assert.ok(m, `${what}: stderr is not "kubetee: error [CODE]: message" + hint:\n${r.stderr}`);
  const code = m[1]!;
  assert.ok(Object.hasOwn(EXIT_STATUS, code), `${what}: ${code} is not in the exit-status table`);
  assert.equal(r.status, EXIT_STATUS[code as keyof typeof EXIT_STATUS].exit, `${what}: ${code} must exit ${EXIT_STATUS[code as keyof typeof EXIT_STATUS].exit}, exited ${r.status}`);
  if (expect.code) assert.equal(code, expect.code, `${what}: ${r.stderr}`);
  if (expect.exit !== undefined) assert.equal(r.status, expect.exit, `${what}: ${r.stderr}`);
  // Never echo raw input: no control characters (other than the two newlines), no bytes from the garbage file.
  assert.doesNotMatch(r.stderr, /[\u0000-\u0009\u000b-\u001f\u007f\ufffd]/, `${what}: control characters in the error`);
  if (expect.noEcho) assert.doesNotMatch(r.stderr, /EVIL/, `${what}: the error echoes the input file`);
  return code;
}

interface Leaf {
  path: string[];
  cmd: Command;
}

function leaves(cmd: Command, path: string[] = []): Leaf[] {
  const subs = cmd.commands.filter((c) => c.name() !== 'help');
  if (subs.length === 0) return [{ path, cmd }];
  return subs.flatMap((s) => leaves(s, [...path, s.name()]));
}

let dir: string;
let garbage: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'kubetee-contract-'));
  garbage = join(dir, 'garbage.bin');
  // Terminal escapes, NUL and invalid UTF-8: an error that echoes this would paint the user's terminal.
  writeFileSync(garbage, Buffer.concat([Buffer.from('\u001b[31mEVIL\u0007\u0000 {['), Buffer.from([0xff, 0xfe, 0x80, 0x00, 0x1b, 0x5d, 0x30, 0x3b])]));
  chmodSync(garbage, 0o600);
});

test('every command run without its required flags or arguments: USAGE, exit 2, in the one format', async () => {
  const program = await buildProgram('all');
  const failures: string[] = [];
  const paths = leaves(program)
    .filter(({ cmd }) => cmd.options.some((o) => o.mandatory) || cmd.registeredArguments.some((a) => a.required))
    .map(({ path }) => path);
  assert.ok(paths.length >= 20, `only ${paths.length} commands have required inputs?`);
  const results = runBatch(paths.map((argv) => ({ argv })));
  paths.forEach((path, i) => {
    try {
      checkContract(`kubetee ${path.join(' ')}`, results[i]!, { code: 'USAGE', exit: 2 });
    } catch (e) {
      failures.push((e as Error).message);
    }
  });
  assert.deepEqual(failures, []);
});

test('every command group run without a subcommand, an unknown command and an unknown flag: USAGE, exit 2', async () => {
  const program = await buildProgram('all');
  // Groups without an action of their own (`render` has one: it renders; `attest` needs a subcommand).
  const groups = program.commands.filter((c) => c.commands.some((s) => s.name() !== 'help') && !(c as Command & { _actionHandler?: unknown })._actionHandler);
  const failures: string[] = [];
  const others = [['frobnicate'], ['attets', 'verify'], ['attest', 'verify', '--qoute', 'x'], ['up', '--port', 'eighty'], ['secret', 'destroy', 'a/b/c', '--ver', 'zero'], ['attets']];
  const results = runBatch([...groups.map((g) => ({ argv: [g.name()] })), ...others.map((argv) => ({ argv }))]);
  groups.forEach((g, i) => {
    try {
      checkContract(`kubetee ${g.name()}`, results[i]!, { code: 'USAGE', exit: 2 });
      assert.match(results[i]!.stderr, new RegExp(`'kubetee ${g.name()}' needs a command: `));
    } catch (e) {
      failures.push((e as Error).message);
    }
  });
  others.forEach((argv, i) => {
    try {
      checkContract(`kubetee ${argv.join(' ')}`, results[groups.length + i]!, { code: 'USAGE', exit: 2 });
    } catch (e) {
      failures.push((e as Error).message);
    }
  });
  assert.deepEqual(failures, []);
  assert.match(results.at(-1)!.stderr, /hint: Did you mean attest\? Run 'kubetee --help' for usage/);
});

/** Commands with input files: MISSING and GARBAGE stand for a path that does not exist and one full of junk. */
const FILE_CASES: { argv: string[]; env?: Record<string, string>; garbageExit?: 1 | 2; garbageCode?: string; createsWhenMissing?: true }[] = [
  // A quote that does not parse is the verifier's verdict on it (exit 1, like any rejected quote).
  { argv: ['attest', 'verify', '--quote', 'FILE', '--collateral', 'COLLATERAL'], garbageExit: 1 },
  { argv: ['attest', 'verify', '--quote', 'QUOTE', '--collateral', 'FILE'], garbageCode: 'INPUT_INVALID' },
  { argv: ['attest', 'verify', '--quote', 'QUOTE', '--collateral', 'COLLATERAL', '--trust-root', 'FILE'], garbageCode: 'INPUT_INVALID' },
  { argv: ['attest', 'inspect', '--quote', 'FILE'], garbageExit: 1 },
  { argv: ['attest', 'collateral', '--quote', 'FILE', '--pccs', 'http://127.0.0.1:9'], garbageExit: 1 },
  { argv: ['render', '--values', 'FILE'] },
  { argv: ['install', '--dry-run', '--values', 'FILE', '--kubeconfig', 'FILE'] },
  { argv: ['doctor', '--kubeconfig', 'FILE'] },
  { argv: ['uninstall', '--kubeconfig', 'FILE'] },
  { argv: ['webhook', 'manifests', '--url', 'https://127.0.0.1:8443', '--ca-bundle', 'FILE'] },
  { argv: ['webhook', 'manifests', '--url', 'https://127.0.0.1:8443', '--policy', 'FILE'] },
  { argv: ['webhook', 'serve', '--listen', '127.0.0.1:0', '--tls-cert', 'FILE', '--tls-key', 'FILE'] },
  { argv: ['webhook', 'serve', '--listen', '127.0.0.1:0', '--ca-dir', 'DIR', '--policy', 'FILE'] },
  { argv: ['policy', 'check', 'FILE'] },
  { argv: ['policy', 'explain', 'FILE'] },
  { argv: ['policy', 'explain', 'POD', '--policy', 'FILE'] },
  { argv: ['secret', 'put', 'a/b/c', '--kbs', 'http://127.0.0.1:9', '--token-file', 'FILE', '--generate'] },
  { argv: ['secret', 'put', 'a/b/c', '--kbs', 'http://127.0.0.1:9', '--token-file', 'TOKEN', '--from-file', 'FILE'], garbageExit: 1 },
  { argv: ['kbs', 'policy', 'set', 'a/b/c', '--kbs', 'http://127.0.0.1:9', '--token-file', 'TOKEN', '--file', 'FILE'] },
  { argv: ['kbs', 'policy', 'test', '--policy', 'FILE', '--claims', 'FILE'] },
  { argv: ['kbs', 'serve', '--data-dir', 'DIR', '--master-key-file', 'FILE', '--collateral', 'COLLATERAL', '--listen', '127.0.0.1:0'] },
  { argv: ['kbs', 'serve', '--data-dir', 'DIR', '--collateral', 'FILE', '--listen', '127.0.0.1:0'], env: { KUBETEE_KBS_MASTER_KEY: Buffer.alloc(32, 7).toString('base64') } },
  { argv: ['kbs', 'serve', '--data-dir', 'DIR', '--collateral', 'COLLATERAL', '--trust-sim-root', 'FILE', '--listen', '127.0.0.1:0'], createsWhenMissing: true, env: { KUBETEE_KBS_MASTER_KEY: Buffer.alloc(32, 7).toString('base64') } },
  { argv: ['kbs', 'get-resource', '--kbs', 'http://127.0.0.1:9', '--resource', 'a/b/c', '--evidence', 'sim', '--sim-state', 'FILE', '--mrenclave', '5a'.repeat(32)], createsWhenMissing: true },
  { argv: ['sim', 'status', '--state', 'FILE'], createsWhenMissing: true },
  { argv: ['sim', 'quote', '--state', 'FILE'], createsWhenMissing: true },
  // Any bytes can be sealed: with a garbage input the next thing that fails is the (absent) broker.
  { argv: ['seal', '--in', 'FILE', '--out', 'OUT', '--resource', 'a/b/c', '--kbs', 'http://127.0.0.1:9', '--token-file', 'TOKEN'], garbageExit: 1 },
  { argv: ['seal', '--in', 'POD', '--out', 'OUT', '--resource', 'a/b/c', '--policy', 'FILE', '--kbs', 'http://127.0.0.1:9', '--token-file', 'TOKEN'] },
  { argv: ['unseal', '--in', 'FILE', '--out', 'OUT', '--evidence', 'sim', '--sim-state', 'SIMSTATE', '--kbs', 'http://127.0.0.1:9'] },
  { argv: ['node', 'probe', '--cpuid-dump', 'FILE'] },
  { argv: ['node-agent', '--kubeconfig', 'FILE', '--host-root', 'DIR', '--kubelet-dir', 'DIR', '--pod-resources-socket', '', '--log-level', 'silent', '--node-name', 'n1'] },
  { argv: ['demo', 'model-protection', '--url', 'http://127.0.0.1:9', '--admin-token-file', 'FILE'], garbageExit: 1 },
];

test('every input file: unreadable is FILE_UNREADABLE (exit 2), garbage gets its code and exit status, never an echo of the bytes', async () => {
  const sub = mkdtempSync(join(dir, 'case-'));
  const token = join(sub, 'token');
  writeFileSync(token, `kbt_${'A'.repeat(43)}\n`, { mode: 0o600 });
  const pod = join(sub, 'pod.yaml');
  writeFileSync(pod, 'apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: c, image: x}]}\n');
  const sim = mkdtempSync(join(sub, 'sim-'));
  const simState = join(sim, 'sim.json');
  const quote = join(sim, 'q.dat');
  const collateral = join(sim, 'c.json');
  const setup = runBatch([['sim', 'init', '--state', simState], ['sim', 'quote', '--state', simState, '--out', quote], ['sim', 'collateral', '--state', simState, '--out', collateral]].map((argv) => ({ argv })));
  for (const r of setup) assert.equal(r.status, 0, r.stderr);
  const failures: string[] = [];
  const batch: { what: string; argv: string[]; env: Record<string, string>; expect: Parameters<typeof checkContract>[2] }[] = [];
  let n = 0;
  for (const c of FILE_CASES) {
    for (const kind of ['missing', 'garbage'] as const) {
      // A simulated platform's state file is created when it does not exist yet (documented in docs/simulated-platform.md).
      if (kind === 'missing' && c.createsWhenMissing) continue;
      const caseDir = mkdtempSync(join(sub, `c${n++}-`));
      const argv = c.argv.map((a) =>
        a === 'FILE' ? (kind === 'missing' ? join(caseDir, 'no-such-file') : garbage) : a === 'DIR' ? caseDir : a === 'TOKEN' ? token : a === 'POD' ? pod : a === 'QUOTE' ? quote : a === 'COLLATERAL' ? collateral : a === 'SIMSTATE' ? simState : a === 'OUT' ? join(caseDir, 'out') : a,
      );
      batch.push({
        what: `kubetee ${c.argv.join(' ')} with a ${kind} FILE`,
        argv,
        env: { ...(c.env ?? {}), KUBECONFIG: join(caseDir, 'no-kubeconfig') },
        // A missing file may carry its component's own code (VALUES_UNREADABLE, POLICY_UNREADABLE, ...), always exit 2.
        expect: kind === 'missing' ? { exit: 2 } : { exit: c.garbageExit ?? 2, ...(c.garbageCode ? { code: c.garbageCode, noEcho: true } : {}) },
      });
    }
  }
  const results = runBatch(batch.map(({ argv, env }) => ({ argv, env })));
  batch.forEach((b, i) => {
    try {
      checkContract(b.what, results[i]!, b.expect);
    } catch (e) {
      failures.push((e as Error).message.split('\n').slice(0, 3).join('\n'));
    }
  });
  assert.deepEqual(failures, []);
});

test('the exit-status table in docs/errors.md is the one in src/cli/exit-status.ts, code for code', () => {
  const doc = readFileSync(join(REPO_ROOT, 'docs', 'errors.md'), 'utf8');
  const rows = [...doc.matchAll(/^\| `([A-Z][A-Z0-9_]*)` \| ([12]) \| ([^|]+) \|/gm)].map((m) => [m[1]!, Number(m[2]), m[3]!.trim()] as const);
  const documented = Object.fromEntries(rows.map(([code, exit, component]) => [code, { exit, component }]));
  assert.equal(rows.length, Object.keys(documented).length, 'a code is listed twice in docs/errors.md');
  assert.deepEqual(documented, { ...EXIT_STATUS });
});

test('the real binary follows the same contract (one spawn: commander errors bypassed it before)', () => {
  const r = runCli(['attest', 'verify']);
  checkContract('kubetee attest verify (spawned)', r, { code: 'USAGE', exit: 2 });
  assert.match(r.stderr, /required option '--quote <file>' not specified/);
  assert.match(r.stderr, /hint: run 'kubetee attest verify --help' for usage/);
});
