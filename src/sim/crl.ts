/**
 * X.509 v2 CRLs shaped like Intel's Root CA and PCK CRLs: ecdsa-with-SHA256,
 * issuer = the CA's subject bytes, thisUpdate/nextUpdate, revoked entries with
 * a reason code (keyCompromise), and the CRL Number and Authority Key
 * Identifier extensions. Built with the local DER encoder and signed
 * synchronously with node:crypto so collateral can be produced on demand.
 */
import type { KeyObject } from 'node:crypto';
import { bitString, enumerated, explicit, integer, octetString, oid, sequence, time, tlv } from './der.js';
import { signDer } from './keys.js';

const ECDSA_WITH_SHA256 = sequence(oid('1.2.840.10045.4.3.2'));

export interface CrlParams {
  /** DER of the issuer Name (copy of the issuing CA certificate's subject). */
  issuerName: Uint8Array;
  /** Key identifier of the issuing CA (its SKI). */
  authorityKeyId: Uint8Array;
  thisUpdate: Date;
  nextUpdate: Date;
  crlNumber: number;
  /** Serial numbers (big-endian bytes) of revoked certificates. */
  revokedSerials: Uint8Array[];
  signingKey: KeyObject;
}

export function buildCrl(p: CrlParams): Uint8Array {
  const entries = p.revokedSerials.map((serial) =>
    sequence(
      integer(serial),
      time(p.thisUpdate),
      // reasonCode (2.5.29.21) = keyCompromise (1), as Intel's PCK CRLs state it.
      sequence(sequence(oid('2.5.29.21'), octetString(enumerated(1)))),
    ),
  );
  const extensions = explicit(
    0,
    sequence(
      sequence(oid('2.5.29.20'), octetString(integer(p.crlNumber))),
      sequence(oid('2.5.29.35'), octetString(sequence(tlv(0x80, p.authorityKeyId)))),
    ),
  );
  const tbs = sequence(
    integer(1), // v2
    ECDSA_WITH_SHA256,
    p.issuerName,
    time(p.thisUpdate),
    time(p.nextUpdate),
    ...(entries.length > 0 ? [sequence(...entries)] : []),
    extensions,
  );
  return sequence(tbs, ECDSA_WITH_SHA256, bitString(signDer(tbs, p.signingKey)));
}
