import { createHash } from 'node:crypto';
import { AttestationError } from './errors.js';
import { INTEL_SGX_ROOT_CA_DER } from './intel-root.js';
import { parseCertificate, verifyDerSignature, type Certificate } from './x509.js';

/** Trusted roots, pinned by the SHA-256 of their DER. */
export interface TrustStore {
  /** Trusted roots by the SHA-256 hex of their DER. */
  byHash: Map<string, Certificate>;
  roots: Certificate[];
}

export function sha256Hex(...parts: Uint8Array[]): string {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest('hex');
}

let defaultStore: TrustStore | undefined;

/** Builds the trust store; default is the Intel SGX Root CA alone (built once: constant bytes). */
export function createTrustStore(rootsDer?: Uint8Array[]): TrustStore {
  if (rootsDer === undefined) return (defaultStore ??= buildTrustStore([INTEL_SGX_ROOT_CA_DER]));
  return buildTrustStore(rootsDer);
}

function buildTrustStore(rootsDer: Uint8Array[]): TrustStore {
  if (!Array.isArray(rootsDer) || rootsDer.length === 0) {
    throw new AttestationError('UNTRUSTED_ROOT', 'trustedRootCaDer must list at least one DER certificate');
  }
  const roots = rootsDer.map((der, i) => {
    if (!(der instanceof Uint8Array)) throw new AttestationError('BAD_CERTIFICATE', `trustedRootCaDer[${i}] must be a Uint8Array of DER`);
    const cert = parseCertificate(new Uint8Array(der), `trusted root ${i}`);
    if (!verifyDerSignature(cert.hash, cert.tbs, cert.publicKey, cert.signature)) {
      throw new AttestationError('CERT_CHAIN_INVALID', `trusted root ${i} (${cert.subjectCn}) is not correctly self-signed`);
    }
    return cert;
  });
  return { byHash: new Map(roots.map((r) => [sha256Hex(r.der), r])), roots };
}

/** Byte-for-byte equality (names are compared as raw DER, as Intel QVL does). */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(a, b) === 0;
}

/**
 * Verifies a certificate chain given leaf first: each certificate's issuer
 * name equals the next one's subject and its signature verifies with the next
 * one's key, intermediates are CAs, and the chain ends in a pinned root (a
 * chain that stops below the root is completed with the trusted root that
 * signed it). Returns the chain including the root. Time is NOT checked here
 * (this result is cacheable); callers check validity windows per call.
 */
export function verifyChainToRoot(certs: Certificate[], trust: TrustStore, label: string): Certificate[] {
  if (certs.length === 0) throw new AttestationError('CERT_CHAIN_INVALID', `${label} is empty`);
  if (certs.length > 5) throw new AttestationError('CERT_CHAIN_INVALID', `${label} has ${certs.length} certificates (at most 5 expected)`);
  const chain = [...certs];
  const last = chain[chain.length - 1]!;
  const pinned = trust.byHash.get(sha256Hex(last.der));
  if (pinned) {
    // Same bytes as a pinned root: use the trust store's parsed copy (its key is already imported).
    chain[chain.length - 1] = pinned;
  } else {
    const root = trust.roots.find((r) => sameBytes(r.subject, last.issuer) && verifyDerSignature(last.hash, last.tbs, r.publicKey, last.signature));
    if (!root) {
      throw new AttestationError('UNTRUSTED_ROOT', `${label} ends at "${last.subjectCn}" issued by "${last.issuerCn}", which is not a trusted root`);
    }
    chain.push(root);
  }
  for (let i = 0; i < chain.length - 1; i++) {
    const cert = chain[i]!;
    const issuer = chain[i + 1]!;
    if (!sameBytes(cert.issuer, issuer.subject)) {
      throw new AttestationError('CERT_CHAIN_INVALID', `${label}: certificate ${i} ("${cert.subjectCn}") names issuer "${cert.issuerCn}" but the next certificate is "${issuer.subjectCn}"`);
    }
    if (issuer.isCa !== true) {
      throw new AttestationError('CERT_CHAIN_INVALID', `${label}: "${issuer.subjectCn}" signs certificates but is not a CA (basicConstraints)`);
    }
    if (!verifyDerSignature(cert.hash, cert.tbs, issuer.publicKey, cert.signature)) {
      throw new AttestationError('CERT_CHAIN_INVALID', `${label}: the signature on "${cert.subjectCn}" does not verify with the key of "${issuer.subjectCn}"`);
    }
  }
  return chain;
}
