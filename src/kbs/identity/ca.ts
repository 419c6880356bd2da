import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as x509 from '@peculiar/x509';
import { IdentityError } from './errors.js';
import { checkTrustDomain } from './spiffe-id.js';

const crypto = webcrypto;
export const SIGNING_ALG: webcrypto.EcKeyImportParams & webcrypto.EcdsaParams = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
const CA_VALIDITY_DAYS = 365;

/** The broker's workload CA: signs X.509-SVIDs for attested enclaves. */
export interface WorkloadCa {
  trustDomain: string;
  cert: x509.X509Certificate;
  certPem: string;
  key: webcrypto.CryptoKey;
}

/**
 * Loads the CA from `dir` (ca.crt, ca.key), or creates it there on first use
 * (P-256, one year, `spiffe://<td>` as its only URI SAN: a CA's SPIFFE ID has
 * no path). The key file is written 0600. With several broker replicas, give
 * them the same directory contents (a mounted Secret); docs/key-broker.md.
 */
export async function loadOrCreateWorkloadCa(dir: string, trustDomain: string, now: Date = new Date()): Promise<WorkloadCa> {
  checkTrustDomain(trustDomain);
  const certFile = join(dir, 'ca.crt');
  const keyFile = join(dir, 'ca.key');
  if (existsSync(certFile) || existsSync(keyFile)) return loadCa(certFile, keyFile, trustDomain);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const keys = (await crypto.subtle.generateKey(SIGNING_ALG, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.createSelfSigned(
    {
      serialNumber: randomSerial(),
      name: `CN=kubetee workload CA, O=${trustDomain}`,
      notBefore: new Date(now.getTime() - 60_000),
      notAfter: new Date(now.getTime() + CA_VALIDITY_DAYS * 86_400_000),
      keys,
      signingAlgorithm: SIGNING_ALG,
      extensions: [
        new x509.BasicConstraintsExtension(true, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
        new x509.SubjectAlternativeNameExtension([{ type: 'url', value: `spiffe://${trustDomain}` }], false),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, crypto),
      ],
    },
    crypto,
  );
  const pkcs8 = Buffer.from(await crypto.subtle.exportKey('pkcs8', keys.privateKey));
  await writeFile(keyFile, `-----BEGIN PRIVATE KEY-----\n${pkcs8.toString('base64').replace(/.{64}/g, '$&\n').replace(/\n?$/, '\n')}-----END PRIVATE KEY-----\n`, { mode: 0o600, flag: 'wx' });
  pkcs8.fill(0);
  const certPem = `${cert.toString('pem')}\n`;
  await writeFile(certFile, certPem, { flag: 'wx' });
  return { trustDomain, cert, certPem, key: keys.privateKey };
}

async function loadCa(certFile: string, keyFile: string, trustDomain: string): Promise<WorkloadCa> {
  try {
    const certPem = await readFile(certFile, 'utf8');
    const cert = new x509.X509Certificate(certPem);
    const keyPem = await readFile(keyFile, 'utf8');
    const der = Buffer.from(keyPem.replace(/-----[^-]+-----|\s/g, ''), 'base64');
    const key = await crypto.subtle.importKey('pkcs8', der, SIGNING_ALG, false, ['sign']);
    der.fill(0);
    const san = cert.getExtension(x509.SubjectAlternativeNameExtension);
    const uri = san?.names.items.find((n) => n.type === 'url')?.value;
    if (uri !== `spiffe://${trustDomain}`) {
      throw new Error(`the CA certificate is for ${uri ?? 'no SPIFFE trust domain'}, not spiffe://${trustDomain}`);
    }
    return { trustDomain, cert, certPem: certPem.endsWith('\n') ? certPem : `${certPem}\n`, key };
  } catch (err) {
    throw new IdentityError('IDENTITY_CA_INVALID', `cannot load the workload CA from ${certFile} and ${keyFile}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, {
      cause: err,
      hint: 'both files must exist (PEM certificate, PKCS#8 P-256 key) and match the trust domain; remove both to create a new CA',
    });
  }
}

export function randomSerial(): string {
  // 16 random bytes with the top bit clear: a positive INTEGER of full length.
  return Buffer.from(crypto.getRandomValues(new Uint8Array(16))).toString('hex').replace(/^[89a-f]/, '1');
}
