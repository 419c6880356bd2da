import { test } from 'node:test';
import assert from 'node:assert/strict';
import Fastify from 'fastify';
import { registerDashboard } from '../../src/dashboard/routes.js';
import { available, unavailable, type DashboardSource, type ScenarioRunView } from '../../src/dashboard/model.js';

const HOSTILE = '<img src=x onerror=alert(1)>';

/** A source with literal data: the pages are pure renderers of it. */
function literalSource(seen: { quote?: Uint8Array; at?: Date; collateral?: unknown }): DashboardSource {
  const run: ScenarioRunView = { name: 'model-protection', startedAt: '2026-01-01T00:00:00Z', passed: true, steps: [{ title: 'seal', outcome: 'ok', detail: HOSTILE }] };
  return {
    components: () => [{ name: 'key broker', available: true, detail: 'here' }],
    nodes: async () =>
      available([
        {
          name: 'sim-node-0', source: 'Ice Lake-SP', sgx1: true, sgx2: true, flc: true, driver: 'in-kernel', aesm: true,
          resourceName: 'sgx.intel.com/epc', capacityBytes: 4261412864, allocatedBytes: 1073741824,
          sections: [{ numaNode: 0, capacityBytes: 2126512128, allocatedBytes: 1073741824 }, { numaNode: 1, capacityBytes: 2134900736, allocatedBytes: 0 }],
          labels: { 'kubetee.io/sgx': 'true' },
        },
      ]),
    attestations: async () => available([{ at: '2026-01-01T00:00:00Z', subject: HOSTILE, verdict: 'refused', tcbStatus: 'OutOfDate', advisoryIds: ['INTEL-SA-00615'], reason: 'POLICY_DENIED' }]),
    secrets: async () => available([{ path: `default/${HOSTILE}/key`, versions: [{ version: 1, state: 'active', createdAt: '2026-01-01' }], policyName: 'p', policyText: 'input.mrEnclave == "ab"' }]),
    audit: async () => available({ chainOk: true, checkedEntries: 3, entries: [] }),
    admissions: async () => unavailable('webhook missing'),
    trustAnchors: () => ['simulated root'],
    verifySamples: () => [{ label: `sample ${HOSTILE}`, href: '/x?a=1&b=2' }],
    verifyQuote: async (input) => {
      Object.assign(seen, input);
      return available({ ok: false, trustAnchor: input.trustAnchor, at: input.at.toISOString(), advisoryIds: [], checks: [{ name: 'quote signature', state: 'failed' }], errorCode: 'QUOTE_SIGNATURE_INVALID', errorMessage: HOSTILE });
    },
    scenarios: () => ['model-protection'],
    lastScenarioRun: () => undefined,
    runScenario: async () => run,
  };
}

async function app(seen = {}) {
  const a = Fastify();
  await registerDashboard(a, { source: literalSource(seen), maxUploadBytes: 64 * 1024 });
  await a.ready();
  return a;
}

function multipart(fields: Record<string, string | Buffer>): { body: Buffer; contentType: string } {
  const boundary = '----kubetee-test-boundary';
  const parts: Buffer[] = [];
  for (const [name, value] of Object.entries(fields)) {
    const file = Buffer.isBuffer(value) ? `; filename="${name}.bin"` : '';
    parts.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${name}"${file}\r\n\r\n`), Buffer.from(value), Buffer.from('\r\n'));
  }
  parts.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(parts), contentType: `multipart/form-data; boundary=${boundary}` };
}

test('every page renders, escapes component data and sends a strict CSP', async () => {
  const a = await app();
  for (const path of ['/', '/nodes', '/attestations', '/secrets', '/audit', '/admissions', '/verify', '/scenario']) {
    const r = await a.inject({ method: 'GET', url: path });
    assert.equal(r.statusCode, 200, path);
    assert.match(r.headers['content-type'] as string, /text\/html/);
    assert.match(r.headers['content-security-policy'] as string, /script-src 'self'/);
    assert.doesNotMatch(r.body, /<img src=x/, `${path} leaks raw markup`);
  }
  const nodes = (await a.inject('/nodes')).body;
  assert.match(nodes, /NUMA node 0/);
  assert.match(nodes, /NUMA node 1/);
  assert.match(nodes, /1 GiB of 4064 MiB allocated/);
  assert.match((await a.inject('/admissions')).body, /Admission webhook: not available.*webhook missing/s);
  assert.match((await a.inject('/audit')).body, /data-chain="ok"/);
  assert.match((await a.inject('/verify')).body, /<a href="\/x\?a=1&amp;b=2" download>sample &lt;img/);
  await a.close();
});

test('htmx and the stylesheet are served from the server itself', async () => {
  const a = await app();
  const js = await a.inject('/assets/htmx.min.js');
  assert.equal(js.statusCode, 200);
  assert.match(js.body, /htmx/);
  assert.ok(js.body.length > 10_000);
  assert.match((await a.inject('/assets/style.css')).body, /\.badge/);
  await a.close();
});

