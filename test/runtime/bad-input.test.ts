import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFileSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { SmtpSink } from "../../dev/SmtpSink";
import { HIGH, HIGH_HIGH } from "../support/alarms";
import { NodeRedProcess } from "../support/NodeRedProcess";
import { until } from "../support/until";
import { BAD_INPUTS, type BadInput, type Special } from "../support/bad-inputs";
import { smtpServer } from "../support/smtp";

/**
 * The bad-input suite: every node's msg inputs and every admin route, fed what a careless flow or a hostile client
 * sends, in a real Node-RED (its own process, in English). Each case asserts the exact words the user reads and that
 * nothing changed: the alarms, the outputs, the outbox, the mails received and every file of the data folder.
 * The cases are a table (test/runtime/bad-input.cases.ts), summed up in docs/bad-input.md.
 */

/** The flow under test: each node behind its own HTTP endpoint, answered by a Complete or a Catch node. */
function flow(smtpPort: number): object[] {
  const nodes: object[] = [
    { id: "tab", type: "tab", label: "bad input" },
    smtpServer("server", smtpPort, {
      maxAddresses: 5,
      maxSubjectLength: 100,
      maxBodyLength: 2000,
      maxAttachments: 3,
      maxAttachmentKB: 4,
    }),
    { id: "recipients", type: "alarm-mail-recipients", to: "operator@plant.example" },
    {
      id: "state",
      z: "tab",
      type: "http in",
      method: "get",
      url: "/state",
      wires: [["state-read"]],
    },
    {
      id: "state-read",
      z: "tab",
      type: "function",
      func: "msg.payload = { outputs: flow.get('outputs') || {}, statuses: flow.get('statuses') || {} };\nreturn msg;",
      wires: [["state-answer"]],
    },
    { id: "state-answer", z: "tab", type: "http response", statusCode: "200" },
  ];
  const targets: Array<[string, object]> = [
    ["block", { type: "alarm-mail-block", block: 7, alarms: [HIGH, HIGH_HIGH] }],
    ["send", { type: "alarm-mail-send", server: "server", recipients: "recipients" }],
    ["csv", { type: "alarm-mail-csv", source: "payload", filename: "{{topic}}" }],
    ["csv-history", { type: "alarm-mail-csv", source: "history", block: "block" }],
    ["csv-gone", { type: "alarm-mail-csv", source: "history", block: "no-such-block" }],
    ["trace", { type: "alarm-mail-trace", mode: "samples" }],
    ["trace-operator", { type: "alarm-mail-trace", mode: "operator" }],
    ["screenshot", { type: "alarm-mail-screenshot", mode: "payload" }],
  ];
  for (const [id, def] of targets) {
    const outputs = id === "send" ? 2 : 1;
    nodes.push(
      { id: `${id}-in`, z: "tab", type: "http in", method: "post", url: `/t/${id}`, wires: [[`${id}-unwrap`]] },
      { id: `${id}-unwrap`, z: "tab", type: "function", func: UNWRAP, wires: [[id]] },
      { id, z: "tab", ...def, wires: Array.from({ length: outputs }, () => [`${id}-record`]) },
      { id: `${id}-record`, z: "tab", type: "function", func: record("outputs", id), wires: [[]] },
      { id: `${id}-catch`, z: "tab", type: "catch", scope: [id], uncaught: false, wires: [[`${id}-failed`]] },
      { id: `${id}-failed`, z: "tab", type: "function", func: ANSWER_ERROR, wires: [[`${id}-answer`]] },
      { id: `${id}-complete`, z: "tab", type: "complete", scope: [id], uncaught: false, wires: [[`${id}-done`]] },
      { id: `${id}-done`, z: "tab", type: "function", func: ANSWER_OK, wires: [[`${id}-answer`]] },
      { id: `${id}-answer`, z: "tab", type: "http response", statusCode: "200" },
      { id: `${id}-status`, z: "tab", type: "status", scope: [id], wires: [[`${id}-status-record`]] },
      { id: `${id}-status-record`, z: "tab", type: "function", func: record("statuses", id), wires: [[]] },
    );
  }
  return nodes;
}

