import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, readFileSync, mkdirSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gramineEvidence, KbsClient, KbsClientError } from '../../../src/kbs/client/index.js';
import { startBroker } from './harness.js';

/**
 * Gramine's /dev/attestation as a directory tree: `quote` is a FIFO served by
 * this test, which (like Gramine) reads the report data written to
 * `user_report_data` and answers with a quote over it from the simulated platform.
 */
function gramineTree(quoteFor: (reportData: Uint8Array) => Uint8Array): { root: string; stop: () => Promise<void> } {
  const root = mkdtempSync(join(tmpdir(), 'kubetee-gramine-'));
  writeFileSync(join(root, 'attestation_type'), 'dcap\n');
  writeFileSync(join(root, 'user_report_data'), Buffer.alloc(64));
  const r = spawnSync('mkfifo', [join(root, 'quote')]);
  assert.equal(r.status, 0, 'mkfifo is needed for this test');
  let served = false;
  // One quote, as one attestation needs; errors end the server quietly (the test's assertions decide).
  const serving = (async () => {
    const fh = await open(join(root, 'quote'), 'w');
    try {
      await fh.write(quoteFor(new Uint8Array(readFileSync(join(root, 'user_report_data')))));
      served = true;
    } finally {
      await fh.close();
    }
  })().catch(() => undefined);
  return {
    root,
    stop: async () => {
      // If nobody read the quote, open the read side once so the pending writer returns.
      if (!served) await open(join(root, 'quote'), 'r').then((fh) => fh.close()).catch(() => undefined);
      await serving;
      rmSync(root, { recursive: true, force: true });
    },
  };
}

test('gramine evidence: the client writes REPORTDATA, reads the quote, and the broker releases', async () => {
  const broker = await startBroker();
  const tree = gramineTree((rd) => broker.platform.quote({ mrenclave: '9c'.repeat(32), reportData: rd }));
  try {
    await broker.data.service.create('token:test', { path: 'default/key/gramine', value: Buffer.from('for gramine') });
    const client = new KbsClient({ url: broker.url, evidence: gramineEvidence(tree.root) });
    assert.equal(Buffer.from(await client.getResource('default/key/gramine')).toString(), 'for gramine');
    assert.equal(client.claims?.mrenclave, '9c'.repeat(32));
  } finally {
    await tree.stop();
    await broker.close();
  }
});

test('gramine evidence: missing files and a non-DCAP attestation type are typed errors', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kubetee-gramine-bad-'));
  try {
    const code = async (root: string): Promise<string> => {
      try {
        await gramineEvidence(root).quote(new Uint8Array(64));
      } catch (err) {
        assert.ok(err instanceof KbsClientError);
        return err.code;
      }
      return 'no error';
    };
    assert.equal(await code(join(dir, 'absent')), 'KBS_CLIENT_EVIDENCE_UNAVAILABLE');
    mkdirSync(join(dir, 'epid'));
    writeFileSync(join(dir, 'epid', 'attestation_type'), 'epid');
    assert.equal(await code(join(dir, 'epid')), 'KBS_CLIENT_EVIDENCE_UNAVAILABLE');
    mkdirSync(join(dir, 'noquote'));
    writeFileSync(join(dir, 'noquote', 'attestation_type'), 'dcap');
    assert.equal(await code(join(dir, 'noquote')), 'KBS_CLIENT_EVIDENCE_UNAVAILABLE');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
