import { Journal, type CorruptRecord } from "../common/Journal";

/** One queued mail about an alarm occurrence, as the thread store keeps it. */
export interface ThreadedMail {
  messageId: string;
  /** `msg.alarm.occurrence`: the block node's id, the alarm's id and the trigger time. */
  occurrence: string;
  /** The block node that raised the alarm, and the alarm's id in it: where an acknowledgement goes back to. */
  block: string;
  alarm: string;
  /** Who the mail went to as a thread: the recipient group's node id (or what stands for the msg's own addresses). */
  group: string;
  /** The addresses the mail went to (To, Cc and Bcc). */
  recipients: string[];
  at: number;
}

/** The mails of one occurrence to one group: one conversation in the recipients' mail clients. */
export interface ThreadInfo {
  occurrence: string;
  block: string;
  alarm: string;
  group: string;
  /** The Message-ID of the thread's first mail: what every later mail answers. */
  root: string;
  /** Every Message-ID of the thread, oldest first. */
  messageIds: string[];
  /** Every address a mail of the thread went to, in lower case. */
  recipients: string[];
  updatedAt: number;
}

export interface MailThreadsOptions {
  /** A thread with no mail for this long is forgotten: replies to it are then unknown. */
  retentionMs?: number;
  /** At most this many threads are kept; the least recently used go first. */
  maxThreads?: number;
  /** Told about a damaged record, which is skipped. */
  onCorrupt?: (corrupt: CorruptRecord) => void;
  now?: () => number;
}

const DAY_MS = 24 * 60 * 60 * 1000;
const DEFAULTS = { retentionMs: 35 * DAY_MS, maxThreads: 20_000 };

/**
 * The gateway's alarm mail threads: for each occurrence and recipient group, the Message-IDs of its mails and who
 * they went to. The send node asks it for the root to answer (In-Reply-To, References); the inbox asks which
 * occurrence a reply answers and whether its sender was told. Kept in a journal, so that threads continue after a
 * restart; compacted when a segment fills and at open, dropping threads past their retention.
 */
export class MailThreads {
  private readonly threads = new Map<string, ThreadInfo>();
  private readonly byMessage = new Map<string, ThreadInfo>();
  private compacting?: Promise<void>;
  /** Records written since the last compaction: a compaction only pays when they outnumber the live ones. */
  private written = 0;

  private constructor(
    private journal: Journal<ThreadedMail> | undefined,
    private readonly options: Required<Omit<MailThreadsOptions, "onCorrupt">>,
  ) {}

  static async open(dir: string, options: MailThreadsOptions = {}): Promise<MailThreads> {
    const settings = { ...DEFAULTS, now: Date.now, ...options };
    const threads = new MailThreads(undefined, settings);
    let records = 0;
    const journal = await Journal.open<ThreadedMail>(
      dir,
      (mail) => {
        records += 1;
        if (isThreadedMail(mail)) threads.remember(mail);
      },
      (corrupt) => options.onCorrupt?.(corrupt),
      () => threads.compactSoon(),
      { segmentBytes: 1024 * 1024 },
    );
    threads.journal = journal;
    threads.forgetOld();
    if (records > threads.mails()) await threads.compact();
    return threads;
  }

  /** The thread of an occurrence to a group, if a mail of it was queued. */
  thread(occurrence: string, group: string): ThreadInfo | undefined {
    return this.threads.get(keyOf(occurrence, group));
  }

  /** The thread a Message-ID belongs to: what a reply's In-Reply-To or References names. */
  find(messageId: string): ThreadInfo | undefined {
    return this.byMessage.get(messageId);
  }

  /**
   * Adds a queued mail to its thread (the first one of an occurrence and group is the root). The thread shows it at
   * once, so that the next mail of the burst answers it; the promise settles once it is on disk.
   */
  async record(mail: ThreadedMail): Promise<void> {
    const journal = this.journal;
    if (!journal) throw new Error("thread store closed");
    this.remember(mail);
    if (this.threads.size > this.options.maxThreads) this.forgetOld();
    this.written += 1;
    await journal.append(mail);
  }

  async close(): Promise<void> {
    await this.compacting;
    const journal = this.journal;
    this.journal = undefined;
    await journal?.close();
  }

  private remember(mail: ThreadedMail): void {
    const key = keyOf(mail.occurrence, mail.group);
    let thread = this.threads.get(key);
    if (!thread) {
      thread = {
        occurrence: mail.occurrence,
        block: mail.block,
        alarm: mail.alarm,
        group: mail.group,
        root: mail.messageId,
        messageIds: [],
        recipients: [],
        updatedAt: mail.at,
      };
    }
    // Most recently used last: the Map's order is what forgetOld drops from.
    this.threads.delete(key);
    this.threads.set(key, thread);
    if (!thread.messageIds.includes(mail.messageId)) thread.messageIds.push(mail.messageId);
    for (const address of mail.recipients) {
      const lower = address.toLowerCase();
      if (!thread.recipients.includes(lower)) thread.recipients.push(lower);
    }
    thread.updatedAt = Math.max(thread.updatedAt, mail.at);
    this.byMessage.set(mail.messageId, thread);
  }

  /** Drops threads past their retention, and the least recently used beyond the bound. */
  private forgetOld(): void {
    const oldest = this.options.now() - this.options.retentionMs;
    for (const [key, thread] of this.threads) {
      if (thread.updatedAt >= oldest && this.threads.size <= this.options.maxThreads) continue;
      this.threads.delete(key);
      for (const id of thread.messageIds) this.byMessage.delete(id);
    }
  }

  private mails(): number {
    return this.byMessage.size;
  }

  private compactSoon(): void {
    if (this.written <= this.mails()) return;
    this.compacting ??= this.compact().finally(() => {
      this.compacting = undefined;
    });
  }

  /** Writes the live threads into the active segment, then drops the older segments. */
  private async compact(): Promise<void> {
    const journal = this.journal;
    if (!journal) return;
    this.forgetOld();
    this.written = 0;
    const older = (await Journal.segmentsIn(journal.dir)).filter((s) => s < journal.activeSegment);
    const writes: Promise<unknown>[] = [];
    for (const thread of this.threads.values()) {
      for (const mail of mailsOf(thread)) writes.push(journal.append(mail, { defer: true }));
    }
    await Promise.all(writes);
    for (const segment of older) await journal.deleteSegment(segment);
  }
}

function keyOf(occurrence: string, group: string): string {
  return `${occurrence}\u0000${group}`;
}

/**
 * A thread as records again. The addresses go with the first mail: which mail went to whom does not matter once
 * the thread is what is asked for.
 */
function mailsOf(thread: ThreadInfo): ThreadedMail[] {
  return thread.messageIds.map((messageId, i) => ({
    messageId,
    occurrence: thread.occurrence,
    block: thread.block,
    alarm: thread.alarm,
    group: thread.group,
    recipients: i === 0 ? thread.recipients : [],
    at: thread.updatedAt,
  }));
}

function isThreadedMail(value: unknown): value is ThreadedMail {
  if (typeof value !== "object" || value === null) return false;
  const v = value as Record<string, unknown>;
  return (
    ["messageId", "occurrence", "block", "alarm", "group"].every((key) => typeof v[key] === "string") &&
    Array.isArray(v.recipients) &&
    v.recipients.every((r) => typeof r === "string") &&
    typeof v.at === "number"
  );
}
