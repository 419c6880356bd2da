import { KubeteeError } from '../common/errors.js';

/** Stable codes for everything `render`, `install`, `uninstall` and `doctor` can fail with. */
export type DeployErrorCode =
  | 'VALUES_UNREADABLE'
  | 'VALUES_PARSE'
  | 'VALUES_INVALID'
  | 'MANIFEST_INVALID'
  | 'KUBECONFIG_NOT_FOUND'
  | 'KUBECONFIG_INVALID'
  | 'CONTEXT_NOT_FOUND'
  | 'CLUSTER_UNREACHABLE'
  | 'APPLY_FAILED'
  | 'DELETE_FAILED'
  | 'ROLLOUT_TIMEOUT'
  | 'ROLLOUT_FAILED'
  | 'TLS_INVALID'
  | 'NODE_INIT_INVALID'
  | 'DOCTOR_BLOCKING'
  | 'RUNTIMECLASS_EXISTS'
  | 'RUNTIMECLASS_EPC_MISMATCH';

export class DeployError extends KubeteeError<DeployErrorCode> {}

/** Bad values or flags are the user's input: exit 2 like other usage errors. */
export function valuesError(code: 'VALUES_UNREADABLE' | 'VALUES_PARSE' | 'VALUES_INVALID' | 'NODE_INIT_INVALID', message: string, hint: string, cause?: unknown): DeployError {
  return new DeployError(code, message, { hint, exitCode: 2, ...(cause === undefined ? {} : { cause }) });
}
