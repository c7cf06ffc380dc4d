/**
 * The durable outbox in numbers, in one run: `npm run bench:outbox`.
 *
 * A. Time from input to durable: `Outbox.enqueue` (one at a time, and a burst of 1000 at once) against the least a
 *    durable write costs: the same bytes appended to a plain file, one `datasync()` each.
 * B. The same time through `alarm-mail-send` in a real Node-RED embedded in this process, from `receive(msg)` to the
 *    outbox's `enqueue` resolving, while the outbox delivers a backlog to an SMTP sink at full rate.
 * C. Restart with 50,000 queued mails (BENCH_QUEUED): `Outbox.open` (replay) against reading the same files and
 *    parsing each line, the memory an opened outbox keeps, and Node-RED processes started with an empty outbox and
 *    with the full one (`bench/restart-child.ts`): time to the outbox open and to the first mail, peak RSS.
 *
 * Ratios to a baseline measured in the same run, with candidates interleaved, are the result; they are printed and
 * written into bench/RESULTS.md between the bench:outbox markers.
 */
import { execFile } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { open, readFile, type FileHandle } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import type { NodeMessage } from "node-red";
import { SmtpSink } from "../dev/SmtpSink";
import { Journal } from "../nodes/lib/common/Journal";
import { DEFAULT_LIMITS, MailComposer, type OutgoingMail } from "../nodes/lib/mail/MailComposer";
import { Outbox } from "../nodes/lib/outbox/Outbox";
import type { ServerNodeObject } from "../nodes/red/server/ServerNode";
import { benchUserDir, EmbeddedNodeRed, type FlowNode } from "./runtime";
import { SinkProcess } from "./SinkProcess";
import { machine, ranAt, resultsFile, runMain, versionOf, writeResults } from "./support";

const root = join(__dirname, "..");

const ROUNDS = 3;
const WARMUP = 20;
const BURST = 1000;
/** Mails queued for the restart part (BENCH_QUEUED): 50,000, an outbox that waited through a long outage. */
const RESTART_QUEUED = Number(process.env.BENCH_QUEUED ?? 50_000);
/** Deliveries timed after a restart with RESTART_QUEUED mails queued. */
const RESTART_DELIVERIES = 1000;
const FROM = "gateway@plant.example";
const TO = "operator@plant.example";
const SUBJECT = "[1] Bassin 2 bacteria level high";
/** A 1 KB alarm text, as a template with a few lines of context renders it. */
const BODY = (() => {
  const line = "Alarm LT-201-HH (trigger): Bassin 2 bacteria level high, value 7.4, setpoint 6, priority 1.\n";
  return line.repeat(Math.ceil(1024 / line.length)).slice(0, 1024);
})();
/** A trend chart, as a flow would attach one: 100 KB of bytes that do not compress. */
const ATTACHMENT = Buffer.from(Array.from({ length: 100 * 1024 }, (_, i) => (i * 7919 + (i >> 8)) & 0xff));

interface Variant {
  name: string;
  /** Mails enqueued one at a time in a sequential run. */
  sequential: number;
  attachment: boolean;
}

const VARIANTS: Variant[] = [
  { name: "1 KB body", sequential: 300, attachment: false },
  { name: "1 KB body + 100 KB attachment", sequential: 100, attachment: true },
];

/** Every candidate of part A and B, by its row in the table. */
type Mode = "sequential" | "burst";

/** A full GC between runs, so that one candidate's garbage is not collected on the next one's clock. */
const collectGarbage: () => void = (() => {
  setFlagsFromString("--expose-gc");
  return runInNewContext("gc") as () => void;
})();

/**
 * Rejections nobody handled, such as a compaction that outlives `Outbox.close`: counted and reported rather than
 * allowed to end the run, since they are findings too.
 */
const unhandled: string[] = [];
process.on("unhandledRejection", (reason) => {
  unhandled.push(reason instanceof Error ? reason.message : String(reason));
});

const settle = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const scratch = () => mkdtempSync(join(tmpdir(), "alarm-mail-outbox-bench-"));

const composer = new MailComposer({ from: { name: "", address: FROM }, allowMsgFrom: false, limits: DEFAULT_LIMITS });

/** The msg that asked for a mail, as the send node keeps it beside the mail (its attachments are in the mail). */
function storedMsg(id: string): NodeMessage & { to: string } {
  return { _msgid: id, to: TO, topic: SUBJECT, payload: BODY };
}

function mailFields(variant: Variant) {
  return {
    to: TO,
    topic: SUBJECT,
    payload: BODY,
    ...(variant.attachment ? { attachments: [{ filename: "trend.bin", content: ATTACHMENT }] } : {}),
  };
}

async function composeMails(variant: Variant, count: number): Promise<OutgoingMail[]> {
  const mails: OutgoingMail[] = [];
  for (let i = 0; i < count; i++) mails.push(await composer.compose(undefined, mailFields(variant), {}));
  return mails;
}

const enqueueMeta = (mail: OutgoingMail) => ({
  rank: 3,
  sendNode: "send",
  msgJson: JSON.stringify(storedMsg(mail.messageId)),
});

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)];
}

const median = (values: number[]) => percentile(values, 0.5);

function dirBytes(dir: string): number {
  return readdirSync(dir).reduce((sum, name) => sum + statSync(join(dir, name)).size, 0);
}

