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
