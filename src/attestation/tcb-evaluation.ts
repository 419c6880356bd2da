import { AttestationError } from './errors.js';
import type { PckExtension } from './pck-extension.js';
import type { QeIdentity, QeTcbLevel, TcbInfo, TcbLevel } from './tcb-info.js';
import { TCB_STATUSES, type TcbStatus } from './types.js';

/**
 * Platform TCB level (algorithm step 10), as Intel QVL's TcbLevelCheck selects
 * it: the first level, in the order TCB Info lists them (highest first), whose
 * SGX components and PCESVN are all at or below the values certified in the
 * PCK certificate. For TDX the search continues from that level to the first
 * one whose TDX components are all at or below TEE_TCB_SVN (all 16 bytes); a
 * Revoked SGX match ends the search as that level.
 */
export function selectPlatformTcbLevel(tcbInfo: TcbInfo, pck: PckExtension, teeTcbSvn: Uint8Array | undefined): TcbLevel {
  const levels = tcbInfo.tcbLevels;
  const sgxIndex = levels.findIndex((l) => pck.pceSvn >= l.pceSvn && l.sgxComponents.every((svn, i) => pck.tcbComponents[i]! >= svn));
  let chosen: TcbLevel | undefined;
  if (sgxIndex >= 0) {
    const sgxLevel = levels[sgxIndex]!;
    if (!teeTcbSvn || sgxLevel.status === 'Revoked') chosen = sgxLevel;
    else {
      chosen = levels.slice(sgxIndex).find((l) => l.tdxComponents !== undefined && l.tdxComponents.every((svn, i) => teeTcbSvn[i]! >= svn));
    }
  }
  if (chosen) {
    knownStatus(chosen.status, `the matching TCB Info level (${chosen.tcbDate})`);
    return chosen;
  }
  throw new AttestationError(
    'TCB_LEVEL_NOT_FOUND',
    `no TCB level in TCB Info (FMSPC ${tcbInfo.fmspc}) matches the platform: SGX components [${pck.tcbComponents.join(',')}], PCESVN ${pck.pceSvn}${
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
  knownStatus(level.status, `the matching QE Identity level (${level.tcbDate})`);
  return level;
}

/**
 * TDX module identity (step 10b): MRSIGNERSEAM and SEAMATTRIBUTES must match
 * the identity for the module's major version ("TDX_" + hex TEE_TCB_SVN[1]),
 * or TCB Info's `tdxModule` for version 0. Returns the module's TCB level when
 * TCB Info lists per-version identities, else undefined.
 */
export function checkTdxModule(
  tcbInfo: TcbInfo,
  teeTcbSvn: Uint8Array,
  mrSignerSeam: string,
  seamAttributes: string,
): { status: TcbStatus; advisoryIds: string[] } | undefined {
  const version = teeTcbSvn[1]!;
  const matches = (m: { mrsigner: string; attributes: string; attributesMask: string }, label: string): void => {
    if (m.mrsigner !== mrSignerSeam) {
      throw new AttestationError('TDX_MODULE_MISMATCH', `MRSIGNERSEAM ${mrSignerSeam} does not match ${label} mrsigner ${m.mrsigner}`);
    }
    if (!maskedEqual(seamAttributes, m.attributesMask, m.attributes)) {
      throw new AttestationError('TDX_MODULE_MISMATCH', `SEAMATTRIBUTES ${seamAttributes} do not match ${label} attributes ${m.attributes} under mask ${m.attributesMask}`);
    }
  };
  if (version === 0 || !tcbInfo.tdxModuleIdentities) {
    if (tcbInfo.tdxModule) matches(tcbInfo.tdxModule, 'TCB Info tdxModule');
    return undefined;
  }
  const id = `TDX_${version.toString(16).toUpperCase().padStart(2, '0')}`;
  const identity = tcbInfo.tdxModuleIdentities.find((m) => m.id.toUpperCase() === id);
  if (!identity) throw new AttestationError('TDX_MODULE_MISMATCH', `TCB Info lists no TDX module identity ${id} (TEE_TCB_SVN[1] = ${version})`);
  matches(identity, `TDX module identity ${id}`);
  const level = identity.tcbLevels.find((l) => teeTcbSvn[0]! >= l.isvSvn);
  if (!level) throw new AttestationError('TCB_LEVEL_NOT_FOUND', `TDX module ISVSVN ${teeTcbSvn[0]} is below every TCB level of ${id}`);
  return { status: knownStatus(level.status, `the matching ${id} level`), advisoryIds: level.advisoryIds };
}

/** (value & mask) == expected, on equal-length hex strings. */
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
 * Merges the platform status with a component's (QE or TDX module) status the
 * way Intel QVL converges them (step 11): an out-of-date component makes the
 * result out of date, keeping "configuration needed"; Revoked wins.
 */
export function mergeTcbStatus(platform: TcbStatus, component: TcbStatus): TcbStatus {
  if (component === 'Revoked' || platform === 'Revoked') return 'Revoked';
  if (component === 'OutOfDate' || component === 'OutOfDateConfigurationNeeded') {
    if (platform === 'UpToDate' || platform === 'SWHardeningNeeded') return 'OutOfDate';
    if (platform === 'ConfigurationNeeded' || platform === 'ConfigurationAndSWHardeningNeeded') return 'OutOfDateConfigurationNeeded';
  }
  return platform;
}

/** Union of advisory ID lists, first occurrence order. */
export function mergeAdvisories(...lists: string[][]): string[] {
  const out: string[] = [];
  for (const list of lists) for (const id of list) if (!out.includes(id)) out.push(id);
  return out;
}

/** Rejects a matched level whose status is not one of Intel's names (never guess its meaning). */
export function knownStatus(status: string, where: string): TcbStatus {
  if (!(TCB_STATUSES as readonly string[]).includes(status)) {
    throw new AttestationError('UNKNOWN_TCB_STATUS', `${where} has the unknown TCB status "${status}"`, {
      hint: 'update kubetee; a status this version does not know is never treated as acceptable',
    });
  }
  return status as TcbStatus;
}
