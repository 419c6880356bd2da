/**
 * Parser for the CPUID dump line format used by the fixtures (AIDA64 /
 * InstLatx64 style):
 *
 *     CPUID <leaf, 8 hex>: <EAX>-<EBX>-<ECX>-<EDX> [SL <subleaf, 2 hex>]   [optional text]
 *
 * Block headers `------[ ... ]------` separate machines; everything that does
 * not start with `CPUID ` is ignored. A line without `[SL nn]` is subleaf 0.
 * Pure: takes text, returns data.
 */
import { SgxError } from './errors.js';
import type { CpuidReader, CpuidRegisters } from './cpuid.js';

export interface CpuidDumpMachine {
  /** Header text of the block (`Machine: ...` or `Logical CPU #0`), or '' when the dump has none. */
  title: string;
  /** Registers keyed by `leaf:subleaf` (numbers). */
  registers: Map<string, CpuidRegisters>;
}

const LINE = /^CPUID ([0-9A-Fa-f]{8}): ([0-9A-Fa-f]{8})-([0-9A-Fa-f]{8})-([0-9A-Fa-f]{8})-([0-9A-Fa-f]{8})(?:\s+\[SL ([0-9A-Fa-f]{1,8})\])?(?:\s+\[.*\])?\s*$/;
const HEADER = /^-{3,}\[\s*(.*?)\s*\]-{3,}\s*$/;
/** Dumps are a few KiB; refuse absurd inputs instead of building huge maps. */
const MAX_DUMP_CHARS = 4 * 1024 * 1024;

function key(leaf: number, subleaf: number): string {
  return `${leaf}:${subleaf}`;
}

/**
 * Splits a dump into machines. A header starts a new machine only when the
 * current one already holds registers, so "CPUID Registers" + "Logical CPU #0"
 * style preambles do not produce empty machines.
 */
export function parseCpuidDump(text: string, sourceName = 'CPUID dump'): CpuidDumpMachine[] {
  if (text.length > MAX_DUMP_CHARS) {
    throw new SgxError('CPUID_DUMP_MALFORMED', `${sourceName} is ${text.length} characters long; a CPUID dump is a few KiB`, {
      hint: 'pass the text dump of one machine (lines like "CPUID 00000012: ...")',
    });
  }
  const machines: CpuidDumpMachine[] = [];
  let current: CpuidDumpMachine = { title: '', registers: new Map() };
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = (lines[i] ?? '').trim();
    const header = HEADER.exec(line);
    if (header) {
      if (current.registers.size > 0) {
        machines.push(current);
        current = { title: header[1] ?? '', registers: new Map() };
      } else {
        current.title = header[1] ?? '';
      }
      continue;
    }
    if (!line.startsWith('CPUID ')) continue;
    const m = LINE.exec(line);
    if (!m) {
      throw new SgxError('CPUID_DUMP_MALFORMED', `${sourceName} line ${i + 1}: "${line.slice(0, 120)}" is not a CPUID register line`, {
        hint: 'expected "CPUID <leaf 8 hex>: <EAX>-<EBX>-<ECX>-<EDX> [SL <subleaf hex>]"',
      });
    }
    const leaf = parseInt(m[1]!, 16);
    const subleaf = m[6] === undefined ? 0 : parseInt(m[6], 16);
    current.registers.set(key(leaf, subleaf), {
      eax: parseInt(m[2]!, 16),
      ebx: parseInt(m[3]!, 16),
      ecx: parseInt(m[4]!, 16),
      edx: parseInt(m[5]!, 16),
    });
  }
  if (current.registers.size > 0) machines.push(current);
  if (machines.length === 0) {
    throw new SgxError('CPUID_DUMP_EMPTY', `${sourceName} contains no CPUID register lines`, {
      hint: 'the file must contain lines like "CPUID 00000012: 00000001-00000000-00000000-0000241F [SL 00]"',
    });
  }
  return machines;
}

/**
 * Picks one machine from a parsed dump: the only one, or the one whose title
 * contains `select` (case-insensitive).
 */
export function selectCpuidMachine(machines: CpuidDumpMachine[], select: string | undefined, sourceName = 'CPUID dump'): CpuidDumpMachine {
  if (select === undefined || select === '') {
    if (machines.length === 1) return machines[0]!;
    throw new SgxError('CPUID_DUMP_AMBIGUOUS', `${sourceName} holds ${machines.length} machines: ${machines.map((m) => `"${m.title}"`).join(', ')}`, {
      hint: 'choose one with --machine <part of its title>',
    });
  }
  const needle = select.toLowerCase();
  const hits = machines.filter((m) => m.title.toLowerCase().includes(needle));
  if (hits.length === 1) return hits[0]!;
  throw new SgxError('CPUID_DUMP_AMBIGUOUS', `${hits.length === 0 ? 'no' : hits.length} machine(s) in ${sourceName} match "${select}"`, {
    hint: `titles: ${machines.map((m) => `"${m.title}"`).join(', ')}`,
  });
}

/** A CpuidReader over one machine of a dump; unlisted (leaf, subleaf) pairs read as absent. */
export function dumpReader(machine: CpuidDumpMachine): CpuidReader {
  return (leaf, subleaf) => machine.registers.get(key(leaf, subleaf));
}

/** Renders registers back into the dump line syntax (used to write host-root trees). */
export function formatCpuidLine(leaf: number, subleaf: number, r: CpuidRegisters): string {
  const h = (n: number): string => (n >>> 0).toString(16).toUpperCase().padStart(8, '0');
  return `CPUID ${h(leaf)}: ${h(r.eax)}-${h(r.ebx)}-${h(r.ecx)}-${h(r.edx)} [SL ${subleaf.toString(16).toUpperCase().padStart(2, '0')}]`;
}
