import type { SnapshotFile } from "./SnapshotFile";

export type SnapshotFault = "snapshot-unreadable" | "snapshot-unwritable";

/** How the owner of a state file tells its user that the file failed, and that it works again. */
export interface SnapshotReport {
  fault(fault: SnapshotFault, reason: string): void;
  mended(): void;
}

/**
 * A node's state on its `SnapshotFile`, with the faults a person must know of. A file that cannot be decoded is set
 * aside as `.corrupt-<time>` (kept for a post-mortem, and not overwritten by the next write) and the node starts
 * clean. After a read or a write failed the state stays faulty until a write works, so that the red status saying
 * that a restart would lose the state stays as long as that is true; the node keeps working in memory meanwhile.
 */
export class SnapshotState {
  private faultyNow = false;

  constructor(
    readonly file: SnapshotFile,
    private readonly report: SnapshotReport,
    private readonly now: () => number = Date.now,
  ) {}

  /** A read or a write failed, and no write has worked since. */
  get faulty(): boolean {
    return this.faultyNow;
  }

  /** The state as `decode` makes it of the file, or undefined when there is none or it could not be read. */
  load<T>(decode: (text: string) => T): T | undefined {
    let text: string | undefined;
    try {
      text = this.file.read();
    } catch (err) {
      this.fault("snapshot-unreadable", err);
      return undefined;
    }
    if (text === undefined) return undefined;
    try {
      return decode(text);
    } catch (err) {
      this.fault("snapshot-unreadable", err);
      this.file
        .setAside(`corrupt-${this.now()}`)
        .catch((moveErr: unknown) => this.fault("snapshot-unreadable", moveErr));
      return undefined;
    }
  }

  /**
   * Writes the text `encode` makes, taken at once (so it is the state of this moment); false when the disk refused it,
   * which is then reported. A write that works after a fault mends it.
   */
  async write(encode: () => string): Promise<boolean> {
    try {
      await this.file.write(encode());
    } catch (err) {
      this.fault("snapshot-unwritable", err);
      return false;
    }
    if (this.faultyNow) {
      this.faultyNow = false;
      this.report.mended();
    }
    return true;
  }

  /** A fault of the file met elsewhere (removing it, a close that could not finish). */
  fault(fault: SnapshotFault, err: unknown): void {
    this.faultyNow = true;
    this.report.fault(fault, err instanceof Error ? err.message : String(err));
  }
}
