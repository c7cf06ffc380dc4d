/** One turn in a thread's queue: wait for `ready`, then `release` once done (more than once is harmless). */
export interface ThreadTurn {
  ready: Promise<void>;
  release: () => void;
}

/**
 * Takes turns per thread: the mails of one thread are composed and given their place one after the other, in the
 * order their msgs arrived, while other threads go on at the same time. A trigger whose attachment takes a while
 * thus stays the root, and its ack, arriving just after, still answers it.
 */
export class ThreadTurns {
  private readonly tails = new Map<string, Promise<void>>();
  private readonly waiting = new Map<string, Array<() => void>>();

  /** Must be called before anything is awaited, so that the order of the calls is the order of the msgs. */
  take(key: string): ThreadTurn {
    const previous = this.tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const done = new Promise<void>((resolve) => (release = resolve));
    const tail = previous.then(() => done);
    this.tails.set(key, tail);
    // The last turn of a key forgets it, so that the map holds only threads that are busy.
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return { ready: previous, release };
  }

  /**
   * Waits until a mail takes the root of the thread (`started`), at most `ms`: an ack that reached the send node
   * before its trigger (whose attachment was slow) waits for it, so that the trigger is the root. True if it came.
   */
  whenStarted(key: string, ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        resolve(true);
      };
      const timer = setTimeout(() => {
        const list = this.waiting.get(key)?.filter((w) => w !== wake) ?? [];
        if (list.length > 0) this.waiting.set(key, list);
        else this.waiting.delete(key);
        resolve(false);
      }, ms);
      // A wait alone does not keep a stopping Node-RED alive.
      timer.unref();
      this.waiting.set(key, [...(this.waiting.get(key) ?? []), wake]);
    });
  }

  /** A mail took the root of the thread: whoever waits for it goes on, in the order they came. */
  started(key: string): void {
    const list = this.waiting.get(key);
    this.waiting.delete(key);
    for (const wake of list ?? []) wake();
  }

  /** Threads with a turn taken or waiting, or a mail waiting for their root. */
  get busy(): number {
    return new Set([...this.tails.keys(), ...this.waiting.keys()]).size;
  }
}
