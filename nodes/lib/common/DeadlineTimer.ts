/** setTimeout fires at once for a longer delay (it overflows a signed 32-bit integer): a longer wait takes steps. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * The one timer of a node whose engine keeps deadlines: armed for the engine's next deadline after every change,
 * `due` called when it comes. Arming it again for the deadline it already waits for keeps its timer, so the values
 * between two deadlines cost no timer each. A deadline further ahead than setTimeout can wait wakes the owner at the
 * longest wait: it finds nothing due and arms again.
 */
export class DeadlineTimer {
  private timer?: NodeJS.Timeout;
  private armedAt?: number;

  constructor(
    private readonly due: () => void,
    private readonly now: () => number = Date.now,
  ) {}

  /** Waits for `next` (epoch ms; a past one is due at once), or for nothing when it is undefined. */
  arm(next: number | undefined): void {
    if (next === this.armedAt) return;
    this.cancel();
    this.armedAt = next;
    if (next === undefined) return;
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        this.armedAt = undefined;
        this.due();
      },
      Math.min(Math.max(next - this.now(), 0), MAX_TIMER_MS),
    );
  }

  /** Drops the wait: the owner wakes by itself, or closes. */
  cancel(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.armedAt = undefined;
  }
}
