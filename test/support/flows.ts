import { createRequire } from "node:module";
import { join } from "node:path";
import helper from "node-red-node-test-helper";
import type { Node, NodeInitializer, NodeMessage, NodeStatus } from "node-red";
import { tempDir } from "./tempDir";
import { smtpServer } from "./smtp";

const requireBuilt = createRequire(__filename);
const dist = join(__dirname, "..", "..", "dist");

helper.init(requireBuilt.resolve("node-red"));

/** A built node file, as Node-RED loads it from the package. */
export function builtNode(name: string): NodeInitializer {
  return requireBuilt(join(dist, `${name}.js`)) as NodeInitializer;
}

/** The built node files, as Node-RED loads them from the package. */
export const alarmMailNodes: NodeInitializer[] = ["alarm-mail-server", "alarm-mail-recipients", "alarm-mail-send"].map(
  builtNode,
);

export { helper };

export type FlowNode = Record<string, unknown> & { id: string; type: string };

/** The package keeps its files where `alarmMail.dataDir` says: a fresh folder for each test. */
export type RuntimeSettings = Parameters<typeof helper.settings>[0] & { alarmMail: { dataDir: string } };

export interface MailFlowOptions {
  server?: Record<string, unknown>;
  recipients?: Record<string, unknown> | null;
  send?: Record<string, unknown>;
  credentials?: Record<string, string>;
  userDir?: string;
  /** More nodes for the flow, such as a backup server. */
  extraNodes?: FlowNode[];
  /** Credentials of the extra nodes, by node id. */
  extraCredentials?: Record<string, Record<string, string>>;
  /** More built node files to load, by node type, such as the attachers that feed the send node. */
  modules?: string[];
}

/** A server, a recipient group and a send node wired to two helper nodes: "ok" (output 1) and "failed" (output 2). */
export async function loadMailFlow(port: number, options: MailFlowOptions = {}): Promise<void> {
  const flow: FlowNode[] = [
    { id: "tab", type: "tab", label: "alarm mail test" },
    smtpServer("server", port, { connectionTimeout: 3000, socketTimeout: 5000, ...options.server }),
    {
      id: "send",
      z: "tab",
      type: "alarm-mail-send",
      server: "server",
      recipients: options.recipients === null ? "" : "recipients",
      wires: [["ok"], ["failed"]],
      ...options.send,
    },
    { id: "ok", z: "tab", type: "helper" },
    { id: "failed", z: "tab", type: "helper" },
  ];
  flow.push(...(options.extraNodes ?? []));
  if (options.recipients !== null) {
    flow.push({ id: "recipients", type: "alarm-mail-recipients", to: "operator@plant.example", ...options.recipients });
  }
  const credentials = { ...options.extraCredentials, ...(options.credentials ? { server: options.credentials } : {}) };
  const modules = (options.modules ?? []).map(builtNode);
  // Each flow gets its own user directory, hence its own outbox: nothing queued by one test leaks into the next.
  helper.settings({ userDir: options.userDir ?? tempDir("alarm-mail-test-") });
  await helper.load([...alarmMailNodes, ...modules], flow, credentials);
}

export interface Outcome {
  output: 1 | 2;
  msg: NodeMessage & { mail?: Record<string, unknown>; error?: { message: string; code?: string } };
  /** The error given to done(err), when there was one. */
  error?: string;
  statuses: NodeStatus[];
}

/** Sends one msg into the send node and waits for it to come out of either output. */
export function deliver(msg: NodeMessage, timeoutMs = 15_000): Promise<Outcome> {
  // The helper reports every call of a node method as a "call:<method>" event, which Node's types do not name.
  const send = helper.getNode("send") as unknown as import("node:events").EventEmitter & Node;
  const statuses: NodeStatus[] = [];
  let error: string | undefined;
  const onStatus = (call: { args: [NodeStatus] }) => statuses.push(call.args[0]);
  const onError = (call: { args: [unknown] }) => {
    const first = call.args[0];
    error = first instanceof Error ? first.message : String(first);
  };
  send.on("call:status", onStatus);
  send.on("call:error", onError);
  return new Promise<Outcome>((resolve, reject) => {
    const ok = helper.getNode("ok");
    const failed = helper.getNode("failed");
    // Both listeners go when either output answers: a listener left on the other output would take the next
    // msg's answer (a Node-RED node with several input listeners waits for all of them), and that msg would hang.
    const stop = () => {
      ok.off("input", onOk);
      failed.off("input", onFailed);
    };
    const timer = setTimeout(() => {
      stop();
      reject(new Error("no output from alarm-mail-send"));
    }, timeoutMs);
    const finish = (output: 1 | 2, out: Outcome["msg"]) => {
      clearTimeout(timer);
      stop();
      // Status and error calls are reported on the next tick; let them land before reading them.
      setImmediate(() => {
        send.off("call:status", onStatus);
        send.off("call:error", onError);
        resolve({ output, msg: out, ...(error === undefined ? {} : { error }), statuses });
      });
    };
    const onOk = (out: Outcome["msg"]) => finish(1, out);
    const onFailed = (out: Outcome["msg"]) => finish(2, out);
    ok.on("input", onOk);
    failed.on("input", onFailed);
    send.receive(msg);
  });
}

export function nodeById(id: string): Node {
  return helper.getNode(id);
}

/** Every status the node shows from now on, as the helper reports them. */
export function watchStatuses(id: string): NodeStatus[] {
  const statuses: NodeStatus[] = [];
  const node = helper.getNode(id) as unknown as import("node:events").EventEmitter;
  node.on("call:status", (call: { args: [NodeStatus] }) => statuses.push(call.args[0]));
  return statuses;
}

export { until } from "./until";
