import { mkdir, open, readdir, readFile, rename, rm, stat, truncate, unlink } from "node:fs/promises";
import { join } from "node:path";
import { crc32 } from "node:zlib";
import type { HistoryRecord } from "./AlarmHistory";

const DAY_MS = 86_400_000;
const DAY_FILE = /^(\d{4})-(\d\d)-(\d\d)\.log$/;

export interface HistoryStoreOptions {
  /** Whole days kept before the current one (UTC): what the longest report period needs. */
  days: number;
  /** At most this many events are read back; the disk holds at most a tenth more before the oldest day is cut. */
  maxEvents: number;
  /** Pending events reach the disk this long after the first of them at the latest (default 1 s). */
  flushMs?: number;
  now?: () => number;
  /**
   * Events from before the store existed (the history that block snapshots used to carry), written when the folder
   * holds no day file yet: once, since the next start finds the files.
   */
  seed?: readonly HistoryRecord[];
}

export interface HistoryDamage {
  file: string;
  line: number;
}

interface DayFile {
  day: number;
  count: number;
  bytes: number;
}

/** One line's fields, by position: an array parses faster and is half the size of an object with names. */
type Line = [
  HistoryRecord["at"],
  HistoryRecord["event"],
  HistoryRecord["id"],
  HistoryRecord["label"],
  HistoryRecord["priority"],
  HistoryRecord["state"],
  HistoryRecord["value"],
  HistoryRecord["user"],
  /** Absent in lines written before acks said where they came from. */
  HistoryRecord["ackVia"]?,
  /** An ack's comment; absent without one, and in lines written before comments were kept. */
  HistoryRecord["comment"]?,
];

/**
 * A block's event history on disk, one file per UTC day (`2026-01-15.log`), each line `<crc32> <json>\n`.
 *
 * Days make compaction free: what falls out of `days` is a whole file deleted, never a copy, and a report of one week
 * reads a week of files. Events are written in batches, at most `flushMs` after they happened (the same second that
 * the block's snapshot may lose to a power cut), so that an SD card sees one write a second in a flood, not one per
 * event. A line torn by a power cut is cut off at the next start; a damaged line is reported and skipped.
 *
 * The count bound keeps the disk bounded whatever the alarm rate: past `maxEvents` plus a tenth, the oldest day file
 * is cut to what remains within `maxEvents`; reads never return more than the newest `maxEvents`.
 */
export class HistoryStore {
  private readonly files = new Map<number, DayFile>();
  private pending: HistoryRecord[] = [];
  private timer?: NodeJS.Timeout;
  private writing: Promise<void> = Promise.resolve();
  private readonly ready: Promise<void>;
  private readonly now: () => number;
  private readonly flushMs: number;
  private closed = false;

  constructor(
    readonly dir: string,
    private readonly options: HistoryStoreOptions,
    private readonly onDamage: (damage: HistoryDamage) => void = () => undefined,
    private readonly onWriteError: (err: unknown) => void = () => undefined,
  ) {
    if (!Number.isInteger(options.days) || options.days < 1) throw new RangeError(`history days ${options.days}`);
    if (!Number.isInteger(options.maxEvents) || options.maxEvents < 1)
      throw new RangeError(`history events ${options.maxEvents}`);
    this.now = options.now ?? Date.now;
    this.flushMs = options.flushMs ?? 1000;
    this.ready = this.open();
  }

  /** Settles once the files on disk are counted; a failure to read them is the caller's to report. */
  opened(): Promise<void> {
    return this.ready;
  }

  /** Events kept, as reads return them (the newest `maxEvents`). */
  get size(): number {
    return Math.min(this.stored + this.pending.length, this.options.maxEvents);
  }

  /** Bytes of the day files. */
  get diskBytes(): number {
    let bytes = 0;
    for (const file of this.files.values()) bytes += file.bytes;
    return bytes;
  }

