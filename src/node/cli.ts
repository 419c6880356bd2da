/**
 * CLI: `kubetee node probe` and `kubetee node-agent`. Thin: parse flags, call
 * the library, print. Errors propagate to src/cli/main.ts.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { NodeError } from './errors.js';
import { DEFAULT_AESM_SOCKET_DIR } from './host-paths.js';
import { formatProbe, probeNode, probeToJson } from './probe.js';
import { registerNodeAgent } from './agent-cli.js';

interface ProbeFlags {
  hostRoot: string;
  cpuidDump?: string;
  machine?: string;
  aesmSocketDir: string;
  json?: boolean;
}

function readDump(path: string): { text: string; name: string } {
  try {
    return { text: readFileSync(path, 'utf8'), name: path };
  } catch (err) {
    throw new NodeError('CPUID_DUMP_UNREADABLE', `cannot read the CPUID dump ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, {
      cause: err,
      hint: 'pass --cpuid-dump with a readable text file of "CPUID <leaf>: EAX-EBX-ECX-EDX [SL nn]" lines',
      exitCode: 2,
    });
  }
}

export function registerNode(program: Command): void {
  const node = program.command('node').description('inspect SGX on this node (detection of CPU features, EPC, driver and AESM)');
  node
    .command('probe')
    .description('detect SGX, the EPC, the driver, device nodes and AESM on this node')
    .option('--host-root <dir>', 'root of the host filesystem to inspect', '/')
    .option('--cpuid-dump <file>', 'decode this CPUID dump instead of /dev/cpu/0/cpuid')
    .option('--machine <title>', 'pick one machine from a dump that holds several (part of its title)')
    .option('--aesm-socket-dir <dir>', `AESM socket directory (host path, relative to --host-root; "" to skip)`, DEFAULT_AESM_SOCKET_DIR)
    .option('--json', 'print JSON (stable shape) instead of text')
    .action(async (flags: ProbeFlags) => {
      const hostRoot = resolve(flags.hostRoot);
      const dump = flags.cpuidDump === undefined ? undefined : { ...readDump(flags.cpuidDump), ...(flags.machine ? { machine: flags.machine } : {}) };
      const probe = await probeNode({
        hostRoot,
        ...(dump ? { cpuidDump: dump } : {}),
        aesmSocketDir: flags.aesmSocketDir === '' ? null : resolve(hostRoot, `.${resolve('/', flags.aesmSocketDir)}`),
      });
      process.stdout.write(flags.json ? `${JSON.stringify(probeToJson(probe))}\n` : formatProbe(probe));
    });
  registerNodeAgent(program, node);
}
