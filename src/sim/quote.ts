/**
 * Assembles SGX ECDSA quotes as the Intel Quoting Enclave lays them out
 * (docs/attestation.md §1): 48-byte header, 384-byte report body, then the
 * signature data — ISV signature by the attestation key over header‖body,
 * the attestation public key, and the QE's certification: the QE report
 * (signed by the PCK key) whose REPORTDATA binds the attestation key, the QE
 * authentication data and the PCK chain (certification data type 5; in v4
 * wrapped in type 6).
 */
import { createHash, type KeyObject } from 'node:crypto';
import { encodeReportBody, type ReportBodyFields } from './report.js';
import { rawPublicKey, signRaw } from './keys.js';

/** Intel's QE vendor ID; verifiers check it (docs/attestation.md §3 step 1). */
export const INTEL_QE_VENDOR_ID = Buffer.from('939a7233f79c4ca9940a0db3957f0607', 'hex');
export const ATTESTATION_KEY_TYPE_ECDSA_P256 = 2;
export const CERT_DATA_PCK_CHAIN = 5;
export const CERT_DATA_QE_REPORT = 6;
export const TEE_TYPE_TDX = 0x81;
export const TD_REPORT10_SIZE = 584;
export const TD_REPORT15_SIZE = 648;

/** TD report 1.0 (584 bytes) or, with `teeTcbSvn2`, 1.5 (648); offsets as docs/attestation.md §1.4. */
export function encodeTdReport(f: {
  teeTcbSvn: Uint8Array;
  mrSignerSeam: Uint8Array;
  seamAttributes: Uint8Array;
  tdAttributes: bigint;
  xfam: bigint;
  mrTd: Uint8Array;
  reportData: Uint8Array;
  teeTcbSvn2?: Uint8Array;
}): Uint8Array {
  const out = Buffer.alloc(f.teeTcbSvn2 ? TD_REPORT15_SIZE : TD_REPORT10_SIZE);
  out.set(f.teeTcbSvn, 0);
  out.set(f.mrSignerSeam, 64);
  out.set(f.seamAttributes, 112);
  out.writeBigUInt64LE(f.tdAttributes, 120);
  out.writeBigUInt64LE(f.xfam, 128);
  out.set(f.mrTd, 136);
  out.set(f.reportData, 520);
  if (f.teeTcbSvn2) out.set(f.teeTcbSvn2, 584); // MRSERVICETD (600..648) stays zero
  return new Uint8Array(out);
}

export interface QuoteParts {
  version: number;
  qeSvn: number;
  pceSvn: number;
  /** 16-byte QE-ID (platform-linkable) in the header's user data. */
  qeId: Uint8Array;
  enclave: ReportBodyFields;
  qe: ReportBodyFields;
  /** QE authentication data (Intel's QE sends 32 bytes 0x00..0x1f). */
  qeAuthData: Uint8Array;
  /** PEM concatenation leaf, CA, root (certification data type 5 body). */
  pckChainPem: string;
  attestationKey: KeyObject;
  pckKey: KeyObject;
  /** A TD report body instead of `enclave` (TEE type TDX): quote v4 for TD 1.0 (584 bytes), v5 for TD 1.5 (648). */
  tdBody?: Uint8Array;
}

/** Hooks that let the platform break exactly one property of an otherwise valid quote. */
export interface QuoteFaults {
  /** Replace the QE REPORTDATA binding (before the QE report is signed). */
  qeReportData?: Uint8Array;
  corruptQeReportSignature?: boolean;
  corruptQuoteSignature?: boolean;
  /** Header version written instead of parts.version (the layout stays that of parts.version). */
  headerVersion?: number;
  qeVendorId?: Uint8Array;
  attestationKeyType?: number;
  /** Certification data type written on the PCK chain record instead of 5. */
  pckCertDataType?: number;
}

function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(n);
  return b;
}
function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
}

