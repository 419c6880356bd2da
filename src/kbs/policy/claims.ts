import { z } from 'zod';
import { toHex } from '../../common/hex.js';
import { PolicyError } from './errors.js';

/**
 * The verified facts a key-release policy decides on, normalised from the
 * quote verifier's result. JSON-serialisable so that an attestation result can
 * be saved and replayed with `kubetee kbs policy test`. Byte fields are
 * lower-case hex.
 */
export interface AttestationClaims {
  tee: 'sgx' | 'tdx';
  /** TCB status after merging platform and QE levels (e.g. UpToDate, SWHardeningNeeded, OutOfDate). */
  status: string;
  advisoryIds: string[];
  fmspc: string;
  mrenclave: string;
  mrsigner: string;
  isvProdId: number;
  isvSvn: number;
  debug: boolean;
  reportData: string;
  /** TDX measurements (mrtd, rtmr0..3, mrconfigid, mrowner, mrownerconfig); empty for SGX. */
  td: Record<string, string>;
  /** When the collateral used stops being valid (ISO-8601), if known. */
  collateralExpiresAt?: string;
}

type Bytes = Uint8Array | string;

/** The verifier result shape this module consumes (src/attestation `verify`). */
export interface VerifiedQuoteLike {
  tee: string;
  status: string;
  advisoryIds: readonly string[];
  fmspc: Bytes;
  enclave?: { mrenclave: Bytes; mrsigner: Bytes; isvProdId: number; isvSvn: number; debug: boolean; reportData: Bytes } | undefined;
  td?: object | undefined;
  collateralExpiresAt?: Date | string | undefined;
}

function hex(value: Bytes | undefined): string {
  if (value === undefined) return '';
  return typeof value === 'string' ? value.toLowerCase() : toHex(value);
}

/** Normalises a verifier result into policy claims. */
export function claimsFromVerifiedQuote(v: VerifiedQuoteLike): AttestationClaims {
  const td: Record<string, string> = {};
  let tdDebug = false;
  let tdReportData = '';
  if (v.td) {
    for (const [k, val] of Object.entries(v.td as Record<string, unknown>)) {
      if (val instanceof Uint8Array || typeof val === 'string') td[k] = hex(val);
      if (k === 'debug' && typeof val === 'boolean') tdDebug = val;
    }
    tdReportData = td['reportData'] ?? '';
    delete td['reportData'];
  }
  const e = v.enclave;
  const claims: AttestationClaims = {
    tee: v.tee === 'tdx' ? 'tdx' : 'sgx',
    status: v.status,
    advisoryIds: [...v.advisoryIds],
    fmspc: hex(v.fmspc),
    mrenclave: hex(e?.mrenclave),
    mrsigner: hex(e?.mrsigner),
    isvProdId: e?.isvProdId ?? 0,
    isvSvn: e?.isvSvn ?? 0,
    debug: e ? e.debug : tdDebug,
    reportData: e ? hex(e.reportData) : tdReportData,
    td,
  };
  if (v.collateralExpiresAt !== undefined) {
    claims.collateralExpiresAt = v.collateralExpiresAt instanceof Date ? v.collateralExpiresAt.toISOString() : v.collateralExpiresAt;
  }
  return claims;
}

const HEX = /^[0-9a-f]*$/;
const ClaimsSchema = z
  .object({
    tee: z.enum(['sgx', 'tdx']),
    status: z.string().min(1),
    advisoryIds: z.array(z.string()),
    fmspc: z.string().regex(HEX),
    mrenclave: z.string().regex(HEX),
    mrsigner: z.string().regex(HEX),
    isvProdId: z.number().int().min(0).max(0xffff),
    isvSvn: z.number().int().min(0).max(0xffff),
    debug: z.boolean(),
    reportData: z.string().regex(HEX).default(''),
    td: z.record(z.string(), z.string()).default({}),
    collateralExpiresAt: z.string().optional(),
  })
  .strict();

/**
 * Validates claims read from a file (a saved attestation result). Accepts the
 * claims object itself, an object with a `claims` member (as
 * `kbs get-resource --save-claims` writes), or the output of
 * `kubetee attest verify --json`.
 */
export function parseClaims(input: unknown, where: string): AttestationClaims {
  if (isVerifyJson(input)) return fromVerifyJson(input, where);
  const candidate =
    typeof input === 'object' && input !== null && 'claims' in input && typeof (input as { claims: unknown }).claims === 'object'
      ? (input as { claims: unknown }).claims
      : input;
  const r = ClaimsSchema.safeParse(candidate);
  if (!r.success) {
    const issues = r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new PolicyError('POLICY_CLAIMS_INVALID', `${where} is not a valid attestation result: ${issues}`, {
      hint: 'save one with `kubetee kbs get-resource ... --save-claims FILE` or write the claims object by hand (see docs/key-broker.md)',
    });
  }
  const c = r.data;
  const out: AttestationClaims = { ...c, td: c.td, reportData: c.reportData };
  if (c.collateralExpiresAt === undefined) delete out.collateralExpiresAt;
  return out;
}

interface VerifyJson {
  verified: boolean;
  tee?: unknown;
  status?: unknown;
  advisoryIds?: unknown;
  fmspc?: unknown;
  enclave?: Record<string, unknown>;
  td?: Record<string, unknown>;
}

function isVerifyJson(input: unknown): input is VerifyJson {
  return typeof input === 'object' && input !== null && 'verified' in input && typeof (input as { verified: unknown }).verified === 'boolean';
}

/** `kubetee attest verify --json` output → claims; refuses failed verifications and TDX without a debug flag (fail closed). */
function fromVerifyJson(v: VerifyJson, where: string): AttestationClaims {
  if (!v.verified) {
    throw new PolicyError('POLICY_CLAIMS_INVALID', `${where} records a failed verification; there are no verified claims to test`, { hint: 'verify a quote that passes, or save claims with `kbs get-resource --save-claims`' });
  }
  const e = v.enclave;
  if (!e && (!v.td || typeof v.td['debug'] !== 'boolean')) {
    throw new PolicyError('POLICY_CLAIMS_INVALID', `${where} has no SGX enclave identity and no TD debug flag`, { hint: 'save the claims with `kbs get-resource --save-claims` for TDX' });
  }
  const claims = {
    tee: v.tee,
    status: v.status,
    advisoryIds: v.advisoryIds,
    fmspc: v.fmspc,
    mrenclave: e?.['mrenclave'] ?? '',
    mrsigner: e?.['mrsigner'] ?? '',
    isvProdId: e?.['isvProdId'] ?? 0,
    isvSvn: e?.['isvSvn'] ?? 0,
    debug: e ? e['debug'] : v.td?.['debug'],
    reportData: e?.['reportData'] ?? v.td?.['reportData'] ?? '',
    td: Object.fromEntries(Object.entries(v.td ?? {}).filter(([k, val]) => typeof val === 'string' && k !== 'reportData')),
  };
  return parseClaims(claims, where);
}
