import { Journal, type CorruptRecord, type RecordPosition } from "./Journal";
import type { MailAttachment, OutgoingMail } from "./MailComposer";
import { formatAddress } from "./AddressList";

/** What the sent log shows of a mail: enough to recognise it, nothing of its body. */
export interface MailSummary {
  to: string[];
  subject: string;
}

export interface DeliveryError {
  code: string;
  message: string;
}

export type QueuedStatus = "queued" | "failed";

/** A mail waiting in the outbox (or failed and kept for a resend). Its content stays on disk. */
export interface OutboxEntry {
  id: string;
  /** Lower goes first: the alarm priority (1 to 4), or the mail priority when there is no alarm. */
  rank: number;
  createdAt: number;
  sendNode?: string;
  summary: MailSummary;
  status: QueuedStatus;
  /** When it entered the queue, or re-entered it through a resend: the maximum age counts from here. */
  queuedAt: number;
  attempts: number;
  nextAt: number;
  lastError?: DeliveryError;
  failedAt?: number;
}

export interface SentEntry {
  id: string;
  sendNode?: string;
  createdAt: number;
  sentAt: number;
  attempts: number;
  summary: MailSummary;
  accepted: string[];
  rejected: string[];
  response: string;
  route: string;
}

export interface StoredMail {
  mail: OutgoingMail;
  /** The msg that asked for the mail, as JSON, for output 1 or 2 after a restart. */
  msg?: unknown;
}

interface StoredAttachment extends Omit<MailAttachment, "content"> {
  content: string;
}
type SerialMail = Omit<OutgoingMail, "date" | "attachments"> & { date: string; attachments: StoredAttachment[] };

interface EntryState {
  status: QueuedStatus;
  queuedAt: number;
  attempts: number;
  nextAt: number;
  lastError?: DeliveryError;
  failedAt?: number;
}

type OutboxRecord =
  | {
      t: "q";
      seq: number;
      id: string;
      rank: number;
      createdAt: number;
      sendNode?: string;
      summary: MailSummary;
      mail: SerialMail;
      msg?: unknown;
      state?: EntryState;
    }
  | { t: "a"; seq: number; id: string; attempts: number; nextAt: number; lastError: DeliveryError }
  | ({ t: "s"; seq: number } & SentEntry)
  | { t: "f"; seq: number; id: string; at: number; attempts: number; error: DeliveryError }
  | { t: "r"; seq: number; id: string; at: number }
  | { t: "p"; seq: number; id: string };

interface Live<T> {
  value: T;
  seq: number;
  position: RecordPosition;
}

export interface OutboxOptions {
  segmentBytes?: number;
  /** How many delivered mails the sent log remembers. */
  keepSent?: number;
  /** How many failed mails keep their content for a resend; older ones are purged. */
  keepFailed?: number;
  onCorrupt?: (corrupt: CorruptRecord) => void;
  now?: () => number;
}

const DEFAULT_SEGMENT_BYTES = 4 * 1024 * 1024;

const queuedState = (queuedAt: number): EntryState => ({ status: "queued", queuedAt, attempts: 0, nextAt: 0 });

/**
 * The durable queue of one SMTP server: every mail is on disk before `enqueue` resolves, and every change of its
 * state (a failed attempt, delivered, failed for good, resent, purged) is a record in the same journal. Replaying the
 * journal after a crash gives back the queue as it was, with the same Message-IDs.
 *
 * It compacts itself when a journal segment fills: what is still live (queued and failed mails, the recent sent log)
 * is copied forward and the old segments are deleted, so the folder stays about the size of what is queued.
 */
export class Outbox {
  private readonly queued = new Map<string, Live<OutboxEntry>>();
  private readonly sent = new Map<string, Live<SentEntry>>();
  private seq = 0;
  private journal!: Journal<OutboxRecord>;
  private compacting?: Promise<void>;
  private readonly keepSent: number;
  private readonly keepFailed: number;
  private readonly now: () => number;

  private constructor(options: OutboxOptions) {
    this.keepSent = options.keepSent ?? 500;
    this.keepFailed = options.keepFailed ?? 200;
    this.now = options.now ?? Date.now;
  }

