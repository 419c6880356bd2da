/**
 * The simulated PCS over real HTTP on loopback: Intel's v4 paths, URL-encoded
 * issuer-chain headers, DER/PEM/hex CRL encodings, clear 4xx errors, and
 * collateral assembled from its responses verifies.
 */
import 'reflect-metadata';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate, verify } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createConnection } from 'node:net';
import { initSync, js_get_collateral } from '@phala/dcap-qvl-web';
import * as x509 from '@peculiar/x509';
import { QuoteVerifier } from '../../src/attestation/index.js';
import { SimulatedPlatform, PCS_PATHS, type QuoteCollateralV3Json, type SimPcsServer } from '../../src/sim/index.js';

const AT = new Date('2026-02-01T08:00:00Z');

async function get(url: string): Promise<Response> {
  return fetch(url, { signal: AbortSignal.timeout(5000) });
}

function firstCert(chainHeader: string | null): X509Certificate {
  assert.ok(chainHeader, 'issuer chain header present');
  const pem = decodeURIComponent(chainHeader);
  const first = pem.match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/)?.[0];
  assert.ok(first);
  return new X509Certificate(first);
}

/** Cuts the exact signed text out of a PCS body, as collateral clients must (never re-serialise). */
function signedBody(body: string, key: 'tcbInfo' | 'enclaveIdentity'): { text: string; signature: string } {
  const prefix = `{"${key}":`;
  assert.ok(body.startsWith(prefix));
  const end = body.lastIndexOf(',"signature":"');
  return { text: body.slice(prefix.length, end), signature: JSON.parse(body).signature };
}

