import { toHex } from '../common/hex.js';
import { AttestationError } from './errors.js';
import { ByteReader } from './byte-reader.js';
import {
  parseReportBody,
  parseTdReportBody,
  SGX_REPORT_BODY_SIZE,
  TD_REPORT10_SIZE,
  TD_REPORT15_SIZE,
  type SgxReportBody,
  type TdReportBody,
} from './report-body.js';

export const QUOTE_HEADER_SIZE = 48;
export const TEE_TYPE_SGX = 0x00000000;
export const TEE_TYPE_TDX = 0x00000081;
/** ECDSA-256 with P-256: the only attestation key type Intel's QE produces. */
export const ATTESTATION_KEY_TYPE_ECDSA_P256 = 2;
/** Intel's QE vendor ID (header bytes 12..28). */
export const INTEL_QE_VENDOR_ID = '939a7233f79c4ca9940a0db3957f0607';

const CERT_DATA_PCK_CHAIN = 5;
const CERT_DATA_QE_REPORT = 6;
const ECDSA_SIG_SIZE = 64;
const ECDSA_KEY_SIZE = 64;

export interface QuoteHeader {
  version: number;
  attestationKeyType: number;
  teeType: number;
  qeSvn: number;
  pceSvn: number;
  qeVendorId: string;
  userData: string;
}

/** The QE's evidence: its report, the PCK's signature over it and the key binding. */
export interface QeCertification {
  /** Raw 384-byte QE report (signed by the PCK key). */
  qeReport: Uint8Array;
  qeReportBody: SgxReportBody;
  qeReportSignature: Uint8Array;
  qeAuthData: Uint8Array;
  /** DER certificates of the PCK chain in the order the quote lists them (leaf first). */
  pckChainDer: Uint8Array[];
}

export interface ParsedQuote {
  header: QuoteHeader;
  tee: 'sgx' | 'tdx';
  /** 'sgx' (384-byte report), 'td10' (584) or 'td15' (648). */
  bodyType: 'sgx' | 'td10' | 'td15';
  enclave?: SgxReportBody;
  td?: TdReportBody;
  /** Raw TD report / SGX report body bytes. */
  body: Uint8Array;
  /** Bytes covered by the attestation key's signature: header (+ v5 descriptor) + body. */
  signedBytes: Uint8Array;
  signature: Uint8Array;
  /** Raw 64-byte P-256 public key (x ‖ y) of the attestation key. */
  attestationKey: Uint8Array;
  /** Outermost certification data type (5 for v3, 6 for v4/v5). */
  certDataType: number;
  qe: QeCertification;
  /** Bytes the quote's own length fields account for. */
  length: number;
  /** Zero bytes after `length` (accepted padding; see docs/attestation.md). */
  trailingZeroBytes: number;
}

/**
 * Parses a DCAP quote (v3, v4, v5; SGX or TDX body) without verifying it.
 * Every length is bounds-checked; malformed input raises AttestationError.
 *
 * Trailing bytes: bytes after the length the quote declares are accepted only
 * when all of them are zero (some transports pad quotes to a fixed buffer size)
 * and reported in `trailingZeroBytes`; any non-zero trailing byte is rejected
 * with TRAILING_BYTES. Inside the signature data the accounting is exact.
 *
 * @example
 * const q = parseQuote(readFileSync('quote.dat'));
 * console.log(q.tee, q.enclave?.mrenclave);
 */
