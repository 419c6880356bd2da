import { KubeteeError } from '../common/errors.js';

/** Failure codes of the admission webhook (server, TLS, CA publishing). */
export type WebhookErrorCode =
  | 'ADMISSION_REVIEW_INVALID'
  | 'TLS_MATERIAL_INVALID'
  | 'CA_DIR_UNUSABLE'
  | 'CA_BUNDLE_PUBLISH_FAILED'
  | 'LISTEN_FAILED'
  | 'PORT_IN_USE'
  | 'POD_MANIFEST_INVALID';

export class WebhookError extends KubeteeError<WebhookErrorCode> {}

/** Failure codes of the trust policy document. */
export type PolicyErrorCode = 'POLICY_UNREADABLE' | 'POLICY_PARSE' | 'POLICY_INVALID';

/** Exit status 2: a bad policy is bad input, like a bad flag. */
export class PolicyError extends KubeteeError<PolicyErrorCode> {
  /** Every problem found, each "path: message" (POLICY_INVALID lists all of them at once). */
  readonly problems: readonly string[];

  constructor(code: PolicyErrorCode, message: string, options: { cause?: unknown; hint?: string; problems?: string[] } = {}) {
    super(code, message, { ...options, exitCode: 2 });
    this.problems = Object.freeze([...(options.problems ?? [])]);
  }
}
