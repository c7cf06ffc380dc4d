/**
 * The known day of a block that the report's tests tell, once through the library and once through a real block in
 * Node-RED: an alarm that chatters (three 10-second occurrences in 40 s), a flood (12 alarms in one 10-minute
 * period), three acknowledgements after 30 s, 90 s and 10 min, an alarm shelved twice (2 h by marie, then 4 h by
 * nobody, still shelved at the end), an alarm in alarm since 30 h before the period, and one out of service for an
 * hour. The mails of the day differ between the two, and so do their figures.
 */
export const S = 1000;
export const MIN = 60 * S;
export const H = 60 * MIN;
export const FROM = Date.UTC(2026, 0, 12);
export const TO = FROM + 24 * H;

/** Every figure of the day's alarms, with its verdict, as `[value, verdict]` by figure key. */
export const DAY_ALARM_FIGURES = {
  alarms: [18, "info"],
  "per-day": [18, "ok"],
  "per-hour": [0.75, "ok"],
  "per-hour-peak": [12, "info"],
  "per-10min": [0.125, "ok"],
  "per-10min-peak": [12, "over"],
  "periods-over-10": [100 / 144, "ok"],
  "flood-time": [100 / 144, "ok"],
  floods: [1, "info"],
  "top10-share": [(12 / 18) * 100, "over"],
  chattering: [1, "over"],
  fleeting: [1, "over"],
  stale: [1, "ok"],
  standing: [13, "over"],
  "priority-high": [(2 / 18) * 100, "over"],
  "priority-medium": [(1 / 18) * 100, "ok"],
  "priority-low": [(15 / 18) * 100, "ok"],
  shelved: [1, "info"],
  "shelved-time": [6 * H, "info"],
  "shelved-unauthorised": [1, "over"],
  "out-of-service": [1, "info"],
  "out-of-service-time": [H, "info"],
  "ack-median": [90 * S, "info"],
  "ack-p90": [10 * MIN, "info"],
} as const;

/** The day's bad actors, most alarms first, as `[id, count]`: the chattering alarm, then ids in order. */
export const DAY_BAD_ACTORS = [
  ["CH", 3],
  ["AK1", 1],
  ["AK2", 1],
  ["AK3", 1],
  ["F1", 1],
  ["F10", 1],
  ["F11", 1],
  ["F12", 1],
  ["F2", 1],
  ["F3", 1],
];
