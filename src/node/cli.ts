/**
 * CLI: `kubetee node probe` and `kubetee node-agent`. Thin: parse flags, call
 * the library, print. Errors propagate to src/cli/main.ts.
 */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { readCpuidDumpFile } from './read-dump.js';
import { DEFAULT_AESM_SOCKET_DIR, underRoot } from './host-paths.js';
import { formatProbe, probeNode, probeToJson } from './probe.js';
import { registerNodeAgent } from './agent-cli.js';

interface ProbeFlags {
  hostRoot: string;
  cpuidDump?: string;
  machine?: string;
  aesmSocketDir: string;
  json?: boolean;
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
      const dump = flags.cpuidDump === undefined ? undefined : readCpuidDumpFile(flags.cpuidDump, flags.machine);
      const probe = await probeNode({
        hostRoot,
        ...(dump ? { cpuidDump: dump } : {}),
        aesmSocketDir: flags.aesmSocketDir === '' ? null : underRoot(hostRoot, resolve('/', flags.aesmSocketDir)),
      });
      process.stdout.write(flags.json ? `${JSON.stringify(probeToJson(probe))}\n` : formatProbe(probe));
    });
  registerNodeAgent(program, node);
}