  add(record: HistoryRecord): void {
    if (this.closed) return;
    this.pending.push(record);
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      // The batch is lost; the next events try again.
      void this.flush().catch(this.onWriteError);
    }, this.flushMs);
  }

  /** Writes what is pending now; the promise tells whether it reached the disk. */
  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.pending;
    this.pending = [];
    const work = this.writing.then(() => this.write(batch));
    this.writing = work.catch(() => undefined);
    return work;
  }

  /**
   * Every event with `from <= at < to`, oldest first (per day file, as they were recorded), the pending ones
   * included. `visit` sees each one as it is read, so that a month of events never sits in memory at once.
   */
  async scan(from: number, to: number, visit: (record: HistoryRecord) => void): Promise<void> {
    await this.ready;
    await this.writing;
    const pending = [...this.pending];
    let skip = Math.max(0, this.stored + pending.length - this.options.maxEvents);
    for (const day of [...this.files.keys()].sort((a, b) => a - b)) {
      const file = this.files.get(day) as DayFile;
      if (skip >= file.count) {
        skip -= file.count;
        continue;
      }
      if (day * DAY_MS + DAY_MS <= from || day * DAY_MS >= to) {
        skip = 0;
        continue;
      }
      const path = join(this.dir, dayName(day));
      const data = await readFile(path).catch(() => Buffer.alloc(0));
      let offset = 0;
      let line = 0;
      while (offset < data.length) {
        const end = data.indexOf(10, offset);
        if (end === -1) break;
        line++;
        if (skip > 0) {
          skip--;
        } else {
          const record = parseLine(data, offset, end);
          if (record === undefined) this.onDamage({ file: path, line });
          else if (record.at >= from && record.at < to) visit(record);
        }
        offset = end + 1;
      }
      skip = 0;
    }
    for (const record of pending.slice(skip)) if (record.at >= from && record.at < to) visit(record);
  }

  /** Every event kept, oldest first: what the CSV attacher exports. */
  async list(from = -Infinity, to = Infinity): Promise<HistoryRecord[]> {
    const records: HistoryRecord[] = [];
    await this.scan(from, to, (record) => records.push(record));
    return records;
  }

  /** Writes what is pending; nothing is accepted after. */
  async close(): Promise<void> {
    this.closed = true;
    await this.ready.catch(() => undefined);
    await this.flush();
  }

  /** The node was deleted: its history goes with it. */
  async remove(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    this.pending = [];
    await this.writing;
    await rm(this.dir, { recursive: true, force: true });
    this.files.clear();
  }

  private get stored(): number {
    let count = 0;
    for (const file of this.files.values()) count += file.count;
    return count;
  }

  private async open(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    const days = (await readdir(this.dir)).map(dayOf).filter((d): d is number => d !== undefined);
    days.sort((a, b) => a - b);
    for (const day of days) {
      const path = join(this.dir, dayName(day));
      const data = await readFile(path);
      let count = 0;
      for (let at = data.indexOf(10); at !== -1; at = data.indexOf(10, at + 1)) count++;
      let bytes = data.length;
      const last = data.lastIndexOf(10);
      if (last !== data.length - 1) {
        // A power cut in the middle of a write: what follows the last whole line would spoil the next one.
        bytes = last + 1;
        await truncate(path, bytes);
        this.onDamage({ file: path, line: count + 1 });
      }
      this.files.set(day, { day, count, bytes });
    }
    await this.compact();
    const seed = this.options.seed ?? [];
    if (this.files.size === 0 && seed.length > 0) {
      this.pending.unshift(...seed);
      // Not awaited: the write waits for this opening to finish.
      void this.flush().catch(this.onWriteError);
    }
  }

  private async write(batch: HistoryRecord[]): Promise<void> {
    await this.ready;
    const byDay = new Map<number, string[]>();
    for (const record of batch) {
      const day = Math.floor(record.at / DAY_MS);
      let lines = byDay.get(day);
      if (!lines) byDay.set(day, (lines = []));
      lines.push(formatLine(record));
    }
    for (const [day, lines] of byDay) {
      const data = Buffer.from(lines.join(""));
      const handle = await open(join(this.dir, dayName(day)), "a");
      try {
        await handle.write(data);
        await handle.datasync();
      } finally {
        await handle.close();
      }
      const file = this.files.get(day) ?? { day, count: 0, bytes: 0 };
      file.count += lines.length;
      file.bytes += data.length;
      this.files.set(day, file);
    }
    if (batch.length > 0) await this.compact();
  }

  /** Drops the days past `days`, then cuts the oldest while more than a tenth over `maxEvents`. */
  private async compact(): Promise<void> {
    const oldestKept = Math.floor(this.now() / DAY_MS) - this.options.days;
    for (const day of [...this.files.keys()].sort((a, b) => a - b)) {
      if (day >= oldestKept) break;
      await unlink(join(this.dir, dayName(day))).catch(() => undefined);
      this.files.delete(day);
    }
    const { maxEvents } = this.options;
    const slack = Math.max(1, Math.floor(maxEvents / 10));
    let over = this.stored - maxEvents;
    if (over < slack) return;
    for (const day of [...this.files.keys()].sort((a, b) => a - b)) {
      if (over <= 0) break;
      const file = this.files.get(day) as DayFile;
      const path = join(this.dir, dayName(day));
      if (file.count <= over) {
        await unlink(path).catch(() => undefined);
        this.files.delete(day);
        over -= file.count;
        continue;
      }
      await this.cut(file, path, over);
      over = 0;
    }
  }

  /** Keeps a day file's lines after the first `drop`: written beside it, then renamed over it, so it stays whole. */
  private async cut(file: DayFile, path: string, drop: number): Promise<void> {
    const data = await readFile(path);
    let offset = 0;
    for (let i = 0; i < drop; i++) offset = data.indexOf(10, offset) + 1;
    const kept = data.subarray(offset);
    const temp = `${path}.tmp`;
    const handle = await open(temp, "w");
    try {
      await handle.write(kept);
      await handle.datasync();
    } finally {
      await handle.close();
    }
    await rename(temp, path);
    file.count -= drop;
    file.bytes = kept.length;
  }
}

