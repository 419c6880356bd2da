import { toHex } from '../common/hex.js';
import { AttestationError } from './errors.js';
import { u16le } from './byte-reader.js';

/** Size of an SGX REPORTBODY (also the QE report inside a quote). */
export const SGX_REPORT_BODY_SIZE = 384;
/** TD report 1.0 and 1.5 body sizes (TDX quote v4/v5). */
export const TD_REPORT10_SIZE = 584;
export const TD_REPORT15_SIZE = 648;

/** ATTRIBUTES.FLAGS bit 1: the enclave can be debugged, so its secrets are not private. */
const SGX_FLAG_DEBUG = 0x02;

/** Decoded SGX report body (Intel SDM: REPORTBODY). Hex fields are lower case. */
export interface SgxReportBody {
  cpuSvn: string;
  miscSelect: number;
  isvExtProdId: string;
  /** FLAGS (u64 LE) ‖ XFRM (u64 LE) as 16 bytes of hex, in quote byte order. */
  attributes: string;
  debug: boolean;
  mrenclave: string;
  mrsigner: string;
  configId: string;
  isvProdId: number;
  isvSvn: number;
  configSvn: number;
  isvFamilyId: string;
  reportData: string;
}

/**
 * Decodes a 384-byte SGX report body (the enclave report of an SGX quote, or
 * the QE report). Offsets follow Intel's REPORTBODY layout.
 */
export function parseReportBody(bytes: Uint8Array): SgxReportBody {
  if (bytes.length !== SGX_REPORT_BODY_SIZE) {
    throw new AttestationError('QUOTE_TRUNCATED', `SGX report body must be ${SGX_REPORT_BODY_SIZE} bytes, got ${bytes.length}`);
  }
  return {
    cpuSvn: toHex(bytes.subarray(0, 16)),
    miscSelect: (bytes[16]! | (bytes[17]! << 8) | (bytes[18]! << 16) | (bytes[19]! << 24)) >>> 0,
    isvExtProdId: toHex(bytes.subarray(32, 48)),
    attributes: toHex(bytes.subarray(48, 64)),
    debug: (bytes[48]! & SGX_FLAG_DEBUG) !== 0,
    mrenclave: toHex(bytes.subarray(64, 96)),
    mrsigner: toHex(bytes.subarray(128, 160)),
    configId: toHex(bytes.subarray(192, 256)),
    isvProdId: u16le(bytes, 256),
    isvSvn: u16le(bytes, 258),
    configSvn: u16le(bytes, 260),
    isvFamilyId: toHex(bytes.subarray(304, 320)),
    reportData: toHex(bytes.subarray(320, 384)),
  };
}

/** Decoded TD report (TDX module 1.0 layout, plus the 1.5 additions when present). */
export interface TdReportBody {
  teeTcbSvn: string;
  mrseam: string;
  mrsignerseam: string;
  seamAttributes: string;
  tdAttributes: string;
  /** TDATTRIBUTES bit 0 (TUD.DEBUG): the TD is debuggable. */
  debug: boolean;
  xfam: string;
  mrtd: string;
  mrconfigid: string;
  mrowner: string;
  mrownerconfig: string;
  rtmr0: string;
  rtmr1: string;
  rtmr2: string;
  rtmr3: string;
  reportData: string;
  /** TD report 1.5 only. */
  teeTcbSvn2?: string;
  /** TD report 1.5 only. */
  mrservicetd?: string;
}

/** Decodes a TD report 1.0 (584 bytes) or 1.5 (648 bytes) body. */
export function parseTdReportBody(bytes: Uint8Array): TdReportBody {
  if (bytes.length !== TD_REPORT10_SIZE && bytes.length !== TD_REPORT15_SIZE) {
    throw new AttestationError('QUOTE_TRUNCATED', `TD report body must be ${TD_REPORT10_SIZE} or ${TD_REPORT15_SIZE} bytes, got ${bytes.length}`);
  }
  const hex = (start: number, len: number): string => toHex(bytes.subarray(start, start + len));
  const body: TdReportBody = {
    teeTcbSvn: hex(0, 16),
    mrseam: hex(16, 48),
    mrsignerseam: hex(64, 48),
    seamAttributes: hex(112, 8),
    tdAttributes: hex(120, 8),
    debug: (bytes[120]! & 0x01) !== 0,
    xfam: hex(128, 8),
    mrtd: hex(136, 48),
    mrconfigid: hex(184, 48),
    mrowner: hex(232, 48),
    mrownerconfig: hex(280, 48),
    rtmr0: hex(328, 48),
    rtmr1: hex(376, 48),
    rtmr2: hex(424, 48),
    rtmr3: hex(472, 48),
    reportData: hex(520, 64),
  };
  if (bytes.length === TD_REPORT15_SIZE) {
    body.teeTcbSvn2 = hex(584, 16);
    body.mrservicetd = hex(600, 48);
  }
  return body;
}
