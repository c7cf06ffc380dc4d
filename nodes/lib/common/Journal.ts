import { mkdir, open, readdir, readFile, stat, unlink, writeFile, type FileHandle } from "node:fs/promises";
import { join } from "node:path";
import { crc32 } from "node:zlib";

/** Where a record sits, so that a large one can be read back without keeping it in memory. */
export interface RecordPosition {
  segment: number;
  offset: number;
  length: number;
}

export interface CorruptRecord {
  file: string;
  offset: number;
  reason: "checksum" | "torn" | "json";
}

export interface JournalOptions {
  /** A segment that has grown past this size is closed and a new one started (the caller then compacts). */
  segmentBytes?: number;
}

interface Pending {
  line: Buffer;
  resolve: (position: RecordPosition) => void;
  reject: (err: unknown) => void;
}

const SEGMENT = /^journal-(\d{8})\.log$/;

/**
 * An append-only log of JSON records in numbered segment files, each line `<crc32> <json>\n`.
 *
 * `append` resolves only once the record is on disk (fdatasync). Records that arrive while a write is in progress
 * are written and synced together with the next one (group commit), so a burst costs a few syncs, not one each.
 * On open, every record is checked: a torn tail (power cut mid-write) or a damaged line is reported and skipped,
 * never fatal, and the next append starts a fresh segment so that nothing is written after damage.
 */
export class Journal<R> {
  private handle?: FileHandle;
  private size = 0;
  private queue: Pending[] = [];
  private flushing?: Promise<void>;
  private closed = false;

  private constructor(
    readonly dir: string,
    private segment: number,
    private readonly segmentBytes: number,
    private readonly onRotate: (closedSegment: number) => void,
  ) {}

  /**
   * Opens the journal in `dir` and replays every intact record in order. `onRotate` is told when a segment is full,
   * which is the caller's moment to copy what is still live out of older segments and drop them.
   */
  static async open<R>(
    dir: string,
    replay: (record: R, position: RecordPosition) => void,
    onCorrupt: (corrupt: CorruptRecord) => void,
    onRotate: (closedSegment: number) => void,
    options: JournalOptions = {},
  ): Promise<Journal<R>> {
    await mkdir(dir, { recursive: true });
    const segments = await Journal.segmentsIn(dir);
    for (const segment of segments) {
      const file = join(dir, segmentName(segment));
      const data = await readFile(file);
      // Damage is reported once: the offsets already reported are kept beside the segment until it is dropped.
      const known = await knownDamage(dir, segment);
      const found: number[] = [];
      const damaged = (corrupt: CorruptRecord) => {
        if (known.has(corrupt.offset)) return;
        found.push(corrupt.offset);
        onCorrupt(corrupt);
      };
      let offset = 0;
      while (offset < data.length) {
        const end = data.indexOf(10, offset);
        if (end === -1) {
          damaged({ file, offset, reason: "torn" });
          break;
        }
        const parsed = parseLine(data.subarray(offset, end));
        if ("reason" in parsed) damaged({ file, offset, reason: parsed.reason });
        else replay(parsed.value as R, { segment, offset, length: end + 1 - offset });
        offset = end + 1;
      }
      if (found.length > 0) {
        await writeFile(join(dir, damageName(segment)), JSON.stringify([...known, ...found])).catch(() => undefined);
      }
    }
    const next = (segments.at(-1) ?? 0) + 1;
    return new Journal<R>(dir, next, options.segmentBytes ?? 4 * 1024 * 1024, onRotate);
  }

  static async segmentsIn(dir: string): Promise<number[]> {
    const names = await readdir(dir).catch(() => [] as string[]);
    return names
      .map((name) => SEGMENT.exec(name)?.[1])
      .filter((n): n is string => n !== undefined)
      .map(Number)
      .sort((a, b) => a - b);
  }

  get activeSegment(): number {
    return this.segment;
  }

  append(record: R): Promise<RecordPosition> {
    if (this.closed) return Promise.reject(new Error("journal closed"));
    const json = JSON.stringify(record);
    const line = Buffer.from(`${crc32(json).toString(16).padStart(8, "0")} ${json}\n`);
    return new Promise((resolve, reject) => {
      this.queue.push({ line, resolve, reject });
      this.flushing ??= this.flush();
    });
  }

