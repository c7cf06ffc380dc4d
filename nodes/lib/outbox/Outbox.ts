import { Journal, type CorruptRecord, type RecordPosition } from "../common/Journal";
import type { MailAttachment, OutgoingMail } from "../mail/MailComposer";
import { formatAddress } from "../mail/AddressList";
import { OccurrenceChains, type EventOrder } from "./EventOrder";

/** What the sent log shows of a mail: enough to recognise it, nothing of its body. */
export interface MailSummary {
  to: string[];
  subject: string;
  /** For a mail of an alarm thread: its root's Message-ID, its topic and its place, for the sidebar to group by. */
  thread?: { root: string; topic: string; position: number };
}

export interface DeliveryError {
  code: string;
  message: string;
}

export type QueuedStatus = "queued" | "failed";

/** Where a queued mail stands: what changes with each attempt, resend or failure. */
export interface EntryState {
  status: QueuedStatus;
  /** When it entered the queue, or re-entered it through a resend: the maximum age counts from here. */
  queuedAt: number;
  attempts: number;
  nextAt: number;
  lastError?: DeliveryError;
  failedAt?: number;
}

/** A mail waiting in the outbox (or failed and kept for a resend). Its content stays on disk. */
export interface OutboxEntry extends EntryState {
  id: string;
  /** Lower goes first: the alarm priority (1 to 4), or the mail priority when there is no alarm. */
  rank: number;
  createdAt: number;
  sendNode?: string;
  summary: MailSummary;
  /** For a mail about an alarm event: the mails of its occurrence go in event order. */
  order?: EventOrder;
}

export interface SentEntry {
  id: string;
  sendNode?: string;
  order?: EventOrder;
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

type OutboxRecord =
  | {
      t: "q";
      seq: number;
      id: string;
      rank: number;
      createdAt: number;
      sendNode?: string;
      order?: EventOrder;
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
  /**
   * Journal segments written full of zeros before they take records (default), so that a mail's sync flushes data
   * only; false appends to growing files, which buys the same on a file system whose syncs cost nothing (tmpfs).
   */
  preallocate?: boolean;
}

const DEFAULT_SEGMENT_BYTES = 4 * 1024 * 1024;
const RECENT_BYTES = 8 * 1024 * 1024;

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
  /** Delivered mails, oldest first (a Map keeps insertion order), trimmed to keepSent. */
  private readonly sent = new Map<string, Live<SentEntry>>();
  /** The queued mails in delivery order, built once and then kept in order as mails come and go. */
  private order?: OutboxEntry[];
  /**
   * Mails enqueued by this process and not yet finished, so that delivering them does not read back what was just
   * written. Bounded in bytes; anything else is read from the journal.
   */
  private readonly recent = new Map<string, { stored: StoredMail; bytes: number }>();
  private recentBytes = 0;
  private seq = 0;
  private journal!: Journal<OutboxRecord>;
  private compacting?: Promise<void>;
  private closed = false;
  private readonly keepSent: number;
  private readonly keepFailed: number;
  private readonly segmentBytes: number;
  private readonly now: () => number;
  private readonly chains = new OccurrenceChains();

  private constructor(options: OutboxOptions) {
    this.keepSent = options.keepSent ?? 500;
    this.keepFailed = options.keepFailed ?? 200;
    this.segmentBytes = options.segmentBytes ?? DEFAULT_SEGMENT_BYTES;
    this.now = options.now ?? Date.now;
  }

