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
  /** The mail's subject: the root's is what later mails of its thread answer (absent in older records). */
  subject?: string;
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
  /** The root's subject, when its record has one. */
  subject?: string;
  /** When the root was queued: the time Outlook's conversation index starts from. */
  startedAt: number;
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
  /** Records of mails on their way to disk, by Message-ID. */
  private readonly writes = new Map<string, Promise<void>>();
  private compacting?: Promise<void>;
  /** Records written since the last compaction: a compaction only pays when they outnumber the live ones. */
  private written = 0;

  private constructor(
    private journal: Journal<ThreadRecord> | undefined,
    private readonly options: Required<Omit<MailThreadsOptions, "onCorrupt">>,
  ) {}

  static async open(dir: string, options: MailThreadsOptions = {}): Promise<MailThreads> {
    const settings = { ...DEFAULTS, now: Date.now, ...options };
    const threads = new MailThreads(undefined, settings);
    let records = 0;
    const journal = await Journal.open<ThreadRecord>(
      dir,
      (record) => {
        records += 1;
        if (isThreadedMail(record)) threads.remember(record);
        else if (isWithdrawal(record)) threads.forget(record.withdrawn);
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
   * Takes a mail's place in its thread before the mail is queued, and gives the thread as it was before it
   * (undefined: this mail is the root). A mail composed just after it then answers it, even while this one is still
   * being written to the outbox; and the store's records keep the order in which places were taken, so the root
   * stays the root after a restart. `record` waits until the place is on disk; `withdraw` gives it back.
   */
  reserve(mail: ThreadedMail): ThreadInfo | undefined {
    const thread = this.threads.get(keyOf(mail.occurrence, mail.group));
    const before = thread && { ...thread, messageIds: [...thread.messageIds], recipients: [...thread.recipients] };
    this.remember(mail);
    if (this.threads.size > this.options.maxThreads) this.forgetOld();
    this.write(mail.messageId, mail);
    return before;
  }

  /**
   * Adds a queued mail to its thread (the first one of an occurrence and group is the root), unless `reserve` did;
   * the promise settles once it is on disk.
   */
  async record(mail: ThreadedMail): Promise<void> {
    if (!this.writes.has(mail.messageId) && !this.byMessage.has(mail.messageId)) this.reserve(mail);
    await this.writes.get(mail.messageId);
  }

  /**
   * A mail whose place was taken but that was not queued leaves its thread (the next one becomes the root if it was
   * the root), on disk too, so that a restart does not bring it back.
   */
  withdraw(messageId: string): void {
    if (!this.forget(messageId)) return;
    this.write(undefined, { withdrawn: messageId });
  }

  private write(messageId: string | undefined, record: ThreadRecord): void {
    const journal = this.journal;
    if (!journal) {
      const closed = Promise.reject(new Error("thread store closed"));
      // Told to whoever records the mail; a mail withdrawn before that must not be an unhandled rejection.
      closed.catch(() => undefined);
      if (messageId) this.writes.set(messageId, closed);
    } else {
      this.written += 1;
      const written = journal.append(record).then(() => undefined);
      if (messageId) {
        this.writes.set(messageId, written);
        void written.then(
          () => this.writes.delete(messageId),
          () => undefined,
        );
      }
      // A failed write is told to whoever records the mail; a withdrawal that fails only leaves it in its thread.
      written.catch(() => undefined);
    }
  }

  private forget(messageId: string): boolean {
    const thread = this.byMessage.get(messageId);
    if (!thread) return false;
    this.byMessage.delete(messageId);
    thread.messageIds = thread.messageIds.filter((id) => id !== messageId);
    if (thread.messageIds.length === 0) {
      this.threads.delete(keyOf(thread.occurrence, thread.group));
    } else if (thread.root === messageId) {
      thread.root = thread.messageIds[0];
      thread.subject = undefined;
    }
    return true;
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
        ...(mail.subject === undefined ? {} : { subject: mail.subject }),
        startedAt: mail.at,
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

/** A mail that took a place in its thread and was then not queued. */
interface Withdrawal {
  withdrawn: string;
}

type ThreadRecord = ThreadedMail | Withdrawal;

function isWithdrawal(value: unknown): value is Withdrawal {
  return typeof (value as Partial<Withdrawal> | null)?.withdrawn === "string";
}

function keyOf(occurrence: string, group: string): string {
  return `${occurrence}\u0000${group}`;
}

/**
 * A thread as records again. The addresses, the subject and the start go with the first mail: which mail went to
 * whom does not matter once the thread is what is asked for.
 */
function mailsOf(thread: ThreadInfo): ThreadedMail[] {
  return thread.messageIds.map((messageId, i) => ({
    messageId,
    occurrence: thread.occurrence,
    block: thread.block,
    alarm: thread.alarm,
    group: thread.group,
    recipients: i === 0 ? thread.recipients : [],
    at: i === 0 ? thread.startedAt : thread.updatedAt,
    ...(i === 0 && thread.subject !== undefined ? { subject: thread.subject } : {}),
  }));
}

function isThreadedMail(value: unknown): value is ThreadedMail {
  if (typeof value !== "object" || value === null) return false;
  const v = value as Record<string, unknown>;
  return (
    ["messageId", "occurrence", "block", "alarm", "group"].every((key) => typeof v[key] === "string") &&
    Array.isArray(v.recipients) &&
    v.recipients.every((r) => typeof r === "string") &&
    typeof v.at === "number" &&
    (v.subject === undefined || typeof v.subject === "string")
  );
}
