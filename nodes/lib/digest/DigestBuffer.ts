import { randomUUID } from "node:crypto";
import { Journal } from "../common/Journal";

/** One msg waiting in a digest window, as stored (JSON). */
export interface DigestItem {
  id: string;
  at: number;
  msg: unknown;
}

type DigestRecord = { t: "i"; item: DigestItem } | { t: "c"; ids: string[] };

/**
 * The msgs collected during a digest window, on disk before the send node accepts them, so that a crash inside
 * the window loses no event: after a restart the window resumes with what it held.
 */
export class DigestBuffer {
  private readonly items = new Map<string, DigestItem>();
  /** Msgs whose record is being written: not in `items` yet, and a clear would delete their record. */
  private adding = 0;
  private journal!: Journal<DigestRecord>;

  static async open(dir: string, onCorrupt: (file: string, offset: number) => void): Promise<DigestBuffer> {
    const buffer = new DigestBuffer();
    buffer.journal = await Journal.open<DigestRecord>(
      dir,
      (record) => {
        if (record.t === "i") buffer.items.set(record.item.id, record.item);
        else for (const id of record.ids) buffer.items.delete(id);
      },
      (corrupt) => onCorrupt(corrupt.file, corrupt.offset),
      () => undefined,
    );
    if (buffer.items.size === 0) await buffer.journal.clear();
    return buffer;
  }

  /** When the current window opened: its first msg's time, or undefined when nothing waits. */
  get openedAt(): number | undefined {
    let first: number | undefined;
    for (const item of this.items.values()) first = first === undefined ? item.at : Math.min(first, item.at);
    return first;
  }

  get size(): number {
    return this.items.size;
  }

  async add(msg: unknown, at: number): Promise<DigestItem> {
    const item = { id: randomUUID(), at, msg };
    this.adding += 1;
    try {
      await this.journal.append({ t: "i", item });
    } finally {
      this.adding -= 1;
    }
    this.items.set(item.id, item);
    return item;
  }

  /** Everything collected, oldest first. */
  contents(): DigestItem[] {
    return [...this.items.values()].sort((a, b) => a.at - b.at);
  }

  /** Forgets items once their digest mail is safely in the outbox. */
  async remove(ids: string[]): Promise<void> {
    for (const id of ids) this.items.delete(id);
    if (this.items.size === 0 && this.adding === 0) await this.journal.clear();
    else await this.journal.append({ t: "c", ids });
  }

  async close(): Promise<void> {
    await this.journal.close();
  }
}
