/**
 * Every number that becomes a time (a shelve duration, an on- or off-delay, a window, a timeout, a retry delay, a
 * maximum age) is read here, so that none can reach a timer or a date unchecked. A time past year 275760 is not a
 * date: `toISOString()` throws on it, long after the value was accepted and the state changed. A span longer than
 * `setTimeout` can wait makes Node.js fire the timer at once. Both are refused when the value is read.
 */

/** Ten years: no alarm is shelved, no window kept and no mail retried for longer. */
export const MAX_DURATION_MS = 10 * 365 * 24 * 3_600_000;

export interface DurationRange {
  /** The shortest span accepted, in ms (0 by default). */
  least?: number;
  /** The longest, in ms (`MAX_DURATION_MS` by default, never more). */
  most?: number;
  /** Only a whole number of units (ms, or the unit the caller multiplies by). */
  whole?: boolean;
  /** The caller's unit in ms (1 by default): a number of hours is checked as hours, its range in ms. */
  unit?: number;
}

/**
 * A span of time from a setting or a msg: a number, or a numeric text (as the editor and a CSV give them), in the
 * caller's unit. Undefined when it is not one, or outside the range: the caller names the field in its own error.
 * Booleans, empty texts, arrays and objects are not numbers, although `Number()` would make one of some of them.
 */
export function readDuration(raw: unknown, range: DurationRange = {}): number | undefined {
  let value: number;
  if (typeof raw === "number") value = raw;
  else if (typeof raw === "string" && raw.trim() !== "") value = Number(raw.trim());
  else return undefined;
  const unit = range.unit ?? 1;
  if (!Number.isFinite(value) || (range.whole && !Number.isInteger(value))) return undefined;
  const ms = value * unit;
  const most = Math.min(range.most ?? MAX_DURATION_MS, MAX_DURATION_MS);
  return ms < (range.least ?? 0) || ms > most ? undefined : ms;
}

/** The range as a user reads it in an error: "1–315360000000". */
export function durationRangeText(range: DurationRange = {}): string {
  const unit = range.unit ?? 1;
  const most = Math.min(range.most ?? MAX_DURATION_MS, MAX_DURATION_MS);
  return `${(range.least ?? 0) / unit}–${most / unit}`;
}

/** The last time a `Date` can hold (year 275760); a time read back from disk past it is damage, not a deadline. */
export const LAST_TIME_MS = 8.64e15;

export function isTime(value: unknown): value is number {
  return typeof value === "number" && Number.isFinite(value) && Math.abs(value) <= LAST_TIME_MS;
}