  static async open(dir: string, options: OutboxOptions = {}): Promise<Outbox> {
    const outbox = new Outbox(options);
    const folded = new Map<string, { seq: number; record: OutboxRecord; state: EntryState | "sent" | "purged" }>();
    const content = new Map<string, { record: Extract<OutboxRecord, { t: "q" }>; position: RecordPosition }>();
    const sentAt = new Map<string, { record: Extract<OutboxRecord, { t: "s" }>; position: RecordPosition }>();
    outbox.journal = await Journal.open<OutboxRecord>(
      dir,
      (record, position) => {
        outbox.seq = Math.max(outbox.seq, record.seq);
        const current = folded.get(record.id);
        if (record.t === "q") content.set(record.id, { record, position });
        if (record.t === "s") sentAt.set(record.id, { record, position });
        if (current && current.seq >= record.seq) return;
        folded.set(record.id, { seq: record.seq, record, state: foldState(current?.state, record) });
      },
      (corrupt) => options.onCorrupt?.(corrupt),
      () => void outbox.compact(),
      { segmentBytes: options.segmentBytes ?? DEFAULT_SEGMENT_BYTES },
    );
    for (const [id, { seq, state }] of folded) {
      if (state === "purged") continue;
      if (state === "sent") {
        const sent = sentAt.get(id);
        if (sent) outbox.sent.set(id, { value: sentEntry(sent.record), seq, position: sent.position });
        continue;
      }
      const stored = content.get(id);
      if (!stored) continue;
      const { record } = stored;
      outbox.queued.set(id, {
        value: {
          id,
          rank: record.rank,
          createdAt: record.createdAt,
          ...(record.sendNode ? { sendNode: record.sendNode } : {}),
          summary: record.summary,
          ...state,
        },
        seq,
        position: stored.position,
      });
    }
    outbox.trimSentLog();
    // Every start opens a new segment; fold the old ones once they add up, not at every start.
    const old = await Journal.segmentsIn(dir);
    const oldBytes = await Promise.all(old.map((segment) => outbox.journal.segmentSize(segment)));
    if (old.length > 4 || oldBytes.reduce((a, b) => a + b, 0) > (options.segmentBytes ?? DEFAULT_SEGMENT_BYTES)) {
      await outbox.compact();
    }
    return outbox;
  }

  /** Resolves once the mail is on disk: from then on a crash delays it but cannot lose it. */
  async enqueue(mail: OutgoingMail, meta: { rank: number; sendNode?: string; msg?: unknown }): Promise<OutboxEntry> {
    const entry: OutboxEntry = {
      id: mail.messageId,
      rank: meta.rank,
      createdAt: this.now(),
      ...(meta.sendNode ? { sendNode: meta.sendNode } : {}),
      summary: { to: [...mail.to, ...mail.cc, ...mail.bcc].map(formatAddress), subject: mail.subject },
      ...queuedState(this.now()),
    };
    const seq = ++this.seq;
    const position = await this.journal.append({
      t: "q",
      seq,
      id: entry.id,
      rank: entry.rank,
      createdAt: entry.createdAt,
      ...(entry.sendNode ? { sendNode: entry.sendNode } : {}),
      summary: entry.summary,
      mail: serialise(mail),
      ...(meta.msg === undefined ? {} : { msg: meta.msg }),
    });
    this.queued.set(entry.id, { value: entry, seq, position });
    return entry;
  }

  /** The queued mails in delivery order: rank, then age. */
  pending(): OutboxEntry[] {
    return [...this.queued.values()]
      .map((live) => live.value)
      .filter((entry) => entry.status === "queued")
      .sort((a, b) => a.rank - b.rank || a.createdAt - b.createdAt);
  }

  failed(): OutboxEntry[] {
    return [...this.queued.values()].map((l) => l.value).filter((e) => e.status === "failed");
  }

  sentLog(): SentEntry[] {
    return [...this.sent.values()].map((live) => live.value).sort((a, b) => b.sentAt - a.sentAt);
  }

  get(id: string): OutboxEntry | undefined {
    return this.queued.get(id)?.value;
  }

  async load(id: string): Promise<StoredMail> {
    const live = this.queued.get(id);
    if (!live) throw new Error(`no queued mail ${id}`);
    const record = await this.journal.read(live.position);
    if (record.t !== "q") throw new Error(`journal record of ${id} is not a mail`);
    return { mail: deserialise(record.mail), ...(record.msg === undefined ? {} : { msg: record.msg }) };
  }

  async retryLater(id: string, attempts: number, nextAt: number, lastError: DeliveryError): Promise<void> {
    const live = this.queued.get(id);
    if (!live) return;
    const seq = ++this.seq;
    live.seq = seq;
    live.value = { ...live.value, attempts, nextAt, lastError };
    await this.journal.append({ t: "a", seq, id, attempts, nextAt, lastError });
  }

  async markSent(
    id: string,
    attempts: number,
    receipt: Omit<SentEntry, "id" | "sendNode" | "createdAt" | "sentAt" | "attempts" | "summary">,
  ): Promise<SentEntry | undefined> {
    const live = this.queued.get(id);
    if (!live) return undefined;
    const entry: SentEntry = {
      id,
      ...(live.value.sendNode ? { sendNode: live.value.sendNode } : {}),
      createdAt: live.value.createdAt,
      sentAt: this.now(),
      attempts,
      summary: live.value.summary,
      ...receipt,
    };
    const seq = ++this.seq;
    this.queued.delete(id);
    const position = await this.journal.append({ t: "s", seq, ...entry });
    this.sent.set(id, { value: entry, seq, position });
    this.trimSentLog();
    return entry;
  }

