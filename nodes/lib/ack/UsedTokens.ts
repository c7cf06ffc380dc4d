import { Journal, type CorruptRecord } from "../common/Journal";

interface UsedRecord {
  id: string;
  expires: number;
}

interface Entry {
  expires: number;
  segment: number;
}

export interface UsedTokensOptions {
  now?: () => number;
  /** A segment is closed past this size; the older ones are then dropped or compacted. */
  segmentBytes?: number;
  onCorrupt?: (corrupt: CorruptRecord) => void;
}

const SWEEP_MS = 60_000;

/**
 * The acknowledge links already used, so that each works once, also after a restart: one journal record per use,
 * on disk before `add` resolves. A record is kept only until its link expires, since an expired link is refused
 * anyway: segments whose records have all expired are deleted, and when the older segments hold more expired records
 * than live ones, the live ones are copied forward first. So the record is bounded by the links used within one
 * `ackLinkTtl`, whatever the uptime.
 */
export class UsedTokens {
  /** Records per segment, live or not, to know when compaction pays. */
  private readonly counts = new Map<number, number>();
  private compaction: Promise<void> = Promise.resolve();
  private nextSweep = 0;

  private constructor(
    private readonly journal: Journal<UsedRecord>,
    private readonly used: Map<string, Entry>,
    counts: Map<number, number>,
    private readonly now: () => number,
  ) {
    for (const [segment, count] of counts) this.counts.set(segment, count);
  }

  static async open(dir: string, options: UsedTokensOptions = {}): Promise<UsedTokens> {
    const now = options.now ?? Date.now;
    const opened = now();
    const used = new Map<string, Entry>();
    const counts = new Map<number, number>();
    // The journal tells of a full segment from inside its writes, once the store exists.
    const holder: { store?: UsedTokens } = {};
    const journal = await Journal.open<UsedRecord>(
      dir,
      (record, position) => {
        counts.set(position.segment, (counts.get(position.segment) ?? 0) + 1);
        if (typeof record?.id !== "string" || typeof record.expires !== "number") return;
        if (record.expires >= opened) used.set(record.id, { expires: record.expires, segment: position.segment });
      },
      options.onCorrupt ?? (() => undefined),
      () => holder.store?.compactSoon(),
      { segmentBytes: options.segmentBytes ?? 64 * 1024 },
    );
    const store = new UsedTokens(journal, used, counts, now);
    holder.store = store;
    store.compactSoon();
    await store.compaction;
    return store;
  }

  /** Whether the link `id` was used (and has not expired since). */
  has(id: string): boolean {
    return this.used.has(id);
  }

  get size(): number {
    return this.used.size;
  }

  /** Records the use of link `id`, valid until `expires`; resolves once the record is on disk. */
  async add(id: string, expires: number): Promise<void> {
    if (this.used.has(id)) return;
    this.sweep();
    // Claimed before the write, so that a second use arriving meanwhile is already refused.
    const entry: Entry = { expires, segment: this.journal.activeSegment };
    this.used.set(id, entry);
    try {
      const position = await this.journal.append({ id, expires });
      entry.segment = position.segment;
      this.counts.set(position.segment, (this.counts.get(position.segment) ?? 0) + 1);
    } catch (err) {
      this.used.delete(id);
      throw err;
    }
  }

  async close(): Promise<void> {
    await this.compaction;
    await this.journal.close();
  }

  /** Forgets links that have expired: they are refused as expired before this record is asked. */
  private sweep(): void {
    const now = this.now();
    if (now < this.nextSweep) return;
    this.nextSweep = now + SWEEP_MS;
    for (const [id, entry] of this.used) if (entry.expires < now) this.used.delete(id);
  }

  private compactSoon(): void {
    // A compaction that fails (a full disk) leaves every record where it was: the next rotation tries again.
    this.compaction = this.compaction.then(() => this.compact()).catch(() => undefined);
  }

  private async compact(): Promise<void> {
    this.nextSweep = 0;
    this.sweep();
    const active = this.journal.activeSegment;
    const older = [...this.counts.keys()].filter((segment) => segment < active);
    if (older.length === 0) return;
    const live = new Map<number, string[]>();
    for (const [id, entry] of this.used) {
      if (entry.segment < active) live.set(entry.segment, [...(live.get(entry.segment) ?? []), id]);
    }
    // Whole segments of expired records go at no cost.
    for (const segment of older.filter((s) => !live.has(s))) await this.drop(segment);
    const kept = older.filter((s) => live.has(s));
    const total = kept.reduce((sum, s) => sum + (this.counts.get(s) ?? 0), 0);
    const moving = kept.flatMap((s) => live.get(s) ?? []);
    // Mostly live: copying them would write more than it frees; a later rotation finds more of them expired.
    if (moving.length === 0 || moving.length * 2 > total) return;
    for (const id of moving) {
      const entry = this.used.get(id);
      if (!entry) continue;
      const position = await this.journal.append({ id, expires: entry.expires });
      entry.segment = position.segment;
      this.counts.set(position.segment, (this.counts.get(position.segment) ?? 0) + 1);
    }
    for (const segment of kept) await this.drop(segment);
  }

  private async drop(segment: number): Promise<void> {
    await this.journal.deleteSegment(segment);
    this.counts.delete(segment);
  }
}
