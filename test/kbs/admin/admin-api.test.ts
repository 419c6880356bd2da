import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import Fastify, { type FastifyInstance, type FastifyBaseLogger } from 'fastify';
import { createLogger } from '../../../src/common/log.js';
import { KbsStoreError } from '../../../src/kbs/store/errors.js';
import { openKbsData, type KbsData } from '../../../src/kbs/secrets/open-kbs-data.js';
import { adminRoutes, ADMIN_PREFIX } from '../../../src/kbs/admin/routes.js';
import { AdminClient } from '../../../src/kbs/admin/client.js';

const MASTER = Buffer.alloc(32, 7).toString('base64');
let dir: string;
let data: KbsData;
let app: FastifyInstance;
let base: string;
let adminToken: string;
let logText = '';

interface Res {
  status: number;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

async function call(method: string, path: string, token: string | undefined, body?: unknown, raw?: string): Promise<Res> {
  const headers: Record<string, string> = {};
  if (token !== undefined) headers['authorization'] = `Bearer ${token}`;
  if (body !== undefined || raw !== undefined) headers['content-type'] = 'application/json';
  const r = await fetch(`${base}${ADMIN_PREFIX}${path}`, { method, headers, body: raw ?? (body === undefined ? undefined : JSON.stringify(body)) });
  const text = await r.text();
  return { status: r.status, body: text ? JSON.parse(text) : undefined };
}

function expectError(r: Res, status: number, code: string): void {
  assert.equal(r.status, status, JSON.stringify(r.body));
  assert.equal(r.body.error.code, code);
  assert.equal(typeof r.body.error.message, 'string');
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kubetee-kbs-admin-'));
  data = await openKbsData({ db: `sqlite:${join(dir, 'data', 'kbs.db')}`, env: { KUBETEE_KBS_MASTER_KEY: MASTER }, adminTokenFile: join(dir, 'secrets', 'admin-token') });
  const sink = new Writable({
    write(chunk, _enc, cb) {
      logText += chunk.toString();
      cb();
    },
  });
  app = Fastify({ loggerInstance: createLogger({ level: 'info', destination: sink }) as FastifyBaseLogger });
  await app.register(adminRoutes, {
    service: data.service,
    tokens: data.tokens,
    validatePolicy: (doc) => {
      if (doc.includes('syntax error')) throw new KbsStoreError('POLICY_INVALID', 'the policy does not compile');
    },
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const addr = app.server.address();
  base = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  adminToken = readFileSync(join(dir, 'secrets', 'admin-token'), 'utf8').trim();
});

after(async () => {
  await app.close();
  await data.close();
  rmSync(dir, { recursive: true, force: true });
});

test('the first start writes an admin token readable only by its owner, once', async () => {
  assert.equal(data.bootstrap.created, true);
  assert.equal(data.bootstrap.file, join(dir, 'secrets', 'admin-token'));
  assert.equal(statSync(join(dir, 'secrets', 'admin-token')).mode & 0o777, 0o600);
  assert.match(adminToken, /^kbt_/);
  const again = await openKbsData({ db: `sqlite:${join(dir, 'data', 'kbs.db')}`, env: { KUBETEE_KBS_MASTER_KEY: MASTER }, adminTokenFile: join(dir, 'secrets', 'other') });
  try {
    assert.equal(again.bootstrap.created, false);
  } finally {
    await again.close();
  }
  const me = await call('GET', '/whoami', adminToken);
  assert.equal(me.status, 200);
  assert.equal(me.body.role, 'admin');
});

test('requests without a valid bearer token are refused with 401 and a code', async () => {
  expectError(await call('GET', '/secrets', undefined), 401, 'TOKEN_MISSING');
  expectError(await call('GET', '/secrets', 'kbt_nope'), 401, 'TOKEN_INVALID');
  expectError(await call('GET', '/secrets', `kbt_${'x'.repeat(43)}`), 401, 'TOKEN_INVALID');
  // Authentication comes first: an unauthenticated body is not even parsed.
  expectError(await call('PUT', '/secrets/a/b/c', undefined, undefined, '{"broken'), 401, 'TOKEN_MISSING');
  const r = await fetch(`${base}${ADMIN_PREFIX}/secrets`, { headers: { authorization: `Basic ${adminToken}` } });
  assert.equal(r.status, 401);
  assert.equal(((await r.json()) as { error: { code: string } }).error.code, 'TOKEN_INVALID');
});

test('a token row whose role was raised in the database is refused (500 KBS_ROW_TAMPERED); token info never carries the MAC', async () => {
  const w = await call('POST', '/tokens', adminToken, { name: 'raised', role: 'auditor' });
  assert.equal(w.status, 200, JSON.stringify(w.body));
  assert.ok(!('mac' in w.body.info));
  assert.equal((await call('GET', '/whoami', w.body.token as string)).body.role, 'auditor');
  // The attacker's view: the row changed straight in the table, the MAC left as it was.
  const db = (await import('better-sqlite3')).default;
  const conn = new db(join(dir, 'data', 'kbs.db'));
  conn.prepare("UPDATE admin_tokens SET role = 'admin' WHERE id = ?").run(w.body.info.id);
  conn.close();
  expectError(await call('GET', '/whoami', w.body.token as string), 500, 'KBS_ROW_TAMPERED');
  assert.equal((await call('GET', '/whoami', adminToken)).body.role, 'admin');
  const audit = await data.service.listAudit({ limit: 1000 });
  assert.ok(audit.some((a) => a.action === 'row.tampered' && a.resource === `token:${w.body.info.id}`));
  // Revoking the tampered row is allowed.
  assert.equal((await call('POST', `/tokens/${w.body.info.id}/revoke`, adminToken, {})).status, 200);
});

test('roles: writers write but cannot read values or destroy; auditors only read metadata and audit', async () => {
  const w = await call('POST', '/tokens', adminToken, { name: 'ci', role: 'writer' });
  assert.equal(w.status, 200, JSON.stringify(w.body));
  const writer = w.body.token as string;
  const a = await call('POST', '/tokens', adminToken, { name: 'auditor', role: 'auditor' });
  const auditor = a.body.token as string;

  const put = await call('PUT', '/secrets/app/db/password', writer, { value: Buffer.from('hunter2').toString('base64'), description: 'db' });
  assert.equal(put.status, 200, JSON.stringify(put.body));
  assert.equal(put.body.currentVersion, 1);
  assert.ok(!JSON.stringify(put.body).includes(Buffer.from('hunter2').toString('base64')));
  expectError(await call('GET', '/secrets/app/db/password/value', writer), 403, 'ROLE_FORBIDDEN');
  expectError(await call('POST', '/secrets/app/db/password/destroy', writer, { version: 1 }), 403, 'ROLE_FORBIDDEN');
  expectError(await call('POST', '/tokens', writer, { name: 'x', role: 'admin' }), 403, 'ROLE_FORBIDDEN');
  expectError(await call('PUT', '/policies/default', writer, { policy: 'true' }), 403, 'ROLE_FORBIDDEN');

  const list = await call('GET', '/secrets', auditor);
  assert.equal(list.status, 200);
  assert.deepEqual(list.body.secrets.map((s: { path: string }) => s.path), ['app/db/password']);
  expectError(await call('PUT', '/secrets/app/db/password', auditor, { value: 'eA==' }), 403, 'ROLE_FORBIDDEN');
  expectError(await call('GET', '/tokens', auditor), 403, 'ROLE_FORBIDDEN');
  const verify = await call('GET', '/audit/verify', auditor);
  assert.equal(verify.status, 200);
  assert.equal(verify.body.ok, true);

  // Refusals are in the audit chain with who and why.
  const audit = await call('GET', '/audit?limit=1000', auditor);
  const denied = audit.body.records.filter((r: { outcome: string }) => r.outcome === 'denied');
  assert.ok(denied.some((r: { action: string; reason: string }) => r.action === 'secret.read' && /role writer/.test(r.reason)));
  assert.ok(denied.some((r: { action: string }) => r.action === 'secret.put'));

  // Revocation takes effect on the next request.
  await call('POST', `/tokens/${w.body.info.id}/revoke`, adminToken, {});
  expectError(await call('GET', '/secrets', writer), 401, 'TOKEN_REVOKED');
  const tokens = await call('GET', '/tokens', adminToken);
  assert.ok(tokens.body.tokens.every((t: Record<string, unknown>) => !('tokenHash' in t)));
});

test('the whole lifecycle over HTTP, with typed errors', async () => {
  const gen = await call('POST', '/secrets/models/key/llama/generate', adminToken, { bytes: 32, description: 'model key' });
  assert.equal(gen.status, 200, JSON.stringify(gen.body));
  assert.equal(gen.body.kind, 'key');
  const v1 = await call('GET', '/secrets/models/key/llama/value', adminToken);
  assert.equal(Buffer.from(v1.body.value, 'base64').length, 32);
  const rot = await call('POST', '/secrets/models/key/llama/rotate', adminToken, {});
  assert.equal(rot.body.version, 2);
  const v2 = await call('GET', '/secrets/models/key/llama/value', adminToken);
  assert.notEqual(v2.body.value, v1.body.value);
  const old = await call('GET', '/secrets/models/key/llama/value?version=1', adminToken);
  assert.equal(old.body.value, v1.body.value);

  const exp = await call('POST', '/secrets/models/key/llama/expire', adminToken, { expiresAt: '2020-01-01T00:00:00Z' });
  assert.equal(exp.body.expiresAt, '2020-01-01T00:00:00.000Z');
  await assert.rejects(data.service.getReleasableSecret('models/key/llama', new Date()), { code: 'SECRET_EXPIRED' });
  await call('POST', '/secrets/models/key/llama/expire', adminToken, { expiresAt: null });
  const dis = await call('POST', '/secrets/models/key/llama/disable', adminToken, { version: 2 });
  assert.equal(dis.body.state, 'disabled');
  await assert.rejects(data.service.getReleasableSecret('models/key/llama', new Date()), { code: 'VERSION_DISABLED' });
  expectError(await call('GET', '/secrets/models/key/llama/value', adminToken), 409, 'VERSION_DISABLED');
  assert.equal((await call('POST', '/secrets/models/key/llama/enable', adminToken, {})).body.state, 'enabled');
  assert.equal((await call('POST', '/secrets/models/key/llama/destroy', adminToken, { version: 1 })).body.state, 'destroyed');
  expectError(await call('GET', '/secrets/models/key/llama/value?version=1', adminToken), 410, 'VERSION_DESTROYED');
  const desc = await call('GET', '/secrets/models/key/llama', adminToken);
  assert.deepEqual(desc.body.versions.map((v: { state: string }) => v.state), ['destroyed', 'enabled']);

  expectError(await call('GET', '/secrets/no/such/thing', adminToken), 404, 'RESOURCE_NOT_FOUND');
  expectError(await call('POST', '/secrets/no/such/thing/disable', adminToken, {}), 404, 'RESOURCE_NOT_FOUND');
  expectError(await call('PUT', '/secrets/a/b/..x', adminToken, { value: 'eA==' }), 400, 'INVALID_RESOURCE_PATH');
  expectError(await call('PUT', '/secrets/a/b/c', adminToken, { value: 'not base64!' }), 400, 'INVALID_VALUE');
  expectError(await call('PUT', '/secrets/a/b/c', adminToken, { value: 'eA==', colour: 'red' }), 400, 'INVALID_REQUEST');
  expectError(await call('PUT', '/secrets/a/b/c', adminToken, undefined, '{"value": '), 400, 'INVALID_REQUEST');
  expectError(await call('POST', '/secrets/a/b/c/destroy', adminToken, {}), 400, 'INVALID_REQUEST');
  expectError(await call('GET', '/audit?limit=-1', adminToken), 400, 'INVALID_REQUEST');
  expectError(await call('PUT', '/secrets/a/b/big', adminToken, { value: 'A'.repeat(3 * 1024 * 1024) }), 413, 'INVALID_VALUE');

  // The failed change is audited as a failure, and the chain still verifies.
  const audit = await call('GET', '/audit?limit=1000', adminToken);
  assert.ok(audit.body.records.some((r: { action: string; outcome: string; reason: string }) => r.action === 'secret.disable' && r.outcome === 'failure' && r.reason === 'RESOURCE_NOT_FOUND'));
  const head = (await call('GET', '/audit/verify', adminToken)).body;
  assert.equal(head.ok, true);
  const anchored = await call('GET', `/audit/verify?anchor=${head.headSeq}:${head.headHash}`, adminToken);
  assert.equal(anchored.body.ok, true);
  const ahead = await call('GET', `/audit/verify?anchor=${head.headSeq + 1000}:${head.headHash}`, adminToken);
  assert.equal(ahead.body.ok, false);
  assert.equal(ahead.body.problem, 'truncated');
  expectError(await call('GET', '/audit/verify?anchor=nonsense', adminToken), 400, 'INVALID_REQUEST');
});

test('policies per resource and a default, validated by the policy component', async () => {
  expectError(await call('GET', '/policies/default', adminToken), 404, 'POLICY_NOT_FOUND');
  assert.equal((await call('PUT', '/policies/default', adminToken, { policy: 'claims.debug == false' })).status, 200);
  assert.equal((await call('PUT', '/policies/app/db/password', adminToken, { policy: 'claims.isvSvn >= 2' })).status, 200);
  expectError(await call('PUT', '/policies/app/db/password', adminToken, { policy: 'syntax error (' }), 400, 'POLICY_INVALID');
  assert.equal((await call('GET', '/policies/app/db/password', adminToken)).body.document, 'claims.isvSvn >= 2');
  assert.equal((await data.service.getPolicy('other/x/y'))!.document, 'claims.debug == false');
  const list = await call('GET', '/policies', adminToken);
  assert.deepEqual(list.body.policies.map((p: { path: string }) => p.path), ['app/db/password', 'default']);
  assert.equal((await call('DELETE', '/policies/app/db/password', adminToken)).status, 200);
  expectError(await call('DELETE', '/policies/app/db/password', adminToken), 404, 'POLICY_NOT_FOUND');
});

test('AdminClient manages policies (setPolicy mirrors PUT /policies/...) with the server\'s error codes', async () => {
  const client = new AdminClient({ baseUrl: base, token: adminToken });
  const stored = await client.setPolicy('apps/key/client', 'claims.isvSvn >= 5');
  assert.equal(stored.path, 'apps/key/client');
  assert.equal(stored.document, 'claims.isvSvn >= 5');
  assert.match(stored.updatedBy, /^token:/);
  assert.equal((await client.getPolicy('apps/key/client')).document, 'claims.isvSvn >= 5');
  assert.equal((await client.setPolicy('default', 'claims.debug == false')).path, 'default');
  assert.ok((await client.listPolicies()).some((p) => p.path === 'apps/key/client'));
  await assert.rejects(client.setPolicy('apps/key/client', 'syntax error ('), { code: 'POLICY_INVALID' });
  await assert.rejects(client.setPolicy('not a path', 'true'), { code: 'INVALID_RESOURCE_PATH' });
  assert.equal((await data.service.getStoredPolicy('apps/key/client'))!.document, 'claims.isvSvn >= 5');
  const writer = await data.tokens.create('token:seed', { name: 'w', role: 'writer' });
  await assert.rejects(new AdminClient({ baseUrl: base, token: writer.token }).setPolicy('apps/key/client', 'true'), { code: 'ROLE_FORBIDDEN' });
  assert.deepEqual(await client.deletePolicy('apps/key/client'), { deleted: 'apps/key/client' });
  await assert.rejects(client.getPolicy('apps/key/client'), { code: 'POLICY_NOT_FOUND' });
  const audit = await data.service.listAudit({ limit: 1000 });
  assert.ok(audit.some((r) => r.action === 'policy.set' && r.resource === 'policy:apps/key/client' && r.outcome === 'success'));
  assert.ok(audit.some((r) => r.action === 'policy.set' && r.outcome === 'denied'));
});

test('token signing keys: listed without private parts, rotated by admins only, audited', async () => {
  const client = new AdminClient({ baseUrl: base, token: adminToken });
  await data.service.tokenSigningKeys(); // what the protocol side does on start
  const [first] = await client.listSigningKeys();
  assert.equal(first!.current, true);
  assert.deepEqual(Object.keys(first!.publicJwk).sort(), ['crv', 'kty', 'x', 'y']);
  const auditor = await data.tokens.create('token:seed', { name: 'a', role: 'auditor' });
  const asAuditor = new AdminClient({ baseUrl: base, token: auditor.token });
  assert.equal((await asAuditor.listSigningKeys()).length, 1);
  await assert.rejects(asAuditor.rotateSigningKey(), { code: 'ROLE_FORBIDDEN' });
  const next = await client.rotateSigningKey();
  assert.notEqual(next.kid, first!.kid);
  const keys = await client.listSigningKeys();
  assert.deepEqual(keys.map((k) => [k.kid, k.current]), [[next.kid, true], [first!.kid, false]]);
  assert.equal(typeof keys[1]!.retiredAt, 'string');
  const r = await client.rewrap();
  assert.deepEqual(r, { rewrapped: 0, tokenSigningKeys: 0, rowMacs: { policies: 0, tokens: 0, tampered: [] }, activeKeyId: data.service.activeMasterKeyId });
  const audit = await data.service.listAudit({ limit: 1000 });
  assert.ok(audit.some((a) => a.action === 'token-signing-key.rotate' && a.outcome === 'success' && a.reason === `replaces ${first!.kid}`));
  assert.ok(audit.some((a) => a.action === 'token-signing-key.rotate' && a.outcome === 'denied'));
});

test('tokens and secret values never reach the log', async () => {
  await call('PUT', '/secrets/app/log/check', adminToken, { value: Buffer.from('LOG-CANARY-VALUE').toString('base64') });
  await call('GET', '/secrets/app/log/check/value', adminToken);
  assert.ok(logText.length > 0, 'the server logged requests');
  assert.ok(!logText.includes(adminToken.slice(4)), 'token in log');
  assert.ok(!logText.includes('LOG-CANARY-VALUE') && !logText.includes(Buffer.from('LOG-CANARY-VALUE').toString('base64')), 'value in log');
});
