import { ReportError } from "./ReportError";

export type PeriodKind = "day" | "week" | "month";
export const PERIOD_KINDS: readonly PeriodKind[] = ["day", "week", "month"];

/** Epoch ms, `from` included, `to` excluded. */
export interface Period {
  from: number;
  to: number;
}

export interface ReportConfig {
  /** Ids of `alarm-mail-block` nodes; empty: every block of the flows. */
  blocks: string[];
  period: PeriodKind;
  /** An IANA time zone; the gateway's when left empty. */
  tz: string;
}

/** A `msg.period` may span at most this long: a year of 10-minute counts is 52,704 numbers. */
const MAX_SPAN_MS = 366 * 86_400_000;
const MINUTE_MS = 60_000;

/** Checks the node's properties as the flow file holds them. */
export function parseReportConfig(raw: Record<string, unknown>): ReportConfig {
  const blocks = Array.isArray(raw.blocks)
    ? raw.blocks.map(String)
    : typeof raw.blocks === "string"
      ? raw.blocks.split(",")
      : [];
  const period = raw.period === undefined || raw.period === "" ? "week" : raw.period;
  if (!PERIOD_KINDS.includes(period as PeriodKind)) {
    throw new ReportError("report-config-invalid", { field: "period", value: String(period) });
  }
  const tz = typeof raw.tz === "string" ? raw.tz.trim() : "";
  if (tz !== "" && !isTimeZone(tz)) throw new ReportError("report-config-invalid", { field: "tz", value: tz });
  return {
    blocks: blocks.map((id) => id.trim()).filter((id) => id !== ""),
    period: period as PeriodKind,
    tz: tz === "" ? new Intl.DateTimeFormat().resolvedOptions().timeZone : tz,
  };
}

/**
 * The period that ends at `at` (cut to the whole minute, so that an inject at 07:00:00.013 reports from 07:00): the
 * same wall-clock time one day, one week or one calendar month earlier in `tz`. A day across a change of summer time
 * is 23 or 25 hours long, as the plant lived it; the 31st of a month goes back to the last day of a shorter one.
 */
export function periodEnding(kind: PeriodKind, at: number, tz: string): Period {
  const to = Math.floor(at / MINUTE_MS) * MINUTE_MS;
  const wall = wallTime(to, tz);
  if (kind === "month") {
    const month = wall.month === 1 ? 12 : wall.month - 1;
    const year = wall.month === 1 ? wall.year - 1 : wall.year;
    const day = Math.min(wall.day, new Date(Date.UTC(year, month, 0)).getUTCDate());
    return { from: zonedTime({ ...wall, year, month, day }, tz), to };
  }
  const days = kind === "day" ? 1 : 7;
  const back = new Date(Date.UTC(wall.year, wall.month - 1, wall.day - days));
  const from = zonedTime(
    { ...wall, year: back.getUTCFullYear(), month: back.getUTCMonth() + 1, day: back.getUTCDate() },
    tz,
  );
  return { from, to };
}

/**
 * `msg.period = { from, to }`: epoch ms or ISO 8601 text each, `from` before `to`, a year at most. Text without an
 * offset (`2026-03-01T00:00`, `2026-03-01`) is a wall time in `tz`, the report's zone, not the gateway's.
 */
export function parsePeriod(value: unknown, tz: string): Period {
  const bad = () => new ReportError("report-period-invalid", { value: JSON.stringify(value) ?? String(value) });
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw bad();
  const fields = value as Record<string, unknown>;
  const from = instant(fields.from, tz);
  const to = instant(fields.to, tz);
  if (from === undefined || to === undefined || from >= to || to - from > MAX_SPAN_MS) throw bad();
  return { from, to };
}

const LOCAL_ISO = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::\d{2}(?:\.\d+)?)?)?$/;

function instant(value: unknown, tz: string): number | undefined {
  if (typeof value === "number") return Number.isFinite(value) ? value : undefined;
  if (typeof value !== "string" || value.trim() === "") return undefined;
  const local = LOCAL_ISO.exec(value.trim());
  if (local) {
    const [, year, month, day, hour, minute] = local.map(Number);
    const wall = { year, month, day, hour: Number.isNaN(hour) ? 0 : hour, minute: Number.isNaN(minute) ? 0 : minute };
    if (wall.month < 1 || wall.month > 12 || wall.day < 1 || wall.day > 31 || wall.hour > 23 || wall.minute > 59) {
      return undefined;
    }
    return zonedTime(wall, tz);
  }
  const at = Date.parse(value);
  return Number.isFinite(at) ? at : undefined;
}

export function isTimeZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

export interface WallTime {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
}

const formats = new Map<string, Intl.DateTimeFormat>();

/** The wall-clock time at `at` in `tz`. */
export function wallTime(at: number, tz: string): WallTime {
  let format = formats.get(tz);
  if (!format) {
    format = new Intl.DateTimeFormat("en-US", {
      timeZone: tz,
      hourCycle: "h23",
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
    });
    formats.set(tz, format);
  }
  const value: Record<string, number> = {};
  for (const part of format.formatToParts(at)) value[part.type] = Number(part.value);
  return { year: value.year, month: value.month, day: value.day, hour: value.hour, minute: value.minute };
}

/** `2026-01-12 07:00`, in `tz`: how the report names times. */
export function formatWall(at: number, tz: string): string {
  const w = wallTime(at, tz);
  const two = (n: number) => String(n).padStart(2, "0");
  return `${w.year}-${two(w.month)}-${two(w.day)} ${two(w.hour)}:${two(w.minute)}`;
}

/**
 * The instant at which `tz` shows `wall`: of a wall time that the autumn change of summer time shows twice, the first;
 * a wall time that the spring change skips falls an hour off, next to the change.
 */
export function zonedTime(wall: WallTime, tz: string): number {
  const asUtc = Date.UTC(wall.year, wall.month - 1, wall.day, wall.hour, wall.minute);
  const offsetAt = (at: number) => {
    const w = wallTime(at, tz);
    return Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute) - Math.floor(at / MINUTE_MS) * MINUTE_MS;
  };
  const first = asUtc - offsetAt(asUtc);
  const second = asUtc - offsetAt(first);
  return Math.min(first, second);
}
