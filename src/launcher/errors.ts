import { KubeteeError } from '../common/errors.js';

/**
 * Every way `kubetee launch` can fail before the application runs. Each code
 * has its own exit status (sysexits.h numbers, and the shell's 126/127 for an
 * application that cannot be started), so a pod's termination status tells a
 * launcher failure from the application's own exit codes.
 */
export const LAUNCH_EXIT_CODES = {
  /** The launch spec is missing, unreadable, malformed or not the pinned one. */
  LAUNCH_SPEC_INVALID: 78,
  /** The broker refused (attestation failed, policy denied, no such resource). Retrying will not help. */
  LAUNCH_BROKER_REFUSED: 77,
  /** The broker's answer is not the protocol (bad JSON, a JWE that does not decrypt with this enclave's key). */
  LAUNCH_BROKER_BAD_RESPONSE: 76,
  /** The broker stayed unreachable or busy until the deadline. */
  LAUNCH_DEADLINE_EXCEEDED: 69,
  /** No evidence: not inside a DCAP-capable enclave, or the simulated platform is unusable. */
  LAUNCH_EVIDENCE_UNAVAILABLE: 69,
  /** A released secret does not fit its placement (a Gramine key that is not 16 bytes, an env value with NUL). */
  LAUNCH_SECRET_FORMAT: 65,
  /** A secret could not be placed (file, directory or Gramine key file). Nothing placed is left behind. */
  LAUNCH_PLACEMENT_FAILED: 73,
  /** The application does not exist or cannot be executed. */
  LAUNCH_EXEC_NOT_FOUND: 127,
  LAUNCH_EXEC_FAILED: 126,
} as const;

export type LaunchErrorCode = keyof typeof LAUNCH_EXIT_CODES;

export class LaunchError extends KubeteeError<LaunchErrorCode> {
  constructor(code: LaunchErrorCode, message: string, options: { cause?: unknown; hint?: string } = {}) {
    super(code, message, { ...options, exitCode: LAUNCH_EXIT_CODES[code] });
  }
}