  async markFailed(id: string, attempts: number, error: DeliveryError): Promise<OutboxEntry | undefined> {
    const live = this.queued.get(id);
    if (!live) return undefined;
    const seq = ++this.seq;
    const at = this.now();
    live.seq = seq;
    live.value = { ...live.value, status: "failed", attempts, lastError: error, failedAt: at };
    await this.journal.append({ t: "f", seq, id, at, attempts, error });
    await this.trimFailed();
    return live.value;
  }

  /** Puts a failed mail back in the queue, attempts counted afresh. */
  async resend(id: string): Promise<boolean> {
    const live = this.queued.get(id);
    if (!live || live.value.status !== "failed") return false;
    const seq = ++this.seq;
    live.seq = seq;
    live.value = { ...live.value, ...queuedState(this.now()) };
    await this.journal.append({ t: "r", seq, id, at: live.value.queuedAt });
    return true;
  }

  /** Drops failed mails and the sent log; with `ids`, only those. Queued mails are never purged. */
  async purge(ids?: string[]): Promise<number> {
    const targets = ids ?? [...this.failed().map((e) => e.id), ...this.sent.keys()];
    let count = 0;
    for (const id of targets) {
      const failed = this.queued.get(id);
      if ((failed && failed.value.status === "failed") || this.sent.has(id)) {
        this.queued.delete(id);
        this.sent.delete(id);
        await this.journal.append({ t: "p", seq: ++this.seq, id });
        count += 1;
      }
    }
    return count;
  }

  async close(): Promise<void> {
    await this.compacting;
    await this.journal.close();
  }

  /**
   * Copies what is live in older segments into the active one, then deletes those segments. A copy keeps the seq
   * of the state it copies, so any later change (a later seq) still wins when the journal is replayed.
   */
  private compact(): Promise<void> {
    this.compacting ??= (async () => {
      try {
        const old = await this.segmentsToCompact();
        for (const [id, live] of [...this.queued]) {
          if (!old.has(live.position.segment)) continue;
          const record = await this.journal.read(live.position);
          if (record.t !== "q" || this.queued.get(id) !== live) continue;
          const { status, queuedAt, attempts, nextAt, lastError, failedAt } = live.value;
          const copy: OutboxRecord = {
            ...record,
            seq: live.seq,
            state: { status, queuedAt, attempts, nextAt, lastError, failedAt },
          };
          live.position = await this.journal.append(copy);
        }
        for (const [, live] of [...this.sent]) {
          if (!old.has(live.position.segment)) continue;
          live.position = await this.journal.append({ t: "s", seq: live.seq, ...live.value });
        }
        for (const segment of old) await this.journal.deleteSegment(segment);
      } finally {
        this.compacting = undefined;
      }
    })();
    return this.compacting;
  }

  /**
   * Every segment before the active one. Compaction takes them all: keeping an old segment while dropping the
   * record that finished one of its mails would bring that mail back to life on the next replay.
   */
  private async segmentsToCompact(): Promise<Set<number>> {
    const active = this.journal.activeSegment;
    return new Set((await Journal.segmentsIn(this.journal.dir)).filter((segment) => segment < active));
  }

  private trimSentLog(): void {
    const excess = this.sent.size - this.keepSent;
    if (excess <= 0) return;
    for (const entry of this.sentLog().slice(-excess)) this.sent.delete(entry.id);
  }

  private async trimFailed(): Promise<void> {
    const failed = this.failed().sort((a, b) => (a.failedAt ?? 0) - (b.failedAt ?? 0));
    const excess = failed.length - this.keepFailed;
    if (excess > 0) await this.purge(failed.slice(0, excess).map((e) => e.id));
  }
}

function foldState(
  current: EntryState | "sent" | "purged" | undefined,
  record: OutboxRecord,
): EntryState | "sent" | "purged" {
  const base = typeof current === "object" ? current : queuedState(0);
  switch (record.t) {
    case "q":
      return record.state ?? queuedState(record.createdAt);
    case "a":
      return { ...base, attempts: record.attempts, nextAt: record.nextAt, lastError: record.lastError };
    case "f":
      return { ...base, status: "failed", attempts: record.attempts, lastError: record.error, failedAt: record.at };
    case "r":
      return queuedState(record.at);
    case "s":
      return "sent";
    case "p":
      return "purged";
  }
}

function sentEntry(record: Extract<OutboxRecord, { t: "s" }>): SentEntry {
  const { t, seq, ...entry } = record;
  return entry;
}

function serialise(mail: OutgoingMail): SerialMail {
  return {
    ...mail,
    date: mail.date.toISOString(),
    attachments: mail.attachments.map((a) => ({ ...a, content: a.content.toString("base64") })),
  };
}

function deserialise(mail: SerialMail): OutgoingMail {
  return {
    ...mail,
    date: new Date(mail.date),
    attachments: mail.attachments.map((a) => ({ ...a, content: Buffer.from(a.content, "base64") })),
  };
}
