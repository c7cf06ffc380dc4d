import type { AckVia, AlarmEvent, AlarmEventType, AlarmState, AlarmValue } from "./AlarmEngine";
import type { Priority } from "./BlockConfig";

/** One line of a block's history: what happened, to which alarm, when (epoch ms) and by whom. */
export interface HistoryRecord {
  at: number;
  event: AlarmEventType;
  /** The alarm's id, or null for a block-wide event (flood). */
  id: string | null;
  label: string | null;
  priority: Priority | null;
  state: AlarmState | null;
  value: AlarmValue | null;
  user: string | null;
  /** For an ack: where it came from (the flow, a mail reply, a link); null or absent for every other event. */
  ackVia?: AckVia | null;
  /** For an ack: what the person wrote with it (the link's page has a comment field); absent otherwise. */
  comment?: string;
}

/**
 * The longest comment a history line keeps: the ack page allows as much, and a day file of a flood must stay small
 * whatever a form posts.
 */
export const HISTORY_COMMENT_MAX = 500;

/** Reads the history records with `from <= at < to`, oldest first (`HistoryStore.scan`). */
export type HistoryScan = (from: number, to: number, visit: (record: HistoryRecord) => void) => Promise<void>;

/**
 * The comment written with the acknowledgement of each acknowledged alarm, by alarm id. The engine keeps the ack (its
 * time, by whom, via what) but not what was typed with it: that is in the ack's history record, recorded at the
 * alarm's `ackedAt`, which is how a record of an earlier occurrence is told apart. Only the span between the oldest
 * and the newest of those times is read.
 */
export async function ackComments(
  alarms: ReadonlyArray<{ id: string; ackedAt: number | null }>,
  scan: HistoryScan,
): Promise<Map<string, string>> {
  const ackedAt = new Map<string, number>();
  let from = Infinity;
  let to = -Infinity;
  for (const alarm of alarms) {
    if (alarm.ackedAt === null) continue;
    ackedAt.set(alarm.id, alarm.ackedAt);
    from = Math.min(from, alarm.ackedAt);
    to = Math.max(to, alarm.ackedAt + 1);
  }
  const comments = new Map<string, string>();
  if (ackedAt.size === 0) return comments;
  await scan(from, to, (record) => {
    if (record.event === "ack" && record.comment && record.id !== null && ackedAt.get(record.id) === record.at) {
      comments.set(record.id, record.comment);
    }
  });
  return comments;
}

/** A block's event as a history line; `comment` is what came with an ack, kept on one line and bounded. */
export function historyRecord(event: AlarmEvent, comment?: string): HistoryRecord {
  const note = event.event === "ack" && comment ? commentText(comment) : "";
  const alarm = event.alarm;
  return {
    at: event.at,
    event: event.event,
    id: alarm?.id ?? null,
    label: alarm?.label ?? null,
    priority: alarm?.priority ?? null,
    state: alarm?.state ?? null,
    value: alarm?.value ?? null,
    user: event.user ?? null,
    ackVia: event.event === "ack" ? (alarm?.ackVia ?? null) : null,
    ...(note ? { comment: note } : {}),
  };
}

/** One line (a CSV cell and a template value), trimmed and cut to the bound, never inside a surrogate pair. */
function commentText(comment: string): string {
  const line = comment.replace(/\s+/g, " ").trim();
  return Array.from(line).slice(0, HISTORY_COMMENT_MAX).join("");
}

/**
 * The last `capacity` events of a block, oldest first: a ring buffer, so that recording an event costs the same
 * whether the log is empty or full, and the log never grows past its bound.
 */
export class AlarmHistory {
  private readonly ring: HistoryRecord[] = [];
  /** Index of the oldest record once the ring is full. */
  private start = 0;

  constructor(
    readonly capacity: number,
    records: readonly HistoryRecord[] = [],
  ) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`history capacity ${capacity}`);
    for (const record of records.slice(-capacity)) this.add(record);
  }

  get size(): number {
    return this.ring.length;
  }

  add(record: HistoryRecord): void {
    if (this.ring.length < this.capacity) {
      this.ring.push(record);
    } else {
      this.ring[this.start] = record;
      this.start = (this.start + 1) % this.capacity;
    }
  }

  /** Every record kept, oldest first. */
  list(): HistoryRecord[] {
    return [...this.ring.slice(this.start), ...this.ring.slice(0, this.start)];
  }
}
