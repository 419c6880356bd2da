/**
 * Loading and saving a simulated platform's state file (the CLI's `--state`,
 * the same format `kubetee up` keeps in its data dir). Writes are atomic
 * (temp file + rename) and private (mode 0600): the file holds private keys.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { UsageError } from '../common/errors.js';
import { SimError } from './errors.js';
import { SimulatedPlatform } from './platform.js';

export function loadPlatform(path: string): SimulatedPlatform {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new UsageError('FILE_UNREADABLE', `cannot read simulated platform state ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, {
      cause: err,
      hint: 'create one with `kubetee sim init --state <file>` (or point --state at the file `kubetee up` keeps in its data dir)',
    });
  }
  let state: unknown;
  try {
    state = JSON.parse(text);
  } catch (err) {
    throw new SimError('SIM_STATE_INVALID', `${path} is not JSON: ${(err as Error).message}`, { cause: err, hint: `delete ${path} and run \`kubetee sim init\`` });
  }
  return SimulatedPlatform.fromJSON(state);
}

export function savePlatform(path: string, platform: SimulatedPlatform): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(platform.toJSON())}\n`, { mode: 0o600 });
  renameSync(tmp, path);
}

export function stateExists(path: string): boolean {
  return existsSync(path);
}