test('verify upload: hex quote text is decoded, the time is parsed, the result is shown', async () => {
  const seen: { quote?: Uint8Array; at?: Date; collateral?: unknown } = {};
  const a = await app(seen);
  const { body, contentType } = multipart({ quote: Buffer.from('0x0a0b0c\n'), collateral: Buffer.from('{"tcb_info":"x"}'), at: '2025-08-30T00:00:00Z', trustAnchor: 'simulated root' });
  const r = await a.inject({ method: 'POST', url: '/verify', payload: body, headers: { 'content-type': contentType } });
  assert.equal(r.statusCode, 200);
  assert.deepEqual([...(seen.quote ?? [])], [10, 11, 12]);
  assert.equal(seen.at?.toISOString(), '2025-08-30T00:00:00.000Z');
  assert.deepEqual(seen.collateral, { tcb_info: 'x' });
  assert.match(r.body, /QUOTE_SIGNATURE_INVALID/);
  assert.match(r.body, /data-check="quote signature" data-state="failed"/);
  assert.doesNotMatch(r.body, /<img src=x/);
  await a.close();
});

test('verify upload: bad input gets a typed error, never a crash', async () => {
  const a = await app();
  const cases: [Record<string, string | Buffer>, string][] = [
    [{ collateral: Buffer.from('{}') }, 'UPLOAD_QUOTE_MISSING'],
    [{ quote: Buffer.from([1, 2, 3]) }, 'UPLOAD_COLLATERAL_MISSING'],
    [{ quote: Buffer.from([1]), collateral: Buffer.from('not json') }, 'UPLOAD_COLLATERAL_NOT_JSON'],
    [{ quote: Buffer.from([1]), collateral: Buffer.from('{}'), at: 'yesterday' }, 'UPLOAD_TIME_INVALID'],
    [{ quote: Buffer.from([1]), collateral: Buffer.from('{}'), trustAnchor: 'mine' }, 'UPLOAD_TRUST_ANCHOR_UNKNOWN'],
  ];
  for (const [fields, code] of cases) {
    const { body, contentType } = multipart(fields);
    const r = await a.inject({ method: 'POST', url: '/verify', payload: body, headers: { 'content-type': contentType } });
    assert.equal(r.statusCode, 400, code);
    assert.match(r.body, new RegExp(code));
  }
  const notMultipart = await a.inject({ method: 'POST', url: '/verify', payload: 'quote=1', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
  assert.equal(notMultipart.statusCode, 400);
  assert.match(notMultipart.body, /UPLOAD_INVALID/);
  const big = multipart({ quote: Buffer.alloc(100 * 1024), collateral: Buffer.from('{}') });
  const tooBig = await a.inject({ method: 'POST', url: '/verify', payload: big.body, headers: { 'content-type': big.contentType } });
  assert.equal(tooBig.statusCode, 413);
  // Answered as the verify page's own result (htmx swaps it), not as framework JSON.
  assert.match(tooBig.headers['content-type'] as string, /text\/html/);
  assert.match(tooBig.body, /id="verify-result"[\s\S]*UPLOAD_TOO_LARGE/);
  await a.close();
});

test('htmx is told to swap error answers: the page carries the responseHandling config for 4xx and 5xx', async () => {
  const a = await app();
  const page = (await a.inject('/verify')).body;
  const m = /<meta name="htmx-config" content="([^"]+)">/.exec(page);
  assert.ok(m, 'no htmx-config meta');
  const config = JSON.parse(m[1]!.replace(/&quot;/g, '"')) as { responseHandling: { code: string; swap: boolean }[] };
  const rule = (status: string) => config.responseHandling.find((r) => new RegExp(`^${r.code}$`).test(status));
  for (const status of ['400', '413', '500']) assert.equal(rule(status)?.swap, true, status);
  assert.equal(rule('204')?.swap, false);
  await a.close();
});

test('an unknown path renders a page for a browser and JSON for a program, both 404', async () => {
  const a = await app();
  const browser = await a.inject({ url: '/no/such/page', headers: { accept: 'text/html,application/xhtml+xml' } });
  assert.equal(browser.statusCode, 404);
  assert.match(browser.headers['content-type'] as string, /text\/html/);
  assert.match(browser.body, /<h1>Page not found<\/h1>[\s\S]*data-not-found="\/no\/such\/page"/);
  assert.match(browser.body, /<nav>/);
  const program = await a.inject({ url: '/no/such/page', headers: { accept: 'application/json' } });
  assert.equal(program.statusCode, 404);
  assert.equal(program.json().code, 'NOT_FOUND');
  await a.close();
});

test('scenario: the button runs it (htmx fragment), a plain form post redirects, unknown names are 404', async () => {
  const a = await app();
  // Exactly what htmx sends for the button's form.
  const hx = await a.inject({ method: 'POST', url: '/scenario/model-protection/run', payload: '', headers: { 'hx-request': 'true', 'content-type': 'application/x-www-form-urlencoded' } });
  assert.equal(hx.statusCode, 200);
  assert.match(hx.body, /scenario passed/);
  assert.doesNotMatch(hx.body, /<img src=x/);
  const plain = await a.inject({ method: 'POST', url: '/scenario/model-protection/run', payload: '', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
  assert.equal(plain.statusCode, 303);
  const unknown = await a.inject({ method: 'POST', url: '/scenario/nope/run' });
  assert.equal(unknown.statusCode, 404);
  assert.equal(unknown.json().code, 'SCENARIO_UNKNOWN');
  await a.close();
});
