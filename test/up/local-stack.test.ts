import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../../src/common/log.js';
import { request } from 'node:http';
import { startLocalStack } from '../../src/up/local-stack.js';

/** A raw HTTP request (fetch cannot set Host). */
function raw(url: string, method: string, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end(method === 'GET' ? undefined : '');
  });
}

const json = async <T>(res: Response): Promise<T> => (await res.json()) as T;

test('the local stack runs every component, its dev endpoints validate input, and a restart keeps the data', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'kubetee-stack-'));
  let stack = await startLocalStack({ host: '127.0.0.1', port: 0, dataDir, logger: silentLogger() });
  let closed = false;
  try {
    const banner = stack.banner();
    for (const what of ['key broker (KBS)', 'key broker admin', 'admission webhook', 'simulated platform', 'dashboard']) assert.match(banner, new RegExp(what.replace(/[()]/g, '\\$&')));
    assert.match(banner, /SIMULATED SGX root/);
    assert.match(banner, /kubetee demo model-protection --url/);

    // One stack per data dir: a second one would clobber the first one's sockets and store.
    await assert.rejects(startLocalStack({ host: '127.0.0.1', port: 0, dataDir, logger: silentLogger() }), (err: { code?: string }) => err.code === 'DATA_DIR_IN_USE');

    // Browser-borne requests: a DNS-rebound host name and a cross-site form post are refused.
    const rebound = await raw(`${stack.url}/secrets`, 'GET', { host: 'attacker.example:80' });
    assert.equal(rebound.status, 403);
    assert.match(rebound.body, /HOST_NOT_LOOPBACK/);
    const crossSite = await raw(`${stack.url}/scenario/model-protection/run`, 'POST', { origin: 'http://attacker.example', 'content-type': 'application/x-www-form-urlencoded' });
    assert.equal(crossSite.status, 403);
    assert.match(crossSite.body, /CROSS_ORIGIN_REFUSED/);
    const fetchSite = await raw(`${stack.url}/dev/simulated-platform/tcb-recovery`, 'POST', { 'sec-fetch-site': 'cross-site', 'content-type': 'application/json' });
    assert.equal(fetchSite.status, 403);

    // Development endpoints: typed errors for bad input, a real quote for good input.
    const bad = await fetch(`${stack.url}/dev/simulated-platform/quote`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ mrenclave: 'zz' }) });
    assert.equal(bad.status, 400);
    assert.equal((await json<{ code: string }>(bad)).code, 'DEV_QUOTE_REQUEST_INVALID');
    const good = await fetch(`${stack.url}/dev/simulated-platform/quote`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ mrenclave: 'ab'.repeat(32), mrsigner: 'cd'.repeat(32) }) });
    assert.equal(good.status, 200);
    assert.ok(Buffer.from((await json<{ quote: string }>(good)).quote, 'base64').length > 1000);
    const placeBad = await fetch(`${stack.url}/dev/simulated-node/model-server`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ epcMiB: 0 }) });
    assert.equal((await json<{ code: string }>(placeBad)).code, 'DEV_PLACE_REQUEST_INVALID');
    const placed = await json<{ detail: string }>(await fetch(`${stack.url}/dev/simulated-node/model-server`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ epcMiB: 300 }) }));
    assert.match(placed.detail, /300 MiB of EPC on NUMA node 0/);

    // A TCB recovery makes the platform OutOfDate; the state survives a restart.
    const recovered = await json<{ status: string; tcbEvaluationDataNumber: number; rootCaSha256: string }>(await fetch(`${stack.url}/dev/simulated-platform/tcb-recovery`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' }));
    assert.equal(recovered.status, 'OutOfDate');
    const token = readFileSync(join(dataDir, 'admin-token'), 'utf8').trim();
    const put = await fetch(`${stack.url}/admin/v1/secrets/team/app/db`, { method: 'PUT', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ value: Buffer.from('s3cret').toString('base64') }) });
    assert.equal(put.status, 200);
    const nodesBefore = await (await fetch(`${stack.url}/nodes`)).text();
    assert.match(nodesBefore, /300 MiB of 4064 MiB allocated/);

    await stack.close();
    stack = await startLocalStack({ host: '127.0.0.1', port: 0, dataDir, logger: silentLogger() });
    const after = await json<{ status: string; tcbEvaluationDataNumber: number; rootCaSha256: string }>(await fetch(`${stack.url}/dev/simulated-platform`));
    assert.deepEqual(after, recovered, 'same simulated platform and TCB history after a restart');
    const secrets = await (await fetch(`${stack.url}/secrets`)).text();
    assert.match(secrets, /team\/app\/db/);
    assert.doesNotMatch(secrets, /s3cret|czNjcmV0/, 'values are never shown');
    assert.match(await (await fetch(`${stack.url}/audit`)).text(), /data-chain="ok"/);
    assert.match(await (await fetch(`${stack.url}/nodes`)).text(), /300 MiB of 4064 MiB allocated/);

    // The platform update (a new PCK certificate at the raised TCB) brings it back to UpToDate under the same root.
    const updated = await json<{ status: string; rootCaSha256: string }>(await fetch(`${stack.url}/dev/simulated-platform/update`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' }));
    assert.equal(updated.status, 'UpToDate');
    assert.equal(updated.rootCaSha256, recovered.rootCaSha256, 'an update keeps the trust anchor');
    await stack.close();
    closed = true;
  } finally {
    if (!closed) await stack.close();
  }
});
