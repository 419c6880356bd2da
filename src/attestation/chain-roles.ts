import { AttestationError, type AttestationErrorCode } from './errors.js';
import { sameBytes } from './trust.js';
import { KEY_USAGE, type Certificate } from './x509.js';

/**
 * Role checks for the chains of one verification, after verifyChainToRoot
 * has checked names, signatures, CA flags and path lengths. A chain that
 * reaches the root proves only that Intel issued every certificate in it; the
 * role checks make sure each certificate is used for the job Intel issued it
 * for (Intel QVL: TCBSigningChain::verify, PckCertVerifier::verify,
 * PckCrlVerifier::checkIssuer). Without them a leaked PCK key could sign TCB
 * Info that calls its own platform UpToDate.
 *
 * Beyond QVL's common-name phrases we also check basicConstraints and
 * keyUsage of every certificate (stricter, never looser).
 */

/** Common-name phrases Intel QVL requires (X509Constants.h). */
const ROOT_CN = 'SGX Root CA';
const TCB_SIGNING_CN = 'SGX TCB Signing';
const PCK_LEAF_CN = 'SGX PCK Certificate';
const PCK_CA_CN = /SGX PCK (Processor|Platform) CA/;

function has(cert: Certificate, bits: number): boolean {
  return cert.keyUsage !== undefined && (cert.keyUsage & bits) === bits;
}

function fail(code: AttestationErrorCode, message: string): never {
  throw new AttestationError(code, message);
}

function checkRoot(root: Certificate, code: AttestationErrorCode, label: string): void {
  if (!sameBytes(root.subject, root.issuer) || root.isCa !== true) fail(code, `${label} must end at a self-issued CA root, found "${root.subjectCn}"`);
  if (!root.subjectCn.includes(ROOT_CN)) fail(code, `${label} ends at "${root.subjectCn}", whose common name lacks "${ROOT_CN}" (Intel QVL: SGX_ROOT_CA_MISSING)`);
}

/** An end-entity signing certificate: not a CA, may sign data, may not sign certificates or CRLs. */
function checkSigner(cert: Certificate, code: AttestationErrorCode, what: string): void {
  if (cert.isCa === true) fail(code, `${what} "${cert.subjectCn}" is a CA certificate (basicConstraints cA), not a signing certificate`);
  if (!has(cert, KEY_USAGE.digitalSignature)) fail(code, `${what} "${cert.subjectCn}" lacks keyUsage digitalSignature`);
  if (cert.keyUsage! & (KEY_USAGE.keyCertSign | KEY_USAGE.cRLSign)) fail(code, `${what} "${cert.subjectCn}" may sign certificates or CRLs (keyUsage), so it is not a signing-only certificate`);
}

/** A PCK Platform/Processor CA directly under the root. */
function checkPckCa(cert: Certificate, code: AttestationErrorCode, what: string): void {
  if (cert.isCa !== true) fail(code, `${what} "${cert.subjectCn}" is not a CA certificate (basicConstraints)`);
  if (!has(cert, KEY_USAGE.keyCertSign | KEY_USAGE.cRLSign)) fail(code, `${what} "${cert.subjectCn}" lacks keyUsage keyCertSign and cRLSign`);
  if (!PCK_CA_CN.test(cert.subjectCn)) fail(code, `${what} "${cert.subjectCn}" is not an SGX PCK Platform or Processor CA (common name)`);
}

/**
 * TCB Info / QE Identity issuer chain: exactly [TCB Signing, root]. The
 * signer is an end-entity certificate issued directly by the root whose
 * common name says "SGX TCB Signing" (QVL: SGX_TCB_SIGNING_CERT_MISSING /
 * _INVALID_ISSUER otherwise).
 */
export function checkTcbSigningChain(chain: Certificate[], label: string): void {
  const code = 'TCB_SIGNING_CERT_INVALID';
  const [signer, root] = chain;
  if (chain.length !== 2 || !signer || !root) {
    fail(code, `${label} must be the TCB Signing certificate directly under the root; it has ${chain.length} certificate(s) starting with "${chain[0]?.subjectCn ?? ''}"`);
  }
  checkRoot(root, code, label);
  if (!signer.subjectCn.includes(TCB_SIGNING_CN)) fail(code, `${label}: "${signer.subjectCn}" is not a TCB Signing certificate (common name lacks "${TCB_SIGNING_CN}")`);
  checkSigner(signer, code, `${label}: the signer`);
}

/**
 * PCK chain from the quote: exactly [PCK leaf, PCK Platform/Processor CA,
 * root]; the leaf is an end-entity "SGX PCK Certificate" (the SGX extension
 * is checked when it is decoded).
 */
export function checkPckChain(chain: Certificate[], label: string): void {
  const code = 'PCK_CHAIN_INVALID';
  const [leaf, ca, root] = chain;
  if (chain.length !== 3 || !leaf || !ca || !root) {
    fail(code, `${label} must be PCK certificate, PCK CA and root; found ${chain.length} certificate(s) starting with "${chain[0]?.subjectCn ?? ''}"`);
  }
  checkRoot(root, code, label);
  checkPckCa(ca, code, `${label}: certificate 1`);
  if (!leaf.subjectCn.includes(PCK_LEAF_CN)) fail(code, `${label}: the leaf "${leaf.subjectCn}" is not an SGX PCK Certificate (common name)`);
  checkSigner(leaf, code, `${label}: the leaf`);
}

/** PCK CRL issuer chain: exactly [PCK Platform/Processor CA, root]. */
export function checkPckCrlIssuerChain(chain: Certificate[], label: string): void {
  const code = 'CRL_ISSUER_MISMATCH';
  const [ca, root] = chain;
  if (chain.length !== 2 || !ca || !root) {
    fail(code, `${label} must be a PCK Platform/Processor CA directly under the root; it has ${chain.length} certificate(s) starting with "${chain[0]?.subjectCn ?? ''}"`);
  }
  checkRoot(root, code, label);
  checkPckCa(ca, code, `${label}: the PCK CRL issuer`);
}
