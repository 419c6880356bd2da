import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KbsClient, KbsClientError, simEvidence } from '../../../src/kbs/client/index.js';
import { startBroker } from './harness.js';

function selfSigned(dir: string): { cert: string; key: string } {
  const r = spawnSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
    '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1',
    '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
  ], { encoding: 'utf8' });
  assert.equal(r.status, 0, `openssl is needed for this test: ${r.stderr}`);
  return { cert: readFileSync(join(dir, 'cert.pem'), 'utf8'), key: readFileSync(join(dir, 'key.pem'), 'utf8') };
}

test('HTTPS: the client releases over TLS with the broker\'s CA; the session cookie is Secure; an untrusted CA is refused', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kubetee-kbs-tls-'));
  const tls = selfSigned(dir);
  const broker = await startBroker({ server: { tls } });
  try {
    assert.match(broker.url, /^https:\/\//);
    await broker.data.service.create('token:test', { path: 'default/key/tls', value: Buffer.from('over tls') });
    const c = new KbsClient({ url: broker.url, ca: tls.cert, evidence: simEvidence(broker.platform) });
    assert.equal(Buffer.from(await c.getResource('default/key/tls')).toString(), 'over tls');
    const untrusted = new KbsClient({ url: broker.url, evidence: simEvidence(broker.platform) });
    await assert.rejects(untrusted.getResource('default/key/tls'), (e: unknown) => e instanceof KbsClientError && e.code === 'KBS_CLIENT_UNREACHABLE');
    const res = await broker.server.app.inject({ method: 'POST', url: '/kbs/v0/auth', payload: { version: '0.4.0', tee: 'sgx', 'extra-params': '' } });
    assert.match(String(res.headers['set-cookie']), /; Secure/);
  } finally {
    await broker.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
