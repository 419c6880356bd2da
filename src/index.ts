/** kubetee public API. Component entry points are listed in package.json `exports`. */
export { KubeteeError, UsageError } from './common/errors.js';
export { VERSION } from './common/version.js';
