import { KubeteeError } from '../../common/errors.js';

export type SealErrorCode =
  /** Not a kubetee sealed file (bad magic) or an unsupported format version/algorithm. */
  | 'SEAL_FORMAT_INVALID'
  /** The header is damaged or cut short. */
  | 'SEAL_HEADER_INVALID'
  /** The key does not match the key commitment in the header (wrong resource version?). */
  | 'SEAL_KEY_MISMATCH'
  /** A chunk failed authentication: tampered, reordered or from another file. */
  | 'SEAL_CHUNK_TAMPERED'
  /** The file ends before its final chunk. */
  | 'SEAL_TRUNCATED'
  /** Bytes follow the final chunk. */
  | 'SEAL_TRAILING_DATA'
  /** Bad arguments (key size, chunk size, resource path). */
  | 'SEAL_ARGUMENT_INVALID'
  /** Reading the input or writing the output failed. */
  | 'SEAL_IO_FAILED';

export class SealError extends KubeteeError<SealErrorCode> {
  constructor(code: SealErrorCode, message: string, options: { cause?: unknown; hint?: string } = {}) {
    super(code, message, options);
  }
}
