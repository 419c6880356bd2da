import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli, type CliResult } from '../helpers/cli.js';
import { Command } from 'commander';
import { reportError } from '../../src/cli/main.js';
import { registerAttest } from '../../src/attestation/cli.js';
import { AUTOMATA_SGX, fixturePath, haveFixtures, quoteFixture, textFixture } from './fixtures.js';
import { startFixturePcs, type Bundle } from './pcs-fixture-server.js';
import { SimulatedPlatform } from '../../src/sim/index.js';

/**
 * Runs the CLI in this process (same command tree, same error reporting as
 * the entry point), capturing stdout/stderr. A child process per case costs
 * seconds on a shared 2-core box, so only a few cases below spawn the real
 * binary (runCli) and the rest use this.
 */
async function runInProcess(args: string[]): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const program = new Command().name('kubetee');
  registerAttest(program, { out: (text) => void (stdout += text) });
  const override = (cmd: Command): void => {
    cmd.exitOverride().configureOutput({ writeOut: (x) => void (stdout += x), writeErr: (x) => void (stderr += x) });
    cmd.commands.forEach(override);
  };
  override(program);
  // reportError (the entry point's error printer) writes to stderr; the test runner only uses stdout.
  const err = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((chunk: string | Uint8Array) => ((stderr += chunk.toString()), true)) as typeof process.stderr.write;
  const savedExit = process.exitCode;
  process.exitCode = undefined;
  let status = 0;
  try {
    await program.parseAsync(['node', 'kubetee', ...args]);
    status = typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (e) {
    status = reportError(e);
  } finally {
    process.stderr.write = err;
    process.exitCode = savedExit;
  }
  return { status, stdout, stderr };
}

const V1 = ['--quote', fixturePath('phala-dcap-qvl/sgx_quote'), '--collateral', fixturePath('phala-dcap-qvl/sgx_quote_collateral.json'), '--at', '2025-07-04T00:00:00Z'];

test('attest verify --json: exactly the documented object, exit 0', (t) => {
  if (!haveFixtures(t)) return;
  const r = runCli(['attest', 'verify', ...V1, '--json']);
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), {
    verified: true,
    tee: 'sgx',
    quoteVersion: 3,
    status: 'ConfigurationAndSWHardeningNeeded',
    advisoryIds: ['INTEL-SA-00289', 'INTEL-SA-00615'],
    fmspc: '00a067110000',
    enclave: {
      mrenclave: '33d8736db756ed4997e04ba358d27833188f1932ff7b1d156904d3f560452fbb',
      mrsigner: '815f42f11cf64430c30bab7816ba596a1da0130c3b028b673133a66cf9a3e0e6',
      isvProdId: 0,
      isvSvn: 0,
      debug: false,
      reportData: `${Buffer.from('Hello, world!').toString('hex')}${'00'.repeat(51)}`,
    },
  });
});

test('attest verify: human output lists the checks; TDX --json has td instead of enclave', async (t) => {
  if (!haveFixtures(t)) return;
  const human = await runInProcess(['attest', 'verify', ...V1]);
  assert.equal(human.status, 0, human.stderr);
  assert.match(human.stdout, /status: ConfigurationAndSWHardeningNeeded/);
  assert.match(human.stdout, /ok {2}quote-signature/);
  const tdx = await runInProcess(['attest', 'verify', '--quote', fixturePath('phala-dcap-qvl/tdx_quote'), '--collateral', fixturePath('phala-dcap-qvl/tdx_quote_collateral.json'), '--at', '2025-07-04T00:00:00Z', '--json']);
  assert.equal(tdx.status, 0, tdx.stderr);
  const j = JSON.parse(tdx.stdout) as Record<string, unknown>;
  assert.equal(j['tee'], 'tdx');
  assert.equal(j['enclave'], undefined);
  assert.deepEqual(Object.keys(j['td'] as object), ['mrtd', 'rtmr0', 'rtmr1', 'rtmr2', 'rtmr3']);
});

