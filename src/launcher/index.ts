/** kubetee launch: the in-enclave entrypoint that fetches secrets through attestation and starts the application. */
export { launch, type LaunchOptions, type LaunchOutcome } from './launch.js';
export { parseLaunchSpec, LAUNCH_SPEC_API_VERSION, type LaunchSpec } from './spec.js';
export { loadLaunchSpec, SPEC_ENV, SPEC_FILE_ENV } from './spec-source.js';
export { LaunchError, LAUNCH_EXIT_CODES, type LaunchErrorCode } from './errors.js';
export { retryUntilDeadline, DeadlineExceeded } from './retry.js';