function flipLastByte(bytes: Uint8Array): Uint8Array {
  const copy = Uint8Array.from(bytes);
  copy[copy.length - 1] ^= 0x01;
  return copy;
}

function certificationData(type: number, body: Uint8Array): Buffer {
  return Buffer.concat([u16(type), u32(body.length), body]);
}

/** REPORTDATA the QE must carry: SHA-256(attestation key ‖ QE auth data) ‖ 32 zero bytes. */
export function qeReportDataFor(attestationPublicKey: Uint8Array, qeAuthData: Uint8Array): Uint8Array {
  const digest = createHash('sha256').update(attestationPublicKey).update(qeAuthData).digest();
  return Buffer.concat([digest, Buffer.alloc(32)]);
}

export interface HeaderFields {
  version: number;
  /** 0 SGX (default), 0x81 TDX. */
  teeType?: number;
  qeSvn: number;
  pceSvn: number;
  qeId: Uint8Array;
  attestationKeyType?: number;
  qeVendorId?: Uint8Array;
}

export function encodeHeader(p: HeaderFields): Uint8Array {
  return Buffer.concat([
    u16(p.version),
    u16(p.attestationKeyType ?? ATTESTATION_KEY_TYPE_ECDSA_P256),
    u32(p.teeType ?? 0), // TEE type: SGX 0 (reserved in v3), TDX 0x81
    u16(p.qeSvn),
    u16(p.pceSvn),
    p.qeVendorId ?? INTEL_QE_VENDOR_ID,
    p.qeId,
    Buffer.alloc(4),
  ]);
}

export function assembleQuote(parts: QuoteParts, faults: QuoteFaults = {}): Uint8Array {
  const attestationPublicKey = rawPublicKey(parts.attestationKey);
  const header = encodeHeader({
    ...parts,
    ...(parts.tdBody ? { teeType: TEE_TYPE_TDX } : {}),
    version: faults.headerVersion ?? parts.version,
    ...(faults.attestationKeyType !== undefined ? { attestationKeyType: faults.attestationKeyType } : {}),
    ...(faults.qeVendorId !== undefined ? { qeVendorId: faults.qeVendorId } : {}),
  });
  // TD 1.5 bodies travel in quote v5, after a body descriptor (type 3, size) that is signed too.
  const body = parts.tdBody
    ? parts.tdBody.length === TD_REPORT15_SIZE
      ? Buffer.concat([u16(3), u32(TD_REPORT15_SIZE), parts.tdBody])
      : parts.tdBody
    : encodeReportBody(parts.enclave);
  let isvSignature = signRaw(Buffer.concat([header, body]), parts.attestationKey);
  if (faults.corruptQuoteSignature) isvSignature = flipLastByte(isvSignature);

  const qeReport = encodeReportBody({
    ...parts.qe,
    reportData: faults.qeReportData ?? qeReportDataFor(attestationPublicKey, parts.qeAuthData),
  });
  let qeReportSignature = signRaw(qeReport, parts.pckKey);
  if (faults.corruptQeReportSignature) qeReportSignature = flipLastByte(qeReportSignature);

  // Intel's QE terminates the PEM chain with a NUL byte; real quotes carry it.
  const pckChain = certificationData(faults.pckCertDataType ?? CERT_DATA_PCK_CHAIN, Buffer.concat([Buffer.from(parts.pckChainPem, 'ascii'), Buffer.alloc(1)]));
  const qeCertification = Buffer.concat([qeReport, qeReportSignature, u16(parts.qeAuthData.length), parts.qeAuthData]);
  const signatureData =
    parts.version >= 4
      ? Buffer.concat([isvSignature, attestationPublicKey, certificationData(CERT_DATA_QE_REPORT, Buffer.concat([qeCertification, pckChain]))])
      : Buffer.concat([isvSignature, attestationPublicKey, qeCertification, pckChain]);
  return new Uint8Array(Buffer.concat([header, body, u32(signatureData.length), signatureData]));
}
