/**
 * Mails per second through `alarm-mail-send`, the official `node-red-node-email` and raw pooled nodemailer, all to
 * the same kind of local SMTP sink, in one run: `npm run bench` (BENCH_MAILS=1000 by default; BENCH_CONNECTIONS=2
 * connections for our server node and the raw pool). The Node-RED nodes run in a real runtime embedded in this
 * process (`RED.init`/`RED.start`, no test helper); the sink runs in a process of its own, as a mail server is on
 * another machine, so that its parsing is not charged to the candidates. A run ends when the sink has every mail and
 * Node-RED has reported every msg complete.
 *
 * Machines are noisy, so the absolute numbers mean little; the ratios to raw nodemailer measured in the same run,
 * with the candidates interleaved, are the result. They are printed and written into bench/RESULTS.md.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import type { NodeMessage } from "node-red";
import nodemailer from "nodemailer";
import type { SmtpSinkOptions } from "../dev/SmtpSink";
import { EmbeddedNodeRed } from "./runtime";
import { SinkProcess } from "./SinkProcess";
import { machine, median, ranAt, resultsFile, runMain, versionOf, writeResults } from "./support";

/**
 * node-red-node-email is installed for the bench alone, under .bench/ (`npm run bench` does it), not as a dev
 * dependency: the lock file of a package that bundles a dependency with a nested one of its own is rewritten by
 * every `npm install` (npm 11), which left a fresh clone modified.
 */
const requireBench = createRequire(join(__dirname, "..", ".bench", "bench.js"));

const MAILS = positiveInt(process.env.BENCH_MAILS, 1000);
/** Connections to the sink: our server node's `connections`, and the raw baseline's pool. */
const CONNECTIONS = positiveInt(process.env.BENCH_CONNECTIONS, 2);
/** For a profile (`node --cpu-prof`): only the candidates whose name starts with this run, and nothing is written. */
const ONLY = process.env.BENCH_ONLY;
const WARMUP = 50;
const ROUNDS = 5;
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

/** The bench's own test CA (test/fixtures/tls): the sink's certificate is for localhost. */
const CA = readFileSync(join(__dirname, "..", "test", "fixtures", "tls", "ca.pem"), "utf8");
const USER = FROM;
const PASSWORD = "bench-password";

/** How the sink receives: the two ways a gateway meets a mail server. */
interface ServerProfile {
  title: string;
  tls: boolean;
  sink: SmtpSinkOptions;
}

const PROFILES: ServerProfile[] = [
  {
    title: "STARTTLS and a login (AUTH PLAIN), as every mail service and most plant relays ask",
    tls: true,
    sink: { starttls: true, authMethods: ["PLAIN", "LOGIN"], users: { [USER]: PASSWORD } },
  },
  { title: "no TLS and no login, as an open relay on the plant network", tls: false, sink: { starttls: false } },
];

let red: EmbeddedNodeRed;
let deployed = 0;

/** One way of getting `count` mails to the sink; resolves once they have been handed over, not delivered. */
interface Candidate {
  name: string;
  /** Loads the flow or opens the transport, pointing at the sink on `port`, which receives as `profile` says. */
  setUp(port: number, profile: ServerProfile): Promise<void>;
  send(count: number): void;
  /** Resolves once Node-RED has reported `count` msgs complete (nothing to wait for without Node-RED). */
  completed(count: number): Promise<void>;
  /** Checks what the sink cannot see, such as mails reported as failed. */
  check(expected: number): void;
  tearDown(): Promise<void>;
}

interface Run {
  mailsPerSecond: number;
  /** CPU time of the bench process (the candidate, and Node-RED around it; not the sink) per mail, in ms. */
  cpuPerMail: number;
  /** The sink's CPU per mail (its own process): what the candidate's way of sending costs the server. */
  sinkCpuPerMail: number;
  peakRssDelta: number;
  /** The most connections the sink saw open at once. */
  peakConnections: number;
}

