import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AttestationError, TCB_STATUSES, type TcbStatus } from '../../src/attestation/index.js';
import { checkTdxModule, maskedEqual, mergeAdvisories, mergeTcbStatus, selectPlatformTcbLevel, selectQeTcbLevel } from '../../src/attestation/tcb-evaluation.js';
import type { PckExtension } from '../../src/attestation/pck-extension.js';
import type { QeIdentity, TcbInfo, TcbLevel } from '../../src/attestation/tcb-info.js';

const comps = (first: number, rest = 0): number[] => [first, ...new Array<number>(15).fill(rest)];

function level(status: TcbStatus, sgx: number[], pceSvn: number, tdx?: number[], advisoryIds: string[] = []): TcbLevel {
  return { sgxComponents: sgx, pceSvn, tdxComponents: tdx, tcbDate: '2025-01-01T00:00:00Z', status, advisoryIds };
}

function info(levels: TcbLevel[], extra: Partial<TcbInfo> = {}): TcbInfo {
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
    tcbLevels: levels,
    ...extra,
  };
}

const pck = (tcb: number[], pceSvn: number): PckExtension => ({ ppid: '', tcbComponents: tcb, pceSvn, cpuSvn: '', pceId: '0000', fmspc: '00606a000000', sgxType: 0 });

test('platform level: first listed level the PCK TCB reaches, components and PCESVN both', () => {
  const levels = [level('UpToDate', comps(5), 13), level('SWHardeningNeeded', comps(4), 13), level('OutOfDate', comps(2), 10)];
  assert.equal(selectPlatformTcbLevel(info(levels), pck(comps(5), 13), undefined).status, 'UpToDate');
  assert.equal(selectPlatformTcbLevel(info(levels), pck(comps(9, 9), 99), undefined).status, 'UpToDate');
  assert.equal(selectPlatformTcbLevel(info(levels), pck(comps(4), 13), undefined).status, 'SWHardeningNeeded');
  // PCESVN below a level's skips it even when the components reach it.
  assert.equal(selectPlatformTcbLevel(info(levels), pck(comps(5), 12), undefined).status, 'OutOfDate');
  // One component below (the last one) is enough to skip a level.
  const lastLow = [...comps(5, 1)];
  const needLast = [level('UpToDate', comps(5, 2), 13), level('OutOfDate', comps(0), 0)];
  assert.equal(selectPlatformTcbLevel(info(needLast), pck(lastLow, 13), undefined).status, 'OutOfDate');
  assert.throws(() => selectPlatformTcbLevel(info(levels), pck(comps(1), 13), undefined), (e: AttestationError) => e.code === 'TCB_LEVEL_NOT_FOUND');
});

test('TDX levels: from the first SGX match on, the first level whose TDX components TEE_TCB_SVN reaches', () => {
  const tdx = (bytes: number[]): Uint8Array => Uint8Array.from([...bytes, ...new Array<number>(16 - bytes.length).fill(0)]);
  const tdxComps = (bytes: number[]): number[] => [...bytes, ...new Array<number>(16 - bytes.length).fill(0)];
  const levels = [
    level('UpToDate', comps(5), 0, tdxComps([5, 0, 2])),
    level('SWHardeningNeeded', comps(3), 0, tdxComps([5, 0, 1])),
    level('OutOfDate', comps(3), 0, tdxComps([0])),
    level('Revoked', comps(1), 0, tdxComps([0])),
  ];
  const ti = info(levels, { id: 'TDX' });
  assert.equal(selectPlatformTcbLevel(ti, pck(comps(5), 1), tdx([5, 0, 2])).status, 'UpToDate');
  // SGX reaches level 0 but TDX only level 1: the search continues downwards.
  assert.equal(selectPlatformTcbLevel(ti, pck(comps(5), 1), tdx([5, 0, 1])).status, 'SWHardeningNeeded');
  // SGX reaches only level 1; TDX would reach level 0 but the search starts at the SGX match.
  assert.equal(selectPlatformTcbLevel(ti, pck(comps(3), 1), tdx([9, 9, 9])).status, 'SWHardeningNeeded');
  assert.equal(selectPlatformTcbLevel(ti, pck(comps(3), 1), tdx([4, 3, 2])).status, 'OutOfDate');
  // A Revoked SGX match is the answer whatever the TDX components say.
  assert.equal(selectPlatformTcbLevel(ti, pck(comps(1), 1), tdx([9, 9, 9])).status, 'Revoked');
  assert.throws(() => selectPlatformTcbLevel(ti, pck(comps(0), 1), tdx([9])), (e: AttestationError) => e.code === 'TCB_LEVEL_NOT_FOUND');
  // A TDX quote against levels without TDX components finds nothing.
  assert.throws(() => selectPlatformTcbLevel(info([level('UpToDate', comps(0), 0)]), pck(comps(5), 1), tdx([1])), (e: AttestationError) => e.code === 'TCB_LEVEL_NOT_FOUND');
});

