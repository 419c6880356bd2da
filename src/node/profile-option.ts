import { InvalidArgumentError } from 'commander';
import { EPC_MODES, type EpcMode, type ResourceProfile } from '../common/labels.js';

/** Commander parser for --profile. */
export function parseProfile(value: string): ResourceProfile {
  if (value !== 'alibaba' && value !== 'intel') throw new InvalidArgumentError(`"${value}" is not a profile (expected alibaba or intel).`);
  return value;
}

/** Commander parser for --epc-mode. */
export function parseEpcMode(value: string): EpcMode {
  if (!(EPC_MODES as readonly string[]).includes(value)) throw new InvalidArgumentError(`"${value}" is not an EPC mode (expected ${EPC_MODES.join(', ')}).`);
  return value as EpcMode;
}
