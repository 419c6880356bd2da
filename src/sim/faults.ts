/**
 * The fault names the platform accepts and the small primitives that build
 * broken-but-well-formed material: a signature nobody trusts, a certificate
 * whose signature no longer verifies, a value for another platform.
 */
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import type { SimCollateralTamper, SimQuoteTamper } from './types.js';

export const QUOTE_TAMPERS: readonly SimQuoteTamper[] = [
  'quoteSignature',
  'qeReportSignature',
  'qeReportData',
  'qeMrsigner',
  'pckChainSignature',
  'pckLeafExpired',
  'unsupportedVersion',
  'truncated',
  'qeVendorId',
  'attestationKeyType',
  'qeDebug',
  'qeIsvProdId',
  'qeMiscselect',
  'certDataType',
  'trailingBytes',
  'pckChainLeafIsPckCa',
  'pckChainLeafIsTcbSigning',
];

export const COLLATERAL_TAMPERS: readonly SimCollateralTamper[] = [
  'rootCaCrlSignature',
  'rootCaCrlExpired',
  'rootCaCrlIssuer',
  'pckCaRevoked',
  'tcbSigningRevoked',
  'rootCaRevoked',
  'pckCrlSignature',
  'pckCrlExpired',
  'tcbInfoSignature',
  'tcbInfoExpired',
  'tcbInfoNotYetValid',
  'tcbInfoFmspc',
  'tcbInfoPceId',
  'tcbInfoWrongTee',
  'pckCrlWrongCa',
  'tcbInfoNoMatchingLevel',
  'tcbInfoRevoked',
  'qeIdentitySignature',
  'qeIdentityExpired',
  'qeIdentityNotYetValid',
  'qeIdentityNoMatchingLevel',
  'tcbInfoSignerPckLeaf',
  'tcbInfoSignerPckCa',
  'tcbInfoSignerRoot',
  'qeIdentitySignerPckLeaf',
  'qeIdentitySignerPckCa',
  'qeIdentitySignerRoot',
  'pckCrlSignerTcbSigning',
];

/** A key nobody trusts: signing with it yields a well-formed signature that never verifies. */
export function strangerKey(): KeyObject {
  return generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
}

/** Flips one bit in the last byte of a DER certificate: inside the signature's s, so it still parses. */
export function corruptCertificateSignature(der: Uint8Array): Uint8Array {
  const copy = Uint8Array.from(der);
  copy[copy.length - 1] ^= 0x01;
  return copy;
}

/** The same-length hex value with the last digit changed. */
export function otherHex(hex: string): string {
  const last = hex.at(-1) === '0' ? '1' : '0';
  return hex.slice(0, -1) + last;
}
