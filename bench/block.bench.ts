/**
 * Value updates per second through an alarm block: `AlarmEngine` alone, and `alarm-mail-block` in a real Node-RED
 * runtime embedded in this process (`RED.init`/`RED.start`, no test helper), with 10 and with 10,000 alarms defined;
 * each as a ratio to a pass-through `change` node measured in the same run, candidates interleaved. Then the memory that 10,000 active alarms take,
 * and what saving their snapshot costs. `npm run bench:block` (BENCH_UPDATES=20000 msgs through the runtime by
 * default; the engine alone gets ten times as many).
 *
 * Machines are noisy: the ratios, and the cost per update of 10 against 10,000 alarms, are the result. They are
 * printed and written into bench/RESULTS.md between the bench:block markers.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import type { NodeMessage } from "node-red";
import { AlarmEngine } from "../nodes/lib/alarm/AlarmEngine";
import { AlarmHistory, historyRecord } from "../nodes/lib/alarm/AlarmHistory";
import { DEFAULT_OPTIONS, type AlarmDefinition, type BlockOptions } from "../nodes/lib/alarm/BlockConfig";
import { encodeBlockSnapshot } from "../nodes/lib/alarm/BlockSnapshot";
import { SnapshotFile } from "../nodes/lib/common/SnapshotFile";
import { EmbeddedNodeRed, cpuMs, rssPeak, type FlowNode } from "./runtime";
import { machine, median, ranAt, resultsFile, runMain, writeResults } from "./support";

const UPDATES = positiveInt(process.env.BENCH_UPDATES, 20_000);
/** For a profile (`node --cpu-prof`): only the runtime candidate whose name starts with this runs, nothing written. */
const ONLY = process.env.BENCH_ONLY;
const ENGINE_UPDATES = UPDATES * 10;
const ROUNDS = 5;
const SMALL = 10;
const LARGE = 10_000;
/** Only for the engine alone: ten times more again, to see whether the cost per update keeps growing. */
const HUGE = 100_000;
const OPTIONS: BlockOptions = { block: 1, ...DEFAULT_OPTIONS };

function positiveInt(value: string | undefined, fallback: number): number {
  if (value === undefined || value === "") return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`BENCH_UPDATES=${value} is not a positive integer`);
  return n;
}

/** One high alarm per topic, priorities mixed, manual acknowledgement: a plain HMI alarm list. */
function table(size: number): AlarmDefinition[] {
  return Array.from({ length: size }, (_, i) => ({
    id: `LT-${i}-H`,
    label: `Tank ${i} level high`,
    topic: `LT-${i}`,
    condition: "high" as const,
    setpoint: 6,
    deadband: 0.5,
    onDelay: 0,
    offDelay: 0,
    priority: ((i % 4) + 1) as 1 | 2 | 3 | 4,
    ack: "manual" as const,
    bit: 0,
    latch: false,
  }));
}

/**
 * The same pseudo-random updates for every candidate: topics in turn over the whole table, a value above the setpoint
 * one time in ten, so that about one update in six starts or ends an alarm, whatever the size of the table.
 */
function updates(size: number, count: number): Array<{ topic: string; payload: number }> {
  let seed = 42;
  const random = () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  return Array.from({ length: count }, (_, i) => ({ topic: `LT-${i % size}`, payload: random() < 0.1 ? 7 : 5 }));
}

const collectGarbage: () => void = (() => {
  setFlagsFromString("--expose-gc");
  return runInNewContext("gc") as () => void;
})();

function heapAfterGc(): number {
  collectGarbage();
  collectGarbage();
  return process.memoryUsage().heapUsed;
}

interface Run {
  perSecond: number;
  events: number;
  /** CPU time of the process per msg, in µs (the engine alone: per update). */
  cpuMicros: number;
  /** Peak RSS of the process during the run. */
  rssBytes: number;
}

