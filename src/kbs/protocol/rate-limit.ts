/**
 * Per-client token buckets for the unauthenticated endpoints (/auth, /attest).
 * Trustee leaves rate limiting to an ingress; kubetee's broker may run with
 * none in front of it, so it limits itself. Memory is bounded: when the table
 * is full, the least recently seen client is forgotten.
 */
export interface RateLimitOptions {
  /** Sustained requests per second per client. */
  ratePerSecond: number;
  /** Bucket size (requests allowed in a burst). */
  burst: number;
  maxClients?: number;
  now: () => number;
}

export class TokenBucketLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  private readonly maxClients: number;

  constructor(private readonly options: RateLimitOptions) {
    if (!(options.ratePerSecond > 0) || !(options.burst >= 1)) throw new RangeError('rate limit needs ratePerSecond > 0 and burst >= 1');
    this.maxClients = options.maxClients ?? 10_000;
  }

  /** Takes one token for `client`; returns 0 when allowed, else the seconds to wait. */
  take(client: string): number {
    const now = this.options.now();
    let b = this.buckets.get(client);
    if (b) {
      this.buckets.delete(client); // re-insert below: Map order doubles as LRU order
      b.tokens = Math.min(this.options.burst, b.tokens + ((now - b.at) / 1000) * this.options.ratePerSecond);
      b.at = now;
    } else {
      if (this.buckets.size >= this.maxClients) {
        const oldest = this.buckets.keys().next().value;
        if (oldest !== undefined) this.buckets.delete(oldest);
      }
      b = { tokens: this.options.burst, at: now };
    }
    this.buckets.set(client, b);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return Math.ceil((1 - b.tokens) / this.options.ratePerSecond);
  }
}
