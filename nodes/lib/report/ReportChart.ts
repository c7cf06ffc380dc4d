import { FLOOD_ABOVE, TEN_MINUTES_MS, type ReportFigures } from "./ReportFigures";
import { formatWall, wallTime } from "./ReportPeriod";

export const CHART_WIDTH = 800;
export const CHART_HEIGHT = 320;
const MARGIN = { left: 48, right: 16, top: 36, bottom: 44 };
const BAR = "#1f6fb2";
const FLOOD = "#c62828";

export interface ChartWords {
  title: string;
  /** The flood line's legend: "flood: more than 10". */
  flood: string;
  axis: string;
}

/**
 * The chart of alarms per 10 minutes, with the flood line, as a page for the screenshot node's Chromium to draw: an
 * SVG made here, with no script and nothing fetched, so that it renders the same on any gateway and without network.
 * A month is 4,464 periods on 736 pixels: each column is the largest count of the periods it covers, so that a peak
 * is never averaged away.
 */
export function chartPage(report: ReportFigures, tz: string, words: ChartWords): string {
  const counts = report.tenMinutes;
  const plotW = CHART_WIDTH - MARGIN.left - MARGIN.right;
  const plotH = CHART_HEIGHT - MARGIN.top - MARGIN.bottom;
  const columns = Math.min(counts.length, plotW);
  const peaks: number[] = [];
  for (let c = 0; c < columns; c++) {
    const first = Math.floor((c * counts.length) / columns);
    const last = Math.max(first + 1, Math.floor(((c + 1) * counts.length) / columns));
    let peak = 0;
    for (let i = first; i < last; i++) peak = Math.max(peak, counts[i]);
    peaks.push(peak);
  }
  const top = niceTop(Math.max(FLOOD_ABOVE + 2, ...peaks));
  const y = (n: number) => MARGIN.top + plotH - (n / top) * plotH;
  const colW = plotW / Math.max(columns, 1);
  const bars = peaks
    .map((n, c) =>
      n === 0
        ? ""
        : `<rect x="${(MARGIN.left + c * colW).toFixed(2)}" y="${y(n).toFixed(2)}" width="${Math.max(colW - (colW > 3 ? 1 : 0), 0.6).toFixed(2)}" height="${(MARGIN.top + plotH - y(n)).toFixed(2)}" fill="${BAR}"/>`,
    )
    .join("");
  const step = top / 4;
  const grid = [0, 1, 2, 3, 4]
    .map((i) => {
      const v = i * step;
      return (
        `<line x1="${MARGIN.left}" x2="${MARGIN.left + plotW}" y1="${y(v)}" y2="${y(v)}" stroke="#ddd"/>` +
        `<text x="${MARGIN.left - 6}" y="${y(v) + 4}" text-anchor="end">${v}</text>`
      );
    })
    .join("");
  const ticks = timeTicks(report, tz)
    .map(({ at, label }) => {
      const x = MARGIN.left + ((at - report.from) / (report.to - report.from)) * plotW;
      return (
        `<line x1="${x}" x2="${x}" y1="${MARGIN.top + plotH}" y2="${MARGIN.top + plotH + 5}" stroke="#666"/>` +
        `<text x="${x}" y="${MARGIN.top + plotH + 18}" text-anchor="middle">${escapeXml(label)}</text>`
      );
    })
    .join("");
  const floodY = y(FLOOD_ABOVE);
  const svg =
    `<svg xmlns="http://www.w3.org/2000/svg" width="${CHART_WIDTH}" height="${CHART_HEIGHT}" ` +
    `font-family="DejaVu Sans, Arial, sans-serif" font-size="11" fill="#333">` +
    `<rect width="100%" height="100%" fill="#fff"/>` +
    `<text x="${MARGIN.left}" y="20" font-size="14" font-weight="bold">${escapeXml(words.title)}</text>` +
    grid +
    bars +
    `<line x1="${MARGIN.left}" x2="${MARGIN.left + plotW}" y1="${floodY}" y2="${floodY}" stroke="${FLOOD}" stroke-width="2" stroke-dasharray="6 4"/>` +
    `<text x="${MARGIN.left + plotW}" y="${floodY - 5}" text-anchor="end" fill="${FLOOD}">${escapeXml(words.flood)}</text>` +
    `<line x1="${MARGIN.left}" x2="${MARGIN.left + plotW}" y1="${MARGIN.top + plotH}" y2="${MARGIN.top + plotH}" stroke="#666"/>` +
    ticks +
    `<text x="${MARGIN.left + plotW / 2}" y="${CHART_HEIGHT - 6}" text-anchor="middle">${escapeXml(words.axis)}</text>` +
    `</svg>`;
  return `<!doctype html><html><head><meta charset="utf-8"></head><body style="margin:0">${svg}</body></html>`;
}

export interface CountRow {
  label: string;
  alarms: number;
  /** The largest count of one 10-minute period within the row. */
  peak: number;
}

/**
 * What the chart shows, as rows for a table: per hour for a period of up to two days, per day beyond. The mail shows
 * it when no browser could draw the chart.
 */
export function countRows(report: ReportFigures, tz: string): CountRow[] {
  const hourly = report.to - report.from <= 2 * 86_400_000;
  const rows: CountRow[] = [];
  let current: CountRow | undefined;
  let currentKey = "";
  report.tenMinutes.forEach((n, i) => {
    const at = report.from + i * TEN_MINUTES_MS;
    const label = formatWall(at, tz);
    const key = hourly ? label.slice(0, 13) : label.slice(0, 10);
    if (key !== currentKey || !current) {
      currentKey = key;
      current = { label: hourly ? `${key}:00` : key, alarms: 0, peak: 0 };
      rows.push(current);
    }
    current.alarms += n;
    current.peak = Math.max(current.peak, n);
  });
  return rows;
}

/** Up to nine ticks at local midnights (or local hours for a day), labelled in the plant's time. */
function timeTicks(report: ReportFigures, tz: string): Array<{ at: number; label: string }> {
  const span = report.to - report.from;
  const hourly = span <= 2 * 86_400_000;
  const candidates: number[] = [];
  for (let at = Math.ceil(report.from / TEN_MINUTES_MS) * TEN_MINUTES_MS; at < report.to; at += TEN_MINUTES_MS) {
    const w = wallTime(at, tz);
    if (w.minute === 0 && (hourly || w.hour === 0)) candidates.push(at);
  }
  const every = Math.max(1, Math.ceil(candidates.length / 9));
  return candidates
    .filter((_, i) => i % every === 0)
    .map((at) => {
      const text = formatWall(at, tz);
      return { at, label: hourly ? text.slice(11) : text.slice(5, 10) };
    });
}

function niceTop(n: number): number {
  const steps = [12, 20, 40, 60, 80, 100, 200, 400, 600, 800, 1000];
  return steps.find((s) => s >= n) ?? Math.ceil(n / 1000) * 1000;
}

function escapeXml(text: string): string {
  return text.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c] as string);
}