test('attest verify: rejection exits 1 with exactly {verified:false,error:{code,message}}', async (t) => {
  if (!haveFixtures(t)) return;
  const r = runCli(['attest', 'verify', '--quote', fixturePath('derived-negative/sgx_00606a_quote_sig_flipped.dat'), '--collateral', fixturePath('assembled/collateral_sgx_00606a_2025-08_eval17.json'), '--at', '2025-08-30T00:00:00Z', '--json']);
  assert.equal(r.status, 1);
  const j = JSON.parse(r.stdout) as { verified: boolean; error: { code: string; message: string } };
  assert.deepEqual(Object.keys(j), ['verified', 'error'], 'exactly the documented failure object');
  assert.deepEqual(Object.keys(j.error), ['code', 'message']);
  assert.equal(j.verified, false);
  assert.equal(j.error.code, 'QUOTE_SIGNATURE_INVALID');
  assert.ok(j.error.message.length > 10);
  // Without --json: the error line with its code and a hint, no stack trace.
  const plain = await runInProcess(['attest', 'verify', ...V1.slice(0, 4), '--at', '2025-08-30T00:00:00Z']);
  assert.equal(plain.status, 1);
  assert.match(plain.stderr, /kubetee: error \[(CRL_EXPIRED|TCB_INFO_EXPIRED)\]/);
  assert.match(plain.stderr, /hint:/);
  assert.doesNotMatch(plain.stderr, /\s+at\s+\S+\s+\(/);
});

test('attest verify: a flipped byte in the root certificate of the quote\'s chain names the damaged certificate, no --trust-root hint (issue 13.3)', async (t) => {
  if (!haveFixtures(t)) return;
  const quote = Buffer.from(quoteFixture(AUTOMATA_SGX));
  const text = quote.toString('latin1');
  const rootBegin = text.lastIndexOf('-----BEGIN CERTIFICATE-----');
  const rootEnd = text.indexOf('-----END CERTIFICATE-----', rootBegin);
  const at = rootBegin + Math.floor((rootEnd - rootBegin) * 0.75); // inside the root's extensions
  const b64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  const i = b64.indexOf(String.fromCharCode(quote[at]!));
  assert.ok(i >= 0, 'the chosen byte is a base64 character');
  quote[at] = b64.charCodeAt((i + 1) % 64);
  const dir = mkdtempSync(join(tmpdir(), 'kubetee-attest-damaged-'));
  try {
    writeFileSync(join(dir, 'q.dat'), quote);
    const r = await runInProcess(['attest', 'verify', '--quote', join(dir, 'q.dat'), '--collateral', fixturePath('assembled/collateral_sgx_00606a_2025-08_eval17.json'), '--at', '2025-08-30T00:00:00Z']);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /kubetee: error \[CERT_SIGNATURE_INVALID\]: PCK certificate chain certificate 2 \("Intel SGX Root CA"\)/);
    assert.doesNotMatch(r.stderr, /trust-root|UNTRUSTED_ROOT/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('attest verify: quote as hex text, with and without 0x', async (t) => {
  if (!haveFixtures(t)) return;
  const dir = mkdtempSync(join(tmpdir(), 'kubetee-attest-'));
  try {
    const hex = Buffer.from(quoteFixture(AUTOMATA_SGX)).toString('hex');
    const bundle = fixturePath('assembled/collateral_sgx_00606a_2025-08_eval17.json');
    for (const [name, text] of [['plain.hex', `${hex}\n`], ['prefixed.hex', `0x${hex}`]] as const) {
      writeFileSync(join(dir, name), text);
      const r = await runInProcess(['attest', 'verify', '--quote', join(dir, name), '--collateral', bundle, '--at', '2025-08-30T00:00:00Z', '--json']);
      assert.equal(r.status, 0, r.stderr);
      assert.equal((JSON.parse(r.stdout) as { status: string }).status, 'SWHardeningNeeded');
    }
    // Unparsable collateral is a rejection (exit 1) with its code.
    writeFileSync(join(dir, 'bad.json'), '{"not":"collateral"}');
    const bad = await runInProcess(['attest', 'verify', '--quote', join(dir, 'plain.hex'), '--collateral', join(dir, 'bad.json'), '--json']);
    assert.equal(bad.status, 1);
    assert.equal((JSON.parse(bad.stdout) as { error: { code: string } }).error.code, 'BAD_COLLATERAL');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('attest verify: usage errors and unreadable files exit 2', async (t) => {
  if (!haveFixtures(t)) return;
  const missing = runCli(['attest', 'verify', '--quote', '/nonexistent/quote.dat', '--collateral', fixturePath('phala-dcap-qvl/sgx_quote_collateral.json')]);
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /FILE_UNREADABLE.*\/nonexistent\/quote\.dat/);
  const noCollateral = await runInProcess(['attest', 'verify', '--quote', fixturePath('phala-dcap-qvl/sgx_quote')]);
  assert.equal(noCollateral.status, 2);
  assert.match(noCollateral.stderr, /--collateral/);
  const badAt = await runInProcess(['attest', 'verify', ...V1.slice(0, 4), '--at', 'yesterday']);
  assert.equal(badAt.status, 2);
  assert.match(badAt.stderr, /ISO-8601/);
  const dirAsFile = await runInProcess(['attest', 'verify', '--quote', fixturePath('phala-dcap-qvl/sgx_quote'), '--collateral', fixturePath('phala-dcap-qvl')]);
  assert.equal(dirAsFile.status, 2);
});

test('attest inspect: parsed fields without verification', async (t) => {
  if (!haveFixtures(t)) return;
  const r = await runInProcess(['attest', 'inspect', '--quote', fixturePath('fortanix-rust-sgx/quote.bin'), '--json']);
  assert.equal(r.status, 0, r.stderr);
  const j = JSON.parse(r.stdout) as { tee: string; enclave: { debug: boolean; mrenclave: string }; pck: { fmspc: string }; pckChain: { subject: string }[] };
  assert.equal(j.tee, 'sgx');
  assert.equal(j.enclave.debug, true);
  assert.equal(j.enclave.mrenclave, '2531fd89facb97c6bab5f343805afe4dc051c2bef0d11309ac553c404326dda2');
  assert.equal(j.pck.fmspc, '00906ea10000');
  assert.deepEqual(j.pckChain.map((c) => c.subject), ['Intel SGX PCK Certificate', 'Intel SGX PCK Processor CA', 'Intel SGX Root CA']);
  const text = await runInProcess(['attest', 'inspect', '--quote', fixturePath('phala-dcap-qvl/tdx_quote')]);
  assert.equal(text.status, 0, text.stderr);
  assert.match(text.stdout, /mrtd: 91eb2b44d141d4ec/);
  const bad = await runInProcess(['attest', 'inspect', '--quote', fixturePath('phala-dcap-qvl/sgx_quote_collateral.json'), '--json']);
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /UNSUPPORTED_VERSION|QUOTE_TRUNCATED/);
});

test('attest collateral: fetches from a PCS v4 server, the output verifies; unreachable is a clear error', async (t) => {
  if (!haveFixtures(t)) return;
  const bundle = JSON.parse(textFixture('phala-dcap-qvl/sgx_quote_collateral.json')) as Bundle;
  const pcs = await startFixturePcs(bundle, '00a067110000', 'processor');
  const dir = mkdtempSync(join(tmpdir(), 'kubetee-attest-'));
  try {
    const r = await runInProcess(['attest', 'collateral', '--quote', fixturePath('phala-dcap-qvl/sgx_quote'), '--pccs', pcs.url, '--cache-dir', join(dir, 'cache')]);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), bundle);
    writeFileSync(join(dir, 'collateral.json'), r.stdout);
    const v = await runInProcess(['attest', 'verify', '--quote', fixturePath('phala-dcap-qvl/sgx_quote'), '--collateral', join(dir, 'collateral.json'), '--at', '2025-07-04T00:00:00Z', '--json']);
    assert.equal(v.status, 0, v.stderr);
  } finally {
    await pcs.close();
  }
  try {
    const down = await runInProcess(['attest', 'collateral', '--quote', fixturePath('phala-dcap-qvl/sgx_quote'), '--pccs', pcs.url, '--no-cache', '--timeout-ms', '2000']);
    assert.equal(down.status, 1);
    assert.match(down.stderr, /COLLATERAL_UNREACHABLE/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('attest verify --trust-root: a simulated platform verifies only with its root passed explicitly', async () => {
  const sim = await SimulatedPlatform.create();
  const dir = mkdtempSync(join(tmpdir(), 'kubetee-attest-'));
  try {
    writeFileSync(join(dir, 'quote.dat'), sim.quote({ debug: true }));
    writeFileSync(join(dir, 'collateral.json'), JSON.stringify(sim.collateral()));
    writeFileSync(join(dir, 'root.pem'), sim.rootCaPem);
    writeFileSync(join(dir, 'root.der'), sim.rootCaDer);
    const args = ['attest', 'verify', '--quote', join(dir, 'quote.dat'), '--collateral', join(dir, 'collateral.json'), '--json'];
    const intelOnly = await runInProcess(args);
    assert.equal(intelOnly.status, 1);
    assert.equal((JSON.parse(intelOnly.stdout) as { error: { code: string } }).error.code, 'UNTRUSTED_ROOT');
    for (const root of ['root.pem', 'root.der']) {
      const ok = await runInProcess([...args, '--trust-root', join(dir, root)]);
      assert.equal(ok.status, 0, ok.stderr);
      const j = JSON.parse(ok.stdout) as { status: string; enclave: { debug: boolean } };
      assert.equal(j.status, 'UpToDate');
      assert.equal(j.enclave.debug, true);
    }
    const missing = await runInProcess([...args, '--trust-root', join(dir, 'nope.pem')]);
    assert.equal(missing.status, 2);
    assert.match(missing.stderr, /FILE_UNREADABLE/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('attest --help lists verify, inspect and collateral', async () => {
  const r = await runInProcess(['attest', '--help']);
  assert.equal(r.status, 0);
  assert.match(r.stdout, /verify .*verify a quote offline/);
  assert.match(r.stdout, /inspect .*without verifying/);
  assert.match(r.stdout, /collateral .*fetch the collateral/);
});
