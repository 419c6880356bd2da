import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import type { AttestationClaims } from '../policy/claims.js';
import { randomSerial, SIGNING_ALG, type WorkloadCa } from './ca.js';

const crypto = webcrypto;

/**
 * kubetee's extension carrying the verified TEE claims in a workload
 * certificate: non-critical, value a DER UTF8String of JSON. Peers that know
 * it can check the other side's measurement, SVN and TCB status; others
 * ignore it.
 *
 * PROVISIONAL OID: 1.3.6.1.4.1.32473 is IANA's enterprise number for
 * documentation (RFC 5612). kubetee has no enterprise number of its own yet,
 * and the self-assignable UUID arc (2.25.<128-bit UUID>) does not work: Go's
 * encoding/asn1 rejects OID arcs above 63 bits, so Go TLS stacks (and
 * go-spiffe) refuse the whole certificate. Replace this constant once kubetee
 * registers an enterprise number.
 */
export const TEE_CLAIMS_OID = '1.3.6.1.4.1.32473.8711.1';

export interface SvidRequest {
  ca: WorkloadCa;
  spiffeId: string;
  /** The enclave's certificate key (P-256 JWK), bound through REPORTDATA. */
  publicKeyJwk: { kty: 'EC'; crv: 'P-256'; x: string; y: string };
  claims: AttestationClaims;
  now: Date;
  ttlSeconds: number;
}

/**
 * An X.509-SVID (X509-SVID.md): exactly one URI SAN (the SPIFFE ID), cA false,
 * keyUsage digitalSignature (critical), EKU serverAuth + clientAuth, plus the
 * TEE claims. Never valid past the CA.
 */
export async function issueSvid(r: SvidRequest): Promise<{ pem: string; notAfter: Date }> {
  const publicKey = await crypto.subtle.importKey('jwk', { kty: 'EC', crv: 'P-256', x: r.publicKeyJwk.x, y: r.publicKeyJwk.y }, SIGNING_ALG, true, ['verify']);
  const notAfter = new Date(Math.min(r.now.getTime() + r.ttlSeconds * 1000, r.ca.cert.notAfter.getTime()));
  const claims = {
    tee: r.claims.tee,
    mrenclave: r.claims.mrenclave,
    mrsigner: r.claims.mrsigner,
    isvProdId: r.claims.isvProdId,
    isvSvn: r.claims.isvSvn,
    debug: r.claims.debug,
    status: r.claims.status,
    advisoryIds: r.claims.advisoryIds,
    fmspc: r.claims.fmspc,
    verifiedAt: r.now.toISOString(),
  };
  const cert = await x509.X509CertificateGenerator.create(
    {
      serialNumber: randomSerial(),
      subject: 'O=kubetee workload',
      issuer: r.ca.cert.subject,
      notBefore: new Date(r.now.getTime() - 60_000),
      notAfter,
      publicKey,
      signingKey: r.ca.key,
      signingAlgorithm: SIGNING_ALG,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth], false),
        new x509.SubjectAlternativeNameExtension([{ type: 'url', value: r.spiffeId }], false),
        await x509.AuthorityKeyIdentifierExtension.create(r.ca.cert, false, crypto),
        new x509.Extension(TEE_CLAIMS_OID, false, utf8String(JSON.stringify(claims))),
      ],
    },
    crypto,
  );
  return { pem: `${cert.toString('pem')}\n`, notAfter };
}

/** DER UTF8String (tag 12) with a definite length. */
function utf8String(text: string): ArrayBuffer {
  const body = Buffer.from(text, 'utf8');
  const len = body.length < 0x80 ? Buffer.from([body.length]) : body.length < 0x100 ? Buffer.from([0x81, body.length]) : Buffer.from([0x82, body.length >> 8, body.length & 0xff]);
  const der = Buffer.concat([Buffer.from([0x0c]), len, body]);
  return der.buffer.slice(der.byteOffset, der.byteOffset + der.length) as ArrayBuffer;
}

/** The trust bundle as a SPIFFE bundle (RFC 7517 JWK Set, one `x509-svid` key per CA, no `kid`). */
export async function spiffeBundle(ca: WorkloadCa, sequence: number, refreshHintSeconds: number): Promise<Record<string, unknown>> {
  const jwk = (await crypto.subtle.exportKey('jwk', await ca.cert.publicKey.export(SIGNING_ALG, ['verify'], crypto))) as Record<string, unknown>;
  return {
    keys: [{ kty: jwk['kty'], crv: jwk['crv'], x: jwk['x'], y: jwk['y'], use: 'x509-svid', x5c: [Buffer.from(ca.cert.rawData).toString('base64')] }],
    spiffe_sequence: sequence,
    spiffe_refresh_hint: refreshHintSeconds,
  };
}
