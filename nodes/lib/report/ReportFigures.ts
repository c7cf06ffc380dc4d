import type { HistoryRecord } from "../alarm/AlarmHistory";
import type { Period } from "./ReportPeriod";
import {
  FLOOD_ABOVE,
  floodPeriods,
  judge,
  peakHour,
  peakStanding,
  percentile,
  type Target,
  type Verdict,
} from "./ReportTargets";

export { FLOOD_ABOVE, type Target, type Verdict } from "./ReportTargets";

export const TEN_MINUTES_MS = 600_000;
const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;
/** Chattering: 3 triggers or more of one alarm within a minute. */
const CHATTER_MS = 60_000;
/** Fleeting: an occurrence back to normal within a minute, before an operator could act on it. */
const FLEETING_MS = 60_000;
/** Stale: in alarm for more than 24 hours. */
const STALE_MS = DAY_MS;
const TOP = 10;

export type Unit = "count" | "percent" | "ms";

export interface Figure {
  key: FigureKey;
  value: number | null;
  unit: Unit;
  target: Target | null;
  verdict: Verdict;
}

export type FigureKey =
  | "alarms"
  | "per-day"
  | "per-hour"
  | "per-hour-peak"
  | "per-10min"
  | "per-10min-peak"
  | "periods-over-10"
  | "flood-time"
  | "floods"
  | "top10-share"
  | "chattering"
  | "fleeting"
  | "stale"
  | "standing"
  | "priority-high"
  | "priority-medium"
  | "priority-low"
  | "shelved"
  | "shelved-time"
  | "shelved-unauthorised"
  | "out-of-service"
  | "out-of-service-time"
  | "ack-median"
  | "ack-p90"
  | "mail-sent"
  | "mail-failed"
  | "mail-retried"
  | "mail-latency-median"
  | "mail-latency-p90";

export interface BadActor {
  block: string | number;
  id: string;
  label: string;
  priority: number | null;
  count: number;
  /** % of all alarms of the period. */
  share: number;
}

/** Shelving or out of service over the period: actions, alarms, time (clipped to the period) and who. */
export interface Removal {
  actions: number;
  alarms: number;
  timeMs: number;
  byUser: Array<{ user: string | null; count: number }>;
}

export interface Delays {
  /** What the row is for: a priority (`1` to `4`) or an `ackVia` (`flow`, `mail`, `link`). */
  key: string;
  count: number;
  medianMs: number | null;
  p90Ms: number | null;
}

/** A mail of the outboxes' sent log or failed list, as the report reads it. */
export interface MailOutcome {
  createdAt: number;
  /** When the server accepted it, or when it was given up. */
  at: number;
  attempts: number;
  sent: boolean;
}

export interface ReportFigures extends Period {
  figures: Figure[];
  badActors: BadActor[];
  /** Alarms per 10-minute period from `from`; the last may be shorter. */
  tenMinutes: number[];
  chattering: string[];
  fleeting: string[];
  stale: string[];
  shelved: Removal;
  outOfService: Removal;
  ackByPriority: Delays[];
  ackByVia: Delays[];
  /** The oldest event kept, when it is after `from`: the figures then cover less than the period. */
  historyFrom: number | null;
}

interface AlarmTrack {
  block: string | number;
  id: string;
  label: string;
  priority: number | null;
  count: number;
  /** The last two triggers, for chattering. */
  previous: [number, number];
  openSince: number | null;
  ackFrom: number | null;
  shelvedSince: number | null;
  oosSince: number | null;
  shelvedMs: number;
  oosMs: number;
}

/**
 * The figures of ISA-18.2 and EEMUA 191 for one period, folded from the history one event at a time, so that a month
 * of a large plant never sits in memory. Feed each block's events in time order (`add`), starting before the period
 * if the history allows: earlier events set the state (what was in alarm, shelved or awaiting an acknowledgement when
 * the period began) and are not counted. An alarm is a `trigger` event: a new occurrence shown to the operator.
 */
