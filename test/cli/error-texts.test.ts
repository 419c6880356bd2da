import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../../src/common/log.js';
import { startLocalStack } from '../../src/up/local-stack.js';
import { freePort } from '../helpers/net.js';
import { runBatchAsync } from './in-process.js';

/** Issue 13 item 6: each error names what went wrong in the user's terms and recommends a command that works. */
test('error texts: --trust-root text file, binary collateral, unreachable broker and stack, secret put --generate twice', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'kubetee-texts-'));
  const stack = await startLocalStack({ host: '127.0.0.1', port: 0, dataDir, logger: silentLogger() });
  try {
    const dead = `http://127.0.0.1:${await freePort()}`;
    const dir = mkdtempSync(join(tmpdir(), 'kubetee-texts-files-'));
    const state = join(dir, 'sim.json');
    const textRoot = join(dir, 'root.txt');
    writeFileSync(textRoot, 'this is my root certificate, honest\nsecond line of plain text\n');
    const binary = join(dir, 'collateral.bin');
    writeFileSync(binary, Buffer.from([0x1b, 0x5b, 0x32, 0x4a, 0x00, 0x89, 0x50, 0x4e, 0x47, 0xff]));
    const env = { KUBETEE_KBS_URL: stack.url, KUBETEE_KBS_TOKEN_FILE: join(dataDir, 'admin-token') };
    const [, , , rootOnly, collateral, unreachable, demo, first, second] = await runBatchAsync([
      { argv: ['sim', 'init', '--state', state] },
      { argv: ['sim', 'quote', '--state', state, '--out', join(dir, 'q.dat')] },
      { argv: ['sim', 'collateral', '--state', state, '--out', join(dir, 'c.json')] },
      { argv: ['attest', 'verify', '--quote', join(dir, 'q.dat'), '--collateral', join(dir, 'c.json'), '--trust-root', textRoot] },
      { argv: ['attest', 'verify', '--quote', join(dir, 'q.dat'), '--collateral', binary] },
      { argv: ['secret', 'list', '--kbs', dead], env },
      { argv: ['demo', 'model-protection', '--url', dead, '--data-dir', dataDir] },
      { argv: ['secret', 'put', 'demo/texts/key', '--generate'], env },
      { argv: ['secret', 'put', 'demo/texts/key', '--generate'], env },
    ]);
    assert.equal(rootOnly!.status, 2, rootOnly!.stderr);
    assert.match(rootOnly!.stderr, /\[INPUT_INVALID\]: --trust-root \S+root\.txt is not a PEM or DER certificate/);
    assert.doesNotMatch(rootOnly!.stderr, /DER element|runs past/);

    assert.equal(collateral!.status, 2, collateral!.stderr);
    assert.match(collateral!.stderr, /\[INPUT_INVALID\]: --collateral \S+collateral\.bin is not JSON/);
    assert.doesNotMatch(collateral!.stderr, /[\u0000-\u0009\u000b-\u001f\ufffd]|PNG/, 'the binary input is echoed');

    assert.equal(unreachable!.status, 1, unreachable!.stderr);
    assert.match(unreachable!.stderr, new RegExp(`\\[KBS_UNREACHABLE\\]: cannot reach the key broker at ${dead.replace(/\./g, '\\.')}/admin/v1/secrets\\S* \\(ECONNREFUSED\\)`));
    assert.doesNotMatch(unreachable!.stderr, /TypeError|fetch failed/);

    assert.equal(demo!.status, 1, demo!.stderr);
    assert.match(demo!.stderr, new RegExp(`\\[DEMO_STACK_UNREACHABLE\\]: kubetee up at ${dead.replace(/\./g, '\\.')} is not reachable \\(ECONNREFUSED\\)`));
    assert.match(demo!.stderr, /hint: start it with `npx kubetee up`/);
    assert.doesNotMatch(demo!.stdout + demo!.stderr, /failed at \d+ of \d+ steps/);

    assert.equal(first!.status, 0, first!.stderr);
    assert.equal(second!.status, 1);
    assert.match(second!.stderr, /\[RESOURCE_EXISTS\]: demo\/texts\/key already exists\n  hint: .*`kubetee secret rotate demo\/texts\/key`/);
    assert.doesNotMatch(second!.stderr, /hint: .*secret put/);
  } finally {
    await stack.close();
  }
});
