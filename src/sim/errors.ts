import { KubeteeError } from '../common/errors.js';

/** Stable codes of the simulated platform's errors. */
export type SimErrorCode =
  /** An option passed to create()/quote()/collateral() is out of range or malformed. */
  | 'SIM_OPTION_INVALID'
  /** A persisted state (fromJSON) is not a valid simulated-platform state. */
  | 'SIM_STATE_INVALID'
  /** The simulated PCS server could not listen. */
  | 'SIM_SERVE_FAILED';

export class SimError extends KubeteeError<SimErrorCode> {}
