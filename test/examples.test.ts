import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { SmtpSink } from "../dev/SmtpSink";
import { NodeRedProcess } from "./support/NodeRedProcess";

type FlowNode = { id: string; type: string; [key: string]: unknown };
const LIBRARY = "/library/examples/flows/@alarm-mail/node-red";

const props = (node: FlowNode) => (node.props as Array<{ p: string }> | undefined) ?? [];

/**
 * The injects that make an example mail an alarm: one that sends a ready-made alarm msg, or, in an example with an
 * alarm block, those that feed process values into the block (commands such as an ack are left out), clicked in
 * their order in the flow.
 */
function alarmSimulators(flow: FlowNode[]): FlowNode[] {
  const injects = flow.filter((n) => n.type === "inject");
  const blocks = new Set(flow.filter((n) => n.type === "alarm-mail-block").map((n) => n.id));
  if (blocks.size === 0) return injects.filter((n) => props(n).some((p) => p.p === "alarm")).slice(0, 1);
  return injects.filter(
    (n) =>
      (n.wires as string[][]).some((targets) => targets.some((id) => blocks.has(id))) &&
      !props(n).some((p) => p.p === "command"),
  );
}

describe("examples, as Import > Examples serves them", () => {
  let red: NodeRedProcess;
  let smtp: SmtpSink;
  let names: string[];

  before(async () => {
    smtp = new SmtpSink({ starttls: false });
    await smtp.listen();
    red = await NodeRedProcess.start();
    names = ((await (await red.request("GET", LIBRARY)).json()) as Array<{ fn: string }>).map((e) => e.fn);
  });
  after(async () => {
    await red.stop();
    await smtp.close();
  });

  const load = async (name: string) =>
    (await (await red.request("GET", encodeURI(`${LIBRARY}/${name}`))).json()) as FlowNode[];

  it("has an example for every node type", async () => {
    const types = new Set<string>();
    for (const name of names) for (const node of await load(name)) types.add(node.type);
    const declared = (
      JSON.parse(readFileSync(join(__dirname, "..", "package.json"), "utf8")) as {
        "node-red": { nodes: Record<string, string> };
      }
    )["node-red"].nodes;
    for (const type of Object.keys(declared)) {
      assert.ok(types.has(type), `no example uses ${type}`);
    }
  });

  it("deploys each example without an error or a warning", async () => {
    assert.ok(names.length >= 3);
    for (const name of names) {
      const flow = await load(name);
      const logStart = red.output.length;
      await red.deploy([{ id: "tab1", type: "tab", label: name }, ...flow.map((n) => ({ z: "tab1", ...n }))]);
      await new Promise((resolve) => setTimeout(resolve, 300));
      const log = red.output.slice(logStart);
      assert.doesNotMatch(log, /\[(error|warn)\]/, `${name}:\n${log}`);
    }
  });

  it("sends the mail each capture-server example describes", async () => {
    for (const name of names) {
      const flow = await load(name);
      const servers = flow.filter((n) => n.type === "alarm-mail-server" && n.host === "127.0.0.1");
      if (servers.length === 0) continue;
      for (const server of servers) server.port = smtp.port;
      await red.deploy([{ id: "tab1", type: "tab", label: name }, ...flow.map((n) => ({ z: "tab1", ...n }))]);
      const before = smtp.received.length;
      const simulators = alarmSimulators(flow);
      assert.ok(simulators.length > 0, `${name} has an inject that simulates an alarm`);
      await new Promise((resolve) => setTimeout(resolve, 300));
      for (const inject of simulators) {
        assert.equal((await red.request("POST", `/inject/${inject.id}`)).status, 200);
      }
      const [mail] = (await smtp.waitFor(before + 1)).slice(before);
      assert.ok((await mail.parse()).subject, `${name}: the mail has a subject`);
    }
  });
});
