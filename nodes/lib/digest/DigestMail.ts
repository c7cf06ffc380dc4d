import type { DigestItem } from "./DigestBuffer";

/** One event as a digest lists it; `ackUrl` when the row's alarm can be acknowledged from the mail. */
export interface DigestLine {
  time: string;
  event: string;
  label: string;
  value: string;
  ackUrl?: string;
}

export interface DigestWords {
  intro: string;
  headings: { time: string; event: string; label: string; value: string };
  /** The words of a row's acknowledge link, as a single alarm mail says them. */
  ackLink: string;
}

interface AlarmLike {
  label?: unknown;
  id?: unknown;
  value?: unknown;
  occurrence?: unknown;
  ackedAt?: unknown;
}

/** The events that ask someone to act on an alarm: its trigger, and an escalation's reminders of it. */
const TRIGGER_LIKE = new Set(["trigger", "reminder", "escalation"]);

/** Reads each collected msg the way an operator scans an alarm list: when, what happened, which alarm, its value. */
export function digestLines(items: DigestItem[], formatTime: (ms: number) => string): DigestLine[] {
  return items.map(({ at, msg }) => {
    const m = (msg ?? {}) as { event?: unknown; topic?: unknown; payload?: unknown; alarm?: AlarmLike };
    const alarm = m.alarm ?? {};
    return {
      time: formatTime(at),
      event: text(m.event),
      label: text(alarm.label ?? alarm.id ?? m.topic),
      value: text(alarm.value ?? m.payload),
    };
  });
}

/**
 * Which rows of a digest ask for an acknowledgement: a trigger-like event (not a recovery, not an ack) whose
 * occurrence was not acknowledged later in the same window (an `ack` event, or a later msg whose alarm carries its
 * `ackedAt`). Whether the alarm can be acknowledged by link at all is the single alarm mail's rule, applied after.
 */
export function digestAwaitsAck(items: DigestItem[]): boolean[] {
  const alarms = items.map(({ msg }) => {
    const m = (msg ?? {}) as { event?: unknown; alarm?: AlarmLike };
    return { event: m.event, alarm: m.alarm ?? {} };
  });
  // Walked newest first, so that each row knows whether its occurrence was acknowledged after it.
  const acked = new Set<unknown>();
  const awaits = new Array<boolean>(items.length).fill(false);
  for (let i = alarms.length - 1; i >= 0; i--) {
    const { event, alarm } = alarms[i];
    const occurrence = alarm.occurrence;
    awaits[i] = typeof event === "string" && TRIGGER_LIKE.has(event) && !acked.has(occurrence);
    const ackedHere = event === "ack" || (alarm.ackedAt !== undefined && alarm.ackedAt !== null);
    if (ackedHere && typeof occurrence === "string") acked.add(occurrence);
  }
  return awaits;
}

/** The digest as text: a table aligned in columns, each row that has a link followed by it on a line of its own. */
export function digestText(lines: DigestLine[], words: DigestWords): string {
  const rows = [words.headings, ...lines].map((l) => [l.time, l.event, l.label, l.value]);
  const widths = [0, 1, 2].map((col) => Math.max(...rows.map((r) => r[col].length)));
  const line = (r: string[]) =>
    r
      .map((cell, col) => (col < 3 ? cell.padEnd(widths[col]) : cell))
      .join("  ")
      .trimEnd();
  // Under the event column: a long address in the table itself would push every value off a phone's screen.
  const indent = " ".repeat(widths[0] + 2);
  const table = [
    line(rows[0]),
    ...lines.flatMap((l, i) => [line(rows[i + 1]), ...(l.ackUrl ? [`${indent}${words.ackLink}: ${l.ackUrl}`] : [])]),
  ];
  return [words.intro, "", ...table].join("\n");
}

/** The digest as an HTML table; a last column holds the rows' acknowledge links when any row has one. */
export function digestHtml(lines: DigestLine[], words: DigestWords): string {
  const linked = lines.some((l) => l.ackUrl);
  const cell = (tag: string, value: string) => `<${tag}>${escapeHtml(value)}</${tag}>`;
  const link = (url: string | undefined) =>
    url ? `<td><a href="${escapeHtml(url)}">${escapeHtml(words.ackLink)}</a></td>` : "<td></td>";
  const row = (l: DigestLine, tag: string, last: string) =>
    `<tr>${[l.time, l.event, l.label, l.value].map((v) => cell(tag, v)).join("")}${linked ? last : ""}</tr>`;
  return [
    `<p>${escapeHtml(words.intro)}</p>`,
    "<table>",
    row(words.headings, "th", "<th></th>"),
    ...lines.map((l) => row(l, "td", link(l.ackUrl))),
    "</table>",
  ].join("\n");
}

function text(value: unknown): string {
  if (value === undefined || value === null) return "";
  if (typeof value === "object") return JSON.stringify(value);
  return String(value).replace(/[\r\n]+/g, " ");
}

function escapeHtml(value: string): string {
  return value.replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c] ?? c,
  );
}
