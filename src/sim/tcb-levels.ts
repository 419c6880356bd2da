/**
 * The TCB history of a simulated platform as Intel's TCB Info states it.
 * A platform starts UpToDate. Each TCB recovery publishes a new, higher level
 * (PCESVN and the two microcode components raised) under a new TCB evaluation
 * data number; every level below it becomes OutOfDate and lists the recovery's
 * advisory — the same shape as real recoveries (fixture V3: eval 17 → 18).
 */
import type { SimTcb } from './types.js';

export type TcbStatus = 'UpToDate' | 'SWHardeningNeeded' | 'ConfigurationNeeded' | 'ConfigurationAndSWHardeningNeeded' | 'OutOfDate' | 'OutOfDateConfigurationNeeded' | 'Revoked';

export interface TcbLevel {
  tcb: SimTcb;
  /** TDX TCB Info only (default all zero). */
  tdxTcbComponents?: number[];
  /** ISO date at midnight UTC, as Intel writes tcbDate. */
  tcbDate: string;
  /** Intel's names; anything else only in negative tests. */
  tcbStatus: TcbStatus | (string & {});
  advisoryIDs: string[];
}

/** First TCB evaluation data number of a fresh platform (Intel's numbers were 17..19 in 2025). */
export const BASE_TCB_EVALUATION_DATA_NUMBER = 17;

/** Advisory published by the k-th recovery (1-based). Fictional ids: they must never look like Intel's. */
export function recoveryAdvisoryId(k: number): string {
  return `SIM-SA-${String(k).padStart(5, '0')}`;
}

/** Advisory attached to the pre-provisioning level below the platform's own. */
export const LEGACY_ADVISORY_ID = 'SIM-SA-00000';

export function midnight(date: Date): string {
  return `${date.toISOString().slice(0, 10)}T00:00:00Z`;
}

/** The TCB that recovery k requires: PCESVN + k and the two microcode components + k (capped at 255). */
export function recoveredTcb(base: SimTcb, k: number): SimTcb {
  return {
    sgxTcbComponents: base.sgxTcbComponents.map((svn, i) => (i < 2 ? Math.min(255, svn + k) : svn)),
    pceSvn: base.pceSvn + k,
  };
}

/**
 * Levels in descending order for a platform at `platformTcb`, provisioned at
 * `provisionedAt`, after recoveries at `recoveryDates` (oldest first).
 */
export function tcbLevels(platformTcb: SimTcb, provisionedAt: Date, recoveryDates: Date[]): TcbLevel[] {
  const n = recoveryDates.length;
  const advisoriesAfter = (k: number): string[] => Array.from({ length: n - k }, (_, i) => recoveryAdvisoryId(k + i + 1));
  const levels: TcbLevel[] = [];
  for (let k = n; k >= 1; k--) {
    levels.push({
      tcb: recoveredTcb(platformTcb, k),
      tcbDate: midnight(recoveryDates[k - 1]!),
      tcbStatus: k === n ? 'UpToDate' : 'OutOfDate',
      advisoryIDs: advisoriesAfter(k),
    });
  }
  levels.push({ tcb: platformTcb, tcbDate: midnight(provisionedAt), tcbStatus: n === 0 ? 'UpToDate' : 'OutOfDate', advisoryIDs: advisoriesAfter(0) });
  // An older level the platform is above, so verifiers must really walk the list.
  if (platformTcb.pceSvn > 0) {
    levels.push({
      tcb: { sgxTcbComponents: platformTcb.sgxTcbComponents, pceSvn: platformTcb.pceSvn - 1 },
      tcbDate: midnight(new Date(provisionedAt.getTime() - 365 * 86_400_000)),
      tcbStatus: 'OutOfDate',
      advisoryIDs: [LEGACY_ADVISORY_ID, ...advisoriesAfter(0)],
    });
  }
  return levels;
}