  static async open(dir: string, options: OutboxOptions = {}): Promise<Outbox> {
    const outbox = new Outbox(options);
    const replay = new Replay();
    outbox.journal = await Journal.open<OutboxRecord>(
      dir,
      (record, position) => replay.add(record, position),
      (corrupt) => options.onCorrupt?.(corrupt),
      outbox.rotated,
      { segmentBytes: outbox.segmentBytes, preallocate: options.preallocate ?? true },
    );
    outbox.seq = replay.maxSeq;
    replay.fill(outbox.queued, outbox.sent);
    for (const { value } of outbox.queued.values()) if (value.status === "queued") outbox.chain(value);
    for (const { value } of outbox.sent.values()) if (value.order) outbox.chains.countDelivered(value.order, 1);
    outbox.trimSentLog();
    // Every start opens a new segment; old ones are folded once they hold more dead bytes than live ones, so a
    // start whose records are all live reads them and rewrites nothing.
    if (await outbox.worthCompacting()) await outbox.compact();
    return outbox;
  }

  /**
   * Resolves once the mail is on disk: from then on a crash delays it but cannot lose it. `msgJson` is the msg that
   * asked for the mail, as JSON text: it is written into the record as it is, and parsed only if it is asked for.
   */
  async enqueue(
    mail: OutgoingMail,
    meta: { rank: number; sendNode?: string; msgJson?: string; order?: EventOrder },
  ): Promise<OutboxEntry> {
    const entry: OutboxEntry = {
      id: mail.messageId,
      rank: meta.rank,
      createdAt: this.now(),
      ...(meta.sendNode ? { sendNode: meta.sendNode } : {}),
      ...(meta.order ? { order: meta.order } : {}),
      summary: summaryOf(mail),
      ...queuedState(this.now()),
    };
    const seq = ++this.seq;
    const record: Extract<OutboxRecord, { t: "q" }> = {
      t: "q",
      seq,
      id: entry.id,
      rank: entry.rank,
      createdAt: entry.createdAt,
      ...(entry.sendNode ? { sendNode: entry.sendNode } : {}),
      ...(entry.order ? { order: entry.order } : {}),
      summary: entry.summary,
      mail: serialise(mail),
    };
    const json = JSON.stringify(record);
    const position = await this.journal.appendJson(
      meta.msgJson === undefined ? json : `${json.slice(0, -1)},"msg":${meta.msgJson}}`,
    );
    this.queued.set(entry.id, { value: entry, seq, position });
    this.place(entry);
    this.chain(entry);
    this.remember(entry.id, storedInMemory(mail, meta.msgJson), position.length);
    return entry;
  }

  /** The queued mails in delivery order: rank, then age. Do not modify the array. */
  pending(): readonly OutboxEntry[] {
    this.order ??= [...this.queued.values()]
      .map((live) => live.value)
      .filter((entry) => entry.status === "queued")
      .sort((a, b) => a.rank - b.rank || a.createdAt - b.createdAt);
    return this.order;
  }

  failed(): OutboxEntry[] {
    return [...this.queued.values()].map((l) => l.value).filter((e) => e.status === "failed");
  }

  /** The sent log, newest first. */
  sentLog(): SentEntry[] {
    return [...this.sent.values()].map((live) => live.value).reverse();
  }

  /**
   * When a queued mail may be attempted, as far as the order of its occurrence's events goes: 0 at once, Infinity
   * while an earlier mail of its occurrence is queued, or a time until which it waits for an earlier mail that was
   * never seen (still in the flow, behind a slow attachment).
   */
  releaseAt(entry: OutboxEntry, waitMs: number): number {
    return entry.order ? this.chains.releaseAt(entry.id, entry.order, entry.createdAt + waitMs) : 0;
  }

  /**
   * Makes the queued mails that `deferred` names due at once, in memory: when a server answers again after an outage,
   * the mails it held back go now rather than each at the end of its own backoff.
   */
  wake(deferred: (entry: OutboxEntry) => boolean): void {
    for (const entry of this.pending()) if (entry.nextAt > 0 && deferred(entry)) entry.nextAt = 0;
  }

  get(id: string): OutboxEntry | undefined {
    return this.queued.get(id)?.value;
  }