function positiveInt(value: string | undefined, fallback: number): number {
  if (value === undefined || value === "") return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${value} is not a positive integer`);
  return n;
}

function rawNodemailer(): Candidate {
  let transport: ReturnType<typeof nodemailer.createTransport> | undefined;
  let failed = 0;
  return {
    name: `raw nodemailer (pool, ${CONNECTIONS} connections)`,
    async setUp(port, profile) {
      failed = 0;
      // The same pool our server node opens, so the baseline is the transport alone without Node-RED around it.
      transport = nodemailer.createTransport({
        host: "127.0.0.1",
        port,
        secure: false,
        pool: true,
        maxConnections: CONNECTIONS,
        ...(profile.tls
          ? { requireTLS: true, tls: { ca: CA, servername: "localhost" }, auth: { user: USER, pass: PASSWORD } }
          : { ignoreTLS: true }),
      });
    },
    send(count) {
      for (let i = 0; i < count; i++) {
        transport?.sendMail({ from: FROM, to: TO, subject: SUBJECT, text: BODY }).catch(() => (failed += 1));
      }
    },
    async completed() {},
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

/** Counts the msgs that Node-RED reports complete for node `id`; `reached(n)` resolves once there are n. */
function completions(id: () => string) {
  let count = 0;
  let wanted = Infinity;
  let reached: () => void = () => undefined;
  return {
    reset() {
      count = 0;
      red.onComplete((event) => {
        if (event.node.id !== id()) return;
        count += 1;
        if (count >= wanted) reached();
      });
    },
    wait(n: number): Promise<void> {
      if (count >= n) return Promise.resolve();
      wanted = n;
      return new Promise((resolve) => (reached = resolve));
    },
  };
}

function alarmMailSend(): Candidate {
  let delivered = 0;
  let failed = 0;
  let id = "";
  const complete = completions(() => `send-${id}`);
  return {
    name: "alarm-mail-send",
    async setUp(port, profile) {
      delivered = 0;
      failed = 0;
      // Every mail goes through the durable outbox in <userDir>/alarm-mail/outbox/<server id>: a new server id for
      // each run, so that no run starts with the previous one's journal (or replays and compacts it).
      id = String(++deployed);
      await red.deploy([
        { id: "tab", type: "tab", label: "bench" },
        {
          id: `server-${id}`,
          type: "alarm-mail-server",
          host: "127.0.0.1",
          port,
          from: FROM,
          connections: CONNECTIONS,
          ...(profile.tls
            ? {
                security: "require-starttls",
                servername: "localhost",
                auth: "plain",
                credentials: { ca: CA, user: USER, password: PASSWORD },
              }
            : { security: "none", auth: "none" }),
        },
        { id: `send-${id}`, z: "tab", type: "alarm-mail-send", server: `server-${id}`, wires: [[], []] },
      ]);
      const node = red.node(`send-${id}`);
      const send = node.send.bind(node);
      node.send = (msg) => {
        if (Array.isArray(msg) && msg[0]) delivered += 1;
        else failed += 1;
        send(msg);
      };
      complete.reset();
    },
    send(count) {
      const node = red.node(`send-${id}`);
      for (let i = 0; i < count; i++) node.receive(mailMsg());
    },
    completed: (count) => complete.wait(count),
    check(expected) {
      if (failed > 0) throw new Error(`alarm-mail-send: ${failed} mails on the failure output`);
      if (delivered < expected) throw new Error(`alarm-mail-send: ${delivered} of ${expected} on output 1`);
    },
    async tearDown() {
      red.onComplete(undefined);
      await red.deploy([]);
    },
  };
}

function officialEmail(): Candidate {
  let id = "";
  const complete = completions(() => `mail-${id}`);
  return {
    name: "node-red-node-email (e-mail)",
    async setUp(port, profile) {
      id = String(++deployed);
      // authtype NONE with a userid: the official node sends no login and uses the userid as the sender. With BASIC it
      // logs in after the STARTTLS that nodemailer does whenever a server offers it; `tls: false` is its only way to
      // accept a certificate from a private CA (it skips the check, which only saves it work).
      await red.deploy([
        { id: "tab", type: "tab", label: "bench" },
        {
          id: `mail-${id}`,
          z: "tab",
          type: "e-mail",
          server: "127.0.0.1",
          port,
          secure: false,
          tls: false,
          authtype: profile.tls ? "BASIC" : "NONE",
          name: "",
          credentials: profile.tls ? { userid: USER, password: PASSWORD } : { userid: FROM },
        },
      ]);
      complete.reset();
    },
    send(count) {
      const node = red.node(`mail-${id}`);
      for (let i = 0; i < count; i++) node.receive(mailMsg());
    },
    completed: (count) => complete.wait(count),
    // It has no output and reports failures only in the log: the sink's count is the whole evidence.
    check() {},
    async tearDown() {
      red.onComplete(undefined);
      await red.deploy([]);
    },
  };
}

/** A full GC between runs, so that one candidate's garbage is not collected on the next one's clock. */
const collectGarbage: () => void = (() => {
  setFlagsFromString("--expose-gc");
  return runInNewContext("gc") as () => void;
})();

async function measure(candidate: Candidate, profile: ServerProfile): Promise<Run> {
  const sink = await SinkProcess.start(profile.sink);
  try {
    await candidate.setUp(sink.port, profile);
    candidate.send(WARMUP);
    await sink.waitFor(WARMUP, 30_000);
    await candidate.completed(WARMUP);
    collectGarbage();

    const rssBefore = process.memoryUsage.rss();
    let rssPeak = rssBefore;
    const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, process.memoryUsage.rss())), 10);
    const sinkBefore = await sink.stats();
    const cpuBefore = process.cpuUsage();
    const start = performance.now();
    candidate.send(MAILS);
    await sink.waitFor(WARMUP + MAILS, Math.max(60_000, MAILS * 50));
    await candidate.completed(WARMUP + MAILS);
    const seconds = (performance.now() - start) / 1000;
    const cpu = process.cpuUsage(cpuBefore);
    clearInterval(sampler);
    rssPeak = Math.max(rssPeak, process.memoryUsage.rss());

    // Let replies reach the senders before checking their side of the story.
    await new Promise((resolve) => setTimeout(resolve, 200));
    candidate.check(WARMUP + MAILS);
    const sinkAfter = await sink.stats();
    return {
      mailsPerSecond: MAILS / seconds,
      cpuPerMail: (cpu.user + cpu.system) / 1000 / MAILS,
      sinkCpuPerMail: (sinkAfter.cpuMs - sinkBefore.cpuMs) / MAILS,
      peakRssDelta: rssPeak - rssBefore,
      peakConnections: sinkAfter.peakConnections,
    };
  } finally {
    await candidate.tearDown();
    await sink.close();
  }
}

const range = (ratios: number[]) => `${Math.min(...ratios).toFixed(2)} – ${Math.max(...ratios).toFixed(2)}`;
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
  sinkCpuPerMail: number;
  peakRssDelta: number;
  /** The most connections it had open at the sink at once, over all its runs. */
  peakConnections: number;
}

function table(rows: Row[]): string {
  const lines = [
    "| candidate | mails/s (median) | runs (mails/s) | ratio to raw nodemailer | per-round ratios | CPU ms per mail | sink CPU ms per mail | peak RSS Δ | connections at once |",
    "|---|---:|---|---:|---|---:|---:|---:|---:|",
  ];
  for (const row of rows) {
    lines.push(
      `| ${row.name} | ${rate(row.mailsPerSecond)} | ${row.runs.map((r) => rate(r.mailsPerSecond)).join(", ")} | ` +
        `**${row.ratio.toFixed(2)}×** | ${row.roundRatios.map((r) => r.toFixed(2)).join(" – ")} | ` +
        `${row.cpuPerMail.toFixed(2)} | ${row.sinkCpuPerMail.toFixed(2)} | ${mb(row.peakRssDelta)} | ${row.peakConnections} |`,
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
    busy.length ? `At 80 % or more, the CPU set the pace: ${busy.join(", ")}.` : "",
  ]
    .filter(Boolean)
    .join(" ");
  return [
    `- ${againstBaseline(ours)}`,
    `- ${againstBaseline(official)}`,
    `- alarm-mail-send against node-red-node-email: ${(ours.mailsPerSecond / official.mailsPerSecond).toFixed(2)}× ` +
      `the mails per second (per round ${range(ours.runs.map((r, i) => r.mailsPerSecond / official.runs[i].mailsPerSecond))}) and ${(ours.cpuPerMail / official.cpuPerMail).toFixed(2)}× the CPU per mail; ` +
      `peak RSS growth ${mb(ours.peakRssDelta)} against ${mb(official.peakRssDelta)} (raw nodemailer ${mb(baseline.peakRssDelta)}).`,
    `- ${pace}`,
  ].join("\n");
}

function report(sections: Array<{ profile: ServerProfile; rows: Row[] }>, command: string, seconds: number): string {
  return [
    ranAt(seconds),
    "",
    `- Machine: ${machine()}, Node-RED ${red.version}, embedded in the bench process (\`RED.init\`/\`RED.start\`)`,
    `- nodemailer ${versionOf("nodemailer/package.json")} (ours and the baseline), ` +
      `${benchVersionOf("node-red-node-email/node_modules/nodemailer/package.json")} (bundled in node-red-node-email ` +
      `${benchVersionOf("node-red-node-email/package.json")})`,
    `- Command: \`${command}\``,
    `- ${MAILS} mails per run after ${WARMUP} warm-up mails, ${ROUNDS} rounds, candidates interleaved; medians shown`,
    `- The SMTP sink (smtp-server) in a process of its own on 127.0.0.1; alarm-mail-send with ${CONNECTIONS} connections`,
    ...sections.flatMap(({ profile, rows }) => ["", `**${profile.title}**`, "", table(rows), "", reading(rows)]),
  ].join("\n");
}

