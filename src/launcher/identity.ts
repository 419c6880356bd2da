import { generateKeyPairSync, X509Certificate, type KeyObject } from 'node:crypto';
import { KbsClientError } from '../kbs/client/errors.js';
import { httpCall } from '../kbs/client/http.js';

/** The member of `additional_evidence` the broker reads the certificate key from (src/kbs/identity). */
const SVID_PUBKEY_MEMBER = 'svid-pubkey';

/** A certificate key made inside the enclave, and the attestation evidence that binds it. */
export interface CertificateKey {
  privateKey: KeyObject;
  /** The `additional_evidence` string for /attest: `{"svid-pubkey": JWK}`, bound into REPORTDATA. */
  additionalEvidence: string;
}

export function newCertificateKey(): CertificateKey {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const jwk = publicKey.export({ format: 'jwk' });
  return { privateKey, additionalEvidence: JSON.stringify({ [SVID_PUBKEY_MEMBER]: { kty: 'EC', crv: 'P-256', x: jwk.x, y: jwk.y } }) };
}

export interface IssuedIdentity {
  spiffeId: string;
  certPem: string;
  bundlePem: string;
  /** PKCS#8 PEM of the private key; zero it once written. */
  keyPem: Uint8Array;
  notAfter: string;
}

/**
 * Asks the broker for the X.509-SVID of `key` with the attestation token, then
 * checks what came back instead of trusting it: the certificate is for our key,
 * issued and signed by the bundle's CA, with one spiffe:// URI SAN.
 */
export async function requestIdentity(brokerUrl: string, token: string, key: CertificateKey, http: { ca?: string | undefined; timeoutMs: number }): Promise<IssuedIdentity> {
  const base = brokerUrl.endsWith('/') ? brokerUrl : `${brokerUrl}/`;
  const res = await httpCall('POST', new URL('kbs/v0/identity/svid', base), { accept: 'application/json', authorization: `Bearer ${token}` }, '{}', { ca: http.ca, timeoutMs: http.timeoutMs, maxResponseBytes: 256 * 1024 });
  let body: { code?: string; detail?: string; hint?: string; spiffe_id?: unknown; svid?: unknown; bundle?: unknown; expires_at?: unknown } = {};
  try {
    body = JSON.parse(res.body.toString('utf8')) as typeof body;
  } catch {
    // checked below
  }
  if (res.status !== 200) {
    throw new KbsClientError('KBS_CLIENT_REFUSED', `the key broker refused the workload certificate (${res.status}${body.code ? ` ${body.code}` : ''}): ${body.detail ?? res.body.toString('utf8').slice(0, 200)}`, {
      status: res.status,
      ...(body.code ? { serverCode: body.code } : {}),
      hint: body.hint ?? (res.status === 404 ? 'the broker does not issue workload certificates (start it with an identity trust domain), or drop identity from the spec' : 'see the broker log'),
    });
  }
  const bad = (why: string): KbsClientError => new KbsClientError('KBS_CLIENT_BAD_RESPONSE', `the workload certificate reply is not usable: ${why}`);
  if (typeof body.svid !== 'string' || typeof body.bundle !== 'string' || typeof body.spiffe_id !== 'string') throw bad('svid, bundle and spiffe_id must be strings');
  let leaf: X509Certificate;
  let ca: X509Certificate;
  try {
    leaf = new X509Certificate(body.svid);
    ca = new X509Certificate(body.bundle);
  } catch (err) {
    throw bad(`not PEM certificates (${(err as Error).message})`);
  }
  const ours = key.privateKey.export({ format: 'jwk' });
  const theirs = leaf.publicKey.export({ format: 'jwk' });
  if (ours.x !== theirs.x || ours.y !== theirs.y) throw bad('it certifies another key');
  if (!leaf.checkIssued(ca) || !leaf.verify(ca.publicKey)) throw bad('it is not signed by the bundle\'s CA');
  const uris = (leaf.subjectAltName ?? '').split(', ').filter((n) => n.startsWith('URI:'));
  if (uris.length !== 1 || uris[0] !== `URI:${body.spiffe_id}` || !body.spiffe_id.startsWith('spiffe://')) throw bad('it does not carry exactly one URI SAN, the SPIFFE ID');
  const keyPem = new Uint8Array(Buffer.from(key.privateKey.export({ format: 'pem', type: 'pkcs8' }) as string, 'utf8'));
  return { spiffeId: body.spiffe_id, certPem: body.svid, bundlePem: body.bundle, keyPem, notAfter: typeof body.expires_at === 'string' ? body.expires_at : leaf.validTo };
}
