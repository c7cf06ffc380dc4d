/**
 * What an event costs the escalation with 10 and with 1,000 occurrences open: `EscalationEngine` alone, and
 * `alarm-mail-escalation` in a real Node-RED runtime embedded in this process (a msg is complete once its change is
 * on disk), each beside a pass-through `change` node measured in the same run, candidates interleaved.
 * `npm run bench:escalation` (BENCH_EVENTS=6000 msgs a runtime run by default; the engine alone gets ten times as many).
 *
 * The open occurrences are triggered first and stay open; the measured events are cycles of a new occurrence's
 * trigger, ack and recovery, so that as many stay open throughout. Printed, and written into bench/RESULTS.md
 * between the bench:escalation markers.
 */
import { performance } from "node:perf_hooks";
import type { NodeMessage } from "node-red";
import { parseEscalationConfig } from "../nodes/lib/escalation/EscalationConfig";
import { EscalationEngine, type EscalationInput } from "../nodes/lib/escalation/EscalationEngine";
import { EmbeddedNodeRed, cpuMs, type FlowNode } from "./runtime";
import { machine, median, ranAt, resultsFile, runMain, writeResults } from "./support";

const EVENTS = positiveInt(process.env.BENCH_EVENTS, 6000);
const ENGINE_EVENTS = EVENTS * 10;
const ROUNDS = 5;
const SMALL = 10;
const LARGE = 1000;
const GROUPS = [
  { id: "ops", type: "alarm-mail-recipients", name: "Operators", to: "ops@plant.example" },
  { id: "eng", type: "alarm-mail-recipients", name: "Engineers", to: "eng@plant.example" },
];
/** Reminders every 10 min and an escalation after an hour: none falls due during a run. */
const RAW = {
  tz: "UTC",
  levels: [
    { recipients: "ops", after: 0, repeat: 600_000 },
    { recipients: "eng", after: 3_600_000, repeat: 0 },
  ],
};

function positiveInt(value: string | undefined, fallback: number): number {
  if (value === undefined || value === "") return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`BENCH_EVENTS=${value} is not a positive integer`);
  return n;
}

/** A block's msg about occurrence `n`, as `alarm-mail-block` sends it. */
function blockMsg(n: number, event: "trigger" | "ack" | "recovery"): NodeMessage {
  const state = event === "trigger" ? "unacked" : event === "ack" ? "acked" : "normal";
  return {
    event,
    topic: `[P2] Tank ${n} level high: ALARM`,
    payload: `Tank ${n} level high went into alarm: value 7, alarm above 6. Priority 2, block 1.`,
    alarm: {
      id: `LT-${n}-H`,
      label: `Tank ${n} level high`,
      block: 1,
      priority: 2,
      state,
      occurrence: `b1/LT-${n}-H/${n}`,
    },
  } as NodeMessage;
}

/** The measured feed: trigger, ack, recovery of fresh occurrences, after the open ones. */
function cycle(count: number, first: number): NodeMessage[] {
  const kinds = ["trigger", "ack", "recovery"] as const;
  return Array.from({ length: count }, (_, i) => blockMsg(first + Math.floor(i / 3), kinds[i % 3]));
}

interface Run {
  perSecond: number;
  cpuMicros: number;
}

function measureEngine(open: number): Run {
  const engine = new EscalationEngine(parseEscalationConfig(RAW));
  let now = Date.UTC(2026, 0, 15);
  const input = (msg: NodeMessage): EscalationInput => {
    const fields = msg as NodeMessage & {
      event: EscalationInput["event"];
      alarm: { occurrence: string; state: string };
    };
    return {
      key: fields.alarm.occurrence,
      event: fields.event,
      priority: 2,
      over: fields.alarm.state === "normal",
      data: msg,
    };
  };
  for (let n = 0; n < open; n++) engine.receive(input(blockMsg(n, "trigger")), (now += 1));
  const feed = cycle(ENGINE_EVENTS, open);
  for (const msg of feed.slice(0, 3000)) engine.receive(input(msg), (now += 1));
  const cpu = cpuMs();
  const start = performance.now();
  for (const msg of feed) engine.receive(input(msg), (now += 1));
  const seconds = (performance.now() - start) / 1000;
  if (engine.summary().open !== open) throw new Error(`expected ${open} open, found ${engine.summary().open}`);
  return { perSecond: feed.length / seconds, cpuMicros: ((cpuMs() - cpu) * 1000) / feed.length };
}

let deployed = 0;

