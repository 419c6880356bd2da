import type { UsageErrorCode } from '../common/errors.js';
import type { AttestationErrorCode } from '../attestation/errors.js';
import type { DeployErrorCode } from '../deploy/errors.js';
import type { DevicePluginErrorCode } from '../deviceplugin/errors.js';
import type { KbsClientErrorCode } from '../kbs/client/errors.js';
import type { PolicyErrorCode as ReleasePolicyErrorCode } from '../kbs/policy/errors.js';
import type { KbsProtocolErrorCode } from '../kbs/protocol/errors.js';
import type { SealErrorCode } from '../kbs/seal/errors.js';
import type { KbsStoreErrorCode } from '../kbs/store/errors.js';
import type { NodeErrorCode } from '../node/errors.js';
import type { SgxErrorCode } from '../sgx/errors.js';
import type { SimErrorCode } from '../sim/errors.js';
import type { UpErrorCode } from '../up/errors.js';
import type { PolicyErrorCode as TrustPolicyErrorCode, WebhookErrorCode } from '../webhook/errors.js';
import type { DemoErrorCode } from '../demo/errors.js';

/** Codes raised as a plain KubeteeError by one command (no component error class of their own). */
type OtherErrorCode =
  /** `kbs policy test`: the release policy denies the given claims. */
  | 'POLICY_DENIED'
  /** The dashboard cannot load htmx from node_modules (a broken install). */
  | 'DASHBOARD_ASSET_MISSING'
  /** Anything that is not a KubeteeError reached the CLI: a defect, reported as such. */
  | 'INTERNAL';

/** Every stable error code a kubetee command can end with. */
export type CliErrorCode =
  | UsageErrorCode
  | AttestationErrorCode
  | DeployErrorCode
  | DevicePluginErrorCode
  | KbsClientErrorCode
  | ReleasePolicyErrorCode
  | KbsProtocolErrorCode
  | SealErrorCode
  | KbsStoreErrorCode
  | NodeErrorCode
  | SgxErrorCode
  | SimErrorCode
  | UpErrorCode
  | TrustPolicyErrorCode
  | WebhookErrorCode
  | DemoErrorCode
  | OtherErrorCode;

/**
 * 2: the user's input is wrong (command line, a file that cannot be read or
 * is not in the expected format, a configuration that does not hold).
 * 1: the input was fine, the operation ran and said no or failed (a quote was
 * rejected, a broker refused, a cluster was unreachable).
 */
export type ExitStatus = 1 | 2;

export interface ExitEntry {
  exit: ExitStatus;
  /** Which part of kubetee raises it; names the doc that explains it. */
  component: string;
}

const c = (component: string, exit: ExitStatus): ExitEntry => ({ exit, component });
const ATT = 'attestation';
const KBS = 'key broker';
const KBSP = 'key broker protocol';

/**
 * The one table of exit statuses: src/cli/main.ts ends every command with the
 * status listed here for the error's code. The compiler keeps it complete
 * (every code of every component must have a row); docs/errors.md shows the
 * same table and a test keeps the two equal.
 */
