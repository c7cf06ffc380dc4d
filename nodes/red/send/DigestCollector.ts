import type { Node, NodeAPI } from "node-red";
import { DigestBuffer, type DigestItem } from "../../lib/digest/DigestBuffer";
import { MailError } from "../../lib/mail/MailError";
import { reportConfigError } from "../kit/lifecycle";
import { nodeDataPath } from "../kit/storage";

/**
 * A send node's flood control: msgs that arrive within `windowMs` of the first one are collected on disk and handed
 * to `flush` together when the window closes. After a restart, a window that was open resumes with what it held.
 */
export class DigestCollector<W> {
  private buffer?: DigestBuffer;
  /** Why the window's folder could not be opened: every msg is refused with it, none is silently dropped. */
  private openError?: Error;
  private readonly ready: Promise<void>;
  private timer?: NodeJS.Timeout;
  private flushing?: Promise<void>;
  private readonly callbacks = new Map<string, W>();

  constructor(
    RED: NodeAPI,
    node: Node,
    private readonly windowMs: number,
    private readonly flush: (items: DigestItem[], callbacks: Map<string, W>) => Promise<void>,
  ) {
    this.ready = DigestBuffer.open(nodeDataPath(RED, "digest", node.id), (file, offset) =>
      node.error(RED._("alarm-mail-send.digest.corrupt", { file, offset })),
    ).then(
      (buffer) => {
        this.buffer = buffer;
        this.schedule();
      },
      (err: unknown) => {
        const reason = err instanceof Error ? err.message : String(err);
        this.openError = reportConfigError(RED, node, new MailError("digest-unavailable", { reason }), {
          status: true,
        });
      },
    );
  }

  get size(): number {
    return this.buffer?.size ?? 0;
  }

  /** Resolves once the msg is on disk in the open window. */
  async add(msg: unknown, callback: W): Promise<void> {
    await this.ready;
    if (!this.buffer) throw this.openError ?? new MailError("digest-unavailable", { reason: "closed" });
    const item = await this.buffer.add(msg, Date.now());
    this.callbacks.set(item.id, callback);
    this.schedule();
  }

  async close(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.ready;
    await this.flushing;
    await this.buffer?.close();
    this.buffer = undefined;
  }

  private schedule(): void {
    const openedAt = this.buffer?.openedAt;
    if (this.timer || openedAt === undefined) return;
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        this.flushing = this.flushNow().finally(() => {
          this.flushing = undefined;
          this.schedule();
        });
      },
      Math.max(0, openedAt + this.windowMs - Date.now()),
    );
  }

  private async flushNow(): Promise<void> {
    const buffer = this.buffer;
    if (!buffer) return;
    const items = buffer.contents();
    const callbacks = new Map<string, W>();
    for (const item of items) {
      const callback = this.callbacks.get(item.id);
      this.callbacks.delete(item.id);
      if (callback) callbacks.set(item.id, callback);
    }
    await this.flush(items, callbacks);
    await buffer.remove(items.map((item) => item.id));
  }
}