/** N msgs into one node, in batches of 500 handed over at once, timed until Node-RED reports every one complete. */
async function measureRuntime(red: EmbeddedNodeRed, node: FlowNode, open: number): Promise<Run> {
  const id = `subject-${++deployed}`;
  await red.deploy([{ id: "tab", type: "tab", label: "bench" }, ...GROUPS, { ...node, id, z: "tab", wires: [[]] }]);
  try {
    const subject = red.node(id);
    let completed = 0;
    let target = 0;
    let finished: () => void = () => undefined;
    red.onComplete((event) => {
      if (event.node.id !== id) return;
      completed += 1;
      if (completed === target) finished();
    });
    const pass = async (msgs: NodeMessage[]) => {
      for (let i = 0; i < msgs.length; i += 500) {
        const part = msgs.slice(i, i + 500);
        target = completed + part.length;
        const done = new Promise<void>((resolve) => (finished = resolve));
        for (const msg of part) subject.receive(structuredClone(msg));
        await done;
      }
    };
    await pass(Array.from({ length: open }, (_, n) => blockMsg(n, "trigger")));
    await pass(cycle(1500, open));
    const feed = cycle(EVENTS, open + 1000);
    const cpu = cpuMs();
    const start = performance.now();
    await pass(feed);
    const seconds = (performance.now() - start) / 1000;
    return { perSecond: EVENTS / seconds, cpuMicros: ((cpuMs() - cpu) * 1000) / EVENTS };
  } finally {
    red.onComplete(undefined);
    await red.deploy([]);
  }
}

const micro = (perSecond: number) => (1e6 / perSecond).toFixed(perSecond > 100_000 ? 2 : 1);
const rate = (n: number) => (n >= 100_000 ? `${(n / 1000).toFixed(0)} k` : n.toFixed(0));

async function main(): Promise<void> {
  const began = performance.now();
  const red = await EmbeddedNodeRed.start();
  const change: FlowNode = {
    id: "",
    type: "change",
    rules: [{ t: "set", p: "seen", pt: "msg", to: "true", tot: "bool" }],
  };
  const escalation: FlowNode = { id: "", type: "alarm-mail-escalation", ...RAW };
  const candidates: Array<[string, () => Promise<Run> | Run]> = [
    ["pass-through `change` node (baseline)", () => measureRuntime(red, change, 0)],
    [`alarm-mail-escalation, ${SMALL} open`, () => measureRuntime(red, escalation, SMALL)],
    [`alarm-mail-escalation, ${LARGE.toLocaleString("en")} open`, () => measureRuntime(red, escalation, LARGE)],
    [`EscalationEngine alone, ${SMALL} open`, () => measureEngine(SMALL)],
    [`EscalationEngine alone, ${LARGE.toLocaleString("en")} open`, () => measureEngine(LARGE)],
  ];
  const runs = new Map<string, Run[]>();
  for (let round = 1; round <= ROUNDS; round++) {
    console.log(`round ${round}`);
    for (const [name, measure] of candidates) {
      const run = await measure();
      runs.set(name, [...(runs.get(name) ?? []), run]);
      console.log(`${name.padEnd(42)} ${rate(run.perSecond).padStart(8)} events/s, ${run.cpuMicros.toFixed(2)} µs CPU`);
    }
  }
  const version = red.version;
  await red.stop();
  const perSecond = (name: string) => median((runs.get(name) as Run[]).map((r) => r.perSecond));
  const cpu = (name: string) => median((runs.get(name) as Run[]).map((r) => r.cpuMicros));
  const baseline = perSecond(candidates[0][0]);
  const lines = [
    "| candidate | events/s (median) | runs | µs per event | CPU µs per event | ratio to pass-through node |",
    "|---|---:|---|---:|---:|---:|",
    ...candidates.map(([name]) => {
      const runtime = !name.startsWith("EscalationEngine");
      return (
        `| ${name} | ${rate(perSecond(name))} | ${(runs.get(name) as Run[]).map((r) => rate(r.perSecond)).join(", ")} | ` +
        `${micro(perSecond(name))} | ${cpu(name).toFixed(2)} | ${runtime ? `${(perSecond(name) / baseline).toFixed(2)}×` : "–"} |`
      );
    }),
  ];
  const [, small, large, engineSmall, engineLarge] = candidates.map(([name]) => name);
  const command = `${process.env.BENCH_EVENTS ? `BENCH_EVENTS=${EVENTS} ` : ""}npm run bench:escalation`;
  const block = [
    ranAt((performance.now() - began) / 1000),
    "",
    `- Machine: ${machine()}, Node-RED ${version}, embedded in the bench process`,
    `- Command: \`${command}\``,
    `- ${EVENTS} msgs per runtime run (a msg is complete once the state file holding its change is written and ` +
      `synced) and ${ENGINE_EVENTS} per engine run, after a warm-up; ${ROUNDS} rounds, candidates interleaved; medians`,
    "",
    ...lines,
    "",
    `- **Cost per event, 1,000 open occurrences against 10: ${(perSecond(small) / perSecond(large)).toFixed(2)}×** ` +
      `through the node in Node-RED (${micro(perSecond(small))} against ${micro(perSecond(large))} µs), ` +
      `${(cpu(large) / cpu(small)).toFixed(2)}× in CPU; ` +
      `${(perSecond(engineSmall) / perSecond(engineLarge)).toFixed(2)}× for the engine alone ` +
      `(${micro(perSecond(engineSmall))} against ${micro(perSecond(engineLarge))} µs).`,
  ].join("\n");
  console.log(`\n${block}\n`);
  await writeResults("escalation", "`bench/escalation.bench.ts`: escalation events with 10 and 1,000 open", block);
  console.log(`written to ${resultsFile}`);
}

runMain(main);