/** AlarmEngine.update alone, the clock advanced so that each topic sees an update every 6 s in either table. */
function measureEngine(size: number): Run {
  const engine = new AlarmEngine(table(size), OPTIONS);
  const feed = updates(size, ENGINE_UPDATES);
  const step = 6000 / size;
  let now = Date.UTC(2026, 0, 15);
  let events = 0;
  for (const u of feed.slice(0, 1000)) events += engine.update(u.topic, u.payload, (now += step)).length;
  events = 0;
  const rss = rssPeak();
  const cpu = cpuMs();
  const start = performance.now();
  for (const u of feed) events += engine.update(u.topic, u.payload, (now += step)).length;
  const seconds = (performance.now() - start) / 1000;
  return {
    perSecond: feed.length / seconds,
    events,
    cpuMicros: ((cpuMs() - cpu) * 1000) / feed.length,
    rssBytes: rss.stop(),
  };
}

/**
 * N msgs into one node of a running flow, timed until Node-RED has reported every one of them complete (the
 * onComplete hook). Its output is not wired, for the baseline as for the block. Msgs go in batches of 1000, each
 * batch handed over at once, the next one once the last is complete.
 */
let deployed = 0;

async function measureRuntime(red: EmbeddedNodeRed, node: FlowNode): Promise<Run> {
  // A new id each run: a block restores the snapshot saved under its id, and every run must start from scratch.
  const id = `subject-${++deployed}`;
  await red.deploy([
    { id: "tab", type: "tab", label: "bench" },
    { ...node, id, z: "tab", wires: [[]] },
  ]);
  try {
    const subject = red.node(id);
    // Counted on the node's own send, for every candidate alike: a messaging hook would slow every msg down.
    let events = 0;
    const send = subject.send.bind(subject);
    subject.send = (msg) => {
      events += 1;
      send(msg);
    };
    const size = Array.isArray(node.alarms) ? node.alarms.length : SMALL;
    const feed = updates(size, UPDATES + 1000);
    let completed = 0;
    let target = 0;
    let finished: () => void = () => undefined;
    red.onComplete((event) => {
      if (event.node.id !== id) return;
      completed += 1;
      if (completed === target) finished();
    });
    const pass = async (batch: typeof feed) => {
      for (let i = 0; i < batch.length; i += 1000) {
        const part = batch.slice(i, i + 1000);
        target = completed + part.length;
        const done = new Promise<void>((resolve) => (finished = resolve));
        for (const u of part) subject.receive({ ...u } as NodeMessage);
        await done;
      }
    };
    await pass(feed.slice(0, 1000));
    collectGarbage();
    events = 0;
    const rss = rssPeak();
    const cpu = cpuMs();
    const start = performance.now();
    await pass(feed.slice(1000));
    const seconds = (performance.now() - start) / 1000;
    return {
      perSecond: UPDATES / seconds,
      events,
      cpuMicros: ((cpuMs() - cpu) * 1000) / UPDATES,
      rssBytes: rss.stop(),
    };
  } finally {
    red.onComplete(undefined);
    await red.deploy([]);
  }
}

interface Memory {
  engineBytes: number;
  historyBytes: number;
  runtimeBytes: number;
  snapshotBytes: number;
  encodeMs: number;
  writeMs: number;
}

/** What 10,000 alarms, all active and unacknowledged, cost in memory and on disk. */
async function measureMemory(red: EmbeddedNodeRed): Promise<Memory> {
  const defs = table(LARGE);
  let now = Date.UTC(2026, 0, 15);
  const triggers = defs.flatMap((def) => new AlarmEngine([def], OPTIONS).update(def.topic, 7, (now += 1)));

  const beforeHistory = heapAfterGc();
  const history = new AlarmHistory(OPTIONS.historySize);
  for (const event of triggers) history.add(historyRecord(event));
  const historyBytes = heapAfterGc() - beforeHistory;

  const beforeEngine = heapAfterGc();
  const engine = new AlarmEngine(defs, OPTIONS);
  for (const def of defs) engine.update(def.topic, 7, (now += 1));
  const engineBytes = heapAfterGc() - beforeEngine;
  if (engine.summary().active !== LARGE) throw new Error(`expected ${LARGE} active alarms`);

  let start = performance.now();
  const text = encodeBlockSnapshot({ engine: engine.snapshot(), history: history.list() }, now);
  const encodeMs = performance.now() - start;
  const dir = mkdtempSync(join(tmpdir(), "alarm-mail-bench-snapshot-"));
  const file = new SnapshotFile(join(dir, "block.json"));
  start = performance.now();
  await file.write(text);
  const writeMs = performance.now() - start;
  rmSync(dir, { recursive: true, force: true });

  return {
    engineBytes,
    historyBytes,
    runtimeBytes: await measureRuntimeMemory(red, defs),
    snapshotBytes: Buffer.byteLength(text),
    encodeMs,
    writeMs,
  };
}

