import { createPublicKey, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import { AttestationError } from './errors.js';
import { DerReader, TAG, type DerNode } from './der.js';

/**
 * The few X.509 fields DCAP verification needs, read with our own DER reader
 * (a general X.509 library is ~100x slower and we only need these).
 */
export interface Certificate {
  der: Uint8Array;
  tbs: Uint8Array;
  hash: 'sha256' | 'sha384' | 'sha512';
  /** DER-encoded ECDSA signature. */
  signature: Uint8Array;
  /** Serial number, lower-case hex without leading zero bytes. */
  serial: string;
  /** Raw DER of the issuer and subject Names (compared byte for byte, as Intel QVL does). */
  issuer: Uint8Array;
  subject: Uint8Array;
  issuerCn: string;
  subjectCn: string;
  notBefore: Date;
  notAfter: Date;
  /** SubjectPublicKeyInfo DER. */
  spki: Uint8Array;
  /**
   * The subject's key, imported on first use: importing costs more than an
   * ECDSA verification, and many certificates (roots seen again, leaves of
   * chains already cached) never need it.
   */
  readonly publicKey: KeyObject;
  /** basicConstraints cA (undefined when the extension is absent). */
  isCa: boolean | undefined;
  /** basicConstraints pathLenConstraint (undefined when absent). */
  pathLen: number | undefined;
  /** keyUsage bits (KEY_USAGE flags; undefined when the extension is absent). */
  keyUsage: number | undefined;
  /** DER of the Intel SGX extension value (OID 1.2.840.113741.1.13.1), if present. */
  sgxExtension: Uint8Array | undefined;
  /** First URI of the CRL distribution points extension, if present. */
  crlDistributionPoint: string | undefined;
}

export interface Crl {
  der: Uint8Array;
  tbs: Uint8Array;
  hash: 'sha256' | 'sha384' | 'sha512';
  signature: Uint8Array;
  issuer: Uint8Array;
  issuerCn: string;
  thisUpdate: Date;
  nextUpdate: Date | undefined;
  /** Revoked serial numbers, lower-case hex without leading zero bytes. */
  revoked: Set<string>;
}

const SIG_ALGS: Record<string, 'sha256' | 'sha384' | 'sha512'> = {
  '1.2.840.10045.4.3.2': 'sha256',
  '1.2.840.10045.4.3.3': 'sha384',
  '1.2.840.10045.4.3.4': 'sha512',
};
const OID_CN = '2.5.4.3';
const OID_BASIC_CONSTRAINTS = '2.5.29.19';
const OID_KEY_USAGE = '2.5.29.15';
const OID_CRL_DISTRIBUTION_POINTS = '2.5.29.31';
export const OID_SGX_EXTENSION = '1.2.840.113741.1.13.1';

/** keyUsage bits (RFC 5280 §4.2.1.3: bit n of the BIT STRING is flag 1 << n here). */
export const KEY_USAGE = {
  digitalSignature: 1 << 0,
  nonRepudiation: 1 << 1,
  keyCertSign: 1 << 5,
  cRLSign: 1 << 6,
} as const;

/** Parses a DER certificate; malformed input raises BAD_CERTIFICATE naming `where`. */
export function parseCertificate(der: Uint8Array, where: string): Certificate {
  const d: DerReader = new DerReader(der, 'BAD_CERTIFICATE', where);
  const root = d.expect(0, der.length, TAG.SEQUENCE, 'Certificate');
  if (root.end !== der.length) d.fail(`${der.length - root.end} bytes after the certificate`);
  const [tbsNode, algNode, sigNode, ...extra] = d.children(root);
  if (!tbsNode || !algNode || !sigNode || extra.length) d.fail('Certificate must have 3 elements');
  const hash = signatureHash(d, algNode);
  const signature = bitString(d, sigNode);

  if (tbsNode.tag !== TAG.SEQUENCE) d.fail('tbsCertificate is not a SEQUENCE');
  const f = d.children(tbsNode);
  let i = 0;
  if (f[i]?.tag === 0xa0) i++; // [0] version
  const serialNode = f[i++];
  const innerAlg = f[i++];
  const issuerNode = f[i++];
  const validityNode = f[i++];
  const subjectNode = f[i++];
  const spkiNode = f[i++];
  if (!serialNode || !innerAlg || !issuerNode || !validityNode || !subjectNode || !spkiNode) d.fail('tbsCertificate is missing fields');
  if (serialNode.tag !== TAG.INTEGER) d.fail('serialNumber is not an INTEGER');
  if (signatureHash(d, innerAlg) !== hash) d.fail('inner and outer signature algorithms differ');
  if (validityNode.tag !== TAG.SEQUENCE) d.fail('validity is not a SEQUENCE');
  const [nb, na] = d.children(validityNode);
  if (!nb || !na) d.fail('validity needs notBefore and notAfter');

  let isCa: boolean | undefined;
  let pathLen: number | undefined;
  let keyUsage: number | undefined;
  let sgxExtension: Uint8Array | undefined;
  let crlDistributionPoint: string | undefined;
  for (; i < f.length; i++) {
    const n = f[i]!;
    if (n.tag !== 0xa3) continue; // issuerUniqueID / subjectUniqueID are skipped
    const exts = d.expect(n.valueStart, n.end, TAG.SEQUENCE, 'Extensions');
    for (const ext of d.children(exts)) {
      const parts = d.children(ext);
      const oid = d.oid(parts[0] ?? d.fail('empty extension'));
      const valueNode = parts[parts.length - 1]!;
      if (valueNode.tag !== TAG.OCTET_STRING) d.fail(`extension ${oid} value is not an OCTET STRING`);
      if (oid === OID_BASIC_CONSTRAINTS) {
        const bc = d.expect(valueNode.valueStart, valueNode.end, TAG.SEQUENCE, 'BasicConstraints');
        const [first, second] = d.children(bc);
        isCa = first?.tag === TAG.BOOLEAN && d.value(first)[0] !== 0;
        const lenNode = first?.tag === TAG.INTEGER ? first : second;
        if (lenNode?.tag === TAG.INTEGER) pathLen = d.smallInt(lenNode);
      } else if (oid === OID_KEY_USAGE) {
        const bits = d.expect(valueNode.valueStart, valueNode.end, TAG.BIT_STRING, 'KeyUsage');
        const v = d.value(bits);
        if (v.length < 1) d.fail('KeyUsage BIT STRING is empty');
        keyUsage = 0;
        // Bit n counts from the most significant bit of the first content byte.
        for (let bit = 0; bit < (v.length - 1) * 8; bit++) {
          if (v[1 + (bit >> 3)]! & (0x80 >> (bit & 7))) keyUsage |= 1 << bit;
        }
      } else if (oid === OID_SGX_EXTENSION) {
        sgxExtension = d.value(valueNode);
      } else if (oid === OID_CRL_DISTRIBUTION_POINTS) {
        crlDistributionPoint = firstUri(d, d.node(valueNode.valueStart, valueNode.end), 0);
      }
    }
  }

  let key: KeyObject | undefined;
  return {
    der,
    tbs: d.raw(tbsNode),
    hash,
    signature,
    serial: serialHex(d.value(serialNode)),
    issuer: d.raw(issuerNode),
    subject: d.raw(subjectNode),
    issuerCn: commonName(d, issuerNode),
    subjectCn: commonName(d, subjectNode),
    notBefore: d.time(nb),
    notAfter: d.time(na),
    spki: d.raw(spkiNode),
    get publicKey(): KeyObject {
      return (key ??= importSpki(d.raw(spkiNode), where));
    },
    isCa,
    pathLen,
    keyUsage,
    sgxExtension,
    crlDistributionPoint,
  };
}

/** Depth-first search for the first GeneralName URI ([6] IA5String) in a constructed element. */
function firstUri(d: DerReader, n: DerNode, depth: number): string | undefined {
  if (n.tag === 0x86) return Buffer.from(d.value(n)).toString('latin1');
  if (!(n.tag & 0x20) || depth > 8) return undefined;
  for (const c of d.children(n)) {
    const uri = firstUri(d, c, depth + 1);
    if (uri !== undefined) return uri;
  }
  return undefined;
}

/** SPKI DER prefix of an uncompressed P-256 public key (RFC 5480). */
const P256_SPKI_PREFIX = Buffer.from('3059301306072a8648ce3d020106082a8648ce3d03010703420004', 'hex');

/**
 * Imports a raw 64-byte (x ‖ y) P-256 key; undefined when it is not a valid
 * point. Through JWK: OpenSSL still checks the point is on the curve, at half
 * the CPU of decoding the same key from SPKI DER.
 */
export function importRawP256Key(xy: Uint8Array): KeyObject | undefined {
  if (xy.length !== 64) return undefined;
  const b = Buffer.from(xy.buffer, xy.byteOffset, xy.byteLength);
  try {
    return createPublicKey({ key: { kty: 'EC', crv: 'P-256', x: b.subarray(0, 32).toString('base64url'), y: b.subarray(32).toString('base64url') }, format: 'jwk' });
  } catch {
    return undefined;
  }
}

function importSpki(spki: Uint8Array, where: string): KeyObject {
  if (spki.length === P256_SPKI_PREFIX.length + 64 && Buffer.compare(spki.subarray(0, P256_SPKI_PREFIX.length), P256_SPKI_PREFIX) === 0) {
    const key = importRawP256Key(spki.subarray(P256_SPKI_PREFIX.length));
    if (key) return key;
    // Not a point on the curve: let the DER import below report why.
  }
  let publicKey: KeyObject;
  try {
    publicKey = createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' });
  } catch (err) {
    throw new AttestationError('BAD_CERTIFICATE', `${where}: unreadable public key (${(err as Error).message})`, { cause: err });
  }
  if (publicKey.asymmetricKeyType !== 'ec') {
    throw new AttestationError('UNSUPPORTED_ALGORITHM', `${where}: public key type ${publicKey.asymmetricKeyType} is not supported (ECDSA only)`);
  }
  return publicKey;
}

/** Parses a DER X.509 CRL; malformed input raises BAD_CRL naming `where`. */
export function parseCrl(der: Uint8Array, where: string): Crl {
  const d: DerReader = new DerReader(der, 'BAD_CRL', where);
  const root = d.expect(0, der.length, TAG.SEQUENCE, 'CertificateList');
  if (root.end !== der.length) d.fail(`${der.length - root.end} bytes after the CRL`);
  const [tbsNode, algNode, sigNode, ...extra] = d.children(root);
  if (!tbsNode || !algNode || !sigNode || extra.length) d.fail('CertificateList must have 3 elements');
  const hash = signatureHash(d, algNode);
  const signature = bitString(d, sigNode);
  if (tbsNode.tag !== TAG.SEQUENCE) d.fail('tbsCertList is not a SEQUENCE');
  const f = d.children(tbsNode);
  let i = 0;
  if (f[i]?.tag === TAG.INTEGER) i++; // version
  const innerAlg = f[i++];
  const issuerNode = f[i++];
  const thisUpdateNode = f[i++];
  if (!innerAlg || !issuerNode || !thisUpdateNode) d.fail('tbsCertList is missing fields');
  if (signatureHash(d, innerAlg) !== hash) d.fail('inner and outer signature algorithms differ');
  if (issuerNode.tag !== TAG.SEQUENCE) d.fail('issuer is not a Name');
  let nextUpdate: Date | undefined;
  const next = f[i];
  if (next && (next.tag === TAG.UTC_TIME || next.tag === TAG.GENERALIZED_TIME)) {
    nextUpdate = d.time(next);
    i++;
  }
  const revoked = new Set<string>();
  const list = f[i];
  if (list && list.tag === TAG.SEQUENCE) {
    for (const entry of d.children(list)) {
      if (entry.tag !== TAG.SEQUENCE) d.fail(`revoked entry at byte ${entry.start} is not a SEQUENCE`);
      const serial = d.children(entry)[0];
      if (!serial || serial.tag !== TAG.INTEGER) d.fail(`revoked entry at byte ${entry.start} has no serial number`);
      revoked.add(serialHex(d.value(serial)));
    }
  }
  return {
    der,
    tbs: d.raw(tbsNode),
    hash,
    signature,
    issuer: d.raw(issuerNode),
    issuerCn: commonName(d, issuerNode),
    thisUpdate: d.time(thisUpdateNode),
    nextUpdate,
    revoked,
  };
}

/** True when `signature` (DER ECDSA) over `data` verifies with `key`. Never throws. */
export function verifyDerSignature(hash: string, data: Uint8Array, key: KeyObject, signature: Uint8Array): boolean {
  try {
    return cryptoVerify(hash, data, { key, dsaEncoding: 'der' }, signature);
  } catch {
    return false;
  }
}

/** True when a raw r ‖ s (IEEE P1363) ECDSA-SHA256 signature verifies. Never throws. */
export function verifyRawSignature(data: Uint8Array, key: KeyObject, signature: Uint8Array): boolean {
  try {
    return cryptoVerify('sha256', data, { key, dsaEncoding: 'ieee-p1363' }, signature);
  } catch {
    return false;
  }
}

function signatureHash(d: DerReader, alg: DerNode): 'sha256' | 'sha384' | 'sha512' {
  if (alg.tag !== TAG.SEQUENCE) d.fail('AlgorithmIdentifier is not a SEQUENCE');
  const oidNode = d.children(alg)[0] ?? d.fail('empty AlgorithmIdentifier');
  const oid = d.oid(oidNode);
  const hash = SIG_ALGS[oid];
  if (!hash) throw new AttestationError('UNSUPPORTED_ALGORITHM', `${d.where}: signature algorithm ${oid} is not supported (ECDSA with SHA-2 only)`);
  return hash;
}

function bitString(d: DerReader, n: DerNode): Uint8Array {
  if (n.tag !== TAG.BIT_STRING) d.fail('signatureValue is not a BIT STRING');
  const v = d.value(n);
  if (v.length < 1 || v[0] !== 0) d.fail('signatureValue has unused bits');
  return v.subarray(1);
}

function serialHex(v: Uint8Array): string {
  let i = 0;
  while (i < v.length - 1 && v[i] === 0) i++;
  return Buffer.from(v.subarray(i)).toString('hex');
}

function commonName(d: DerReader, name: DerNode): string {
  for (const rdn of d.children(name)) {
    if (rdn.tag !== TAG.SET) d.fail('Name contains a non-SET element');
    for (const atv of d.children(rdn)) {
      const [oidNode, valueNode] = d.children(atv);
      if (oidNode && valueNode && d.oid(oidNode) === OID_CN) return Buffer.from(d.value(valueNode)).toString('utf8');
    }
  }
  return '';
}
