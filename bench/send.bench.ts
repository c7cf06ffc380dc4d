/**
 * Mails per second through `alarm-mail-send`, the official `node-red-node-email` and raw pooled nodemailer, all to
 * the same kind of local SMTP sink, in one process and one run: `npm run bench` (BENCH_MAILS=1000 by default).
 *
 * Machines are noisy, so the absolute numbers mean little; the ratios to raw nodemailer measured in the same run,
 * with the candidates interleaved, are the result. They are printed and written into bench/RESULTS.md.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import helper from "node-red-node-test-helper";
import type { NodeInitializer, NodeMessage } from "node-red";
import nodemailer from "nodemailer";
import { SmtpSink } from "../dev/SmtpSink";
import { machine, median, ranAt, resultsFile, runMain, versionOf, writeResults } from "./support";

const requireHere = createRequire(__filename);
const root = join(__dirname, "..");
/**
 * node-red-node-email is installed for the bench alone, under .bench/ (`npm run bench` does it), not as a dev
 * dependency: the lock file of a package that bundles a dependency with a nested one of its own is rewritten by
 * every `npm install` (npm 11), which left a fresh clone modified.
 */
const requireBench = createRequire(join(root, ".bench", "bench.js"));

const MAILS = positiveInt(process.env.BENCH_MAILS, 1000);
const WARMUP = 50;
const ROUNDS = 3;
const FROM = "gateway@plant.example";
const TO = "operator@plant.example";
const SUBJECT = "[1] Bassin 2 bacteria level high";
const BODY = [
  "Alarm LT-201-HH (trigger): Bassin 2 bacteria level high",
  "Value 7.4, setpoint 6 (high), priority 1, block 1.",
  "Triggered at 2026-01-15T08:42:00.000Z.",
  "",
  "Sent by the alarm-mail benchmark.",
].join("\n");

helper.init(requireHere.resolve("node-red"));

const ourNodes: NodeInitializer[] = ["alarm-mail-server", "alarm-mail-send"].map(
  (name) => requireHere(join(root, "dist", `${name}.js`)) as NodeInitializer,
);
const officialNode = requireBench("node-red-node-email/61-email.js") as NodeInitializer;

/** One way of getting `count` mails to the sink; resolves once they have been handed over, not delivered. */
interface Candidate {
  name: string;
  /** Loads the flow or opens the transport, pointing at the sink on `port`. */
  setUp(port: number): Promise<void>;
  send(count: number): void;
  /** Checks what the sink cannot see, such as mails reported as failed. */
  check(expected: number): void;
  tearDown(): Promise<void>;
}

type FlowNode = Record<string, unknown> & { id: string; type: string };

interface Run {
  mailsPerSecond: number;
  /** CPU time of the whole process (sink included, the same for every candidate) per mail, in ms. */
  cpuPerMail: number;
  peakRssDelta: number;
}

function positiveInt(value: string | undefined, fallback: number): number {
  if (value === undefined || value === "") return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`BENCH_MAILS=${value} is not a positive integer`);
  return n;
}

function rawNodemailer(): Candidate {
  let transport: ReturnType<typeof nodemailer.createTransport> | undefined;
  let failed = 0;
  return {
    name: "raw nodemailer (pool, 2 connections)",
    async setUp(port) {
      failed = 0;
      // The same pool our server node opens, so the baseline is the transport alone without Node-RED around it.
      transport = nodemailer.createTransport({
        host: "127.0.0.1",
        port,
        secure: false,
        ignoreTLS: true,
        pool: true,
        maxConnections: 2,
      });
    },
    send(count) {
      for (let i = 0; i < count; i++) {
        transport?.sendMail({ from: FROM, to: TO, subject: SUBJECT, text: BODY }).catch(() => (failed += 1));
      }
    },
    check() {
      if (failed > 0) throw new Error(`raw nodemailer: ${failed} mails failed`);
    },
    async tearDown() {
      transport?.close();
      transport = undefined;
    },
  };
}

/** The msg that both Node-RED nodes understand: the node-red-node-email fields, which alarm-mail-send accepts too. */
function mailMsg(): NodeMessage & { to: string } {
  return { to: TO, topic: SUBJECT, payload: BODY };
}

