import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fromHex } from '../common/hex.js';
import { AttestationError } from './errors.js';
import { parseCollateral, collateralToJson, type QuoteCollateralV3Json } from './collateral.js';
import { rawJsonMember } from './json-member.js';
import { parsePckExtension } from './pck-extension.js';
import { parseQuote, type ParsedQuote } from './quote.js';
import { parseTcbInfo, parseQeIdentity } from './tcb-info.js';
import { parseCertificate, parseCrl } from './x509.js';

/** What a quote needs from PCS/PCCS: its FMSPC, TEE and the CA that issued its PCK certificate. */
export interface CollateralTarget {
  tee: 'sgx' | 'tdx';
  fmspc: string;
  ca: 'processor' | 'platform';
}

/** Reads the collateral target from a quote's PCK leaf certificate. */
export function collateralTarget(quote: Uint8Array): CollateralTarget {
  const { tee, fmspc, ca } = collateralTargetOf(parseQuote(quote));
  return { tee, fmspc, ca };
}

function collateralTargetOf(q: ParsedQuote): CollateralTarget & { rootCrlUrl: string | undefined } {
  const leafDer = q.qe.pckChainDer[0]!;
  const leaf = parseCertificate(leafDer, 'PCK certificate');
  if (!leaf.sgxExtension) throw new AttestationError('BAD_PCK_EXTENSION', 'the PCK certificate has no SGX extension (OID 1.2.840.113741.1.13.1)');
  const pck = parsePckExtension(leaf.sgxExtension);
  const issuer = leaf.issuerCn.toLowerCase();
  const ca = issuer.includes('processor') ? 'processor' : issuer.includes('platform') ? 'platform' : undefined;
  if (!ca) throw new AttestationError('BAD_CERTIFICATE', `cannot tell the PCK CA type from the issuer "${leaf.issuerCn}" (expected a Processor or Platform CA)`);
  const rootDer = q.qe.pckChainDer[q.qe.pckChainDer.length - 1]!;
  let rootCrlUrl: string | undefined;
  try {
    rootCrlUrl = parseCertificate(rootDer, 'PCK chain root').crlDistributionPoint;
  } catch {
    rootCrlUrl = undefined;
  }
  return { tee: q.tee, fmspc: pck.fmspc, ca, rootCrlUrl };
}

/** PCS v4 paths (relative to the service base URL) for a target. */
export function collateralPaths(t: CollateralTarget, update?: 'early' | 'standard'): { pckCrl: string; tcbInfo: string; qeIdentity: string; rootCaCrl: string } {
  // PCS v4 `update`: "standard" (the default) or "early" (TCB recovery collateral published
  // before it becomes standard). Same quote, same day, different verdicts: the caller chooses.
  return {
    pckCrl: `/sgx/certification/v4/pckcrl?ca=${t.ca}&encoding=der`,
    tcbInfo: `/${t.tee}/certification/v4/tcb?fmspc=${t.fmspc}${update ? `&update=${update}` : ''}`,
    qeIdentity: `/${t.tee}/certification/v4/qe/identity${update ? `?update=${update}` : ''}`,
    rootCaCrl: '/sgx/certification/v4/rootcacrl',
  };
}

export interface FetchCollateralOptions {
  /** PCS or PCCS base URL, e.g. https://api.trustedservices.intel.com or https://pccs.local:8081. */
  pccsUrl: string;
  /** Injected for tests; default the global fetch. */
  fetch?: typeof fetch;
  /** Per request; default 10 s. */
  timeoutMs?: number;
  /** Directory for cached collateral; none when undefined. */
  cacheDir?: string;
  /** Clock for cache freshness; default now. */
  now?: Date;
  /** PCS v4 TCB update channel; default: the service's default (standard). */
  update?: 'early' | 'standard';
}

interface HttpAnswer {
  status: number;
  headers: Headers;
  body: Uint8Array;
}

/**
 * Fetches collateral for a quote from an Intel PCS v4 / PCCS compatible
 * service and returns it as QuoteCollateralV3 JSON. With `cacheDir`, a cached
 * bundle is reused while every piece is before its nextUpdate.
 * Errors: COLLATERAL_UNREACHABLE (network), COLLATERAL_BAD_RESPONSE (status,
 * missing header, unparsable body).
 */
