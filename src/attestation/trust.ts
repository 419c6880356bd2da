import { createHash } from 'node:crypto';
import { AttestationError } from './errors.js';
import { INTEL_SGX_ROOT_CA_DER } from './intel-root.js';
import { sharedCertificate, verifyCertificateSignature } from './shared-certificates.js';
import { KEY_USAGE, verifyDerSignature, type Certificate } from './x509.js';

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
    const cert = sharedCertificate(der, `trusted root ${i}`);
    if (!verifyCertificateSignature(cert, cert)) {
      throw new AttestationError('CERT_CHAIN_INVALID', `trusted root ${i} (${cert.subjectCn}) is not correctly self-signed`);
    }
    if (cert.isCa !== true || !sameBytes(cert.subject, cert.issuer)) {
      throw new AttestationError('CERT_CHAIN_INVALID', `trusted root ${i} (${cert.subjectCn}) is not a self-issued CA certificate (basicConstraints cA)`);
    }
    return cert;
  });
  return { byHash: new Map(roots.map((r) => [sha256Hex(r.der), r])), roots };
}

/** Byte-for-byte equality (names are compared as raw DER, as Intel QVL does). */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(a, b) === 0;
}

/** "certificate 1 ("Intel SGX PCK Processor CA")": how errors name a certificate of a chain. */
export function certName(label: string, index: number, cert: Certificate): string {
  return `${label} certificate ${index} ("${cert.subjectCn}")`;
}

/**
 * Verifies a certificate chain given leaf first: each certificate's issuer
 * name equals the next one's subject and its signature verifies with the next
 * one's key; every issuer is a CA (basicConstraints) allowed to sign
 * certificates (keyUsage keyCertSign when keyUsage is present) whose path
 * length constraint admits the CAs below it; and the chain ends in a pinned
 * root (a chain that stops below the root is completed with the trusted root
 * that signed it). Returns the chain including the root. Time is NOT checked
 * here (this result is cacheable); callers check validity windows per call.
 */
export function verifyChainToRoot(certs: Certificate[], trust: TrustStore, label: string): Certificate[] {
  if (certs.length === 0) throw new AttestationError('CERT_CHAIN_INVALID', `${label} is empty`);
  if (certs.length > 5) throw new AttestationError('CERT_CHAIN_INVALID', `${label} has ${certs.length} certificates (at most 5 expected)`);
  const chain = [...certs];
  const lastIndex = chain.length - 1;
  const last = chain[lastIndex]!;
  const pinned = trust.byHash.get(sha256Hex(last.der));
  if (pinned) {
    // Same bytes as a pinned root: use the trust store's parsed copy (its key is already imported).
    chain[lastIndex] = pinned;
  } else {
    const root = trust.roots.find((r) => sameBytes(r.subject, last.issuer) && verifyCertificateSignature(last, r));
    if (!root) throw untrustedEnd(last, lastIndex, trust, label);
    // An older issue of the trusted root itself (same name, same key, e.g. Intel's 2018-2033 root
    // certificate in 2020 collateral) is that root, not a CA below it.
    if (sameBytes(last.subject, root.subject) && sameBytes(last.spki, root.spki)) chain[lastIndex] = root;
    else chain.push(root);
  }
  for (let i = 0; i < chain.length - 1; i++) {
    const cert = chain[i]!;
    const issuer = chain[i + 1]!;
    const issuerName = certName(label, i + 1, issuer);
    if (!sameBytes(cert.issuer, issuer.subject)) {
      throw new AttestationError('CERT_CHAIN_INVALID', `${certName(label, i, cert)} names issuer "${cert.issuerCn}" but the next certificate is "${issuer.subjectCn}"`);
    }
    if (issuer.isCa !== true) {
      throw new AttestationError('CERT_CHAIN_INVALID', `${issuerName} signs certificates but is not a CA (basicConstraints cA is not set)`);
    }
    if (issuer.keyUsage !== undefined && (issuer.keyUsage & KEY_USAGE.keyCertSign) === 0) {
      throw new AttestationError('CERT_CHAIN_INVALID', `${issuerName} signs certificates but its keyUsage lacks keyCertSign`);
    }
    // RFC 5280 §4.2.1.9: the number of CA certificates below an issuer may not exceed its pathLenConstraint.
    const casBelow = i; // chain[1..i] are CAs under chain[i + 1]
    if (issuer.pathLen !== undefined && casBelow > issuer.pathLen) {
      throw new AttestationError('CERT_CHAIN_INVALID', `${issuerName} allows ${issuer.pathLen} CA certificate(s) below it (pathLenConstraint) but the chain has ${casBelow}`);
    }
    if (!verifyCertificateSignature(cert, issuer)) {
      throw new AttestationError('CERT_SIGNATURE_INVALID', `${certName(label, i, cert)}: its signature does not verify with the key of ${issuerName}`, {
        hint: 'the certificate was altered or damaged in transit (or forged); obtain the chain again from the platform or PCCS',
      });
    }
  }
  return chain;
}

/**
 * The error for a chain whose last certificate is not a trusted root. A
 * damaged copy of a trusted root (a flipped byte: same name, bytes no longer
 * pinned, its self-signature broken) is a damaged certificate, not a foreign
 * root, and must not send the user to --trust-root.
 */
function untrustedEnd(last: Certificate, index: number, trust: TrustStore, label: string): AttestationError {
  const name = certName(label, index, last);
  const selfIssued = sameBytes(last.subject, last.issuer);
  const issuerRoot = trust.roots.find((r) => sameBytes(r.subject, last.issuer));
  if (issuerRoot && !selfIssued) {
    return new AttestationError('CERT_SIGNATURE_INVALID', `${name}: its signature does not verify with the key of the trusted root "${issuerRoot.subjectCn}": the certificate is damaged or forged`, {
      hint: 'obtain the quote (or chain) again; the trusted roots are fine',
    });
  }
  const lookalike = trust.roots.find((r) => sameBytes(r.subject, last.subject) || sameBytes(r.spki, last.spki));
  if (selfIssued || lookalike) {
    let selfSigned: boolean;
    try {
      selfSigned = verifyDerSignature(last.hash, last.tbs, last.publicKey, last.signature);
    } catch {
      selfSigned = false; // an unusable key is damage too
    }
    if (!selfSigned) {
      const what = lookalike ? `looks like the trusted root "${lookalike.subjectCn}" but differs from it, and` : 'claims to be a self-signed root but';
      return new AttestationError('CERT_SIGNATURE_INVALID', `${name} ${what} its signature does not verify: the certificate is damaged or forged`, {
        hint: 'obtain the quote (or chain) again; the trusted roots are fine',
      });
    }
  }
  return new AttestationError('UNTRUSTED_ROOT', `${label} ends at "${last.subjectCn}" issued by "${last.issuerCn}", which is not a trusted root`);
}