/**
 * The body's `msg` becomes the msg, own keys kept as they are (a `__proto__` key stays a key), with the values JSON
 * cannot carry written as `{ "$special": "NaN" }` or `{ "$buffer": "<base64>" }`.
 */
const UNWRAP = `
const decode = (v) => {
  if (Array.isArray(v)) return v.map(decode);
  if (v && typeof v === "object") {
    const keys = Object.keys(v);
    if (keys.length === 1 && keys[0] === "$special") return { NaN: NaN, Infinity: Infinity, "-Infinity": -Infinity }[v.$special];
    if (keys.length === 1 && keys[0] === "$buffer") return Buffer.from(v.$buffer, "base64");
    const out = {};
    for (const k of keys) Object.defineProperty(out, k, { value: decode(v[k]), enumerable: true, writable: true, configurable: true });
    return out;
  }
  return v;
};
const input = msg.payload.msg || {};
delete msg.payload;
for (const k of Object.keys(input)) Object.defineProperty(msg, k, { value: decode(input[k]), enumerable: true, writable: true, configurable: true });
return msg;`;

const ANSWER_ERROR = `
msg.payload = { result: "error", message: msg.error && msg.error.message };
msg.statusCode = 200;
return msg;`;

const ANSWER_OK = `
msg.payload = {
  result: "ok",
  csvError: msg.csvError,
  screenshotError: msg.screenshotError,
  attachments: Array.isArray(msg.attachments) ? msg.attachments.length : 0,
  alarms: msg.alarms,
  summary: msg.summary,
};
msg.statusCode = 200;
return msg;`;

function record(area: "outputs" | "statuses", id: string): string {
  const what =
    area === "outputs"
      ? "msg.event === 'status' ? null : { event: msg.event || null, error: msg.error ? msg.error.message : null }"
      : "msg.status";
  return `
const all = flow.get(${JSON.stringify(area)}) || {};
const item = ${what};
if (item) (all[${JSON.stringify(id)}] = all[${JSON.stringify(id)}] || []).push(item);
flow.set(${JSON.stringify(area)}, all);
return null;`;
}

/** Every file of the data folder and its content's hash: a bad input must not write anything. */
function files(dir: string): Record<string, string> {
  const found: Record<string, string> = {};
  const walk = (at: string) => {
    for (const name of readdirSync(at)) {
      const path = join(at, name);
      if (statSync(path).isDirectory()) walk(path);
      else found[path.slice(dir.length)] = createHash("sha256").update(readFileSync(path)).digest("hex");
    }
  };
  walk(dir);
  return found;
}

