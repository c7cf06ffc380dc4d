import type { Node, NodeAPI, NodeDef, NodeMessageInFlow } from "node-red";
import {
  IntervalSampler,
  nextInstant,
  operatorAction,
  parseTraceConfig,
  sampleValues,
  traceKind,
  type RawTraceConfig,
  type TraceConfig,
} from "../../lib/trace/TraceConfig";
import { TraceError } from "../../lib/trace/TraceError";
import { TraceLog, type IntervalRow, type TraceKind, type TraceRow } from "../../lib/trace/TraceLog";
import { closeWithinBudget, failMessage, reportConfigError } from "../kit/lifecycle";
import { deployedNode } from "../kit/nodes";
import { nodeDataPath } from "../kit/storage";

export type TraceNodeDef = NodeDef & RawTraceConfig;

/** The node object of an `alarm-mail-trace`: `RED.nodes.getNode(id).traceLog` is how the CSV attacher reads it. */
export interface TraceNodeObject extends Node {
  traceLog: TraceNode;
}

type Send = (msg: NodeMessageInFlow) => void;
type Done = (err?: Error) => void;

/** The row count under the node changes with every msg; the editor is told at most this often. */
const STATUS_EVERY_MS = 1000;

/**
 * The runtime side of `alarm-mail-trace`: turns msgs into rows of a bounded log that survives a restart (process
 * samples, one per msg or one per interval with the last value of each topic, or operator actions) and passes each
 * msg on. The log is opened when the node starts; msgs that arrive meanwhile wait for it.
 */
export class TraceNode {
  readonly name: string;
  private readonly config?: TraceConfig;
  private readonly configError?: Error;
  private readonly opening?: Promise<TraceLog | undefined>;
  private log?: TraceLog;
  private sampler?: IntervalSampler;
  private sampleTimer?: NodeJS.Timeout;
  private statusTimer?: NodeJS.Timeout;
  private lastInstant = 0;
  private closed = false;

  constructor(
    private readonly RED: NodeAPI,
    private readonly node: Node,
    def: TraceNodeDef,
  ) {
    this.name = def.name || node.id;
    try {
      this.config = parseTraceConfig(def);
      this.opening = this.open(this.config);
    } catch (err) {
      this.configError = reportConfigError(RED, node, err, { status: true });
    }
    node.on("input", (msg, send, done) => void this.onInput(msg, send, done));
    node.on("close", (removed: boolean, done: () => void) => {
      void this.close(removed).finally(done);
    });
  }

  /** The shape of the log's rows, which decides its columns; a node with a bad configuration has no log. */
  get kind(): TraceKind {
    if (!this.config) throw this.configError;
    return traceKind(this.config);
  }

  /** The rows kept, oldest first: what the CSV attacher exports. */
  async rows(): Promise<TraceRow[]> {
    if (!this.config) throw this.configError;
    const log = await this.opening;
    if (!log) throw new TraceError("trace-unavailable", { reason: this.t("status.closed") });
    return log.rows();
  }

  private async open(config: TraceConfig): Promise<TraceLog | undefined> {
    const kind = traceKind(config);
    try {
      const log = await TraceLog.open(nodeDataPath(this.RED, "trace", this.node.id), {
        kind,
        maxRows: config.maxRows,
        maxAgeMs: config.maxAgeMs,
        onCorrupt: (corrupt) =>
          this.node.warn(
            this.t("warn.corrupt", { file: corrupt.file, offset: corrupt.offset, reason: corrupt.reason }),
          ),
        onWriteError: (err, rows) =>
          this.node.warn(this.t("warn.unwritable", { rows, reason: err instanceof Error ? err.message : String(err) })),
      });
      if (log.droppedOtherKind > 0) this.node.warn(this.t("warn.otherMode", { rows: log.droppedOtherKind }));
      if (this.closed) {
        await log.close();
        return undefined;
      }
      this.log = log;
      if (kind === "interval") {
        const last = log.last() as IntervalRow | undefined;
        this.sampler = new IntervalSampler(last);
        this.armSampling(config.intervalMs);
      }
      this.showStatus();
      return log;
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      reportConfigError(this.RED, this.node, new TraceError("trace-unavailable", { reason }), { status: true });
      return undefined;
    }
  }

  private async onInput(msg: NodeMessageInFlow, send: Send, done: Done): Promise<void> {
    try {
      if (!this.config) throw this.configError;
      const log = await this.opening;
      if (!log) throw new TraceError("trace-unavailable", { reason: this.t("status.closed") });
      const now = Date.now();
      const fields = msg as NodeMessageInFlow & Record<string, unknown>;
      if (this.config.mode === "operator") {
        log.add({ at: now, ...operatorAction(fields) });
      } else {
        const values = sampleValues(msg.topic, msg.payload);
        for (const [topic, value] of values) {
          if (this.sampler) this.sampler.update(topic, value);
          else log.add({ at: now, topic, value });
        }
      }
      this.statusSoon();
      send(msg);
      done();
    } catch (err) {
      failMessage(this.RED, this.node, done, err);
    }
  }

  /** One row at every multiple of the interval, with the last value of each topic. */
  private armSampling(intervalMs: number): void {
    const wait = nextInstant(Date.now(), intervalMs) - Date.now();
    this.sampleTimer = setTimeout(() => {
      // The instant nearest to now: a timer that fires a little late or early still writes the round time, once.
      const at = nextInstant(Date.now() - intervalMs / 2, intervalMs);
      const row = at > this.lastInstant ? this.sampler?.take(at) : undefined;
      this.lastInstant = Math.max(this.lastInstant, at);
      if (row && this.log) {
        this.log.add(row);
        this.statusSoon();
      }
      this.armSampling(intervalMs);
    }, wait);
  }

  private statusSoon(): void {
    this.statusTimer ??= setTimeout(() => {
      this.statusTimer = undefined;
      this.showStatus();
    }, STATUS_EVERY_MS);
  }

  private showStatus(): void {
    if (!this.log) return;
    this.node.status({
      fill: "green",
      shape: "dot",
      text: this.t("status.rows", { rows: this.log.size, max: this.config?.maxRows ?? 0 }),
    });
  }

  private async close(removed: boolean): Promise<void> {
    this.closed = true;
    clearTimeout(this.sampleTimer);
    clearTimeout(this.statusTimer);
    const log = await this.opening;
    if (!log) return;
    await closeWithinBudget(
      (removed ? log.remove() : log.close()).catch((err: unknown) =>
        this.node.warn(
          this.t("warn.unwritable", { rows: 0, reason: err instanceof Error ? err.message : String(err) }),
        ),
      ),
    );
  }

  private t(key: string, params: Record<string, string | number> = {}): string {
    return this.RED._(`alarm-mail-trace.${key}`, params);
  }
}

/** The trace log of the deployed `alarm-mail-trace` node `id`, for the CSV attacher. */
export function findTrace(RED: NodeAPI, id: unknown): TraceNode | undefined {
  return deployedNode<TraceNodeObject>(RED, id, "alarm-mail-trace")?.traceLog;
}