test('TDX module identity: signer, attributes under mask, per-version TCB level', () => {
  const zero48 = '00'.repeat(48);
  const ti = info([], {
    id: 'TDX',
    tdxModule: { mrsigner: zero48, attributes: '0000000000000000', attributesMask: 'ffffffffffffffff' },
    tdxModuleIdentities: [
      { id: 'TDX_03', mrsigner: zero48, attributes: '0000000000000000', attributesMask: 'ffffffffffffffff', tcbLevels: [{ isvSvn: 3, tcbDate: '', status: 'UpToDate', advisoryIds: [] }, { isvSvn: 1, tcbDate: '', status: 'OutOfDate', advisoryIds: ['INTEL-SA-1'] }] },
    ],
  });
  const svn = (s0: number, s1: number): Uint8Array => Uint8Array.from([s0, s1, ...new Array<number>(14).fill(0)]);
  assert.deepEqual(checkTdxModule(ti, svn(3, 3), zero48, '0000000000000000'), { status: 'UpToDate', advisoryIds: [] });
  assert.deepEqual(checkTdxModule(ti, svn(2, 3), zero48, '0000000000000000'), { status: 'OutOfDate', advisoryIds: ['INTEL-SA-1'] });
  assert.equal(checkTdxModule(ti, svn(5, 0), zero48, '0000000000000000'), undefined);
  const code = (fn: () => unknown): string => {
    try {
      fn();
    } catch (e) {
      return (e as AttestationError).code;
    }
    return 'none';
  };
  assert.equal(code(() => checkTdxModule(ti, svn(0, 3), zero48, '0000000000000000')), 'TCB_LEVEL_NOT_FOUND');
  assert.equal(code(() => checkTdxModule(ti, svn(3, 4), zero48, '0000000000000000')), 'TDX_MODULE_MISMATCH');
  assert.equal(code(() => checkTdxModule(ti, svn(3, 3), `01${'00'.repeat(47)}`, '0000000000000000')), 'TDX_MODULE_MISMATCH');
  assert.equal(code(() => checkTdxModule(ti, svn(3, 0), zero48, '0100000000000000')), 'TDX_MODULE_MISMATCH');
});

test('status merge follows Intel QVL convergence for every pair', () => {
  const expected = (platform: TcbStatus, qe: TcbStatus): TcbStatus => {
    if (platform === 'Revoked' || qe === 'Revoked') return 'Revoked';
    if (qe === 'OutOfDate' || qe === 'OutOfDateConfigurationNeeded') {
      if (platform === 'UpToDate' || platform === 'SWHardeningNeeded') return 'OutOfDate';
      if (platform === 'ConfigurationNeeded' || platform === 'ConfigurationAndSWHardeningNeeded') return 'OutOfDateConfigurationNeeded';
    }
    return platform;
  };
  for (const p of TCB_STATUSES) for (const q of TCB_STATUSES) assert.equal(mergeTcbStatus(p, q), expected(p, q), `${p} + ${q}`);
  assert.equal(mergeTcbStatus('ConfigurationAndSWHardeningNeeded', 'UpToDate'), 'ConfigurationAndSWHardeningNeeded');
  assert.equal(mergeTcbStatus('SWHardeningNeeded', 'OutOfDate'), 'OutOfDate');
});

test('QE level, masks and advisory merge', () => {
  const qe = { tcbLevels: [{ isvSvn: 8, tcbDate: '', status: 'UpToDate', advisoryIds: [] }, { isvSvn: 6, tcbDate: '', status: 'OutOfDate', advisoryIds: ['INTEL-SA-00615'] }] } as unknown as QeIdentity;
  assert.equal(selectQeTcbLevel(qe, 10).status, 'UpToDate');
  assert.equal(selectQeTcbLevel(qe, 7).status, 'OutOfDate');
  assert.throws(() => selectQeTcbLevel(qe, 5), (e: AttestationError) => e.code === 'QE_TCB_LEVEL_NOT_FOUND');
  assert.equal(maskedEqual('1507', 'fbff', '1107'), true); // bit 2 of byte 0 is masked out
  assert.equal(maskedEqual('1107', 'ffff', '1507'), false);
  assert.equal(maskedEqual('11', 'ffff', '1107'), false);
  assert.deepEqual(mergeAdvisories(['A', 'B'], [], ['B', 'C']), ['A', 'B', 'C']);
});

test('an unknown status rejects only when the matching level carries it', () => {
  const levels = [level('UpToDate', comps(5), 13), level('BrandNewStatus' as TcbStatus, comps(3), 13), level('OutOfDate', comps(0), 0)];
  assert.equal(selectPlatformTcbLevel(info(levels), pck(comps(5), 13), undefined).status, 'UpToDate');
  assert.equal(selectPlatformTcbLevel(info(levels), pck(comps(1), 13), undefined).status, 'OutOfDate');
  assert.throws(() => selectPlatformTcbLevel(info(levels), pck(comps(4), 13), undefined), (e: AttestationError) => e.code === 'UNKNOWN_TCB_STATUS');
  const qe = { tcbLevels: [{ isvSvn: 8, tcbDate: 'x', status: 'Weird', advisoryIds: [] }] } as unknown as QeIdentity;
  assert.throws(() => selectQeTcbLevel(qe, 9), (e: AttestationError) => e.code === 'UNKNOWN_TCB_STATUS');
});
