/**
 * Value updates per second through an alarm block: `AlarmEngine` alone, and `alarm-mail-block` in a real Node-RED
 * runtime (node-red-node-test-helper), with 10 and with 10,000 alarms defined; each as a ratio to a plain
 * pass-through node measured in the same run, candidates interleaved. Then the memory that 10,000 active alarms take,
 * and what saving their snapshot costs. `npm run bench:block` (BENCH_UPDATES=20000 msgs through the runtime by
 * default; the engine alone gets ten times as many).
 *
 * Machines are noisy: the ratios, and the cost per update of 10 against 10,000 alarms, are the result. They are
 * printed and written into bench/RESULTS.md between the bench:block markers.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import helper from "node-red-node-test-helper";
import type { Node, NodeAPI, NodeDef, NodeInitializer, NodeMessage } from "node-red";
import { AlarmEngine } from "../nodes/lib/alarm/AlarmEngine";
import { AlarmHistory, historyRecord } from "../nodes/lib/alarm/AlarmHistory";
import { DEFAULT_OPTIONS, type AlarmDefinition, type BlockOptions } from "../nodes/lib/alarm/BlockConfig";
import { encodeBlockSnapshot } from "../nodes/lib/alarm/BlockSnapshot";
import { SnapshotFile } from "../nodes/lib/common/SnapshotFile";
import { machine, median, ranAt, resultsFile, runMain, versionOf, writeResults } from "./support";

const requireHere = createRequire(__filename);
const root = join(__dirname, "..");

const UPDATES = positiveInt(process.env.BENCH_UPDATES, 20_000);
const ENGINE_UPDATES = UPDATES * 10;
const ROUNDS = 3;
const SMALL = 10;
const LARGE = 10_000;
/** Only for the engine alone: ten times more again, to see whether the cost per update keeps growing. */
const HUGE = 100_000;
const OPTIONS: BlockOptions = { block: 1, ...DEFAULT_OPTIONS };

helper.init(requireHere.resolve("node-red"));
const blockNode = requireHere(join(root, "dist", "alarm-mail-block.js")) as NodeInitializer;

/**
 * The baseline: a node that sends every msg on as it came. Beside it, a node that only completes each msg: the floor
 * of Node-RED's own cost per msg, since a block sends on only the msgs that make an event.
 */
const benchNodes: NodeInitializer = (RED: NodeAPI) => {
  function BenchPassThrough(this: Node, def: NodeDef) {
    RED.nodes.createNode(this, def);
    this.on("input", (msg, send, done) => {
      send(msg);
      done();
    });
  }
  function BenchConsume(this: Node, def: NodeDef) {
    RED.nodes.createNode(this, def);
    this.on("input", (_msg, _send, done) => done());
  }
  RED.nodes.registerType("bench-pass-through", BenchPassThrough);
  RED.nodes.registerType("bench-consume", BenchConsume);
};

/**
 * The test helper records every call of every node method (sinon spies), msgs included; forget them before reading
 * the heap, so that the harness's memory is not counted as the block's.
 */
function forgetHelperSpies(): void {
  (helper as unknown as { _sandbox: { resetHistory(): void } })._sandbox.resetHistory();
}

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
  const start = performance.now();
  for (const u of feed) events += engine.update(u.topic, u.payload, (now += step)).length;
  const seconds = (performance.now() - start) / 1000;
  return { perSecond: feed.length / seconds, events };
}

type FlowNode = Record<string, unknown> & { id: string; type: string };

/**
 * N msgs into one node of a running flow, timed until Node-RED has reported every one of them complete (a Complete
 * node scoped to it counts them). Events and pass-through msgs go on to a helper node that does nothing.
 */
