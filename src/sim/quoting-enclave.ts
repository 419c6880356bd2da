/**
 * The simulated Quoting Enclave: turns an enclave identity into a signed
 * quote with the platform's keys and PCK chain, optionally with one fault.
 */
import { createHash } from 'node:crypto';
import { pemChain } from './collateral.js';
import { corruptCertificateSignature, QUOTE_TAMPERS } from './faults.js';
import { checkUint, invalid, measurement, paddedReportData, parseHexOption } from './options.js';
import { currentTcb, type PlatformData } from './platform-data.js';
import { assembleQuote, encodeTdReport, TD_REPORT15_SIZE, type QuoteFaults } from './quote.js';
import { FLAG_DEBUG, FLAG_INIT, FLAG_MODE64BIT, FLAG_PROVISIONKEY, type ReportBodyFields } from './report.js';
import { cpuSvnOf } from './sgx-extension.js';
import type { SimQuoteOptions, SimTdQuoteOptions } from './types.js';

/** The simulated QE's identity: a fixed MRSIGNER/MRENCLAVE that is visibly not Intel's. */
export const SIM_QE_MRSIGNER = createHash('sha256').update('kubetee simulated quoting enclave signer').digest();
export const SIM_QE_MRENCLAVE = createHash('sha256').update('kubetee simulated quoting enclave').digest();
export const SIM_QE_ISV_PROD_ID = 1;
/** Intel's QE sends 32 bytes 0x00..0x1f as authentication data (all real fixtures). */
const QE_AUTH_DATA = Uint8Array.from({ length: 32 }, (_, i) => i);
/** XFRM of x87/SSE/AVX/AVX-512 state, as in the real fixtures. */
const XFRM_DEFAULT = 0xe7n;

