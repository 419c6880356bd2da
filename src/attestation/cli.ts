import { Option, type Command } from 'commander';
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { UsageError } from '../common/errors.js';
import { fromHex } from '../common/hex.js';
import { parseInstant, parsePositiveInt } from '../cli/options.js';
import { AttestationError } from './errors.js';
import { fetchCollateral } from './pccs-client.js';
import { parsePckExtension } from './pck-extension.js';
import { decodePemChain, parseQuote, type ParsedQuote } from './quote.js';
import type { VerificationResult } from './types.js';
import { QuoteVerifier } from './verifier.js';
import { parseCertificate } from './x509.js';

/** Where command output goes (a seam for in-process tests). */
export interface AttestOutput {
  out(text: string): void;
}

const STDOUT: AttestOutput = { out: (text) => void process.stdout.write(text) };

/** `kubetee attest verify|inspect|collateral`. */
export function registerAttest(program: Command, io: AttestOutput = STDOUT): void {
  const attest = program.command('attest').description('verify and inspect Intel DCAP quotes (SGX and TDX) and fetch their collateral');

  attest
    .command('verify')
    .description('verify a quote offline against its collateral (exit 0 verified, 1 rejected, 2 usage)')
    .requiredOption('--quote <file>', 'quote file: raw binary or hex text (with or without 0x)')
    .requiredOption('--collateral <file>', 'collateral JSON (QuoteCollateralV3, as written by `kubetee attest collateral`)')
    .option('--at <iso-8601>', 'verification time (default now)', parseInstant)
    .option('--trust-root <file>', 'trust this root CA certificate (PEM or DER) instead of the Intel SGX Root CA; repeatable (e.g. the simulated platform\'s root)', collect, [])
    .option('--json', 'print one JSON object')
    .action((opts: { quote: string; collateral: string; at?: Date; json?: boolean; trustRoot: string[] }) => {
      const quote = readQuoteFile(opts.quote);
      const collateral = readCollateralFile(opts.collateral);
      const roots = opts.trustRoot.map(readRootFile);
      let result: VerificationResult;
      try {
        result = new QuoteVerifier(roots.length ? { trustedRootCaDer: roots } : {}).verify(quote, collateral, opts.at ? { at: opts.at } : {});
      } catch (err) {
        if (opts.json && err instanceof AttestationError) {
          io.out(`${JSON.stringify({ verified: false, error: { code: err.code, message: err.message } })}\n`);
          process.exitCode = 1;
          return;
        }
        throw err;
      }
      io.out(opts.json ? `${JSON.stringify(verifyJson(result))}\n` : verifyText(result));
    });

  attest
    .command('inspect')
    .description('print the fields of a quote without verifying anything')
    .requiredOption('--quote <file>', 'quote file: raw binary or hex text (with or without 0x)')
    .option('--json', 'print one JSON object')
    .action((opts: { quote: string; json?: boolean }) => {
      const view = inspectQuote(parseQuote(readQuoteFile(opts.quote)));
      io.out(opts.json ? `${JSON.stringify(view, null, 2)}\n` : inspectText(view));
    });

  attest
    .command('collateral')
    .description('fetch the collateral for a quote from Intel PCS v4 or a PCCS and print it as JSON')
    .requiredOption('--quote <file>', 'quote file: raw binary or hex text (with or without 0x)')
    .requiredOption('--pccs <url>', 'PCS/PCCS base URL, e.g. https://api.trustedservices.intel.com')
    .option('--cache-dir <dir>', 'where fetched collateral is cached (reused until it expires)', defaultCacheDir())
    .option('--no-cache', 'always fetch, do not read or write the cache')
    .option('--timeout-ms <ms>', 'per request timeout', parsePositiveInt, 10_000)
    .addOption(new Option('--update <channel>', 'PCS v4 TCB update channel').choices(['early', 'standard']))
    .action(async (opts: { quote: string; pccs: string; cacheDir: string; cache: boolean; timeoutMs: number; update?: 'early' | 'standard' }) => {
      const quote = readQuoteFile(opts.quote);
      const json = await fetchCollateral(quote, {
        pccsUrl: opts.pccs,
        timeoutMs: opts.timeoutMs,
        ...(opts.update ? { update: opts.update } : {}),
        ...(opts.cache ? { cacheDir: resolve(opts.cacheDir) } : {}),
      });
      io.out(`${JSON.stringify(json, null, 2)}\n`);
    });
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/**
 * The collateral file as text, once it is known to be JSON. JSON.parse's own
 * message quotes the input, which for a binary file puts raw bytes on the
 * user's terminal: say what the file should be instead.
 */
function readCollateralFile(path: string): string {
  const text = readTextFile(path, '--collateral');
  try {
    JSON.parse(text);
  } catch {
    throw new UsageError('INPUT_INVALID', `--collateral ${path} is not JSON`, { hint: 'pass the QuoteCollateralV3 JSON written by `kubetee attest collateral` (or by `kubetee sim collateral`)' });
  }
  return text;
}

/** A root certificate file: PEM (first certificate) or DER. */
function readRootFile(path: string): Uint8Array {
  const der = readRootBytes(path);
  try {
    parseCertificate(der, `--trust-root ${path}`);
  } catch (err) {
    throw new UsageError('INPUT_INVALID', `--trust-root ${path} is not a PEM or DER certificate`, { cause: err, hint: 'pass the root CA certificate, for example the one `kubetee sim root` writes' });
  }
  return der;
}

function readRootBytes(path: string): Uint8Array {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    throw new UsageError('FILE_UNREADABLE', `cannot read --trust-root ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { cause: err });
  }
  if (bytes.includes('-----BEGIN CERTIFICATE-----')) {
    try {
      return decodePemChain(bytes, `--trust-root ${path}`)[0]!;
    } catch (err) {
      throw new UsageError('INPUT_INVALID', `--trust-root ${path} is not a PEM or DER certificate`, { cause: err, hint: 'pass the root CA certificate, for example the one `kubetee sim root` writes' });
    }
  }
  return new Uint8Array(bytes);
}

function defaultCacheDir(): string {
  return join(process.env['XDG_CACHE_HOME'] ?? join(homedir(), '.cache'), 'kubetee', 'collateral');
}

function readTextFile(path: string, flag: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new UsageError('FILE_UNREADABLE', `cannot read ${flag} ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { cause: err });
  }
}

