import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { flattenedDecrypt } from 'jose';
import { startTestPostgres, type TestPostgres } from '../../helpers/postgres.js';
import { startBroker, type Broker } from './harness.js';
import { AUTH_BODY, attestBody, bindingFor, get, post, teeKey } from './raw.js';
import { KbsClient, simEvidence, KbsClientError, type SimIdentity } from '../../../src/kbs/client/index.js';
import { verifyAuditChain } from '../../../src/kbs/audit/append.js';

const MRENCLAVE = 'ab'.repeat(32);
const MRSIGNER = 'cd'.repeat(32);
const GOOD: SimIdentity = { mrenclave: MRENCLAVE, mrsigner: MRSIGNER, isvProdId: 1, isvSvn: 3 };
const ADMIN = 'token:test';

async function refusal(p: Promise<unknown>): Promise<{ status: number | undefined; code: string | undefined; message: string }> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof KbsClientError, String(err));
    assert.equal(err.code, 'KBS_CLIENT_REFUSED', err.message);
    return { status: err.status, code: err.serverCode, message: err.message };
  }
  assert.fail('expected the broker to refuse');
}

function brokerSuite(dialect: 'sqlite' | 'postgres'): void {
  describe(`key broker end to end (${dialect})`, () => {
    let pg: TestPostgres | undefined;
    let broker: Broker;
    let skip: string | undefined;

    before(async () => {
      let db: string | undefined;
      if (dialect === 'postgres') {
        const started = await startTestPostgres();
        if ('skip' in started) {
          skip = started.skip;
          return;
        }
        pg = started;
        db = await pg.createDatabase();
      }
      broker = await startBroker(db ? { db } : {});
      const svc = broker.data.service;
      await svc.create(ADMIN, { path: 'default/key/model', value: Buffer.from('model-key-v1') });
      await svc.create(ADMIN, { path: 'apps/key/pinned', value: Buffer.from('pinned secret') });
      await svc.setPolicy(ADMIN, 'apps/key/pinned', [
        'rules:',
        `  - name: expected enclave`,
        `    expr: mrenclave == "${MRENCLAVE}"`,
        `  - name: expected signer`,
        `    expr: mrsigner == "${MRSIGNER}"`,
        `  - name: minimum svn`,
        `    expr: isvSvn >= 3`,
      ].join('\n'));
    });
    after(async () => {
      await broker?.close();
      await pg?.stop();
    });

    const client = (identity: SimIdentity = GOOD): KbsClient => new KbsClient({ url: broker.url, evidence: simEvidence(broker.platform, identity) });

    test('release allowed: the client attests and decrypts the secret', async (t) => {
      if (skip) return t.skip(skip);
      const c = client();
      assert.equal(Buffer.from(await c.getResource('default/key/model')).toString(), 'model-key-v1');
      assert.equal(Buffer.from(await c.getResource('apps/key/pinned')).toString(), 'pinned secret');
      assert.equal(c.claims?.mrenclave, MRENCLAVE);
      assert.equal(c.claims?.status, 'UpToDate');
    });

    test('denied for a debug enclave, naming the rule', async (t) => {
      if (skip) return t.skip(skip);
      const r = await refusal(client({ ...GOOD, debug: true }).getResource('default/key/model'));
      assert.equal(r.status, 403);
      assert.equal(r.code, 'KBS_POLICY_DENIED');
      assert.match(r.message, /rule "no-debug"/);
    });

    test('denied for wrong MRENCLAVE, wrong MRSIGNER and low ISVSVN, each naming its rule', async (t) => {
      if (skip) return t.skip(skip);
      const cases: [SimIdentity, string][] = [
        [{ ...GOOD, mrenclave: 'ee'.repeat(32) }, 'expected enclave'],
        [{ ...GOOD, mrsigner: 'ee'.repeat(32) }, 'expected signer'],
        [{ ...GOOD, isvSvn: 2 }, 'minimum svn'],
      ];
      for (const [identity, rule] of cases) {
        const r = await refusal(client(identity).getResource('apps/key/pinned'));
        assert.equal(r.status, 403);
        assert.equal(r.code, 'KBS_POLICY_DENIED');
        assert.match(r.message, new RegExp(`rule "${rule}"`));
      }
    });

    test('denied for an expired secret and for a disabled version', async (t) => {
      if (skip) return t.skip(skip);
      const svc = broker.data.service;
      await svc.create(ADMIN, { path: 'default/key/expiring', value: Buffer.from('x') });
      await svc.setExpiry(ADMIN, 'default/key/expiring', { expiresAt: new Date(Date.now() - 1000).toISOString() });
      const r1 = await refusal(client().getResource('default/key/expiring'));
      assert.deepEqual([r1.status, r1.code], [403, 'KBS_SECRET_UNAVAILABLE']);
      await svc.create(ADMIN, { path: 'default/key/disabled', value: Buffer.from('y') });
      await svc.disable(ADMIN, 'default/key/disabled');
      const r2 = await refusal(client().getResource('default/key/disabled'));
      assert.deepEqual([r2.status, r2.code], [403, 'KBS_SECRET_UNAVAILABLE']);
      const r3 = await refusal(client().getResource('default/key/absent'));
      assert.deepEqual([r3.status, r3.code], [404, 'KBS_RESOURCE_NOT_FOUND']);
    });

    test('a policy row weakened in the database (document edited, MAC kept) refuses the release, never allows it', async (t) => {
      if (skip) return t.skip(skip);
      const svc = broker.data.service;
      await svc.create(ADMIN, { path: 'apps/key/guarded', value: Buffer.from('guarded') });
      await svc.setPolicy(ADMIN, 'apps/key/guarded', `rules:\n  - name: nobody\n    expr: mrenclave == "${'00'.repeat(32)}"`);
      const r0 = await refusal(client().getResource('apps/key/guarded'));
      assert.deepEqual([r0.status, r0.code], [403, 'KBS_POLICY_DENIED']);
      // The attacker's view: straight to the table, keeping the old MAC (no master key).
      await broker.data.store.transaction('write', async (tx) => {
        const row = (await tx.getPolicy('apps/key/guarded'))!;
        await tx.putPolicy({ ...row, document: 'rules: []' });
      });
      const r = await refusal(client().getResource('apps/key/guarded'));
      assert.deepEqual([r.status, r.code], [500, 'KBS_ROW_TAMPERED']);
      assert.match(r.message, /policy row for apps\/key\/guarded does not match its MAC/);
      const audit = await svc.listAudit({ limit: 1000 });
      assert.ok(audit.some((a) => a.action === 'row.tampered' && a.resource === 'policy:apps/key/guarded' && a.reason.startsWith('KBS_ROW_TAMPERED')));
      assert.ok(!audit.some((a) => a.action === 'resource.release' && a.resource === 'apps/key/guarded' && a.outcome === 'success'));
    });

    test('a rotated secret releases its new version; ?version= releases an older one', async (t) => {
      if (skip) return t.skip(skip);
      const svc = broker.data.service;
      await svc.create(ADMIN, { path: 'default/key/rotating', value: Buffer.from('v1') });
      await svc.rotate(ADMIN, 'default/key/rotating', { value: Buffer.from('v2') });
      const c = client();
      assert.equal(Buffer.from(await c.getResource('default/key/rotating')).toString(), 'v2');
      assert.equal(Buffer.from(await c.getResource('default/key/rotating', { version: 1 })).toString(), 'v1');
    });

    test('replayed, foreign and expired nonces are refused', async (t) => {
      if (skip) return t.skip(skip);
      const { tee } = teeKey();
      const auth = await post(broker.url, '/kbs/v0/auth', AUTH_BODY);
      assert.equal(auth.status, 200);
      assert.equal(auth.body['extra-params'], '');
      const nonce = auth.body['nonce'] as string;
      const body = attestBody(nonce, tee, broker.platform.quote({ ...GOOD, reportData: bindingFor(nonce, tee) }));
      const ok = await post(broker.url, '/kbs/v0/attest', body, auth.cookie);
      assert.equal(ok.status, 200, JSON.stringify(ok.body));
      assert.equal(typeof ok.body['token'], 'string');
      const replay = await post(broker.url, '/kbs/v0/attest', body, auth.cookie);
      assert.deepEqual([replay.status, replay.body['code']], [401, 'KBS_NONCE_REPLAYED']);
      assert.match(replay.body['type'] as string, /^https:\/\/github\.com\/confidential-containers\/kbs\/errors\//);
      // The same evidence presented on another session: its nonce is foreign there.
      const other = await post(broker.url, '/kbs/v0/auth', AUTH_BODY);
      const foreign = await post(broker.url, '/kbs/v0/attest', body, other.cookie);
      assert.deepEqual([foreign.status, foreign.body['code']], [401, 'KBS_NONCE_MISMATCH']);
      // Expiry: five minutes after /auth the nonce is dead.
      const late = await post(broker.url, '/kbs/v0/auth', AUTH_BODY);
      const lateNonce = late.body['nonce'] as string;
      broker.advance(5 * 60_000 + 1);
      const expired = await post(broker.url, '/kbs/v0/attest', attestBody(lateNonce, tee, broker.platform.quote({ ...GOOD, reportData: bindingFor(lateNonce, tee) })), late.cookie);
      assert.deepEqual([expired.status, expired.body['code']], [401, 'KBS_SESSION_EXPIRED']);
    });

    test('REPORTDATA must bind this nonce and this key', async (t) => {
      if (skip) return t.skip(skip);
      const { tee } = teeKey();
      const other = teeKey().tee;
      const auth = await post(broker.url, '/kbs/v0/auth', AUTH_BODY);
      const nonce = auth.body['nonce'] as string;
      const r = await post(broker.url, '/kbs/v0/attest', attestBody(nonce, tee, broker.platform.quote({ ...GOOD, reportData: bindingFor(nonce, other) })), auth.cookie);
      assert.deepEqual([r.status, r.body['code']], [401, 'KBS_REPORTDATA_MISMATCH']);
    });

    test('the JWE decrypts only with the TEE\'s private key', async (t) => {
      if (skip) return t.skip(skip);
      const { tee, privateKey } = teeKey();
      const auth = await post(broker.url, '/kbs/v0/auth', AUTH_BODY);
      const nonce = auth.body['nonce'] as string;
      await post(broker.url, '/kbs/v0/attest', attestBody(nonce, tee, broker.platform.quote({ ...GOOD, reportData: bindingFor(nonce, tee) })), auth.cookie);
      const res = await get(broker.url, '/kbs/v0/resource/default/key/model', auth.cookie);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      const jwe = res.body as unknown as Parameters<typeof flattenedDecrypt>[0];
      assert.equal(Buffer.from((await flattenedDecrypt(jwe, privateKey)).plaintext).toString(), 'model-key-v1');
      await assert.rejects(flattenedDecrypt(jwe, teeKey().privateKey));
      // Without a session or token: 401, not the secret.
      const anon = await get(broker.url, '/kbs/v0/resource/default/key/model');
      assert.deepEqual([anon.status, anon.body['code']], [401, 'KBS_SESSION_MISSING']);
      // The attestation token works as a bearer token (Trustee), and a forged one does not.
      const auth2 = await post(broker.url, '/kbs/v0/auth', AUTH_BODY);
      const n2 = auth2.body['nonce'] as string;
      const tok = await post(broker.url, '/kbs/v0/attest', attestBody(n2, tee, broker.platform.quote({ ...GOOD, reportData: bindingFor(n2, tee) })), auth2.cookie);
      const bearer = await get(broker.url, '/kbs/v0/resource/default/key/model', undefined, { authorization: `Bearer ${tok.body['token'] as string}` });
      assert.equal(bearer.status, 200);
      const forged = await get(broker.url, '/kbs/v0/resource/default/key/model', undefined, { authorization: `Bearer ${(tok.body['token'] as string).slice(0, -4)}AAAA` });
      assert.deepEqual([forged.status, forged.body['code']], [401, 'KBS_TOKEN_INVALID']);
    });

    test('OutOfDate after a TCB recovery, then revoked PCK, are refused', async (t) => {
      if (skip) return t.skip(skip);
      broker.platform.recoverTcb();
      const r = await refusal(client().getResource('default/key/model'));
      assert.deepEqual([r.status, r.code], [403, 'KBS_POLICY_DENIED']);
      assert.match(r.message, /rule "accepted-status"/);
      broker.platform.revokePck();
      const v = await refusal(client().getResource('default/key/model'));
      assert.deepEqual([v.status, v.code], [401, 'KBS_ATTESTATION_FAILED']);
      assert.match(v.message, /CERT_REVOKED/);
    });

    test('metrics count releases and denials by reason; the audit chain records every decision and verifies', async (t) => {
      if (skip) return t.skip(skip);
      const text = await (await fetch(`${broker.url}/metrics`)).text();
      assert.match(text, /kbs_releases_total\{tee="sgx"\} [1-9]/);
      assert.match(text, /kbs_denials_total\{endpoint="resource",reason="policy:no-debug"\} 1/);
      assert.match(text, /kbs_denials_total\{endpoint="attest",reason="KBS_NONCE_REPLAYED"\} 1/);
      assert.match(text, /kbs_denials_total\{endpoint="attest",reason="CERT_REVOKED"\} 1/);
      assert.match(text, /kbs_verify_duration_seconds_count [1-9]/);
      const records = await broker.data.service.listAudit({ limit: 1000 });
      const releases = records.filter((r) => r.action === 'resource.release');
      assert.ok(releases.some((r) => r.outcome === 'success' && r.resource === 'default/key/model'));
      assert.ok(releases.some((r) => r.outcome === 'denied' && /no-debug/.test(r.reason)));
      assert.equal(JSON.stringify(records).includes('model-key-v1'), false);
      assert.equal((await verifyAuditChain(broker.data.store)).ok, true);
      const ready = (await (await fetch(`${broker.url}/readyz`)).json()) as { store: string; collateral?: { expiresAt: string } };
      assert.equal(ready.store, dialect);
      // The collateral expiry of the latest verification, which doctor warns about, on /readyz and as a gauge.
      const expiresAt = new Date(ready.collateral?.expiresAt ?? 'missing');
      assert.ok(expiresAt.getTime() > Date.now(), `collateral expiry on /readyz: ${JSON.stringify(ready.collateral)}`);
      const gauge = /^kbs_collateral_expiry_timestamp_seconds (\S+)$/m.exec(text);
      assert.equal(Number(gauge?.[1]), expiresAt.getTime() / 1000);
    });
  });
}

brokerSuite('sqlite');
brokerSuite('postgres');

test('unknown versions, TEEs, paths and oversize bodies get typed errors; secret bytes never appear in refusals', async () => {
  const broker = await startBroker({ server: { bodyLimitBytes: 64 * 1024, rateLimit: { ratePerSecond: 0.001, burst: 2 } } });
  try {
    const v = await post(broker.url, '/kbs/v0/auth', { ...AUTH_BODY, version: '0.1.1' });
    assert.deepEqual([v.status, v.body['code']], [401, 'KBS_VERSION_UNSUPPORTED']);
    const tee = await post(broker.url, '/kbs/v0/auth', { ...AUTH_BODY, tee: 'snp' });
    assert.deepEqual([tee.status, tee.body['code']], [401, 'KBS_TEE_UNSUPPORTED']);
    const limited = await post(broker.url, '/kbs/v0/auth', AUTH_BODY);
    assert.deepEqual([limited.status, limited.body['code']], [429, 'KBS_RATE_LIMITED']);
    const bad = await post(broker.url, '/kbs/v0/attest', '{not json');
    assert.deepEqual([bad.status, bad.body['code']], [400, 'KBS_REQUEST_INVALID']);
    const big = await post(broker.url, '/kbs/v0/attest', { pad: 'x'.repeat(100 * 1024) });
    assert.deepEqual([big.status, big.body['code']], [413, 'KBS_PAYLOAD_TOO_LARGE']);
    const path = await get(broker.url, '/kbs/v0/resource/a/b');
    assert.equal(path.status, 401); // authentication comes before the path is looked at
    const plugin = await get(broker.url, '/kbs/v0/nebula-ca/credential');
    assert.deepEqual([plugin.status, plugin.body['code']], [404, 'KBS_RESOURCE_NOT_FOUND']);
    const health = await fetch(`${broker.url}/healthz`);
    assert.equal(health.status, 200);
  } finally {
    await broker.close();
  }
});

test('statusMode trustee answers 401 for policy denials and missing resources, as Trustee does', async () => {
  const broker = await startBroker({ server: { statusMode: 'trustee' } });
  try {
    const c = new KbsClient({ url: broker.url, evidence: simEvidence(broker.platform, { ...GOOD, debug: true }) });
    const r = await refusal(c.getResource('default/key/none'));
    assert.deepEqual([r.status, r.code], [401, 'KBS_POLICY_DENIED']);
    void randomBytes;
  } finally {
    await broker.close();
  }
});
