/**
 * `kubetee sim …`: drive a simulated SGX platform from the shell — create it,
 * print its root, make quotes and collateral, publish TCB recoveries, revoke
 * its PCK certificate, serve a PCS. Thin: parse flags, call the library, print.
 */
import { InvalidArgumentError, Option, type Command } from 'commander';
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { UsageError } from '../common/errors.js';
import { fromHex, toHex } from '../common/hex.js';
import { parsePort } from '../cli/options.js';
import { SimulatedPlatform } from './platform.js';
import { loadPlatform, savePlatform, stateExists } from './state-file.js';
import { COLLATERAL_TAMPERS, QUOTE_TAMPERS } from './faults.js';
import type { SimCollateralTamper, SimPckCa, SimQuoteTamper } from './types.js';
import { waitForShutdownSignal } from '../common/signals.js';

const DEFAULT_STATE = './.kubetee/sim-platform.json';

function hexBytes(max: number, exact?: number) {
  return (value: string): Uint8Array => {
    const bytes = fromHex(value);
    if (!bytes) throw new InvalidArgumentError(`"${value}" is not hex.`);
    if (exact !== undefined && bytes.length !== exact) throw new InvalidArgumentError(`expected ${exact} bytes (${exact * 2} hex digits), got ${bytes.length}.`);
    if (bytes.length > max) throw new InvalidArgumentError(`at most ${max} bytes, got ${bytes.length}.`);
    return bytes;
  };
}

function uint16(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) > 0xffff) throw new InvalidArgumentError(`"${value}" is not an integer 0..65535.`);
  return Number(value);
}

function quoteVersion(value: string): 3 | 4 {
  if (value !== '3' && value !== '4') throw new InvalidArgumentError(`quote version must be 3 or 4, got "${value}".`);
  return Number(value) as 3 | 4;
}

function pckCa(value: string): SimPckCa {
  if (value !== 'processor' && value !== 'platform') throw new InvalidArgumentError(`must be "processor" or "platform", got "${value}".`);
  return value;
}

