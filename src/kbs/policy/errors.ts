import { KubeteeError } from '../../common/errors.js';

export type PolicyErrorCode =
  /** The policy document is not valid YAML/JSON or does not match the schema. */
  | 'POLICY_DOCUMENT_INVALID'
  /** A CEL expression does not parse or names a variable that does not exist. */
  | 'POLICY_EXPRESSION_INVALID'
  /** A saved attestation result (for `kbs policy test`) is malformed. */
  | 'POLICY_CLAIMS_INVALID';

export class PolicyError extends KubeteeError<PolicyErrorCode> {
  constructor(code: PolicyErrorCode, message: string, options: { cause?: unknown; hint?: string } = {}) {
    // Policy documents come from the operator: a bad one is a usage error.
    super(code, message, { ...options, exitCode: 2 });
  }
}
