import { AttestationError } from './errors.js';
import { orderTcbLevels } from './tcb-evaluation.js';
import { QE_LEVEL_STATUSES, TCB_LEVEL_STATUSES, TDX_MODULE_LEVEL_STATUSES, type TcbStatus } from './types.js';

export interface TcbLevel {
  sgxComponents: number[];
  pceSvn: number;
  /** TDX TCB Info only. */
  tdxComponents: number[] | undefined;
  tcbDate: string;
  status: TcbStatus;
  advisoryIds: string[];
}

export interface TdxModuleIdentity {
  id: string;
  mrsigner: string;
  attributes: string;
  attributesMask: string;
  tcbLevels: { isvSvn: number; tcbDate: string; status: TcbStatus; advisoryIds: string[] }[];
}

/** TCB Info v2 (SGX) or v3 (SGX/TDX), normalised. */
export interface TcbInfo {
  id: 'SGX' | 'TDX';
  version: number;
  issueDate: Date;
  nextUpdate: Date;
  fmspc: string;
  pceId: string;
  tcbType: number;
  tcbEvaluationDataNumber: number;
  tdxModule: { mrsigner: string; attributes: string; attributesMask: string } | undefined;
  tdxModuleIdentities: TdxModuleIdentity[] | undefined;
  tcbLevels: TcbLevel[];
}

export interface QeTcbLevel {
  isvSvn: number;
  tcbDate: string;
  status: TcbStatus;
  advisoryIds: string[];
}

/** QE Identity v2 (enclaveIdentity), normalised. */
export interface QeIdentity {
  id: string;
  version: number;
  issueDate: Date;
  nextUpdate: Date;
  tcbEvaluationDataNumber: number;
  miscselect: number;
  miscselectMask: number;
  attributes: string;
  attributesMask: string;
  mrsigner: string;
  isvProdId: number;
  tcbLevels: QeTcbLevel[];
}

/** Field access with typed errors naming the document and JSON path. */
class Fields {
  constructor(
    private readonly code: 'BAD_TCB_INFO' | 'BAD_QE_IDENTITY',
    private readonly doc: string,
  ) {}

  fail(path: string, what: string): never {
    throw new AttestationError(this.code, `${this.doc} ${path}: ${what}`);
  }

  obj(v: unknown, path: string): Record<string, unknown> {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) this.fail(path, 'must be an object');
    return v as Record<string, unknown>;
  }

  arr(v: unknown, path: string): unknown[] {
    if (!Array.isArray(v)) this.fail(path, 'must be an array');
    return v;
  }

  int(v: unknown, path: string, max = 0xffffffff): number {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max) this.fail(path, `must be an integer 0..${max}`);
    return v;
  }

  str(v: unknown, path: string): string {
    if (typeof v !== 'string') this.fail(path, 'must be a string');
    return v;
  }

  hex(v: unknown, path: string, bytes: number): string {
    const s = this.str(v, path);
    if (s.length !== bytes * 2 || !/^[0-9a-fA-F]*$/.test(s)) this.fail(path, `must be ${bytes} bytes of hex`);
    return s.toLowerCase();
  }

  date(v: unknown, path: string): Date {
    const s = this.str(v, path);
    const d = new Date(s);
    if (!/^\d{4}-\d{2}-\d{2}T/.test(s) || Number.isNaN(d.getTime())) this.fail(path, `"${s}" is not an ISO-8601 date`);
    return d;
  }

  /** Intel QVL rejects the whole document when any level carries a status it does not know (TcbLevel::parseStatus). */
  status(v: unknown, path: string, valid: readonly string[]): TcbStatus {
    const s = this.str(v, path);
    if (!valid.includes(s)) {
      throw new AttestationError('UNKNOWN_TCB_STATUS', `${this.doc} ${path}: "${s}" is not a TCB status Intel defines here (${valid.join(', ')})`, {
        hint: 'update kubetee; a status this version does not know is never treated as acceptable',
      });
    }
    return s as TcbStatus;
  }

  advisories(v: unknown, path: string): string[] {
    if (v === undefined) return [];
    return this.arr(v, path).map((a, i) => this.str(a, `${path}[${i}]`));
  }
}

