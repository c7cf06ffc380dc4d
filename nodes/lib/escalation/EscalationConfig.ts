import { CodedError, type ErrorParams } from "../common/CodedError";
import { readDuration } from "../common/Duration";
import { isPlainObject } from "../common/PlainObject";
import { isTimeZone, localTimeZone, parseClock } from "./ZonedClock";

/** The codes of an escalation node's errors (its settings, or a msg it cannot follow), in its own catalogue. */
export type EscalationErrorCode =
  | "levels-missing"
  | "level-invalid"
  | "levels-order"
  | "roster-unknown"
  | "roster-invalid"
  | "quiet-invalid"
  | "tz-invalid"
  | "stop-invalid"
  | "occurrence-missing";

export class EscalationError extends CodedError<EscalationErrorCode> {
  constructor(code: EscalationErrorCode, params: ErrorParams = {}) {
    super("alarm-mail-escalation", code, params);
  }
}

/** One step of the escalation: who is told, how long after the trigger, and how often reminded while nobody acts. */
export interface Level {
  /** The id or name of an `alarm-mail-recipients` node, or `roster:<name>`. */
  recipients: string;
  after: number;
  /** ms between reminders at this level; 0: none. */
  repeat: number;
}

/** One shift of a roster: a group on duty on some weekdays (1 = Monday) between two wall-clock times. */
export interface Shift {
  recipients: string;
  days: number[];
  /** Minutes since local midnight; `to` at or before `from` runs past midnight into the next day. */
  from: number;
  to: number;
}

export interface QuietHours {
  from: number;
  to: number;
  /** Alarms with a priority number greater than this (less urgent) wait for the end of the quiet hours. */
  priority: number;
}

export type StopOn = "ack" | "recovery" | "both";

export interface EscalationConfig {
  levels: Level[];
  rosters: Map<string, Shift[]>;
  quiet?: QuietHours;
  stopOn: StopOn;
  tz: string;
}

export const ROSTER_PREFIX = "roster:";
const STOP_ON: readonly StopOn[] = ["ack", "recovery", "both"];

/** The node's settings as the editor stores them (numbers may be texts), checked once at deploy. */
export function parseEscalationConfig(raw: Record<string, unknown>): EscalationConfig {
  const tzRaw = typeof raw.tz === "string" ? raw.tz.trim() : "";
  const tz = tzRaw === "" ? localTimeZone() : tzRaw;
  if (!isTimeZone(tz)) throw new EscalationError("tz-invalid", { tz: tzRaw });
  const stopOn = raw.stopOn === undefined || raw.stopOn === "" ? "ack" : raw.stopOn;
  if (!STOP_ON.includes(stopOn as StopOn)) throw new EscalationError("stop-invalid", { value: String(stopOn) });
  const rosters = parseRosters(raw.rosters);
  const levels = parseLevels(raw.levels, rosters);
  return { levels, rosters, quiet: parseQuiet(raw.quiet), stopOn: stopOn as StopOn, tz };
}

function parseLevels(raw: unknown, rosters: Map<string, Shift[]>): Level[] {
  if (!Array.isArray(raw) || raw.length === 0) throw new EscalationError("levels-missing");
  const levels = raw.map((item: unknown, index): Level => {
    const level = index + 1;
    if (!isPlainObject(item)) throw new EscalationError("level-invalid", { level, field: "recipients" });
    const recipients = typeof item.recipients === "string" ? item.recipients.trim() : "";
    if (recipients === "") throw new EscalationError("level-invalid", { level, field: "recipients" });
    if (recipients.startsWith(ROSTER_PREFIX) && !rosters.has(recipients.slice(ROSTER_PREFIX.length))) {
      throw new EscalationError("roster-unknown", { level, roster: recipients.slice(ROSTER_PREFIX.length) });
    }
    const after = readDuration(item.after ?? 0, { whole: true });
    if (after === undefined) throw new EscalationError("level-invalid", { level, field: "after" });
    const repeat = readDuration(item.repeat ?? 0, { whole: true });
    if (repeat === undefined) throw new EscalationError("level-invalid", { level, field: "repeat" });
    return { recipients, after, repeat };
  });
  for (let i = 1; i < levels.length; i++) {
    // Each level is reached later than the one before: the table reads as the order in which people are woken.
    if (levels[i].after <= levels[i - 1].after) throw new EscalationError("levels-order", { level: i + 1 });
  }
  return levels;
}

function parseRosters(raw: unknown): Map<string, Shift[]> {
  const rosters = new Map<string, Shift[]>();
  if (raw === undefined || raw === null || raw === "") return rosters;
  if (!isPlainObject(raw)) throw new EscalationError("roster-invalid", { roster: "", shift: 0 });
  for (const [name, shifts] of Object.entries(raw)) {
    if (!Array.isArray(shifts)) throw new EscalationError("roster-invalid", { roster: name, shift: 0 });
    rosters.set(
      name,
      shifts.map((item: unknown, index) => parseShift(item, name, index + 1)),
    );
  }
  return rosters;
}

function parseShift(item: unknown, roster: string, shift: number): Shift {
  const invalid = () => new EscalationError("roster-invalid", { roster, shift });
  if (!isPlainObject(item)) throw invalid();
  const recipients = typeof item.recipients === "string" ? item.recipients.trim() : "";
  const from = parseClock(item.from);
  const to = parseClock(item.to);
  const days = Array.isArray(item.days) ? item.days.map(Number) : [];
  if (recipients === "" || recipients.startsWith(ROSTER_PREFIX) || from === undefined || to === undefined) {
    throw invalid();
  }
  if (days.length === 0 || !days.every((day) => Number.isInteger(day) && day >= 1 && day <= 7)) throw invalid();
  return { recipients, days: [...new Set(days)].sort(), from: from % 1440, to: to % 1440 };
}

function parseQuiet(raw: unknown): QuietHours | undefined {
  if (raw === undefined || raw === null || raw === "") return undefined;
  if (!isPlainObject(raw)) throw new EscalationError("quiet-invalid");
  // An empty pair of times is no quiet hours, as the editor saves a form left blank.
  if ((raw.from ?? "") === "" && (raw.to ?? "") === "") return undefined;
  const from = parseClock(raw.from);
  const to = parseClock(raw.to);
  const priority = Number(raw.priority ?? 1);
  if (from === undefined || to === undefined || !Number.isInteger(priority) || priority < 0) {
    throw new EscalationError("quiet-invalid");
  }
  return { from: from % 1440, to: to % 1440, priority };
}