export class ReportBuilder {
  /** By block, then by alarm id: two lookups, no key to build for each of a million events. */
  private readonly byBlock = new Map<string | number, Map<string, AlarmTrack>>();
  private readonly alarms: AlarmTrack[] = [];
  private readonly buckets: Uint32Array;
  private readonly priorities = [0, 0, 0, 0, 0];
  private total = 0;
  private readonly chatter = new Set<AlarmTrack>();
  private readonly fleet = new Set<AlarmTrack>();
  private readonly staleSet = new Set<AlarmTrack>();
  private readonly starts: number[] = [];
  private readonly ends: number[] = [];
  private readonly delaysByPriority = new Map<string, number[]>();
  private readonly delaysByVia = new Map<string, number[]>();
  private readonly shelveUsers = new Map<string | null, number>();
  private readonly oosUsers = new Map<string | null, number>();
  private shelveActions = 0;
  private oosActions = 0;
  private oldest = Infinity;

  constructor(readonly period: Period) {
    this.buckets = new Uint32Array(Math.ceil((period.to - period.from) / TEN_MINUTES_MS));
  }

  add(block: string | number, r: HistoryRecord, via?: string): void {
    if (r.at < this.oldest) this.oldest = r.at;
    if (r.id === null || r.at >= this.period.to) return;
    const alarm = this.track(block, r);
    const inside = r.at >= this.period.from;
    switch (r.event) {
      case "trigger":
        if (alarm.openSince !== null) this.closeOccurrence(alarm, r.at);
        if (inside) this.count(alarm, r);
        alarm.previous = [alarm.previous[1], r.at];
        alarm.openSince = r.at;
        alarm.ackFrom = r.at;
        break;
      case "recovery":
        if (alarm.openSince === null) break;
        if (inside && r.at - alarm.openSince < FLEETING_MS) this.fleet.add(alarm);
        this.closeOccurrence(alarm, r.at);
        break;
      case "ack":
        if (inside && alarm.ackFrom !== null) {
          const delay = r.at - alarm.ackFrom;
          push(this.delaysByPriority, String(r.priority ?? alarm.priority), delay);
          push(this.delaysByVia, via ?? "flow", delay);
        }
        alarm.ackFrom = null;
        break;
      case "shelve":
        alarm.shelvedSince ??= r.at;
        if (inside) {
          this.shelveActions++;
          countUser(this.shelveUsers, r.user);
        }
        break;
      case "unshelve":
        alarm.shelvedMs += this.overlap(alarm.shelvedSince, r.at);
        alarm.shelvedSince = null;
        break;
      case "out-of-service":
        alarm.oosSince ??= r.at;
        if (inside) {
          this.oosActions++;
          countUser(this.oosUsers, r.user);
        }
        break;
      case "in-service":
        alarm.oosMs += this.overlap(alarm.oosSince, r.at);
        alarm.oosSince = null;
        break;
      default:
        break;
    }
  }

