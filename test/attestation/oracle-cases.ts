/**
 * Cases for the differential test against Phala's dcap-qvl (Rust): every
 * attestation fixture with its verification time, and cases generated with
 * the simulated platform (faults incl. wrong signers, mixed roots, TCB level
 * orderings, TDX module variants, TD 1.5 relaunch, expiries, CRL swaps).
 * Generation is deterministic for a seed (the platform keys are random, which
 * no verdict depends on), so case ids are stable for the allow-list.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { collateralToJson, parseCollateral, type QuoteCollateralV3Json } from '../../src/attestation/index.js';
import { COLLATERAL_TAMPERS, QUOTE_TAMPERS, SimulatedPlatform, type SimCollateralOptions, type SimTcbLevelSpec, type SimTdQuoteOptions } from '../../src/sim/index.js';
import { seededRandom } from '../helpers/random.js';
import { FIXTURES, quoteFixture } from './fixtures.js';

export interface OracleCase {
  id: string;
  quote: Uint8Array;
  /** QuoteCollateralV3 JSON text (or object). */
  collateral: string | QuoteCollateralV3Json;
  /** DER of the one trusted root; undefined = Intel's. */
  root?: Uint8Array;
  at: Date;
}

const FIXTURE_CASES: [id: string, quote: string, collateral: string, at: string][] = [
  ['V1', 'phala-dcap-qvl/sgx_quote', 'phala-dcap-qvl/sgx_quote_collateral.json', '2025-07-04T00:00:00Z'],
  ['V2', 'automata-dcap-attestation/quotes/sgx_v3_fmspc00606a.hex', 'assembled/collateral_sgx_00606a_2025-08_eval17.json', '2025-08-30T00:00:00Z'],
  ['V3a', 'automata-dcap-attestation/quotes/sgx_v3_fmspc00606a.hex', 'assembled/collateral_sgx_00606a_2025-06_eval17.json', '2025-06-26T00:00:00Z'],
  ['V3b', 'automata-dcap-attestation/quotes/sgx_v3_fmspc00606a.hex', 'assembled/collateral_sgx_00606a_2025-06_eval18.json', '2025-06-26T00:00:00Z'],
  ['V3c', 'automata-dcap-attestation/quotes/sgx_v3_fmspc00606a.hex', 'assembled/collateral_sgx_00606a_2025-06_eval19.json', '2025-06-26T00:00:00Z'],
  ['V4', 'mobilecoin-attestation/hw_quote.dat', 'assembled/collateral_sgx_00906ed5_2023-07_mobilecoin.json', '2023-07-27T00:00:00Z'],
  ['V5', 'phala-dcap-qvl/tdx_quote', 'phala-dcap-qvl/tdx_quote_collateral.json', '2025-07-04T00:00:00Z'],
  ['V6', 'phala-dcap-qvl/near_tdx_quote.hex', 'phala-dcap-qvl/near_tdx_quote_collateral.json', '2025-09-17T00:00:00Z'],
  ['V7', 'phala-dcap-qvl/tdx_quote_outdated', 'phala-dcap-qvl/tdx_quote_outdated_collateral.json', '2026-03-05T00:00:00Z'],
  ['V8a', 'dstack-teekit/tdx-v4-edgeless.dat', 'assembled/collateral_tdx_00806f05_2025-10.json', '2025-10-26T00:00:00Z'],
  ['V8b', 'dstack-teekit/tdx-v4-zkdcap.dat', 'assembled/collateral_tdx_00806f05_2025-10.json', '2025-10-26T00:00:00Z'],
  ['V9a', 'automata-dcap-attestation/quotes/alibaba_quote_5.dat', 'assembled/collateral_tdx_90c06f_2025-06.json', '2025-06-26T00:00:00Z'],
  ['V9b', 'automata-dcap-attestation/quotes/tdx_quote_5.dat', 'assembled/collateral_tdx_90c06f_2025-06.json', '2025-06-26T00:00:00Z'],
  ['V9c', 'automata-dcap-attestation/quotes/tdx_v4_fmspc90c06f.hex', 'assembled/collateral_tdx_90c06f_2025-06.json', '2025-06-26T00:00:00Z'],
  ['N1', 'derived-negative/sgx_00606a_original.dat', 'assembled/collateral_sgx_00606a_2025-08_eval17.json', '2025-08-30T00:00:00Z'],
  ['N2', 'derived-negative/sgx_00606a_mrenclave_flipped.dat', 'assembled/collateral_sgx_00606a_2025-08_eval17.json', '2025-08-30T00:00:00Z'],
  ['N3', 'derived-negative/sgx_00606a_reportdata_flipped.dat', 'assembled/collateral_sgx_00606a_2025-08_eval17.json', '2025-08-30T00:00:00Z'],
  ['N4', 'derived-negative/sgx_00606a_quote_sig_flipped.dat', 'assembled/collateral_sgx_00606a_2025-08_eval17.json', '2025-08-30T00:00:00Z'],
  ['N5', 'derived-negative/sgx_00606a_attest_key_flipped.dat', 'assembled/collateral_sgx_00606a_2025-08_eval17.json', '2025-08-30T00:00:00Z'],
  ['N6', 'derived-negative/sgx_00606a_qe_report_flipped.dat', 'assembled/collateral_sgx_00606a_2025-08_eval17.json', '2025-08-30T00:00:00Z'],
  ['N7', 'derived-negative/sgx_00606a_original.dat', 'derived-negative/collateral_sgx_00606a_2025-08_tcbinfo_tampered.json', '2025-08-30T00:00:00Z'],
  ['N8', 'derived-negative/sgx_00606a_original.dat', 'derived-negative/collateral_sgx_00606a_2025-08_qeidentity_tampered.json', '2025-08-30T00:00:00Z'],
  ['N9', 'derived-negative/sgx_00606a_original.dat', 'assembled/collateral_sgx_00606a_2025-08_eval17.json', '2025-09-15T00:00:00Z'],
  ['N10', 'derived-negative/sgx_00606a_original.dat', 'assembled/collateral_sgx_00606a_2025-08_eval17.json', '2025-08-01T00:00:00Z'],
  ['N11', 'derived-negative/sgx_00606a_original.dat', 'assembled/collateral_sgx_00606a_2025-06_eval17.json', '2025-08-30T00:00:00Z'],
  ['N12', 'phala-dcap-qvl/sgx_quote', 'assembled/collateral_sgx_00606a_2025-08_eval17.json', '2025-08-30T00:00:00Z'],
];

