/** ISA-18.2 / EEMUA 191: a flood is more than 10 alarms in 10 minutes, and ends with a period of fewer than 5. */
export const FLOOD_ABOVE = 10;
const FLOOD_ENDS_BELOW = 5;

/**
 * How a value compares with its target: `max` is good at or under `good` and acceptable up to `acceptable`; `below`
 * is good strictly under `good`; `min` is good at or above `good` and acceptable down to `acceptable`.
 */
export interface Target {
  kind: "max" | "below" | "min";
  good: number;
  acceptable?: number;
}

export type Verdict = "ok" | "acceptable" | "over" | "info";
export function judge(value: number | null, target: Target | null): Verdict {
  if (target === null || value === null) return "info";
  const { kind, good, acceptable } = target;
  if (kind === "min") {
    if (value >= good) return "ok";
    return acceptable !== undefined && value >= acceptable ? "acceptable" : "over";
  }
  if (kind === "below" ? value < good : value <= good) return "ok";
  return acceptable !== undefined && value <= acceptable ? "acceptable" : "over";
}

/** Nearest rank: the smallest value with at least `p` % of the values at or under it. */
export function percentile(sorted: ArrayLike<number>, p: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)];
}

/** 10-minute periods in flood: from one with more than 10 alarms, until one with fewer than 5 (not in flood). */
export function floodPeriods(buckets: ArrayLike<number>): { periods: number; count: number } {
  let periods = 0;
  let count = 0;
  let flooding = false;
  for (let i = 0; i < buckets.length; i++) {
    const n = buckets[i];
    if (!flooding && n > FLOOD_ABOVE) {
      flooding = true;
      count++;
    } else if (flooding && n < FLOOD_ENDS_BELOW) {
      flooding = false;
    }
    if (flooding) periods++;
  }
  return { periods, count };
}

/** The most alarms in one clock hour of the period (six 10-minute periods from its start). */
export function peakHour(buckets: ArrayLike<number>): number {
  let peak = 0;
  for (let i = 0; i < buckets.length; i += 6) {
    let n = 0;
    for (let j = i; j < Math.min(i + 6, buckets.length); j++) n += buckets[j];
    if (n > peak) peak = n;
  }
  return peak;
}

/** The most occurrences in alarm at once; one that ends at the moment another starts does not overlap it. */
export function peakStanding(starts: number[], ends: number[]): number {
  const s = Float64Array.from(starts).sort();
  const e = Float64Array.from(ends).sort();
  let open = 0;
  let peak = 0;
  let j = 0;
  for (const start of s) {
    while (j < e.length && e[j] <= start) {
      j++;
      open--;
    }
    open++;
    if (open > peak) peak = open;
  }
  return peak;
}