async function measureRuntime(node: FlowNode): Promise<Run> {
  const dataDir = mkdtempSync(join(tmpdir(), "alarm-mail-bench-block-"));
  const settings = { alarmMail: { dataDir } } as Parameters<typeof helper.settings>[0];
  helper.settings(settings);
  const flow: FlowNode[] = [
    { id: "tab", type: "tab", label: "bench" },
    { ...node, id: "subject", z: "tab", wires: [["sink"]] },
    { id: "sink", z: "tab", type: "helper" },
    { id: "completed", z: "tab", type: "complete", scope: ["subject"], uncaught: false, wires: [["counter"]] },
    { id: "counter", z: "tab", type: "helper" },
  ];
  try {
    await helper.load([blockNode, benchNodes], flow);
    const size = Array.isArray(node.alarms) ? node.alarms.length : SMALL;
    const feed = updates(size, UPDATES + 1000);
    let completed = 0;
    let events = 0;
    let target = 0;
    let finished: () => void = () => undefined;
    helper.getNode("counter").on("input", () => {
      completed += 1;
      if (completed === target) finished();
    });
    helper.getNode("sink").on("input", () => (events += 1));
    const subject = helper.getNode("subject");
    const pass = async (batch: typeof feed) => {
      target = completed + batch.length;
      const done = new Promise<void>((resolve) => (finished = resolve));
      for (const u of batch) subject.receive({ ...u } as NodeMessage);
      await done;
    };
    await pass(feed.slice(0, 1000));
    collectGarbage();
    events = 0;
    const start = performance.now();
    await pass(feed.slice(1000));
    const seconds = (performance.now() - start) / 1000;
    return { perSecond: UPDATES / seconds, events };
  } finally {
    await helper.unload();
    rmSync(dataDir, { recursive: true, force: true });
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
async function measureMemory(): Promise<Memory> {
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
    runtimeBytes: await measureRuntimeMemory(defs),
    snapshotBytes: Buffer.byteLength(text),
    encodeMs,
    writeMs,
  };
}

/** The heap that a deployed block with 10,000 active alarms keeps, over the same flow with an empty table. */
async function measureRuntimeMemory(defs: AlarmDefinition[]): Promise<number> {
  const heapWith = async (alarms: AlarmDefinition[]) => {
    const dataDir = mkdtempSync(join(tmpdir(), "alarm-mail-bench-block-"));
    const settings = { alarmMail: { dataDir } } as Parameters<typeof helper.settings>[0];
    helper.settings(settings);
    const flow: FlowNode[] = [
      { id: "tab", type: "tab", label: "bench" },
      { id: "subject", z: "tab", type: "alarm-mail-block", block: 1, alarms, wires: [["sink"]] },
      { id: "sink", z: "tab", type: "helper" },
    ];
    await helper.load([blockNode], flow);
    let events = 0;
    helper.getNode("sink").on("input", () => (events += 1));
    const payload = Object.fromEntries(alarms.map((a) => [a.topic, 7]));
    helper.getNode("subject").receive({ payload } as NodeMessage);
    while (events < alarms.length) await new Promise((resolve) => setTimeout(resolve, 20));
    forgetHelperSpies();
    const heap = heapAfterGc();
    await helper.unload();
    rmSync(dataDir, { recursive: true, force: true });
    return heap;
  };
  const empty = await heapWith([]);
  const full = await heapWith(defs);
  return full - empty;
}

const rate = (n: number) => (n >= 100_000 ? `${(n / 1000).toFixed(0)} k` : n.toFixed(0));
const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;
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
    "| candidate | updates/s (median) | runs | µs per update | events per run | ratio to pass-through node | per-round ratios |",
    "|---|---:|---|---:|---:|---:|---|",
  ];
  for (const r of rows) {
    lines.push(
      `| ${r.name} | ${rate(r.perSecond)} | ${r.runs.map((x) => rate(x.perSecond)).join(", ")} | ` +
        `${micro(r.perSecond)} | ${median(r.runs.map((x) => x.events)).toFixed(0)} | **${r.ratio.toFixed(2)}×** | ` +
        `${r.roundRatios.map((x) => x.toFixed(2)).join(" – ")} |`,
    );
  }
  return lines.join("\n");
}

function report(rows: Row[], memory: Memory, seconds: number): string {
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
    `- Machine: ${machine()}, Node-RED ${versionOf("node-red/package.json")}`,
    `- Command: \`${command}\``,
    `- ${UPDATES} msgs per runtime run and ${ENGINE_UPDATES} updates per engine run, after a warm-up; ` +
      `${ROUNDS} rounds, candidates interleaved; medians shown`,
    "",
    rowsTable(rows),
    "",
    `- Cost per update, 10,000 alarms against 10: ${growth(engineSmall, engineLarge)}× for the engine alone ` +
      `(${micro(engineSmall.perSecond)} against ${micro(engineLarge.perSecond)} µs), ` +
      `${growth(blockSmall, blockLarge)}× through the block in Node-RED ` +
      `(${micro(blockSmall.perSecond)} against ${micro(blockLarge.perSecond)} µs); 100,000 alarms against 10,000: ` +
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
  const runtime: Array<[string, FlowNode]> = [
    ["pass-through node (baseline)", { id: "subject", type: "bench-pass-through" }],
    ["node that only completes (floor)", { id: "subject", type: "bench-consume" }],
    [`alarm-mail-block, ${SMALL} alarms`, { id: "subject", type: "alarm-mail-block", block: 1, alarms: table(SMALL) }],
    [`alarm-mail-block, ${large} alarms`, { id: "subject", type: "alarm-mail-block", block: 1, alarms: table(LARGE) }],
  ];
  const engine: Array<[string, number]> = [
    [`AlarmEngine alone, ${SMALL} alarms`, SMALL],
    [`AlarmEngine alone, ${large} alarms`, LARGE],
    [`AlarmEngine alone, ${HUGE.toLocaleString("en")} alarms`, HUGE],
  ];
  const runs = new Map<string, Run[]>();
  const record = (name: string, run: Run) => {
    runs.set(name, [...(runs.get(name) ?? []), run]);
    console.log(`${name.padEnd(36)} ${rate(run.perSecond).padStart(8)} updates/s, ${run.events} events`);
  };
  for (let round = 1; round <= ROUNDS; round++) {
    console.log(`round ${round}`);
    for (const [name, node] of runtime) record(name, await measureRuntime(node));
    for (const [name, size] of engine) record(name, measureEngine(size));
  }
  const baseline = runs.get(runtime[0][0]) as Run[];
  const rows = [...runtime.map(([name]) => name), ...engine.map(([name]) => name)].map((name) =>
    row(name, runs.get(name) as Run[], baseline),
  );
  const memory = await measureMemory();
  const block = report(rows, memory, (performance.now() - began) / 1000);
  console.log(`\n${block}\n`);
  await writeResults("block", "`bench/block.bench.ts`: alarm block updates per second", block);
  console.log(`written to ${resultsFile}`);
}

runMain(main);
