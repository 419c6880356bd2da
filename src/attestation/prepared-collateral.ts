import { AttestationError } from './errors.js';
import type { Collateral } from './collateral.js';
import { decodePemChain } from './quote.js';
import { parseQeIdentity, parseTcbInfo, type QeIdentity, type TcbInfo } from './tcb-info.js';
import { checkPckCrlIssuerChain, checkTcbSigningChain } from './chain-roles.js';
import { sameBytes, sha256Hex, verifyChainToRoot, type TrustStore } from './trust.js';
import { sharedCertificate, verifySignedData } from './shared-certificates.js';
import { importRawP256Key } from './x509.js';
import { parseCrl, verifyDerSignature, type Certificate, type Crl } from './x509.js';

/**
 * Collateral after every check that depends only on its bytes and the trust
 * store: parsed, issuer chains verified to a pinned root, TCB Info / QE
 * Identity / CRL signatures verified. Safe to cache by content digest; all
 * time-dependent and quote-dependent checks are done per verification.
 */
export interface PreparedCollateral {
  tcbInfo: TcbInfo;
  qeIdentity: QeIdentity;
  rootCaCrl: Crl;
  pckCrl: Crl;
  /** The one root every collateral chain and the Root CA CRL end at. */
  root: Certificate;
  /** Verified chains (leaf first, root last). */
  tcbInfoChain: Certificate[];
  qeIdentityChain: Certificate[];
  pckCrlChain: Certificate[];
}

export function prepareCollateral(c: Collateral, trust: TrustStore): PreparedCollateral {
  const tcbInfoChain = verifiedChain(c.tcbInfoIssuerChain, trust, 'TCB Info issuer chain');
  checkTcbSigningChain(tcbInfoChain, 'TCB Info issuer chain');
  // Intel signs TCB Info and QE Identity with the same chain: identical text, same verified result.
  let qeIdentityChain = tcbInfoChain;
  if (c.qeIdentityIssuerChain !== c.tcbInfoIssuerChain) {
    qeIdentityChain = verifiedChain(c.qeIdentityIssuerChain, trust, 'QE Identity issuer chain');
    checkTcbSigningChain(qeIdentityChain, 'QE Identity issuer chain');
  }
  const pckCrlChain = verifiedChain(c.pckCrlIssuerChain, trust, 'PCK CRL issuer chain');
  checkPckCrlIssuerChain(pckCrlChain, 'PCK CRL issuer chain');

  // One verification, one root: every chain ends at the same certificate.
  const root = tcbInfoChain[tcbInfoChain.length - 1]!;
  for (const [chain, label] of [
    [qeIdentityChain, 'QE Identity issuer chain'],
    [pckCrlChain, 'PCK CRL issuer chain'],
  ] as const) {
    const end = chain[chain.length - 1]!;
    if (!sameBytes(end.der, root.der)) {
      throw new AttestationError('ROOT_MISMATCH', `the ${label} ends at another root ("${end.subjectCn}", SHA-256 ${sha256Hex(end.der).slice(0, 16)}…) than the TCB Info issuer chain ("${root.subjectCn}", ${sha256Hex(root.der).slice(0, 16)}…)`);
    }
  }

  // Step 5/6: signatures over the exact signed text, by the TCB Signing certificate.
  if (!verifySignedData(tcbInfoChain[0]!, Buffer.from(c.tcbInfo, 'utf8'), hexBytes(c.tcbInfoSignature), 'raw', 'sha256')) {
    throw new AttestationError('TCB_INFO_SIGNATURE_INVALID', `the TCB Info signature does not verify with the key of "${tcbInfoChain[0]!.subjectCn}"`);
  }
  if (!verifySignedData(qeIdentityChain[0]!, Buffer.from(c.qeIdentity, 'utf8'), hexBytes(c.qeIdentitySignature), 'raw', 'sha256')) {
    throw new AttestationError('QE_IDENTITY_SIGNATURE_INVALID', `the QE Identity signature does not verify with the key of "${qeIdentityChain[0]!.subjectCn}"`);
  }

  // Step 3: CRLs. The Root CA CRL is issued and signed by this verification's root; the PCK CRL by its CA.
  const rootCaCrl = parseCrl(hexBytes(c.rootCaCrl), 'Root CA CRL');
  if (!sameBytes(rootCaCrl.issuer, root.subject)) {
    throw new AttestationError('CRL_ISSUER_MISMATCH', `the Root CA CRL is issued by "${rootCaCrl.issuerCn}", not by the root "${root.subjectCn}"`);
  }
  if (!verifySignedData(root, rootCaCrl.tbs, rootCaCrl.signature, 'der', rootCaCrl.hash)) {
    const other = trust.roots.find((r) => r !== root && !sameBytes(r.der, root.der) && verifyDerSignature(rootCaCrl.hash, rootCaCrl.tbs, r.publicKey, rootCaCrl.signature));
    if (other) throw new AttestationError('ROOT_MISMATCH', `the Root CA CRL is signed by another trusted root (SHA-256 ${sha256Hex(other.der).slice(0, 16)}…) than the collateral chains`);
    throw new AttestationError('CRL_SIGNATURE_INVALID', `the Root CA CRL signature does not verify with the key of "${root.subjectCn}"`);
  }
  const pckCrl = parseCrl(hexBytes(c.pckCrl), 'PCK CRL');
  const pckCa = pckCrlChain[0]!;
  if (!sameBytes(pckCrl.issuer, pckCa.subject)) {
    throw new AttestationError('CRL_ISSUER_MISMATCH', `the PCK CRL is issued by "${pckCrl.issuerCn}" but its issuer chain starts with "${pckCa.subjectCn}"`);
  }
  if (!verifySignedData(pckCa, pckCrl.tbs, pckCrl.signature, 'der', pckCrl.hash)) {
    throw new AttestationError('CRL_SIGNATURE_INVALID', `the PCK CRL signature does not verify with the key of "${pckCa.subjectCn}"`);
  }

  return {
    tcbInfo: parseTcbInfo(c.tcbInfo),
    qeIdentity: parseQeIdentity(c.qeIdentity),
    rootCaCrl,
    pckCrl,
    root,
    tcbInfoChain,
    qeIdentityChain,
    pckCrlChain,
  };
}

function verifiedChain(pem: string, trust: TrustStore, label: string): Certificate[] {
  const ders = decodePemChain(Buffer.from(pem, 'latin1'), label);
  const certs = ders.map((der, i) => sharedCertificate(der, `${label} certificate ${i}`));
  return verifyChainToRoot(certs, trust, label);
}

function hexBytes(hex: string): Uint8Array {
  return new Uint8Array(Buffer.from(hex, 'hex'));
}

export { importRawP256Key };