export function makeQuote(d: PlatformData, options: SimQuoteOptions): Uint8Array {
  const version = options.version ?? 3;
  if (version !== 3 && version !== 4) throw invalid(`version must be 3 or 4, got ${String(version)}`, 'omit it for a v3 quote');
  const tamper = options.tamper;
  if (tamper !== undefined && !QUOTE_TAMPERS.includes(tamper)) throw invalid(`unknown quote tamper ${JSON.stringify(tamper)}`, `one of: ${QUOTE_TAMPERS.join(', ')}`);
  const tcb = currentTcb(d);
  const cpuSvn = cpuSvnOf(tcb);
  const enclave: ReportBodyFields = {
    cpuSvn,
    miscSelect: 0,
    flags: FLAG_INIT | FLAG_MODE64BIT | (options.debug ? FLAG_DEBUG : 0n),
    xfrm: XFRM_DEFAULT,
    mrEnclave: measurement('mrenclave', options.mrenclave, 0x11),
    mrSigner: measurement('mrsigner', options.mrsigner, 0x22),
    isvProdId: checkUint('isvProdId', options.isvProdId ?? 0, 0xffff),
    isvSvn: checkUint('isvSvn', options.isvSvn ?? 0, 0xffff),
    reportData: paddedReportData(options.reportData),
  };
  const qe: ReportBodyFields = {
    cpuSvn,
    miscSelect: tamper === 'qeMiscselect' ? 1 : 0,
    flags: FLAG_INIT | FLAG_MODE64BIT | FLAG_PROVISIONKEY | (tamper === 'qeDebug' ? FLAG_DEBUG : 0n),
    xfrm: XFRM_DEFAULT,
    mrEnclave: SIM_QE_MRENCLAVE,
    mrSigner: tamper === 'qeMrsigner' ? createHash('sha256').update('some other quoting enclave signer').digest() : SIM_QE_MRSIGNER,
    isvProdId: tamper === 'qeIsvProdId' ? SIM_QE_ISV_PROD_ID + 1 : SIM_QE_ISV_PROD_ID,
    isvSvn: d.qeSvn,
    reportData: new Uint8Array(64), // the key binding, set by assembleQuote
  };
  let leaf = d.certs.pckLeaf;
  if (tamper === 'pckLeafExpired') leaf = d.certs.pckLeafExpired;
  if (tamper === 'pckChainSignature') leaf = corruptCertificateSignature(leaf);
  // Wrong-signer faults: another certificate of this PKI poses as the PCK leaf and signs the QE report.
  let chain = [leaf, d.certs.pckCa, d.certs.root];
  let pckKey = d.keys.pckLeaf;
  if (tamper === 'pckChainLeafIsPckCa') {
    chain = [d.certs.pckCa, d.certs.root];
    pckKey = d.keys.pckCa;
  } else if (tamper === 'pckChainLeafIsTcbSigning') {
    chain = [d.certs.tcbSigning, d.certs.root];
    pckKey = d.keys.tcbSigning;
  }
  const faults: QuoteFaults = {
    ...(tamper === 'quoteSignature' ? { corruptQuoteSignature: true } : {}),
    ...(tamper === 'qeReportSignature' ? { corruptQeReportSignature: true } : {}),
    // A binding over other data: well-formed, correctly signed, wrong.
    ...(tamper === 'qeReportData' ? { qeReportData: Buffer.concat([createHash('sha256').update('not the attestation key').digest(), Buffer.alloc(32)]) } : {}),
    ...(tamper === 'unsupportedVersion' ? { headerVersion: 2 } : {}),
    ...(tamper === 'qeVendorId' ? { qeVendorId: Buffer.alloc(16, 0xee) } : {}),
    ...(tamper === 'attestationKeyType' ? { attestationKeyType: 3 } : {}),
    ...(tamper === 'certDataType' ? { pckCertDataType: 3 } : {}),
  };
  const td = options.tdx ? tdBody(options.tdx, paddedReportData(options.reportData)) : undefined;
  const quote = assembleQuote(
    {
      version: td ? (td.length === TD_REPORT15_SIZE ? 5 : 4) : version,
      ...(td ? { tdBody: td } : {}),
      qeSvn: d.qeSvn,
      pceSvn: tcb.pceSvn,
      qeId: d.qeId,
      enclave,
      qe,
      qeAuthData: QE_AUTH_DATA,
      pckChainPem: pemChain(chain),
      attestationKey: d.keys.attestation,
      pckKey,
    },
    faults,
  );
  // Cut inside the PCK chain: the declared lengths now promise more than is there.
  if (tamper === 'truncated') return quote.slice(0, quote.length - 200);
  if (tamper === 'trailingBytes') return Uint8Array.from(Buffer.concat([quote, Buffer.alloc(16, 0xa5)]));
  return quote;
}

/** TDATTRIBUTES with only SEPT_VE_DISABLE (bit 28) set, as production TDs run. */
const TD_ATTRIBUTES_DEFAULT = 1n << 28n;

function svn16(name: string, svns: number[]): Uint8Array {
  if (!Array.isArray(svns) || svns.length !== 16) throw invalid(`${name} must list 16 SVNs, got ${Array.isArray(svns) ? svns.length : typeof svns}`, 'pass 16 numbers 0..255');
  return Uint8Array.from(svns.map((v, i) => checkUint(`${name}[${i}]`, v, 255)));
}

function tdBody(o: SimTdQuoteOptions, reportData: Uint8Array): Uint8Array {
  return encodeTdReport({
    teeTcbSvn: svn16('tdx.teeTcbSvn', o.teeTcbSvn),
    ...(o.teeTcbSvn2 ? { teeTcbSvn2: svn16('tdx.teeTcbSvn2', o.teeTcbSvn2) } : {}),
    mrSignerSeam: o.mrSignerSeam === undefined ? new Uint8Array(48) : parseHexOption('tdx.mrSignerSeam', o.mrSignerSeam, 48),
    seamAttributes: o.seamAttributes === undefined ? new Uint8Array(8) : parseHexOption('tdx.seamAttributes', o.seamAttributes, 8),
    tdAttributes: TD_ATTRIBUTES_DEFAULT,
    xfam: 0xe7n,
    mrTd: createHash('sha384').update('kubetee simulated TD').digest(),
    reportData,
  });
}
