/**
 * TCB Info (v3) and QE Identity (v2) JSON text, field for field in Intel's
 * order, plus the helpers that sign the exact text and format issuer chains.
 * The text is produced once and signed as is: verifiers must check the
 * signature over these exact bytes, never a re-serialisation.
 */
import type { KeyObject } from 'node:crypto';
import { signRaw } from './keys.js';
import type { TcbLevel } from './tcb-levels.js';

/** Intel's category/type labels of the first SGX TCB components (as in 2025 TCB Info). */
const COMPONENT_LABELS: Array<{ category?: string; type?: string }> = [
  { category: 'BIOS', type: 'Early Microcode Update' },
  { category: 'OS/VMM', type: 'SGX Late Microcode Update' },
  { category: 'OS/VMM', type: 'TXT SINIT' },
  { category: 'BIOS' },
];

/** Intel's timestamp form: whole seconds, Zulu ("2025-06-19T10:56:11Z"). */
export function isoSeconds(date: Date): string {
  return `${date.toISOString().slice(0, 19)}Z`;
}

export interface TcbInfoParams {
  /** "SGX", or "TDX" for TDX collateral (and the wrong-TEE negative test). */
  id: 'SGX' | 'TDX';
  /** TDX only: tdxModule (null: left out) and tdxModuleIdentities, in Intel's JSON shape. */
  tdxModule?: { mrsigner: string; attributes: string; attributesMask: string } | null;
  tdxModuleIdentities?: unknown[];
  issueDate: Date;
  nextUpdate: Date;
  fmspc: string;
  pceId: string;
  tcbEvaluationDataNumber: number;
  levels: TcbLevel[];
}

export function tcbInfoText(p: TcbInfoParams): string {
  const tcbInfo = {
    id: p.id,
    version: 3,
    issueDate: isoSeconds(p.issueDate),
    nextUpdate: isoSeconds(p.nextUpdate),
    fmspc: p.fmspc.toLowerCase(),
    pceId: p.pceId.toLowerCase(),
    tcbType: 0,
    tcbEvaluationDataNumber: p.tcbEvaluationDataNumber,
    // A TDX TCB Info names the TDX module signer, as Intel's does.
    ...(p.id === 'TDX' && p.tdxModule !== null ? { tdxModule: p.tdxModule ?? { mrsigner: '00'.repeat(48), attributes: '0000000000000000', attributesMask: 'FFFFFFFFFFFFFFFF' } } : {}),
    ...(p.id === 'TDX' && p.tdxModuleIdentities ? { tdxModuleIdentities: p.tdxModuleIdentities } : {}),
    tcbLevels: p.levels.map((level) => ({
      tcb: {
        sgxtcbcomponents: level.tcb.sgxTcbComponents.map((svn, i) => ({ svn, ...COMPONENT_LABELS[i] })),
        pcesvn: level.tcb.pceSvn,
        // TDX TCB Info also lists the TDX components, after pcesvn as Intel does.
        ...(p.id === 'TDX' ? { tdxtcbcomponents: (level.tdxTcbComponents ?? level.tcb.sgxTcbComponents.map(() => 0)).map((svn) => ({ svn })) } : {}),
      },
      tcbDate: level.tcbDate,
      tcbStatus: level.tcbStatus,
      ...(level.advisoryIDs.length > 0 ? { advisoryIDs: level.advisoryIDs } : {}),
    })),
  };
  return JSON.stringify(tcbInfo);
}

export interface QeIdentityParams {
  /** "QE" (SGX) or "TD_QE" (TDX). */
  id?: 'QE' | 'TD_QE';
  issueDate: Date;
  nextUpdate: Date;
  tcbEvaluationDataNumber: number;
  mrsigner: Uint8Array;
  isvProdId: number;
  /** The QE's own ISVSVN: the UpToDate level. */
  qeSvn: number;
  /** Date of the QE's UpToDate level. */
  tcbDate: string;
  /** Negative tests: publish only a level this high (above the QE's own ISVSVN). */
  lowestIsvSvn?: number;
}

/** Intel's QE Identity masks: MISCSELECT fully, ATTRIBUTES all flags but MODE64BIT, XFRM ignored. */
export const QE_MISCSELECT = '00000000';
export const QE_MISCSELECT_MASK = 'FFFFFFFF';
export const QE_ATTRIBUTES = '11000000000000000000000000000000';
export const QE_ATTRIBUTES_MASK = 'FBFFFFFFFFFFFFFF0000000000000000';
export const QE_ADVISORY_ID = 'SIM-SA-Q0001';

export function qeIdentityText(p: QeIdentityParams): string {
  const levels: Array<{ tcb: { isvsvn: number }; tcbDate: string; tcbStatus: string; advisoryIDs?: string[] }> = [
    { tcb: { isvsvn: p.lowestIsvSvn ?? p.qeSvn }, tcbDate: p.tcbDate, tcbStatus: 'UpToDate' },
  ];
  if (p.qeSvn >= 2 && p.lowestIsvSvn === undefined) {
    levels.push({ tcb: { isvsvn: p.qeSvn - 2 }, tcbDate: '2021-11-10T00:00:00Z', tcbStatus: 'OutOfDate', advisoryIDs: [QE_ADVISORY_ID] });
  }
  const identity = {
    id: p.id ?? 'QE',
    version: 2,
    issueDate: isoSeconds(p.issueDate),
    nextUpdate: isoSeconds(p.nextUpdate),
    tcbEvaluationDataNumber: p.tcbEvaluationDataNumber,
    miscselect: QE_MISCSELECT,
    miscselectMask: QE_MISCSELECT_MASK,
    attributes: QE_ATTRIBUTES,
    attributesMask: QE_ATTRIBUTES_MASK,
    mrsigner: Buffer.from(p.mrsigner).toString('hex').toUpperCase(),
    isvprodid: p.isvProdId,
    tcbLevels: levels,
  };
  return JSON.stringify(identity);
}

/** Hex of the raw r‖s signature over the UTF-8 bytes of `text`. */
export function signText(text: string, key: KeyObject): string {
  return Buffer.from(signRaw(Buffer.from(text, 'utf8'), key)).toString('hex');
}

/** PEM with 64-column base64 lines, one certificate. */
export function certificatePem(der: Uint8Array): string {
  const b64 = Buffer.from(der).toString('base64');
  const lines = b64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN CERTIFICATE-----\n${lines.join('\n')}\n-----END CERTIFICATE-----\n`;
}

export function pemChain(ders: Uint8Array[]): string {
  return ders.map(certificatePem).join('');
}

/** PEM of a DER CRL (PCS serves PCK CRLs as PEM unless `encoding=der`). */
export function crlPem(der: Uint8Array): string {
  const lines = Buffer.from(der).toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN X509 CRL-----\n${lines.join('\n')}\n-----END X509 CRL-----\n`;
}