function alarmMailSend(): Candidate {
  let delivered = 0;
  let failed = 0;
  let userDir: string | undefined;
  return {
    name: "alarm-mail-send",
    async setUp(port) {
      delivered = 0;
      failed = 0;
      // Every mail goes through the durable outbox in <userDir>/alarm-mail/outbox: a fresh folder for each run, so
      // that no run starts with the previous one's journal (or replays and compacts it).
      userDir = mkdtempSync(join(tmpdir(), "alarm-mail-bench-"));
      helper.settings({ userDir });
      const flow: FlowNode[] = [
        {
          id: "server",
          type: "alarm-mail-server",
          host: "127.0.0.1",
          port,
          security: "none",
          auth: "none",
          from: FROM,
        },
        { id: "send", type: "alarm-mail-send", server: "server", wires: [["ok"], ["failed"]] },
        { id: "ok", type: "helper" },
        { id: "failed", type: "helper" },
      ];
      await helper.load(ourNodes, flow);
      helper.getNode("ok").on("input", () => (delivered += 1));
      helper.getNode("failed").on("input", () => (failed += 1));
    },
    send(count) {
      const node = helper.getNode("send");
      for (let i = 0; i < count; i++) node.receive(mailMsg());
    },
    check(expected) {
      if (failed > 0) throw new Error(`alarm-mail-send: ${failed} mails on the failure output`);
      // The sink counts a mail on DATA; output 1 follows the 250 reply, so give the last few a moment.
      if (delivered < expected - 2 * WARMUP)
        throw new Error(`alarm-mail-send: ${delivered} of ${expected} on output 1`);
    },
    async tearDown() {
      await helper.unload();
      if (userDir) rmSync(userDir, { recursive: true, force: true });
      userDir = undefined;
    },
  };
}

function officialEmail(): Candidate {
  return {
    name: "node-red-node-email (e-mail)",
    async setUp(port) {
      // authtype NONE with a userid: the official node sends no login and uses the userid as the sender.
      const flow: FlowNode[] = [
        {
          id: "mail",
          type: "e-mail",
          server: "127.0.0.1",
          port,
          secure: false,
          tls: false,
          authtype: "NONE",
          name: "",
        },
      ];
      await helper.load([officialNode], flow, { mail: { userid: FROM } });
    },
    send(count) {
      const node = helper.getNode("mail");
      for (let i = 0; i < count; i++) node.receive(mailMsg());
    },
    // It has no output and reports failures only in the log: the sink's count is the whole evidence.
    check() {},
    async tearDown() {
      await helper.unload();
    },
  };
}

/** A full GC between runs, so that one candidate's garbage is not collected on the next one's clock. */
const collectGarbage: () => void = (() => {
  setFlagsFromString("--expose-gc");
  return runInNewContext("gc") as () => void;
})();

async function measure(candidate: Candidate): Promise<Run> {
  const sink = new SmtpSink({ starttls: false });
  const port = await sink.listen();
  try {
    await candidate.setUp(port);
    candidate.send(WARMUP);
    await sink.waitFor(WARMUP, 30_000);
    collectGarbage();

    const rssBefore = process.memoryUsage.rss();
    let rssPeak = rssBefore;
    const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, process.memoryUsage.rss())), 10);
    const cpuBefore = process.cpuUsage();
    const start = performance.now();
    candidate.send(MAILS);
    await sink.waitFor(WARMUP + MAILS, Math.max(60_000, MAILS * 50));
    const seconds = (performance.now() - start) / 1000;
    const cpu = process.cpuUsage(cpuBefore);
    clearInterval(sampler);
    rssPeak = Math.max(rssPeak, process.memoryUsage.rss());

    // Let replies reach the senders before checking their side of the story.
    await new Promise((resolve) => setTimeout(resolve, 200));
    candidate.check(WARMUP + MAILS);
    return {
      mailsPerSecond: MAILS / seconds,
      cpuPerMail: (cpu.user + cpu.system) / 1000 / MAILS,
      peakRssDelta: rssPeak - rssBefore,
    };
  } finally {
    await candidate.tearDown();
    await sink.close();
  }
}

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;
const rate = (n: number) => n.toFixed(0);

interface Row {
  name: string;
  runs: Run[];
  mailsPerSecond: number;
  ratio: number;
  /** Smallest and largest ratio of one run to the baseline run of the same round. */
  roundRatios: [number, number];
  cpuPerMail: number;
  peakRssDelta: number;
}

function table(rows: Row[]): string {
  const lines = [
    "| candidate | mails/s (median) | runs (mails/s) | ratio to raw nodemailer | per-round ratios | CPU ms per mail | peak RSS Δ |",
    "|---|---:|---|---:|---|---:|---:|",
  ];
  for (const row of rows) {
    lines.push(
      `| ${row.name} | ${rate(row.mailsPerSecond)} | ${row.runs.map((r) => rate(r.mailsPerSecond)).join(", ")} | ` +
        `**${row.ratio.toFixed(2)}×** | ${row.roundRatios.map((r) => r.toFixed(2)).join(" – ")} | ` +
        `${row.cpuPerMail.toFixed(2)} | ${mb(row.peakRssDelta)} |`,
    );
  }
  return lines.join("\n");
}

