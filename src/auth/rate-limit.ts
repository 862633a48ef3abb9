import { HttpError } from '../errors/http-error';

/** Client addresses remembered at most; past this the oldest is forgotten, so a spray of addresses cannot grow memory. */
const MAX_CLIENTS = 10_000;

/**
 * Failed authentications per client address in a fixed window. Once an address reaches `limit` failures,
 * each of its requests is answered 429 until its window ends, without asking Keystone or hashing tokens.
 */
export class AuthFailureLimiter {
  private readonly windows = new Map<string, { failures: number; endsAt: number }>();

  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Throws 429 with Retry-After while `client` is over the limit. */
  check(client: string): void {
    if (this.limit === 0) return;
    const window = this.windows.get(client);
    if (!window) return;
    const now = this.now();
    if (now >= window.endsAt) {
      this.windows.delete(client);
      return;
    }
    if (window.failures >= this.limit) {
      const retryAfter = String(Math.max(1, Math.ceil((window.endsAt - now) / 1000)));
      throw new HttpError(429, 'Too many failed authentications from this address; try again later.', undefined, {
        'retry-after': retryAfter,
      });
    }
  }

  fail(client: string): void {
    if (this.limit === 0) return;
    const now = this.now();
    const window = this.windows.get(client);
    if (window && now < window.endsAt) {
      window.failures += 1;
      return;
    }
    this.windows.delete(client);
    if (this.windows.size >= MAX_CLIENTS) this.windows.delete(this.windows.keys().next().value!);
    this.windows.set(client, { failures: 1, endsAt: now + this.windowMs });
  }
}
