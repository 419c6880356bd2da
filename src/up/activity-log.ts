import { appendFileSync, readFileSync, existsSync, writeFileSync } from 'node:fs';
import type { AttestationView } from '../dashboard/model.js';

/**
 * Recent attestation verdicts of the local stack, newest first, kept as JSON
 * lines in the data dir so a restart shows the same history. Bounded: the
 * file is compacted to the newest `limit` entries when it loads.
 */
export class ActivityLog {
  readonly #path: string;
  readonly #limit: number;
  #entries: AttestationView[] = [];

  constructor(path: string, limit = 200) {
    this.#path = path;
    this.#limit = limit;
    this.#load();
  }

  #load(): void {
    if (!existsSync(this.#path)) return;
    const lines = readFileSync(this.#path, 'utf8').split('\n').filter((l) => l.trim() !== '');
    const parsed: AttestationView[] = [];
    for (const line of lines) {
      try {
        const v = JSON.parse(line) as AttestationView;
        if (typeof v.at === 'string' && typeof v.verdict === 'string' && Array.isArray(v.advisoryIds)) parsed.push(v);
      } catch {
        // A torn last line after a crash is expected; skip it rather than refuse to start.
      }
    }
    this.#entries = parsed.slice(-this.#limit).reverse();
    writeFileSync(this.#path, this.#entries.slice().reverse().map((e) => JSON.stringify(e) + '\n').join(''), { mode: 0o600 });
  }

  record(entry: AttestationView): void {
    this.#entries.unshift(entry);
    if (this.#entries.length > this.#limit) this.#entries.length = this.#limit;
    appendFileSync(this.#path, JSON.stringify(entry) + '\n', { mode: 0o600 });
  }

  recent(): AttestationView[] {
    return this.#entries.slice();
  }
}