export function fixtureCases(): OracleCase[] {
  return FIXTURE_CASES.map(([id, quote, collateral, at]) => ({
    id: `fixture:${id}`,
    quote: quoteFixture(quote),
    collateral: readFileSync(join(FIXTURES, collateral), 'utf8'),
    at: new Date(at),
  }));
}

const AT = new Date('2026-03-10T09:30:00Z');
const DAY = 86_400_000;
const LEVEL_STATUSES = ['UpToDate', 'SWHardeningNeeded', 'ConfigurationNeeded', 'ConfigurationAndSWHardeningNeeded', 'OutOfDate', 'OutOfDateConfigurationNeeded', 'Revoked'];
const ZERO16 = (): number[] => new Array<number>(16).fill(0);

/** The generated cases; at least 200. */
export async function generatedCases(seed = 1212): Promise<OracleCase[]> {
  const rnd = seededRandom(seed);
  const int = (n: number): number => Math.floor(rnd() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
  const cases: OracleCase[] = [];
  const add = (id: string, p: SimulatedPlatform, quote: Uint8Array, collateral: QuoteCollateralV3Json, at = AT, root = p.rootCaDer): void => {
    cases.push({ id: `gen:${id}`, quote, collateral, root, at });
  };

  const a = await SimulatedPlatform.create({ now: AT });
  const b = await SimulatedPlatform.create({ now: AT });
  const plat = await SimulatedPlatform.create({ now: AT, ca: 'platform', fmspc: a.fmspc });

  // Baselines and every single fault (wrong signers included), v3 and v4.
  for (const version of [3, 4] as const) {
    add(`good-v${version}`, a, a.quote({ version }), a.collateral());
    for (const tamper of QUOTE_TAMPERS) add(`quote-${tamper}-v${version}`, a, a.quote({ tamper, version }), a.collateral());
  }
  for (const tamper of COLLATERAL_TAMPERS) add(`collateral-${tamper}`, a, a.quote(), a.collateral({ tamper }));

  // Mixed roots: A's quote with B's collateral (and the other way), judged with either root.
  add('mixed-a-quote-b-collateral-root-a', a, a.quote(), b.collateral(), AT, a.rootCaDer);
  add('mixed-a-quote-b-collateral-root-b', a, a.quote(), b.collateral(), AT, b.rootCaDer);
  const ca = a.collateral();
  const cb = b.collateral();
  add('mixed-tcb-info-of-b', a, a.quote(), { ...ca, tcb_info: cb.tcb_info, tcb_info_signature: cb.tcb_info_signature, tcb_info_issuer_chain: cb.tcb_info_issuer_chain });
  add('mixed-qe-identity-of-b', a, a.quote(), { ...ca, qe_identity: cb.qe_identity, qe_identity_signature: cb.qe_identity_signature, qe_identity_issuer_chain: cb.qe_identity_issuer_chain });

  // CRL swaps.
  add('crl-swap-pck-crl-of-b', a, a.quote(), { ...ca, pck_crl: cb.pck_crl, pck_crl_issuer_chain: cb.pck_crl_issuer_chain });
  add('crl-swap-root-crl-of-b', a, a.quote(), { ...ca, root_ca_crl: cb.root_ca_crl });
  const cp = plat.collateral();
  add('crl-swap-platform-ca-crl-for-processor-leaf', a, a.quote(), { ...ca, pck_crl: cp.pck_crl, pck_crl_issuer_chain: cp.pck_crl_issuer_chain });
  add('crl-swap-root-crl-as-pck-crl', a, a.quote(), { ...ca, pck_crl: ca.root_ca_crl });
  add('crl-swap-pck-crl-as-root-crl', a, a.quote(), { ...ca, root_ca_crl: ca.pck_crl });
  add('platform-ca-good', plat, plat.quote({ version: 4 }), plat.collateral());

  // Expiries and not-yet-valid: the same bundle judged at other times.
  for (const [name, offset] of [['hour-before-issue', -2 * 3_600_000], ['issue-plus-29d', 29 * DAY], ['issue-plus-31d', 31 * DAY], ['year-later', 366 * DAY], ['8-years-later', 8 * 365 * DAY]] as const) {
    add(`time-${name}`, a, a.quote(), ca, new Date(AT.getTime() + offset));
  }

  // Revocation of A, and A's revoked quote with B's collateral.
  const revoked = await SimulatedPlatform.create({ now: AT });
  revoked.revokePck();
  add('revoked', revoked, revoked.quote(), revoked.collateral());
  add('revoked-quote-with-foreign-collateral', revoked, revoked.quote(), b.collateral(), AT, revoked.rootCaDer);

  // TCB recovery history (real shape) and random TCB level orderings around the platform's TCB.
  const rec = await SimulatedPlatform.create({ now: AT });
  rec.recoverTcb();
  add('recovered-outofdate', rec, rec.quote(), rec.collateral());
  const base = a.tcb;
  const near = (svns: number[]): number[] => svns.map((v, i) => (i < 4 ? Math.max(0, Math.min(255, v + int(5) - 2)) : v));
  for (let n = 0; n < 70; n++) {
    const levels: SimTcbLevelSpec[] = Array.from({ length: 1 + int(5) }, (_, k) => ({
      sgxTcbComponents: near(base.sgxTcbComponents),
      pceSvn: Math.max(0, base.pceSvn + int(5) - 2),
      tcbStatus: pick(LEVEL_STATUSES),
      advisoryIDs: int(2) ? [`SIM-SA-R${n}-${k}`] : [],
    }));
    add(`sgx-levels-${n}`, a, a.quote(), a.collateral({ tcbLevels: levels }));
  }

  // TDX: module versions and identities, MRSIGNERSEAM/SEAMATTRIBUTES, relaunch.
  const moduleIds = (version: number, levels: [number, string][]): NonNullable<SimCollateralOptions['tdx']> => ({
    tdxModuleIdentities: [{ id: `TDX_${version.toString(16).toUpperCase().padStart(2, '0')}`, tcbLevels: levels.map(([isvsvn, tcbStatus], i) => ({ isvsvn, tcbStatus, advisoryIDs: tcbStatus === 'UpToDate' ? [] : [`SIM-SA-M${i}`] })) }],
  });
  const svn = (s0: number, s1: number, s2 = 0): number[] => [s0, s1, s2, ...ZERO16().slice(3)];
  const tdxLevels = (latest: number[]): SimTcbLevelSpec[] => [
    { sgxTcbComponents: base.sgxTcbComponents, pceSvn: base.pceSvn, tdxTcbComponents: latest, tcbStatus: 'UpToDate' },
    { sgxTcbComponents: base.sgxTcbComponents, pceSvn: base.pceSvn, tdxTcbComponents: ZERO16(), tcbStatus: 'OutOfDate', advisoryIDs: ['SIM-SA-T1'] },
  ];
  const tdxCase = (id: string, quote: SimTdQuoteOptions, collateral: SimCollateralOptions): void => add(`tdx-${id}`, a, a.quote({ tdx: quote }), a.collateral(collateral));
  tdxCase('v0-default', { teeTcbSvn: ZERO16() }, { tdx: {} });
  tdxCase('v0-latest', { teeTcbSvn: svn(5, 0, 4) }, { tdx: {}, tcbLevels: tdxLevels(svn(5, 0, 4)) });
  tdxCase('v0-behind', { teeTcbSvn: svn(4, 0, 4) }, { tdx: {}, tcbLevels: tdxLevels(svn(5, 0, 4)) });
  tdxCase('v3-no-identities', { teeTcbSvn: svn(5, 3) }, { tdx: {} });
  tdxCase('v3-identity-for-v4-only', { teeTcbSvn: svn(5, 3) }, { tdx: moduleIds(4, [[5, 'UpToDate']]) });
  tdxCase('no-tdx-module', { teeTcbSvn: ZERO16() }, { tdx: { tdxModule: null } });
  tdxCase('mrsignerseam-mismatch', { teeTcbSvn: ZERO16(), mrSignerSeam: `01${'00'.repeat(47)}` }, { tdx: {} });
  tdxCase('seamattributes-nonzero', { teeTcbSvn: ZERO16(), seamAttributes: '0100000000000000' }, { tdx: {} });
  tdxCase('seamattributes-nonzero-matching', { teeTcbSvn: ZERO16(), seamAttributes: '0100000000000000' }, { tdx: { tdxModule: { mrsigner: '00'.repeat(48), attributes: '0100000000000000', attributesMask: 'FFFFFFFFFFFFFFFF' } } });
  tdxCase('seamattributes-masked-out', { teeTcbSvn: ZERO16(), seamAttributes: '0100000000000000' }, { tdx: { tdxModule: { mrsigner: '00'.repeat(48), attributes: '0000000000000000', attributesMask: 'FEFFFFFFFFFFFFFF' } } });
  const moduleLevelSets: [number, string][][] = [
    [[5, 'UpToDate'], [0, 'OutOfDate']],
    [[5, 'UpToDate'], [2, 'OutOfDate'], [0, 'Revoked']],
    [[5, 'UpToDate']],
    [[3, 'OutOfDate'], [6, 'UpToDate']], // listed out of order: taken as listed
  ];
  for (let n = 0; n < 48; n++) {
    const version = pick([1, 3, 3, 3]);
    const launch = svn(int(8), version, int(6));
    const latest = svn(5, version, pick([3, 4]));
    const levels = int(3) ? tdxLevels(latest) : [...tdxLevels(latest)].reverse();
    const td15 = int(2) === 1;
    const quote: SimTdQuoteOptions = { teeTcbSvn: launch, ...(td15 ? { teeTcbSvn2: svn(int(8), pick([version, version, 0, 4]), int(6)) } : {}) };
    tdxCase(`random-${n}${td15 ? '-td15' : ''}`, quote, { tdx: moduleIds(3, pick(moduleLevelSets)), tcbLevels: levels });
  }
  // Relaunch: launched behind on module v3, module updated in place to the latest.
  const relaunchIds = moduleIds(3, [[5, 'UpToDate'], [0, 'OutOfDate']]);
  tdxCase('relaunch-advised', { teeTcbSvn: svn(2, 3, 4), teeTcbSvn2: svn(5, 3, 4) }, { tdx: relaunchIds, tcbLevels: tdxLevels(svn(5, 3, 4)) });
  tdxCase('relaunch-not-yet-latest', { teeTcbSvn: svn(2, 3, 4), teeTcbSvn2: svn(4, 3, 4) }, { tdx: relaunchIds, tcbLevels: tdxLevels(svn(5, 3, 4)) });
  tdxCase('relaunch-byte2-behind', { teeTcbSvn: svn(2, 3, 4), teeTcbSvn2: svn(5, 3, 3) }, { tdx: relaunchIds, tcbLevels: tdxLevels(svn(5, 3, 4)) });
  tdxCase('relaunch-config-needed', { teeTcbSvn: svn(2, 3, 4), teeTcbSvn2: svn(5, 3, 4) }, {
    tdx: relaunchIds,
    tcbLevels: [{ ...tdxLevels(svn(5, 3, 4))[0]!, tcbStatus: 'ConfigurationNeeded' }, tdxLevels(svn(5, 3, 4))[1]!],
  });
  tdxCase('relaunch-unknown-current-version', { teeTcbSvn: svn(2, 3, 4), teeTcbSvn2: svn(5, 4, 4) }, { tdx: relaunchIds, tcbLevels: tdxLevels(svn(5, 3, 4)) });
  tdxCase('td15-current', { teeTcbSvn: svn(5, 3, 4), teeTcbSvn2: svn(5, 3, 4) }, { tdx: relaunchIds, tcbLevels: tdxLevels(svn(5, 3, 4)) });
  return cases;
}

/** The JSON line the oracle runner reads for a case (binary fields as hex). */
export function oracleLine(c: OracleCase): string {
  let json: QuoteCollateralV3Json;
  try {
    json = collateralToJson(parseCollateral(c.collateral));
  } catch {
    json = (typeof c.collateral === 'string' ? JSON.parse(c.collateral) : c.collateral) as QuoteCollateralV3Json;
  }
  return JSON.stringify({
    id: c.id,
    quote: Buffer.from(c.quote).toString('hex'),
    collateral: json,
    ...(c.root ? { root: Buffer.from(c.root).toString('hex') } : {}),
    at: Math.floor(c.at.getTime() / 1000),
  });
}
