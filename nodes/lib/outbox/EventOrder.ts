/**
 * Where a mail stands among the mails about one alarm occurrence to one recipient group. The server must accept them
 * in event order: an operator must never read "acknowledged" or "back to normal" before "ALARM".
 */
export interface EventOrder {
  /** The occurrence and the send node that mails it: mails with the same key go in order. */
  key: string;
  /** The event's time, and its rank among events of one instant (trigger, then ack, then recovery). */
  at: number;
  step: number;
  /** An earlier mail of this key may still be on its way (the send node mails triggers too, and none was seen). */
  expectsEarlier: boolean;
}

interface Link {
  id: string;
  order: EventOrder;
}

function earlier(a: EventOrder, b: EventOrder): boolean {
  return a.at < b.at || (a.at === b.at && a.step < b.step);
}

/**
 * The queued mails of each occurrence in event order, and how many of each occurrence were delivered, so that the
 * scheduler can tell whether a mail must wait for another. Kept in memory and rebuilt from the journal at start,
 * where every queued mail's order is stored with it.
 */
export class OccurrenceChains {
  private readonly queued = new Map<string, Link[]>();
  private readonly delivered = new Map<string, number>();

  add(id: string, order: EventOrder): void {
    const chain = this.queued.get(order.key) ?? [];
    let at = chain.length;
    while (at > 0 && earlier(order, chain[at - 1].order)) at--;
    chain.splice(at, 0, { id, order });
    this.queued.set(order.key, chain);
  }

  remove(id: string, order: EventOrder): void {
    const chain = this.queued.get(order.key);
    const at = chain?.findIndex((link) => link.id === id) ?? -1;
    if (!chain || at < 0) return;
    chain.splice(at, 1);
    if (chain.length === 0) this.queued.delete(order.key);
  }

  /** A mail of this key reached the sent log (`+1`) or left it (`-1`). */
  countDelivered(order: EventOrder, change: 1 | -1): void {
    const count = (this.delivered.get(order.key) ?? 0) + change;
    if (count > 0) this.delivered.set(order.key, count);
    else this.delivered.delete(order.key);
  }

  /**
   * When the mail `id` may go: 0 at once; Infinity while an earlier mail of its occurrence is queued (that mail's
   * outcome lets it go); otherwise, for a mail whose earlier one has not been seen at all, `waitUntil`, in case it is
   * still in the flow (a slow attachment), after which it goes anyway.
   */
  releaseAt(id: string, order: EventOrder, waitUntil: number): number {
    const chain = this.queued.get(order.key);
    if (chain && chain[0].id !== id) return Infinity;
    if (order.expectsEarlier && !this.delivered.has(order.key)) return waitUntil;
    return 0;
  }
}

/**
 * The events of one occurrence whose mails keep their order, in the order they happen within one instant, and where
 * each one's time is: a field of `msg.alarm`, or for the escalation node's reminders and escalations
 * `msg.escalation.at` (their msg is the trigger's, whose alarm has no time of its own for them). A reminder raised in
 * the same millisecond as an ack came before it: the escalation engine raises none once it has the ack. Its step
 * lies between the trigger's and the ack's without renumbering them, as queued mails keep their steps on disk.
 */
const STEPS: Record<string, { step: number; time: string; from: "alarm" | "escalation" }> = {
  trigger: { step: 0, time: "triggeredAt", from: "alarm" },
  reminder: { step: 0.5, time: "at", from: "escalation" },
  escalation: { step: 0.5, time: "at", from: "escalation" },
  ack: { step: 1, time: "ackedAt", from: "alarm" },
  recovery: { step: 2, time: "recoveredAt", from: "alarm" },
};

/**
 * The order of a msg about an alarm occurrence (`msg.event`, `msg.alarm`, from a block or an escalation node) among
 * the mails of its occurrence sent by one send node; undefined for any other msg. `mailsTriggers`: that send node
 * also mails the trigger, so a later event may wait a while for it.
 */
export function eventOrderOf(msg: object, sendNode: string, mailsTriggers: boolean): EventOrder | undefined {
  const { event, alarm, escalation } = msg as { event?: unknown; alarm?: unknown; escalation?: unknown };
  const step = typeof event === "string" && Object.hasOwn(STEPS, event) ? STEPS[event] : undefined;
  if (!step || typeof alarm !== "object" || alarm === null) return undefined;
  const fields = alarm as Record<string, unknown>;
  const triggeredAt = timeOf(fields.triggeredAt);
  const source = step.from === "alarm" ? fields : escalation;
  const at =
    typeof source === "object" && source !== null ? timeOf((source as Record<string, unknown>)[step.time]) : undefined;
  if (triggeredAt === undefined || at === undefined) return undefined;
  const occurrence =
    typeof fields.occurrence === "string" && fields.occurrence !== ""
      ? fields.occurrence
      : `${String(fields.block ?? "")}/${String(fields.id ?? "")}/${triggeredAt}`;
  // A reminder or an escalation follows its trigger by a level's delay, so that trigger is queued or sent by then;
  // nothing need be waited for that may never come (a first level that had nobody on duty mailed nothing), and an
  // escalation is the first mail of its own group's thread.
  const expectsEarlier = step.from === "alarm" && step.step > 0 && mailsTriggers;
  return { key: `${sendNode} ${occurrence}`, at, step: step.step, expectsEarlier };
}

/** A time as msgs carry it (ISO 8601 text, or ms), in ms. */
function timeOf(value: unknown): number | undefined {
  const at = typeof value === "number" ? value : typeof value === "string" ? Date.parse(value) : NaN;
  return Number.isFinite(at) ? at : undefined;
}