/** A quote file is hex text when it is nothing but hex digits (optional 0x, whitespace); else raw bytes. */
export function readQuoteFile(path: string): Uint8Array {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    throw new UsageError('FILE_UNREADABLE', `cannot read --quote ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { cause: err });
  }
  if (bytes.length === 0) throw new UsageError('FILE_UNREADABLE', `--quote ${path} is empty`);
  const text = bytes.toString('latin1');
  if (/^\s*(0[xX])?[0-9a-fA-F\s]+$/.test(text)) {
    const decoded = fromHex(text);
    if (decoded) return decoded;
  }
  return new Uint8Array(bytes);
}

/** The `--json` success object, exactly the documented shape. */
export function verifyJson(r: VerificationResult): Record<string, unknown> {
  const out: Record<string, unknown> = {
    verified: true,
    tee: r.tee,
    quoteVersion: r.quoteVersion,
    status: r.status,
    advisoryIds: r.advisoryIds,
    fmspc: r.fmspc,
  };
  if (r.enclave) {
    const e = r.enclave;
    out['enclave'] = { mrenclave: e.mrenclave, mrsigner: e.mrsigner, isvProdId: e.isvProdId, isvSvn: e.isvSvn, debug: e.debug, reportData: e.reportData };
  }
  if (r.td) {
    const t = r.td;
    out['td'] = { mrtd: t.mrtd, rtmr0: t.rtmr0, rtmr1: t.rtmr1, rtmr2: t.rtmr2, rtmr3: t.rtmr3 };
  }
  return out;
}

function verifyText(r: VerificationResult): string {
  const lines = [
    `verified: ${r.tee.toUpperCase()} quote v${r.quoteVersion}`,
    `status: ${r.status}${r.advisoryIds.length ? ` (advisories: ${r.advisoryIds.join(', ')})` : ''}`,
    `fmspc: ${r.fmspc}  pceId: ${r.pceId}  platform: ${r.platformStatus}  qe: ${r.qeStatus}`,
    `collateral expires: ${r.collateralExpiresAt.toISOString()}`,
  ];
  if (r.enclave) {
    const e = r.enclave;
    lines.push(`mrenclave: ${e.mrenclave}`, `mrsigner: ${e.mrsigner}`, `isvProdId: ${e.isvProdId}  isvSvn: ${e.isvSvn}`, `debug: ${e.debug ? 'YES (not confidential)' : 'no'}`, `reportData: ${e.reportData}`);
  }
  if (r.td) {
    const t = r.td;
    lines.push(`mrtd: ${t.mrtd}`, `rtmr0: ${t.rtmr0}`, `rtmr1: ${t.rtmr1}`, `rtmr2: ${t.rtmr2}`, `rtmr3: ${t.rtmr3}`, `debug: ${t.debug ? 'YES (not confidential)' : 'no'}`, `reportData: ${t.reportData}`);
  }
  lines.push('checks:', ...r.checks.map((c) => `  ok  ${c.name}: ${c.detail}`));
  return `${lines.join('\n')}\n`;
}

/** A JSON-friendly view of a parsed quote (no verification). */
export function inspectQuote(q: ParsedQuote): Record<string, unknown> {
  const certs = q.qe.pckChainDer.map((der, i) => {
    try {
      const c = parseCertificate(der, `PCK chain certificate ${i}`);
      return { subject: c.subjectCn, issuer: c.issuerCn, serial: c.serial, notBefore: c.notBefore.toISOString(), notAfter: c.notAfter.toISOString(), ext: c.sgxExtension };
    } catch (err) {
      return { error: (err as Error).message };
    }
  });
  let pck: Record<string, unknown> | undefined;
  const ext = (certs[0] as { ext?: Uint8Array }).ext;
  if (ext) {
    try {
      const p = parsePckExtension(ext);
      pck = { fmspc: p.fmspc, pceId: p.pceId, pceSvn: p.pceSvn, tcbComponents: p.tcbComponents, cpuSvn: p.cpuSvn, ppid: p.ppid };
    } catch (err) {
      pck = { error: (err as Error).message };
    }
  }
  const { qeReportBody } = q.qe;
  return {
    tee: q.tee,
    header: q.header,
    bodyType: q.bodyType,
    ...(q.enclave ? { enclave: q.enclave } : {}),
    ...(q.td ? { td: q.td } : {}),
    certificationDataType: q.certDataType,
    qeReport: { mrenclave: qeReportBody.mrenclave, mrsigner: qeReportBody.mrsigner, isvProdId: qeReportBody.isvProdId, isvSvn: qeReportBody.isvSvn },
    attestationKey: Buffer.from(q.attestationKey).toString('hex'),
    pckChain: certs.map(({ ext: _ext, ...rest }: Record<string, unknown>) => rest),
    ...(pck ? { pck } : {}),
    length: q.length,
    trailingZeroBytes: q.trailingZeroBytes,
  };
}

function inspectText(view: Record<string, unknown>): string {
  const lines: string[] = [];
  const walk = (v: unknown, indent: string, key: string): void => {
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
      lines.push(`${indent}${key}:`);
      for (const [k, x] of Object.entries(v)) walk(x, `${indent}  `, k);
    } else if (Array.isArray(v) && v.some((x) => typeof x === 'object')) {
      lines.push(`${indent}${key}:`);
      v.forEach((x, i) => walk(x, `${indent}  `, String(i)));
    } else lines.push(`${indent}${key}: ${Array.isArray(v) ? v.join(',') : String(v)}`);
  };
  for (const [k, v] of Object.entries(view)) walk(v, '', k);
  return `${lines.join('\n')}\n`;
}
