/**
 * Reads the few raw fields of our own certificates that CRLs must repeat
 * byte for byte: the subject Name (a CRL's issuer must equal its CA's subject
 * exactly; Intel QVL compares raw bytes) and the serial number.
 */
import { childrenOf, readElement } from './der.js';

function tbsFields(certDer: Uint8Array) {
  const tbs = childrenOf(readElement(certDer))[0];
  if (!tbs) throw new RangeError('certificate without TBSCertificate');
  const fields = childrenOf(tbs);
  // TBSCertificate: [0] version, serialNumber, signature, issuer, validity, subject, ...
  const offset = fields[0]?.tag === 0xa0 ? 1 : 0;
  return { serial: fields[offset]!, subject: fields[offset + 4]! };
}

/** DER of the certificate's subject Name. */
export function subjectNameDer(certDer: Uint8Array): Uint8Array {
  return tbsFields(certDer).subject.bytes;
}

/** Serial number content bytes (big-endian, as encoded). */
export function serialNumberBytes(certDer: Uint8Array): Uint8Array {
  return tbsFields(certDer).serial.content;
}
