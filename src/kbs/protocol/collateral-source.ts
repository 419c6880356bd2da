import 'reflect-metadata';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { X509Certificate } from '@peculiar/x509';
import { parseCollateral, parsePckExtension, parseQuote, type QuoteCollateralV3Json } from '../../attestation/index.js';
import { KbsProtocolError } from './errors.js';
import { UsageError } from '../../common/errors.js';

/** Collateral the verifier may use for one quote (tried in order until one verifies). */
export type CollateralCandidates = QuoteCollateralV3Json[];

/**
 * Where the broker gets Intel collateral: uploaded files (offline operation),
 * a PCCS/PCS, or both. Kept behind one small interface so the attest handler
 * does not care.
 */
export interface CollateralProvider {
  /** `refresh` asks a caching provider to fetch anew (after the cached collateral failed to verify). */
  candidatesFor(quote: Uint8Array, options?: { refresh?: boolean }): Promise<CollateralCandidates>;
}

const SGX_EXTENSION_OID = '1.2.840.113741.1.13.1';

/** Fixed collateral (files given with --collateral, or a simulated platform's). */
export function staticCollateral(list: QuoteCollateralV3Json[] | (() => QuoteCollateralV3Json[])): CollateralProvider {
  return { candidatesFor: async () => (typeof list === 'function' ? list() : list) };
}