/** Parses the exact signed `tcbInfo` text (v2 flat components or v3 arrays). */
export function parseTcbInfo(text: string): TcbInfo {
  const f: Fields = new Fields('BAD_TCB_INFO', 'TCB Info');
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new AttestationError('BAD_TCB_INFO', `TCB Info is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
  const o = f.obj(raw, '$');
  const version = f.int(o['version'], 'version');
  if (version !== 2 && version !== 3) f.fail('version', `${version} is not supported (expected 2 or 3)`);
  const id = version === 2 ? 'SGX' : f.str(o['id'], 'id');
  if (id !== 'SGX' && id !== 'TDX') f.fail('id', `"${id}" is not SGX or TDX`);
  const levels = f.arr(o['tcbLevels'], 'tcbLevels').map((lv, i): TcbLevel => {
    const p = `tcbLevels[${i}]`;
    const l = f.obj(lv, p);
    const tcb = f.obj(l['tcb'], `${p}.tcb`);
    let sgxComponents: number[];
    let tdxComponents: number[] | undefined;
    if (version === 2) {
      sgxComponents = [];
      for (let c = 1; c <= 16; c++) {
        const key = `sgxtcbcomp${String(c).padStart(2, '0')}svn`;
        sgxComponents.push(f.int(tcb[key], `${p}.tcb.${key}`, 255));
      }
    } else {
      sgxComponents = components(f, tcb['sgxtcbcomponents'], `${p}.tcb.sgxtcbcomponents`);
      if (id === 'TDX') tdxComponents = components(f, tcb['tdxtcbcomponents'], `${p}.tcb.tdxtcbcomponents`);
    }
    return {
      sgxComponents,
      pceSvn: f.int(tcb['pcesvn'], `${p}.tcb.pcesvn`, 0xffff),
      tdxComponents,
      tcbDate: f.str(l['tcbDate'], `${p}.tcbDate`),
      status: f.status(l['tcbStatus'], `${p}.tcbStatus`, TCB_LEVEL_STATUSES),
      advisoryIds: f.advisories(l['advisoryIDs'], `${p}.advisoryIDs`),
    };
  });
  let tdxModule: TcbInfo['tdxModule'];
  let tdxModuleIdentities: TcbInfo['tdxModuleIdentities'];
  if (id === 'TDX') {
    // QVL's TDX TCB Info parser requires tdxModule (MRSIGNERSEAM is always checked against something).
    if (o['tdxModule'] === undefined) f.fail('tdxModule', 'is required in TDX TCB Info');
    {
      const m = f.obj(o['tdxModule'], 'tdxModule');
      tdxModule = {
        mrsigner: f.hex(m['mrsigner'], 'tdxModule.mrsigner', 48),
        attributes: f.hex(m['attributes'], 'tdxModule.attributes', 8),
        attributesMask: f.hex(m['attributesMask'], 'tdxModule.attributesMask', 8),
      };
    }
    if (o['tdxModuleIdentities'] !== undefined) {
      tdxModuleIdentities = f.arr(o['tdxModuleIdentities'], 'tdxModuleIdentities').map((mv, i) => {
        const p = `tdxModuleIdentities[${i}]`;
        const m = f.obj(mv, p);
        return {
          id: f.str(m['id'], `${p}.id`),
          mrsigner: f.hex(m['mrsigner'], `${p}.mrsigner`, 48),
          attributes: f.hex(m['attributes'], `${p}.attributes`, 8),
          attributesMask: f.hex(m['attributesMask'], `${p}.attributesMask`, 8),
          tcbLevels: f.arr(m['tcbLevels'], `${p}.tcbLevels`).map((lv, j) => {
            const q = `${p}.tcbLevels[${j}]`;
            const l = f.obj(lv, q);
            return {
              isvSvn: f.int(f.obj(l['tcb'], `${q}.tcb`)['isvsvn'], `${q}.tcb.isvsvn`, 255),
              tcbDate: f.str(l['tcbDate'], `${q}.tcbDate`),
              status: f.status(l['tcbStatus'], `${q}.tcbStatus`, TDX_MODULE_LEVEL_STATUSES),
              advisoryIds: f.advisories(l['advisoryIDs'], `${q}.advisoryIDs`),
            };
          }),
        };
      });
    }
  }
  return {
    id,
    version,
    issueDate: f.date(o['issueDate'], 'issueDate'),
    nextUpdate: f.date(o['nextUpdate'], 'nextUpdate'),
    fmspc: f.hex(o['fmspc'], 'fmspc', 6),
    pceId: f.hex(o['pceId'], 'pceId', 2),
    tcbType: o['tcbType'] === undefined ? 0 : f.int(o['tcbType'], 'tcbType'),
    tcbEvaluationDataNumber: o['tcbEvaluationDataNumber'] === undefined ? 0 : f.int(o['tcbEvaluationDataNumber'], 'tcbEvaluationDataNumber'),
    tdxModule,
    tdxModuleIdentities,
    // QVL's order, not the JSON's (tcb-evaluation.ts orderTcbLevels).
    tcbLevels: orderTcbLevels(levels, id === 'TDX'),
  };
}

function components(f: Fields, v: unknown, path: string): number[] {
  const a = f.arr(v, path);
  if (a.length !== 16) f.fail(path, `must list 16 components, found ${a.length}`);
  return a.map((c, i) => f.int(f.obj(c, `${path}[${i}]`)['svn'], `${path}[${i}].svn`, 255));
}

/** Parses the exact signed `enclaveIdentity` text (QE Identity v2). */
export function parseQeIdentity(text: string): QeIdentity {
  const f: Fields = new Fields('BAD_QE_IDENTITY', 'QE Identity');
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new AttestationError('BAD_QE_IDENTITY', `QE Identity is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
  const o = f.obj(raw, '$');
  const version = f.int(o['version'], 'version');
  if (version !== 2) f.fail('version', `${version} is not supported (expected 2)`);
  return {
    id: f.str(o['id'], 'id'),
    version,
    issueDate: f.date(o['issueDate'], 'issueDate'),
    nextUpdate: f.date(o['nextUpdate'], 'nextUpdate'),
    tcbEvaluationDataNumber: o['tcbEvaluationDataNumber'] === undefined ? 0 : f.int(o['tcbEvaluationDataNumber'], 'tcbEvaluationDataNumber'),
    miscselect: parseInt(f.hex(o['miscselect'], 'miscselect', 4), 16),
    miscselectMask: parseInt(f.hex(o['miscselectMask'], 'miscselectMask', 4), 16),
    attributes: f.hex(o['attributes'], 'attributes', 16),
    attributesMask: f.hex(o['attributesMask'], 'attributesMask', 16),
    mrsigner: f.hex(o['mrsigner'], 'mrsigner', 32),
    isvProdId: f.int(o['isvprodid'], 'isvprodid', 0xffff),
    tcbLevels: f.arr(o['tcbLevels'], 'tcbLevels').map((lv, i) => {
      const p = `tcbLevels[${i}]`;
      const l = f.obj(lv, p);
      return {
        isvSvn: f.int(f.obj(l['tcb'], `${p}.tcb`)['isvsvn'], `${p}.tcb.isvsvn`, 0xffff),
        tcbDate: f.str(l['tcbDate'], `${p}.tcbDate`),
        status: f.status(l['tcbStatus'], `${p}.tcbStatus`, QE_LEVEL_STATUSES),
        advisoryIds: f.advisories(l['advisoryIDs'], `${p}.advisoryIDs`),
      };
    }),
  };
}
