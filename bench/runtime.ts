/**
 * A real Node-RED runtime in the bench's own process, as a user's would run: `RED.init` and `RED.start` from the dev
 * dependency, this package and node-red-node-email installed in its user directory, no test helper and none of its
 * spies. Flows are deployed as the editor does (a full deploy), and each msg counts as done when Node-RED reports it
 * complete, through the `onComplete` messaging hook.
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import type { Node } from "node-red";

const requireHere = createRequire(__filename);
const root = join(__dirname, "..");

export type FlowNode = Record<string, unknown> & { id: string; type: string };

interface CompleteEvent {
  msg: { _msgid?: string };
  node: { id: string };
  error?: unknown;
}

interface EmbeddedRed {
  init(settings: object): void;
  start(): Promise<void>;
  stop(): Promise<void>;
  nodes: { getNode(id: string): Node | null };
  events: { once(name: "flows:started", listener: () => void): void };
  hooks: { add(name: string, hook: (event: CompleteEvent) => void): void; remove(name: string): void };
  runtime: {
    flows: { setFlows(opts: { flows: { flows: FlowNode[] }; deploymentType: string }): Promise<unknown> };
  };
  version(): string;
}

type CompleteListener = (event: CompleteEvent) => void;

export class EmbeddedNodeRed {
  private listener?: CompleteListener;

  private constructor(
    private readonly RED: EmbeddedRed,
    readonly userDir: string,
  ) {}

  /**
   * Starts Node-RED; `settings` are merged into its settings (e.g. `alarmMail.dataDir`). Without `userDir`, in a new
   * user directory with an empty flow; with one (made by `benchUserDir`), on the flows and data already in it.
   */
  static async start(settings: object = {}, userDir = benchUserDir()): Promise<EmbeddedNodeRed> {
    const RED = requireHere("node-red") as EmbeddedRed;
    RED.init({
      userDir,
      flowFile: "flows.json",
      credentialSecret: "bench-credential-secret",
      httpAdminRoot: false,
      httpNodeRoot: false,
      logging: { console: { level: "error", metrics: false, audit: false } },
      telemetry: { enabled: false },
      ...settings,
    });
    // RED.start resolves before the flows have started; a deploy before then would race with them.
    const started = new Promise<void>((resolve) => RED.events.once("flows:started", resolve));
    await RED.start();
    await started;
    const red = new EmbeddedNodeRed(RED, userDir);
    RED.hooks.add("onComplete.bench", (event) => red.listener?.(event));
    return red;
  }

  get version(): string {
    return this.RED.version();
  }

  /** A full deploy of `flow`, as the editor's Deploy button; resolves once the new flows have started. */
  async deploy(flow: FlowNode[]): Promise<void> {
    const started = new Promise<void>((resolve) => this.RED.events.once("flows:started", resolve));
    await this.RED.runtime.flows.setFlows({ flows: { flows: flow }, deploymentType: "full" });
    await started;
  }

  node(id: string): Node {
    const node = this.RED.nodes.getNode(id);
    if (!node) throw new Error(`no node ${id} in the deployed flow`);
    return node;
  }

  /** Called for every msg that a node reports complete (done()), whichever node. */
  onComplete(listener: CompleteListener | undefined): void {
    this.listener = listener;
  }

  async stop(): Promise<void> {
    this.RED.hooks.remove("onComplete.bench");
    await this.deploy([]);
    await this.RED.stop();
    rmSync(this.userDir, { recursive: true, force: true });
  }
}

/** A Node-RED user directory in which this package and node-red-node-email are installed (as symbolic links). */
export function benchUserDir(): string {
  const userDir = mkdtempSync(join(tmpdir(), "alarm-mail-bench-red-"));
  const modules = join(userDir, "node_modules");
  mkdirSync(join(modules, "@alarm-mail"), { recursive: true });
  symlinkSync(root, join(modules, "@alarm-mail", "node-red"), "dir");
  const official = officialEmailNode();
  if (official) symlinkSync(official, join(modules, "node-red-node-email"));
  return userDir;
}

/** CPU time of the process (user + system), in ms. */
export function cpuMs(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1000;
}

/** Samples the process's RSS every `everyMs` until stopped; gives the peak seen. */
export function rssPeak(everyMs = 5): { stop(): number } {
  let peak = process.memoryUsage.rss();
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), everyMs);
  return {
    stop() {
      clearInterval(timer);
      return Math.max(peak, process.memoryUsage.rss());
    },
  };
}

/**
 * node-red-node-email, for the send bench's comparison: installed under .bench/ by `npm run bench:deps`, not as a
 * dev dependency (its bundled dependencies made every `npm install` rewrite the lock file).
 */
function officialEmailNode(): string | undefined {
  try {
    return dirname(createRequire(join(root, ".bench", "bench.js")).resolve("node-red-node-email/package.json"));
  } catch {
    return undefined;
  }
}
