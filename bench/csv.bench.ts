/**
 * A CSV of 100,000 alarm history rows: time and memory. Candidates, in one process, on the same rows:
 *
 * - the baseline: a naive `rows.map((r) => fields.join(",")).join("\n")` (no quoting, no formatting), as a Buffer;
 * - csv-stringify's sync API on every row at once, with no formatting: what the library costs by itself;
 * - `toCsv` (nodes/lib/csv/CsvExport.ts) as `alarm-mail-csv` calls it: local dates in a time zone, semicolon, decimal
 *   comma, BOM, formula neutralisation, in chunks with a turn of the event loop between them;
 * - `alarm-mail-csv` in Node-RED (node-red-node-test-helper), reading an `alarm-mail-block` whose history holds the
 *   100,000 rows (restored from its snapshot): from `receive(msg)` to the msg with the attachment at the output.
 *
 * Candidates are interleaved over rounds; medians shown. Memory is the peak of the heap and Buffers above what they
 * held before the run (after a GC), sampled every few ms and at the end; the result is still held at the end. `npm run bench:csv` (BENCH_ROWS=100000 by default) prints
 * the table and writes it into bench/RESULTS.md between the bench:csv markers.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { stringify } from "csv-stringify/sync";
import helper from "node-red-node-test-helper";
import type { NodeInitializer, NodeMessage } from "node-red";
import { AlarmEngine } from "../nodes/lib/alarm/AlarmEngine";
import type { HistoryRecord } from "../nodes/lib/alarm/AlarmHistory";
import { DEFAULT_OPTIONS, type AlarmDefinition } from "../nodes/lib/alarm/BlockConfig";
import { encodeBlockSnapshot } from "../nodes/lib/alarm/BlockSnapshot";
import { HISTORY_COLUMNS, sourceColumns } from "../nodes/lib/csv/CsvConfig";
import { DateFormatter, toCsv } from "../nodes/lib/csv/CsvExport";
import { machine, median, ranAt, resultsFile, runMain, versionOf, writeResults } from "./support";

const requireHere = createRequire(__filename);
const root = join(__dirname, "..");

const ROWS = positiveInt(process.env.BENCH_ROWS, 100_000);
const ROUNDS = 5;

helper.init(requireHere.resolve("node-red"));
const nodes = ["alarm-mail-block", "alarm-mail-csv"].map(
  (name) => requireHere(join(root, "dist", `${name}.js`)) as NodeInitializer,
);

function positiveInt(value: string | undefined, fallback: number): number {
  const n = Number(value);
  return Number.isInteger(n) && n > 0 ? n : fallback;
}

const collectGarbage: () => void = (() => {
  setFlagsFromString("--expose-gc");
  return runInNewContext("gc") as () => void;
})();

const ALARMS: AlarmDefinition[] = Array.from({ length: 50 }, (_, i) => ({
  id: `LT-${200 + i}-H`,
  label: `Basin ${i + 1} level high`,
  topic: `LT-${200 + i}`,
  condition: "high",
  setpoint: 6,
  deadband: 0.3,
  onDelay: 0,
  offDelay: 0,
  priority: ((i % 4) + 1) as 1 | 2 | 3 | 4,
  ack: "manual",
  bit: 0,
  latch: false,
}));

/** A plausible history: triggers, acks by an operator, recoveries, over about two months, one row a minute. */
function historyRows(count: number): HistoryRecord[] {
  const start = Date.UTC(2026, 0, 1);
  const events = ["trigger", "ack", "recovery"] as const;
  return Array.from({ length: count }, (_, i) => {
    const alarm = ALARMS[i % ALARMS.length];
    const event = events[Math.floor(i / ALARMS.length) % 3];
    return {
      at: start + i * 60_000,
      event,
      id: alarm.id,
      label: alarm.label,
      priority: alarm.priority,
      state: event === "trigger" ? "unacked" : event === "ack" ? "acked" : "normal",
      value: Math.round((5 + (i % 37) / 10) * 100) / 100,
      user: event === "ack" ? "jean.dupont" : null,
    };
  });
}

