import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { X509Certificate, randomBytes, webcrypto } from 'node:crypto';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

/**
 * TLS material for the admission webhook: a private CA whose certificate goes
 * into the webhook configurations' caBundle, and a serving certificate for the
 * webhook's Service DNS names (or loopback IPs for a host-run webhook).
 */
export interface WebhookTls {
  caPem: string;
  certPem: string;
  keyPem: string;
}

const DAY_MS = 86_400_000;
const ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

/** DNS names the in-cluster Service answers to. */
export function serviceDnsNames(service: string, namespace: string): string[] {
  return [service, `${service}.${namespace}`, `${service}.${namespace}.svc`, `${service}.${namespace}.svc.cluster.local`];
}

function serial(): string {
  const b = randomBytes(16);
  b[0] = (b[0]! & 0x7f) | 0x01;
  return b.toString('hex');
}

function pem(label: string, der: ArrayBuffer): string {
  const b64 = Buffer.from(der).toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '');
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`;
}

/** Issues a fresh CA and serving certificate. `now` is passed in so tests can pin time. */
export async function generateWebhookTls(options: { dnsNames: string[]; ipAddresses?: string[]; now: Date; validityDays?: number }): Promise<WebhookTls> {
  const days = options.validityDays ?? 365;
  const notBefore = new Date(options.now.getTime() - 5 * 60_000);
  const caKeys = (await webcrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const leafKeys = (await webcrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: 'CN=kubetee-webhook-ca',
    notBefore,
    notAfter: new Date(options.now.getTime() + 10 * days * DAY_MS),
    signingAlgorithm: ALGORITHM,
    keys: caKeys,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(caKeys.publicKey),
    ],
  });
  const san = [...options.dnsNames.map((value) => ({ type: 'dns' as const, value })), ...(options.ipAddresses ?? []).map((value) => ({ type: 'ip' as const, value }))];
  const leaf = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: `CN=${options.dnsNames[0] ?? options.ipAddresses?.[0] ?? 'kubetee-webhook'}`,
    issuer: ca.subject,
    notBefore,
    notAfter: new Date(options.now.getTime() + days * DAY_MS),
    signingAlgorithm: ALGORITHM,
    publicKey: leafKeys.publicKey,
    signingKey: caKeys.privateKey,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension(san),
      await x509.AuthorityKeyIdentifierExtension.create(caKeys.publicKey),
    ],
  });
  return {
    caPem: ca.toString('pem') + '\n',
    certPem: leaf.toString('pem') + '\n',
    keyPem: pem('PRIVATE KEY', await webcrypto.subtle.exportKey('pkcs8', leafKeys.privateKey)),
  };
}

/** Why a CA / serving-certificate pair cannot be used (empty when it can). */
export function tlsProblems(caPem: string, certPem: string, expect: { dnsNames?: string[]; ipAddresses?: string[]; now: Date; minRemainingDays?: number }): string[] {
  let ca: X509Certificate;
  let cert: X509Certificate;
  try {
    ca = new X509Certificate(caPem);
  } catch {
    return ['the CA bundle is not a PEM certificate'];
  }
  try {
    cert = new X509Certificate(certPem);
  } catch {
    return ['the serving certificate is not a PEM certificate'];
  }
  const problems: string[] = [];
  if (!cert.checkIssued(ca) || !cert.verify(ca.publicKey)) problems.push(`the serving certificate (issuer "${cert.issuer}") was not signed by the CA bundle ("${ca.subject}")`);
  const minMs = (expect.minRemainingDays ?? 0) * DAY_MS;
  for (const [what, c] of [['serving certificate', cert], ['CA certificate', ca]] as const) {
    const notAfter = new Date(c.validTo);
    if (notAfter.getTime() <= expect.now.getTime()) problems.push(`the ${what} expired on ${notAfter.toISOString()}`);
    else if (notAfter.getTime() - expect.now.getTime() < minMs) problems.push(`the ${what} expires on ${notAfter.toISOString()}, in less than ${expect.minRemainingDays} days`);
  }
  for (const name of expect.dnsNames ?? []) if (!cert.checkHost(name, { wildcards: false })) problems.push(`the serving certificate does not cover the DNS name ${name}`);
  for (const ip of expect.ipAddresses ?? []) if (!cert.checkIP(ip)) problems.push(`the serving certificate does not cover the IP address ${ip}`);
  return problems;
}