  async load(id: string): Promise<StoredMail> {
    const live = this.queued.get(id);
    if (!live) throw new Error(`no queued mail ${id}`);
    const recent = this.recent.get(id);
    if (recent) return recent.stored;
    const record = await this.journal.read(live.position);
    if (record.t !== "q") throw new Error(`journal record of ${id} is not a mail`);
    return { mail: deserialise(record.mail), ...(record.msg === undefined ? {} : { msg: record.msg }) };
  }

  async retryLater(id: string, attempts: number, nextAt: number, lastError: DeliveryError): Promise<void> {
    const live = this.queued.get(id);
    if (!live) return;
    const seq = ++this.seq;
    live.seq = seq;
    // In place: the delivery order does not change, and the ordered list holds this very object.
    Object.assign(live.value, { attempts, nextAt, lastError });
    await this.journal.append({ t: "a", seq, id, attempts, nextAt, lastError });
  }

  /**
   * Records a delivery; resolves once the record is synced. `written` is told as soon as it is written, which a
   * killed process cannot undo: only a power cut before the (group-committed) sync can, and then the mail is sent
   * again, at least once. A record the journal refuses (a full disk) still resolves with the delivery, which happened.
   */
  async markSent(
    id: string,
    attempts: number,
    receipt: Omit<SentEntry, "id" | "sendNode" | "createdAt" | "sentAt" | "attempts" | "summary">,
    written?: () => void,
  ): Promise<SentEntry | undefined> {
    const live = this.queued.get(id);
    if (!live) {
      written?.();
      return undefined;
    }
    const entry: SentEntry = {
      id,
      ...(live.value.sendNode ? { sendNode: live.value.sendNode } : {}),
      ...(live.value.order ? { order: live.value.order } : {}),
      createdAt: live.value.createdAt,
      sentAt: this.now(),
      attempts,
      summary: live.value.summary,
      ...receipt,
    };
    const seq = ++this.seq;
    this.queued.delete(id);
    this.unplace(live.value);
    this.unchain(live.value);
    if (entry.order) this.chains.countDelivered(entry.order, 1);
    this.forget(id);
    // Group-committed: a "sent" record lost in a power cut only means the mail is sent again (at least once), so
    // its sync waits for the next one instead of costing its own.
    let position: RecordPosition;
    try {
      position = await this.journal.append({ t: "s", seq, ...entry }, { defer: true, written });
    } catch {
      // The server took the mail; only its record is missing, so the mail is reported sent (its msg would wait for
      // ever otherwise). On disk it is still queued: a restart sends it again, at least once. It stays out of the
      // sent log, which holds what the journal holds.
      return entry;
    }
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
    this.unplace(live.value);
    this.unchain(live.value);
    this.forget(id);
    live.value = { ...live.value, status: "failed", attempts, lastError: error, failedAt: at };
    try {
      await this.journal.append({ t: "f", seq, id, at, attempts, error });
    } catch {
      // The mail failed all the same; only its record is missing (a full disk), so it is reported failed (its msg
      // would wait for ever otherwise). On disk it is still queued: a restart tries it again.
      return live.value;
    }
    await this.trimFailed();
    return live.value;
  }

