/** A wall-clock reading in one time zone: ISO weekday (1 = Monday ... 7) and minutes since local midnight. */
export interface WallTime {
  day: number;
  minute: number;
}

const WEEKDAYS: Record<string, number> = { Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6, Sun: 7 };
const MINUTE_MS = 60_000;
const DAY_MINUTES = 1440;

/** Whether `tz` names a time zone that Intl knows (an IANA name such as Europe/Paris, or UTC). */
export function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/** The gateway's own time zone, which rosters and quiet hours use unless the node names another. */
export function localTimeZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone;
}

/** "HH:MM" (00:00 to 23:59, or 24:00 for the end of a day) as minutes since midnight; undefined when it is not one. */
export function parseClock(text: unknown): number | undefined {
  if (typeof text !== "string") return undefined;
  const match = /^(\d{1,2}):(\d{2})$/.exec(text.trim());
  if (!match) return undefined;
  const hours = Number(match[1]);
  const minutes = Number(match[2]);
  if (minutes > 59 || hours > 24 || (hours === 24 && minutes > 0)) return undefined;
  return hours * 60 + minutes;
}

/** Whether `minute` lies in [from, to) on a clock face: a window that ends before it starts runs past midnight. */
export function inClockWindow(minute: number, from: number, to: number): boolean {
  if (from === to) return false;
  return from < to ? minute >= from && minute < to : minute >= from || minute < to;
}

/**
 * Reads instants as the wall clock of one time zone shows them. Rosters and quiet hours are wall-clock times, so a
 * shift from 22:00 to 06:00 is one shift on the night the clocks change, whether that night has 7 or 9 hours.
 */
export class ZonedClock {
  private readonly format: Intl.DateTimeFormat;

  constructor(readonly tz: string) {
    this.format = new Intl.DateTimeFormat("en-US", {
      timeZone: tz,
      hourCycle: "h23",
      weekday: "short",
      year: "numeric",
      month: "numeric",
      day: "numeric",
      hour: "numeric",
      minute: "numeric",
      second: "numeric",
    });
  }

  wallTime(at: number): WallTime {
    const parts = this.parts(at);
    return { day: WEEKDAYS[parts.weekday] ?? 1, minute: parts.hour * 60 + parts.minute };
  }

  /** "02:15": the local time of `at`, as a status shows it. */
  hhmm(at: number): string {
    const { hour, minute } = this.parts(at);
    return `${String(hour).padStart(2, "0")}:${String(minute).padStart(2, "0")}`;
  }

  /**
   * The first instant after `at` at which the wall clock shows `minute` (minutes since midnight). On the night the
   * clocks go forward a time that does not exist is reached when the clock jumps past it.
   */
  nextWallMinute(at: number, minute: number): number {
    const now = this.wallTime(at);
    const secondsIn = this.parts(at).second * 1000 + (((at % 1000) + 1000) % 1000);
    let ahead = (minute - now.minute + DAY_MINUTES) % DAY_MINUTES;
    if (ahead === 0) ahead = DAY_MINUTES;
    const naive = at - secondsIn + ahead * MINUTE_MS;
    // The same wall-clock distance is longer or shorter by the change of offset in between.
    const corrected = naive - (this.offset(naive) - this.offset(at));
    if (corrected > at && this.wallTime(corrected).minute === minute) return corrected;
    return naive > at ? naive : naive + DAY_MINUTES * MINUTE_MS;
  }

  /** The zone's offset from UTC at `at`, in ms. */
  private offset(at: number): number {
    const p = this.parts(at);
    const wall = Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second);
    return wall - (at - (((at % 1000) + 1000) % 1000));
  }

  private parts(at: number) {
    const fields: Record<string, string> = {};
    for (const part of this.format.formatToParts(at)) fields[part.type] = part.value;
    return {
      weekday: fields.weekday ?? "Mon",
      year: Number(fields.year),
      month: Number(fields.month),
      day: Number(fields.day),
      hour: Number(fields.hour),
      minute: Number(fields.minute),
      second: Number(fields.second),
    };
  }
}
