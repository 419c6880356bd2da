import { KubeteeError } from '../common/errors.js';

/** Stable codes of `kubetee up` (the local stack) and its data dir. */
export type UpErrorCode =
  /** Another live `kubetee up` holds the data dir's lock. */
  | 'DATA_DIR_IN_USE'
  /** The data dir cannot be created or written. */
  | 'DATA_DIR_UNUSABLE'
  /** The data dir's path is too long for the simulated node's unix sockets. */
  | 'DATA_DIR_PATH_TOO_LONG'
  /** Something else already listens on --host:--port. */
  | 'PORT_IN_USE'
  /** --host is not an address of this machine (or the port needs privileges). */
  | 'LISTEN_FAILED'
  /** sim-platform.json in the data dir is not readable JSON. */
  | 'SIM_STATE_UNREADABLE'
  /** The simulated node has not enough EPC left for a pod. */
  | 'SIM_NODE_EPC_EXHAUSTED';

export class UpError extends KubeteeError<UpErrorCode> {
  constructor(code: UpErrorCode, message: string, options: { cause?: unknown; hint?: string } = {}) {
    super(code, message, options);
  }
}
