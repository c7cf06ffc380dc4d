import { mkdir, open, readdir, readFile, stat, truncate, unlink, writeFile, type FileHandle } from "node:fs/promises";
import { join } from "node:path";
import { writeSync } from "node:fs";
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
  /** How long a written record whose sync was deferred may wait for another sync to ride along with (ms). */
  deferMs?: number;
  /**
   * Each segment is written full of zeros (and synced) before it takes records, which then overwrite the zeros: the
   * sync of a record then flushes data only, and the file system has no size or block change to commit. That commit
   * is what makes a sync wait for every other writer of the disk, so this is for a journal whose appends someone
   * waits on (the outbox). It costs a segment's size of writes up front; the next segment is made while the active
   * one fills, and a segment that never took a record is deleted.
   */
  preallocate?: boolean;
}

export interface AppendOptions {
  /**
   * The record is written at once, but its sync may wait up to `deferMs` for the sync of another write rather than
   * cost one of its own: for records whose loss in a power cut is recoverable (a "sent" record: the mail is sent
   * again). A killed process loses nothing written: the bytes are in the kernel's cache.
   */
  defer?: boolean;
  /** Called once the record is written (in the kernel's cache, safe from a killed process), before it is synced. */
  written?: () => void;
}

interface Pending {
  line: Buffer;
  defer: boolean;
  written?: () => void;
  position?: RecordPosition;
  resolve: (position: RecordPosition) => void;
  reject: (err: unknown) => void;
}

/**
 * Writes the whole of `bytes` at `position` (null: at the end of a file opened for appending), on the event loop. A
 * write only copies the bytes into the kernel's page cache, which takes microseconds: done through libuv's thread
 * pool, like the rest of `fs/promises`, it cost a mail about 0.3 ms of CPU more (a thread woken, its completion polled
 * for, a promise settled) and an event-loop turn before the record counted as written, which is what a delivery slot
 * waits for. The sync, which waits for the disk, stays in the pool. A write waits for the disk only when its page has
 * left the cache (a preallocated segment's zeros were just written, so they are there) or while the file system
 * commits its own journal; records are small and written a batch at a time, so that is one short wait, not one per
 * record.
 */
function writeFully(fd: number, bytes: Buffer, position: number | null): void {
  let done = 0;
  while (done < bytes.length) {
    const wrote = writeSync(fd, bytes, done, bytes.length - done, position === null ? null : position + done);
    // A file that takes no byte would keep this loop, and the whole event loop with it, spinning for ever.
    if (wrote === 0)
      throw Object.assign(new Error("journal write made no progress (0 bytes written)"), { code: "EIO" });
    done += wrote;
  }
}

const SEGMENT = /^journal-(\d{8})\.log$/;
const DEFAULT_DEFER_MS = 20;
/** The zeros of a preallocated segment are written this much at a time. */
const ZERO_CHUNK = 1024 * 1024;
/** A segment larger than this (one that is never meant to rotate) is preallocated this far, and grows beyond it. */
const MAX_PREALLOCATED = 64 * 1024 * 1024;

/**
 * An append-only log of JSON records in numbered segment files, each line `<crc32> <json>\n`.
 *
 * `append` resolves only once the record is on disk (fdatasync). Records that arrive while a write is in progress
 * are written and synced together with the next one (group commit), so a burst costs a few syncs, not one each.
 * Writes go in order and are done on the event loop (`writeFully`); a write does not wait for the sync of the one
 * before: its own sync covers every byte written before it, so a record never waits behind another batch's sync.
 * Records whose sync is deferred (`defer`) are written at once and synced by the next sync, or after `deferMs`.
 * An append that rejects (its write or its sync failed) is never replayed: its segment is cut where the refused
 * records start, which refuses those written after them in it too, and the next record starts a new segment.
 * On open, every record is checked: a torn tail (power cut mid-write) or a damaged line is reported and skipped,
 * never fatal, and the next append starts a fresh segment so that nothing is written after damage. A segment's records
 * end where its trailing zeros start (`preallocate`); records never contain a zero byte (JSON text).
 */
