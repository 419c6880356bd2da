import { InvalidArgumentError } from 'commander';
import type { ResourceProfile } from '../common/labels.js';

/** Commander parser for --profile. */
export function parseProfile(value: string): ResourceProfile {
  if (value !== 'alibaba' && value !== 'intel') throw new InvalidArgumentError(`"${value}" is not a profile (expected alibaba or intel).`);
  return value;
}
