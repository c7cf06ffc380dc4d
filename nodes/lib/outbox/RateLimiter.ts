export interface RateLimit {
  /** At most this many mails ... */
  count: number;
  /** ... in any window of this many milliseconds. */
  windowMs: number;
}

/**
 * Sliding-window caps on how many mails a server is sent (free providers cap mails per day; relays per minute).
 * It never drops anything: it only tells how long to wait before the next mail may go.
 */
export class RateLimiter {
  private readonly times: number[] = [];
  private readonly keep: number;

  constructor(private readonly limits: RateLimit[]) {
    this.keep = Math.max(0, ...limits.map((l) => l.count));
  }

  /** Seeds the windows with mails already sent (from the sent log after a restart). */
  seed(times: number[]): void {
    for (const time of [...times].sort((a, b) => a - b)) this.record(time);
  }

  record(time: number): void {
    if (this.keep === 0) return;
    this.times.push(time);
    if (this.times.length > this.keep) this.times.splice(0, this.times.length - this.keep);
  }

  /** Milliseconds to wait before another mail fits in every window; 0 when one may go now. */
  delay(now: number): number {
    let wait = 0;
    for (const { count, windowMs } of this.limits) {
      if (this.times.length < count) continue;
      // The count-th most recent send must have left the window before another may go.
      const blocking = this.times[this.times.length - count];
      wait = Math.max(wait, blocking + windowMs - now);
    }
    return Math.max(0, wait);
  }
}
