import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Readable, Writable } from "node:stream";

/** Debian's Chromium, where the machine has it; the editor tests need a browser and say so when there is none. */
export const CHROMIUM = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].find((path) => existsSync(path));

interface Reply {
  id?: number;
  result?: Record<string, unknown>;
  error?: { message: string };
}

/**
 * A headless Chromium driven over the DevTools protocol on a pipe (no extra package): enough to open the Node-RED
 * editor in one page and run code there, as a user's clicks would.
 */
export class Chromium {
  private next = 0;
  private readonly pending = new Map<number, (reply: Reply) => void>();
  private sessionId?: string;

  private log = "";

  private constructor(
    private readonly child: ChildProcess,
    private readonly profile: string,
  ) {
    // What Chromium says on stderr explains a browser that died; kept short, and drained so that it never blocks.
    (child.stdio[2] as Readable).on("data", (data: Buffer) => (this.log = (this.log + data.toString()).slice(-4000)));
    child.once("exit", (code, signal) => {
      const reply = { error: { message: `Chromium exited (${signal ?? code}):\n${this.log}` } };
      for (const settle of [...this.pending.values()]) settle(reply);
    });
    const output = child.stdio[4] as Readable;
    let buffer = "";
    output.on("data", (data: Buffer) => {
      buffer += data.toString();
      for (let end = buffer.indexOf("\0"); end >= 0; end = buffer.indexOf("\0")) {
        const reply = JSON.parse(buffer.slice(0, end)) as Reply;
        buffer = buffer.slice(end + 1);
        if (reply.id !== undefined) this.pending.get(reply.id)?.(reply);
      }
    });
  }

  static async launch(): Promise<Chromium> {
    if (!CHROMIUM) throw new Error("no Chromium on this machine");
    const profile = mkdtempSync(join(tmpdir(), "alarm-mail-chromium-"));
    const child = spawn(
      CHROMIUM,
      [
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        // The machine's network is closed: without these Chromium keeps dialling Google's hosts.
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--remote-debugging-pipe",
        `--user-data-dir=${profile}`,
        "--window-size=1400,1000",
      ],
      { stdio: ["ignore", "ignore", "pipe", "pipe", "pipe"] },
    );
    process.once("exit", () => child.kill("SIGKILL"));
    const browser = new Chromium(child, profile);
    try {
      const { targetId } = (await browser.send("Target.createTarget", { url: "about:blank" })) as {
        targetId: string;
      };
      const { sessionId } = (await browser.send("Target.attachToTarget", { targetId, flatten: true })) as {
        sessionId: string;
      };
      browser.sessionId = sessionId;
      return browser;
    } catch (err) {
      await browser.close();
      throw err;
    }
  }

  /** A command to the page (or to the browser, before a page is attached). */
  call(method: string, params: object = {}): Promise<Record<string, unknown>> {
    return this.send(method, params, this.sessionId);
  }

  /** A command to the browser itself, such as where downloads go. */
  browserCall(method: string, params: object = {}): Promise<Record<string, unknown>> {
    return this.send(method, params);
  }

  /** Runs an expression in the page and returns its value; a thrown exception fails with its text. */
  async evaluate<T>(expression: string): Promise<T> {
    const result = (await this.call("Runtime.evaluate", { expression, awaitPromise: true, returnByValue: true })) as {
      result?: { value?: T };
      exceptionDetails?: { exception?: { description?: string }; text?: string };
    };
    if (result.exceptionDetails) {
      throw new Error(result.exceptionDetails.exception?.description ?? result.exceptionDetails.text);
    }
    return result.result?.value as T;
  }

  async waitFor(expression: string, timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(await this.evaluate<boolean>(`!!(${expression})`).catch(() => false))) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${expression}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  async close(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      const exited = new Promise((resolve) => this.child.once("exit", resolve));
      // A browser asked to close ends its renderers first; a SIGKILL leaves them writing into the profile.
      await this.send("Browser.close", {}).catch(() => this.child.kill("SIGKILL"));
      const stuck = setTimeout(() => this.child.kill("SIGKILL"), 5_000);
      await exited;
      clearTimeout(stuck);
    }
    rmSync(this.profile, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 });
  }

  private send(method: string, params: object, sessionId?: string): Promise<Record<string, unknown>> {
    const id = ++this.next;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => this.pending.get(id)?.({ error: { message: `no answer in 30 s\n${this.log}` } }),
        30_000,
      );
      this.pending.set(id, (reply) => {
        clearTimeout(timer);
        this.pending.delete(id);
        if (reply.error) reject(new Error(`${method}: ${reply.error.message}`));
        else resolve(reply.result ?? {});
      });
      (this.child.stdio[3] as Writable).write(`${JSON.stringify({ id, method, params, sessionId })}\0`);
    });
  }
}