  /** The figures, with the outboxes' mails of the period (their sent log and failed list) when there are servers. */
  result(mails: readonly MailOutcome[] | null = null): ReportFigures {
    const { from, to } = this.period;
    for (const alarm of this.alarms) {
      if (alarm.openSince !== null) this.closeOccurrence(alarm, to);
      alarm.shelvedMs += this.overlap(alarm.shelvedSince, to);
      alarm.oosMs += this.overlap(alarm.oosSince, to);
    }
    const total = this.total;
    const span = to - from;
    const share = (n: number) => (total === 0 ? 0 : (n / total) * 100);
    const buckets = this.buckets;
    let peak10 = 0;
    let over10 = 0;
    for (const n of buckets) {
      if (n > peak10) peak10 = n;
      if (n > FLOOD_ABOVE) over10++;
    }
    const flood = floodPeriods(buckets);
    const actors = [...this.alarms]
      .filter((a) => a.count > 0)
      .sort((a, b) => b.count - a.count || String(a.block).localeCompare(String(b.block)) || a.id.localeCompare(b.id))
      .slice(0, TOP)
      .map((a) => ({
        block: a.block,
        id: a.id,
        label: a.label,
        priority: a.priority,
        count: a.count,
        share: share(a.count),
      }));
    const topShare = share(actors.reduce((sum, a) => sum + a.count, 0));
    const shelved = this.removal(this.shelveActions, this.shelveUsers, (a) => a.shelvedMs);
    const oos = this.removal(this.oosActions, this.oosUsers, (a) => a.oosMs);
    const allDelays = sortedNumbers([...this.delaysByPriority.values()].flat());
    const sent = mails?.filter((m) => m.sent && m.at >= from && m.at < to) ?? [];
    const failed = mails?.filter((m) => !m.sent && m.at >= from && m.at < to) ?? [];
    const latencies = sortedNumbers(sent.map((m) => m.at - m.createdAt));
    const fig = (key: FigureKey, value: number | null, unit: Unit, target: Target | null = null): Figure => ({
      key,
      value,
      unit,
      target,
      verdict: judge(value, target),
    });
    const high = share(this.priorities[1]);
    const medium = share(this.priorities[2]);
    const low = share(this.priorities[3] + this.priorities[4]);
    const figures: Figure[] = [
      fig("alarms", total, "count"),
      fig("per-day", (total / span) * DAY_MS, "count", { kind: "max", good: 150, acceptable: 300 }),
      fig("per-hour", (total / span) * HOUR_MS, "count", { kind: "max", good: 6, acceptable: 12 }),
      fig("per-hour-peak", peakHour(buckets), "count"),
      fig("per-10min", (total / span) * TEN_MINUTES_MS, "count", { kind: "max", good: 1, acceptable: 2 }),
      fig("per-10min-peak", peak10, "count", { kind: "max", good: FLOOD_ABOVE }),
      fig("periods-over-10", pct(over10, buckets.length), "percent", { kind: "below", good: 1 }),
      fig("flood-time", pct(flood.periods, buckets.length), "percent", { kind: "below", good: 1 }),
      fig("floods", flood.count, "count"),
      fig("top10-share", topShare, "percent", { kind: "max", good: 1, acceptable: 5 }),
      fig("chattering", this.chatter.size, "count", { kind: "max", good: 0 }),
      fig("fleeting", this.fleet.size, "count", { kind: "max", good: 0 }),
      fig("stale", this.staleSet.size, "count", { kind: "below", good: 5 }),
      fig("standing", peakStanding(this.starts, this.ends), "count", { kind: "below", good: 5 }),
      fig("priority-high", high, "percent", { kind: "max", good: 5, acceptable: 10 }),
      fig("priority-medium", medium, "percent", { kind: "max", good: 15, acceptable: 25 }),
      fig("priority-low", low, "percent", { kind: "min", good: 80, acceptable: 70 }),
      fig("shelved", shelved.alarms, "count"),
      fig("shelved-time", shelved.timeMs, "ms"),
      fig("shelved-unauthorised", this.shelveUsers.get(null) ?? 0, "count", { kind: "max", good: 0 }),
      fig("out-of-service", oos.alarms, "count"),
      fig("out-of-service-time", oos.timeMs, "ms"),
      fig("ack-median", percentile(allDelays, 50), "ms"),
      fig("ack-p90", percentile(allDelays, 90), "ms"),
    ];
    if (mails) {
      figures.push(
        fig("mail-sent", sent.length, "count"),
        fig("mail-failed", failed.length, "count", { kind: "max", good: 0 }),
        fig("mail-retried", [...sent, ...failed].filter((m) => m.attempts > 1).length, "count"),
        fig("mail-latency-median", percentile(latencies, 50), "ms"),
        fig("mail-latency-p90", percentile(latencies, 90), "ms"),
      );
    }
    const ids = (set: Set<AlarmTrack>) => [...set].map((a) => a.id).sort();
    return {
      from,
      to,
      figures,
      badActors: actors,
      tenMinutes: [...buckets],
      chattering: ids(this.chatter),
      fleeting: ids(this.fleet),
      stale: ids(this.staleSet),
      shelved,
      outOfService: oos,
      ackByPriority: delays(this.delaysByPriority),
      ackByVia: delays(this.delaysByVia),
      historyFrom: this.oldest > from && this.oldest !== Infinity ? this.oldest : null,
    };
  }