export function parseQuote(bytes: Uint8Array): ParsedQuote {
  if (!(bytes instanceof Uint8Array)) throw new AttestationError('INVALID_ARGUMENT', `quote must be a Uint8Array of bytes, got ${bytes === null ? 'null' : typeof bytes}`);
  const r = new ByteReader(bytes);
  const header = parseHeader(r);

  let tee: 'sgx' | 'tdx';
  let bodyType: ParsedQuote['bodyType'];
  let body: Uint8Array;
  if (header.version === 3 || header.version === 4) {
    if (header.version === 3 && header.teeType !== TEE_TYPE_SGX) {
      throw new AttestationError('UNSUPPORTED_TEE_TYPE', `quote v3 carries TEE type 0x${header.teeType.toString(16)} at offset 4; v3 quotes are SGX only (0)`);
    }
    if (header.teeType === TEE_TYPE_SGX) {
      tee = 'sgx';
      bodyType = 'sgx';
      body = r.bytesOf(SGX_REPORT_BODY_SIZE, 'SGX report body');
    } else if (header.teeType === TEE_TYPE_TDX) {
      tee = 'tdx';
      bodyType = 'td10';
      body = r.bytesOf(TD_REPORT10_SIZE, 'TD report body');
    } else {
      throw new AttestationError('UNSUPPORTED_TEE_TYPE', `unknown TEE type 0x${header.teeType.toString(16)} at offset 4 (expected 0 for SGX or 0x81 for TDX)`);
    }
  } else {
    // v5: a body descriptor (type, size) precedes the body and is part of the signed bytes.
    const type = r.u16('body type');
    const size = r.u32('body size');
    const expected = type === 1 ? SGX_REPORT_BODY_SIZE : type === 2 ? TD_REPORT10_SIZE : type === 3 ? TD_REPORT15_SIZE : -1;
    if (expected < 0) throw new AttestationError('UNSUPPORTED_BODY_TYPE', `quote v5 body type ${type} at offset 48 is not 1 (SGX), 2 (TD 1.0) or 3 (TD 1.5)`);
    if (size !== expected) throw new AttestationError('UNSUPPORTED_BODY_TYPE', `quote v5 body type ${type} must be ${expected} bytes, descriptor at offset 50 says ${size}`);
    tee = type === 1 ? 'sgx' : 'tdx';
    bodyType = type === 1 ? 'sgx' : type === 2 ? 'td10' : 'td15';
    const wantTee = tee === 'sgx' ? TEE_TYPE_SGX : TEE_TYPE_TDX;
    if (header.teeType !== wantTee) {
      throw new AttestationError('UNSUPPORTED_TEE_TYPE', `quote v5 TEE type 0x${header.teeType.toString(16)} does not match its body type ${type}`);
    }
    body = r.bytesOf(size, 'report body');
  }
  const signedBytes = bytes.subarray(0, r.offset);

  const sigDataLen = r.u32('signature data length');
  const sigStart = r.absoluteOffset;
  const s = r.sub(sigDataLen, `signature data (${sigDataLen} bytes declared at offset ${sigStart - 4})`);
  const signature = s.bytesOf(ECDSA_SIG_SIZE, 'quote signature');
  const attestationKey = s.bytesOf(ECDSA_KEY_SIZE, 'attestation key');

  let certDataType: number;
  let qe: QeCertification;
  if (header.version === 3) {
    qe = parseQeCertification(s, 'signature data');
    certDataType = CERT_DATA_PCK_CHAIN;
  } else {
    const { type, body: cd } = readCertData(s, 'signature data');
    certDataType = type;
    if (type !== CERT_DATA_QE_REPORT) {
      throw new AttestationError('UNSUPPORTED_CERT_DATA_TYPE', `quote v${header.version} must carry certification data type 6 (QE report), found type ${type}`);
    }
    qe = parseQeCertification(cd, 'QE report certification data');
    expectEnd(cd, 'QE report certification data');
  }
  expectEnd(s, 'signature data');

  const length = r.offset;
  let trailingZeroBytes = 0;
  for (let i = length; i < bytes.length; i++) {
    if (bytes[i] !== 0) {
      throw new AttestationError('TRAILING_BYTES', `non-zero byte at offset ${i} after the end of the quote (the quote declares ${length} bytes, input has ${bytes.length})`, {
        hint: 'pass exactly the quote bytes; only zero padding after a quote is tolerated',
      });
    }
    trailingZeroBytes++;
  }

  const parsed: ParsedQuote = {
    header,
    tee,
    bodyType,
    body,
    signedBytes,
    signature,
    attestationKey,
    certDataType,
    qe,
    length,
    trailingZeroBytes,
  };
  if (bodyType === 'sgx') parsed.enclave = parseReportBody(body);
  else parsed.td = parseTdReportBody(body);
  return parsed;
}