/** The journal lines (`<crc> <json>\n`) of a folder's segments, in order. */
function journalLines(dir: string): Buffer[] {
  const lines: Buffer[] = [];
  for (const name of readdirSync(dir)
    .filter((n) => n.endsWith(".log"))
    .sort()) {
    const data = readFileSync(join(dir, name));
    for (let offset = 0; offset < data.length;) {
      const end = data.indexOf(10, offset);
      if (end === -1) break;
      lines.push(data.subarray(offset, end + 1));
      offset = end + 1;
    }
  }
  return lines;
}

// ---------------------------------------------------------------------------------------------------------------
// A. Outbox.enqueue against append + datasync

interface Latencies {
  /** ms from input to durable, one per mail. */
  samples: number[];
}

/** Fresh outbox, a few warm-up mails, then the timed ones; `closeMs` includes any compaction still running. */
async function outboxRun(warm: OutgoingMail[], mails: OutgoingMail[], mode: Mode, preallocate = true) {
  const dir = scratch();
  try {
    const outbox = await Outbox.open(join(dir, "outbox"), { preallocate });
    for (const mail of warm) await outbox.enqueue(mail, enqueueMeta(mail));
    collectGarbage();
    const samples: number[] = [];
    if (mode === "sequential") {
      for (const mail of mails) {
        const start = performance.now();
        await outbox.enqueue(mail, enqueueMeta(mail));
        samples.push(performance.now() - start);
      }
    } else {
      const start = performance.now();
      await Promise.all(
        mails.map((mail) =>
          outbox.enqueue(mail, enqueueMeta(mail)).then(() => samples.push(performance.now() - start)),
        ),
      );
    }
    // A segment filled by the last write starts its compaction a moment later: let it start, so that close waits.
    await settle(20);
    const closing = performance.now();
    await outbox.close();
    const closeMs = performance.now() - closing;
    await settle(20);
    return { samples, closeMs, folderBytes: dirBytes(join(dir, "outbox")) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The least a durable write costs: the same bytes appended to a file opened once, one `datasync()` per record. In a
 * burst all records are there at the start and are written one after the other, so each one's time counts from then.
 */
async function appendRun(lines: Buffer[], mode: Mode, preallocate = false): Promise<Latencies> {
  const baseline = await BaselineFile.open(lines, preallocate);
  try {
    collectGarbage();
    const samples: number[] = [];
    const burstStart = performance.now();
    for (const line of lines) {
      const start = mode === "sequential" ? performance.now() : burstStart;
      await baseline.append(line);
      samples.push(performance.now() - start);
    }
    return { samples };
  } finally {
    await baseline.close();
  }
}

/**
 * A file in a folder of its own that takes records one at a time, each written and synced (`datasync`): the bare
 * durable append the outbox is measured against. Preallocated as the outbox's segments are (zeros written and synced
 * first, then each record over them at its offset), or growing. It takes WARMUP records when it opens.
 */
class BaselineFile {
  private constructor(
    private readonly dir: string,
    private readonly file: FileHandle,
    private at: number | null,
  ) {}

  static async open(lines: Buffer[], preallocate: boolean): Promise<BaselineFile> {
    const dir = scratch();
    const path = join(dir, "baseline.log");
    let baseline: BaselineFile;
    if (preallocate) {
      const file = await open(path, "w+");
      const size = [...lines.slice(0, WARMUP), ...lines].reduce((sum, line) => sum + line.length, 0);
      await file.write(Buffer.alloc(size), 0, size, 0);
      await file.sync();
      baseline = new BaselineFile(dir, file, 0);
    } else {
      baseline = new BaselineFile(dir, await open(path, "a"), null);
    }
    for (const line of lines.slice(0, WARMUP)) await baseline.append(line);
    return baseline;
  }

  /** Resolves once the record is on disk, with the time it took in ms. */
  async append(line: Buffer): Promise<number> {
    const start = performance.now();
    await this.file.write(line, 0, line.length, this.at);
    if (this.at !== null) this.at += line.length;
    await this.file.datasync();
    return performance.now() - start;
  }

  async close(): Promise<void> {
    await this.file.close();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** The floor for a burst: all its bytes in one write and one `datasync()`. */
async function oneWriteRun(lines: Buffer[]): Promise<number> {
  const dir = scratch();
  try {
    const file = await open(join(dir, "floor.log"), "a");
    try {
      await file.write(lines[0]);
      await file.datasync();
      collectGarbage();
      const start = performance.now();
      await file.write(Buffer.concat(lines));
      await file.datasync();
      return performance.now() - start;
    } finally {
      await file.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The journal lines that the outbox writes for `mails`, byte for byte, to feed the baseline. */
async function linesOf(
  mails: OutgoingMail[],
  metas: Array<Parameters<Outbox["enqueue"]>[1]> = mails.map(enqueueMeta),
): Promise<Buffer[]> {
  const dir = scratch();
  try {
    const outbox = await Outbox.open(dir, { segmentBytes: Number.MAX_SAFE_INTEGER });
    for (const [i, mail] of mails.entries()) await outbox.enqueue(mail, metas[i]);
    await outbox.close();
    return journalLines(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

interface EnqueueCase {
  variant: Variant;
  mode: Mode;
  warm: OutgoingMail[];
  mails: OutgoingMail[];
  lines: Buffer[];
  outbox: Latencies[];
  /** The same outbox appending to growing segment files, as before segments were preallocated. */
  appended: Latencies[];
  baseline: Latencies[];
  floor: number[];
  closeMs: number[];
  folderBytes: number[];
}

async function prepareEnqueueCases(): Promise<EnqueueCase[]> {
  const cases: EnqueueCase[] = [];
  for (const variant of VARIANTS) {
    const warm = await composeMails(variant, WARMUP);
    for (const mode of ["sequential", "burst"] as const) {
      const mails = await composeMails(variant, mode === "sequential" ? variant.sequential : BURST);
      const lines = await linesOf(mails);
      cases.push({
        variant,
        mode,
        warm,
        mails,
        lines,
        outbox: [],
        appended: [],
        baseline: [],
        floor: [],
        closeMs: [],
        folderBytes: [],
      });
    }
  }
  return cases;
}

async function measureEnqueue(item: EnqueueCase): Promise<void> {
  const run = await outboxRun(item.warm, item.mails, item.mode);
  item.outbox.push({ samples: run.samples });
  item.appended.push({ samples: (await outboxRun(item.warm, item.mails, item.mode, false)).samples });
  item.closeMs.push(run.closeMs);
  item.folderBytes.push(run.folderBytes);
  item.baseline.push(await appendRun(item.lines, item.mode));
  if (item.mode === "burst") item.floor.push(await oneWriteRun(item.lines));
}

// ---------------------------------------------------------------------------------------------------------------
// B. Through alarm-mail-send in Node-RED, while it delivers

/** A server node (a new id is a new outbox folder) and a send node `send-<server id>`, outputs unwired. */
function mailFlow(port: number, server: string): FlowNode[] {
  return [
    { id: "tab", type: "tab", label: "bench" },
    {
      id: server,
      type: "alarm-mail-server",
      host: "127.0.0.1",
      port,
      security: "none",
      auth: "none",
      from: FROM,
    },
    { id: `send-${server}`, z: "tab", type: "alarm-mail-send", server, wires: [[], []] },
  ];
}

async function until<T>(probe: () => T | undefined, timeoutMs: number, what: string): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await settle(2);
  }
}

interface RuntimeRun {
  /** One at a time, while a backlog of BACKLOG mails is being delivered. */
  sequential: number[];
  /** Of each sequential sample, the part from the send node calling Outbox.enqueue until it resolved. */
  insideEnqueue: number[];
  /** The bare append + datasync of the same kind of records, one at a time, while the same backlog is delivered. */
  loadedBaseline: number[];
  /** The same into a file of zeros written and synced beforehand, as the outbox's segments are. */
  loadedPreallocated: number[];
  /** Mails per second that reached the sink while the sequential mails went in. */
  deliveringRate: number;
  /** Mails of the backlog still queued when the last sequential mail was durable (0: delivery may have idled). */
  backlogLeft: number;
  burst: number[];
  /** Mails per second from the burst's start until the sink had all of it. */
  burstDelivery: number;
  sequentialLines: Buffer[];
  burstLines: Buffer[];
}

/** Mails handed to the send node before the timed one-at-a-time mails, so that they go in while it delivers. */
const BACKLOG = 4000;
/** After the backlog is durable, before the timed mails: the end of its burst is not what delivering costs. */
const SETTLE_MS = 500;
/** Between two timed mails (and their baseline records), so that 300 of them span seconds of delivery. */
const GAP_MS = 5;
const MSGID = /"_msgid":"([^"]+)"/;

/**
 * One deploy on the embedded Node-RED with a fresh outbox. The end point "durable" is observed by noting the time
 * when the outbox's own `enqueue` promise resolves (after its fdatasync): the call is passed through untouched.
 */
async function runtimeRun(red: EmbeddedNodeRed, n: number, baselineLines: Buffer[]): Promise<RuntimeRun> {
  const sequentialCount = baselineLines.length;
  // In a process of its own, as a mail server is on another machine: its parsing does not share this event loop.
  const sink = await SinkProcess.start();
  let failed = 0;
  try {
    await red.deploy(mailFlow(sink.port, `server-${n}`));
    const server = red.node(`server-${n}`) as ServerNodeObject;
    const outbox = await until(() => server.mailServer.mailbox, 10_000, "the outbox");
    red.onComplete((event) => {
      if (event.error !== undefined) failed += 1;
    });

    const calledAt = new Map<string, number>();
    const durableAt = new Map<string, number>();
    const waiters = new Map<string, () => void>();
    const enqueued = new Map<string, Parameters<Outbox["enqueue"]>>();
    const enqueue = outbox.enqueue.bind(outbox);
    outbox.enqueue = async (mail, meta) => {
      const id = MSGID.exec(meta.msgJson ?? "")?.[1];
      if (id !== undefined) {
        calledAt.set(id, performance.now());
        enqueued.set(id, [mail, meta]);
      }
      const entry = await enqueue(mail, meta);
      if (id !== undefined) {
        durableAt.set(id, performance.now());
        waiters.get(id)?.();
      }
      return entry;
    };
    const durable = (id: string) =>
      new Promise<void>((resolve) => (durableAt.has(id) ? resolve() : waiters.set(id, resolve)));
    const send = red.node(`send-server-${n}`);
    const feed = (ids: string[]) => ids.forEach((id) => send.receive(storedMsg(id)));

    const warm = Array.from({ length: WARMUP }, (_, i) => `warm-${i}`);
    feed(warm);
    await Promise.all(warm.map(durable));
    await sink.waitFor(WARMUP, 30_000);
    collectGarbage();

    // A backlog, durable before the timed mails start: they then go in while the outbox delivers it at full rate.
    const backlog = Array.from({ length: BACKLOG }, (_, i) => `backlog-${i}`);
    feed(backlog);
    await Promise.all(backlog.map(durable));
    const sequentialIds = Array.from({ length: sequentialCount }, (_, i) => `seq-${i}`);
    const sequential: number[] = [];
    const insideEnqueue: number[] = [];
    // The same disk and the same process, busy with the same delivery: what a durable write costs under this load,
    // a record of each in turn with the node's, so that all three meet the same moments of the delivery.
    const growing = await BaselineFile.open(baselineLines, false);
    const preallocated = await BaselineFile.open(baselineLines, true);
    const loadedBaseline: number[] = [];
    const loadedPreallocated: number[] = [];
    // The backlog's own burst of records is behind: from here on the outbox only delivers.
    await settle(SETTLE_MS);
    const sinkBefore = (await sink.stats()).received;
    const began = performance.now();
    for (const [i, id] of sequentialIds.entries()) {
      const start = performance.now();
      send.receive(storedMsg(id));
      await durable(id);
      const end = durableAt.get(id) ?? Number.NaN;
      sequential.push(end - start);
      insideEnqueue.push(end - (calledAt.get(id) ?? Number.NaN));
      loadedBaseline.push(await growing.append(baselineLines[i]));
      loadedPreallocated.push(await preallocated.append(baselineLines[i]));
      // Spread over seconds, the samples meet what delivery does now and then (a segment made, a rotation).
      await settle(GAP_MS);
    }
    const ended = performance.now();
    await growing.close();
    await preallocated.close();
    const deliveringRate = ((await sink.stats()).received - sinkBefore) / ((ended - began) / 1000);
    const backlogLeft = outbox.pending().length;
    await sink.waitFor(WARMUP + BACKLOG + sequentialCount, 60_000);
    collectGarbage();

    const burstIds = Array.from({ length: BURST }, (_, i) => `burst-${i}`);
    const start = performance.now();
    feed(burstIds);
    await Promise.all(burstIds.map(durable));
    const burst = burstIds.map((id) => (durableAt.get(id) ?? Number.NaN) - start);
    const burstDelivered = await sink.waitFor(WARMUP + BACKLOG + sequentialCount + BURST, 60_000);
    const burstDelivery = BURST / ((burstDelivered - start) / 1000);
    await settle(200);
    if (failed > 0) throw new Error(`alarm-mail-send: ${failed} msgs completed with an error`);

    await red.deploy([]);
    // The journal compacts delivered mails away: the baseline's records are the same mails and metadata written
    // again by an outbox of their own.
    const linesFor = (ids: string[]) => {
      const calls = ids.map((id) => {
        const call = enqueued.get(id);
        if (!call) throw new Error(`no enqueue seen for ${id}`);
        return call;
      });
      return linesOf(
        calls.map(([mail]) => mail),
        calls.map(([, meta]) => meta),
      );
    };
    return {
      sequential,
      insideEnqueue,
      loadedBaseline,
      loadedPreallocated,
      deliveringRate,
      backlogLeft,
      burst,
      burstDelivery,
      sequentialLines: await linesFor(sequentialIds),
      burstLines: await linesFor(burstIds),
    };
  } finally {
    red.onComplete(undefined);
    await sink.close();
  }
}

// ---------------------------------------------------------------------------------------------------------------
// C. Restart with 50,000 queued mails

/** Fills an outbox the way a long outage does, bursts of 1000 at a time; returns the time it took. */
async function fillOutbox(dir: string): Promise<number> {
  const variant = VARIANTS[0];
  const start = performance.now();
  const outbox = await Outbox.open(dir);
  for (let filled = 0; filled < RESTART_QUEUED; filled += BURST) {
    const mails = await composeMails(variant, Math.min(BURST, RESTART_QUEUED - filled));
    await Promise.all(mails.map((mail) => outbox.enqueue(mail, enqueueMeta(mail))));
  }
  await settle(20);
  await outbox.close();
  return performance.now() - start;
}

/** The least any replay must do: read every segment and parse every line's JSON (no checksum, no state). */
async function readAndParse(dir: string): Promise<number> {
  let records = 0;
  for (const name of readdirSync(dir)
    .filter((n) => n.endsWith(".log"))
    .sort()) {
    const text = (await readFile(join(dir, name))).toString("utf8");
    for (const line of text.split("\n")) {
      if (line.length === 0) continue;
      JSON.parse(line.slice(9));
      records += 1;
    }
  }
  return records;
}

async function journalReplay(dir: string): Promise<number> {
  let records = 0;
  const journal = await Journal.open<unknown>(
    dir,
    () => (records += 1),
    () => undefined,
    () => undefined,
  );
  await journal.close();
  return records;
}

/** What the child process of one Node-RED start reports (`bench/restart-child.ts`). */
interface ChildStart {
  flowsStartedMs: number;
  readyMs: number;
  deliveredMs: number;
  queued: number;
  readyRssMb: number;
  peakRssMb: number;
}

interface NodeRedStart extends ChildStart {
  /** From the spawn of the process to the first mail at the sink (NaN with an empty outbox). */
  firstMailMs: number;
  /** Mails per second over the RESTART_DELIVERIES after the first one. */
  delivery: number;
}

interface RestartRound {
  readAndParse: number;
  journalReplay: number;
  outboxOpen: number;
  /** Folder size once Outbox.open has returned (it may have compacted). */
  folderAfterOpen: number;
  empty: NodeRedStart;
  full: NodeRedStart;
}

async function timed<T>(work: () => Promise<T>): Promise<{ ms: number; value: T }> {
  collectGarbage();
  const start = performance.now();
  const value = await work();
  return { ms: performance.now() - start, value };
}

/** Outbox.open on a copy of `pristine`, checked to give back every mail; the folder's size once it is open. */
async function openCopy(pristine: string): Promise<{ ms: number; folderAfterOpen: number }> {
  const copy = scratch();
  try {
    cpSync(pristine, copy, { recursive: true });
    const opened = await timed(() => Outbox.open(copy));
    const queued = opened.value.pending().length;
    if (queued !== RESTART_QUEUED) throw new Error(`Outbox.open gave back ${queued} of ${RESTART_QUEUED} mails`);
    const folderAfterOpen = dirBytes(copy);
    await settle(20);
    await opened.value.close();
    await settle(20);
    return { ms: opened.ms, folderAfterOpen };
  } finally {
    rmSync(copy, { recursive: true, force: true });
  }
}

/**
 * A Node-RED process started on a user directory whose flow has the server node "server" and whose outbox holds a
 * copy of `pristine` (or nothing); times from the spawn, the peak RSS of that process.
 */
async function nodeRedStart(pristine: string | undefined): Promise<NodeRedStart> {
  const userDir = benchUserDir();
  const sink = new SmtpSink({ starttls: false });
  try {
    const port = await sink.listen();
    writeFileSync(join(userDir, "flows.json"), JSON.stringify(mailFlow(port, "server")));
    if (pristine) {
      const outboxDir = join(userDir, "alarm-mail", "outbox", "server");
      mkdirSync(outboxDir, { recursive: true });
      cpSync(pristine, outboxDir, { recursive: true });
    }
    const deliveries = pristine ? Math.min(RESTART_DELIVERIES + 1, RESTART_QUEUED) : 0;
    const spawned = performance.now();
    let firstAt = Number.NaN;
    let lastAt = Number.NaN;
    const arrivals = pristine
      ? sink.waitFor(1, 120_000).then(async () => {
          firstAt = performance.now();
          await sink.waitFor(deliveries, 120_000);
          lastAt = performance.now();
        })
      : Promise.resolve();
    const child = execFile(
      process.execPath,
      ["--import", "tsx", join(__dirname, "restart-child.ts"), userDir, String(deliveries)],
      {
        cwd: root,
      },
    );
    let out = "";
    child.stdout?.on("data", (chunk: Buffer) => (out += chunk.toString()));
    child.stderr?.pipe(process.stderr);
    const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
    if (code !== 0) throw new Error(`the Node-RED process ended with ${code}`);
    await arrivals;
    const reported = JSON.parse(out.trim().split("\n").at(-1) ?? "") as ChildStart;
    return {
      ...reported,
      firstMailMs: firstAt - spawned,
      delivery: (deliveries - 1) / ((lastAt - firstAt) / 1000),
    };
  } finally {
    await sink.close();
    rmSync(userDir, { recursive: true, force: true });
  }
}

async function restartRound(pristine: string): Promise<RestartRound> {
  const parsed = await timed(() => readAndParse(pristine));
  const replayed = await timed(() => journalReplay(pristine));
  if (parsed.value !== replayed.value) throw new Error(`replay saw ${replayed.value} records, files ${parsed.value}`);
  const opened = await openCopy(pristine);
  const empty = await nodeRedStart(undefined);
  const full = await nodeRedStart(pristine);
  if (full.queued !== RESTART_QUEUED) throw new Error(`Node-RED gave back ${full.queued} of ${RESTART_QUEUED} mails`);
  return {
    readAndParse: parsed.ms,
    journalReplay: replayed.ms,
    outboxOpen: opened.ms,
    folderAfterOpen: opened.folderAfterOpen,
    empty,
    full,
  };
}

/**
 * Heap that an opened outbox keeps with RESTART_QUEUED mails queued (its index; the content is meant to stay on
 * disk): the heap after a GC with the outbox open, less the heap after a GC once it is closed and let go.
 */
async function openOutboxHeap(pristine: string): Promise<{ retained: number; folder: number }> {
  const copy = scratch();
  try {
    cpSync(pristine, copy, { recursive: true });
    let outbox: Outbox | undefined = await Outbox.open(copy);
    const queued = outbox.pending().length;
    if (queued !== RESTART_QUEUED) throw new Error(`Outbox.open gave back ${queued} of ${RESTART_QUEUED} mails`);
    await settle(20);
    collectGarbage();
    const withOutbox = process.memoryUsage().heapUsed;
    await outbox.close();
    outbox = undefined;
    await settle(20);
    collectGarbage();
    return { retained: withOutbox - process.memoryUsage().heapUsed, folder: dirBytes(pristine) };
  } finally {
    rmSync(copy, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Report

const ms = (n: number) => (n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(2));
const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;
const ratio = (n: number) => `${n.toFixed(2)}×`;

interface Summary {
  median: number;
  p99: number;
  /** The median of each run, to show the spread between rounds. */
  runMedians: number[];
}

/** Median and p99 of all samples of all rounds together, and each round's own median. */
function summarise(runs: Latencies[]): Summary {
  const all = runs.flatMap((run) => run.samples);
  return { median: median(all), p99: percentile(all, 0.99), runMedians: runs.map((run) => median(run.samples)) };
}

interface LatencyRow {
  mail: string;
  mode: string;
  candidate: string;
  summary: Summary;
  baseline: Summary;
}

function latencyTable(rows: LatencyRow[]): string {
  const lines = [
    "| mail | mode | candidate | median ms | p99 ms | run medians (ms) | median ratio | p99 ratio |",
    "|---|---|---|---:|---:|---|---:|---:|",
  ];
  for (const row of rows) {
    const isBaseline = row.summary === row.baseline;
    lines.push(
      `| ${row.mail} | ${row.mode} | ${row.candidate} | ${ms(row.summary.median)} | ${ms(row.summary.p99)} | ` +
        `${row.summary.runMedians.map(ms).join(", ")} | ` +
        `${isBaseline ? "1.00×" : `**${ratio(row.summary.median / row.baseline.median)}**`} | ` +
        `${isBaseline ? "1.00×" : `**${ratio(row.summary.p99 / row.baseline.p99)}**`} |`,
    );
  }
  return lines.join("\n");
}

interface Results {
  cases: EnqueueCase[];
  runtime: RuntimeRun[];
  runtimeBaseline: { sequential: Latencies[]; burst: Latencies[] };
  fillMs: number;
  folderBytes: number;
  records: number;
  restart: RestartRound[];
  heap: { retained: number; folder: number };
}

function report(results: Results, seconds: number): string {
  const enqueueRows: LatencyRow[] = [];
  for (const item of results.cases) {
    const baseline = summarise(item.baseline);
    const base = { mail: item.variant.name, mode: `${item.mode} (${item.mails.length})`, baseline };
    enqueueRows.push({ ...base, candidate: "append + datasync per record (baseline)", summary: baseline });
    if (item.mode === "burst") {
      const floor = { median: median(item.floor), p99: median(item.floor), runMedians: item.floor };
      enqueueRows.push({ ...base, candidate: "one write + one datasync for all (floor)", summary: floor });
    }
    enqueueRows.push({ ...base, candidate: "**Outbox.enqueue**", summary: summarise(item.outbox) });
    enqueueRows.push({
      ...base,
      candidate: "Outbox.enqueue, segments not preallocated",
      summary: summarise(item.appended),
    });
  }

  const runtimeRows: LatencyRow[] = [];
  for (const mode of ["sequential", "burst"] as const) {
    const baseline = summarise(results.runtimeBaseline[mode]);
    const count = mode === "sequential" ? results.runtime[0].sequential.length : BURST;
    const base = { mail: "1 KB body", mode: `${mode} (${count})`, baseline };
    runtimeRows.push({ ...base, candidate: "append + datasync per record, idle (baseline)", summary: baseline });
    if (mode === "sequential") {
      const loaded = summarise(results.runtime.map((run) => ({ samples: run.loadedBaseline })));
      runtimeRows.push({
        ...base,
        candidate: "append + datasync per record, while the node delivers the backlog",
        summary: loaded,
        baseline: loaded,
      });
      const preallocated = summarise(results.runtime.map((run) => ({ samples: run.loadedPreallocated })));
      runtimeRows.push({
        ...base,
        candidate: "the same into a preallocated file, as the outbox writes (baseline)",
        summary: preallocated,
        baseline: preallocated,
      });
      const outbox = summarise(results.runtime.map((run) => ({ samples: run.sequential })));
      runtimeRows.push({
        ...base,
        candidate: "**alarm-mail-send, receive → durable**",
        summary: outbox,
        baseline: preallocated,
      });
    } else {
      const outbox = summarise(results.runtime.map((run) => ({ samples: run.burst })));
      runtimeRows.push({ ...base, candidate: "**alarm-mail-send, receive → durable**", summary: outbox });
    }
  }

  const inside = summarise(results.runtime.map((run) => ({ samples: run.insideEnqueue })));
  const restart = results.restart;
  const col = (pick: (r: RestartRound) => number) => ({ median: median(restart.map(pick)), runs: restart.map(pick) });
  const parse = col((r) => r.readAndParse);
  const restartRows: Array<[string, { median: number; runs: number[] }]> = [
    ["read every segment + JSON.parse each line (baseline)", parse],
    ["Journal.open: replay with CRC check, no state", col((r) => r.journalReplay)],
    ["**Outbox.open** (replay, fold, index, compaction if due)", col((r) => r.outboxOpen)],
  ];
  const restartTable = [
    "| step | ms (median) | runs (ms) | ratio to baseline |",
    "|---|---:|---|---:|",
    ...restartRows.map(
      ([name, value]) =>
        `| ${name} | ${ms(value.median)} | ${value.runs.map(ms).join(", ")} | **${ratio(value.median / parse.median)}** |`,
    ),
  ].join("\n");
  const startRows: Array<[string, (start: NodeRedStart) => number, string]> = [
    ["process start → flows started", (st) => st.flowsStartedMs, "ms"],
    ["process start → outbox open", (st) => st.readyMs, "ms"],
    ["spawn → first mail at the sink", (st) => st.firstMailMs, "ms"],
    ["RSS when the outbox is open", (st) => st.readyRssMb, "MB"],
    [`peak RSS (VmHWM), up to ${RESTART_DELIVERIES + 1} mails delivered`, (st) => st.peakRssMb, "MB"],
  ];
  const startCell = (runs: number[], unit: string) =>
    runs.every(Number.isNaN) ? "–" : `${ms(median(runs))} ${unit} (${runs.map(ms).join(", ")})`;
  const startTable = [
    `| Node-RED process | empty outbox | ${RESTART_QUEUED.toLocaleString("en")} queued | difference (medians) |`,
    "|---|---:|---:|---:|",
    ...startRows.map(([name, pick, unit]) => {
      const empty = restart.map((r) => pick(r.empty));
      const full = restart.map((r) => pick(r.full));
      const diff = Number.isNaN(median(empty)) ? "–" : `**${ms(median(full) - median(empty))} ${unit}**`;
      return `| ${name} | ${startCell(empty, unit)} | ${startCell(full, unit)} | ${diff} |`;
    }),
  ].join("\n");

  const burstDelivery = median(results.runtime.map((run) => run.burstDelivery));
  const restartDelivery = median(restart.map((r) => r.full.delivery));
  const findCase = (attachment: boolean, mode: Mode) =>
    results.cases.find((c) => c.variant.attachment === attachment && c.mode === mode) as EnqueueCase;
  const closeNote = results.cases
    .map((c) => `${c.variant.name}, ${c.mode}: ${c.closeMs.map(ms).join(", ")} ms`)
    .join("; ");
  const seq1k = findCase(false, "sequential");
  const burst1k = findCase(false, "burst");
  const burstAtt = findCase(true, "burst");

  return [
    ranAt(seconds),
    "",
    `- Machine: ${machine()}, Node-RED ${versionOf("node-red/package.json")}; files in \`${tmpdir()}\``,
    "- Command: `npm run bench:outbox`",
    `- ${ROUNDS} rounds, candidates interleaved in each; median and p99 over the samples of all rounds, ratios to the ` +
      `baseline of the same run; ${WARMUP} warm-up mails before each timed run, a fresh folder for each run`,
    "",
    "**Input to durable: `Outbox.enqueue`** (the mail composed beforehand; the record holds the mail and the msg, as the " +
      "send node stores them; a burst's times count from the moment all of it was handed over)",
    "",
    latencyTable(enqueueRows),
    "",
    "**Input to durable through `alarm-mail-send`** in a Node-RED embedded in the bench process (`RED.init`/" +
      `\`RED.start\`, no test helper), from \`receive(msg)\` to the outbox's \`enqueue\` resolving. One at a time: ` +
      `while the outbox delivers a backlog of ${BACKLOG} mails to an SMTP sink on loopback, from ${SETTLE_MS} ms ` +
      `after the backlog was durable (its burst of records behind), ${GAP_MS} ms apart so that they span seconds of ` +
      "delivery. After each, in turn, the same record appended with one datasync to two files of its own on the same " +
      "disk: a growing file, and a file of zeros written and synced beforehand as the outbox's segments are (the " +
      "ratios of the one-at-a-time row are to the latter); and once the backlog is delivered, with nothing else " +
      "running, to a growing file (idle)",
    "",
    latencyTable(runtimeRows),
    "",
    `- While the one-at-a-time mails went in, the sink received ` +
      `${results.runtime.map((run) => run.deliveringRate.toFixed(0)).join(", ")} mails/s (per round); backlog left ` +
      `when the last was durable: ${results.runtime.map((run) => run.backlogLeft).join(", ")} mails.`,
    `- Of the one-at-a-time time through the node, \`Outbox.enqueue\` itself (called → resolved) took a median of ` +
      `${ms(inside.median)} ms (p99 ${ms(inside.p99)}); the rest, before the call (Node-RED, composing, copying the ` +
      `msg), ${ms(summarise(results.runtime.map((run) => ({ samples: run.sequential }))).median - inside.median)} ms.`,
    "",
    `**Restart with ${RESTART_QUEUED.toLocaleString("en")} queued mails** (1 KB body each): ` +
      `${mb(results.folderBytes)} in the folder, ${results.records.toLocaleString("en")} records`,
    "",
    restartTable,
    "",
    `Node-RED started in a process of its own (\`bench/restart-child.ts\`, the same flow; the outbox a copy of the ` +
      `full one, or none), empty and full interleaved, ${restart.length} rounds; times from the process's start ` +
      "(its `performance.now()`) or from the spawn:",
    "",
    startTable,
    "",
    `- Heap kept by an opened outbox with ${RESTART_QUEUED.toLocaleString("en")} queued mails: ` +
      `${mb(results.heap.retained)} (${(results.heap.retained / RESTART_QUEUED).toFixed(0)} bytes a mail; ` +
      `the folder is ${mb(results.heap.folder)}). Folder after Outbox.open: ` +
      `${mb(median(restart.map((r) => r.folderAfterOpen)))}.`,
    `- Delivery after the restart, over ${RESTART_DELIVERIES} mails with ${RESTART_QUEUED.toLocaleString("en")} ` +
      `queued: ${restartDelivery.toFixed(0)} mails/s (runs ${restart.map((r) => r.full.delivery.toFixed(0)).join(", ")}); ` +
      `a burst of ${BURST} into an empty outbox in part B reached the sink at ${burstDelivery.toFixed(0)} mails/s.`,
    `- Filling the outbox (${RESTART_QUEUED.toLocaleString("en")} mails in bursts of ${BURST}, then close): ` +
      `${(results.fillMs / 1000).toFixed(1)} s.`,
    `- Outbox.enqueue, 1 KB, one at a time: ${ratio(summarise(seq1k.outbox).median / summarise(seq1k.baseline).median)} ` +
      `the bare append + datasync at the median (p99 ${ratio(summarise(seq1k.outbox).p99 / summarise(seq1k.baseline).p99)}); ` +
      `with segments not preallocated ${ratio(summarise(seq1k.appended).median / summarise(seq1k.baseline).median)} ` +
      `(p99 ${ratio(summarise(seq1k.appended).p99 / summarise(seq1k.baseline).p99)}). Burst of ${BURST}: ` +
      `${ratio(summarise(burst1k.outbox).p99 / summarise(burst1k.baseline).p99)} (1 KB) and ` +
      `${ratio(summarise(burstAtt.outbox).p99 / summarise(burstAtt.baseline).p99)} (100 KB attachment) the ` +
      `per-record baseline at p99, ${ratio(summarise(burst1k.outbox).p99 / median(burst1k.floor))} and ` +
      `${ratio(summarise(burstAtt.outbox).p99 / median(burstAtt.floor))} the one-write floor.`,
    `- Outbox.close after each run (it waits for a compaction under way): ${closeNote}.`,
    `- Unhandled rejections during the run: ${unhandled.length}` +
      (unhandled.length ? ` (${[...new Set(unhandled)].join("; ")})` : "") +
      ".",
  ].join("\n");
}

async function main(): Promise<void> {
  const began = performance.now();
  const red = await EmbeddedNodeRed.start();
  // Part B first, before parts A and C hold their mails in this process: a heap full of a bench's mails lengthens
  // every garbage collection, and with it every latency measured here, which a user's Node-RED does not have.
  const runtime: RuntimeRun[] = [];
  const sequentialLines = await linesOf(await composeMails(VARIANTS[0], VARIANTS[0].sequential));
  for (let round = 1; round <= ROUNDS; round++) runtime.push(await runtimeRun(red, round, sequentialLines));
  const cases = await prepareEnqueueCases();

  const pristine = scratch();
  try {
    const fillMs = await fillOutbox(pristine);
    const folderBytes = dirBytes(pristine);
    const records = journalLines(pristine).length;
    console.log(`filled ${RESTART_QUEUED} mails in ${ms(fillMs)} ms, ${mb(folderBytes)}, ${records} records`);

    const runtimeBaseline = { sequential: [] as Latencies[], burst: [] as Latencies[] };
    const restart: RestartRound[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      for (const item of cases) {
        await measureEnqueue(item);
        const last = item.outbox.length - 1;
        console.log(
          `round ${round}: enqueue ${item.variant.name}, ${item.mode}: outbox median ` +
            `${ms(median(item.outbox[last].samples))} ms, baseline ${ms(median(item.baseline[last].samples))} ms`,
        );
      }
      const run = runtime[round - 1];
      runtimeBaseline.sequential.push(await appendRun(run.sequentialLines, "sequential"));
      runtimeBaseline.burst.push(await appendRun(run.burstLines, "burst"));
      const base = runtimeBaseline.sequential[runtimeBaseline.sequential.length - 1].samples;
      console.log(
        `round ${round}: alarm-mail-send receive → durable while delivering: median ${ms(median(run.sequential))} ms, ` +
          `p99 ${ms(percentile(run.sequential, 0.99))} ms (append + datasync meanwhile ${ms(median(run.loadedBaseline))}, p99 ` +
          `${ms(percentile(run.loadedBaseline, 0.99))}; preallocated ${ms(median(run.loadedPreallocated))}, p99 ` +
          `${ms(percentile(run.loadedPreallocated, 0.99))}; idle ${ms(median(base))}, p99 ${ms(percentile(base, 0.99))}); ` +
          `${ms(median(run.burst))} ms in a burst`,
      );
      const restarted = await restartRound(pristine);
      restart.push(restarted);
      console.log(
        `round ${round}: restart: parse ${ms(restarted.readAndParse)} ms, Journal.open ${ms(restarted.journalReplay)} ms, ` +
          `Outbox.open ${ms(restarted.outboxOpen)} ms; Node-RED outbox open: empty ${ms(restarted.empty.readyMs)} ms, ` +
          `full ${ms(restarted.full.readyMs)} ms, peak RSS ${restarted.full.peakRssMb.toFixed(0)} MB`,
      );
    }
    const heap = await openOutboxHeap(pristine);
    await red.stop();
    const block = report(
      { cases, runtime, runtimeBaseline, fillMs, folderBytes, records, restart, heap },
      (performance.now() - began) / 1000,
    );
    console.log(`\n${block}\n`);
    await writeResults("outbox", "`bench/outbox.bench.ts`: the durable outbox", block);
    console.log(`written to ${resultsFile}`);
  } finally {
    rmSync(pristine, { recursive: true, force: true });
  }
}

runMain(main);
