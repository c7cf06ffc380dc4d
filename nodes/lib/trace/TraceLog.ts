import { rm } from "node:fs/promises";
import { Journal, type CorruptRecord, type RecordPosition } from "../common/Journal";

/** A value a trace cell holds. */
export type Scalar = number | string | boolean | null;

/** The shape of a log's rows: one per msg, one per instant with a value per topic, or operator actions. */
export type TraceKind = "samples" | "interval" | "operator";

export interface SampleRow {
  at: number;
  topic: string;
  value: Scalar;
}

export interface IntervalRow {
  at: number;
  values: Record<string, Scalar>;
}

export interface OperatorRow {
  at: number;
  user: string | null;
  control: string;
  previous: Scalar;
  value: Scalar;
}

export type TraceRow = SampleRow | IntervalRow | OperatorRow;

export interface TraceLogOptions {
  kind: TraceKind;
  maxRows: number;
  /** Rows older than this are dropped; 0 keeps them whatever their age. */
  maxAgeMs: number;
  /** Rows are written in one batch at most this long after the first of them arrived (the durability window). */
  writeDelayMs?: number;
  segmentBytes?: number;
  now?: () => number;
  onCorrupt?: (corrupt: CorruptRecord) => void;
  /** A batch that could not be written: its rows are kept in memory, and lost at the next start. */
  onWriteError?: (err: unknown, rows: number) => void;
}

/** One journal line: a batch of rows, each with its sequence number. */
interface TraceRecord {
  k: TraceKind;
  rows: Array<TraceRow & { n: number }>;
}

interface Entry {
  n: number;
  row: TraceRow;
  /** The segment that holds the row, or -1 while it waits to be written. */
  seg: number;
}

const DEFAULT_WRITE_DELAY_MS = 1000;
/** Copies during compaction go in lines of this many rows, so that no line of the journal grows huge. */
const COPY_ROWS = 1000;
/** Every start opens a new segment; past this many old ones, they are folded whatever they hold. */
const MAX_OLD_SEGMENTS = 16;

/**
 * A bounded, persisted log of rows: the last `maxRows`, none older than `maxAgeMs`, oldest first.
 *
 * Rows are in memory at once (an export sees them) and reach the disk in batches on a `Journal`: one line, one
 * fdatasync for all the rows that arrived within `writeDelayMs`, so that a sample every 100 ms costs one sync a second
 * on a gateway's SD card, not ten. A `kill -9` or a power cut loses at most the rows of that last second; `close`
 * writes them at once. Rows that fall out of the bounds are dropped in memory; on disk, when a segment is full, the
 * rows still kept are copied forward and older segments deleted once they hold more dropped rows than kept ones, so
 * the folder stays within about twice the kept rows and a segment.
 */
export class TraceLog {
  /** Dropped rows recorded in another shape (the node's mode was changed): said once, at open. */
  droppedOtherKind = 0;
  private entries: Entry[] = [];
  /** Index of the oldest kept entry: dropping from the front moves it instead of shifting the array. */
  private head = 0;
  private pending: Entry[] = [];
  private timer?: NodeJS.Timeout;
  private writing: Promise<void> = Promise.resolve();
  private compacting?: Promise<void>;
  private seq = 0;
  /** Rows written to each segment, live or not: what compaction weighs against the rows kept. */
  private readonly written = new Map<number, number>();
  private journal!: Journal<TraceRecord>;
  private readonly now: () => number;
  private readonly writeDelayMs: number;

  private constructor(
    readonly dir: string,
    private readonly options: TraceLogOptions,
  ) {
    this.now = options.now ?? Date.now;
    this.writeDelayMs = options.writeDelayMs ?? DEFAULT_WRITE_DELAY_MS;
  }

  static async open(dir: string, options: TraceLogOptions): Promise<TraceLog> {
    const log = new TraceLog(dir, options);
    const found = new Map<number, Entry>();
    log.journal = await Journal.open<TraceRecord>(
      dir,
      (record, position) => log.replay(record, position, found),
      (corrupt) => options.onCorrupt?.(corrupt),
      log.rotated,
      options.segmentBytes === undefined ? {} : { segmentBytes: options.segmentBytes },
    );
    log.entries = [...found.values()].sort((a, b) => a.n - b.n);
    log.trim(log.now());
    if (await log.worthCompacting()) await log.compact();
    return log;
  }

  get kind(): TraceKind {
    return this.options.kind;
  }

  get size(): number {
    return this.entries.length - this.head;
  }

  /** Records a row: kept in memory now, written with the others of its batch. */
  add(row: TraceRow): void {
    const entry: Entry = { n: ++this.seq, row, seg: -1 };
    this.entries.push(entry);
    this.pending.push(entry);
    this.trim(this.now());
    this.timer ??= setTimeout(() => void this.flush(), this.writeDelayMs);
  }

