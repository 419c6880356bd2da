import { createHash } from 'node:crypto';
import { fromHex } from '../common/hex.js';
import { AttestationError } from './errors.js';
import { decodePemChain } from './quote.js';

/**
 * Collateral for one quote, as the exact bytes Intel signed. All fields are
 * strings, so a parsed Collateral is immutable (it is also frozen), which lets
 * the verifier key its caches by content safely.
 */
export interface Collateral {
  /** PEM: the PCK CRL issuer (Platform or Processor CA) then the root. */
  readonly pckCrlIssuerChain: string;
  /** Hex of the Root CA CRL in DER. */
  readonly rootCaCrl: string;
  /** Hex of the PCK CRL in DER. */
  readonly pckCrl: string;
  /** PEM: TCB Signing certificate then the root. */
  readonly tcbInfoIssuerChain: string;
  /** The exact signed `tcbInfo` JSON text (never re-serialise it). */
  readonly tcbInfo: string;
  /** Hex, 64-byte ECDSA r ‖ s over `tcbInfo`. */
  readonly tcbInfoSignature: string;
  readonly qeIdentityIssuerChain: string;
  /** The exact signed `enclaveIdentity` JSON text. */
  readonly qeIdentity: string;
  readonly qeIdentitySignature: string;
}

/** dcap-qvl's "QuoteCollateralV3" JSON (what the fixtures and `kubetee attest collateral` use). */
export interface QuoteCollateralV3Json {
  pck_crl_issuer_chain: string;
  root_ca_crl: string | Uint8Array | number[];
  pck_crl: string | Uint8Array | number[];
  tcb_info_issuer_chain: string;
  tcb_info: string;
  tcb_info_signature: string | Uint8Array | number[];
  qe_identity_issuer_chain: string;
  qe_identity: string;
  qe_identity_signature: string | Uint8Array | number[];
}

const FIELDS = [
  ['pck_crl_issuer_chain', 'pckCrlIssuerChain', 'pem'],
  ['root_ca_crl', 'rootCaCrl', 'bin'],
  ['pck_crl', 'pckCrl', 'bin'],
  ['tcb_info_issuer_chain', 'tcbInfoIssuerChain', 'pem'],
  ['tcb_info', 'tcbInfo', 'json'],
  ['tcb_info_signature', 'tcbInfoSignature', 'bin'],
  ['qe_identity_issuer_chain', 'qeIdentityIssuerChain', 'pem'],
  ['qe_identity', 'qeIdentity', 'json'],
  ['qe_identity_signature', 'qeIdentitySignature', 'bin'],
] as const;

/** Content digests of Collateral objects made by parseCollateral (frozen, so stable). */
const digests = new WeakMap<object, string>();

/**
 * Reads collateral from the QuoteCollateralV3 JSON (text or object; binary
 * fields as hex, Uint8Array or byte arrays) or normalises a Collateral object.
 * Checks the shape only; signatures and dates are checked by the verifier.
 *
 * @example
 * const c = parseCollateral(readFileSync('collateral.json', 'utf8'));
 */
export function parseCollateral(input: Collateral | QuoteCollateralV3Json | string): Collateral {
  if (typeof input === 'object' && input !== null && digests.has(input)) return input as Collateral;
  let obj: unknown = input;
  if (typeof input === 'string') {
    try {
      obj = JSON.parse(input);
    } catch (err) {
      throw new AttestationError('BAD_COLLATERAL', `collateral is not valid JSON: ${(err as Error).message}`, { cause: err });
    }
  }
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) {
    throw new AttestationError('BAD_COLLATERAL', 'collateral must be a JSON object (QuoteCollateralV3: pck_crl_issuer_chain, root_ca_crl, pck_crl, tcb_info, ...)');
  }
  const rec = obj as Record<string, unknown>;
  const camel = 'tcbInfo' in rec && !('tcb_info' in rec);
  const out: Record<string, string> = {};
  for (const [snake, camelName, kind] of FIELDS) {
    const name = camel ? camelName : snake;
    const v = rec[name];
    if (v === undefined || v === null) throw new AttestationError('BAD_COLLATERAL', `collateral field "${name}" is missing`);
    if (kind === 'bin') out[camelName] = binaryField(v, name);
    else if (typeof v !== 'string') throw new AttestationError('BAD_COLLATERAL', `collateral field "${name}" must be a string`);
    else if (kind === 'pem') {
      try {
        decodePemChain(Buffer.from(v, 'latin1'), `collateral field "${name}"`);
      } catch (err) {
        throw new AttestationError('BAD_COLLATERAL', (err as Error).message, { cause: err });
      }
      out[camelName] = v;
    } else {
      try {
        const parsed: unknown = JSON.parse(v);
        if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not a JSON object');
      } catch (err) {
        throw new AttestationError('BAD_COLLATERAL', `collateral field "${name}" is not a JSON object: ${(err as Error).message}`, { cause: err });
      }
      out[camelName] = v;
    }
  }
  const collateral = Object.freeze(out) as unknown as Collateral;
  digests.set(collateral, computeDigest(collateral));
  return collateral;
}

function binaryField(v: unknown, name: string): string {
  if (typeof v === 'string') {
    const bytes = fromHex(v);
    if (!bytes || bytes.length === 0) throw new AttestationError('BAD_COLLATERAL', `collateral field "${name}" is not hex`);
    return Buffer.from(bytes).toString('hex');
  }
  if (v instanceof Uint8Array) return Buffer.from(v).toString('hex');
  if (Array.isArray(v) && v.every((x) => Number.isInteger(x) && x >= 0 && x <= 255)) return Buffer.from(v as number[]).toString('hex');
  throw new AttestationError('BAD_COLLATERAL', `collateral field "${name}" must be hex text or bytes`);
}

/** Converts a Collateral back to the QuoteCollateralV3 JSON shape. */
export function collateralToJson(c: Collateral): QuoteCollateralV3Json {
  return {
    pck_crl_issuer_chain: c.pckCrlIssuerChain,
    root_ca_crl: c.rootCaCrl,
    pck_crl: c.pckCrl,
    tcb_info_issuer_chain: c.tcbInfoIssuerChain,
    tcb_info: c.tcbInfo,
    tcb_info_signature: c.tcbInfoSignature,
    qe_identity_issuer_chain: c.qeIdentityIssuerChain,
    qe_identity: c.qeIdentity,
    qe_identity_signature: c.qeIdentitySignature,
  };
}

/** SHA-256 over every field, length-prefixed so fields cannot run into each other. */
function computeDigest(c: Collateral): string {
  const h = createHash('sha256');
  for (const [, camelName] of FIELDS) {
    const s = c[camelName];
    h.update(`${s.length}:`);
    h.update(s);
  }
  return h.digest('hex');
}

/** The content digest of a collateral object (memoised for frozen parsed ones). */
export function collateralDigest(c: Collateral): string {
  return digests.get(c) ?? computeDigest(c);
}
