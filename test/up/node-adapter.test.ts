import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { silentLogger } from '../../src/common/log.js';
import { KubeteeError } from '../../src/common/errors.js';
import { MAX_UNIX_SOCKET_PATH, simulatedNodeSockets, startSimulatedNode } from '../../src/up/adapters/node.js';

function socketsUnder(dir: string): string[] {
  const found: string[] = [];
  for (const name of readdirSync(dir, { recursive: true }) as string[]) {
    const path = join(dir, name);
    try {
      if (statSync(path).isSocket()) found.push(path);
    } catch {
      // removed while listing
    }
  }
  return found;
}

test('the socket-length check covers every socket the simulated node really binds', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'kt-node-'));
  const node = await startSimulatedNode(dataDir, silentLogger());
  try {
    const expected = new Set(simulatedNodeSockets(join(dataDir, 'node')));
    const bound = socketsUnder(join(dataDir, 'node'));
    assert.ok(bound.length >= 4, `sockets found: ${bound.join(', ')}`);
    for (const s of bound) assert.ok(expected.has(s), `${relative(dataDir, s)} is bound but not length-checked`);
  } finally {
    await node.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test('a data dir too long for unix sockets is a typed error naming the limit, before anything starts', async () => {
  const base = mkdtempSync(join(tmpdir(), 'kt-node-'));
  const dataDir = join(base, 'x'.repeat(MAX_UNIX_SOCKET_PATH - base.length - 20));
  try {
    await assert.rejects(startSimulatedNode(dataDir, silentLogger()), (err: unknown) => {
      assert.ok(err instanceof KubeteeError);
      assert.equal(err.code, 'DATA_DIR_PATH_TOO_LONG');
      assert.match(err.message, /the limit is 107/);
      assert.match(err.hint ?? '', /--data-dir/);
      return true;
    });
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
});