function encode(value: unknown): unknown {
  if (typeof value === "number" && !Number.isFinite(value)) {
    return { $special: Number.isNaN(value) ? "NaN" : value > 0 ? "Infinity" : "-Infinity" };
  }
  if (Buffer.isBuffer(value)) return { $buffer: value.toString("base64") };
  if (Array.isArray(value)) return value.map(encode);
  if (value && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value)) {
      Object.defineProperty(out, key, {
        value: encode((value as Record<string, unknown>)[key]),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return out;
  }
  return value as Special;
}

describe("bad inputs, in a real Node-RED: every one answered in words, nothing changed", () => {
  let red: NodeRedProcess;
  const smtp = new SmtpSink({ starttls: false });
  let dataDir: string;

  const post = async (path: string, body: unknown) => {
    const res = await red.request("POST", path, body);
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  const state = async () =>
    (await (await red.request("GET", "/state")).json()) as {
      outputs: Record<string, unknown[]>;
      statuses: Record<string, Array<{ text?: string; fill?: string }>>;
    };
  const alarms = async () => (await post("/t/block", { msg: { command: "status", alarm: "*" } })).body.alarms;
  const outbox = async () => JSON.stringify((await (await red.request("GET", "/alarm-mail/outbox")).json()) as object);

  before(async () => {
    await smtp.listen();
    red = await NodeRedProcess.start({ lang: "en-US" });
    dataDir = join(red.userDir, "alarm-mail");
    await red.deploy(flow(smtp.port));
    await until(async () => (await red.request("GET", "/state")).status === 200, "the flows to start");
    // Something in every store first, so that "nothing changed" is said of a block with an alarm, an outbox with a
    // sent mail, and a trace with rows; then wait for their background writes to land.
    await post("/t/block", { msg: { topic: "LT-201", payload: 7 } });
    assert.equal((await post("/t/send", { msg: { topic: "first", payload: "mail" } })).body.result, "ok");
    await post("/t/trace", { msg: { topic: "LT-201", payload: 7 } });
    await post("/t/csv-history", { msg: {} });
    await new Promise((resolve) => setTimeout(resolve, 1500));
  });
  after(async () => {
    await red.stop();
    await smtp.close();
  });

  const counts = new Map<string, number>();
  for (const c of BAD_INPUTS) counts.set(c.node, (counts.get(c.node) ?? 0) + 1);

  it(`holds at least 150 cases over every node and admin route (${BAD_INPUTS.length})`, () => {
    assert.ok(BAD_INPUTS.length >= 150, String(BAD_INPUTS.length));
    const names = BAD_INPUTS.map((c) => `${c.node}: ${c.name}`);
    assert.equal(new Set(names).size, names.length, "case names are unique");
  });

  for (const c of BAD_INPUTS) {
    it(`${c.node}: ${c.name}`, async () => {
      const before = {
        files: files(dataDir),
        state: await state(),
        outbox: await outbox(),
        mails: smtp.received.length,
      };
      const alarmsBefore = await alarms();
      const answer = await run(c);
      assert.deepEqual(answer, c.expect, "the answer, in words");
      assert.deepEqual(await alarms(), alarmsBefore, "the alarms");
      assert.equal(await outbox(), before.outbox, "the outbox");
      assert.equal(smtp.received.length, before.mails, "no mail");
      assert.deepEqual(files(dataDir), before.files, "every file of the data folder");
      const after = await state();
      for (const [node, list] of Object.entries(after.outputs)) {
        const grew = list.slice(before.state.outputs[node]?.length ?? 0);
        const allowed = c.output ?? [];
        assert.deepEqual(grew, node === c.target ? allowed : [], `what ${node} sent`);
      }
      if (c.status) {
        const statuses = after.statuses[c.target] ?? [];
        assert.deepEqual(statuses.at(-1), c.status, "the status");
      }
    });
  }

  async function run(c: BadInput): Promise<unknown> {
    if (c.msg !== undefined) {
      const res = await post(`/t/${c.target}`, { msg: encode(c.msg) });
      assert.equal(res.status, 200);
      const body = res.body;
      if (body.result === "error") return { error: body.message };
      if (body.csvError) return { csvError: (body.csvError as { message: string }).message };
      if (body.screenshotError) return { screenshotError: (body.screenshotError as { message: string }).message };
      return { ok: true };
    }
    const route = c.route;
    if (!route) throw new Error(`${c.name}: neither msg nor route`);
    const res = await red.request(route.method, route.path, route.body);
    const type = res.headers.get("content-type") ?? "";
    const body: unknown = type.includes("json") ? await res.json() : await res.text();
    const shown = body as Record<string, unknown>;
    if (typeof body === "string") {
      // A page for the browser: its one paragraph, with the characters it escaped.
      const paragraph = /<p>([^<]*)<\/p>/.exec(body)?.[1] ?? body;
      return {
        status: res.status,
        page: paragraph.replace(/&#(\d+);/g, (_all, code: string) => String.fromCharCode(Number(code))),
      };
    }
    return { status: res.status, ok: shown.ok, ...(shown.message === undefined ? {} : { message: shown.message }) };
  }
});
