import { readFileSync } from "node:fs";
import { mkdir, open, rename, rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";

/**
 * One file that always holds a whole snapshot: each write goes to a temporary file beside it, is flushed to the disk
 * (fsync) and renamed over the old one, so that a crash or a power cut leaves either the previous snapshot or the new
 * one, never half of each. Writes run one at a time in the order they were asked for.
 */
export class SnapshotFile {
  private queue: Promise<void> = Promise.resolve();

  constructor(readonly path: string) {}

  /** The snapshot's text, or undefined when there is none yet. */
  read(): string | undefined {
    try {
      return readFileSync(this.path, "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw err;
    }
  }

  write(text: string): Promise<void> {
    return this.enqueue(() => this.replace(text));
  }

  /** Deletes the snapshot once the writes asked for before have finished. */
  remove(): Promise<void> {
    return this.enqueue(() => rm(this.path, { force: true }));
  }

  /** Keeps an unreadable snapshot aside for a post-mortem, so that the next write does not destroy it. */
  setAside(suffix: string): Promise<void> {
    return this.enqueue(() => rename(this.path, `${this.path}.${suffix}`));
  }

  /** Resolves when every write asked for so far has finished. */
  settled(): Promise<void> {
    return this.queue;
  }

  private enqueue(task: () => Promise<void>): Promise<void> {
    const run = this.queue.then(task);
    // A failed write must not block the ones after it; the caller of this one still sees its error.
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async replace(text: string): Promise<void> {
    const folder = dirname(this.path);
    await mkdir(folder, { recursive: true });
    const temporary = join(folder, `.${basename(this.path)}.${process.pid}.tmp`);
    const file = await open(temporary, "w");
    try {
      await file.writeFile(text, "utf8");
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(temporary, this.path);
    // The rename itself lives in the folder's entry; without this a power cut may bring the old file back.
    const dir = await open(folder, "r");
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  }
}
