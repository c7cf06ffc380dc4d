export interface AttemptLimits {
  /** Refused tries allowed per client in one window. */
  limit: number;
  windowMs: number;
  /** Clients remembered at most: past it, those whose window is over are forgotten, then the oldest. */
  maxClients: number;
}

export const DEFAULT_ATTEMPT_LIMITS: Readonly<AttemptLimits> = { limit: 10, windowMs: 60_000, maxClients: 10_000 };

/**
 * Refused tries per client address in fixed windows, against someone guessing acknowledge links: a guesser is
 * refused millions of times, a person holding a good link hardly ever, so only refusals count. Once a client has
 * used up its window, every request of it is turned away until the window ends, good links too. Memory is bounded
 * by `maxClients`.
 */
export class AttemptLimiter {
  private readonly clients = new Map<string, { start: number; count: number }>();

  constructor(private readonly limits: AttemptLimits = DEFAULT_ATTEMPT_LIMITS) {}

  /** How long `client` must wait before it may try again (ms), or 0 when it may now. */
  waitFor(client: string, now: number): number {
    const window = this.clients.get(client);
    if (!window || now - window.start >= this.limits.windowMs || window.count < this.limits.limit) return 0;
    return window.start + this.limits.windowMs - now;
  }

  /** One more refused try by `client`. */
  refused(client: string, now: number): void {
    let window = this.clients.get(client);
    if (!window || now - window.start >= this.limits.windowMs) {
      this.clients.delete(client);
      this.makeRoom(now);
      window = { start: now, count: 0 };
      this.clients.set(client, window);
    }
    window.count += 1;
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
