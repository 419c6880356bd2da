import { DerReader, TAG, type DerNode } from './der.js';
import { OID_SGX_EXTENSION } from './x509.js';

/** Platform facts Intel puts in the PCK leaf certificate (SGX extension). */
export interface PckExtension {
  ppid: string;
  /** The 16 SGX TCB component SVNs (CPUSVN components as certified). */
  tcbComponents: number[];
  pceSvn: number;
  cpuSvn: string;
  pceId: string;
  fmspc: string;
  /** 0 standard, 1 scalable, 2 scalable with integrity (when present). */
  sgxType: number | undefined;
}

/** Decodes the DER value of extension 1.2.840.113741.1.13.1; BAD_PCK_EXTENSION on any problem. */
export function parsePckExtension(der: Uint8Array): PckExtension {
  const d: DerReader = new DerReader(der, 'BAD_PCK_EXTENSION', 'PCK certificate SGX extension');
  const root = d.expect(0, der.length, TAG.SEQUENCE, 'SGX extension SEQUENCE');
  if (root.end !== der.length) d.fail('trailing bytes after the SGX extension');
  let ppid: string | undefined;
  let tcb: { comps: number[]; pceSvn: number; cpuSvn: string } | undefined;
  let pceId: string | undefined;
  let fmspc: string | undefined;
  let sgxType: number | undefined;
  for (const item of d.children(root)) {
    const [oidNode, value] = d.children(item);
    if (!oidNode || !value) d.fail(`element at byte ${item.start} needs an OID and a value`);
    const oid = d.oid(oidNode);
    if (!oid.startsWith(`${OID_SGX_EXTENSION}.`)) d.fail(`unexpected OID ${oid}`);
    const sub = oid.slice(OID_SGX_EXTENSION.length + 1);
    if (sub === '1') ppid = octets(d, value, 'PPID', 16);
    else if (sub === '2') tcb = parseTcb(d, value);
    else if (sub === '3') pceId = octets(d, value, 'PCE-ID', 2);
    else if (sub === '4') fmspc = octets(d, value, 'FMSPC', 6);
    else if (sub === '5') sgxType = d.smallInt(value);
  }
  if (ppid === undefined) d.fail('PPID (.1) is missing');
  if (tcb === undefined) d.fail('TCB (.2) is missing');
  if (pceId === undefined) d.fail('PCE-ID (.3) is missing');
  if (fmspc === undefined) d.fail('FMSPC (.4) is missing');
  return { ppid, tcbComponents: tcb.comps, pceSvn: tcb.pceSvn, cpuSvn: tcb.cpuSvn, pceId, fmspc, sgxType };
}

function octets(d: DerReader, n: DerNode, what: string, size: number): string {
  if (n.tag !== TAG.OCTET_STRING) d.fail(`${what} is not an OCTET STRING`);
  const v = d.value(n);
  if (v.length !== size) d.fail(`${what} must be ${size} bytes, found ${v.length}`);
  return Buffer.from(v).toString('hex');
}

function parseTcb(d: DerReader, n: DerNode): { comps: number[]; pceSvn: number; cpuSvn: string } {
  if (n.tag !== TAG.SEQUENCE) d.fail('TCB (.2) is not a SEQUENCE');
  const comps: (number | undefined)[] = new Array(16).fill(undefined);
  let pceSvn: number | undefined;
  let cpuSvn: string | undefined;
  const prefix = `${OID_SGX_EXTENSION}.2.`;
  for (const item of d.children(n)) {
    const [oidNode, value] = d.children(item);
    if (!oidNode || !value) d.fail('TCB element needs an OID and a value');
    const oid = d.oid(oidNode);
    if (!oid.startsWith(prefix)) d.fail(`unexpected TCB OID ${oid}`);
    const idx = Number(oid.slice(prefix.length));
    if (idx >= 1 && idx <= 16) {
      const svn = d.smallInt(value);
      if (svn > 255) d.fail(`TCB component ${idx} SVN ${svn} is out of range`);
      comps[idx - 1] = svn;
    } else if (idx === 17) {
      pceSvn = d.smallInt(value);
      if (pceSvn > 0xffff) d.fail(`PCESVN ${pceSvn} is out of range`);
    } else if (idx === 18) cpuSvn = octets(d, value, 'CPUSVN', 16);
  }
  if (comps.some((c) => c === undefined)) d.fail('TCB must list all 16 SGX TCB components');
  if (pceSvn === undefined) d.fail('PCESVN (.2.17) is missing');
  return { comps: comps as number[], pceSvn, cpuSvn: cpuSvn ?? '' };
}
