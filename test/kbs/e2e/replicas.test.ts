/**
 * Several replicas of the broker on one database (the Service has no session
 * affinity): in-process brokers on separate store connections, over real
 * HTTP, on one SQLite file and on one PostgreSQL database. The protocol state
 * (sessions, nonces, the token signing key) must be shared: any step may land
 * on any replica, a nonce is single-use across all of them, a token from one
 * verifies on the others and survives restarts.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeProtectedHeader, flattenedDecrypt } from 'jose';
import { startTestPostgres, type TestPostgres } from '../../helpers/postgres.js';
import { SimulatedPlatform } from '../../../src/sim/index.js';
import { StoredTokenKeys } from '../../../src/kbs/protocol/token-keys.js';
import { startBroker, type Broker } from './harness.js';
import { AUTH_BODY, attestBody, bindingFor, get, post, teeKey } from './raw.js';
import type { KeyObject } from 'node:crypto';
import type { TeePubKey } from '../../../src/kbs/protocol/tee-key.js';

const GOOD = { mrenclave: 'ab'.repeat(32), mrsigner: 'cd'.repeat(32), isvProdId: 1, isvSvn: 3 };
const RESOURCE = '/kbs/v0/resource/default/key/model';

function replicaSuite(dialect: 'sqlite' | 'postgres'): void {
  describe(`key broker replicas on one ${dialect} database`, () => {
    let pg: TestPostgres | undefined;
    let skip: string | undefined;
    let platform: SimulatedPlatform;
    const dirs: string[] = [];
    const brokers = new Set<Broker>();

    /** A fresh database URL (a new SQLite file, or a new PostgreSQL database). */
    async function newDb(): Promise<string> {
      if (pg) return pg.createDatabase();
      const dir = mkdtempSync(join(tmpdir(), 'kubetee-kbs-replicas-'));
      dirs.push(dir);
      return `sqlite:${join(dir, 'kbs.db')}`;
    }

    async function replica(db: string, masterKey: string, server: { maxSessions?: number } = {}): Promise<Broker> {
      const b = await startBroker({ db, masterKey, platform, server });
      brokers.add(b);
      return b;
    }

    async function stop(b: Broker): Promise<void> {
      brokers.delete(b);
      await b.close();
    }

    /** Two replicas (separate connections, separate servers) on a fresh database holding one secret. */
    async function pair(): Promise<{ a: Broker; b: Broker; db: string; masterKey: string }> {
      const db = await newDb();
      const masterKey = randomBytes(32).toString('base64');
      const a = await replica(db, masterKey);
      const b = await replica(db, masterKey);
      await a.data.service.create('token:test', { path: 'default/key/model', value: Buffer.from('model-key-v1') });
      return { a, b, db, masterKey };
    }

    /** /auth on one replica; returns what /attest needs. */
    async function challenge(on: Broker): Promise<{ cookie: string; nonce: string; tee: TeePubKey; privateKey: KeyObject; body: Record<string, unknown> }> {
      const auth = await post(on.url, '/kbs/v0/auth', AUTH_BODY);
      assert.equal(auth.status, 200, JSON.stringify(auth.body));
      const nonce = auth.body['nonce'] as string;
      const { tee, privateKey } = teeKey();
      const body = attestBody(nonce, tee, platform.quote({ ...GOOD, reportData: bindingFor(nonce, tee) }));
      return { cookie: auth.cookie!, nonce, tee, privateKey, body };
    }

    async function decrypts(res: { status: number; body: Record<string, unknown> }, privateKey: KeyObject): Promise<void> {
      assert.equal(res.status, 200, JSON.stringify(res.body));
      const jwe = res.body as unknown as Parameters<typeof flattenedDecrypt>[0];
      assert.equal(Buffer.from((await flattenedDecrypt(jwe, privateKey)).plaintext).toString(), 'model-key-v1');
    }

    before(async () => {
      if (dialect === 'postgres') {
        const started = await startTestPostgres();
        if ('skip' in started) {
          skip = started.skip;
          return;
        }
        pg = started;
      }
      platform = await SimulatedPlatform.create();
    });
    after(async () => {
      for (const b of brokers) await b.close().catch(() => undefined);
      await pg?.stop();
      for (const d of dirs) rmSync(d, { recursive: true, force: true });
    });

    test('/auth on A, /attest on B, /resource on A; the nonce cannot be replayed on either', async (t) => {
      if (skip) return t.skip(skip);
      const { a, b } = await pair();
      const c = await challenge(a);
      const attested = await post(b.url, '/kbs/v0/attest', c.body, c.cookie);
      assert.equal(attested.status, 200, JSON.stringify(attested.body));
      await decrypts(await get(a.url, RESOURCE, c.cookie), c.privateKey);
      await decrypts(await get(b.url, RESOURCE, c.cookie), c.privateKey);
      for (const on of [a, b]) {
        const replay = await post(on.url, '/kbs/v0/attest', c.body, c.cookie);
        assert.deepEqual([replay.status, replay.body['code']], [401, 'KBS_NONCE_REPLAYED']);
      }
      // A session that failed on one replica is burned on the other too.
      const d = await challenge(b);
      const other = teeKey();
      const wrong = await post(a.url, '/kbs/v0/attest', attestBody(d.nonce, other.tee, platform.quote({ ...GOOD, reportData: bindingFor(d.nonce, d.tee) })), d.cookie);
      assert.deepEqual([wrong.status, wrong.body['code']], [401, 'KBS_REPORTDATA_MISMATCH']);
      const retry = await post(b.url, '/kbs/v0/attest', d.body, d.cookie);
      assert.deepEqual([retry.status, retry.body['code']], [401, 'KBS_NONCE_REPLAYED']);
      // Not yet attested: a challenged session opens no resource on any replica.
      const e = await challenge(a);
      const early = await get(b.url, RESOURCE, e.cookie);
      assert.deepEqual([early.status, early.body['code']], [401, 'KBS_SESSION_UNKNOWN']);
    });

    test('the same /attest sent to both replicas at once: exactly one succeeds', async (t) => {
      if (skip) return t.skip(skip);
      const { a, b } = await pair();
      for (let round = 0; round < 5; round++) {
        const c = await challenge(round % 2 ? a : b);
        const results = await Promise.all([a, b, a, b].map((on) => post(on.url, '/kbs/v0/attest', c.body, c.cookie)));
        assert.equal(results.filter((r) => r.status === 200).length, 1, JSON.stringify(results.map((r) => [r.status, r.body['code']])));
        for (const r of results) if (r.status !== 200) assert.equal(r.body['code'], 'KBS_NONCE_REPLAYED');
      }
    });

    test('a token issued by A is accepted by B, and by a restarted broker; so is an attested session', async (t) => {
      if (skip) return t.skip(skip);
      const { a, b, db, masterKey } = await pair();
      const c = await challenge(a);
      const attested = await post(a.url, '/kbs/v0/attest', c.body, c.cookie);
      const token = attested.body['token'] as string;
      const header = decodeProtectedHeader(token);
      assert.equal(typeof header.kid, 'string');
      await decrypts(await get(b.url, RESOURCE, undefined, { authorization: `Bearer ${token}` }), c.privateKey);
      // Restart both (a rolling update): the token and the cookie session still work.
      await stop(a);
      await stop(b);
      const a2 = await replica(db, masterKey);
      await decrypts(await get(a2.url, RESOURCE, undefined, { authorization: `Bearer ${token}` }), c.privateKey);
      await decrypts(await get(a2.url, RESOURCE, c.cookie), c.privateKey);
      assert.equal((a2.server.tokens.keys as StoredTokenKeys).signingKey().kid, header.kid);
      // A foreign broker (another database, another key) refuses it.
      const foreign = await replica(await newDb(), masterKey);
      const refused = await get(foreign.url, RESOURCE, undefined, { authorization: `Bearer ${token}` });
      assert.deepEqual([refused.status, refused.body['code']], [401, 'KBS_TOKEN_INVALID']);
    });

    test('brokers starting together on an empty database end up with one signing key', async (t) => {
      if (skip) return t.skip(skip);
      const db = await newDb();
      const masterKey = randomBytes(32).toString('base64');
      const started = await Promise.all([0, 1, 2, 3].map(() => replica(db, masterKey)));
      const kids = started.map((b) => (b.server.tokens.keys as StoredTokenKeys).signingKey().kid);
      assert.equal(new Set(kids).size, 1, kids.join(' '));
      const stored = await started[0]!.data.service.listTokenSigningKeys();
      assert.deepEqual(stored.map((k) => k.kid), [kids[0]]);
      const creations = (await started[0]!.data.service.listAudit({ limit: 1000 })).filter((r) => r.action === 'token-signing-key.create');
      assert.equal(creations.length, 1);
    });

    test('signing key rotation on A: older tokens stay valid everywhere, new ones verify on B at once', async (t) => {
      if (skip) return t.skip(skip);
      const { a, b } = await pair();
      const c1 = await challenge(a);
      const old = (await post(a.url, '/kbs/v0/attest', c1.body, c1.cookie)).body['token'] as string;
      const rotated = await a.data.service.rotateTokenSigningKey('token:test');
      await (a.server.tokens.keys as StoredTokenKeys).refresh();
      const c2 = await challenge(a);
      const fresh = (await post(a.url, '/kbs/v0/attest', c2.body, c2.cookie)).body['token'] as string;
      assert.equal(decodeProtectedHeader(fresh).kid, rotated.kid);
      // Until B refreshes it still signs with the retired key; those tokens verify on A.
      const c3 = await challenge(b);
      const late = (await post(b.url, '/kbs/v0/attest', c3.body, c3.cookie)).body['token'] as string;
      assert.equal(decodeProtectedHeader(late).kid, decodeProtectedHeader(old).kid);
      await decrypts(await get(a.url, RESOURCE, undefined, { authorization: `Bearer ${late}` }), c3.privateKey);
      // The new key's unknown kid makes B read the store at once (and sign with the new key from then on).
      await decrypts(await get(b.url, RESOURCE, undefined, { authorization: `Bearer ${fresh}` }), c2.privateKey);
      await decrypts(await get(b.url, RESOURCE, undefined, { authorization: `Bearer ${old}` }), c1.privateKey);
      const c4 = await challenge(b);
      assert.equal(decodeProtectedHeader((await post(b.url, '/kbs/v0/attest', c4.body, c4.cookie)).body['token'] as string).kid, rotated.kid);
      // Once the retired key's window (token lifetime + 2 refresh intervals) has passed, its tokens are refused.
      a.advance(300_000 + 60_000 + 1000);
      const expired = await get(a.url, RESOURCE, undefined, { authorization: `Bearer ${old}` });
      assert.deepEqual([expired.status, expired.body['code']], [401, 'KBS_TOKEN_INVALID']);
    });

    test('the live-session bound is per replica: a full replica answers 503 KBS_BUSY, another still serves', async (t) => {
      if (skip) return t.skip(skip);
      const db = await newDb();
      const masterKey = randomBytes(32).toString('base64');
      const a = await replica(db, masterKey, { maxSessions: 2 });
      const b = await replica(db, masterKey, { maxSessions: 2 });
      await challenge(a);
      await challenge(a);
      const busy = await post(a.url, '/kbs/v0/auth', AUTH_BODY);
      assert.deepEqual([busy.status, busy.body['code']], [503, 'KBS_BUSY']);
      await challenge(b);
      a.advance(5 * 60_000);
      await challenge(a);
    });

    test('expired sessions are swept from the shared table by either replica', async (t) => {
      if (skip) return t.skip(skip);
      const { a, b } = await pair();
      for (let i = 0; i < 5; i++) await challenge(i % 2 ? a : b);
      const store = a.data.store.sessions;
      const now = Date.now();
      assert.ok((await store.countLive(now)) >= 5);
      b.advance(5 * 60_000 + 1);
      assert.equal(await b.server.sessions.sweep(), 5);
      assert.equal(await store.countLive(0), 0);
    });
  });
}

replicaSuite('sqlite');
replicaSuite('postgres');
