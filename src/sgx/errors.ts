import { KubeteeError } from '../common/errors.js';

/** Stable codes of the SGX decoders (pure input-format problems). */
export type SgxErrorCode =
  /** A `CPUID ...` line in a dump does not follow the fixture line syntax. */
  | 'CPUID_DUMP_MALFORMED'
  /** A dump holds no CPUID register lines at all. */
  | 'CPUID_DUMP_EMPTY'
  /** A dump holds several machines and none (or an unknown one) was chosen. */
  | 'CPUID_DUMP_AMBIGUOUS';

export class SgxError extends KubeteeError<SgxErrorCode> {
  constructor(code: SgxErrorCode, message: string, options: { cause?: unknown; hint?: string } = {}) {
    super(code, message, { ...options, exitCode: 2 });
  }
}