describe('simulated PCS server', () => {
  let platform: SimulatedPlatform;
  let server: SimPcsServer;

  before(async () => {
    platform = await SimulatedPlatform.create({ now: AT });
    server = await platform.serve({ host: '127.0.0.1', port: 0 });
  });
  after(async () => {
    await server.close();
  });

  test('TCB Info: signed exact text, TCB-Info-Issuer-Chain header', async () => {
    const res = await get(`${server.url}${PCS_PATHS.tcb}?fmspc=${platform.fmspc.toUpperCase()}`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /application\/json/);
    const signer = firstCert(res.headers.get('TCB-Info-Issuer-Chain'));
    const { text, signature } = signedBody(await res.text(), 'tcbInfo');
    assert.ok(verify('sha256', Buffer.from(text), { key: signer.publicKey, dsaEncoding: 'ieee-p1363' }, Buffer.from(signature, 'hex')));
    assert.equal(JSON.parse(text).fmspc, platform.fmspc);
  });

  test('QE Identity: signed exact text, SGX-Enclave-Identity-Issuer-Chain header', async () => {
    const res = await get(`${server.url}${PCS_PATHS.qeIdentity}`);
    assert.equal(res.status, 200);
    const signer = firstCert(res.headers.get('SGX-Enclave-Identity-Issuer-Chain'));
    const { text, signature } = signedBody(await res.text(), 'enclaveIdentity');
    assert.ok(verify('sha256', Buffer.from(text), { key: signer.publicKey, dsaEncoding: 'ieee-p1363' }, Buffer.from(signature, 'hex')));
    assert.equal(JSON.parse(text).id, 'QE');
  });

  test('PCK CRL in DER and PEM, signed by the CA in SGX-PCK-CRL-Issuer-Chain; revocation shows at once', async () => {
    const der = await get(`${server.url}${PCS_PATHS.pckCrl}?ca=processor&encoding=der`);
    assert.equal(der.status, 200);
    const ca = firstCert(der.headers.get('SGX-PCK-CRL-Issuer-Chain'));
    const crl = new x509.X509Crl(new Uint8Array(await der.arrayBuffer()));
    assert.ok(await crl.verify({ publicKey: new x509.X509Certificate(ca.raw) }));

    const pem = await get(`${server.url}${PCS_PATHS.pckCrl}?ca=processor`);
    assert.equal(pem.status, 200);
    assert.match(await pem.text(), /^-----BEGIN X509 CRL-----\n/);

    const p = await SimulatedPlatform.create({ now: AT });
    const s = await p.serve();
    try {
      p.revokePck();
      const serial = new x509.X509Certificate(p.pckCertificateDer).serialNumber.toLowerCase();
      const revoked = new x509.X509Crl(new Uint8Array(await (await get(`${s.url}${PCS_PATHS.pckCrl}?ca=processor&encoding=der`)).arrayBuffer()));
      assert.ok(revoked.entries.some((e) => e.serialNumber.toLowerCase() === serial));
    } finally {
      await s.close();
    }
  });

  test('Root CA CRL as hex text (PCCS form), signed by the platform root', async () => {
    const res = await get(`${server.url}${PCS_PATHS.rootCaCrl}`);
    assert.equal(res.status, 200);
    const hex = await res.text();
    assert.match(hex, /^[0-9a-f]+$/);
    const crl = new x509.X509Crl(Buffer.from(hex, 'hex'));
    assert.ok(await crl.verify({ publicKey: new x509.X509Certificate(platform.rootCaDer) }));
  });

  test('bad requests get clear 4xx JSON errors', async () => {
    const cases: Array<[string, number, RegExp]> = [
      [`${PCS_PATHS.tcb}`, 400, /fmspc/],
      [`${PCS_PATHS.tcb}?fmspc=zz`, 400, /fmspc/],
      [`${PCS_PATHS.tcb}?fmspc=00606a000000`, 404, /FMSPC/],
      [`${PCS_PATHS.pckCrl}?ca=intel`, 400, /ca must be/],
      [`${PCS_PATHS.pckCrl}?ca=platform`, 404, /processor CA/],
      [`${PCS_PATHS.pckCrl}?ca=processor&encoding=xml`, 400, /encoding/],
      ['/sgx/certification/v3/tcb?fmspc=00906ed50000', 404, /no such PCS path/],
    ];
    for (const [path, status, message] of cases) {
      const res = await get(`${server.url}${path}`);
      assert.equal(res.status, status, path);
      const body = (await res.json()) as { error: string };
      assert.match(body.error, message, path);
    }
    const post = await fetch(`${server.url}${PCS_PATHS.qeIdentity}`, { method: 'POST', body: '{}', signal: AbortSignal.timeout(5000) });
    assert.equal(post.status, 405);
  });

  test('collateral fetched over HTTP verifies the platform\'s quote', async () => {
    const tcbRes = await get(`${server.url}${PCS_PATHS.tcb}?fmspc=${platform.fmspc}`);
    const qeRes = await get(`${server.url}${PCS_PATHS.qeIdentity}`);
    const crlRes = await get(`${server.url}${PCS_PATHS.pckCrl}?ca=processor&encoding=der`);
    const tcb = signedBody(await tcbRes.text(), 'tcbInfo');
    const qe = signedBody(await qeRes.text(), 'enclaveIdentity');
    const collateral: QuoteCollateralV3Json = {
      pck_crl_issuer_chain: decodeURIComponent(crlRes.headers.get('SGX-PCK-CRL-Issuer-Chain')!),
      root_ca_crl: await (await get(`${server.url}${PCS_PATHS.rootCaCrl}`)).text(),
      pck_crl: Buffer.from(await crlRes.arrayBuffer()).toString('hex'),
      tcb_info_issuer_chain: decodeURIComponent(tcbRes.headers.get('TCB-Info-Issuer-Chain')!),
      tcb_info: tcb.text,
      tcb_info_signature: tcb.signature,
      qe_identity_issuer_chain: decodeURIComponent(qeRes.headers.get('SGX-Enclave-Identity-Issuer-Chain')!),
      qe_identity: qe.text,
      qe_identity_signature: qe.signature,
    };
    const result = new QuoteVerifier({ trustedRootCaDer: [platform.rootCaDer] }).verify(platform.quote(), collateral, { at: AT });
    assert.equal(result.status, 'UpToDate');
  });

  test('the reference PCCS clients of dcap-qvl (JS and wasm) fetch collateral that verifies', async () => {
    const require = createRequire(import.meta.url);
    const qvl = require('@phala/dcap-qvl') as {
      getCollateral(url: string, quote: Uint8Array): Promise<Record<string, unknown>>;
      QuoteVerifier: { newWithRootCa(root: Buffer): { verify(q: Uint8Array, c: unknown, nowSecs: number): { status: string } } };
    };
    initSync({ module: readFileSync(require.resolve('@phala/dcap-qvl-web/dcap-qvl-web_bg.wasm')) });
    const quote = platform.quote();
    const nowSecs = Math.floor(AT.getTime() / 1000);
    // Both clients return byte fields as arrays or hex; normalise to the hex JSON format.
    const toHexJson = (c: Record<string, unknown>): QuoteCollateralV3Json =>
      Object.fromEntries(
        Object.entries(c)
          .filter(([k]) => k !== 'pck_certificate_chain')
          .map(([k, v]) => [k, typeof v === 'string' ? v : Buffer.from(v as number[]).toString('hex')]),
      ) as unknown as QuoteCollateralV3Json;
    const ours = new QuoteVerifier({ trustedRootCaDer: [platform.rootCaDer] });
    for (const fetched of [await qvl.getCollateral(server.url, quote), (await js_get_collateral(server.url, quote)) as Record<string, unknown>]) {
      const collateral = toHexJson(fetched);
      assert.equal(ours.verify(quote, collateral, { at: AT }).status, 'UpToDate');
      assert.equal(qvl.QuoteVerifier.newWithRootCa(Buffer.from(platform.rootCaDer)).verify(quote, collateral, nowSecs).status, 'UpToDate');
    }
  });

  test('close() stops listening', async () => {
    const p = await SimulatedPlatform.create({ now: AT });
    const s = await p.serve();
    const port = Number(new URL(s.url).port);
    assert.equal((await get(`${s.url}${PCS_PATHS.qeIdentity}`)).status, 200);
    await s.close();
    const refused = await new Promise<boolean>((resolve) => {
      const socket = createConnection({ host: '127.0.0.1', port });
      socket.once('connect', () => {
        socket.destroy();
        resolve(false);
      });
      socket.once('error', () => resolve(true));
    });
    assert.ok(refused, 'connection refused after close');
  });

  test('a port in use is a typed error', async () => {
    const port = Number(new URL(server.url).port);
    await assert.rejects(platform.serve({ port }), (err: unknown) => (err as { code?: string }).code === 'SIM_SERVE_FAILED');
  });
});
