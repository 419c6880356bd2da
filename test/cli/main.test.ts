import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runCli } from '../helpers/cli.js';
import { VERSION } from '../../src/common/version.js';

test('--help lists the commands with one-line descriptions', () => {
  const r = runCli(['--help']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /Usage: kubetee/);
  assert.match(r.stdout, /up\s+.*run the whole control plane/);
});

test('--version prints the package version', () => {
  const r = runCli(['--version']);
  assert.equal(r.status, 0);
  assert.equal(r.stdout.trim(), VERSION);
});

test('an unknown command exits 2 with a clear message and no stack trace', () => {
  const r = runCli(['frobnicate']);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /unknown command 'frobnicate'/);
  assert.doesNotMatch(r.stderr, /\s+at\s+\S+\s+\(/);
});

test('a bad flag value exits 2 and says which flag', () => {
  const r = runCli(['up', '--port', 'eighty']);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /--port/);
  assert.match(r.stderr, /not a port number/);
});

test('an unknown flag exits 2', () => {
  const r = runCli(['up', '--no-such-flag']);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /unknown option '--no-such-flag'/);
});

test('help shows every default as a user types it: no JSON objects, lists or quoted strings', async () => {
  const { buildProgram } = await import('../../src/cli/main.js');
  const program = await buildProgram('all');
  const bad: string[] = [];
  const walk = (cmd: import('commander').Command, path: string): void => {
    const help = cmd.helpInformation().replace(/\s+/g, ' ');
    for (const m of help.matchAll(/\((?:[^()]|\([^()]*\))*(?:default|choices|one of): [^)]*\)/g)) {
      if (/default: [{["]|choices: "|one of: "/.test(m[0])) bad.push(`${path}: ${m[0]}`);
    }
    for (const sub of cmd.commands) walk(sub, `${path} ${sub.name()}`);
  };
  walk(program, 'kubetee');
  assert.deepEqual(bad, []);
  const serve = program.commands.find((c) => c.name() === 'webhook')!.commands.find((c) => c.name() === 'serve')!;
  assert.match(serve.helpInformation().replace(/\s+/g, ' '), /--listen <host:port> address to listen on \(default: 0\.0\.0\.0:8443\)/);
  assert.match(serve.helpInformation().replace(/\s+/g, ' '), /--san <name> .*\(default: none\)/);
});

test('--help and --version print only the command list and version (the summaries match each command\'s own description)', async () => {
  const { buildProgram } = await import('../../src/cli/main.js');
  const { COMMAND_GROUPS } = await import('../../src/cli/commands.js');
  const full = await buildProgram('all');
  for (const group of COMMAND_GROUPS) {
    for (const [name, summary] of Object.entries(group.summaries)) {
      assert.equal(full.commands.find((c) => c.name() === name)?.description(), summary, `summary of ${name} in src/cli/commands.ts`);
    }
  }
  const shell = await buildProgram('none');
  assert.deepEqual(shell.commands.map((c) => c.name()), full.commands.map((c) => c.name()));
});
