import { readDuration } from "../common/Duration";
import { TraceError } from "./TraceError";
import type { IntervalRow, Scalar, TraceKind } from "./TraceLog";
import { isPlainObject } from "../common/PlainObject";

export type TraceMode = "samples" | "operator";
export type Sampling = "each" | "interval";

export const TRACE_MODES: readonly TraceMode[] = ["samples", "operator"];
const SAMPLINGS: readonly Sampling[] = ["each", "interval"];
const AGE_UNITS = { minutes: 60_000, hours: 3_600_000, days: 86_400_000 } as const;
type AgeUnit = keyof typeof AGE_UNITS;

/** An `alarm-mail-trace` node's settings, checked once at deploy. */
export interface TraceConfig {
  mode: TraceMode;
  sampling: Sampling;
  /** Samples mode, interval sampling: one row every this many ms, on the multiples of it (every 10 s at :00, :10…). */
  intervalMs: number;
  maxRows: number;
  /** Rows older than this are dropped; 0 keeps rows whatever their age. */
  maxAgeMs: number;
}

/** The flow JSON of the node, as the editor saves it (numbers may arrive as text). */
export interface RawTraceConfig {
  mode?: unknown;
  sampling?: unknown;
  interval?: unknown;
  maxRows?: unknown;
  maxAge?: unknown;
  maxAgeUnit?: unknown;
}

export const TRACE_DEFAULTS = {
  interval: 10,
  maxRows: 10_000,
  maxAge: 7,
  maxAgeUnit: "days",
} as const;

/** [least, most] of each number. A million rows of a trace is some 100 MB of memory: more is a database's job. */
const RANGES = {
  interval: [1, 86_400],
  maxRows: [1, 1_000_000],
  maxAge: [0, 100_000],
} as const;

export function parseTraceConfig(raw: RawTraceConfig): TraceConfig {
  const mode = choice(raw.mode, TRACE_MODES, "samples", "mode");
  const sampling = choice(raw.sampling, SAMPLINGS, "each", "sampling");
  const unit = choice(raw.maxAgeUnit, Object.keys(AGE_UNITS) as AgeUnit[], TRACE_DEFAULTS.maxAgeUnit, "maxAgeUnit");
  return {
    mode,
    sampling,
    intervalMs: span(raw.interval, "interval", TRACE_DEFAULTS.interval, 1000),
    maxRows: whole(raw.maxRows, "maxRows", TRACE_DEFAULTS.maxRows),
    maxAgeMs: span(raw.maxAge, "maxAge", TRACE_DEFAULTS.maxAge, AGE_UNITS[unit]),
  };
}

/** What the log holds: rows of one shape, and a log recorded in another shape is not mixed with it. */
export function traceKind(config: TraceConfig): TraceKind {
  if (config.mode === "operator") return "operator";
  return config.sampling === "interval" ? "interval" : "samples";
}

/**
 * The values of a samples-mode msg: `msg.topic` + `msg.payload`, or `msg.payload` as an object of topic → value (a
 * whole PLC read), as `alarm-mail-block` takes them.
 */
export function sampleValues(topic: unknown, payload: unknown): Array<[string, Scalar]> {
  if (isPlainObject(payload)) {
    return Object.entries(payload).map(([key, value]) => [key, scalar(value, key)]);
  }
  if (typeof topic !== "string" || topic.trim() === "") throw new TraceError("trace-topic-missing");
  return [[topic, scalar(payload, topic)]];
}

export interface OperatorAction {
  user: string | null;
  control: string;
  previous: Scalar;
  value: Scalar;
}

/** An operator action: who (`msg.user`), which control (`msg.control`, else `msg.topic`), from what to what. */
export function operatorAction(msg: Record<string, unknown>): OperatorAction {
  const control = typeof msg.control === "string" && msg.control.trim() !== "" ? msg.control : msg.topic;
  if (typeof control !== "string" || control.trim() === "") throw new TraceError("trace-control-missing");
  const user = typeof msg.user === "number" ? String(msg.user) : typeof msg.user === "string" ? msg.user.trim() : "";
  return {
    user: user === "" ? null : user,
    control,
    previous: scalar(msg.previous, control),
    value: scalar(msg.payload, control),
  };
}

/**
 * Interval sampling: the last value of each topic, written as one row every interval. The values survive a restart
 * through the log's last row, so that the first row after a start is not missing the topics that did not change.
 */
export class IntervalSampler {
  private readonly last = new Map<string, Scalar>();

  constructor(seed?: IntervalRow) {
    for (const [topic, value] of Object.entries(seed?.values ?? {})) this.last.set(topic, value);
  }

  update(topic: string, value: Scalar): void {
    this.last.set(topic, value);
  }

  /** The row of this instant, or nothing before the first value. */
  take(at: number): IntervalRow | undefined {
    if (this.last.size === 0) return undefined;
    return { at, values: Object.fromEntries(this.last) };
  }
}

/** The next instant of an interval, on the multiples of it, so that rows fall on round times. */
export function nextInstant(now: number, intervalMs: number): number {
  return (Math.floor(now / intervalMs) + 1) * intervalMs;
}

/** A value a cell can hold: a finite number, a string, a boolean, or empty (null, undefined). */
function scalar(value: unknown, topic: string): Scalar {
  if (value === undefined || value === null) return null;
  if (typeof value === "string" || typeof value === "boolean") return value;
  if (typeof value === "number" && Number.isFinite(value)) return value;
  throw new TraceError("trace-value-invalid", { topic, type: describeType(value) });
}

function describeType(value: unknown): string {
  if (typeof value === "number") return String(value);
  if (Buffer.isBuffer(value)) return "Buffer";
  if (Array.isArray(value)) return "array";
  return typeof value;
}

function choice<T extends string>(raw: unknown, allowed: readonly T[], fallback: T, field: string): T {
  const text = typeof raw === "string" ? raw.trim() : "";
  if (text === "") return fallback;
  if (!(allowed as readonly string[]).includes(text)) {
    throw new TraceError("trace-config-invalid", { field, value: text, range: allowed.join(", ") });
  }
  return text as T;
}

/**
 * A span in `unit` (seconds, days...), read as every time of the package is (`readDuration`), in ms, within its
 * field's range of units.
 */
function span(raw: unknown, field: "interval" | "maxAge", fallback: number, unit: number): number {
  const [least, most] = RANGES[field];
  const empty = raw === undefined || raw === null || (typeof raw === "string" && raw.trim() === "");
  const value = readDuration(empty ? fallback : raw, { least: least * unit, most: most * unit, whole: true, unit });
  if (value === undefined) {
    throw new TraceError("trace-config-invalid", { field, value: String(raw), range: `${least}–${most}` });
  }
  return value;
}

function whole(raw: unknown, field: keyof typeof RANGES, fallback: number): number {
  const text = typeof raw === "string" ? raw.trim() : raw;
  const value = text === undefined || text === null || text === "" ? fallback : Number(text);
  const [least, most] = RANGES[field];
  if (!Number.isInteger(value) || value < least || value > most) {
    throw new TraceError("trace-config-invalid", { field, value: String(raw), range: `${least}–${most}` });
  }
  return value;
}