  /** The rows kept, oldest first. */
  rows(): TraceRow[] {
    this.trim(this.now());
    const rows: TraceRow[] = new Array(this.size);
    for (let i = this.head; i < this.entries.length; i++) rows[i - this.head] = this.entries[i].row;
    return rows;
  }

  /** The newest row, such as the last values of an interval log to start again from. */
  last(): TraceRow | undefined {
    return this.size > 0 ? this.entries[this.entries.length - 1].row : undefined;
  }

  /** Writes the rows waiting for their batch now; resolves once they are on disk (or reported as not). */
  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pending.length > 0) {
      const batch = this.pending;
      this.pending = [];
      const record: TraceRecord = { k: this.options.kind, rows: batch.map((e) => ({ ...e.row, n: e.n })) };
      this.writing = this.writing.then(() =>
        this.journal.append(record).then(
          (position) => {
            for (const entry of batch) entry.seg = position.segment;
            this.count(position.segment, batch.length);
          },
          (err: unknown) => this.options.onWriteError?.(err, batch.length),
        ),
      );
    }
    return this.writing;
  }

  /** Writes what is waiting and closes the files. */
  async close(): Promise<void> {
    await this.flush();
    await this.compacting;
    await this.journal.close();
  }

  /** Deletes the log from the disk (its node was deleted). */
  async remove(): Promise<void> {
    this.pending = [];
    await this.close();
    await rm(this.dir, { recursive: true, force: true });
  }

  private replay(record: TraceRecord, position: RecordPosition, found: Map<number, Entry>): void {
    if (!Array.isArray(record.rows)) return;
    this.count(position.segment, record.rows.length);
    if (record.k !== this.options.kind) {
      this.droppedOtherKind += record.rows.length;
      return;
    }
    for (const stored of record.rows) {
      const { n, ...row } = stored;
      if (typeof n !== "number") continue;
      this.seq = Math.max(this.seq, n);
      // A row copied forward by a compaction that could not delete the old segment is there twice: keep one.
      found.set(n, { n, row, seg: position.segment });
    }
  }

  private count(segment: number, rows: number): void {
    this.written.set(segment, (this.written.get(segment) ?? 0) + rows);
  }

  private trim(now: number): void {
    const { maxRows, maxAgeMs } = this.options;
    while (this.size > maxRows) this.head++;
    if (maxAgeMs > 0) {
      const oldest = now - maxAgeMs;
      while (this.size > 0 && this.entries[this.head].row.at < oldest) this.head++;
    }
    // Give the dropped entries back to the garbage collector once they are half the array.
    if (this.head > 1024 && this.head * 2 > this.entries.length) {
      this.entries = this.entries.slice(this.head);
      this.head = 0;
    }
  }

  /** A class field, so that the journal holds on to the log alone. */
  private readonly rotated = (): void => {
    void this.worthCompacting().then((worth) => (worth ? this.compact() : undefined));
  };

  private async oldSegments(): Promise<number[]> {
    const active = this.journal.activeSegment;
    return (await Journal.segmentsIn(this.dir)).filter((segment) => segment < active);
  }

  /** The old segments hold more dropped rows than kept ones, or are too many. */
  private async worthCompacting(): Promise<boolean> {
    const old = await this.oldSegments();
    if (old.length === 0) return false;
    if (old.length > MAX_OLD_SEGMENTS) return true;
    const oldSet = new Set(old);
    let live = 0;
    for (let i = this.head; i < this.entries.length; i++) if (oldSet.has(this.entries[i].seg)) live++;
    const written = old.reduce((sum, segment) => sum + (this.written.get(segment) ?? 0), 0);
    return written - live > live;
  }

  /**
   * Copies the kept rows of the old segments into the active one, then deletes the old segments. A copy keeps its
   * row's number, so a replay that meets both keeps one. It never fails the caller: what could not be copied stays in
   * its segment.
   */
  private compact(): Promise<void> {
    this.compacting ??= (async () => {
      try {
        const old = new Set(await this.oldSegments());
        const live: Entry[] = [];
        for (let i = this.head; i < this.entries.length; i++)
          if (old.has(this.entries[i].seg)) live.push(this.entries[i]);
        const copies: Array<Promise<void>> = [];
        for (let start = 0; start < live.length; start += COPY_ROWS) {
          const batch = live.slice(start, start + COPY_ROWS);
          const record: TraceRecord = { k: this.options.kind, rows: batch.map((e) => ({ ...e.row, n: e.n })) };
          copies.push(
            this.journal.append(record).then((position) => {
              for (const entry of batch) entry.seg = position.segment;
              this.count(position.segment, batch.length);
            }),
          );
        }
        await Promise.all(copies);
        for (const segment of old) {
          await this.journal.deleteSegment(segment);
          this.written.delete(segment);
        }
      } catch {
        // The journal closed under us (redeploy) or a write failed: the old segments stay, nothing is lost.
      } finally {
        this.compacting = undefined;
      }
    })();
    return this.compacting;
  }
}
