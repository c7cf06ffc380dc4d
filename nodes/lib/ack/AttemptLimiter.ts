export interface AttemptLimits {
  /** Tries allowed per client in one window. */
  limit: number;
  windowMs: number;
  /** Clients remembered at most: past it, those whose window is over are forgotten, then the oldest. */
  maxClients: number;
}

export const DEFAULT_ATTEMPT_LIMITS: Readonly<AttemptLimits> = { limit: 10, windowMs: 60_000, maxClients: 10_000 };

export type Attempt = { allowed: true } | { allowed: false; retryAfterMs: number };

/**
 * Tries per client address in fixed windows, against someone guessing acknowledge links: a person needs two
 * requests (the page, then its button), a guesser millions. Memory is bounded by `maxClients`.
 */
export class AttemptLimiter {
  private readonly clients = new Map<string, { start: number; count: number }>();

  constructor(private readonly limits: AttemptLimits = DEFAULT_ATTEMPT_LIMITS) {}

  take(client: string, now: number): Attempt {
    let window = this.clients.get(client);
    if (!window || now - window.start >= this.limits.windowMs) {
      this.clients.delete(client);
      this.makeRoom(now);
      window = { start: now, count: 0 };
      this.clients.set(client, window);
    }
    window.count += 1;
    if (window.count <= this.limits.limit) return { allowed: true };
    return { allowed: false, retryAfterMs: window.start + this.limits.windowMs - now };
  }

  get size(): number {
    return this.clients.size;
  }

  private makeRoom(now: number): void {
    if (this.clients.size < this.limits.maxClients) return;
    for (const [client, window] of this.clients) {
      if (now - window.start >= this.limits.windowMs) this.clients.delete(client);
    }
    // Insertion order is the order windows started: the oldest go first.
    for (const client of this.clients.keys()) {
      if (this.clients.size < this.limits.maxClients) break;
      this.clients.delete(client);
    }
  }
}
