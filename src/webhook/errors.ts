import { KubeteeError } from '../common/errors.js';

/** Failure codes of the admission webhook (server, TLS, CA publishing); each is documented in docs/admission.md. */
export const WEBHOOK_ERROR_CODES = [
  'ADMISSION_REVIEW_INVALID',
  'TLS_MATERIAL_INVALID',
  'CA_DIR_UNUSABLE',
  'CA_BUNDLE_PUBLISH_FAILED',
  'LISTEN_FAILED',
  'PORT_IN_USE',
  'POD_MANIFEST_INVALID',
] as const;
export type WebhookErrorCode = (typeof WEBHOOK_ERROR_CODES)[number];

export class WebhookError extends KubeteeError<WebhookErrorCode> {}

/** Failure codes of the trust policy document. */
export const POLICY_ERROR_CODES = ['POLICY_UNREADABLE', 'POLICY_PARSE', 'POLICY_INVALID'] as const;
export type PolicyErrorCode = (typeof POLICY_ERROR_CODES)[number];

/** Codes carried by denials (AdmissionReview auditAnnotations.code), not thrown. */
export const DENIAL_CODES = ['POD_INVALID', 'RULE_FAILED'] as const;

/** Exit status 2: a bad policy is bad input, like a bad flag. */
export class PolicyError extends KubeteeError<PolicyErrorCode> {
  /** Every problem found, each "path: message" (POLICY_INVALID lists all of them at once). */
  readonly problems: readonly string[];

  constructor(code: PolicyErrorCode, message: string, options: { cause?: unknown; hint?: string; problems?: string[] } = {}) {
    super(code, message, { ...options, exitCode: 2 });
    this.problems = Object.freeze([...(options.problems ?? [])]);
  }
}
