import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
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
    const dataDir = mkdtempSync(join(tmpdir(), 'kubetee-up-'));
    const r = runCli(['up', '--port', String(port), '--data-dir', dataDir, '--log-level', 'silent']);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /PORT_IN_USE/);
    assert.match(r.stderr, /--port/);
    assert.doesNotMatch(r.stderr, /\s+at\s+\S+\s+\(/);
  } finally {
    srv.close();
  }
});
