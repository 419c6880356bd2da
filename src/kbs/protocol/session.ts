import { createHash } from 'node:crypto';
import { errors as joseErrors } from 'jose';
import { KbsProtocolError } from './errors.js';
import type { TeePubKey } from './tee-key.js';
import type { AttestationClaims } from '../policy/claims.js';
import type { KbsSessionStore, SessionRecord } from '../store/types.js';

/** What an attested session carries to resource requests. */
export interface AttestedState {
  claims: AttestationClaims;
  teePubKey: TeePubKey;
  /** The attestation token issued for the session: what the store keeps, and what other replicas verify. */
  token: string;
}

export interface Session {
  readonly id: string;
  readonly tee: string;
  readonly nonce: string;
  readonly expiresAtMs: number;
  /** `challenged` until /attest runs; then `attesting`, and `attested` or `burned` (failed attempt). */
  state: 'challenged' | 'attesting' | 'attested' | 'burned';
  attested?: AttestedState;
}

export interface SessionManagerOptions {
  /** Where sessions live: the broker's database, shared by every replica. */
  store: KbsSessionStore;
  /** Session (and nonce) lifetime; Trustee's default is 5 minutes. */
  ttlMs?: number;
  /**
   * Upper bound on live sessions opened by this process (replica); /auth is
   * unauthenticated, so what it can make the broker store must be bounded.
   */
  maxSessions?: number;
  /** Attested sessions remembered in memory, so /resource on this replica needs no database read (default 10 000). */
  cacheSize?: number;
  /**
   * Verifies the attestation token stored with an attested session read from
   * the store (AttestationTokenIssuer.verify): a database writer without the
   * master keyring cannot forge an attested session.
   */
  verifyToken: (token: string) => Promise<{ claims: AttestationClaims; teePubKey: TeePubKey }>;
  now: () => number;
  randomBytes: (n: number) => Uint8Array;
}

const NONCE_BYTES = 32;

/** SHA-256 of the session id: the database never holds a usable cookie. */
export function sessionIdHash(id: string): string {
  return createHash('sha256').update(id, 'utf8').digest('hex');
}

/**
 * The RCAR session table, kept in the broker's store so that every replica
 * sees every session: /auth on one replica, /attest on another and /resource
 * on a third work, and a restart loses nothing. One single-use challenge
 * nonce per session, fixed expiry set at /auth time (not extended later, as
 * in Trustee).
 *
 * Single use is enforced by the database: /attest claims the session with one
 * UPDATE from `challenged` to `attesting` that only one request, on any
 * replica, can win. Success moves the session to `attested`, failure to
 * `burned`; either way the same nonce is never accepted again (replay), a
 * nonce from another session never matches (foreign) and an expired one is
 * refused.
 *
 * Cost per step: /auth one INSERT; /attest one UPDATE ... RETURNING before
 * verification and one UPDATE after; /resource one SELECT, or none when this
 * replica attested the session itself (attested sessions never change, so
 * they are cached here until they expire).
 */
export class SessionManager {
  private readonly store: KbsSessionStore;
  private readonly ttlMs: number;
  private readonly maxSessions: number;
  private readonly cacheSize: number;
  private readonly now: () => number;
  private readonly randomBytes: (n: number) => Uint8Array;
  private readonly verifyToken: SessionManagerOptions['verifyToken'];
  /** Expiry times of the sessions this process opened, oldest first (the live-session bound). */
  private readonly opened: number[] = [];
  private openedHead = 0;
  private readonly attestedCache = new Map<string, { expiresAtMs: number; tee: string; nonce: string; attested: AttestedState }>();

  constructor(options: SessionManagerOptions) {
    this.store = options.store;
    this.ttlMs = options.ttlMs ?? 5 * 60_000;
    this.maxSessions = options.maxSessions ?? 100_000;
    this.cacheSize = options.cacheSize ?? 10_000;
    if (!(this.ttlMs > 0)) throw new RangeError('ttlMs must be positive');
    if (!(this.maxSessions > 0)) throw new RangeError('maxSessions must be positive');
    this.now = options.now;
    this.randomBytes = options.randomBytes;
    this.verifyToken = options.verifyToken;
  }

