import { AttestationError } from './errors.js';
import type { PckExtension } from './pck-extension.js';
import type { QeIdentity, QeTcbLevel, TcbInfo, TcbLevel, TdxModuleIdentity } from './tcb-info.js';
import type { TcbStatus } from './types.js';

/*
 * TCB level selection and status rules, point for point as Intel's QVL
 * (intel/SGX-TDX-DCAP-QuoteVerificationLibrary, Src/AttestationLibrary/src/
 * Verifiers/Checks/TcbLevelCheck.cpp, TdxModuleCheck.cpp, TDRelaunchCheck.cpp;
 * QuoteVerifier.cpp 4.1.2.4.11; Src/AttestationParsers/src/Json/TcbLevel.cpp
 * for the order). docs/attestation.md cites each rule.
 */

/** Lexicographic comparison of two SVN arrays (as std::vector operator> does). */
function compareSvns(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

/**
 * QVL keeps TCB levels in a std::set ordered by TcbLevel::operator>: SGX
 * components (lexicographic), then PCESVN, then for TDX the TDX components;
 * highest first. Levels equal under that order collapse to the first one
 * listed. The JSON order Intel serves is not trusted.
 */
export function orderTcbLevels(levels: readonly TcbLevel[], tdx: boolean): TcbLevel[] {
  const out: TcbLevel[] = [];
  const cmp = (a: TcbLevel, b: TcbLevel): number =>
    compareSvns(b.sgxComponents, a.sgxComponents) || b.pceSvn - a.pceSvn || (tdx ? compareSvns(b.tdxComponents ?? [], a.tdxComponents ?? []) : 0);
  for (const level of levels) if (!out.some((o) => cmp(o, level) === 0)) out.push(level);
  return out.sort(cmp); // Array#sort is stable; no two remaining levels compare equal anyway
}

/** The platform's SGX components and PCESVN (from the PCK certificate) reach the level. */
function sgxReaches(pck: PckExtension, level: TcbLevel): boolean {
  return pck.pceSvn >= level.pceSvn && level.sgxComponents.every((svn, i) => pck.tcbComponents[i]! >= svn);
}

/**
 * TEE_TCB_SVN reaches the level's TDX components. When the TDX module major
 * version (TEE_TCB_SVN[1]) is above 0, bytes 0 and 1 (module SVN and version)
 * are judged by the module identity instead and skipped here
 * (TcbLevelCheck.cpp isTdxTcbHigherOrEqual).
 */
function tdxReaches(teeTcbSvn: Uint8Array, level: TcbLevel): boolean {
  const comps = level.tdxComponents;
  if (!comps) return false;
  for (let i = teeTcbSvn[1]! > 0 ? 2 : 0; i < 16; i++) if (teeTcbSvn[i]! < comps[i]!) return false;
  return true;
}

export interface PlatformLevels {
  /** First level the SGX components and PCESVN reach (QVL's "SGX TCB level"). */
  sgx: TcbLevel;
  /** The level that decides the status: `sgx` for SGX; for TDX the first level SGX and TDX components both reach. */
  level: TcbLevel;
}

/**
 * Platform TCB level (step 10, QVL matchTcbLevels). Levels are walked in
 * QVL's order; every level is checked for SGX components and PCESVN again, so
 * for TDX the chosen level satisfies both. A Revoked SGX match does not end
 * the search (QVL logs it and goes on). No SGX match, or for TDX no level
 * satisfying both: TCB_LEVEL_NOT_FOUND (QVL STATUS_TCB_NOT_SUPPORTED).
 */
export function selectPlatformTcbLevel(tcbInfo: TcbInfo, pck: PckExtension, teeTcbSvn: Uint8Array | undefined): PlatformLevels {
  let sgx: TcbLevel | undefined;
  for (const level of tcbInfo.tcbLevels) {
    if (!sgxReaches(pck, level)) continue;
    sgx ??= level;
    if (!teeTcbSvn) return { sgx, level };
    if (tdxReaches(teeTcbSvn, level)) return { sgx, level };
  }
  throw new AttestationError(
    'TCB_LEVEL_NOT_FOUND',
    `no TCB level in TCB Info (FMSPC ${tcbInfo.fmspc}) matches the platform${sgx ? ` (SGX level ${sgx.tcbDate} matched, no TDX level)` : ''}: SGX components [${pck.tcbComponents.join(',')}], PCESVN ${pck.pceSvn}${
      teeTcbSvn ? `, TEE_TCB_SVN ${Buffer.from(teeTcbSvn).toString('hex')}` : ''
    }`,
  );
}

/** QE TCB level (step 6): the first QE Identity level whose ISVSVN the QE reaches. */
export function selectQeTcbLevel(identity: QeIdentity, qeIsvSvn: number): QeTcbLevel {
  const level = identity.tcbLevels.find((l) => qeIsvSvn >= l.isvSvn);
  if (!level) {
    throw new AttestationError('QE_TCB_LEVEL_NOT_FOUND', `QE ISVSVN ${qeIsvSvn} is below every TCB level of the QE Identity (${identity.id})`, {
      hint: 'the quoting enclave is too old; update the platform software (DCAP/PSW)',
    });
  }
  return level;
}

function moduleIdentityFor(tcbInfo: TcbInfo, version: number, which: string): TdxModuleIdentity {
  const id = `TDX_${version.toString(16).toUpperCase().padStart(2, '0')}`;
  if (!tcbInfo.tdxModuleIdentities) {
    // QuoteVerifier.cpp 4.1.2.4.11: a module version above 0 needs tdxModuleIdentities (STATUS_TCB_INFO_MISMATCH).
    throw new AttestationError('TCB_INFO_MISMATCH', `${which} is ${version} but TCB Info lists no tdxModuleIdentities`);
  }
  const identity = tcbInfo.tdxModuleIdentities.find((m) => m.id.toUpperCase() === id);
  if (!identity) throw new AttestationError('TDX_MODULE_MISMATCH', `TCB Info lists no TDX module identity ${id} (${which} = ${version})`);
  return identity;
}

/**
 * TDX module identity (step 10b, QuoteVerifier.cpp 4.1.2.4.11): MRSIGNERSEAM
 * must equal, and SEAMATTRIBUTES must be all zero and equal to, the identity
 * for the module's major version (TEE_TCB_SVN[1] > 0: `tdxModuleIdentities`
 * entry "TDX_<hex>") or TCB Info's `tdxModule` (version 0). QVL ignores the
 * attributes mask here; so do we.
 */
export function checkTdxModuleIdentity(tcbInfo: TcbInfo, teeTcbSvn: Uint8Array, mrSignerSeam: string, seamAttributes: string): void {
  const version = teeTcbSvn[1]!;
  const module = tcbInfo.tdxModule;
  if (!module) throw new AttestationError('TCB_INFO_MISMATCH', 'TDX TCB Info has no tdxModule, so MRSIGNERSEAM cannot be checked');
  const expected = version > 0 ? moduleIdentityFor(tcbInfo, version, 'TEE_TCB_SVN[1] (TDX module version)') : module;
  const label = version > 0 ? `TDX module identity ${(expected as TdxModuleIdentity).id}` : 'TCB Info tdxModule';
  if (expected.mrsigner !== mrSignerSeam) {
    throw new AttestationError('TDX_MODULE_MISMATCH', `MRSIGNERSEAM ${mrSignerSeam} does not match ${label} mrsigner ${expected.mrsigner}`);
  }
  if (/[^0]/.test(seamAttributes) || seamAttributes !== expected.attributes) {
    throw new AttestationError('TDX_MODULE_MISMATCH', `SEAMATTRIBUTES ${seamAttributes} must be zero and equal to ${label} attributes ${expected.attributes}`);
  }
}

/**
 * TDX module TCB level (TdxModuleCheck.cpp checkTdxModuleTcbStatus): none for
 * module version 0; otherwise the first level (as listed) whose `isvsvn`
 * TEE_TCB_SVN[0] reaches, none: TCB_LEVEL_NOT_FOUND.
 */
export function selectTdxModuleLevel(tcbInfo: TcbInfo, teeTcbSvn: Uint8Array): { status: TcbStatus; advisoryIds: string[]; tcbDate: string } | undefined {
  const version = teeTcbSvn[1]!;
  if (version === 0) return undefined;
  const identity = moduleIdentityFor(tcbInfo, version, 'TEE_TCB_SVN[1] (TDX module version)');
  const level = identity.tcbLevels.find((l) => teeTcbSvn[0]! >= l.isvSvn);
  if (!level) throw new AttestationError('TCB_LEVEL_NOT_FOUND', `TDX module ISVSVN ${teeTcbSvn[0]} is below every TCB level of ${identity.id}`);
  return level;
}

/** (value & mask) == (expected & mask), on equal-length hex strings. */
export function maskedEqual(valueHex: string, maskHex: string, expectedHex: string): boolean {
  if (valueHex.length !== maskHex.length || valueHex.length !== expectedHex.length) return false;
  for (let i = 0; i < valueHex.length; i += 2) {
    const v = parseInt(valueHex.slice(i, i + 2), 16);
    const m = parseInt(maskHex.slice(i, i + 2), 16);
    const e = parseInt(expectedHex.slice(i, i + 2), 16);
    if ((v & m) !== (e & m)) return false;
  }
  return true;
}

/**
 * Merges a status with a component's (QE or TDX module) the way Intel QVL
 * converges them (step 11): an out-of-date component makes the result out of
 * date, keeping "configuration needed"; a revoked component gives Revoked.
 * Deliberately stricter than QVL: a QE level "OutOfDateConfigurationNeeded"
 * counts as out of date too (QVL only looks at "OutOfDate").
 */
export function mergeTcbStatus(platform: TcbStatus, component: TcbStatus): TcbStatus {
  if (component === 'Revoked' || platform === 'Revoked') return 'Revoked';
  if (component === 'OutOfDate' || component === 'OutOfDateConfigurationNeeded') {
    if (platform === 'UpToDate' || platform === 'SWHardeningNeeded') return 'OutOfDate';
    if (platform === 'ConfigurationNeeded' || platform === 'ConfigurationAndSWHardeningNeeded') return 'OutOfDateConfigurationNeeded';
  }
  return platform;
}

const CONFIGURATION_NEEDED = new Set<TcbStatus>(['ConfigurationNeeded', 'OutOfDateConfigurationNeeded', 'ConfigurationAndSWHardeningNeeded', 'TDRelaunchAdvisedConfigurationNeeded']);
const SGX_CURRENT = new Set<TcbStatus>(['UpToDate', 'SWHardeningNeeded', 'ConfigurationNeeded', 'ConfigurationAndSWHardeningNeeded']);

/**
 * TD 1.5 relaunch (TDRelaunchCheck.cpp checkForRelaunch, 4.1.2.4.17.4.3): a TD
 * launched on an out-of-date TDX module whose module has since been updated
 * in place (TEE_TCB_SVN2) to the latest level is told to relaunch rather than
 * called out of date. Applies only when the QE is not out of date or revoked,
 * the SGX level is current, the TDX status is OutOfDate[ConfigurationNeeded]
 * and the module status is OutOfDate; "latest" = the first level in QVL order
 * (and the first level of the module identity for TEE_TCB_SVN2[1]).
 */
export function relaunchStatus(
  tcbInfo: TcbInfo,
  teeTcbSvn2: Uint8Array,
  sgxStatus: TcbStatus,
  tdxStatus: TcbStatus,
  moduleStatus: TcbStatus | undefined,
  qeStatus: TcbStatus,
): TcbStatus {
  if (qeStatus === 'OutOfDate' || qeStatus === 'Revoked') return tdxStatus;
  if (!SGX_CURRENT.has(sgxStatus)) return tdxStatus;
  if (tdxStatus !== 'OutOfDate' && tdxStatus !== 'OutOfDateConfigurationNeeded') return tdxStatus;
  if (moduleStatus !== 'OutOfDate') return tdxStatus;
  const latest = tcbInfo.tcbLevels[0];
  if (!latest?.tdxComponents) throw new AttestationError('TCB_LEVEL_NOT_FOUND', 'TDX TCB Info lists no TCB level to judge TEE_TCB_SVN2 against');
  let moduleCurrent: boolean;
  if (teeTcbSvn2[1] === 0) {
    moduleCurrent = teeTcbSvn2[0]! >= latest.tdxComponents[0]!;
  } else {
    const identity = moduleIdentityFor(tcbInfo, teeTcbSvn2[1]!, 'TEE_TCB_SVN2[1] (current TDX module version)');
    const newest = identity.tcbLevels[0];
    if (!newest) throw new AttestationError('TCB_LEVEL_NOT_FOUND', `${identity.id} lists no TCB level`);
    moduleCurrent = teeTcbSvn2[0]! >= newest.isvSvn;
  }
  if (!moduleCurrent || teeTcbSvn2[2]! < latest.tdxComponents[2]!) return tdxStatus;
  return CONFIGURATION_NEEDED.has(sgxStatus) || CONFIGURATION_NEEDED.has(tdxStatus) ? 'TDRelaunchAdvisedConfigurationNeeded' : 'TDRelaunchAdvised';
}

/** Union of advisory ID lists, first occurrence order. */
export function mergeAdvisories(...lists: string[][]): string[] {
  const out: string[] = [];
  for (const list of lists) for (const id of list) if (!out.includes(id)) out.push(id);
  return out;
}
