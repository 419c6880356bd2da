import { KubeteeError } from '../../common/errors.js';

export type KbsClientErrorCode =
  /** The broker could not be reached (connection refused, TLS failure, timeout). */
  | 'KBS_CLIENT_UNREACHABLE'
  /** The broker refused the request; `serverCode` carries its code. */
  | 'KBS_CLIENT_REFUSED'
  /** The broker answered something that is not the protocol (bad JSON, bad JWE). */
  | 'KBS_CLIENT_BAD_RESPONSE'
  /** The evidence provider could not produce a quote (Gramine files missing, bad identity flags). */
  | 'KBS_CLIENT_EVIDENCE_UNAVAILABLE';

export class KbsClientError extends KubeteeError<KbsClientErrorCode> {
  /** For KBS_CLIENT_REFUSED: the broker's HTTP status and error code. */
  readonly status: number | undefined;
  readonly serverCode: string | undefined;

  constructor(code: KbsClientErrorCode, message: string, options: { cause?: unknown; hint?: string; status?: number; serverCode?: string } = {}) {
    super(code, message, options);
    this.status = options.status;
    this.serverCode = options.serverCode;
  }
}
