import { KbsProtocolError } from './errors.js';
import type { TeePubKey } from './tee-key.js';
import type { AttestationClaims } from '../policy/claims.js';

/** What an attested session carries to resource requests. */
export interface AttestedState {
  claims: AttestationClaims;
  teePubKey: TeePubKey;
  token: string;
}

export interface Session {
  readonly id: string;
  readonly tee: string;
  readonly nonce: string;
  readonly expiresAtMs: number;
  /** `challenged` until /attest runs; then `attested` or `burned` (failed attempt). */
  state: 'challenged' | 'attesting' | 'attested' | 'burned';
  attested?: AttestedState;
}

export interface SessionManagerOptions {
  /** Session (and nonce) lifetime; Trustee's default is 5 minutes. */
  ttlMs?: number;
  /** Upper bound on live sessions; /auth is unauthenticated, so memory must be bounded. */
  maxSessions?: number;
  now: () => number;
  randomBytes: (n: number) => Uint8Array;
}

const NONCE_BYTES = 32;

/**
 * The RCAR session table: one single-use challenge nonce per session, fixed
 * expiry set at /auth time (not extended later, as in Trustee).
 *
 * Single use is enforced by state: a nonce can be presented to /attest once.
 * Success moves the session to `attested`, failure to `burned`; either way
 * the same nonce is never accepted again (replay), a nonce from another
 * session never matches (foreign) and an expired one is refused.
 */
export class SessionManager {
  private readonly sessions = new Map<string, Session>();
  private readonly ttlMs: number;
  private readonly maxSessions: number;
  private readonly now: () => number;
  private readonly randomBytes: (n: number) => Uint8Array;

  constructor(options: SessionManagerOptions) {
    this.ttlMs = options.ttlMs ?? 5 * 60_000;
    this.maxSessions = options.maxSessions ?? 100_000;
    if (!(this.ttlMs > 0)) throw new RangeError('ttlMs must be positive');
    if (!(this.maxSessions > 0)) throw new RangeError('maxSessions must be positive');
    this.now = options.now;
    this.randomBytes = options.randomBytes;
  }

  get size(): number {
    return this.sessions.size;
  }

  get sessionTtlMs(): number {
    return this.ttlMs;
  }

  /** Opens a session with a fresh nonce (32 random bytes, standard base64 with padding, as Trustee). */
  create(tee: string): Session {
    if (this.sessions.size >= this.maxSessions) this.sweep();
    if (this.sessions.size >= this.maxSessions) {
      throw new KbsProtocolError('KBS_BUSY', `too many open attestation sessions (${this.maxSessions})`, {
        hint: 'retry in a few seconds; sessions expire after their lifetime',
      });
    }
    const id = Buffer.from(this.randomBytes(16)).toString('hex');
    const nonce = Buffer.from(this.randomBytes(NONCE_BYTES)).toString('base64');
    const session: Session = { id, tee, nonce, expiresAtMs: this.now() + this.ttlMs, state: 'challenged' };
    this.sessions.set(id, session);
    return session;
  }

  /** A live session by id; throws 401-class errors for a missing, unknown or expired session. */
  get(id: string | undefined): Session {
    if (!id) {
      throw new KbsProtocolError('KBS_SESSION_MISSING', 'no kbs-session-id cookie on the request', {
        hint: 'call POST /kbs/v0/auth first and send its kbs-session-id cookie',
      });
    }
    const session = this.sessions.get(id);
    if (!session) {
      throw new KbsProtocolError('KBS_SESSION_UNKNOWN', 'the kbs-session-id cookie names no session on this broker', {
        hint: 'start over with POST /kbs/v0/auth',
      });
    }
    if (this.now() >= session.expiresAtMs) {
      this.sessions.delete(id);
      throw new KbsProtocolError('KBS_SESSION_EXPIRED', `the attestation session expired at ${new Date(session.expiresAtMs).toISOString()}`, {
        hint: 'start over with POST /kbs/v0/auth',
      });
    }
    return session;
  }

  /**
   * Claims the session's nonce for one /attest attempt. Compares in constant
   * time; any second presentation is a replay.
   */
  claimNonce(id: string | undefined, presentedNonce: string): Session {
    const session = this.get(id);
    if (session.state !== 'challenged') {
      throw new KbsProtocolError('KBS_NONCE_REPLAYED', 'this session\'s nonce was already used for an attestation attempt', {
        hint: 'nonces are single-use: start over with POST /kbs/v0/auth',
      });
    }
    if (!constantTimeEqual(session.nonce, presentedNonce)) {
      // A wrong nonce also burns the session: guessing gets one try.
      session.state = 'burned';
      throw new KbsProtocolError('KBS_NONCE_MISMATCH', 'runtime-data.nonce is not the nonce this session was challenged with', {
        hint: 'send the nonce from this session\'s /auth reply; start over with POST /kbs/v0/auth',
      });
    }
    session.state = 'attesting';
    return session;
  }

  markAttested(session: Session, state: AttestedState): void {
    session.state = 'attested';
    session.attested = state;
  }

  markBurned(session: Session): void {
    session.state = 'burned';
  }

  /** Drops expired sessions; called when the table is full and on a timer by the server. */
  sweep(): number {
    const now = this.now();
    let removed = 0;
    for (const [id, s] of this.sessions) {
      if (now >= s.expiresAtMs) {
        this.sessions.delete(id);
        removed++;
      }
    }
    return removed;
  }
}

function constantTimeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  if (x.length !== y.length) return false;
  let diff = 0;
  for (let i = 0; i < x.length; i++) diff |= x[i]! ^ y[i]!;
  return diff === 0;
}