export class Journal<R> {
  private handle?: FileHandle;
  private size = 0;
  private queue: Pending[] = [];
  /** Written records that no sync has covered yet: the next one covers them all (group commit). */
  private unsynced: Pending[] = [];
  private deferTimer?: NodeJS.Timeout;
  /** The deferred records among `unsynced` are owed a sync too: their time is up, or their file closes. */
  private deferDue = false;
  /** The write loop, while it runs. */
  private writing?: Promise<void>;
  /**
   * Where the active segment is to be cut, once a write or a sync failed: the records from there on were refused and
   * must not come back at the next start. The write loop cuts it and goes on in a new segment (`cutSegment`).
   */
  private cutAt?: number;
  /**
   * The latest `clear` under way, and the records appended since it was called: they wait for the new segment
   * (written into the old file, they would be deleted with it, or go through a closed descriptor). The records
   * appended before it are written, then deleted with the rest.
   */
  private clearing?: { waiting: Pending[]; done: Promise<void> };
  /** A sync is under way; there is never more than one, so a burst of records costs a few syncs, not one each. */
  private syncRunning = false;
  /** Settles when the syncs under way (`syncRunning`) are over. */
  private syncs: Promise<void> = Promise.resolve();
  private closed = false;
  /** The bytes of records in each segment, which is less than the file's size when it was preallocated. */
  private readonly recordBytes = new Map<number, number>();
  /** With `preallocate`: the next segment, being filled with zeros before it is needed. */
  private spare?: { segment: number; handle: Promise<FileHandle> };
  /** With `preallocate`: the active segment could not be preallocated (too little room) and grows as it is written. */
  private growing = false;

  private constructor(
    readonly dir: string,
    private segment: number,
    private readonly segmentBytes: number,
    private readonly deferMs: number,
    private readonly preallocate: boolean,
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
    const recordBytes = new Map<number, number>();
    for (const segment of segments) {
      const file = join(dir, segmentName(segment));
      const whole = await readFile(file);
      const data = whole.subarray(0, endOfRecords(whole));
      if (data.length === 0) {
        // Preallocated and never written (a stop or a crash before its first record): nothing to keep.
        await unlink(file).catch(() => undefined);
        await unlink(join(dir, damageName(segment))).catch(() => undefined);
        continue;
      }
      recordBytes.set(segment, data.length);
      // A segment left with its zeros (a crash) takes no more records: they would only hold a segment's worth of
      // disk for each start, until it is compacted.
      if (data.length < whole.length) await truncate(file, data.length).catch(() => undefined);
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
        if ("reason" in parsed) {
          damaged({ file, offset, reason: parsed.reason });
          // A power cut may leave a write's bytes still zeros while a later write, on another page, reached the
          // disk: its record then follows the zeros on the same line, whole, and is not part of the damage.
          const zero = data.subarray(offset, end).lastIndexOf(0);
          const after = zero === -1 ? undefined : parseLine(data.subarray(offset + zero + 1, end));
          if (after && !("reason" in after)) {
            replay(after.value as R, { segment, offset: offset + zero + 1, length: end - offset - zero });
          }
        } else replay(parsed.value as R, { segment, offset, length: end + 1 - offset });
        offset = end + 1;
      }
      if (found.length > 0) {
        await writeFile(join(dir, damageName(segment)), JSON.stringify([...known, ...found])).catch(() => undefined);
      }
    }
    const next = (segments.at(-1) ?? 0) + 1;
    const journal = new Journal<R>(
      dir,
      next,
      options.segmentBytes ?? 4 * 1024 * 1024,
      options.deferMs ?? DEFAULT_DEFER_MS,
      options.preallocate === true,
      onRotate,
    );
    for (const [segment, bytes] of recordBytes) journal.recordBytes.set(segment, bytes);
    // Ready before the first record, so that it does not wait for a segment's worth of zeros.
    if (journal.preallocate) journal.prepareSpare(next);
    return journal;
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

  append(record: R, options: AppendOptions = {}): Promise<RecordPosition> {
    if (this.closed) return Promise.reject(new Error("journal closed"));
    return this.appendJson(JSON.stringify(record), options);
  }