  /** Live sessions opened by this process (not yet expired, whatever their state). */
  get size(): number {
    this.forgetExpired(this.now());
    return this.opened.length - this.openedHead;
  }

  get sessionTtlMs(): number {
    return this.ttlMs;
  }

  /** Opens a session with a fresh nonce (32 random bytes, standard base64 with padding, as Trustee). */
  async create(tee: string): Promise<Session> {
    const now = this.now();
    if (this.size >= this.maxSessions) {
      throw new KbsProtocolError('KBS_BUSY', `too many open attestation sessions (${this.maxSessions})`, {
        hint: 'retry in a few seconds; sessions expire after their lifetime',
      });
    }
    const id = Buffer.from(this.randomBytes(16)).toString('hex');
    const nonce = Buffer.from(this.randomBytes(NONCE_BYTES)).toString('base64');
    const expiresAtMs = now + this.ttlMs;
    await this.store.insert({ idHash: sessionIdHash(id), tee, nonce, expiresAtMs });
    this.opened.push(expiresAtMs);
    return { id, tee, nonce, expiresAtMs, state: 'challenged' };
  }

  /** A live session by id; throws 401-class errors for a missing, unknown or expired session. */
  async get(id: string | undefined): Promise<Session> {
    const present = requireId(id);
    const now = this.now();
    const cached = this.attestedCache.get(present);
    if (cached) {
      if (now < cached.expiresAtMs) return { id: present, tee: cached.tee, nonce: cached.nonce, expiresAtMs: cached.expiresAtMs, state: 'attested', attested: cached.attested };
      this.attestedCache.delete(present);
    }
    const idHash = sessionIdHash(present);
    const record = await this.store.get(idHash);
    if (!record) throw unknownSession();
    if (now >= record.expiresAtMs) {
      await this.store.delete(idHash);
      throw expiredSession(record.expiresAtMs);
    }
    const session: Session = { id: present, tee: record.tee, nonce: record.nonce, expiresAtMs: record.expiresAtMs, state: record.state };
    if (record.state === 'attested' && record.attested !== null) {
      session.attested = await this.verifyStored(record.attested);
      this.remember(session);
    }
    return session;
  }

  /**
   * Claims the session's nonce for one /attest attempt: atomic across
   * replicas, then compared in constant time; any second presentation is a
   * replay.
   */
  async claimNonce(id: string | undefined, presentedNonce: string): Promise<Session> {
    const present = requireId(id);
    const idHash = sessionIdHash(present);
    const claimed = await this.store.claim(idHash, this.now());
    if (!claimed) throw await this.whyNotClaimable(idHash);
    if (!constantTimeEqual(claimed.nonce, presentedNonce)) {
      // A wrong nonce also burns the session: guessing gets one try.
      await this.store.transition(idHash, ['attesting'], 'burned');
      throw new KbsProtocolError('KBS_NONCE_MISMATCH', 'runtime-data.nonce is not the nonce this session was challenged with', {
        hint: 'send the nonce from this session\'s /auth reply; start over with POST /kbs/v0/auth',
      });
    }
    return toSession(present, claimed);
  }

  async markAttested(session: Session, state: AttestedState): Promise<void> {
    // The signed token is what is stored: it carries the claims and the TEE key, and it cannot be forged in the database.
    await this.store.transition(sessionIdHash(session.id), ['attesting'], 'attested', state.token);
    session.state = 'attested';
    session.attested = state;
    this.remember(session);
  }

  async markBurned(session: Session): Promise<void> {
    session.state = 'burned';
    await this.store.transition(sessionIdHash(session.id), ['challenged', 'attesting'], 'burned');
  }