export async function fetchCollateral(quote: Uint8Array, options: FetchCollateralOptions): Promise<QuoteCollateralV3Json> {
  const { rootCrlUrl, ...target } = collateralTargetOf(parseQuote(quote));
  const now = options.now ?? new Date();
  const base = normaliseBase(options.pccsUrl);
  // Keyed by the service too: two services (or two simulated platforms) can share an FMSPC.
  const service = createHash('sha256').update(base).digest('hex').slice(0, 12);
  const cacheFile = options.cacheDir ? join(options.cacheDir, `${target.tee}-${target.fmspc}-${target.ca}${options.update ? `-${options.update}` : ''}-${service}.json`) : undefined;
  if (cacheFile) {
    const cached = readCached(cacheFile, now);
    if (cached) return cached;
  }
  const paths = collateralPaths(target, options.update);
  const get = (path: string): Promise<HttpAnswer> => httpGet(base + path, options.fetch ?? fetch, options.timeoutMs ?? 10_000);
  const fetchImpl = options.fetch ?? fetch;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const [pckCrlAnswer, tcbAnswer, qeAnswer, rootFromService] = await Promise.all([
    get(paths.pckCrl),
    get(paths.tcbInfo),
    get(paths.qeIdentity),
    get(paths.rootCaCrl).catch((err: unknown) => err),
  ]);
  // Intel's PCS does not serve rootcacrl (PCCS does): fall back to the root certificate's
  // CRL distribution point (for Intel: certificates.trustedservices.intel.com, DER).
  let rootAnswer: HttpAnswer;
  let rootUrl = base + paths.rootCaCrl;
  if (!(rootFromService instanceof Error)) rootAnswer = rootFromService as HttpAnswer;
  else if (rootFromService instanceof AttestationError && rootFromService.code === 'COLLATERAL_BAD_RESPONSE' && /HTTP 404/.test(rootFromService.message) && rootCrlUrl) {
    rootUrl = rootCrlUrl;
    rootAnswer = await httpGet(rootCrlUrl, fetchImpl, timeoutMs);
  } else throw rootFromService;

  const tcb = signedDocument(tcbAnswer, 'tcbInfo', base + paths.tcbInfo);
  const qe = signedDocument(qeAnswer, 'enclaveIdentity', base + paths.qeIdentity);
  const json: QuoteCollateralV3Json = {
    pck_crl_issuer_chain: issuerChain(pckCrlAnswer, ['SGX-PCK-CRL-Issuer-Chain'], base + paths.pckCrl),
    root_ca_crl: crlHex(rootAnswer, rootUrl),
    pck_crl: crlHex(pckCrlAnswer, base + paths.pckCrl),
    tcb_info_issuer_chain: issuerChain(tcbAnswer, ['TCB-Info-Issuer-Chain', 'SGX-TCB-Info-Issuer-Chain'], base + paths.tcbInfo),
    tcb_info: tcb.text,
    tcb_info_signature: tcb.signature,
    qe_identity_issuer_chain: issuerChain(qeAnswer, ['SGX-Enclave-Identity-Issuer-Chain'], base + paths.qeIdentity),
    qe_identity: qe.text,
    qe_identity_signature: qe.signature,
  };
  let checked: QuoteCollateralV3Json;
  try {
    checked = collateralToJson(parseCollateral(json));
    parseTcbInfo(json.tcb_info);
    parseQeIdentity(json.qe_identity);
  } catch (err) {
    throw new AttestationError('COLLATERAL_BAD_RESPONSE', `${base} answered with unusable collateral: ${(err as Error).message}`, { cause: err });
  }
  if (cacheFile) writeCached(cacheFile, checked);
  return checked;
}

function normaliseBase(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new AttestationError('COLLATERAL_UNREACHABLE', `"${url}" is not a URL`, { hint: 'pass --pccs with an http(s) URL, e.g. https://api.trustedservices.intel.com' });
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new AttestationError('COLLATERAL_UNREACHABLE', `"${url}" is not an http(s) URL`);
  return u.toString().replace(/\/+$/, '').replace(/\/(sgx|tdx)\/certification\/v4$/, '');
}