function parseHeader(r: ByteReader): QuoteHeader {
  const version = r.u16('header version');
  if (version !== 3 && version !== 4 && version !== 5) {
    throw new AttestationError('UNSUPPORTED_VERSION', `quote version ${version} at offset 0 is not supported (expected 3, 4 or 5)`);
  }
  const attestationKeyType = r.u16('attestation key type');
  if (attestationKeyType !== ATTESTATION_KEY_TYPE_ECDSA_P256) {
    throw new AttestationError('UNSUPPORTED_KEY_TYPE', `attestation key type ${attestationKeyType} at offset 2 is not supported (expected 2, ECDSA P-256)`);
  }
  const teeType = r.u32('TEE type');
  const qeSvn = r.u16('QE SVN');
  const pceSvn = r.u16('PCE SVN');
  const qeVendorId = toHex(r.bytesOf(16, 'QE vendor ID'));
  const userData = toHex(r.bytesOf(20, 'user data'));
  return { version, attestationKeyType, teeType, qeSvn, pceSvn, qeVendorId, userData };
}

function readCertData(r: ByteReader, where: string): { type: number; body: ByteReader } {
  const type = r.u16(`certification data type in ${where}`);
  const size = r.u32(`certification data size in ${where}`);
  return { type, body: r.sub(size, `certification data (type ${type}, ${size} bytes) in ${where}`) };
}

function parseQeCertification(r: ByteReader, where: string): QeCertification {
  const qeReport = r.bytesOf(SGX_REPORT_BODY_SIZE, `QE report in ${where}`);
  const qeReportSignature = r.bytesOf(ECDSA_SIG_SIZE, `QE report signature in ${where}`);
  const authLen = r.u16(`QE authentication data length in ${where}`);
  const qeAuthData = r.bytesOf(authLen, `QE authentication data in ${where}`);
  const { type, body } = readCertData(r, where);
  if (type !== CERT_DATA_PCK_CHAIN) {
    throw new AttestationError('UNSUPPORTED_CERT_DATA_TYPE', `certification data type ${type} in ${where} is not supported (expected 5, the PCK certificate chain)`);
  }
  const pem = body.bytesOf(body.remaining, 'PCK certificate chain');
  return {
    qeReport,
    qeReportBody: parseReportBody(qeReport),
    qeReportSignature,
    qeAuthData,
    pckChainDer: decodePemChain(pem, `PCK certificate chain in ${where}`),
  };
}

function expectEnd(r: ByteReader, where: string): void {
  if (r.remaining !== 0) {
    throw new AttestationError('BAD_CERT_DATA', `${r.remaining} unaccounted bytes at offset ${r.absoluteOffset} at the end of the ${where}`);
  }
}

const PEM_BEGIN = '-----BEGIN CERTIFICATE-----';
const PEM_END = '-----END CERTIFICATE-----';
const BASE64_BODY = /^[A-Za-z0-9+/\s]*={0,2}\s*$/;
const FILLER = /^[\s\0]*$/;

/**
 * Decodes a concatenation of PEM certificates. Only whitespace and NUL bytes
 * may appear between and after the blocks (Intel's QE ends the chain with NUL).
 * (indexOf scanning: a regex over the whole chain was the slowest part of parsing.)
 */
export function decodePemChain(bytes: Uint8Array, where: string): Uint8Array[] {
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
  const out: Uint8Array[] = [];
  let pos = 0;
  for (;;) {
    const begin = text.indexOf(PEM_BEGIN, pos);
    if (begin < 0) break;
    if (!FILLER.test(text.slice(pos, begin))) {
      throw new AttestationError('BAD_CERT_DATA', `unexpected text before certificate ${out.length + 1} of the ${where}`);
    }
    const bodyStart = begin + PEM_BEGIN.length;
    const end = text.indexOf(PEM_END, bodyStart);
    if (end < 0) throw new AttestationError('BAD_CERT_DATA', `certificate ${out.length + 1} of the ${where} has no END line`);
    const body = text.slice(bodyStart, end);
    const compact = body.replace(/\s+/g, '');
    if (!BASE64_BODY.test(body) || compact.length % 4 !== 0 || compact.length === 0) {
      throw new AttestationError('BAD_CERT_DATA', `certificate ${out.length + 1} of the ${where} is not valid base64`);
    }
    out.push(new Uint8Array(Buffer.from(compact, 'base64')));
    pos = end + PEM_END.length;
    if (out.length > 16) throw new AttestationError('BAD_CERT_DATA', `the ${where} holds more than 16 certificates`);
  }
  if (!FILLER.test(text.slice(pos))) {
    throw new AttestationError('BAD_CERT_DATA', `unexpected bytes after certificate ${out.length} of the ${where}`);
  }
  if (out.length === 0) throw new AttestationError('BAD_CERT_DATA', `the ${where} contains no PEM certificate`);
  return out;
}
