import { readFileSync } from 'node:fs';
import { NodeError } from './errors.js';

/** Reads a CPUID dump file for --cpuid-dump (CLI edge), with a typed error when unreadable. */
export function readCpuidDumpFile(path: string, machine?: string): { text: string; name: string; machine?: string } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new NodeError('CPUID_DUMP_UNREADABLE', `cannot read the CPUID dump ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, {
      cause: err,
      hint: 'pass --cpuid-dump with a readable text file of "CPUID <leaf>: EAX-EBX-ECX-EDX [SL nn]" lines',
      exitCode: 2,
    });
  }
  return machine ? { text, name: path, machine } : { text, name: path };
}
