/** kubetee sealed files: chunked AES-256-GCM streaming format with keys held by the key broker. */
export { sealStream, unsealStream, type SealStreamOptions, type UnsealStreamOptions } from './stream.js';
export { sealFile, unsealFile, readSealHeader, type SealFileOptions, type UnsealFileOptions, type ProgressReporter } from './file.js';
export { sealWithBroker, unsealWithBroker, type SealKeyStore, type SealKeyReleaser, type SealWithBrokerOptions } from './broker.js';
export { encodeHeader, decodeHeader, keyCommitment, type SealHeader } from './format.js';
export { SealError, type SealErrorCode } from './errors.js';