/** Share of one core the process used while sending: CPU ms per mail times mails per second. */
function percentBusy(row: Row): number {
  return Math.round((row.cpuPerMail * row.mailsPerSecond) / 10);
}

function againstBaseline(row: Row): string {
  const [low, high] = row.roundRatios;
  const verdict =
    low <= 1 && high >= 1
      ? "within the noise (its per-round ratios straddle 1)"
      : `${(Math.abs(1 - row.ratio) * 100).toFixed(0)} % ${high < 1 ? "slower" : "faster"}`;
  return `${row.name}: ${row.ratio.toFixed(2)}× raw nodemailer, ${verdict}; CPU ${row.cpuPerMail.toFixed(2)} ms a mail, busy ${percentBusy(row)} % of one core.`;
}

/** Numbers-driven sentences, so the reading cannot drift from the table it sits under. */
function reading(rows: Row[]): string {
  const [baseline, ours, official] = rows;
  const waiting = rows.filter((row) => percentBusy(row) < 80).map((row) => row.name);
  const busy = rows.filter((row) => percentBusy(row) >= 80).map((row) => row.name);
  const pace = [
    waiting.length ? `Below 80 % of one core, waiting on SMTP round trips set the pace: ${waiting.join(", ")}.` : "",
    busy.length ? `At 80 % or more, the CPU (shared with the sink) set the pace: ${busy.join(", ")}.` : "",
  ]
    .filter(Boolean)
    .join(" ");
  return [
    `- ${againstBaseline(ours)}`,
    `- ${againstBaseline(official)}`,
    `- alarm-mail-send against node-red-node-email: ${(ours.mailsPerSecond / official.mailsPerSecond).toFixed(2)}× ` +
      `the mails per second and ${(ours.cpuPerMail / official.cpuPerMail).toFixed(2)}× the CPU per mail; ` +
      `peak RSS growth ${mb(ours.peakRssDelta)} against ${mb(official.peakRssDelta)} (raw nodemailer ${mb(baseline.peakRssDelta)}).`,
    `- ${pace}`,
  ].join("\n");
}

function report(rows: Row[], command: string, seconds: number): string {
  return [
    ranAt(seconds),
    "",
    `- Machine: ${machine()}, Node-RED ${versionOf("node-red/package.json")}`,
    `- nodemailer ${versionOf("nodemailer/package.json")} (ours and the baseline), ` +
      `${benchVersionOf("node-red-node-email/node_modules/nodemailer/package.json")} (bundled in node-red-node-email ` +
      `${benchVersionOf("node-red-node-email/package.json")})`,
    `- Command: \`${command}\``,
    `- ${MAILS} mails per run after ${WARMUP} warm-up mails, ${ROUNDS} rounds, candidates interleaved; medians shown`,
    "",
    table(rows),
    "",
    reading(rows),
  ].join("\n");
}

async function main(): Promise<void> {
  const began = performance.now();
  const candidates = [rawNodemailer(), alarmMailSend(), officialEmail()];
  const runs = candidates.map((): Run[] => []);
  for (let round = 1; round <= ROUNDS; round++) {
    for (const [i, candidate] of candidates.entries()) {
      const run = await measure(candidate);
      runs[i].push(run);
      console.log(`round ${round}: ${candidate.name.padEnd(38)} ${rate(run.mailsPerSecond).padStart(6)} mails/s`);
    }
  }
  const baseline = median(runs[0].map((r) => r.mailsPerSecond));
  const rows: Row[] = candidates.map((candidate, i) => {
    const perRound = runs[i].map((r, round) => r.mailsPerSecond / runs[0][round].mailsPerSecond);
    const mailsPerSecond = median(runs[i].map((r) => r.mailsPerSecond));
    return {
      name: candidate.name,
      runs: runs[i],
      mailsPerSecond,
      ratio: mailsPerSecond / baseline,
      roundRatios: [Math.min(...perRound), Math.max(...perRound)],
      cpuPerMail: median(runs[i].map((r) => r.cpuPerMail)),
      peakRssDelta: median(runs[i].map((r) => r.peakRssDelta)),
    };
  });
  const command = `${process.env.BENCH_MAILS ? `BENCH_MAILS=${MAILS} ` : ""}npm run bench`;
  const block = report(rows, command, (performance.now() - began) / 1000);
  console.log(`\n${block}\n`);
  await writeResults("send", "`bench/send.bench.ts`: mails per second", block);
  console.log(`written to ${resultsFile}`);
}

runMain(main);

function benchVersionOf(file: string): string {
  return (requireBench(file) as { version: string }).version;
}