/** Reads one collateral JSON file or every *.json file in a directory; validates each at load. */
export function loadCollateralPath(path: string): QuoteCollateralV3Json[] {
  let files: string[];
  try {
    files = statSync(path).isDirectory()
      ? readdirSync(path)
          .filter((f) => f.endsWith('.json'))
          .sort()
          .map((f) => join(path, f))
      : [path];
  } catch (err) {
    throw new UsageError('FILE_UNREADABLE', `cannot read collateral from ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, {
      cause: err,
      hint: 'pass --collateral with a QuoteCollateralV3 JSON file or a directory of them',
    });
  }
  if (files.length === 0) throw new UsageError('CONFIG_INVALID', `${path} holds no *.json collateral files`, { hint: 'put QuoteCollateralV3 JSON files there' });
  return files.map((file) => {
    try {
      const json = JSON.parse(readFileSync(file, 'utf8')) as QuoteCollateralV3Json;
      parseCollateral(json); // throws a coded AttestationError when malformed
      return json;
    } catch (err) {
      throw new UsageError('CONFIG_INVALID', `${file} is not QuoteCollateralV3 JSON: ${(err as Error).message}`, {
        cause: err,
        hint: 'collateral files use the dcap-qvl QuoteCollateralV3 format (see docs/key-broker.md)',
      });
    }
  });
}

/** FMSPC and PCK CA type of the platform that produced a quote, from its PCK leaf certificate. */
export function pckIdentityOfQuote(quote: Uint8Array): { fmspc: string; ca: 'processor' | 'platform' } {
  const parsed = parseQuote(quote);
  const leafDer = parsed.qe.pckChainDer[0];
  if (!leafDer) throw new KbsProtocolError('KBS_EVIDENCE_INVALID', 'the quote carries no PCK certificate', { hint: 'quotes must embed the PCK chain (certification data type 5)' });
  const leaf = new X509Certificate(leafDer);
  const ext = leaf.getExtension(SGX_EXTENSION_OID);
  if (!ext) throw new KbsProtocolError('KBS_EVIDENCE_INVALID', 'the PCK certificate has no SGX extension', { hint: 'is this an Intel DCAP quote?' });
  const pck = parsePckExtension(new Uint8Array(ext.value));
  // Intel names the issuing CA "... PCK Platform CA" or "... PCK Processor CA" in its CN.
  const issuerCn = /(?:^|,\s*)CN=([^,]+)/.exec(leaf.issuer)?.[1] ?? '';
  return { fmspc: pck.fmspc.toLowerCase(), ca: /platform/i.test(issuerCn) ? 'platform' : 'processor' };
}

export interface PccsOptions {
  /** Base URL of a PCCS or PCS v4 (e.g. https://pccs.example:8081 or http://127.0.0.1:8081). */
  url: string;
  fetch?: typeof fetch;
  now: () => number;
  /** How long fetched collateral is reused; it is re-checked for freshness by the verifier anyway. */
  cacheMs?: number;
  timeoutMs?: number;
}

/** Collateral fetched from a PCCS (Intel PCS v4 paths), cached per FMSPC and CA. */
export function pccsCollateral(options: PccsOptions): CollateralProvider {
  const doFetch = options.fetch ?? fetch;
  const cacheMs = options.cacheMs ?? 10 * 60_000;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const base = options.url.replace(/\/+$/, '');
  const cache = new Map<string, { at: number; value: QuoteCollateralV3Json }>();

  async function get(path: string): Promise<Response> {
    let res: Response;
    try {
      res = await doFetch(`${base}${path}`, { signal: AbortSignal.timeout(timeoutMs) });
    } catch (err) {
      throw new KbsProtocolError('KBS_COLLATERAL_UNAVAILABLE', `the PCCS at ${base} is unreachable (${(err as Error).message})`, {
        cause: err,
        hint: 'check --pccs, or run offline with --collateral FILE|DIR',
      });
    }
    if (!res.ok) {
      throw new KbsProtocolError('KBS_COLLATERAL_UNAVAILABLE', `the PCCS answered ${res.status} for ${path.split('?')[0]}`, {
        hint: 'check that the PCCS has collateral for this platform (FMSPC), or use --collateral',
      });
    }
    return res;
  }
  const header = (res: Response, name: string): string => decodeURIComponent(res.headers.get(name) ?? '');

  return {
    async candidatesFor(quote, candidateOptions = {}) {
      const { fmspc, ca } = pckIdentityOfQuote(quote);
      const key = `${fmspc}/${ca}`;
      const hit = cache.get(key);
      if (hit && !candidateOptions.refresh && options.now() - hit.at < cacheMs) return [hit.value];
      const [tcb, qe, crl, root] = await Promise.all([
        get(`/sgx/certification/v4/tcb?fmspc=${fmspc}`),
        get('/sgx/certification/v4/qe/identity'),
        get(`/sgx/certification/v4/pckcrl?ca=${ca}&encoding=der`),
        get('/sgx/certification/v4/rootcacrl'),
      ]);
      const tcbText = await tcb.text();
      const qeText = await qe.text();
      const value: QuoteCollateralV3Json = {
        pck_crl_issuer_chain: header(crl, 'SGX-PCK-CRL-Issuer-Chain'),
        root_ca_crl: (await root.text()).trim(),
        pck_crl: Buffer.from(await crl.arrayBuffer()).toString('hex'),
        tcb_info_issuer_chain: header(tcb, 'TCB-Info-Issuer-Chain') || header(tcb, 'SGX-TCB-Info-Issuer-Chain'),
        tcb_info: signedBody(tcbText, 'tcbInfo'),
        tcb_info_signature: signatureOf(tcbText),
        qe_identity_issuer_chain: header(qe, 'SGX-Enclave-Identity-Issuer-Chain'),
        qe_identity: signedBody(qeText, 'enclaveIdentity'),
        qe_identity_signature: signatureOf(qeText),
      };
      if (cache.size > 64) cache.clear();
      cache.set(key, { at: options.now(), value });
      return [value];
    },
  };
}

/** Several providers: candidates of each in order; a provider that fails is skipped if another answers. */
export function combinedCollateral(providers: CollateralProvider[]): CollateralProvider {
  return {
    async candidatesFor(quote, candidateOptions) {
      const out: CollateralCandidates = [];
      let firstError: unknown;
      for (const p of providers) {
        try {
          out.push(...(await p.candidatesFor(quote, candidateOptions)));
        } catch (err) {
          firstError ??= err;
        }
      }
      if (out.length === 0 && firstError) throw firstError;
      return out;
    },
  };
}

/**
 * The exact signed text of `{"tcbInfo": {...}, "signature": "..."}`: the
 * signature covers the bytes of the inner object, so cut them out rather than
 * re-serialise (same rule as the fixtures' assembly).
 */
function signedBody(text: string, member: string): string {
  const start = text.indexOf(`"${member}"`);
  const sig = text.lastIndexOf('"signature"');
  if (start < 0 || sig < 0) throw new KbsProtocolError('KBS_COLLATERAL_UNAVAILABLE', `the PCCS reply has no ${member}`, { hint: 'is --pccs a PCCS/PCS v4 endpoint?' });
  const open = text.indexOf('{', start);
  const close = text.lastIndexOf('}', sig);
  return text.slice(open, close + 1).replace(/,\s*$/, '');
}

function signatureOf(text: string): string {
  const m = /"signature"\s*:\s*"([0-9a-fA-F]+)"/.exec(text);
  if (!m) throw new KbsProtocolError('KBS_COLLATERAL_UNAVAILABLE', 'the PCCS reply has no signature', { hint: 'is --pccs a PCCS/PCS v4 endpoint?' });
  return m[1]!;
}
