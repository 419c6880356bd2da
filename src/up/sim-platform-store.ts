import { UpError } from './errors.js';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SimulatedPlatform } from '../sim/index.js';

export const SIM_STATE_FILE = 'sim-platform.json';

/**
 * The local stack's one simulated SGX platform, persisted in the data dir so
 * a restart keeps the same keys, certificates and TCB history (and so the
 * key broker keeps trusting the same simulated root).
 */
export class SimPlatformStore {
  readonly #path: string;
  #platform: SimulatedPlatform;

  private constructor(path: string, platform: SimulatedPlatform) {
    this.#path = path;
    this.#platform = platform;
  }

  static async open(dataDir: string): Promise<SimPlatformStore> {
    const path = join(dataDir, SIM_STATE_FILE);
    if (existsSync(path)) {
      let state: unknown;
      try {
        state = JSON.parse(readFileSync(path, 'utf8'));
      } catch (err) {
        throw new UpError('SIM_STATE_UNREADABLE', `${path} is not readable JSON`, {
          cause: err,
          hint: `delete ${path} to provision a new simulated platform (the key broker will then trust the new simulated root)`,
        });
      }
      return new SimPlatformStore(path, SimulatedPlatform.fromJSON(state));
    }
    const store = new SimPlatformStore(path, await SimulatedPlatform.create());
    store.save();
    return store;
  }

  get platform(): SimulatedPlatform {
    return this.#platform;
  }

  /** Writes the state atomically (temp file + rename) so a crash never leaves half a platform. */
  save(): void {
    const tmp = `${this.#path}.tmp`;
    writeFileSync(tmp, JSON.stringify(this.#platform.toJSON()), { mode: 0o600 });
    renameSync(tmp, this.#path);
  }

  recoverTcb(): void {
    this.#platform.recoverTcb();
    this.save();
  }

  /**
   * The platform gets its update, as a real one does: the root stays, the
   * platform gets a new PCK certificate at the raised TCB, so it is UpToDate
   * again. Quotes made before the update still carry the old PCK and stay
   * OutOfDate.
   */
  async updatePlatform(): Promise<void> {
    await this.#platform.updateTcb();
    this.save();
  }
}