function writeOut(path: string | undefined, data: string | Uint8Array): void {
  if (path === undefined) {
    process.stdout.write(data);
    return;
  }
  try {
    writeFileSync(path, data);
  } catch (err) {
    throw new UsageError('FILE_UNREADABLE', `cannot write ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { cause: err });
  }
}

function statusText(p: SimulatedPlatform, path: string): string {
  const root = createHash('sha256').update(p.rootCaDer).digest('hex');
  return [
    `state: ${path}`,
    `root CA SHA-256: ${root} (simulated; trusted only where passed explicitly)`,
    `fmspc: ${p.fmspc}  pceId: ${p.pceId}  PCK CA: ${p.pckCa}`,
    `tcb: components [${p.tcb.sgxTcbComponents.join(',')}] pcesvn ${p.tcb.pceSvn}`,
    `tcbEvaluationDataNumber: ${p.tcbEvaluationDataNumber}  pending TCB updates: ${p.pendingTcbUpdates}`,
    `PCK certificate revoked: ${p.pckRevoked ? 'yes' : 'no'}`,
    '',
  ].join('\n');
}

export function registerSim(program: Command): void {
  const sim = program.command('sim').description('a simulated SGX platform: quotes, collateral and a PCS for development and tests (never trusted by default)');
  const stateOption = (cmd: Command): Command => cmd.option('--state <file>', 'platform state file (holds private keys)', DEFAULT_STATE);

  stateOption(sim.command('init').description('create a new simulated platform (new keys and root CA)'))
    .option('--fmspc <hex>', 'FMSPC, 12 hex digits', (v: string) => toHex(hexBytes(6, 6)(v)), '00906ed50000')
    .option('--pce-id <hex>', 'PCE-ID, 4 hex digits', (v: string) => toHex(hexBytes(2, 2)(v)), '0000')
    .option('--ca <ca>', 'PCK CA issuing the leaf: processor | platform', pckCa, 'processor')
    .option('--force', 'replace an existing state file (its root is then no longer this platform\'s)')
    .action(async (opts: { state: string; fmspc: string; pceId: string; ca: SimPckCa; force?: boolean }) => {
      const path = resolve(opts.state);
      if (stateExists(path) && !opts.force) {
        throw new UsageError('USAGE', `${path} already exists`, { hint: 'use it as is, pass another --state, or add --force to replace it' });
      }
      const platform = await SimulatedPlatform.create({ fmspc: opts.fmspc, pceId: opts.pceId, ca: opts.ca });
      savePlatform(path, platform);
      process.stdout.write(statusText(platform, path));
    });

  stateOption(sim.command('status').description('print the platform\'s identity, TCB and revocation state')).action((opts: { state: string }) => {
    const path = resolve(opts.state);
    process.stdout.write(statusText(loadPlatform(path), path));
  });

  stateOption(sim.command('root').description('print the simulated Root CA certificate (PEM) to trust it explicitly'))
    .option('--out <file>', 'write to a file instead of stdout')
    .option('--der', 'DER instead of PEM')
    .action((opts: { state: string; out?: string; der?: boolean }) => {
      const p = loadPlatform(resolve(opts.state));
      writeOut(opts.out, opts.der ? p.rootCaDer : p.rootCaPem);
    });

  stateOption(sim.command('quote').description('write a quote by the simulated QE (binary with --out, hex on stdout otherwise)'))
    .option('--out <file>', 'write the raw quote bytes to this file')
    .option('--mrenclave <hex>', 'MRENCLAVE, 32 bytes', hexBytes(32, 32))
    .option('--mrsigner <hex>', 'MRSIGNER, 32 bytes', hexBytes(32, 32))
    .option('--isv-prod-id <n>', 'ISVPRODID', uint16, 0)
    .option('--isv-svn <n>', 'ISVSVN', uint16, 0)
    .option('--debug', 'set ATTRIBUTES.DEBUG')
    .option('--report-data <hex>', 'REPORTDATA, up to 64 bytes (zero padded)', hexBytes(64))
    .option('--quote-version <n>', '3 or 4', quoteVersion, 3)
    .addOption(new Option('--fault <name>', 'negative tests: break exactly one check (e.g. pckChainLeafIsPckCa: a wrong certificate signs the QE report)').choices([...QUOTE_TAMPERS]))
    .action(
      (opts: {
        state: string;
        out?: string;
        mrenclave?: Uint8Array;
        mrsigner?: Uint8Array;
        isvProdId: number;
        isvSvn: number;
        debug?: boolean;
        reportData?: Uint8Array;
        quoteVersion: 3 | 4;
        fault?: SimQuoteTamper;
      }) => {
        const p = loadPlatform(resolve(opts.state));
        const quote = p.quote({
          ...(opts.mrenclave ? { mrenclave: opts.mrenclave } : {}),
          ...(opts.mrsigner ? { mrsigner: opts.mrsigner } : {}),
          ...(opts.reportData ? { reportData: opts.reportData } : {}),
          isvProdId: opts.isvProdId,
          isvSvn: opts.isvSvn,
          debug: opts.debug === true,
          version: opts.quoteVersion,
          ...(opts.fault ? { tamper: opts.fault } : {}),
        });
        writeOut(opts.out, opts.out === undefined ? `${toHex(quote)}\n` : quote);
      },
    );

  stateOption(sim.command('collateral').description('write fresh collateral (QuoteCollateralV3 JSON) valid now'))
    .option('--out <file>', 'write to a file instead of stdout')
    .addOption(
      new Option('--fault <name>', 'negative tests: break exactly one check (e.g. tcbInfoSignerPckLeaf: TCB Info signed by the PCK key)').choices([...COLLATERAL_TAMPERS]),
    )
    .action((opts: { state: string; out?: string; fault?: SimCollateralTamper }) => {
      const p = loadPlatform(resolve(opts.state));
      writeOut(opts.out, `${JSON.stringify(p.collateral(opts.fault ? { tamper: opts.fault } : {}), null, 2)}\n`);
    });

  stateOption(sim.command('recover-tcb').description('publish a TCB recovery: the platform becomes OutOfDate until `update-tcb`')).action((opts: { state: string }) => {
    const path = resolve(opts.state);
    const p = loadPlatform(path);
    p.recoverTcb();
    savePlatform(path, p);
    process.stdout.write(statusText(p, path));
  });

  stateOption(sim.command('update-tcb').description('install the latest TCB recovery: new PCK certificate, same root')).action(async (opts: { state: string }) => {
    const path = resolve(opts.state);
    const p = loadPlatform(path);
    await p.updateTcb();
    savePlatform(path, p);
    process.stdout.write(statusText(p, path));
  });

  stateOption(sim.command('revoke-pck').description('list the platform\'s PCK certificate in the PCK CRL')).action((opts: { state: string }) => {
    const path = resolve(opts.state);
    const p = loadPlatform(path);
    p.revokePck();
    savePlatform(path, p);
    process.stdout.write(statusText(p, path));
  });

  stateOption(sim.command('serve').description('serve the platform\'s collateral on the Intel PCS v4 paths until Ctrl+C'))
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--port <port>', 'port (0 = any free port)', parsePort, 8081)
    .action(async (opts: { state: string; host: string; port: number }) => {
      const p = loadPlatform(resolve(opts.state));
      const server = await p.serve({ host: opts.host, port: opts.port });
      process.stdout.write(`simulated PCS listening on ${server.url} (fmspc ${p.fmspc}); Ctrl+C to stop\n`);
      await waitForShutdownSignal();
      await server.close();
      process.stdout.write('simulated PCS stopped\n');
    });
}
