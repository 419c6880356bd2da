/**
 * The 384-byte SGX REPORT body (Intel SGX SDM "REPORT" structure), used both
 * for the enclave's report in the quote body and for the QE report.
 */

export const REPORT_BODY_SIZE = 384;

export interface ReportBodyFields {
  cpuSvn: Uint8Array; // 16
  miscSelect: number;
  /** ATTRIBUTES.FLAGS (u64 LE) — bit 1 is DEBUG. */
  flags: bigint;
  /** ATTRIBUTES.XFRM (u64 LE). */
  xfrm: bigint;
  mrEnclave: Uint8Array; // 32
  mrSigner: Uint8Array; // 32
  isvProdId: number;
  isvSvn: number;
  reportData: Uint8Array; // <= 64, zero padded
}

/** FLAGS bits used here: INIT (0), DEBUG (1), MODE64BIT (2), PROVISIONKEY (4). */
export const FLAG_INIT = 1n;
export const FLAG_DEBUG = 2n;
export const FLAG_MODE64BIT = 4n;
export const FLAG_PROVISIONKEY = 16n;

export function encodeReportBody(f: ReportBodyFields): Uint8Array {
  const out = Buffer.alloc(REPORT_BODY_SIZE);
  out.set(f.cpuSvn, 0);
  out.writeUInt32LE(f.miscSelect, 16);
  out.writeBigUInt64LE(f.flags, 48);
  out.writeBigUInt64LE(f.xfrm, 56);
  out.set(f.mrEnclave, 64);
  out.set(f.mrSigner, 128);
  out.writeUInt16LE(f.isvProdId, 256);
  out.writeUInt16LE(f.isvSvn, 258);
  out.set(f.reportData, 320);
  return new Uint8Array(out);
}
