// The broker's collateral source: Intel's PCS v4 by default (one base URL for
// SGX and TDX quotes), kbs.pccsURL when the operator sets it, never the
// node-side aesm.pccsURL (whose localhost default would be the broker pod).
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { renderManifests } from '../../src/deploy/render.js';
import { INTEL_PCS_URL, resolveValues, type ValuesInput } from '../../src/deploy/values.js';
import { generateWebhookTls, type WebhookTls } from '../../src/deploy/webhook-tls.js';
import { fetchCollateral } from '../../src/attestation/pccs-client.js';
import { AttestationError } from '../../src/attestation/errors.js';
import { fromHex } from '../../src/common/hex.js';
import { fixturePath } from '../helpers/fixtures.js';

let tls: WebhookTls;
before(async () => {
  tls = await generateWebhookTls({ dnsNames: ['kubetee-webhook.kubetee-system.svc'], now: new Date('2026-01-01T00:00:00Z') });
});

function brokerPccs(doc: ValuesInput): string {
  const d = renderManifests(resolveValues(doc, 'test'), tls).find((o) => o.kind === 'Deployment' && o.metadata.name === 'kubetee-kbs')!;
  const args = (d['spec'] as { template: { spec: { containers: { args: string[] }[] } } }).template.spec.containers[0]!.args;
  return args[args.indexOf('--pccs') + 1]!;
}

test("the broker fetches collateral from Intel's PCS unless kbs.pccsURL says otherwise", () => {
  assert.equal(INTEL_PCS_URL, 'https://api.trustedservices.intel.com/sgx/certification/v4/');
  assert.equal(brokerPccs({}), INTEL_PCS_URL);
  assert.equal(resolveValues({}, 'v').kbs.pccsURL, INTEL_PCS_URL);
  // aesm.pccsURL is what the AESM pods use; it no longer leaks into the broker.
  assert.equal(brokerPccs({ aesm: { pccsURL: 'https://localhost:8081/sgx/certification/v4/' } }), INTEL_PCS_URL);
  assert.equal(brokerPccs({ aesm: { pccsURL: 'https://sgx-dcap-server.cn-hangzhou.aliyuncs.com/sgx/certification/v4/' } }), INTEL_PCS_URL);
  assert.equal(brokerPccs({ kbs: { pccsURL: 'https://pccs.pccs.svc:8081/sgx/certification/v4/' } }), 'https://pccs.pccs.svc:8081/sgx/certification/v4/');
  assert.throws(() => resolveValues({ kbs: { pccsURL: 'http://pccs.example/sgx/certification/v4/' } }, 'v'), /kbs\.pccsURL/);
  for (const profile of ['alibaba', 'intel'] as const) assert.doesNotMatch(brokerPccs({ profile }), /localhost|127\.0\.0\.1/);
});

/** Records every URL fetchCollateral asks for, answering 404 so it stops there. */
async function requestedUrls(quote: Uint8Array, pccsUrl: string): Promise<string[]> {
  const urls: string[] = [];
  const fake = (async (input: string | URL | Request) => {
    urls.push(String(input));
    return new Response('not here', { status: 404 });
  }) as typeof fetch;
  await assert.rejects(fetchCollateral(quote, { pccsUrl, fetch: fake }), (err: unknown) => err instanceof AttestationError);
  return urls;
}

test('the default base serves TDX quotes too: the broker swaps /sgx/ for /tdx/ where PCS v4 has TDX paths', async (t) => {
  const tdxPath = fixturePath(t, 'attestation', 'phala-dcap-qvl', 'tdx_quote');
  const sgxPath = fixturePath(t, 'attestation', 'phala-dcap-qvl', 'sgx_quote');
  if (!tdxPath || !sgxPath) return;
  const tdx = await requestedUrls(readQuote(tdxPath), INTEL_PCS_URL);
  assert.ok(tdx.some((u) => u.startsWith('https://api.trustedservices.intel.com/tdx/certification/v4/tcb?fmspc=')), tdx.join('\n'));
  assert.ok(tdx.includes('https://api.trustedservices.intel.com/tdx/certification/v4/qe/identity'), tdx.join('\n'));
  assert.ok(tdx.some((u) => u.startsWith('https://api.trustedservices.intel.com/sgx/certification/v4/pckcrl?ca=')), 'PCK CRLs live under /sgx/ for both');
  assert.ok(tdx.every((u) => !u.includes('/sgx/certification/v4/sgx/') && !u.includes('/sgx/certification/v4/tdx/')), 'no doubled path');
  const sgx = await requestedUrls(readQuote(sgxPath), INTEL_PCS_URL);
  assert.ok(sgx.some((u) => u.startsWith('https://api.trustedservices.intel.com/sgx/certification/v4/tcb?fmspc=')), sgx.join('\n'));
  assert.ok(sgx.every((u) => u.startsWith('https://api.trustedservices.intel.com/sgx/certification/v4/')), sgx.join('\n'));
});

function readQuote(path: string): Uint8Array {
  const bytes = readFileSync(path);
  // Some fixtures are hex text, others raw bytes.
  const text = bytes.toString('latin1').trim();
  const decoded = /^[0-9a-fA-F]+$/.test(text) ? fromHex(text) : undefined;
  return decoded ?? new Uint8Array(bytes);
}
