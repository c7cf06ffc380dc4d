/**
 * Runs `work` at most once per `intervalMs`, however often it is asked for: the first request after a quiet interval
 * runs at once, later ones within the interval are folded into one run at its end, so the last state is always
 * shown. What a status under a node needs when values arrive thousands of times a second: a person reads a few
 * changes a second, and building the text (a translation per part) costs far more than the update that changed it.
 */
export class Throttle {
  private timer?: NodeJS.Timeout;
  private lastRun = -Infinity;

  constructor(
    private readonly work: () => void,
    private readonly intervalMs: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Asks for a run: now if none ran within the interval, else once when the interval ends. */
  request(): void {
    if (this.timer) return;
    const wait = this.lastRun + this.intervalMs - this.now();
    if (wait <= 0) {
      this.run();
      return;
    }
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.run();
    }, wait);
  }

  /** Drops a run that was waiting (the node closes). */
  cancel(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private run(): void {
    this.lastRun = this.now();
    this.work();
  }
}