export const EXIT_STATUS: { readonly [K in CliErrorCode]: ExitEntry } = {
  // what the user typed or handed in
  USAGE: c('cli', 2),
  FILE_UNREADABLE: c('cli', 2),
  INPUT_INVALID: c('cli', 2),
  CONFIG_INVALID: c('cli', 2),
  // attestation: a verdict on the quote (1) unless the caller's option is wrong
  QUOTE_TRUNCATED: c(ATT, 1),
  UNSUPPORTED_VERSION: c(ATT, 1),
  UNSUPPORTED_KEY_TYPE: c(ATT, 1),
  UNSUPPORTED_TEE_TYPE: c(ATT, 1),
  UNSUPPORTED_BODY_TYPE: c(ATT, 1),
  UNKNOWN_QE_VENDOR: c(ATT, 1),
  BAD_CERT_DATA: c(ATT, 1),
  UNSUPPORTED_CERT_DATA_TYPE: c(ATT, 1),
  TRAILING_BYTES: c(ATT, 1),
  BAD_CERTIFICATE: c(ATT, 1),
  BAD_CRL: c(ATT, 1),
  BAD_PCK_EXTENSION: c(ATT, 1),
  UNSUPPORTED_ALGORITHM: c(ATT, 1),
  UNTRUSTED_ROOT: c(ATT, 1),
  CERT_CHAIN_INVALID: c(ATT, 1),
  CERT_SIGNATURE_INVALID: c(ATT, 1),
  PCK_CHAIN_INVALID: c(ATT, 1),
  TCB_SIGNING_CERT_INVALID: c(ATT, 1),
  ROOT_MISMATCH: c(ATT, 1),
  CERT_NOT_YET_VALID: c(ATT, 1),
  CERT_EXPIRED: c(ATT, 1),
  CERT_REVOKED: c(ATT, 1),
  CRL_SIGNATURE_INVALID: c(ATT, 1),
  CRL_ISSUER_MISMATCH: c(ATT, 1),
  CRL_NOT_YET_VALID: c(ATT, 1),
  CRL_EXPIRED: c(ATT, 1),
  BAD_COLLATERAL: c(ATT, 1),
  BAD_TCB_INFO: c(ATT, 1),
  BAD_QE_IDENTITY: c(ATT, 1),
  TCB_INFO_SIGNATURE_INVALID: c(ATT, 1),
  TCB_INFO_NOT_YET_VALID: c(ATT, 1),
  TCB_INFO_EXPIRED: c(ATT, 1),
  TCB_INFO_MISMATCH: c(ATT, 1),
  FMSPC_MISMATCH: c(ATT, 1),
  PCEID_MISMATCH: c(ATT, 1),
  QE_IDENTITY_SIGNATURE_INVALID: c(ATT, 1),
  QE_IDENTITY_NOT_YET_VALID: c(ATT, 1),
  QE_IDENTITY_EXPIRED: c(ATT, 1),
  QE_IDENTITY_MISMATCH: c(ATT, 1),
  QE_REPORT_SIGNATURE_INVALID: c(ATT, 1),
  QE_REPORT_DATA_MISMATCH: c(ATT, 1),
  QUOTE_SIGNATURE_INVALID: c(ATT, 1),
  TCB_LEVEL_NOT_FOUND: c(ATT, 1),
  QE_TCB_LEVEL_NOT_FOUND: c(ATT, 1),
  TDX_MODULE_MISMATCH: c(ATT, 1),
  SERVICE_TD_NOT_ALLOWED: c(ATT, 1),
  UNKNOWN_TCB_STATUS: c(ATT, 1),
  TCB_REVOKED: c(ATT, 1),
  COLLATERAL_UNREACHABLE: c(ATT, 1),
  COLLATERAL_BAD_RESPONSE: c(ATT, 1),
  INVALID_ARGUMENT: c(ATT, 2),
  INTERNAL_ERROR: c(ATT, 1),
  // install, render, doctor
  VALUES_UNREADABLE: c('deploy', 2),
  VALUES_PARSE: c('deploy', 2),
  VALUES_INVALID: c('deploy', 2),
  MANIFEST_INVALID: c('deploy', 1),
  KUBECONFIG_NOT_FOUND: c('deploy', 2),
  KUBECONFIG_INVALID: c('deploy', 2),
  CONTEXT_NOT_FOUND: c('deploy', 2),
  CLUSTER_UNREACHABLE: c('deploy', 1),
  APPLY_FAILED: c('deploy', 1),
  DELETE_FAILED: c('deploy', 1),
  ROLLOUT_TIMEOUT: c('deploy', 1),
  ROLLOUT_FAILED: c('deploy', 1),
  TLS_INVALID: c('deploy', 2),
  NODE_INIT_INVALID: c('deploy', 2),
  DOCTOR_BLOCKING: c('deploy', 1),
  RUNTIMECLASS_EXISTS: c('deploy', 2),
  RUNTIMECLASS_EPC_MISMATCH: c('deploy', 2),
  // device plugin framework
  DP_SOCKET_IN_USE: c('device plugin', 1),
  DP_RESOURCE_NAME_INVALID: c('device plugin', 2),
  DP_LISTEN_FAILED: c('device plugin', 1),
  DP_CLOSED: c('device plugin', 1),
  // key broker client (get-resource, unseal)
  KBS_CLIENT_UNREACHABLE: c('key broker client', 1),
  KBS_CLIENT_REFUSED: c('key broker client', 1),
  KBS_CLIENT_BAD_RESPONSE: c('key broker client', 1),
  KBS_CLIENT_EVIDENCE_UNAVAILABLE: c('key broker client', 1),
  // release policies
  POLICY_DOCUMENT_INVALID: c('release policy', 2),
  POLICY_EXPRESSION_INVALID: c('release policy', 2),
  POLICY_CLAIMS_INVALID: c('release policy', 2),
  POLICY_DENIED: c('release policy', 1),
  // the broker's protocol refusals (HTTP answers; a command meets them through the client)
  KBS_REQUEST_INVALID: c(KBSP, 1),
  KBS_VERSION_UNSUPPORTED: c(KBSP, 1),
  KBS_TEE_UNSUPPORTED: c(KBSP, 1),
  KBS_SESSION_MISSING: c(KBSP, 1),
  KBS_SESSION_UNKNOWN: c(KBSP, 1),
  KBS_SESSION_EXPIRED: c(KBSP, 1),
  KBS_NONCE_MISMATCH: c(KBSP, 1),
  KBS_NONCE_REPLAYED: c(KBSP, 1),
  KBS_TEE_KEY_INVALID: c(KBSP, 1),
  KBS_EVIDENCE_INVALID: c(KBSP, 1),
  KBS_ATTESTATION_FAILED: c(KBSP, 1),
  KBS_REPORTDATA_MISMATCH: c(KBSP, 1),
  KBS_COLLATERAL_UNAVAILABLE: c(KBSP, 1),
  KBS_TOKEN_INVALID: c(KBSP, 1),
  KBS_POLICY_DENIED: c(KBSP, 1),
  KBS_SECRET_UNAVAILABLE: c(KBSP, 1),
  KBS_RESOURCE_PATH_INVALID: c(KBSP, 1),
  KBS_RESOURCE_NOT_FOUND: c(KBSP, 1),
  KBS_RATE_LIMITED: c(KBSP, 1),
  KBS_PAYLOAD_TOO_LARGE: c(KBSP, 1),
  KBS_BUSY: c(KBSP, 1),
  KBS_ROW_TAMPERED: c(KBS, 1),
  KBS_INTERNAL: c(KBSP, 1),
  // sealed files
  SEAL_FORMAT_INVALID: c('seal', 2),
  SEAL_HEADER_INVALID: c('seal', 1),
  SEAL_KEY_MISMATCH: c('seal', 1),
  SEAL_CHUNK_TAMPERED: c('seal', 1),
  SEAL_TRUNCATED: c('seal', 1),
  SEAL_TRAILING_DATA: c('seal', 1),
  SEAL_ARGUMENT_INVALID: c('seal', 2),
  SEAL_IO_FAILED: c('seal', 2),
  // key broker store, secrets, tokens, audit, admin API
  INVALID_RESOURCE_PATH: c(KBS, 2),
  INVALID_VALUE: c(KBS, 2),
  INVALID_REQUEST: c(KBS, 2),
  RESOURCE_NOT_FOUND: c(KBS, 1),
  RESOURCE_EXISTS: c(KBS, 1),
  VERSION_NOT_FOUND: c(KBS, 1),
  VERSION_DISABLED: c(KBS, 1),
  VERSION_DESTROYED: c(KBS, 1),
  SECRET_EXPIRED: c(KBS, 1),
  STORE_URL_INVALID: c(KBS, 2),
  STORE_UNAVAILABLE: c(KBS, 1),
  STORE_CLOSED: c(KBS, 1),
  MIGRATION_CHECKSUM_MISMATCH: c(KBS, 1),
  SCHEMA_TOO_NEW: c(KBS, 1),
  MASTER_KEY_MISSING: c(KBS, 2),
  MASTER_KEY_INVALID: c(KBS, 2),
  MASTER_KEY_UNKNOWN: c(KBS, 1),
  MASTER_KEY_BESIDE_DATA: c(KBS, 2),
  MASTER_KEY_FILE_INSECURE: c(KBS, 2),
  DECRYPT_FAILED: c(KBS, 1),
  AUDIT_CHAIN_BROKEN: c(KBS, 1),
  TOKEN_MISSING: c(KBS, 2),
  TOKEN_INVALID: c(KBS, 1),
  TOKEN_REVOKED: c(KBS, 1),
  TOKEN_EXPIRED: c(KBS, 1),
  TOKEN_NOT_FOUND: c(KBS, 1),
  ROLE_FORBIDDEN: c(KBS, 1),
  TOKEN_FILE_UNUSABLE: c(KBS, 2),
  BOOTSTRAP_TOKEN_INVALID: c(KBS, 2),
  POLICY_INVALID: c('key broker, admission webhook', 2),
  POLICY_NOT_FOUND: c(KBS, 1),
  KBS_UNREACHABLE: c(KBS, 1),
  KBS_REQUEST_FAILED: c(KBS, 1),
  // node agent and SGX decoding
  HOST_ROOT_MISSING: c('node agent', 2),
  HOST_FILE_MALFORMED: c('node agent', 1),
  CPUID_DUMP_UNREADABLE: c('node agent', 2),
  NODE_NAME_MISSING: c('node agent', 2),
  KUBE_CONFIG_INVALID: c('node agent', 2),
  NODE_PATCH_FAILED: c('node agent', 1),
  NFD_WRITE_FAILED: c('node agent', 1),
  METRICS_LISTEN_FAILED: c('node agent', 1),
  POD_LIST_FAILED: c('node agent', 1),
  POD_RESOURCES_FAILED: c('node agent', 1),
  AGENT_OPTIONS_INVALID: c('node agent', 2),
  CPUID_DUMP_MALFORMED: c('node agent', 2),
  CPUID_DUMP_EMPTY: c('node agent', 2),
  CPUID_DUMP_AMBIGUOUS: c('node agent', 2),
  // simulated platform
  SIM_OPTION_INVALID: c('simulated platform', 2),
  SIM_STATE_INVALID: c('simulated platform', 2),
  SIM_SERVE_FAILED: c('simulated platform', 1),
  // kubetee up
  DATA_DIR_IN_USE: c('up', 1),
  DATA_DIR_UNUSABLE: c('up', 2),
  DATA_DIR_PATH_TOO_LONG: c('up', 2),
  PORT_IN_USE: c('up, admission webhook', 1),
  LISTEN_FAILED: c('up, admission webhook', 1),
  SIM_STATE_UNREADABLE: c('up', 1),
  SIM_NODE_EPC_EXHAUSTED: c('up', 1),
  DASHBOARD_ASSET_MISSING: c('dashboard', 1),
  INTERNAL: c('cli', 1),
  // admission webhook and trust policies
  ADMISSION_REVIEW_INVALID: c('admission webhook', 2),
  TLS_MATERIAL_INVALID: c('admission webhook', 2),
  CA_DIR_UNUSABLE: c('admission webhook', 2),
  CA_BUNDLE_PUBLISH_FAILED: c('admission webhook', 1),
  POD_MANIFEST_INVALID: c('admission webhook', 2),
  POLICY_UNREADABLE: c('admission webhook', 2),
  POLICY_PARSE: c('admission webhook', 2),
  // demos
  DEMO_STACK_UNREACHABLE: c('demo', 1),
  DEMO_REQUEST_FAILED: c('demo', 1),
  DEMO_ADMIN_TOKEN_MISSING: c('demo', 2),
  DEMO_FAILED: c('demo', 1),
};

/** The exit status for an error code; a code outside the table (a defect) keeps the error's own. */
export function exitStatusFor(code: string, fallback: number): number {
  return Object.hasOwn(EXIT_STATUS, code) ? EXIT_STATUS[code as CliErrorCode].exit : fallback;
}