interface Run {
  ms: number;
  peakHeapBytes: number;
  bytes: number;
}

/** The CSV of the last run, held until the next one so that the memory measured includes it. */
let kept: Buffer | undefined;

/** What the JavaScript heap and the Buffers outside it hold: a large Buffer does not count in heapUsed. */
function memoryInUse(): number {
  const usage = process.memoryUsage();
  return usage.heapUsed + usage.arrayBuffers;
}

/** Runs `work` once, timing it and sampling the memory every 2 ms (and at the end) above the level after a GC. */
async function measure(work: () => Promise<number> | number): Promise<Run> {
  kept = undefined;
  collectGarbage();
  collectGarbage();
  const base = memoryInUse();
  let peak = base;
  const sampler = setInterval(() => (peak = Math.max(peak, memoryInUse())), 2);
  const began = performance.now();
  const bytes = await work();
  const ms = performance.now() - began;
  peak = Math.max(peak, memoryInUse());
  clearInterval(sampler);
  return { ms, peakHeapBytes: peak - base, bytes };
}

const FIELDS = ["at", "event", "id", "label", "priority", "state", "value", "user"] as const;

function naive(rows: HistoryRecord[]): number {
  const text = [FIELDS.join(","), ...rows.map((r) => FIELDS.map((f) => r[f] ?? "").join(","))].join("\n");
  kept = Buffer.from(text, "utf8");
  return kept.length;
}

function stringifyAtOnce(rows: HistoryRecord[]): number {
  const records = rows.map((r) => FIELDS.map((f) => r[f]));
  kept = Buffer.from(stringify([FIELDS as unknown as string[], ...records]), "utf8");
  return kept.length;
}

const dates = new DateFormatter("local", "", "Europe/Paris");
const columns = sourceColumns<HistoryRecord>(HISTORY_COLUMNS, [], (key) => key);

async function library(rows: HistoryRecord[]): Promise<number> {
  kept = await toCsv(rows, columns, { delimiter: ";", bom: true, decimalComma: true, header: true, dates });
  return kept.length;
}

/** A block restored with the rows in its history, and a CSV node reading it; unloaded after the run. */
async function viaNodeRed(rows: HistoryRecord[]): Promise<Run> {
  const dataDir = mkdtempSync(join(tmpdir(), "alarm-mail-bench-csv-"));
  mkdirSync(join(dataDir, "blocks"), { recursive: true });
  const engine = new AlarmEngine(ALARMS, { block: 1, ...DEFAULT_OPTIONS, historySize: rows.length });
  writeFileSync(
    join(dataDir, "blocks", "block.json"),
    encodeBlockSnapshot({ engine: engine.snapshot(), history: rows }, 0),
  );
  helper.settings({ alarmMail: { dataDir } } as Parameters<typeof helper.settings>[0]);
  const flow: Array<Record<string, unknown> & { id: string; type: string }> = [
    { id: "tab", type: "tab", label: "bench" },
    {
      id: "block",
      z: "tab",
      type: "alarm-mail-block",
      block: 1,
      alarms: ALARMS,
      historySize: rows.length,
      wires: [[]],
    },
    {
      id: "csv",
      z: "tab",
      type: "alarm-mail-csv",
      source: "history",
      block: "block",
      delimiter: ";",
      decimalComma: true,
      bom: true,
      timeZone: "Europe/Paris",
      wires: [["out"]],
    },
    { id: "out", z: "tab", type: "helper" },
  ];
  await helper.load(nodes, flow);
  const run = await measure(
    () =>
      new Promise<number>((resolve) => {
        helper.getNode("out").once("input", (msg: NodeMessage & { attachments: Array<{ content: Buffer }> }) => {
          kept = msg.attachments[0].content;
          resolve(kept.length);
        });
        helper.getNode("csv").receive({ topic: "report" } as NodeMessage);
      }),
  );
  (helper as unknown as { _sandbox: { resetHistory(): void } })._sandbox.resetHistory();
  await helper.unload();
  rmSync(dataDir, { recursive: true, force: true });
  return run;
}

