import { KubeteeError } from '../common/errors.js';

/** Stable codes (docs/node-agent.md lists each; a test checks) of the SGX decoders (pure input-format problems). */
export const SGX_ERROR_CODES = [
  /** A `CPUID ...` line in a dump does not follow the fixture line syntax. */
  'CPUID_DUMP_MALFORMED',
  /** A dump holds no CPUID register lines at all. */
  'CPUID_DUMP_EMPTY',
  /** A dump holds several machines and none (or an unknown one) was chosen. */
  'CPUID_DUMP_AMBIGUOUS',
] as const;

export type SgxErrorCode = (typeof SGX_ERROR_CODES)[number];

export class SgxError extends KubeteeError<SgxErrorCode> {
  constructor(code: SgxErrorCode, message: string, options: { cause?: unknown; hint?: string } = {}) {
    super(code, message, { ...options, exitCode: 2 });
  }
}
