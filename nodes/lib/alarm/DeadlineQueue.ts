/**
 * A min-heap of deadlines (epoch ms), so that finding the next timer to wake for costs O(1) and scheduling one
 * O(log n), however many alarms are defined. Entries are never removed early: their owner checks on the way out
 * whether an entry is still current, which keeps cancelling a timer free.
 */
export class DeadlineQueue<T> {
  private heap: Array<{ at: number; item: T }> = [];

  get size(): number {
    return this.heap.length;
  }

  push(at: number, item: T): void {
    const heap = this.heap;
    heap.push({ at, item });
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (heap[parent].at <= at) break;
      [heap[parent], heap[i]] = [heap[i], heap[parent]];
      i = parent;
    }
  }

  peek(): { at: number; item: T } | undefined {
    return this.heap[0];
  }

  pop(): { at: number; item: T } | undefined {
    const heap = this.heap;
    const top = heap[0];
    const last = heap.pop();
    if (heap.length > 0 && last) {
      heap[0] = last;
      let i = 0;
      for (;;) {
        const left = 2 * i + 1;
        const right = left + 1;
        let smallest = i;
        if (left < heap.length && heap[left].at < heap[smallest].at) smallest = left;
        if (right < heap.length && heap[right].at < heap[smallest].at) smallest = right;
        if (smallest === i) break;
        [heap[smallest], heap[i]] = [heap[i], heap[smallest]];
        i = smallest;
      }
    }
    return top;
  }

  /** Keeps only the entries that `keep` says are still current, when cancelled ones have piled up. */
  compact(keep: (at: number, item: T) => boolean): void {
    const live = this.heap.filter((entry) => keep(entry.at, entry.item));
    this.heap = [];
    for (const entry of live) this.push(entry.at, entry.item);
  }
}