async function httpGet(url: string, fetchImpl: typeof fetch, timeoutMs: number): Promise<HttpAnswer> {
  let res: Response;
  try {
    res = await fetchImpl(url, { signal: AbortSignal.timeout(timeoutMs), redirect: 'follow' });
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    const why = (err as Error).name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : cause?.code ?? cause?.message ?? (err as Error).message;
    throw new AttestationError('COLLATERAL_UNREACHABLE', `cannot reach ${url}: ${why}`, { cause: err });
  }
  let body: Uint8Array;
  try {
    body = new Uint8Array(await res.arrayBuffer());
  } catch (err) {
    throw new AttestationError('COLLATERAL_UNREACHABLE', `reading the answer from ${url} failed: ${(err as Error).message}`, { cause: err });
  }
  if (res.status !== 200) {
    const snippet = Buffer.from(body.subarray(0, 200)).toString('utf8').replace(/\s+/g, ' ');
    throw new AttestationError('COLLATERAL_BAD_RESPONSE', `${url} answered HTTP ${res.status}${snippet ? `: ${snippet}` : ''}`);
  }
  return { status: res.status, headers: res.headers, body };
}

function issuerChain(a: HttpAnswer, names: string[], url: string): string {
  for (const n of names) {
    const v = a.headers.get(n);
    if (v) {
      try {
        return decodeURIComponent(v);
      } catch {
        throw new AttestationError('COLLATERAL_BAD_RESPONSE', `${url}: header ${n} is not URL-encoded PEM`);
      }
    }
  }
  throw new AttestationError('COLLATERAL_BAD_RESPONSE', `${url}: the answer has no ${names.join(' / ')} header`);
}

function signedDocument(a: HttpAnswer, key: 'tcbInfo' | 'enclaveIdentity', url: string): { text: string; signature: string } {
  const text = Buffer.from(a.body).toString('utf8');
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new AttestationError('COLLATERAL_BAD_RESPONSE', `${url}: the answer is not JSON`);
  }
  const signature = (doc as Record<string, unknown> | null)?.['signature'];
  const raw = rawJsonMember(text, key);
  if (raw === undefined || typeof signature !== 'string') {
    throw new AttestationError('COLLATERAL_BAD_RESPONSE', `${url}: expected {"${key}": {...}, "signature": "<hex>"}`);
  }
  return { text: raw, signature };
}

/** CRLs arrive as DER (PCS with encoding=der), hex text (PCCS rootcacrl) or PEM. */
function crlHex(a: HttpAnswer, url: string): string {
  let der: Uint8Array | undefined = a.body;
  const text = Buffer.from(a.body).toString('latin1');
  if (text.includes('-----BEGIN X509 CRL-----')) {
    der = new Uint8Array(Buffer.from(text.replace(/-----[A-Z0-9 ]+-----/g, '').replace(/\s+/g, ''), 'base64'));
  } else if (a.body[0] !== 0x30) {
    der = fromHex(text);
  }
  if (!der || der.length === 0) throw new AttestationError('COLLATERAL_BAD_RESPONSE', `${url}: the answer is not a CRL (DER, hex or PEM)`);
  try {
    parseCrl(der, url);
  } catch (err) {
    throw new AttestationError('COLLATERAL_BAD_RESPONSE', `${url}: the answer is not a valid CRL: ${(err as Error).message}`, { cause: err });
  }
  return Buffer.from(der).toString('hex');
}

/** A cached bundle is used only while every piece is before its nextUpdate. */
function readCached(file: string, now: Date): QuoteCollateralV3Json | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  try {
    const json = collateralToJson(parseCollateral(text));
    const expiries = [
      parseTcbInfo(json.tcb_info).nextUpdate,
      parseQeIdentity(json.qe_identity).nextUpdate,
      parseCrl(fromHex(json.pck_crl as string)!, 'cached PCK CRL').nextUpdate,
      parseCrl(fromHex(json.root_ca_crl as string)!, 'cached Root CA CRL').nextUpdate,
    ];
    if (expiries.every((d) => d !== undefined && d > now)) return json;
  } catch {
    // A damaged cache entry is ignored and replaced.
  }
  return undefined;
}

function writeCached(file: string, json: QuoteCollateralV3Json): void {
  try {
    mkdirSync(join(file, '..'), { recursive: true, mode: 0o700 });
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(json, null, 2), { mode: 0o600 });
    renameSync(tmp, file);
  } catch {
    // The cache is an optimisation; failing to write it must not fail the fetch.
  }
}
