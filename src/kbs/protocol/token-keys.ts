import type { KeyObject } from 'node:crypto';
import type { Logger } from '../../common/log.js';
import type { SecretService } from '../secrets/service.js';
import type { TokenKeySource, TokenSignerKey } from './token.js';

export interface StoredTokenKeysOptions {
  service: Pick<SecretService, 'tokenSigningKeys'>;
  /** The broker's clock (ms). */
  now: () => number;
  /** Attestation token lifetime: how long a retired key keeps verifying. */
  ttlSeconds: number;
  /** How often `refresh` runs (the server's maintenance timer); widens the window a retired key is accepted. Default 30 s. */
  refreshMs?: number;
  logger?: Logger;
}

/** An unknown `kid` triggers at most one store read per this many ms (the header is attacker-controlled). */
const MISS_REFRESH_MS = 1000;

/**
 * The attestation-token signing keys kept in the broker's store (encrypted
 * under the master keyring) and shared by every replica: a token issued by
 * one replica verifies on every other, and across restarts.
 *
 * The current key signs. A key retired by a rotation keeps verifying for the
 * token lifetime plus twice the refresh interval: a replica that has not yet
 * refreshed may still sign with it for up to one interval after the rotation.
 * A token naming an unknown `kid` (signed by a key another replica just
 * created) makes this replica re-read the store, at most once a second.
 */
export class StoredTokenKeys implements TokenKeySource {
  private current!: TokenSignerKey;
  private verifiers = new Map<string, { publicKey: KeyObject; retiredAtMs: number | null }>();
  private inflight: Promise<void> | undefined;
  private lastMissRefresh = -Infinity;
  private readonly graceMs: number;

  private constructor(private readonly options: StoredTokenKeysOptions) {
    this.graceMs = options.ttlSeconds * 1000 + 2 * (options.refreshMs ?? 30_000);
  }

  /** Loads the keys, creating the first one if the store has none (replicas starting together converge on one). */
  static async open(options: StoredTokenKeysOptions): Promise<StoredTokenKeys> {
    const keys = new StoredTokenKeys(options);
    await keys.refresh();
    return keys;
  }

  /** Re-reads the keys from the store (picks up a rotation done elsewhere). Concurrent calls share one read. */
  refresh(): Promise<void> {
    this.inflight ??= this.load().finally(() => {
      this.inflight = undefined;
    });
    return this.inflight;
  }

  signingKey(): TokenSignerKey {
    return this.current;
  }

  /** Kids accepted for verification right now (current first). */
  acceptedKids(): string[] {
    const now = this.options.now();
    return [...this.verifiers].filter(([, v]) => this.accepts(v.retiredAtMs, now)).map(([kid]) => kid);
  }

  async verificationKey(kid: string): Promise<KeyObject | undefined> {
    let entry = this.verifiers.get(kid);
    if (!entry && performance.now() - this.lastMissRefresh >= MISS_REFRESH_MS) {
      this.lastMissRefresh = performance.now();
      await this.refresh();
      entry = this.verifiers.get(kid);
    }
    return entry && this.accepts(entry.retiredAtMs, this.options.now()) ? entry.publicKey : undefined;
  }

  private accepts(retiredAtMs: number | null, now: number): boolean {
    return retiredAtMs === null || now < retiredAtMs + this.graceMs;
  }

  private async load(): Promise<void> {
    const keys = await this.options.service.tokenSigningKeys({
      create: true,
      onSkip: (kid, err) => this.options.logger?.warn({ kid, err: (err as Error).message }, 'a retired token signing key cannot be decrypted; tokens it signed are refused'),
    });
    const current = keys.find((k) => k.retiredAt === null);
    // tokenSigningKeys creates one when there is none, so this holds unless the store changed under us.
    if (!current) throw new Error('the store holds no current token signing key');
    this.current = { kid: current.kid, privateKey: current.privateKey, publicKey: current.publicKey };
    this.verifiers = new Map(keys.map((k) => [k.kid, { publicKey: k.publicKey, retiredAtMs: k.retiredAt === null ? null : Date.parse(k.retiredAt) }]));
  }
}