/** The disk size of a folder's day files, for a bench or a status. */
export async function historyDiskBytes(dir: string): Promise<number> {
  let bytes = 0;
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    if (DAY_FILE.test(name)) bytes += (await stat(join(dir, name))).size;
  }
  return bytes;
}

function dayName(day: number): string {
  return `${new Date(day * DAY_MS).toISOString().slice(0, 10)}.log`;
}

function dayOf(name: string): number | undefined {
  const match = DAY_FILE.exec(name);
  if (!match) return undefined;
  return Math.floor(Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3])) / DAY_MS);
}

function formatLine(r: HistoryRecord): string {
  // Only an ack says where it came from; other lines keep the shorter shape that older versions read.
  const line: Line = [r.at, r.event, r.id, r.label, r.priority, r.state, r.value, r.user];
  if (r.ackVia !== null && r.ackVia !== undefined) line.push(r.ackVia);
  if (r.comment) {
    if (line.length === 8) line.push(null);
    line.push(r.comment);
  }
  const json = JSON.stringify(line);
  return `${crc32(json).toString(16).padStart(8, "0")} ${json}\n`;
}

/** One line of `data` between `start` and `end` (its newline): checked on the bytes, parsed only when whole. */
function parseLine(data: Buffer, start: number, end: number): HistoryRecord | undefined {
  if (end - start < 10 || data[start + 8] !== 32) return undefined;
  let crc = 0;
  for (let i = start; i < start + 8; i++) {
    const c = data[i];
    const digit = c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : -1;
    if (digit < 0) return undefined;
    crc = crc * 16 + digit;
  }
  if (crc32(data.subarray(start + 9, end)) !== crc) return undefined;
  let line: unknown;
  try {
    line = JSON.parse(data.toString("utf8", start + 9, end));
  } catch {
    return undefined;
  }
  if (
    !Array.isArray(line) ||
    line.length < 8 ||
    line.length > 10 ||
    typeof line[0] !== "number" ||
    typeof line[1] !== "string"
  )
    return undefined;
  const [at, event, id, label, priority, state, value, user, ackVia, comment] = line as Line;
  return {
    at,
    event,
    id,
    label,
    priority,
    state,
    value,
    user,
    ...(ackVia ? { ackVia } : {}),
    ...(typeof comment === "string" && comment !== "" ? { comment } : {}),
  };
}
