/** The longest pause a service can ask for. */
const MAX_PAUSE_MS = 3_600_000;

/**
 * The requests allowed at once towards one mailbox of a service, shared by every transport that sends as that
 * mailbox in this process (a server node, its dialog's tests, another server node failing over to it), and the
 * pause the service asked for with `Retry-After`, during which no request for that mailbox starts.
 */
export class MailboxLimiter {
  private active = 0;
  private readonly waiting: Array<() => void> = [];
  private pausedUntil = 0;

  constructor(readonly maxInFlight: number) {}

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.active >= this.maxInFlight) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.active += 1;
    try {
      return await task();
    } finally {
      const next = this.waiting.shift();
      // The slot passes straight to the next waiter, so a newcomer cannot overtake it.
      if (next) next();
      else this.active -= 1;
    }
  }

  /** Milliseconds left of the service's pause, 0 when requests may start. */
  pauseLeft(now: number): number {
    return Math.max(0, this.pausedUntil - now);
  }

  /** A service's Retry-After, kept to an hour at most: a wrong or hostile answer cannot stop a mailbox for days. */
  pause(ms: number, now: number): void {
    this.pausedUntil = Math.max(this.pausedUntil, now + Math.min(ms, MAX_PAUSE_MS));
  }
}

const limiters = new Map<string, MailboxLimiter>();

/** The one limiter for `key` (service address and mailbox) in this process. */
export function mailboxLimiter(key: string, maxInFlight: number): MailboxLimiter {
  let limiter = limiters.get(key);
  if (!limiter) {
    limiter = new MailboxLimiter(maxInFlight);
    limiters.set(key, limiter);
  }
  return limiter;
}
