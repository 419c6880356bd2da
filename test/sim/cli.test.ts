/**
 * `kubetee sim …` run as a user would (child processes), with the files it
 * writes checked by the verifier library, trusting the printed root explicitly.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { QuoteVerifier } from '../../src/attestation/index.js';
import { runCli, startCli, waitForOutput } from '../helpers/cli.js';

describe('kubetee sim', () => {
  let dir: string;
  let state: string;
  let verifier: QuoteVerifier;

  const sim = (...args: string[]) => runCli(['sim', ...args, '--state', state]);
  async function verifyFiles(): Promise<ReturnType<QuoteVerifier['verify']>> {
    assert.equal(sim('quote', '--out', join(dir, 'q.bin'), '--report-data', 'cafe').status, 0);
    assert.equal(sim('collateral', '--out', join(dir, 'c.json')).status, 0);
    return verifier.verify(await readFile(join(dir, 'q.bin')), await readFile(join(dir, 'c.json'), 'utf8'));
  }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kubetee-sim-cli-'));
    state = join(dir, 'platform.json');
    const init = sim('init', '--fmspc', '00606a000000', '--ca', 'platform');
    assert.equal(init.status, 0, init.stderr);
    assert.match(init.stdout, /fmspc: 00606a000000 {2}pceId: 0000 {2}PCK CA: platform/);
    const root = sim('root');
    assert.equal(root.status, 0, root.stderr);
    verifier = new QuoteVerifier({ trustedRootCaDer: [new Uint8Array(new X509Certificate(root.stdout).raw)] });
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('init writes a private state file; quote + collateral verify with the printed root; recover-tcb shows', async () => {
    assert.equal((await stat(state)).mode & 0o777, 0o600);
    const result = await verifyFiles();
    assert.equal(result.status, 'UpToDate');
    assert.equal(result.fmspc, '00606a000000');
    assert.equal(result.enclave?.reportData, `cafe${'0'.repeat(124)}`);

    // Each command is a separate process (about 2 s of CPU each), so only one state change is driven here;
    // update-tcb and revoke-pck are one library call each, tested in test/attestation/sim-checks.test.ts.
    const recover = sim('recover-tcb');
    assert.equal(recover.status, 0, recover.stderr);
    assert.match(recover.stdout, /tcbEvaluationDataNumber: 18 {2}pending TCB updates: 1/);
    assert.equal(sim('collateral', '--out', join(dir, 'c.json')).status, 0);
    const outdated = verifier.verify(await readFile(join(dir, 'q.bin')), await readFile(join(dir, 'c.json'), 'utf8'));
    assert.equal(outdated.status, 'OutOfDate');
    assert.deepEqual(outdated.advisoryIds, ['SIM-SA-00001']);
  });

  test('--fault produces the wrong-signer cases from the shell, and rejects unknown names', async () => {
    assert.equal(sim('quote', '--out', join(dir, 'q.bin')).status, 0);
    const collateral = sim('collateral', '--out', join(dir, 'forged.json'), '--fault', 'tcbInfoSignerPckLeaf');
    assert.equal(collateral.status, 0, collateral.stderr);
    assert.throws(() => verifier.verify(new Uint8Array(readFileSync(join(dir, 'q.bin'))), readFileSync(join(dir, 'forged.json'), 'utf8')), { code: 'TCB_SIGNING_CERT_INVALID' });
    const quote = sim('quote', '--out', join(dir, 'bad.bin'), '--fault', 'pckChainLeafIsPckCa');
    assert.equal(quote.status, 0, quote.stderr);
    assert.equal(sim('collateral', '--out', join(dir, 'c.json')).status, 0);
    assert.throws(() => verifier.verify(new Uint8Array(readFileSync(join(dir, 'bad.bin'))), readFileSync(join(dir, 'c.json'), 'utf8')), { code: 'PCK_CHAIN_INVALID' });
    const unknown = sim('collateral', '--fault', 'noSuchFault');
    assert.equal(unknown.status, 2);
    assert.match(unknown.stderr, /noSuchFault/);
  });

  test('a missing state file exits 2 with a coded message and a hint', () => {
    const missing = runCli(['sim', 'quote', '--state', join(dir, 'none.json')]);
    assert.equal(missing.status, 2);
    assert.match(missing.stderr, /error \[FILE_UNREADABLE\].*none\.json/);
    assert.match(missing.stderr, /hint: create one with `kubetee sim init/);
  });

  test('serve answers on the PCS paths and stops cleanly on SIGTERM', async () => {
    const child = startCli(['sim', 'serve', '--state', state, '--port', '0']);
    try {
      const banner = await waitForOutput(child, /listening on (http:\/\/\S+)/);
      const url = /listening on (http:\/\/\S+)/.exec(banner)![1]!;
      const res = await fetch(`${url}/sgx/certification/v4/qe/identity`, { signal: AbortSignal.timeout(5000) });
      assert.equal(res.status, 200);
      assert.ok(res.headers.get('SGX-Enclave-Identity-Issuer-Chain'));
      const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      assert.equal(await exited, 0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
