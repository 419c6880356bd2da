/**
 * Issues the simulated PKI with @peculiar/x509, mirroring Intel's: a
 * self-signed Root CA, a PCK Processor or Platform CA, the PCK leaf carrying
 * the SGX extension, and the TCB Signing certificate that signs TCB Info and
 * QE Identity. Extension sets, their order and criticality follow Intel's
 * certificates (AKI, CRL DP, SKI, Key Usage critical, Basic Constraints critical).
 */
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { randomBytes, type KeyObject } from 'node:crypto';
import { toWebCrypto, type WebCryptoPair } from './keys.js';
import { COMMON_NAMES, CRL_URLS, SGX_EXTENSION_OID, distinguishedName } from './names.js';
import type { SimPckCa } from './types.js';

const ALGORITHM = { name: 'ECDSA', hash: 'SHA-256' };
const DAY_MS = 86_400_000;
const YEAR_MS = 365 * DAY_MS;

export interface PkiKeys {
  root: KeyObject;
  pckCa: KeyObject;
  pckLeaf: KeyObject;
  tcbSigning: KeyObject;
}

export interface PkiCertificates {
  root: Uint8Array;
  pckCa: Uint8Array;
  pckLeaf: Uint8Array;
  tcbSigning: Uint8Array;
  /** The same leaf (same key, same extension) re-issued with a validity that ended before `createdAt`. */
  pckLeafExpired: Uint8Array;
}

/** 20-byte positive serial like Intel's (top bit cleared so it needs no sign byte). */
function serialNumber(): string {
  const bytes = randomBytes(20);
  bytes[0] = (bytes[0]! & 0x7f) | 0x01;
  return bytes.toString('hex');
}

async function keyId(pair: WebCryptoPair): Promise<string> {
  return (await x509.SubjectKeyIdentifierExtension.create(pair.publicKey)).keyId;
}

interface IssueParams {
  subject: string;
  issuer: string;
  subjectKey: WebCryptoPair;
  issuerKey: WebCryptoPair;
  notBefore: Date;
  notAfter: Date;
  crlUrl: string;
  ca: boolean;
  pathLength?: number;
  extra?: x509.Extension[];
}

async function issue(p: IssueParams): Promise<Uint8Array> {
  const usages = p.ca
    ? x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign
    : x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.nonRepudiation;
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serialNumber(),
    subject: new x509.Name(distinguishedName(p.subject)),
    issuer: new x509.Name(distinguishedName(p.issuer)),
    notBefore: p.notBefore,
    notAfter: p.notAfter,
    signingAlgorithm: ALGORITHM,
    publicKey: p.subjectKey.publicKey,
    signingKey: p.issuerKey.privateKey,
    extensions: [
      new x509.AuthorityKeyIdentifierExtension(await keyId(p.issuerKey)),
      new x509.CRLDistributionPointsExtension([p.crlUrl]),
      new x509.SubjectKeyIdentifierExtension(await keyId(p.subjectKey)),
      new x509.KeyUsagesExtension(usages, true),
      new x509.BasicConstraintsExtension(p.ca, p.pathLength, true),
      ...(p.extra ?? []),
    ],
  });
  return new Uint8Array(cert.rawData);
}

/** Whole seconds: X.509 times carry no fractions, and persisted state must round-trip exactly. */
function seconds(ms: number): Date {
  return new Date(Math.floor(ms / 1000) * 1000);
}

export interface LeafOptions {
  /** Start of the leaf's validity (whole seconds). */
  notBefore: Date;
  ca: SimPckCa;
  sgxExtension: Uint8Array;
}

/**
 * The PCK leaf (7 years, like Intel's) and the same leaf re-issued already
 * expired (for the expired-certificate negative test). Used at provisioning
 * and again when a TCB update gives the platform a new PCK certificate.
 */
export async function issuePckLeaves(pckCaKey: KeyObject, pckLeafKey: KeyObject, options: LeafOptions): Promise<Pick<PkiCertificates, 'pckLeaf' | 'pckLeafExpired'>> {
  const [pckCa, pckLeaf] = await Promise.all([toWebCrypto(pckCaKey), toWebCrypto(pckLeafKey)]);
  const sgxExtension = new x509.Extension(SGX_EXTENSION_OID, false, options.sgxExtension);
  const leaf = (notBefore: Date, notAfter: Date): Promise<Uint8Array> =>
    issue({
      subject: COMMON_NAMES.pckLeaf,
      issuer: COMMON_NAMES[options.ca],
      subjectKey: pckLeaf,
      issuerKey: pckCa,
      notBefore,
      notAfter,
      crlUrl: CRL_URLS[options.ca],
      ca: false,
      extra: [sgxExtension],
    });
  const start = options.notBefore.getTime();
  return {
    pckLeaf: await leaf(seconds(start), seconds(start + 7 * YEAR_MS)),
    pckLeafExpired: await leaf(seconds(start - 7 * YEAR_MS), seconds(start - 30 * DAY_MS)),
  };
}

/**
 * Issues every certificate. Validity periods copy Intel's orders of
 * magnitude (root ~30 years, CAs 15, TCB Signing and PCK leaf 7), all
 * starting a day before `createdAt` so small clock skew never matters.
 */
export async function issuePki(keys: PkiKeys, options: { createdAt: Date; ca: SimPckCa; sgxExtension: Uint8Array }): Promise<PkiCertificates> {
  const start = options.createdAt.getTime() - DAY_MS;
  const [root, pckCa, tcbSigning] = await Promise.all([toWebCrypto(keys.root), toWebCrypto(keys.pckCa), toWebCrypto(keys.tcbSigning)]);
  const caName = COMMON_NAMES[options.ca];
  return {
    root: await issue({
      subject: COMMON_NAMES.root,
      issuer: COMMON_NAMES.root,
      subjectKey: root,
      issuerKey: root,
      notBefore: seconds(start),
      notAfter: seconds(start + 30 * YEAR_MS),
      crlUrl: CRL_URLS.root,
      ca: true,
      pathLength: 1,
    }),
    pckCa: await issue({
      subject: caName,
      issuer: COMMON_NAMES.root,
      subjectKey: pckCa,
      issuerKey: root,
      notBefore: seconds(start),
      notAfter: seconds(start + 15 * YEAR_MS),
      crlUrl: CRL_URLS.root,
      ca: true,
      pathLength: 0,
    }),
    tcbSigning: await issue({
      subject: COMMON_NAMES.tcbSigning,
      issuer: COMMON_NAMES.root,
      subjectKey: tcbSigning,
      issuerKey: root,
      notBefore: seconds(start),
      notAfter: seconds(start + 7 * YEAR_MS),
      crlUrl: CRL_URLS.root,
      ca: false,
    }),
    ...(await issuePckLeaves(keys.pckCa, keys.pckLeaf, { notBefore: new Date(start), ca: options.ca, sgxExtension: options.sgxExtension })),
  };
}