  /** Puts a failed mail back in the queue, attempts counted afresh. */
  async resend(id: string): Promise<boolean> {
    const live = this.queued.get(id);
    if (!live || live.value.status !== "failed") return false;
    const seq = ++this.seq;
    const at = this.now();
    // On disk first: a write that fails leaves the mail failed, as the journal says.
    await this.journal.append({ t: "r", seq, id, at });
    live.seq = seq;
    live.value = { ...live.value, ...queuedState(at) };
    this.place(live.value);
    this.chain(live.value);
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
        this.dropSent(id);
        await this.journal.append({ t: "p", seq: ++this.seq, id });
        count += 1;
      }
    }
    return count;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.compacting;
    await this.journal.close();
  }

  private remember(id: string, stored: StoredMail, bytes: number): void {
    this.recent.set(id, { stored, bytes });
    this.recentBytes += bytes;
    for (const [oldest, { bytes: size }] of this.recent) {
      if (this.recentBytes <= RECENT_BYTES) break;
      this.recent.delete(oldest);
      this.recentBytes -= size;
    }
  }

  private forget(id: string): void {
    const recent = this.recent.get(id);
    if (!recent) return;
    this.recent.delete(id);
    this.recentBytes -= recent.bytes;
  }

  /** Inserts a queued mail where it belongs in the delivery order (binary search: a storm enqueues thousands). */
  private place(entry: OutboxEntry): void {
    if (!this.order) return;
    let low = 0;
    let high = this.order.length;
    while (low < high) {
      const mid = (low + high) >> 1;
      const other = this.order[mid];
      if (other.rank < entry.rank || (other.rank === entry.rank && other.createdAt <= entry.createdAt)) low = mid + 1;
      else high = mid;
    }
    this.order.splice(low, 0, entry);
  }

  /** Removes a mail from the delivery order; it is usually near the front, where delivery starts. */
  private unplace(entry: OutboxEntry): void {
    const index = this.order?.indexOf(entry) ?? -1;
    if (index >= 0) this.order?.splice(index, 1);
  }

  /** A class field, so that the journal holds on to the outbox alone, not to the replay state of `open`. */
  private readonly rotated = (): void => {
    void this.worthCompacting().then((worth) => (worth ? this.compact() : undefined));
  };

  /**
   * Old segments hold more dead bytes than live ones, and at least a segment's worth: a compaction rewrites every
   * live byte, so it must free at least as much. The number of segments is no reason: a queue of 50,000 live mails
   * fills many, and rewriting them all (and again at the next start) freed nothing.
   */
  private async worthCompacting(): Promise<boolean> {
    const old = await this.oldSegments();
    if (old.length === 0) return false;
    const sizes = await Promise.all(old.map((segment) => this.journal.segmentSize(segment)));
    const total = sizes.reduce((a, b) => a + b, 0);
    const oldSet = new Set(old);
    let live = 0;
    for (const entry of [...this.queued.values(), ...this.sent.values()]) {
      if (oldSet.has(entry.position.segment)) live += entry.position.length;
    }
    return total - live > Math.max(live, this.segmentBytes);
  }

  /**
   * Copies what is live in every older segment into the active one, then deletes them all. A copy keeps the seq of
   * the state it copies, so any later change (a later seq) still wins on replay. Every old segment goes: keeping one
   * while dropping the record that finished one of its mails would bring that mail back to life on the next replay.
   * It never fails the caller: if it cannot finish, the old segments simply stay.
   */
  private compact(): Promise<void> {
    this.compacting ??= (async () => {
      try {
        for (const segment of await this.oldSegments()) {
          if (this.closed) return;
          const lives = [...this.queued.values(), ...this.sent.values()].filter((l) => l.position.segment === segment);
          const records = await this.journal.readAll(lives.map((l) => l.position));
          const copies = lives.map((live, i) => this.journal.append(this.copyOf(live, records[i])));
          const positions = await Promise.all(copies);
          lives.forEach((live, i) => (live.position = positions[i]));
          await this.journal.deleteSegment(segment);
        }
      } catch {
        // The journal closed under us (redeploy) or a read failed: what was not copied is still in its segment.
      } finally {
        this.compacting = undefined;
      }
    })();
    return this.compacting;
  }

  private copyOf(live: Live<OutboxEntry> | Live<SentEntry>, record: OutboxRecord): OutboxRecord {
    if (record.t !== "q") return { t: "s", seq: live.seq, ...(live.value as SentEntry) };
    const { status, queuedAt, attempts, nextAt, lastError, failedAt } = live.value as OutboxEntry;
    return { ...record, seq: live.seq, state: { status, queuedAt, attempts, nextAt, lastError, failedAt } };
  }

  private async oldSegments(): Promise<number[]> {
    const active = this.journal.activeSegment;
    return (await Journal.segmentsIn(this.journal.dir)).filter((segment) => segment < active);
  }

  private trimSentLog(): void {
    for (const id of this.sent.keys()) {
      if (this.sent.size <= this.keepSent) break;
      this.dropSent(id);
    }
  }

  private dropSent(id: string): void {
    const order = this.sent.get(id)?.value.order;
    if (order) this.chains.countDelivered(order, -1);
    this.sent.delete(id);
  }

  private chain(entry: OutboxEntry): void {
    if (entry.order) this.chains.add(entry.id, entry.order);
  }

  private unchain(entry: OutboxEntry): void {
    if (entry.order) this.chains.remove(entry.id, entry.order);
  }

  private async trimFailed(): Promise<void> {
    const failed = this.failed().sort((a, b) => (a.failedAt ?? 0) - (b.failedAt ?? 0));
    const excess = failed.length - this.keepFailed;
    if (excess > 0) await this.purge(failed.slice(0, excess).map((e) => e.id));
  }
}

