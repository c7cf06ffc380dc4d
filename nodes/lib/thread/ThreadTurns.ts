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

  /** Threads with a turn taken or waiting. */
  get busy(): number {
    return this.tails.size;
  }
}