  /**
   * Deletes expired sessions from the store, at most `batch` rows per
   * statement and `maxBatches` statements per call (bounded work); the server
   * calls it on a timer. Any replica sweeps every replica's sessions.
   */
  async sweep(options: { batch?: number; maxBatches?: number } = {}): Promise<number> {
    const batch = options.batch ?? 1000;
    const maxBatches = options.maxBatches ?? 20;
    const now = this.now();
    this.forgetExpired(now);
    for (const [id, c] of this.attestedCache) if (now >= c.expiresAtMs) this.attestedCache.delete(id);
    let removed = 0;
    for (let i = 0; i < maxBatches; i++) {
      const n = await this.store.sweep(now, batch);
      removed += n;
      if (n < batch) break;
    }
    return removed;
  }

  private async verifyStored(token: string): Promise<AttestedState> {
    try {
      const v = await this.verifyToken(token);
      return { claims: v.claims, teePubKey: v.teePubKey, token };
    } catch (err) {
      // The session's token expired first (a token lifetime shorter than the session's), or the row does not verify.
      if ((err as { cause?: unknown }).cause instanceof joseErrors.JWTExpired) {
        throw new KbsProtocolError('KBS_SESSION_EXPIRED', 'the attestation of this session has expired', { hint: 'start over with POST /kbs/v0/auth' });
      }
      throw new KbsProtocolError('KBS_SESSION_UNKNOWN', `the stored attestation of this session does not verify: ${(err as Error).message}`, {
        cause: err,
        hint: 'start over with POST /kbs/v0/auth',
      });
    }
  }

  private async whyNotClaimable(idHash: string): Promise<KbsProtocolError> {
    const record = await this.store.get(idHash);
    if (!record) return unknownSession();
    if (this.now() >= record.expiresAtMs) {
      await this.store.delete(idHash);
      return expiredSession(record.expiresAtMs);
    }
    return new KbsProtocolError('KBS_NONCE_REPLAYED', 'this session\'s nonce was already used for an attestation attempt', {
      hint: 'nonces are single-use: start over with POST /kbs/v0/auth',
    });
  }

  private remember(session: Session): void {
    if (!session.attested) return;
    if (this.attestedCache.size >= this.cacheSize) {
      // Oldest first (Map keeps insertion order); a forgotten session is read from the store again.
      const oldest = this.attestedCache.keys().next();
      if (!oldest.done) this.attestedCache.delete(oldest.value);
    }
    this.attestedCache.set(session.id, { expiresAtMs: session.expiresAtMs, tee: session.tee, nonce: session.nonce, attested: session.attested });
  }

  private forgetExpired(now: number): void {
    while (this.openedHead < this.opened.length && this.opened[this.openedHead]! <= now) this.openedHead++;
    if (this.openedHead > 1024 && this.openedHead * 2 > this.opened.length) {
      this.opened.splice(0, this.openedHead);
      this.openedHead = 0;
    }
  }
}

function requireId(id: string | undefined): string {
  if (!id) {
    throw new KbsProtocolError('KBS_SESSION_MISSING', 'no kbs-session-id cookie on the request', {
      hint: 'call POST /kbs/v0/auth first and send its kbs-session-id cookie',
    });
  }
  return id;
}

function unknownSession(): KbsProtocolError {
  return new KbsProtocolError('KBS_SESSION_UNKNOWN', 'the kbs-session-id cookie names no session on this broker', {
    hint: 'start over with POST /kbs/v0/auth',
  });
}

function expiredSession(expiresAtMs: number): KbsProtocolError {
  return new KbsProtocolError('KBS_SESSION_EXPIRED', `the attestation session expired at ${new Date(expiresAtMs).toISOString()}`, {
    hint: 'start over with POST /kbs/v0/auth',
  });
}

function toSession(id: string, r: SessionRecord): Session {
  return { id, tee: r.tee, nonce: r.nonce, expiresAtMs: r.expiresAtMs, state: r.state };
}

function constantTimeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  if (x.length !== y.length) return false;
  let diff = 0;
  for (let i = 0; i < x.length; i++) diff |= x[i]! ^ y[i]!;
  return diff === 0;
}
