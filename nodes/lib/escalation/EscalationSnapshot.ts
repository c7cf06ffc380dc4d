import { isTime } from "../common/Duration";
import { isPlainObject } from "../common/PlainObject";
import type { EscalationEngine, EscalationSnapshot, OccurrenceState } from "./EscalationEngine";

/** The layout of an escalation node's state file; a reader refuses layouts it does not know rather than misread them. */
export const ESCALATION_FORMAT = 1;

export function encodeEscalationSnapshot(snapshot: EscalationSnapshot, savedAt: number): string {
  return JSON.stringify({ format: ESCALATION_FORMAT, savedAt, ...snapshot });
}

/**
 * Writes the same text as `encodeEscalationSnapshot`, but keeps each occurrence's JSON and encodes again only those
 * the engine changed since the last call: with a thousand open occurrences an event costs one encoding, not a
 * thousand, and the file is their texts joined.
 */
export class SnapshotEncoder {
  private readonly parts = new Map<string, string>();

  encode(engine: Pick<EscalationEngine, "takeChanged" | "occurrence">, savedAt: number): string {
    for (const key of engine.takeChanged()) {
      const state = engine.occurrence(key);
      if (state) this.parts.set(key, JSON.stringify(state));
      else this.parts.delete(key);
    }
    return `{"format":${ESCALATION_FORMAT},"savedAt":${savedAt},"occurrences":[${[...this.parts.values()].join(",")}]}`;
  }
}

/**
 * Reads a state file back, checking every field the engine will trust: a damaged file is refused with the reason,
 * so that the node can say so and start clean instead of waking people on nonsense.
 */
export function decodeEscalationSnapshot(text: string): EscalationSnapshot {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new Error(`not JSON (${err instanceof Error ? err.message : String(err)})`);
  }
  if (!isPlainObject(data)) throw new Error("not an object");
  if (data.format !== ESCALATION_FORMAT) throw new Error(`unknown format ${String(data.format)}`);
  if (!Array.isArray(data.occurrences)) throw new Error("no occurrences");
  const occurrences = data.occurrences.map((item: unknown, index) => {
    if (!isOccurrence(item)) throw new Error(`bad occurrence ${index}`);
    return item;
  });
  return { occurrences };
}

function isOccurrence(v: unknown): v is OccurrenceState {
  if (!isPlainObject(v)) return false;
  const optionalTime = (t: unknown) => t === undefined || isTime(t);
  return (
    typeof v.key === "string" &&
    isTime(v.triggeredAt) &&
    typeof v.priority === "number" &&
    Number.isFinite(v.priority) &&
    typeof v.acked === "boolean" &&
    typeof v.recovered === "boolean" &&
    typeof v.held === "boolean" &&
    Number.isInteger(v.level) &&
    (v.level as number) >= -1 &&
    Number.isInteger(v.attempt) &&
    Array.isArray(v.told) &&
    v.told.every((group) => typeof group === "string") &&
    optionalTime(v.due) &&
    optionalTime(v.base)
  );
}
