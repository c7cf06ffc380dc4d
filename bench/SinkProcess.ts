/**
 * An SMTP sink (`dev/SmtpSink`, smtp-server on loopback) in a process of its own, as a mail server is on another
 * machine: its parsing then costs the candidate's process nothing, and the candidate's CPU figures are its own.
 */
import { fork, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import type { SmtpSinkOptions } from "../dev/SmtpSink";

interface Reached {
  reached: number;
  at?: number;
  error?: string;
}
/** What the sink has seen so far. */
export interface SinkStats {
  received: number;
  /** The most connections that were open at once. */
  peakConnections: number;
  /** The CPU time the sink process has used since it started, in ms: how much of the machine the server took. */
  cpuMs: number;
}
type Answer = { port: number } | { count: number; peakConnections: number; cpuMs: number } | Reached;

export class SinkProcess {
  private readonly waiters = new Map<number, (answer: Reached) => void>();
  private counted: Array<(stats: SinkStats) => void> = [];

  private constructor(
    private readonly child: ChildProcess,
    readonly port: number,
  ) {
    child.on("message", (answer: Answer) => {
      if ("reached" in answer) this.waiters.get(answer.reached)?.(answer);
      if ("count" in answer) {
        this.counted.shift()?.({
          received: answer.count,
          peakConnections: answer.peakConnections,
          cpuMs: answer.cpuMs,
        });
      }
    });
  }

  /** `options` as JSON: data only, no callbacks (the default: a plain server, no STARTTLS, no login). */
  static async start(options: SmtpSinkOptions = { starttls: false }): Promise<SinkProcess> {
    const child = fork(join(__dirname, "sink-child.ts"), [JSON.stringify(options)], {
      execArgv: ["--import", "tsx"],
      stdio: "inherit",
    });
    const port = await new Promise<number>((resolve, reject) => {
      child.once("error", reject);
      child.once("exit", (code) => reject(new Error(`the sink process ended with ${code}`)));
      child.once("message", (answer: Answer) =>
        "port" in answer ? resolve(answer.port) : reject(new Error("no port")),
      );
    });
    return new SinkProcess(child, port);
  }

  /**
   * Resolves once `count` mails have arrived in all, with the moment the last one did on this process's
   * `performance.now()` clock.
   */
  waitFor(count: number, timeoutMs = 60_000): Promise<number> {
    return new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(count);
        reject(new Error(`SMTP sink process: fewer than ${count} mails after ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.set(count, (answer) => {
        clearTimeout(timer);
        this.waiters.delete(count);
        if (answer.at === undefined) reject(new Error(answer.error ?? "the sink process gave no time"));
        else resolve(answer.at - performance.timeOrigin);
      });
      this.child.send({ waitFor: count });
    });
  }

  stats(): Promise<SinkStats> {
    return new Promise<SinkStats>((resolve) => {
      this.counted.push(resolve);
      this.child.send({ count: true });
    });
  }

  async close(): Promise<void> {
    const ended = new Promise<void>((resolve) => this.child.once("exit", () => resolve()));
    this.child.send({ close: true });
    await ended;
  }
}
