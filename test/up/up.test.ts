import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:net';
import { startCli, waitForOutput, runCli } from '../helpers/cli.js';
import { freePort } from '../helpers/net.js';


test('kubetee up serves /healthz and /version and stops cleanly on SIGTERM', async () => {
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), 'kubetee-up-'));
  const child = startCli(['up', '--port', String(port), '--data-dir', dataDir, '--log-level', 'warn']);
  try {
    const out = await waitForOutput(child, /is up at http:\/\/127\.0\.0\.1:\d+/, 60_000);
    assert.match(out, new RegExp(`http://127.0.0.1:${port}`));
    const health = await fetch(`http://127.0.0.1:${port}/healthz`);
    assert.equal(health.status, 200);
    assert.equal(((await health.json()) as { status: string }).status, 'ok');
    const version = (await (await fetch(`http://127.0.0.1:${port}/version`)).json()) as { name: string };
    assert.equal(version.name, 'kubetee');
  } finally {
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    assert.equal(await exited, 0);
  }
});

test('kubetee up on a port in use exits non-zero with PORT_IN_USE and no stack trace', async () => {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const addr = srv.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  try {
    const dataDir = join(mkdtempSync(join(tmpdir(), 'kubetee-up-')), 'fresh');
    const r = runCli(['up', '--port', String(port), '--data-dir', dataDir, '--log-level', 'info']);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /^kubetee: error \[PORT_IN_USE\]: port \d+ on 127\.0\.0\.1 is already in use\n  hint: .*--port/m);
    assert.doesNotMatch(r.stderr, /\s+at\s+\S+\s+\(/);
    // Checked before anything starts: no data dir, no device plugin, nothing registered with the kubelet stand-in.
    assert.equal(existsSync(dataDir), false, 'the data dir was created although the port was busy');
    assert.doesNotMatch(r.stderr, /device plugin|register|kubelet/i);
    assert.equal(r.stderr.trim().split('\n').length, 2, r.stderr);
  } finally {
    srv.close();
  }
});

test('kubetee up on a data dir in use starts nothing, and its hint names --url for attaching to the running stack', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'kubetee-up-'));
  writeFileSync(join(dataDir, 'kubetee-up.pid'), `${process.pid}\n`); // a live process holds it
  const r = runCli(['up', '--port', '0', '--data-dir', dataDir, '--log-level', 'info']);
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /^kubetee: error \[DATA_DIR_IN_USE\]: /m);
  assert.match(r.stderr, /hint: .*--url/);
  assert.equal(existsSync(join(dataDir, 'node')), false, 'the simulated node was started');
  assert.equal(existsSync(join(dataDir, 'sim-platform.json')), false);
});