/** The heap that a deployed block with 10,000 active alarms keeps, over the same flow with an empty table. */
async function measureRuntimeMemory(red: EmbeddedNodeRed, defs: AlarmDefinition[]): Promise<number> {
  const heapWith = async (alarms: AlarmDefinition[]) => {
    const id = `memory-${++deployed}`;
    await red.deploy([
      { id: "tab", type: "tab", label: "bench" },
      { id, z: "tab", type: "alarm-mail-block", block: 1, alarms, wires: [[]] },
    ]);
    const complete = new Promise<void>((resolve) =>
      red.onComplete((event) => {
        if (event.node.id === id) resolve();
      }),
    );
    const payload = Object.fromEntries(alarms.map((a) => [a.topic, 7]));
    red.node(id).receive({ payload } as NodeMessage);
    await complete;
    red.onComplete(undefined);
    const heap = heapAfterGc();
    await red.deploy([]);
    return heap;
  };
  const empty = await heapWith([]);
  const full = await heapWith(defs);
  return full - empty;
}

const rate = (n: number) => (n >= 100_000 ? `${(n / 1000).toFixed(0)} k` : n.toFixed(0));
const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;
const cpu = (r: Row) => median(r.runs.map((x) => x.cpuMicros));
const micro = (perSecond: number) => (1e6 / perSecond).toFixed(perSecond > 100_000 ? 2 : 1);

interface Row {
  name: string;
  runs: Run[];
  perSecond: number;
  ratio: number;
  roundRatios: [number, number];
}

function row(name: string, runs: Run[], baselineRuns: Run[]): Row {
  const perSecond = median(runs.map((r) => r.perSecond));
  const perRound = runs.map((r, i) => r.perSecond / baselineRuns[i].perSecond);
  return {
    name,
    runs,
    perSecond,
    ratio: perSecond / median(baselineRuns.map((r) => r.perSecond)),
    roundRatios: [Math.min(...perRound), Math.max(...perRound)],
  };
}

function rowsTable(rows: Row[]): string {
  const lines = [
    "| candidate | updates/s (median) | runs | µs per update | CPU µs per update | peak RSS | events per run | ratio to pass-through node | per-round ratios |",
    "|---|---:|---|---:|---:|---:|---:|---:|---|",
  ];
  for (const r of rows) {
    lines.push(
      `| ${r.name} | ${rate(r.perSecond)} | ${r.runs.map((x) => rate(x.perSecond)).join(", ")} | ` +
        `${micro(r.perSecond)} | ${cpu(r).toFixed(cpu(r) < 10 ? 2 : 1)} | ${mb(median(r.runs.map((x) => x.rssBytes)))} | ` +
        `${median(r.runs.map((x) => x.events)).toFixed(0)} | **${r.ratio.toFixed(2)}×** | ` +
        `${r.roundRatios.map((x) => x.toFixed(2)).join(" – ")} |`,
    );
  }
  return lines.join("\n");
}

