import { Lru } from './lru.js';
import { parseCertificate, verifyDerSignature, verifyRawSignature, type Certificate } from './x509.js';

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
let verifiedLinks = new WeakMap<Certificate, WeakSet<Certificate>>();
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

/** Per cached signer: exact (algorithm, signature, signed bytes) that verified with its key. */
let verifiedData = new WeakMap<Certificate, Lru<true>>();
const SIGNATURES_PER_SIGNER = 64;

/**
 * True when `signature` over `data` verifies with `signer`'s key; `encoding`
 * 'der' is an X.509/CRL signature with `hash`, 'raw' an r ‖ s ECDSA-SHA256
 * signature (TCB Info, QE Identity). Remembered only for a cached signer, keyed
 * by the exact signature and signed bytes: collateral (TCB Info, QE Identity,
 * CRLs) is shared by every platform of an FMSPC and signed by a handful of
 * certificates. Any other signer is verified every time.
 */
export function verifySignedData(signer: Certificate, data: Uint8Array, signature: Uint8Array, encoding: 'der' | 'raw', hash: string): boolean {
  const verify = (): boolean => (encoding === 'der' ? verifyDerSignature(hash, data, signer.publicKey, signature) : hash === 'sha256' && verifyRawSignature(data, signer.publicKey, signature));
  if (!cached.has(signer)) return verify();
  let seen = verifiedData.get(signer);
  const key = `${encoding}:${hash}:${Buffer.from(signature.buffer, signature.byteOffset, signature.byteLength).toString('latin1')}:${Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('latin1')}`;
  if (seen?.get(key)) return true;
  if (!verify()) return false;
  if (!seen) verifiedData.set(signer, (seen = new Lru<true>(SIGNATURES_PER_SIGNER)));
  seen.set(key, true);
  return true;
}

/** Empties the process-wide caches (benchmarks measuring a fresh process; tests). */
export function clearSharedCaches(): void {
  certificates.clear();
  verifiedLinks = new WeakMap();
  verifiedData = new WeakMap();
}

/** For tests: how many certificates the process-wide cache holds. */
export function sharedCertificateCount(): number {
  return certificates.size;
}
