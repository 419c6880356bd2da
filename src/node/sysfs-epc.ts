/** Reads EPC bytes per NUMA node from sysfs (`node<N>/x86/sgx_total_bytes`). */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { NumaEpc } from '../sgx/epc-numa.js';
import { NodeError } from './errors.js';
import { HOST_PATHS, underRoot } from './host-paths.js';

/** Returns undefined when no node exposes the file (older kernel or no SGX); sorted by node id otherwise. */
export function readSysfsEpc(hostRoot: string): NumaEpc[] | undefined {
  const dir = underRoot(hostRoot, HOST_PATHS.numaNodesDir);
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return undefined;
  }
  const out: NumaEpc[] = [];
  for (const name of names) {
    const m = /^node(\d+)$/.exec(name);
    if (!m) continue;
    const file = join(dir, name, 'x86', 'sgx_total_bytes');
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    const value = text.trim();
    if (!/^\d{1,16}$/.test(value) || !Number.isSafeInteger(Number(value))) {
      throw new NodeError('HOST_FILE_MALFORMED', `${file} holds "${value.slice(0, 40)}", expected a byte count`, {
        hint: 'check the host root; the kernel writes a decimal integer there',
      });
    }
    out.push({ node: Number(m[1]), bytes: Number(value) });
  }
  return out.length > 0 ? out.sort((a, b) => a.node - b.node) : undefined;
}