function report(rows: Row[], memory: Memory, seconds: number, nodeRed: string): string {
  const byName = (name: string) => rows.find((r) => r.name === name) as Row;
  const engineSmall = byName(`AlarmEngine alone, ${SMALL} alarms`);
  const engineLarge = byName(`AlarmEngine alone, ${LARGE.toLocaleString("en")} alarms`);
  const blockSmall = byName(`alarm-mail-block, ${SMALL} alarms`);
  const blockLarge = byName(`alarm-mail-block, ${LARGE.toLocaleString("en")} alarms`);
  const engineHuge = byName(`AlarmEngine alone, ${HUGE.toLocaleString("en")} alarms`);
  const growth = (small: Row, large: Row) => (small.perSecond / large.perSecond).toFixed(2);
  const command = `${process.env.BENCH_UPDATES ? `BENCH_UPDATES=${UPDATES} ` : ""}npm run bench:block`;
  return [
    ranAt(seconds),
    "",
    `- Machine: ${machine()}, Node-RED ${nodeRed}, embedded in the bench process (\`RED.init\`/\`RED.start\`)`,
    `- Command: \`${command}\``,
    `- ${UPDATES} msgs per runtime run and ${ENGINE_UPDATES} updates per engine run, after a warm-up; ` +
      `${ROUNDS} rounds, candidates interleaved; medians shown`,
    "",
    rowsTable(rows),
    "",
    `- Cost per update, 10,000 alarms against 10: ${growth(engineSmall, engineLarge)}× for the engine alone ` +
      `(${micro(engineSmall.perSecond)} against ${micro(engineLarge.perSecond)} µs), ` +
      `${growth(blockSmall, blockLarge)}× through the block in Node-RED ` +
      `(${micro(blockSmall.perSecond)} against ${micro(blockLarge.perSecond)} µs), ` +
      `${(cpu(blockLarge) / cpu(blockSmall)).toFixed(2)}× in CPU per update ` +
      `(${cpu(blockSmall).toFixed(1)} against ${cpu(blockLarge).toFixed(1)} µs); 100,000 alarms against 10,000: ` +
      `${growth(engineLarge, engineHuge)}× for the engine alone.`,
    `- 10,000 active, unacknowledged alarms: the engine keeps ${mb(memory.engineBytes)} ` +
      `(${(memory.engineBytes / LARGE).toFixed(0)} bytes an alarm), their 10,000 trigger events in the history ` +
      `${mb(memory.historyBytes)}; a deployed block holding them keeps ${mb(memory.runtimeBytes)} more heap than ` +
      `one with an empty table.`,
    `- Their snapshot: ${mb(memory.snapshotBytes)}, encoded in ${memory.encodeMs.toFixed(0)} ms and written ` +
      `(temporary file, fsync, rename) in ${memory.writeMs.toFixed(0)} ms.`,
  ].join("\n");
}

async function main(): Promise<void> {
  const began = performance.now();
  const large = LARGE.toLocaleString("en");
  const red = await EmbeddedNodeRed.start();
  const runtime: Array<[string, FlowNode]> = [
    [
      "pass-through `change` node (baseline)",
      { id: "", type: "change", rules: [{ t: "set", p: "seen", pt: "msg", to: "true", tot: "bool" }] },
    ],
    [`alarm-mail-block, ${SMALL} alarms`, { id: "", type: "alarm-mail-block", block: 1, alarms: table(SMALL) }],
    [`alarm-mail-block, ${large} alarms`, { id: "", type: "alarm-mail-block", block: 1, alarms: table(LARGE) }],
  ];
  const engine: Array<[string, number]> = [
    [`AlarmEngine alone, ${SMALL} alarms`, SMALL],
    [`AlarmEngine alone, ${large} alarms`, LARGE],
    [`AlarmEngine alone, ${HUGE.toLocaleString("en")} alarms`, HUGE],
  ];
  const runs = new Map<string, Run[]>();
  const record = (name: string, run: Run) => {
    runs.set(name, [...(runs.get(name) ?? []), run]);
    console.log(
      `${name.padEnd(40)} ${rate(run.perSecond).padStart(8)} updates/s, ${run.cpuMicros.toFixed(2)} µs CPU, ` +
        `${run.events} events`,
    );
  };
  if (ONLY) {
    for (let round = 1; round <= ROUNDS; round++) {
      for (const [name, node] of runtime) if (name.startsWith(ONLY)) record(name, await measureRuntime(red, node));
    }
    await red.stop();
    return;
  }
  for (let round = 1; round <= ROUNDS; round++) {
    console.log(`round ${round}`);
    for (const [name, node] of runtime) record(name, await measureRuntime(red, node));
    for (const [name, size] of engine) record(name, measureEngine(size));
  }
  const baseline = runs.get(runtime[0][0]) as Run[];
  const rows = [...runtime.map(([name]) => name), ...engine.map(([name]) => name)].map((name) =>
    row(name, runs.get(name) as Run[], baseline),
  );
  const memory = await measureMemory(red);
  const version = red.version;
  await red.stop();
  const block = report(rows, memory, (performance.now() - began) / 1000, version);
  console.log(`\n${block}\n`);
  await writeResults("block", "`bench/block.bench.ts`: alarm block updates per second", block);
  console.log(`written to ${resultsFile}`);
}

runMain(main);