function rowsOf(candidates: Candidate[], runs: Run[][]): Row[] {
  const baseline = median(runs[0].map((r) => r.mailsPerSecond));
  return candidates.map((candidate, i) => {
    const perRound = runs[i].map((r, round) => r.mailsPerSecond / runs[0][round].mailsPerSecond);
    const mailsPerSecond = median(runs[i].map((r) => r.mailsPerSecond));
    return {
      name: candidate.name,
      runs: runs[i],
      mailsPerSecond,
      ratio: mailsPerSecond / baseline,
      roundRatios: [Math.min(...perRound), Math.max(...perRound)],
      cpuPerMail: median(runs[i].map((r) => r.cpuPerMail)),
      sinkCpuPerMail: median(runs[i].map((r) => r.sinkCpuPerMail)),
      peakRssDelta: median(runs[i].map((r) => r.peakRssDelta)),
      peakConnections: Math.max(...runs[i].map((r) => r.peakConnections)),
    };
  });
}

async function main(): Promise<void> {
  const began = performance.now();
  red = await EmbeddedNodeRed.start();
  const candidates = [rawNodemailer(), alarmMailSend(), officialEmail()].filter(
    (c) => !ONLY || c.name.startsWith(ONLY),
  );
  const sections: Array<{ profile: ServerProfile; rows: Row[] }> = [];
  for (const profile of PROFILES) {
    const runs = candidates.map((): Run[] => []);
    for (let round = 1; round <= ROUNDS; round++) {
      for (const [i, candidate] of candidates.entries()) {
        const run = await measure(candidate, profile);
        runs[i].push(run);
        console.log(
          `${profile.tls ? "STARTTLS" : "plain   "} round ${round}: ${candidate.name.padEnd(38)} ` +
            `${rate(run.mailsPerSecond).padStart(6)} mails/s`,
        );
      }
    }
    if (!ONLY) sections.push({ profile, rows: rowsOf(candidates, runs) });
  }
  if (ONLY) {
    await red.stop();
    return;
  }
  const command =
    `${process.env.BENCH_MAILS ? `BENCH_MAILS=${MAILS} ` : ""}` +
    `${process.env.BENCH_CONNECTIONS ? `BENCH_CONNECTIONS=${CONNECTIONS} ` : ""}npm run bench`;
  const block = report(sections, command, (performance.now() - began) / 1000);
  await red.stop();
  console.log(`\n${block}\n`);
  // One section per pool size, so that a run with other connections does not replace the default's figures.
  const name = CONNECTIONS === 2 ? "send" : `send-${CONNECTIONS}`;
  await writeResults(name, `\`bench/send.bench.ts\` with ${CONNECTIONS} connections: mails per second`, block);
  console.log(`written to ${resultsFile}`);
}

runMain(main);

function benchVersionOf(file: string): string {
  return (requireBench(file) as { version: string }).version;
}
