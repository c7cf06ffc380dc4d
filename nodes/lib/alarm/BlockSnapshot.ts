import type { EngineSnapshot, FloodState, SlotState } from "./AlarmEngine";
import type { HistoryRecord } from "./AlarmHistory";
import { isTime } from "../common/Duration";

/** The layout of a block's snapshot file; a reader refuses layouts it does not know rather than misread them. */
export const SNAPSHOT_FORMAT = 1;

export interface BlockSnapshot {
  engine: EngineSnapshot;
  history: HistoryRecord[];
}

export function encodeBlockSnapshot(snapshot: BlockSnapshot, savedAt: number): string {
  return JSON.stringify({ format: SNAPSHOT_FORMAT, savedAt, ...snapshot });
}

/**
 * Reads a snapshot back, checking every field it will trust: a file damaged by hand or by a disk fault is refused
 * with the reason, so that the block can warn and start clean instead of running on nonsense.
 */
export function decodeBlockSnapshot(text: string): BlockSnapshot {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new Error(`not JSON (${err instanceof Error ? err.message : String(err)})`);
  }
  if (!isObject(data)) throw new Error("not an object");
  if (data.format !== SNAPSHOT_FORMAT) throw new Error(`unknown format ${String(data.format)}`);
  const engine = data.engine;
  if (!isObject(engine) || !isObject(engine.alarms)) throw new Error("no alarm states");
  for (const [id, state] of Object.entries(engine.alarms)) {
    if (!isSlotState(state)) throw new Error(`bad state for alarm ${id}`);
  }
  if (!isFloodState(engine.flood)) throw new Error("bad flood state");
  if (!Array.isArray(data.history) || !data.history.every(isHistoryRecord)) throw new Error("bad history");
  return { engine: engine as unknown as EngineSnapshot, history: data.history };
}

type Check = (value: unknown) => boolean;

const isNumber: Check = (v) => typeof v === "number" && Number.isFinite(v);
const isBoolean: Check = (v) => typeof v === "boolean";
const orNull =
  (check: Check): Check =>
  (v) =>
    v === null || check(v);
const optional =
  (check: Check): Check =>
  (v) =>
    v === undefined || check(v);
/** Times must be dates: a deadline past year 275760 would throw when it is shown, at every msg. */
const isTimes: Check = (v) => Array.isArray(v) && v.every(isTime);

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function matches<T>(value: unknown, shape: Record<keyof T, Check>): value is T {
  if (!isObject(value)) return false;
  return Object.entries<Check>(shape).every(([key, check]) => check(value[key]));
}

const SLOT_SHAPE: Record<keyof SlotState, Check> = {
  value: orNull((v) => isNumber(v) || isBoolean(v)),
  raw: isBoolean,
  active: isBoolean,
  pendingAt: orNull(isTime),
  latched: isBoolean,
  acked: isBoolean,
  announced: isBoolean,
  triggeredAt: orNull(isTime),
  ackedAt: orNull(isTime),
  recoveredAt: orNull(isTime),
  ackBy: orNull((v) => typeof v === "string"),
  ackVia: optional(orNull((v) => v === "flow" || v === "mail" || v === "link")),
  occurrence: optional(orNull((v) => typeof v === "string")),
  shelved: isBoolean,
  shelvedUntil: orNull(isTime),
  suppressed: isBoolean,
  outOfService: isBoolean,
  activations: isTimes,
  chattering: isBoolean,
  chatterEndsAt: orNull(isTime),
};

const FLOOD_SHAPE: Record<keyof FloodState, Check> = {
  times: isTimes,
  active: isBoolean,
  endsAt: orNull(isTime),
};

const isText: Check = (v) => typeof v === "string";
const HISTORY_SHAPE: Record<keyof HistoryRecord, Check> = {
  at: isTime,
  event: isText,
  id: orNull(isText),
  label: orNull(isText),
  priority: orNull(isNumber),
  state: orNull(isText),
  value: orNull((v) => isNumber(v) || isBoolean(v)),
  user: orNull(isText),
  ackVia: optional(orNull((v) => v === "flow" || v === "mail" || v === "link")),
  comment: optional(isText),
};

const isSlotState = (v: unknown): v is SlotState => matches<SlotState>(v, SLOT_SHAPE);
const isFloodState = (v: unknown): v is FloodState => matches<FloodState>(v, FLOOD_SHAPE);
const isHistoryRecord = (v: unknown): v is HistoryRecord => matches<HistoryRecord>(v, HISTORY_SHAPE);