const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MB`;
const ms = (value: number) => (value >= 100 ? value.toFixed(0) : value.toFixed(1));

interface Row {
  name: string;
  runs: Run[];
  ratio: number;
  roundRatios: number[];
}

function report(rows: Row[], seconds: number): string {
  const lines = [
    ranAt(seconds),
    "",
    // csv-stringify exports no package.json, so it is read beside the entry point.
    `- Machine: ${machine()}, Node-RED ${versionOf("node-red/package.json")}, ` +
      `csv-stringify ${versionOf("csv-stringify", 2)}`,
    `- Command: \`${process.env.BENCH_ROWS ? `BENCH_ROWS=${ROWS} ` : ""}npm run bench:csv\``,
    `- ${ROWS.toLocaleString("en")} history rows (8 columns), ${ROUNDS} rounds after a warm-up, candidates interleaved; ` +
      "medians shown; memory: peak of heap and Buffers above the level before the run, after a GC, the CSV included",
    "",
    "| candidate | ms (median) | runs (ms) | ratio to naive join | per-round ratios | peak memory Δ | CSV size |",
    "| --- | ---: | --- | ---: | --- | ---: | ---: |",
  ];
  for (const r of rows) {
    lines.push(
      `| ${r.name} | ${ms(median(r.runs.map((x) => x.ms)))} | ${r.runs.map((x) => ms(x.ms)).join(", ")} | ` +
        `**${r.ratio.toFixed(2)}×** | ${Math.min(...r.roundRatios).toFixed(2)} – ${Math.max(...r.roundRatios).toFixed(2)} | ` +
        `${mb(median(r.runs.map((x) => x.peakHeapBytes)))} | ${mb(r.runs[0].bytes)} |`,
    );
  }
  const byName = (prefix: string) => rows.find((r) => r.name.startsWith(prefix)) as Row;
  const lib = byName("toCsv");
  const node = byName("alarm-mail-csv");
  const perRow = (r: Row) => ((median(r.runs.map((x) => x.ms)) * 1000) / ROWS).toFixed(2);
  lines.push(
    "",
    `- toCsv: ${perRow(lib)} µs a row; through the node in Node-RED, reading the block: ${perRow(node)} µs a row.`,
  );
  return lines.join("\n");
}

async function main(): Promise<void> {
  const began = performance.now();
  const rows = historyRows(ROWS);
  const candidates: Array<[string, () => Promise<Run>]> = [
    ["naive join (baseline)", () => measure(() => naive(rows))],
    ["csv-stringify sync, all rows at once, no formatting", () => measure(() => stringifyAtOnce(rows))],
    ["toCsv: dates, `;`, decimal comma, BOM, formulas, in chunks", () => measure(() => library(rows))],
    ["alarm-mail-csv in Node-RED, history of a block", () => viaNodeRed(rows)],
  ];
  for (const [, run] of candidates) await run();
  const runs = new Map<string, Run[]>();
  for (let round = 1; round <= ROUNDS; round++) {
    for (const [name, run] of candidates) {
      const result = await run();
      runs.set(name, [...(runs.get(name) ?? []), result]);
      console.log(`round ${round} ${name.padEnd(60)} ${ms(result.ms).padStart(7)} ms ${mb(result.peakHeapBytes)}`);
    }
  }
  const baseline = runs.get(candidates[0][0]) as Run[];
  const rowsOut: Row[] = candidates.map(([name]) => {
    const mine = runs.get(name) as Run[];
    return {
      name,
      runs: mine,
      ratio: median(mine.map((x) => x.ms)) / median(baseline.map((x) => x.ms)),
      roundRatios: mine.map((x, i) => x.ms / baseline[i].ms),
    };
  });
  const block = report(rowsOut, (performance.now() - began) / 1000);
  console.log(`\n${block}\n`);
  await writeResults("csv", "`bench/csv.bench.ts`: a CSV of 100,000 history rows", block);
  console.log(`written to ${resultsFile}`);
}

runMain(main);
