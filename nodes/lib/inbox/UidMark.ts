import { SnapshotFile } from "../common/SnapshotFile";

/**
 * How far an inbox has read its mailbox: the last UID it took, valid while the mailbox keeps its UIDVALIDITY and the
 * inbox reads the same account and folder (`account`). Kept on disk after each mail, so that a restart takes what came
 * while Node-RED was down and nothing twice.
 */
export interface UidPosition {
  account: string;
  uidValidity: string;
  lastUid: number;
}

export class UidMark {
  private readonly file: SnapshotFile;

  constructor(path: string) {
    this.file = new SnapshotFile(path);
  }

  /**
   * Where reading resumes for `account` and `uidValidity`: the last UID taken, or undefined when nothing was read
   * there yet (first start, another account or folder, or a mailbox that was rebuilt and renumbered). A damaged file
   * counts as none: the block refuses a second ack of the same occurrence, so reading again is safe.
   */
  resume(account: string, uidValidity: string): number | undefined {
    let raw: string | undefined;
    try {
      raw = this.file.read();
    } catch {
      return undefined;
    }
    if (raw === undefined) return undefined;
    try {
      const stored = JSON.parse(raw) as Partial<UidPosition>;
      if (stored.account !== account || stored.uidValidity !== uidValidity) return undefined;
      return typeof stored.lastUid === "number" && Number.isInteger(stored.lastUid) && stored.lastUid >= 0
        ? stored.lastUid
        : undefined;
    } catch {
      return undefined;
    }
  }

  save(position: UidPosition): Promise<void> {
    return this.file.write(JSON.stringify(position));
  }

  remove(): Promise<void> {
    return this.file.remove();
  }

  settled(): Promise<void> {
    return this.file.settled();
  }
}