  private track(block: string | number, r: HistoryRecord): AlarmTrack {
    let ids = this.byBlock.get(block);
    if (!ids) this.byBlock.set(block, (ids = new Map()));
    let alarm = ids.get(r.id as string);
    if (!alarm) {
      alarm = {
        block,
        id: r.id as string,
        label: r.label ?? "",
        priority: r.priority,
        count: 0,
        previous: [-Infinity, -Infinity],
        openSince: null,
        ackFrom: null,
        shelvedSince: null,
        oosSince: null,
        shelvedMs: 0,
        oosMs: 0,
      };
      ids.set(r.id as string, alarm);
      this.alarms.push(alarm);
    } else {
      // The latest label and priority, should the configuration have changed during the period.
      if (r.label !== null) alarm.label = r.label;
      if (r.priority !== null) alarm.priority = r.priority;
    }
    return alarm;
  }

  private count(alarm: AlarmTrack, r: HistoryRecord): void {
    this.total++;
    alarm.count++;
    this.buckets[Math.floor((r.at - this.period.from) / TEN_MINUTES_MS)]++;
    if (r.priority !== null && r.priority >= 1 && r.priority <= 4) this.priorities[r.priority]++;
    if (r.at - alarm.previous[0] <= CHATTER_MS) this.chatter.add(alarm);
  }

  /** The end of an occurrence: its time in alarm counts for standing and stale alarms where it meets the period. */
  private closeOccurrence(alarm: AlarmTrack, end: number): void {
    const start = alarm.openSince as number;
    alarm.openSince = null;
    const { from, to } = this.period;
    const clippedStart = Math.max(start, from);
    const clippedEnd = Math.min(end, to);
    if (clippedEnd <= clippedStart) return;
    this.starts.push(clippedStart);
    this.ends.push(clippedEnd);
    if (start + STALE_MS < clippedEnd) this.staleSet.add(alarm);
  }

  private overlap(since: number | null, until: number): number {
    if (since === null) return 0;
    return Math.max(0, Math.min(until, this.period.to) - Math.max(since, this.period.from));
  }

  private removal(actions: number, users: Map<string | null, number>, time: (a: AlarmTrack) => number): Removal {
    let alarms = 0;
    let timeMs = 0;
    for (const alarm of this.alarms) {
      const ms = time(alarm);
      if (ms > 0) alarms++;
      timeMs += ms;
    }
    const byUser = [...users]
      .map(([user, count]) => ({ user, count }))
      .sort((a, b) => b.count - a.count || (a.user ?? "").localeCompare(b.user ?? ""));
    return { actions, alarms, timeMs, byUser };
  }
}

/** A typed array sorts numbers natively: a month of acknowledgements is 300,000 of them. */
function sortedNumbers(list: readonly number[]): Float64Array {
  return Float64Array.from(list).sort();
}

function pct(n: number, of: number): number {
  return of === 0 ? 0 : (n / of) * 100;
}

function push(map: Map<string, number[]>, key: string, value: number): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

function countUser(users: Map<string | null, number>, user: string | null): void {
  users.set(user, (users.get(user) ?? 0) + 1);
}

function delays(map: Map<string, number[]>): Delays[] {
  return [...map]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([key, list]) => {
      const sorted = sortedNumbers(list);
      return { key, count: sorted.length, medianMs: percentile(sorted, 50), p90Ms: percentile(sorted, 90) };
    });
}