/**
 * What the journal's replay collects: for each mail the latest state (highest seq) and where its content is. Only
 * metadata is kept; the mails themselves stay on disk.
 */
class Replay {
  maxSeq = 0;
  private readonly folded = new Map<string, { seq: number; state: EntryState | "sent" | "purged" }>();
  private readonly content = new Map<string, { meta: Omit<OutboxEntry, keyof EntryState>; position: RecordPosition }>();
  private readonly sentRecords = new Map<string, { entry: SentEntry; position: RecordPosition }>();

  add(record: OutboxRecord, position: RecordPosition): void {
    this.maxSeq = Math.max(this.maxSeq, record.seq);
    if (record.t === "q") {
      const meta = {
        id: record.id,
        rank: record.rank,
        createdAt: record.createdAt,
        ...(record.sendNode ? { sendNode: record.sendNode } : {}),
        ...(record.order ? { order: record.order } : {}),
        summary: record.summary,
      };
      this.content.set(record.id, { meta, position });
    }
    if (record.t === "s") this.sentRecords.set(record.id, { entry: sentEntry(record), position });
    const current = this.folded.get(record.id);
    if (current && current.seq >= record.seq) return;
    this.folded.set(record.id, { seq: record.seq, state: foldState(current?.state, record) });
  }

  fill(queued: Map<string, Live<OutboxEntry>>, sent: Map<string, Live<SentEntry>>): void {
    const delivered: Array<Live<SentEntry>> = [];
    for (const [id, { seq, state }] of this.folded) {
      if (state === "purged") continue;
      if (state === "sent") {
        const record = this.sentRecords.get(id);
        if (record) delivered.push({ value: record.entry, seq, position: record.position });
        continue;
      }
      const stored = this.content.get(id);
      if (stored) queued.set(id, { value: { ...stored.meta, ...state }, seq, position: stored.position });
    }
    delivered.sort((a, b) => a.value.sentAt - b.value.sentAt).forEach((live) => sent.set(live.value.id, live));
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

/** A mail still in memory; its msg is parsed only when asked for (after a redeploy lost the msg's callbacks). */
function storedInMemory(mail: OutgoingMail, msgJson: string | undefined): StoredMail {
  if (msgJson === undefined) return { mail };
  let msg: unknown;
  return {
    mail,
    get msg() {
      msg ??= JSON.parse(msgJson) as unknown;
      return msg;
    },
  };
}

function summaryOf(mail: OutgoingMail): MailSummary {
  const { thread } = mail;
  return {
    to: [...mail.to, ...mail.cc, ...mail.bcc].map(formatAddress),
    subject: mail.subject,
    ...(thread ? { thread: { root: thread.root, topic: thread.topic, position: thread.position } } : {}),
  };
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