  /**
   * Appends a record that the caller has already serialised (the JSON of an R): a part of it kept as JSON text, such
   * as a msg, is then written as it is rather than parsed and serialised again.
   */
  appendJson(json: string, options: AppendOptions = {}): Promise<RecordPosition> {
    if (this.closed) return Promise.reject(new Error("journal closed"));
    // Encoded once: the checksum and the line are computed from the same bytes.
    const body = Buffer.from(json);
    const line = Buffer.allocUnsafe(body.length + 10);
    line.write(crc32(body).toString(16).padStart(8, "0"), 0, "latin1");
    line[8] = 0x20;
    body.copy(line, 9);
    line[line.length - 1] = 0x0a;
    return new Promise((resolve, reject) => {
      const pending = { line, defer: options.defer === true, written: options.written, resolve, reject };
      if (this.clearing) this.clearing.waiting.push(pending);
      else {
        this.queue.push(pending);
        this.writing ??= this.write();
      }
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

  /** The bytes of records in a segment (a preallocated segment's file is larger). */
  async segmentSize(segment: number): Promise<number> {
    if (segment === this.segment) return this.size;
    const known = this.recordBytes.get(segment);
    if (known !== undefined) return known;
    const info = await stat(join(this.dir, segmentName(segment))).catch(() => undefined);
    return info?.size ?? 0;
  }

  async deleteSegment(segment: number): Promise<void> {
    if (segment === this.segment) return;
    this.recordBytes.delete(segment);
    await unlink(join(this.dir, segmentName(segment))).catch(() => undefined);
    await unlink(join(this.dir, damageName(segment))).catch(() => undefined);
  }

  /**
   * Drops every record, once the caller knows none is live any more: waits for pending writes, then deletes all
   * segments and starts a new one. Records appended before it are dropped, written or still queued; those appended
   * while it runs are kept: they are written in the new segment.
   */
  async clear(): Promise<void> {
    const previous = this.clearing;
    const clearing = { waiting: [] as Pending[], done: Promise.resolve() };
    this.clearing = clearing;
    clearing.done = (async () => {
      try {
        await previous?.done.catch(() => undefined);
        await this.settled();
        await this.handle?.close();
        this.handle = undefined;
        this.cutAt = undefined;
        await this.dropSpare();
        this.recordBytes.clear();
        for (const segment of await Journal.segmentsIn(this.dir)) {
          await unlink(join(this.dir, segmentName(segment))).catch(() => undefined);
          await unlink(join(this.dir, damageName(segment))).catch(() => undefined);
        }
        this.segment += 1;
        this.size = 0;
        if (this.preallocate) this.prepareSpare(this.segment);
      } finally {
        // Released before this clear is done: a later one, which waits for it, then writes them and drops them too.
        if (this.clearing === clearing) this.clearing = undefined;
        this.queue.push(...clearing.waiting);
        if (this.queue.length > 0) this.writing ??= this.write();
      }
    })();
    await clearing.done;
  }

  /** Waits for queued records to reach the disk, then closes the file. */
  async close(): Promise<void> {
    this.closed = true;
    // The records waiting for a clear are written once it is done, and before the file closes.
    while (this.clearing) await this.clearing.done.catch(() => undefined);
    await this.settled();
    await this.trimZeros();
    await this.handle?.close();
    this.handle = undefined;
    await this.dropSpare();
    if (this.preallocate && this.size === 0) {
      await unlink(join(this.dir, segmentName(this.segment))).catch(() => undefined);
    }
  }

  /** Every record appended so far is written and synced (or has failed). */
  private async settled(): Promise<void> {
    while (this.writing || this.syncRunning || this.unsynced.length > 0) {
      await this.writing;
      await this.syncAll();
    }
  }

  private async write(): Promise<void> {
    try {
      while (this.queue.length > 0 || this.cutAt !== undefined) {
        // A sync that failed refused the rest of this segment: it is cut, and the next batch goes to a new one.
        if (this.cutAt !== undefined) {
          await this.cutSegment();
          continue;
        }
        const batch = this.queue;
        this.queue = [];
        /** Where the batch starts in the segment: the bytes of whole records before it. */
        let offset: number | undefined;
        try {
          const handle = await this.activeHandle();
          offset = this.size;
          for (const item of batch) {
            item.position = { segment: this.segment, offset: this.size, length: item.line.length };
            this.size += item.line.length;
          }
          writeFully(handle.fd, Buffer.concat(batch.map((item) => item.line)), this.preallocate ? offset : null);
          // Not beside a growing segment: the next one's zeros would fill the little room its records write into.
          if (this.preallocate && !this.spare && !this.growing && this.size >= this.segmentBytes / 2) {
            this.prepareSpare(this.segment + 1);
          }
          for (const item of batch) item.written?.();
          this.unsynced.push(...batch);
          this.requestSync(false);
        } catch (err) {
          // A write that failed (a full disk) may have left part of the batch: whole records of it too, which its
          // callers are told failed and which must not come back at the next start (a mail sent that the flow was
          // told was refused), and part of a line. The segment is cut where the batch started.
          const whole = offset ?? this.size;
          this.cutAt = Math.min(this.cutAt ?? whole, whole);
          await this.cutSegment();
          for (const item of batch) item.reject(err);
        }
        if (this.size >= this.segmentBytes) {
          // The full segment's records are all synced before its file closes.
          await this.syncAll();
          // A sync that failed there leaves the segment to be cut, at the loop's next turn.
          if (this.cutAt === undefined) await this.rotate();
        }
      }
    } finally {
      this.writing = undefined;
    }
  }

  /**
   * Starts a sync of every written record if one is owed (a record that is not deferred, or `deferredToo`) and none is
   * under way; one under way runs again for what was written meanwhile. Deferred records alone wait `deferMs` for
   * another record's sync to ride along with.
   */
  private requestSync(deferredToo: boolean): void {
    if (deferredToo) this.deferDue = true;
    if (this.syncRunning || !this.syncOwed()) {
      if (!this.syncRunning && this.unsynced.length > 0) {
        this.deferTimer ??= setTimeout(() => this.requestSync(true), this.deferMs);
      }
      return;
    }
    clearTimeout(this.deferTimer);
    this.deferTimer = undefined;
    this.syncRunning = true;
    this.syncs = this.syncLoop();
  }

  private syncOwed(): boolean {
    return this.unsynced.length > 0 && (this.deferDue || this.unsynced.some((item) => !item.defer));
  }

  /** Syncs until nothing owed is left. The records of a sync are those written before it started, in this file. */
  private async syncLoop(): Promise<void> {
    while (this.syncOwed()) {
      const items = this.unsynced;
      this.unsynced = [];
      this.deferDue = false;
      const handle = this.handle;
      try {
        if (!handle) throw new Error("journal file closed before its records were synced");
        await handle.datasync();
        for (const item of items) item.resolve(item.position as RecordPosition);
      } catch (err) {
        for (const item of items) item.reject(err);
        // Whether the bytes of a failed sync reached the disk is unknown, and they stay in the file (the kernel's
        // cache): refused records that would come back at the next start. The segment is cut where they start,
        // which refuses the records written after them too, and the next record goes to a new segment.
        const from = items[0]?.position?.offset;
        if (handle && handle === this.handle && from !== undefined) {
          this.cutAt = Math.min(this.cutAt ?? from, from);
          for (const item of this.unsynced) item.reject(err);
          this.unsynced = [];
          // At once, rather than at the next record: until then a restart would replay them.
          this.writing ??= this.write();
        }
      }
    }
    // Set on the same turn as the last check: a record written from now on starts a sync of its own.
    this.syncRunning = false;
    this.requestSync(false);
  }

  /** Every written record synced (or failed), deferred ones too: before the file closes. */
  private async syncAll(): Promise<void> {
    while (this.syncRunning || this.unsynced.length > 0) {
      this.requestSync(true);
      await this.syncs;
    }
  }

  private async activeHandle(): Promise<FileHandle> {
    if (this.handle) return this.handle;
    if (!this.preallocate) {
      this.handle = await open(join(this.dir, segmentName(this.segment)), "a");
    } else {
      if (this.spare?.segment !== this.segment) {
        await this.dropSpare();
        this.prepareSpare(this.segment);
      }
      const spare = this.spare as { handle: Promise<FileHandle> };
      this.spare = undefined;
      this.growing = false;
      this.handle = await spare.handle.catch(() => {
        // Less room than a segment's zeros (a nearly full disk) while records still fit: this segment grows as it is
        // written, as without preallocation, rather than every record being refused until a segment's worth is free.
        // A disk with no room at all refuses the record's write instead.
        this.growing = true;
        return open(join(this.dir, segmentName(this.segment)), "wx");
      });
    }
    return this.handle;
  }

  /** Starts filling `segment` with zeros; its file is created new, never over an existing one. */
  private prepareSpare(segment: number): void {
    const handle = (async () => {
      const path = join(this.dir, segmentName(segment));
      const file = await open(path, "wx+");
      try {
        const size = Math.min(this.segmentBytes, MAX_PREALLOCATED);
        const zeros = Buffer.alloc(Math.min(ZERO_CHUNK, size));
        for (let at = 0; at < size; at += zeros.length) {
          await file.write(zeros, 0, Math.min(zeros.length, size - at), at);
        }
        // A full sync: the size and the blocks are committed now, not by the first record's sync.
        await file.sync();
        return file;
      } catch (err) {
        // A full disk, say: no half-made segment is left behind, for each later attempt to add one more.
        await file.close().catch(() => undefined);
        await unlink(path).catch(() => undefined);
        throw err;
      }
    })();
    // A failure is the first write's to report (a full disk, say); until then it must not be an unhandled rejection.
    handle.catch(() => undefined);
    this.spare = { segment, handle };
  }

  /** Closes and deletes a spare segment that will not be used. */
  private async dropSpare(): Promise<void> {
    const spare = this.spare;
    this.spare = undefined;
    if (!spare) return;
    const handle = await spare.handle.catch(() => undefined);
    await handle?.close().catch(() => undefined);
    await unlink(join(this.dir, segmentName(spare.segment))).catch(() => undefined);
  }

  /**
   * The active segment's file cut to its records, once no more will be written to it: the next start writes in a new
   * segment, and the zeros left would hold a segment's worth of disk for every start (each deploy) until compacted.
   * A failure only leaves the zeros, which the next open cuts.
   */
  private async trimZeros(): Promise<void> {
    if (this.preallocate && this.size > 0) await this.handle?.truncate(this.size).catch(() => undefined);
  }

  /**
   * Cuts the active segment at `cutAt` and closes it; the next record starts a new segment. The records before the cut
   * are synced before the file closes (a sync of the next file would not cover them); a sync that fails meanwhile cuts
   * further back. A truncate frees room, so it works on a full disk; should it fail, the next open reports a part line
   * as torn (and replays whole refused records).
   */
  private async cutSegment(): Promise<void> {
    let cut = this.size;
    do {
      cut = Math.min(cut, this.cutAt ?? cut);
      await this.handle?.truncate(cut).catch(() => undefined);
      await this.syncAll();
    } while (this.cutAt !== undefined && this.cutAt < cut);
    await this.handle?.close().catch(() => undefined);
    this.handle = undefined;
    // A segment without one whole record is of no use, and each later attempt would leave one more.
    if (cut === 0) await unlink(join(this.dir, segmentName(this.segment))).catch(() => undefined);
    else this.recordBytes.set(this.segment, cut);
    this.cutAt = undefined;
    this.segment += 1;
    this.size = 0;
  }

  private async rotate(): Promise<void> {
    const full = this.segment;
    await this.trimZeros();
    await this.handle?.close();
    this.handle = undefined;
    this.recordBytes.set(full, this.size);
    this.segment += 1;
    this.size = 0;
    this.onRotate(full);
  }
}

/** Where a segment's records end: before its trailing zeros, if it was preallocated. */
function endOfRecords(data: Buffer): number {
  const page = 4096;
  const zeros = Buffer.alloc(page);
  let end = data.length;
  while (end >= page && data.subarray(end - page, end).equals(zeros)) end -= page;
  while (end > 0 && data[end - 1] === 0) end -= 1;
  return end;
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
  if (line.length < 10 || line[8] !== 0x20) return { reason: "torn" };
  // The checksum is over the bytes as written, so the line is decoded once, for the parse.
  const body = line.subarray(9);
  if (crc32(body).toString(16).padStart(8, "0") !== line.toString("latin1", 0, 8)) return { reason: "checksum" };
  try {
    return { value: JSON.parse(body.toString("utf8")) as unknown };
  } catch {
    return { reason: "json" };
  }
}
