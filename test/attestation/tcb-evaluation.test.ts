/**
 * TCB level selection and status rules, point for point as Intel's QVL
 * (issue 12.4; docs/attestation.md "TCB evaluation: Intel QVL's rules"). Each
 * test names the QVL rule it pins down; the pre-12.4 verifier failed the
 * ordering, re-check, TEE_TCB_SVN byte, Revoked, module and relaunch tests.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AttestationError, parseTcbInfo, parseQeIdentity, TCB_STATUSES, type TcbStatus } from '../../src/attestation/index.js';
import {
  checkTdxModuleIdentity,
  maskedEqual,
  mergeAdvisories,
  mergeTcbStatus,
  orderTcbLevels,
  relaunchStatus,
  selectPlatformTcbLevel,
  selectQeTcbLevel,
  selectTdxModuleLevel,
} from '../../src/attestation/tcb-evaluation.js';
import type { PckExtension } from '../../src/attestation/pck-extension.js';
import type { QeIdentity, TcbInfo, TcbLevel } from '../../src/attestation/tcb-info.js';

const comps = (first: number, rest = 0): number[] => [first, ...new Array<number>(15).fill(rest)];
const tdxComps = (bytes: number[]): number[] => [...bytes, ...new Array<number>(16 - bytes.length).fill(0)];
const svn16 = (bytes: number[]): Uint8Array => Uint8Array.from(tdxComps(bytes));
const ZERO48 = '00'.repeat(48);

function level(status: TcbStatus, sgx: number[], pceSvn: number, tdx?: number[], advisoryIds: string[] = []): TcbLevel {
  return { sgxComponents: sgx, pceSvn, tdxComponents: tdx, tcbDate: '2025-01-01T00:00:00Z', status, advisoryIds };
}

function info(levels: TcbLevel[], extra: Partial<TcbInfo> = {}): TcbInfo {
  const tdx = extra.id === 'TDX';
  return {
    id: 'SGX',
    version: 3,
    issueDate: new Date(0),
    nextUpdate: new Date(0),
    fmspc: '00606a000000',
    pceId: '0000',
    tcbType: 0,
    tcbEvaluationDataNumber: 17,
    tdxModule: undefined,
    tdxModuleIdentities: undefined,
    ...extra,
    tcbLevels: orderTcbLevels(levels, tdx),
  };
}

const pck = (tcb: number[], pceSvn: number): PckExtension => ({ ppid: '', tcbComponents: tcb, pceSvn, cpuSvn: '', pceId: '0000', fmspc: '00606a000000', sgxType: 0 });
const code = (fn: () => unknown): string => {
  try {
    fn();
  } catch (e) {
    return (e as AttestationError).code;
  }
  return 'none';
};

test('SGX: the first level (QVL order) the PCK TCB reaches, components and PCESVN both', () => {
  const levels = [level('UpToDate', comps(5), 13), level('SWHardeningNeeded', comps(4), 13), level('OutOfDate', comps(2), 10)];
  assert.equal(selectPlatformTcbLevel(info(levels), pck(comps(5), 13), undefined).level.status, 'UpToDate');
  assert.equal(selectPlatformTcbLevel(info(levels), pck(comps(9, 9), 99), undefined).level.status, 'UpToDate');
  assert.equal(selectPlatformTcbLevel(info(levels), pck(comps(4), 13), undefined).level.status, 'SWHardeningNeeded');
  assert.equal(selectPlatformTcbLevel(info(levels), pck(comps(5), 12), undefined).level.status, 'OutOfDate');
  const needLast = [level('UpToDate', comps(5, 2), 13), level('OutOfDate', comps(0), 0)];
  assert.equal(selectPlatformTcbLevel(info(needLast), pck(comps(5, 1), 13), undefined).level.status, 'OutOfDate');
  assert.equal(code(() => selectPlatformTcbLevel(info(levels), pck(comps(1), 13), undefined)), 'TCB_LEVEL_NOT_FOUND');
});

test('order by SGX components, then PCESVN, then (TDX) TDX components, highest first; not the JSON order (TcbLevel::operator>)', () => {
  // Listed lowest first: JSON order would pick OutOfDate.
  const shuffled = [level('OutOfDate', comps(2), 10), level('SWHardeningNeeded', comps(4), 13), level('UpToDate', comps(5), 13)];
  assert.equal(selectPlatformTcbLevel(info(shuffled), pck(comps(9), 99), undefined).level.status, 'UpToDate');
  // Equal components: PCESVN decides.
  const byPce = [level('OutOfDate', comps(5), 10), level('UpToDate', comps(5), 13)];
  assert.deepEqual(orderTcbLevels(byPce, false).map((l) => l.status), ['UpToDate', 'OutOfDate']);
  // Lexicographic on components: [3,9,..] is above [2,99,..].
  assert.deepEqual(orderTcbLevels([level('OutOfDate', [2, 99, ...comps(0).slice(2)], 0), level('UpToDate', [3, 9, ...comps(0).slice(2)], 0)], false).map((l) => l.status), ['UpToDate', 'OutOfDate']);
  // TDX: equal SGX and PCESVN, TDX components decide; duplicates collapse to the first listed.
  const tdx = [level('OutOfDate', comps(1), 1, tdxComps([1])), level('UpToDate', comps(1), 1, tdxComps([3])), level('Revoked', comps(1), 1, tdxComps([3]))];
  assert.deepEqual(orderTcbLevels(tdx, true).map((l) => l.status), ['UpToDate', 'OutOfDate']);
});

test('TDX: every candidate level is re-checked for SGX components and PCESVN, not only the first SGX match (matchTcbLevels)', () => {
  const sgx = (a: number, b: number): number[] => [a, b, ...new Array<number>(14).fill(0)];
  const ti = info(
    [
      level('UpToDate', sgx(5, 0), 1, tdxComps([0, 0, 9])),
      level('SWHardeningNeeded', sgx(4, 9), 1, tdxComps([0, 0, 1])), // lower in QVL order, but component 2 is above the platform's
      level('OutOfDate', sgx(4, 0), 1, tdxComps([0, 0, 1])),
    ],
    { id: 'TDX' },
  );
  // SGX [5,0] matches level 0 only partly (TDX short) and never reaches level 1's component 2: level 2 it is.
  assert.equal(selectPlatformTcbLevel(ti, pck(sgx(5, 0), 1), svn16([0, 0, 1])).level.status, 'OutOfDate');
  assert.equal(selectPlatformTcbLevel(ti, pck(sgx(5, 9), 1), svn16([0, 0, 1])).level.status, 'SWHardeningNeeded');
});

test('TDX: TEE_TCB_SVN bytes 0 and 1 are compared only when the module version (byte 1) is 0 (isTdxTcbHigherOrEqual)', () => {
  const ti = info([level('UpToDate', comps(1), 1, tdxComps([7, 3, 2])), level('OutOfDate', comps(1), 1, tdxComps([0, 0, 0]))], { id: 'TDX' });
  // Module version 1 (< 3) and SVN 0 (< 7): bytes 0-1 are the module identity's business, byte 2 reaches.
  assert.equal(selectPlatformTcbLevel(ti, pck(comps(1), 1), svn16([0, 1, 2])).level.status, 'UpToDate');
  // Module version 0: all 16 bytes count.
  assert.equal(selectPlatformTcbLevel(ti, pck(comps(1), 1), svn16([6, 0, 2])).level.status, 'OutOfDate');
});

test('a Revoked SGX match does not end the TDX search; the SGX level is kept for the relaunch rule', () => {
  const ti = info([level('Revoked', comps(5), 1, tdxComps([0, 0, 9])), level('UpToDate', comps(4), 1, tdxComps([0, 0, 1]))], { id: 'TDX' });
  const r = selectPlatformTcbLevel(ti, pck(comps(5), 1), svn16([0, 0, 1]));
  assert.equal(r.sgx.status, 'Revoked');
  assert.equal(r.level.status, 'UpToDate');
  assert.equal(code(() => selectPlatformTcbLevel(ti, pck(comps(3), 1), svn16([0, 0, 9]))), 'TCB_LEVEL_NOT_FOUND');
  // SGX quotes: the first match is the answer, Revoked included.
  const sgx = info([level('Revoked', comps(5), 1), level('UpToDate', comps(4), 1)]);
  assert.equal(selectPlatformTcbLevel(sgx, pck(comps(5), 1), undefined).level.status, 'Revoked');
});

test('TDX module identity: version > 0 without tdxModuleIdentities is TCB_INFO_MISMATCH; MRSIGNERSEAM always checked; SEAMATTRIBUTES must be zero', () => {
  const module = { mrsigner: ZERO48, attributes: '0000000000000000', attributesMask: 'ffffffffffffffff' };
  const bare = info([], { id: 'TDX', tdxModule: module });
  assert.equal(code(() => checkTdxModuleIdentity(bare, svn16([3, 1]), ZERO48, '0000000000000000')), 'TCB_INFO_MISMATCH');
  assert.equal(code(() => checkTdxModuleIdentity(bare, svn16([3, 0]), ZERO48, '0000000000000000')), 'none');
  assert.equal(code(() => checkTdxModuleIdentity(bare, svn16([3, 0]), `01${'00'.repeat(47)}`, '0000000000000000')), 'TDX_MODULE_MISMATCH');
  // Missing tdxModule: nothing to check MRSIGNERSEAM against is a mismatch, and the parser refuses such TCB Info.
  assert.equal(code(() => checkTdxModuleIdentity(info([], { id: 'TDX' }), svn16([3, 0]), ZERO48, '0000000000000000')), 'TCB_INFO_MISMATCH');
  // A mask that ignores bit 0 does not make non-zero SEAMATTRIBUTES acceptable (QVL compares bytes, zero required).
  const masked = info([], { id: 'TDX', tdxModule: { ...module, attributesMask: 'fe00000000000000' } });
  assert.equal(code(() => checkTdxModuleIdentity(masked, svn16([3, 0]), ZERO48, '0100000000000000')), 'TDX_MODULE_MISMATCH');
  const withIds = info([], {
    id: 'TDX',
    tdxModule: module,
    tdxModuleIdentities: [{ id: 'TDX_03', mrsigner: `aa${'00'.repeat(47)}`, attributes: '0000000000000000', attributesMask: 'ffffffffffffffff', tcbLevels: [{ isvSvn: 3, tcbDate: '', status: 'UpToDate', advisoryIds: [] }, { isvSvn: 1, tcbDate: '', status: 'OutOfDate', advisoryIds: ['INTEL-SA-1'] }] }],
  });
  assert.equal(code(() => checkTdxModuleIdentity(withIds, svn16([3, 3]), `aa${'00'.repeat(47)}`, '0000000000000000')), 'none');
  assert.equal(code(() => checkTdxModuleIdentity(withIds, svn16([3, 3]), ZERO48, '0000000000000000')), 'TDX_MODULE_MISMATCH');
  assert.equal(code(() => checkTdxModuleIdentity(withIds, svn16([3, 4]), ZERO48, '0000000000000000')), 'TDX_MODULE_MISMATCH');
  assert.deepEqual(selectTdxModuleLevel(withIds, svn16([3, 3]))?.status, 'UpToDate');
  assert.deepEqual(selectTdxModuleLevel(withIds, svn16([2, 3]))?.advisoryIds, ['INTEL-SA-1']);
  assert.equal(selectTdxModuleLevel(withIds, svn16([5, 0])), undefined);
  assert.equal(code(() => selectTdxModuleLevel(withIds, svn16([0, 3]))), 'TCB_LEVEL_NOT_FOUND');
});

test('the parser refuses TDX TCB Info without tdxModule, and any unknown status anywhere (TcbLevel::parseStatus)', () => {
  const base = {
    id: 'TDX',
    version: 3,
    issueDate: '2025-01-01T00:00:00Z',
    nextUpdate: '2025-02-01T00:00:00Z',
    fmspc: '00806f050000',
    pceId: '0000',
    tcbType: 0,
    tcbEvaluationDataNumber: 17,
    tcbLevels: [{ tcb: { sgxtcbcomponents: comps(0).map((svn) => ({ svn })), pcesvn: 0, tdxtcbcomponents: comps(0).map((svn) => ({ svn })) }, tcbDate: '2025-01-01T00:00:00Z', tcbStatus: 'UpToDate' }],
  };
  assert.equal(code(() => parseTcbInfo(JSON.stringify(base))), 'BAD_TCB_INFO');
  const withModule = { ...base, tdxModule: { mrsigner: ZERO48, attributes: '0000000000000000', attributesMask: 'ffffffffffffffff' } };
  assert.equal(code(() => parseTcbInfo(JSON.stringify(withModule))), 'none');
  const unknown = { ...withModule, tcbLevels: [...withModule.tcbLevels, { ...withModule.tcbLevels[0], tcbStatus: 'BrandNewStatus' }] };
  assert.equal(code(() => parseTcbInfo(JSON.stringify(unknown))), 'UNKNOWN_TCB_STATUS');
  const qe = { id: 'QE', version: 2, issueDate: '2025-01-01T00:00:00Z', nextUpdate: '2025-02-01T00:00:00Z', miscselect: '00000000', miscselectMask: 'FFFFFFFF', attributes: '11'.padEnd(32, '0'), attributesMask: 'FB'.padEnd(32, 'F'), mrsigner: '00'.repeat(32), isvprodid: 1, tcbLevels: [{ tcb: { isvsvn: 1 }, tcbDate: '2025-01-01T00:00:00Z', tcbStatus: 'SWHardeningNeeded' }] };
  // SWHardeningNeeded is not a QE Identity status (QVL VALID_QE_STATUSES).
  assert.equal(code(() => parseQeIdentity(JSON.stringify(qe))), 'UNKNOWN_TCB_STATUS');
});

test('TD 1.5 relaunch: TEE_TCB_SVN2 at the latest level turns an out-of-date module into TDRelaunchAdvised (TDRelaunchCheck.cpp)', () => {
  const ti = info([level('UpToDate', comps(1), 1, tdxComps([5, 3, 4])), level('OutOfDate', comps(1), 1, tdxComps([0, 0, 0]))], {
    id: 'TDX',
    tdxModule: { mrsigner: ZERO48, attributes: '0000000000000000', attributesMask: 'ffffffffffffffff' },
    tdxModuleIdentities: [
      { id: 'TDX_03', mrsigner: ZERO48, attributes: '0000000000000000', attributesMask: 'ffffffffffffffff', tcbLevels: [{ isvSvn: 5, tcbDate: '', status: 'UpToDate', advisoryIds: [] }, { isvSvn: 0, tcbDate: '', status: 'OutOfDate', advisoryIds: ['SA-M'] }] },
    ],
  });
  // Launched on module SVN 2 (OutOfDate), now running SVN 5 of version 3 with byte 2 at the latest level.
  assert.equal(relaunchStatus(ti, svn16([5, 3, 4]), 'UpToDate', 'OutOfDate', 'OutOfDate', 'UpToDate'), 'TDRelaunchAdvised');
  assert.equal(relaunchStatus(ti, svn16([5, 3, 4]), 'ConfigurationNeeded', 'OutOfDateConfigurationNeeded', 'OutOfDate', 'UpToDate'), 'TDRelaunchAdvisedConfigurationNeeded');
  // Not at the latest level yet: stays OutOfDate.
  assert.equal(relaunchStatus(ti, svn16([4, 3, 4]), 'UpToDate', 'OutOfDate', 'OutOfDate', 'UpToDate'), 'OutOfDate');
  assert.equal(relaunchStatus(ti, svn16([5, 3, 3]), 'UpToDate', 'OutOfDate', 'OutOfDate', 'UpToDate'), 'OutOfDate');
  // Module version 0 now: byte 0 against the latest level's TDX component 0.
  assert.equal(relaunchStatus(ti, svn16([5, 0, 4]), 'UpToDate', 'OutOfDate', 'OutOfDate', 'UpToDate'), 'TDRelaunchAdvised');
  // Preconditions: QE out of date, SGX not current, module not out of date, TDX not out of date.
  assert.equal(relaunchStatus(ti, svn16([5, 3, 4]), 'UpToDate', 'OutOfDate', 'OutOfDate', 'OutOfDate'), 'OutOfDate');
  assert.equal(relaunchStatus(ti, svn16([5, 3, 4]), 'OutOfDate', 'OutOfDate', 'OutOfDate', 'UpToDate'), 'OutOfDate');
  assert.equal(relaunchStatus(ti, svn16([5, 3, 4]), 'UpToDate', 'OutOfDate', undefined, 'UpToDate'), 'OutOfDate');
  assert.equal(relaunchStatus(ti, svn16([5, 3, 4]), 'UpToDate', 'UpToDate', 'OutOfDate', 'UpToDate'), 'UpToDate');
  // An unknown current module version is a mismatch.
  assert.equal(code(() => relaunchStatus(ti, svn16([5, 4, 4]), 'UpToDate', 'OutOfDate', 'OutOfDate', 'UpToDate')), 'TDX_MODULE_MISMATCH');
});

test('status merge follows Intel QVL convergence (plus: a QE at OutOfDateConfigurationNeeded counts as out of date, stricter)', () => {
  const expected = (platform: TcbStatus, qe: TcbStatus): TcbStatus => {
    if (platform === 'Revoked' || qe === 'Revoked') return 'Revoked';
    if (qe === 'OutOfDate' || qe === 'OutOfDateConfigurationNeeded') {
      if (platform === 'UpToDate' || platform === 'SWHardeningNeeded') return 'OutOfDate';
      if (platform === 'ConfigurationNeeded' || platform === 'ConfigurationAndSWHardeningNeeded') return 'OutOfDateConfigurationNeeded';
    }
    return platform;
  };
  for (const p of TCB_STATUSES) for (const q of TCB_STATUSES) assert.equal(mergeTcbStatus(p, q), expected(p, q), `${p} + ${q}`);
});

test('QE level, masks and advisory merge', () => {
  const qe = { tcbLevels: [{ isvSvn: 8, tcbDate: '', status: 'UpToDate', advisoryIds: [] }, { isvSvn: 6, tcbDate: '', status: 'OutOfDate', advisoryIds: ['INTEL-SA-00615'] }] } as unknown as QeIdentity;
  assert.equal(selectQeTcbLevel(qe, 10).status, 'UpToDate');
  assert.equal(selectQeTcbLevel(qe, 7).status, 'OutOfDate');
  assert.equal(code(() => selectQeTcbLevel(qe, 5)), 'QE_TCB_LEVEL_NOT_FOUND');
  assert.equal(maskedEqual('1507', 'fbff', '1107'), true);
  assert.equal(maskedEqual('1107', 'ffff', '1507'), false);
  assert.deepEqual(mergeAdvisories(['A', 'B'], [], ['B', 'C']), ['A', 'B', 'C']);
});
