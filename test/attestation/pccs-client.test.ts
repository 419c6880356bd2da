import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:net';
import { QuoteVerifier, AttestationError, type AttestationErrorCode } from '../../src/attestation/index.js';
import { fetchCollateral, collateralTarget } from '../../src/attestation/pccs-client.js';
import { rawJsonMember } from '../../src/attestation/json-member.js';
import { haveFixtures, quoteFixture, textFixture } from './fixtures.js';
import { startFixturePcs, type Bundle } from './pcs-fixture-server.js';

const V1_QUOTE = 'phala-dcap-qvl/sgx_quote';
const V1_COLLATERAL = 'phala-dcap-qvl/sgx_quote_collateral.json';
const V1_AT = new Date('2025-07-04T00:00:00Z');

async function rejectsWith(p: Promise<unknown>, code: AttestationErrorCode): Promise<AttestationError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof AttestationError, String(err));
    assert.equal(err.code, code, err.message);
    return err;
  }
  assert.fail(`expected ${code}`);
}

/** A port nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as { port: number };
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

test('the collateral target comes from the PCK certificate', (t) => {
  if (!haveFixtures(t)) return;
  assert.deepEqual(collateralTarget(quoteFixture(V1_QUOTE)), { tee: 'sgx', fmspc: '00a067110000', ca: 'processor' });
  assert.deepEqual(collateralTarget(quoteFixture('automata-dcap-attestation/quotes/sgx_v3_fmspc00606a.hex')), { tee: 'sgx', fmspc: '00606a000000', ca: 'platform' });
  assert.deepEqual(collateralTarget(quoteFixture('phala-dcap-qvl/tdx_quote')), { tee: 'tdx', fmspc: 'b0c06f000000', ca: 'platform' });
});

test('fetches real collateral pieces over HTTP byte for byte, and it verifies', async (t) => {
  if (!haveFixtures(t)) return;
  const bundle = JSON.parse(textFixture(V1_COLLATERAL)) as Bundle;
  const pcs = await startFixturePcs(bundle, '00a067110000', 'processor');
  try {
    const got = await fetchCollateral(quoteFixture(V1_QUOTE), { pccsUrl: `${pcs.url}/sgx/certification/v4/`, timeoutMs: 5000 });
    assert.deepEqual(got, bundle);
    assert.equal(pcs.requests.length, 4);
    const r = new QuoteVerifier().verify(quoteFixture(V1_QUOTE), got, { at: V1_AT });
    assert.equal(r.status, 'ConfigurationAndSWHardeningNeeded');
  } finally {
    await pcs.close();
  }
});

test('TDX quotes ask the /tdx paths', async (t) => {
  if (!haveFixtures(t)) return;
  const bundle = JSON.parse(textFixture('phala-dcap-qvl/tdx_quote_collateral.json')) as Bundle;
  const pcs = await startFixturePcs(bundle, 'b0c06f000000', 'platform', 'tdx');
  try {
    const got = await fetchCollateral(quoteFixture('phala-dcap-qvl/tdx_quote'), { pccsUrl: pcs.url });
    assert.deepEqual(got, bundle);
    assert.ok(pcs.requests.includes('/tdx/certification/v4/tcb?fmspc=b0c06f000000'));
    // The early update channel is asked for explicitly (the fixture server does not know it: 404).
    pcs.requests.length = 0;
    await rejectsWith(fetchCollateral(quoteFixture('phala-dcap-qvl/tdx_quote'), { pccsUrl: pcs.url, update: 'early' }), 'COLLATERAL_BAD_RESPONSE');
    assert.ok(pcs.requests.includes('/tdx/certification/v4/tcb?fmspc=b0c06f000000&update=early'), pcs.requests.join(' '));
    assert.ok(pcs.requests.includes('/tdx/certification/v4/qe/identity?update=early'), pcs.requests.join(' '));
  } finally {
    await pcs.close();
  }
});

test('Intel PCS has no rootcacrl: the Root CA CRL comes from the root certificate\'s CRL distribution point', async (t) => {
  if (!haveFixtures(t)) return;
  const bundle = JSON.parse(textFixture(V1_COLLATERAL)) as Bundle;
  const pcs = await startFixturePcs(bundle, '00a067110000', 'processor');
  pcs.override.set('/sgx/certification/v4/rootcacrl', (res) => res.writeHead(404).end());
  pcs.override.set('/IntelSGXRootCA.der', (res) => res.writeHead(200, { 'content-type': 'application/pkix-crl' }).end(Buffer.from(bundle.root_ca_crl, 'hex')));
  const asked: string[] = [];
  // Real HTTP to the local server; only Intel's CRL host is pointed at it.
  const redirecting: typeof fetch = (input, init) => {
    const url = String(input);
    asked.push(url);
    return fetch(url.replace('https://certificates.trustedservices.intel.com', pcs.url), init);
  };
  try {
    const got = await fetchCollateral(quoteFixture(V1_QUOTE), { pccsUrl: pcs.url, fetch: redirecting, timeoutMs: 5000 });
    assert.equal(got.root_ca_crl, bundle.root_ca_crl);
    assert.ok(asked.includes('https://certificates.trustedservices.intel.com/IntelSGXRootCA.der'), asked.join(' '));
    // Any other failure of rootcacrl is reported, not papered over.
    pcs.override.set('/sgx/certification/v4/rootcacrl', (res) => res.writeHead(503).end());
    await rejectsWith(fetchCollateral(quoteFixture(V1_QUOTE), { pccsUrl: pcs.url, fetch: redirecting, timeoutMs: 5000 }), 'COLLATERAL_BAD_RESPONSE');
  } finally {
    await pcs.close();
  }
});

test('the cache serves fresh collateral without the network and refetches when it expires', async (t) => {
  if (!haveFixtures(t)) return;
  const bundle = JSON.parse(textFixture(V1_COLLATERAL)) as Bundle;
  const dir = mkdtempSync(join(tmpdir(), 'kubetee-pccs-'));
  const pcs = await startFixturePcs(bundle, '00a067110000', 'processor');
  try {
    await fetchCollateral(quoteFixture(V1_QUOTE), { pccsUrl: pcs.url, cacheDir: dir, now: V1_AT });
    assert.equal(readdirSync(dir).length, 1);
    await pcs.close();
    // Server gone: still answered from the cache while every piece is current.
    const cached = await fetchCollateral(quoteFixture(V1_QUOTE), { pccsUrl: pcs.url, cacheDir: dir, now: V1_AT, timeoutMs: 2000 });
    assert.deepEqual(cached, bundle);
    // After the earliest nextUpdate the cache is not used, so the dead server is reported.
    await rejectsWith(fetchCollateral(quoteFixture(V1_QUOTE), { pccsUrl: pcs.url, cacheDir: dir, now: new Date('2025-08-01T00:00:00Z'), timeoutMs: 2000 }), 'COLLATERAL_UNREACHABLE');
    // A damaged cache file is ignored, not trusted.
    writeFileSync(join(dir, readdirSync(dir)[0]!), '{"garbage":true}');
    await rejectsWith(fetchCollateral(quoteFixture(V1_QUOTE), { pccsUrl: pcs.url, cacheDir: dir, now: V1_AT, timeoutMs: 2000 }), 'COLLATERAL_UNREACHABLE');
  } finally {
    await pcs.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('unreachable service and bad answers get clear typed errors', async (t) => {
  if (!haveFixtures(t)) return;
  const quote = quoteFixture(V1_QUOTE);
  const port = await closedPort();
  const e = await rejectsWith(fetchCollateral(quote, { pccsUrl: `http://127.0.0.1:${port}`, timeoutMs: 2000 }), 'COLLATERAL_UNREACHABLE');
  assert.match(e.message, new RegExp(`127\\.0\\.0\\.1:${port}`));
  await rejectsWith(fetchCollateral(quote, { pccsUrl: 'ftp://example.invalid' }), 'COLLATERAL_UNREACHABLE');
  await rejectsWith(fetchCollateral(quote, { pccsUrl: 'not a url' }), 'COLLATERAL_UNREACHABLE');

  const bundle = JSON.parse(textFixture(V1_COLLATERAL)) as Bundle;
  const pcs = await startFixturePcs(bundle, '00a067110000', 'processor');
  try {
    const cases: [string, (res: import('node:http').ServerResponse) => void, RegExp][] = [
      ['/sgx/certification/v4/tcb', (res) => res.writeHead(404).end('no such fmspc'), /HTTP 404/],
      ['/sgx/certification/v4/tcb', (res) => res.writeHead(200).end('{"tcbInfo":'), /not JSON/],
      ['/sgx/certification/v4/tcb', (res) => res.writeHead(200, { 'TCB-Info-Issuer-Chain': 'x' }).end('{"other":1}'), /expected \{"tcbInfo"/],
      ['/sgx/certification/v4/qe/identity', (res) => res.writeHead(200).end(`{"enclaveIdentity":${bundle.qe_identity},"signature":"${bundle.qe_identity_signature}"}`), /SGX-Enclave-Identity-Issuer-Chain/],
      ['/sgx/certification/v4/pckcrl', (res) => res.writeHead(200, { 'SGX-PCK-CRL-Issuer-Chain': encodeURIComponent(bundle.pck_crl_issuer_chain) }).end('this is not a CRL'), /not a CRL/],
      ['/sgx/certification/v4/rootcacrl', (res) => res.writeHead(500).end(), /HTTP 500/],
      ['/sgx/certification/v4/pckcrl', (res) => res.writeHead(200, { 'SGX-PCK-CRL-Issuer-Chain': '%E0%A4%A' }).end(Buffer.from(bundle.pck_crl, 'hex')), /URL-encoded/],
    ];
    for (const [prefix, handler, message] of cases) {
      pcs.override.clear();
      pcs.override.set(prefix, handler);
      const err = await rejectsWith(fetchCollateral(quote, { pccsUrl: pcs.url, timeoutMs: 5000 }), 'COLLATERAL_BAD_RESPONSE');
      assert.match(err.message, message);
    }
    // A service that never answers hits the timeout.
    pcs.override.clear();
    pcs.override.set('/sgx/certification/v4/qe/identity', () => undefined);
    const slow = await rejectsWith(fetchCollateral(quote, { pccsUrl: pcs.url, timeoutMs: 300 }), 'COLLATERAL_UNREACHABLE');
    assert.match(slow.message, /within 300 ms/);
  } finally {
    await pcs.close();
  }
});

test('rawJsonMember cuts the exact value text of a top-level member', () => {
  const text = '{ "a" : {"x":"}\\"{","y":[1,{"z":2}]} , "tcbInfo":{"k":[1, 2 ,3]},"signature":"ab"}';
  assert.equal(rawJsonMember(text, 'a'), '{"x":"}\\"{","y":[1,{"z":2}]}');
  assert.equal(rawJsonMember(text, 'tcbInfo'), '{"k":[1, 2 ,3]}');
  assert.equal(rawJsonMember(text, 'signature'), '"ab"');
  assert.equal(rawJsonMember(text, 'k'), undefined);
  assert.equal(rawJsonMember('[]', 'a'), undefined);
});

test('the cache keeps two services apart even when their platforms share an FMSPC', async () => {
  const { SimulatedPlatform } = await import('../../src/sim/index.js');
  const [a, b] = await Promise.all([SimulatedPlatform.create(), SimulatedPlatform.create()]);
  assert.equal(a.fmspc, b.fmspc, 'the simulated platforms share the default FMSPC');
  const [pcsA, pcsB] = await Promise.all([a.serve(), b.serve()]);
  const cacheDir = mkdtempSync(join(tmpdir(), 'kubetee-pccs-two-'));
  try {
    for (const [platform, pcs] of [[a, pcsA], [b, pcsB]] as const) {
      const collateral = await fetchCollateral(platform.quote(), { pccsUrl: pcs.url, cacheDir });
      const result = new QuoteVerifier({ trustedRootCaDer: [platform.rootCaDer] }).verify(platform.quote(), collateral);
      assert.equal(result.status, 'UpToDate');
    }
    assert.equal(readdirSync(cacheDir).length, 2);
  } finally {
    await Promise.all([pcsA.close(), pcsB.close()]);
    rmSync(cacheDir, { recursive: true, force: true });
  }
});
