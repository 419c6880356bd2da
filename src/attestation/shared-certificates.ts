import { Lru } from './lru.js';
import { parseCertificate, verifyDerSignature, type Certificate } from './x509.js';

/**
 * Process-wide cache of the certificates every platform shares: roots, PCK
 * Platform/Processor CAs and TCB Signing certificates. A handful of them sign
 * everything Intel issues, so parsing them and importing their keys once per
 * process (instead of once per verification) is most of what a cold
 * verification used to spend. PCK leaves are never put here: each platform has
 * its own.
 *
 * Keyed by the exact DER bytes (the whole certificate as a latin1 string, not
 * a digest, not a name or key id), so a certificate that differs in any byte
 * — a forged one with a genuine subject, key id or key, or a genuine one with
 * a damaged signature — is a different entry and never receives a genuine
 * certificate's parse, key or verdict. Entries are frozen copies: mutating the
 * caller's buffer afterwards cannot change them.
 *
 * Only time-independent facts live here (parsed fields, the imported key, and
 * "this certificate's signature verifies with that cached certificate's
 * key"); validity windows, revocation, roles and trust in a root are decided
 * on every verification, per verifier.
 */
const MAX_ENTRIES = 64;
const certificates = new Lru<Certificate>(MAX_ENTRIES);
/** child -> issuers whose key verified the child's signature (both cached, so identity = exact bytes). */
const verifiedLinks = new WeakMap<Certificate, WeakSet<Certificate>>();
const cached = new WeakSet<Certificate>();

/** The parsed certificate for `der`, from the cache when these exact bytes were seen before. */
export function sharedCertificate(der: Uint8Array, where: string): Certificate {
  const key = Buffer.from(der.buffer, der.byteOffset, der.byteLength).toString('latin1');
  const hit = certificates.get(key);
  if (hit) return hit;
  const cert = parseCertificate(Uint8Array.from(der), where);
  try {
    void cert.publicKey; // imported now so the cached entry never carries a bad key or a stale error location
  } catch {
    return cert; // uncached: the caller meets the key error where it uses the key, with its own label
  }
  Object.freeze(cert);
  cached.add(cert);
  certificates.set(key, cert);
  return cert;
}

/**
 * True when `cert`'s signature verifies with `issuer`'s key. The verdict is
 * remembered only when both are cached certificates (so the pair of exact DER
 * encodings decides it); any other pair is verified every time.
 */
export function verifyCertificateSignature(cert: Certificate, issuer: Certificate): boolean {
  const known = verifiedLinks.get(cert);
  if (known?.has(issuer)) return true;
  if (!verifyDerSignature(cert.hash, cert.tbs, issuer.publicKey, cert.signature)) return false;
  if (cached.has(cert) && cached.has(issuer)) {
    if (known) known.add(issuer);
    else verifiedLinks.set(cert, new WeakSet([issuer]));
  }
  return true;
}

/** For tests: how many certificates the process-wide cache holds. */
export function sharedCertificateCount(): number {
  return certificates.size;
}
