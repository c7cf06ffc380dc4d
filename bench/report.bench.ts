/**
 * A month of alarm history for 500 alarms (about 1 million events, synthetic) reported: time, memory, and the history
 * store's size on disk.
 *
 * The stream: 10 blocks of 50 alarms over 30 days; each occurrence is a trigger, an acknowledgement a few seconds to
 * minutes later, and a recovery; how often an alarm triggers follows a Zipf law (a few bad actors, a long tail), a
 * flood every few days, and one shelving a day. The events are written through `HistoryStore` as the blocks write
 * them (one flush a second of simulated batches here: one per 2,000 events), then the report reads them back with
 * fresh stores, as after a restart: open (counting the day files), scan into `ReportBuilder`, the figures, the text,
 * the HTML and both CSVs. No chart: its cost is a Chromium capture, measured by `npm run bench:screenshot`.
 *
 * Memory is the peak of the heap and Buffers above what they held before the run (after a GC), sampled every 5 ms.
 * `npm run bench:report` prints the table and writes it into bench/RESULTS.md between the bench:report markers.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import type { HistoryRecord } from "../nodes/lib/alarm/AlarmHistory";
import { HistoryStore, historyDiskBytes } from "../nodes/lib/alarm/HistoryStore";
import { ReportBuilder } from "../nodes/lib/report/ReportFigures";
import { badActorsCsv, figuresCsv, reportHtml, reportText, ReportWords } from "../nodes/lib/report/ReportMail";
import { machine, median, ranAt, runMain, writeResults } from "./support";

const BLOCKS = 10;
const PER_BLOCK = 50;
const DAYS = 30;
const TARGET_EVENTS = 1_000_000;
const ROUNDS = 3;
const DAY = 86_400_000;
const TO = Date.UTC(2026, 11, 1);
const FROM = TO - DAYS * DAY;

const collectGarbage: () => void = (() => {
  setFlagsFromString("--expose-gc");
  return runInNewContext("gc") as () => void;
})();

/** A small fast generator, so that every run writes the same month. */
function random(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 1_103_515_245 + 12_345) % 2 ** 31;
    return s / 2 ** 31;
  };
}

/** One block's month, oldest first. */
function blockEvents(block: number): HistoryRecord[] {
  const rand = random(block + 1);
  const events: HistoryRecord[] = [];
  const occurrences = TARGET_EVENTS / 3 / BLOCKS;
  // Zipf weights: alarm k triggers in proportion to 1 / (k + 1).
  const weights = Array.from({ length: PER_BLOCK }, (_, k) => 1 / (k + 1));
  const total = weights.reduce((a, b) => a + b);
  for (let k = 0; k < PER_BLOCK; k++) {
    const id = `B${block}-TAG-${String(k).padStart(3, "0")}`;
    const label = `Block ${block} tag ${k} high`;
    const priority = (k % 20 === 0 ? 1 : k % 5 === 0 ? 2 : 3) as 1 | 2 | 3;
    const count = Math.round((occurrences * weights[k]) / total);
    const base = { id, label, priority, value: 9, user: null };
    let at = FROM + rand() * 60_000;
    const step = (DAYS * DAY) / (count + 1);
    for (let i = 0; i < count && at < TO - 3_600_000; i++) {
      events.push({ ...base, at, event: "trigger", state: "unacked" });
      events.push({ ...base, at: at + 5_000 + rand() * 600_000, event: "ack", state: "acked", user: "operator" });
      events.push({ ...base, at: at + 20_000 + rand() * 3_000_000, event: "recovery", state: "normal" });
      at += step * (0.2 + rand() * 1.6);
    }
  }
  for (let d = 0; d < DAYS; d++) {
    const id = `B${block}-TAG-049`;
    const base = { id, label: "shelved tag", priority: 3 as const, state: null, value: null, user: "shift.lead" };
    events.push({ ...base, at: FROM + d * DAY + 3_600_000, event: "shelve" });
    events.push({ ...base, at: FROM + d * DAY + 7_200_000, event: "unshelve" });
  }
  return events.sort((a, b) => a.at - b.at);
}

async function write(dir: string): Promise<{ events: number; ms: number }> {
  let events = 0;
  let ms = 0;
  for (let b = 0; b < BLOCKS; b++) {
    const records = blockEvents(b);
    events += records.length;
    const start = performance.now();
    const store = new HistoryStore(join(dir, `block-${b}`), {
      days: 35,
      maxEvents: 1_000_000,
      flushMs: 3_600_000,
      now: () => TO,
    });
    for (let i = 0; i < records.length; i++) {
      store.add(records[i]);
      if (i % 2000 === 1999) await store.flush();
    }
    await store.close();
    ms += performance.now() - start;
  }
  return { events, ms };
}