  async read(position: RecordPosition): Promise<R> {
    const handle = await open(join(this.dir, segmentName(position.segment)), "r");
    try {
      const buffer = Buffer.alloc(position.length);
      await handle.read(buffer, 0, position.length, position.offset);
      const parsed = parseLine(buffer.subarray(0, position.length - 1));
      if ("reason" in parsed) throw new Error(`journal record damaged (${parsed.reason})`);
      return parsed.value as R;
    } finally {
      await handle.close();
    }
  }

  /** Reads several records at once, one file read per segment. */
  async readAll(positions: RecordPosition[]): Promise<R[]> {
    const files = new Map<number, Buffer>();
    for (const segment of new Set(positions.map((p) => p.segment))) {
      files.set(segment, await readFile(join(this.dir, segmentName(segment))));
    }
    return positions.map((position) => {
      const data = files.get(position.segment) as Buffer;
      const parsed = parseLine(data.subarray(position.offset, position.offset + position.length - 1));
      if ("reason" in parsed) throw new Error(`journal record damaged (${parsed.reason})`);
      return parsed.value as R;
    });
  }

  async segmentSize(segment: number): Promise<number> {
    const info = await stat(join(this.dir, segmentName(segment))).catch(() => undefined);
    return info?.size ?? 0;
  }

  async deleteSegment(segment: number): Promise<void> {
    if (segment === this.segment) return;
    await unlink(join(this.dir, segmentName(segment))).catch(() => undefined);
    await unlink(join(this.dir, damageName(segment))).catch(() => undefined);
  }

  /**
   * Drops every record, once the caller knows none is live any more: waits for pending writes, then deletes all
   * segments and starts a new one.
   */
  async clear(): Promise<void> {
    await this.flushing;
    await this.handle?.close();
    this.handle = undefined;
    for (const segment of await Journal.segmentsIn(this.dir)) {
      await unlink(join(this.dir, segmentName(segment))).catch(() => undefined);
      await unlink(join(this.dir, damageName(segment))).catch(() => undefined);
    }
    this.segment += 1;
    this.size = 0;
  }

  /** Waits for queued records to reach the disk, then closes the file. */
  async close(): Promise<void> {
    this.closed = true;
    await this.flushing;
    await this.handle?.close();
    this.handle = undefined;
  }

  private async flush(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const batch = this.queue;
        this.queue = [];
        try {
          const handle = await this.activeHandle();
          const positions: RecordPosition[] = [];
          for (const item of batch) {
            positions.push({ segment: this.segment, offset: this.size, length: item.line.length });
            this.size += item.line.length;
          }
          await handle.write(Buffer.concat(batch.map((item) => item.line)));
          await handle.datasync();
          batch.forEach((item, i) => item.resolve(positions[i]));
        } catch (err) {
          // A write that failed (a full disk) may have left part of a line: nothing is written after it, and no
          // offset counts it. The next record starts a fresh segment; this one keeps what was whole.
          await this.handle?.close().catch(() => undefined);
          this.handle = undefined;
          this.segment += 1;
          this.size = 0;
          for (const item of batch) item.reject(err);
        }
        if (this.size >= this.segmentBytes) await this.rotate();
      }
    } finally {
      this.flushing = undefined;
    }
  }

  private async activeHandle(): Promise<FileHandle> {
    this.handle ??= await open(join(this.dir, segmentName(this.segment)), "a");
    return this.handle;
  }

  private async rotate(): Promise<void> {
    const full = this.segment;
    await this.handle?.close();
    this.handle = undefined;
    this.segment += 1;
    this.size = 0;
    this.onRotate(full);
  }
}

function segmentName(segment: number): string {
  return `journal-${String(segment).padStart(8, "0")}.log`;
}

/** Beside a segment: the offsets of its damaged records that were already reported. */
function damageName(segment: number): string {
  return `journal-${String(segment).padStart(8, "0")}.damage.json`;
}

async function knownDamage(dir: string, segment: number): Promise<Set<number>> {
  try {
    const offsets: unknown = JSON.parse(await readFile(join(dir, damageName(segment)), "utf8"));
    return new Set(Array.isArray(offsets) ? offsets.filter((n): n is number => typeof n === "number") : []);
  } catch {
    return new Set();
  }
}

function parseLine(line: Buffer): { value: unknown } | { reason: CorruptRecord["reason"] } {
  const text = line.toString("utf8");
  if (text.length < 10 || text[8] !== " ") return { reason: "torn" };
  const json = text.slice(9);
  if (crc32(json).toString(16).padStart(8, "0") !== text.slice(0, 8)) return { reason: "checksum" };
  try {
    return { value: JSON.parse(json) as unknown };
  } catch {
    return { reason: "json" };
  }
}
