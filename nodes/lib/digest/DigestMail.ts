import type { DigestItem } from "./DigestBuffer";

/** One event as a digest lists it. */
export interface DigestLine {
  time: string;
  event: string;
  label: string;
  value: string;
}

export interface DigestWords {
  intro: string;
  headings: { time: string; event: string; label: string; value: string };
}

interface AlarmLike {
  label?: unknown;
  id?: unknown;
  value?: unknown;
}

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

export function digestText(lines: DigestLine[], words: DigestWords): string {
  const rows = [words.headings, ...lines].map((l) => [l.time, l.event, l.label, l.value]);
  const widths = [0, 1, 2].map((col) => Math.max(...rows.map((r) => r[col].length)));
  const table = rows.map((r) =>
    r
      .map((cell, col) => (col < 3 ? cell.padEnd(widths[col]) : cell))
      .join("  ")
      .trimEnd(),
  );
  return [words.intro, "", ...table].join("\n");
}

export function digestHtml(lines: DigestLine[], words: DigestWords): string {
  const cell = (tag: string, value: string) => `<${tag}>${escapeHtml(value)}</${tag}>`;
  const row = (l: DigestLine, tag: string) =>
    `<tr>${[l.time, l.event, l.label, l.value].map((v) => cell(tag, v)).join("")}</tr>`;
  return [
    `<p>${escapeHtml(words.intro)}</p>`,
    "<table>",
    row(words.headings, "th"),
    ...lines.map((l) => row(l, "td")),
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