const words = new ReportWords((key) => (key === "locale" ? "en-US" : key), "Europe/Paris");

/** What the node does on a msg, without the chart: returns the alarms counted, so that nothing is optimised away. */
async function report(dir: string): Promise<number> {
  const builder = new ReportBuilder({ from: FROM, to: TO });
  for (let b = 0; b < BLOCKS; b++) {
    const store = new HistoryStore(join(dir, `block-${b}`), { days: 35, maxEvents: 1_000_000, now: () => TO });
    await store.scan(-Infinity, TO, (r) => builder.add(b, r));
    await store.close();
  }
  const figures = builder.result([]);
  reportText(figures, words, "all");
  reportHtml(figures, words, "all", { missing: "bench" });
  await figuresCsv(figures, words);
  await badActorsCsv(figures, words);
  return figures.figures[0].value ?? 0;
}

async function measure<T>(work: () => Promise<T>): Promise<{ ms: number; cpu: number; peak: number; result: T }> {
  collectGarbage();
  const base = () => {
    const m = process.memoryUsage();
    return m.heapUsed + m.external + m.arrayBuffers;
  };
  const before = base();
  let peak = 0;
  const sampler = setInterval(() => (peak = Math.max(peak, base() - before)), 5);
  const start = performance.now();
  const cpuStart = process.cpuUsage();
  const result = await work();
  const ms = performance.now() - start;
  const used = process.cpuUsage(cpuStart);
  clearInterval(sampler);
  peak = Math.max(peak, base() - before);
  return { ms, cpu: (used.user + used.system) / 1000, peak, result };
}

const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MB`;

async function main(): Promise<void> {
  const started = performance.now();
  const dir = mkdtempSync(join(tmpdir(), "alarm-report-bench-"));
  try {
    const written = await write(dir);
    let disk = 0;
    for (let b = 0; b < BLOCKS; b++) disk += await historyDiskBytes(join(dir, `block-${b}`));
    await report(dir); // warm-up
    const runs: Array<{ ms: number; cpu: number; peak: number; result: number }> = [];
    for (let r = 0; r < ROUNDS; r++) runs.push(await measure(() => report(dir)));
    const ms = median(runs.map((r) => r.ms));
    const cpu = median(runs.map((r) => r.cpu));
    const peak = Math.max(...runs.map((r) => r.peak));
    const alarms = runs[0].result;
    const verdict = ms < 2000 && peak < 200 * 2 ** 20 ? "within" : "OVER";
    const lines = [
      ranAt((performance.now() - started) / 1000),
      "",
      `- Machine: ${machine({ tidyModel: true })}`,
      "- Command: `npm run bench:report`",
      `- ${BLOCKS} blocks × ${PER_BLOCK} alarms, ${DAYS} days: ${written.events.toLocaleString("en-US")} events ` +
        `(${alarms.toLocaleString("en-US")} alarms); ${ROUNDS} rounds after a warm-up; memory: peak of heap and ` +
        "Buffers above the level before the run, after a GC",
      "",
      "| step | ms (median) | CPU ms (median) | runs (ms) | peak memory Δ |",
      "| --- | ---: | ---: | --- | ---: |",
      `| write the month through HistoryStore (one flush per 2,000 events) | ${written.ms.toFixed(0)} | – | 1 run | – |`,
      `| report: open the stores, scan, figures, text, HTML, both CSVs | ${ms.toFixed(0)} | ${cpu.toFixed(0)} | ${runs.map((r) => r.ms.toFixed(0)).join(", ")} | ${mb(peak)} |`,
      "",
      `- Load average when it ran: ${loadavg()[0].toFixed(1)} on ${availableParallelism()} CPUs (a machine shared with other work: wall times grow with it).`,
      "",
      `- History store on disk for the month: ${mb(disk)} (${(disk / written.events).toFixed(1)} bytes an event), ` +
        `in ${BLOCKS * (DAYS + 1)} day files at most.`,
      `- Target: < 2 s and < 200 MB: **${verdict}**.`,
    ];
    const block = lines.join("\n");
    console.log(block);
    await writeResults("report", "Report: a month of 500 alarms", block);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

runMain(main);
