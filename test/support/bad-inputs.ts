import { readFileSync } from "node:fs";
import { join } from "node:path";

/**
 * The table of the bad-input suite (test/runtime/bad-input.test.ts, summed up in docs/bad-input.md): what a careless
 * flow or a hostile client sends to each node and admin route, and the exact English words that answer it.
 */

export type Special = string | number | boolean | null | undefined | Buffer | Special[] | { [key: string]: Special };

export interface BadInput {
  /** The node or route family, as the doc's table counts them. */
  node: string;
  name: string;
  /** The node that receives `msg` (its id in the suite's flow). */
  target: string;
  msg?: Record<string, Special>;
  route?: { method: "GET" | "POST"; path: string; body?: unknown };
  /** `{ error }` (done(err), a Catch node), `{ csvError }`, `{ screenshotError }`, `{ ok: true }`, or a route's answer. */
  expect: Record<string, unknown>;
  /** What the target sends on its outputs: nothing unless said. */
  output?: Array<{ event: string | null; error: string | null }>;
  /** Its last status, when the case is about it. */
  status?: { fill: string; shape: string; text: string };
}

const LOCALES = join(__dirname, "..", "..", "locales", "en-US");
const catalogues = new Map<string, Record<string, unknown>>();

/** A message of an English catalogue with its placeholders filled, as Node-RED's i18n fills them. */
export function text(type: string, key: string, params: Record<string, string | number> = {}): string {
  let catalogue = catalogues.get(type);
  if (!catalogue) {
    catalogue = JSON.parse(readFileSync(join(LOCALES, `${type}.json`), "utf8")) as Record<string, unknown>;
    catalogues.set(type, catalogue);
  }
  let node: unknown = catalogue;
  for (const part of key.split(".")) node = (node as Record<string, unknown> | undefined)?.[part];
  if (typeof node !== "string") throw new Error(`no ${key} in ${type}`);
  return node.replace(/__(\w+)__/g, (_all, name: string) =>
    params[name] === undefined ? `__${name}__` : String(params[name]),
  );
}

const BLOCK = "alarm-mail-block";
const SERVER = "alarm-mail-server";
const CSV = "alarm-mail-csv";
const TRACE = "alarm-mail-trace";
const SHOT = "alarm-mail-screenshot";

/** What a Catch node reads in msg.error.message: Node-RED writes a done(err) as "Error: <message>". */
const caught = (message: string) => ({ error: `Error: ${message}` });
const blockError = (code: string, params: Record<string, string | number> = {}) =>
  caught(text(BLOCK, `errors.${code}`, params));
const mailError = (code: string, params: Record<string, string | number> = {}) =>
  text(SERVER, `errors.${code}`, params);
const traceError = (code: string, params: Record<string, string | number> = {}) =>
  caught(text(TRACE, `errors.${code}`, params));

const RANGE = "1–315360000000";
const cases: BadInput[] = [];

// alarm-mail-block: shelve durations, each refused before the alarm is shelved.
const durations: Array<[string, Special, string]> = [
  ["1e300", 1e300, "1e+300"],
  ["1e16 ms (past year 275760)", 1e16, "10000000000000000"],
  ['"1e16" as text', "1e16", '"1e16"'],
  ["eleven years", 11 * 365 * 86_400_000, String(11 * 365 * 86_400_000)],
  ["negative", -1000, "-1000"],
  ["zero", 0, "0"],
  ["NaN", Number.NaN, "NaN"],
  ["Infinity", Number.POSITIVE_INFINITY, "Infinity"],
  ["-Infinity", Number.NEGATIVE_INFINITY, "-Infinity"],
  ["text", "an hour", '"an hour"'],
  ["true", true, "true"],
  ["an array", [60_000], "an array"],
  ["an object", { ms: 60_000 }, "an object"],
  ["a Buffer", Buffer.from("60000"), "a Buffer"],
  ["half a millisecond", 0.5, "0.5"],
];
for (const [name, duration, shown] of durations) {
  cases.push({
    node: "alarm-mail-block",
    name: `msg.duration ${name}`,
    target: "block",
    msg: { command: "shelve", alarm: "LT-201-H", duration },
    expect: blockError("duration-invalid", { duration: shown, range: RANGE }),
  });
}

// alarm-mail-block: commands and targets.
const commands: Array<[string, Special, string]> = [
  ["an unknown command", "mute", '"mute"'],
  ["a command in capitals", "ACK", '"ACK"'],
  ["a number as command", 42, "42"],
  ["an object as command", { do: "ack" }, "an object"],
  ["an array as command", ["ack"], "an array"],
  ["null as command", null, "null"],
  ["an empty command", "", '""'],
  ["__proto__ as command", "__proto__", '"__proto__"'],
  ["constructor as command", "constructor", '"constructor"'],
];
for (const [name, command, shown] of commands) {
  cases.push({
    node: "alarm-mail-block",
    name,
    target: "block",
    msg: { command, alarm: "LT-201-H" },
    expect: blockError("command-invalid", { command: shown }),
  });
}
const targets: Array<[string, Special, Record<string, unknown>]> = [
  ["ack of an unknown alarm", "LT-999", blockError("alarm-unknown", { alarm: '"LT-999"' })],
  ["ack of __proto__", "__proto__", blockError("alarm-unknown", { alarm: '"__proto__"' })],
  ["ack of constructor", "constructor", blockError("alarm-unknown", { alarm: '"constructor"' })],
  ["ack of toString", "toString", blockError("alarm-unknown", { alarm: '"toString"' })],
  ["ack of an empty id", "", blockError("alarm-missing")],
  ["ack of an empty list", [], blockError("alarm-missing")],
  ["ack of a list with a null", ["LT-201-H", null], blockError("alarm-missing")],
  ["ack of a list with an unknown id", ["LT-201-H", "nope"], blockError("alarm-unknown", { alarm: '"nope"' })],
  ["ack of an object", { id: "LT-201-H" }, blockError("alarm-unknown", { alarm: "an object" })],
  ["ack of a boolean", true, blockError("alarm-unknown", { alarm: "true" })],
  ["ack of a number that is no id", 12, blockError("alarm-unknown", { alarm: "12" })],
  [
    "ack of a 100,000-character id",
    "x".repeat(100_000),
    blockError("alarm-unknown", { alarm: `"${"x".repeat(39)}…"` }),
  ],
];
for (const [name, alarm, expect] of targets) {
  cases.push({ node: "alarm-mail-block", name, target: "block", msg: { command: "ack", alarm }, expect });
}
// Only an ack goes without msg.alarm (it acknowledges them all); the other commands need to be told which.
cases.push({
  node: "alarm-mail-block",
  name: "shelve without msg.alarm",
  target: "block",
  msg: { command: "shelve", duration: 60_000 },
  expect: blockError("alarm-missing"),
});

// alarm-mail-block: values on a watched topic (LT-201).
const values: Array<[string, Special, string]> = [
  ["NaN", Number.NaN, "NaN"],
  ["Infinity", Number.POSITIVE_INFINITY, "Infinity"],
  ["-Infinity", Number.NEGATIVE_INFINITY, "-Infinity"],
  ["a word", "warm", '"warm"'],
  ['"1e400" (Infinity as text)', "1e400", '"1e400"'],
  ["an empty text", "", '""'],
  ["spaces", "   ", '"   "'],
  ["null", null, "null"],
  ["an array", [7], "an array"],
  ["a Buffer", Buffer.from([7]), "a Buffer"],
  ["a 1 MB text", "9".repeat(1_000_000) + "x", `"${"9".repeat(39)}…"`],
  ["a hex text", "0x", '"0x"'],
];
for (const [name, payload, shown] of values) {
  cases.push({
    node: "alarm-mail-block",
    name: `watched topic: ${name}`,
    target: "block",
    msg: { topic: "LT-201", payload },
    expect: blockError("value-invalid", { topic: "LT-201", value: shown }),
  });
}
cases.push(
  {
    node: "alarm-mail-block",
    name: "watched topic: an object",
    target: "block",
    msg: { topic: "LT-201", payload: { level: 7 } },
    expect: blockError("value-invalid", { topic: "LT-201", value: "an object" }),
  },
  {
    node: "alarm-mail-block",
    name: "PLC read with a bad watched tag",
    target: "block",
    msg: { payload: { "LT-201": "warm", "FT-100": 3 } },
    expect: blockError("value-invalid", { topic: "LT-201", value: '"warm"' }),
  },
  {
    node: "alarm-mail-block",
    name: "no msg.topic",
    target: "block",
    msg: { payload: 5 },
    expect: blockError("topic-missing"),
  },
  {
    node: "alarm-mail-block",
    name: "an empty msg.topic",
    target: "block",
    msg: { topic: "", payload: 5 },
    expect: blockError("topic-missing"),
  },
  {
    node: "alarm-mail-block",
    name: "a number as msg.topic",
    target: "block",
    msg: { topic: 201, payload: 5 },
    expect: blockError("topic-missing"),
  },
  {
    node: "alarm-mail-block",
    name: "an object as msg.topic",
    target: "block",
    msg: { topic: { tag: "LT-201" }, payload: 5 },
    expect: blockError("topic-missing"),
  },
);
for (const topic of ["__proto__", "constructor", "hasOwnProperty"]) {
  cases.push({
    node: "alarm-mail-block",
    name: `unknown topic ${topic}: counted, nothing else`,
    target: "block",
    msg: { topic, payload: 5 },
    expect: { ok: true },
  });
}
cases.push({
  node: "alarm-mail-block",
  name: "PLC read with prototype keys only: other tags",
  target: "block",
  msg: { payload: JSON.parse('{"__proto__": 9, "constructor": 9}') as Record<string, Special> },
  expect: { ok: true },
});

// alarm-mail-send: msg fields.
const sendFail = (name: string, msg: Record<string, Special>, message: string): BadInput => ({
  node: "alarm-mail-send",
  name,
  target: "send",
  msg: { topic: "Alarm", payload: "body", ...msg },
  expect: caught(message),
  output: [{ event: null, error: message }],
});
const fieldTypes: Array<[string, string, Special, string]> = [
  ["topic", "msg.topic", { text: "x" }, "object"],
  ["topic", "msg.topic", ["a", "b"], "array"],
  ["topic", "msg.topic", Buffer.from("x"), "Buffer"],
  ["to", "msg.to", { address: "a@b.example" }, "object"],
  ["to", "msg.to", 42, "number"],
  ["to", "msg.to", true, "boolean"],
  ["to", "msg.to", ["ops@plant.example", 42], "number"],
  ["to", "msg.to", ["ops@plant.example", null], "null"],
  ["cc", "msg.cc", { a: 1 }, "object"],
  ["bcc", "msg.bcc", 7, "number"],
  ["replyTo", "msg.replyTo", { a: 1 }, "object"],
];
for (const [key, field, value, type] of fieldTypes) {
  cases.push(
    sendFail(
      `${field} as ${type} (${JSON.stringify(value) ?? ""})`,
      { [key]: value },
      mailError("field-type", { field, type }),
    ),
  );
}
const addresses: Array<[string, string, string]> = [
  ["to", "not-an-address", "not-an-address"],
  ["to", "ops@", "ops@"],
  ["to", "@plant.example", "@plant.example"],
  ["to", "ops@plant.", "ops@plant."],
  // Two addresses without a comma: the parser reads a name and an address, and the error shows that reading.
  ["cc", "a@b.example c@d.example", "c@d.example <a@b.example>"],
  ["bcc", "<script>@x.example", "@x.example <script>"],
];
for (const [field, address, shown] of addresses) {
  cases.push(
    sendFail(
      `msg.${field} "${address}"`,
      { [field]: address },
      mailError("address-invalid", { field, address: shown }),
    ),
  );
}
cases.push(
  sendFail(
    "msg.to with a line break (Bcc injection)",
    { to: "a@b.example\r\nBcc: x@y.example" },
    mailError("address-crlf", { field: "to" }),
  ),
  sendFail("msg.cc with a line feed", { cc: "a@b.example\nc@d.example" }, mailError("address-crlf", { field: "cc" })),
  sendFail(
    "msg.topic with a line break (header injection)",
    { topic: "A\r\nBcc: x@y.example" },
    mailError("header-crlf", { field: "subject" }),
  ),
  sendFail("msg.topic with a lone line feed", { topic: "A\nB" }, mailError("header-crlf", { field: "subject" })),
  sendFail(
    "six addresses where five are allowed",
    { to: ["a", "b", "c", "d", "e", "f"].map((x) => `${x}@plant.example`) },
    mailError("limit-addresses", { field: "to", count: 6, limit: 5 }),
  ),
  sendFail(
    "a 101-character subject",
    { topic: "S".repeat(101) },
    mailError("limit-subject", { length: 101, limit: 100 }),
  ),
  sendFail(
    "a 2,001-character body",
    { payload: "B".repeat(2001) },
    mailError("limit-body", { length: 2001, limit: 2000 }),
  ),
  sendFail(
    "a 2,001-character html",
    { html: "<p>" + "H".repeat(1998) },
    mailError("limit-body", { length: 2001, limit: 2000 }),
  ),
  sendFail("msg.priority urgent", { priority: "urgent" }, mailError("priority-invalid", { value: "urgent" })),
  sendFail("msg.priority 1", { priority: 1 }, mailError("priority-invalid", { value: "1" })),
  sendFail("msg.priority HIGH", { priority: "HIGH" }, mailError("priority-invalid", { value: "HIGH" })),
);
const names: Array<[string, string, string]> = [
  ["../../etc/passwd", "../../etc/passwd", "a path up"],
  ["a/b.txt", "a/b.txt", "a folder"],
  ["C:\\boot.ini", "C:\\\\boot.ini", "a Windows path"],
  ["..", "..", "dot dot"],
  [".", ".", "dot"],
  ["x\u0000.txt", "x\\u0000.txt", "a NUL"],
  ["tab\there.txt", "tab\\there.txt", "a tab"],
  ["/etc/shadow", "/etc/shadow", "an absolute path"],
];
for (const [filename, shown, label] of names) {
  cases.push(
    sendFail(
      `attachment named with ${label}`,
      { attachments: [{ filename, content: "x" }] },
      mailError("attachment-name", { index: 0, name: shown }),
    ),
  );
}
cases.push(
  sendFail(
    "attachment name with a line break",
    { attachments: [{ filename: "a\r\nb.txt", content: "x" }] },
    mailError("header-crlf", { field: "filename" }),
  ),
  sendFail(
    "attachment name as an object",
    { attachments: [{ filename: { a: 1 }, content: "x" }] },
    mailError("field-type", { field: "filename", type: "object" }),
  ),
  sendFail("an attachment that is a number", { attachments: [42] }, mailError("attachment-invalid", { index: 0 })),
  sendFail("an attachment that is null", { attachments: [null] }, mailError("attachment-invalid", { index: 0 })),
  sendFail("an attachment that is text", { attachments: "file.txt" }, mailError("attachment-invalid", { index: 0 })),
  sendFail(
    "an attachment without content",
    { attachments: [{ filename: "a.txt" }] },
    mailError("attachment-invalid", { index: 0 }),
  ),
  sendFail(
    "an attachment with numeric content",
    { attachments: [{ filename: "a.txt", content: 5 }] },
    mailError("attachment-invalid", { index: 0 }),
  ),
  sendFail(
    "an attachment without a name",
    { attachments: [{ content: "x" }] },
    mailError("attachment-invalid", { index: 0 }),
  ),
  sendFail(
    "an attachment by URL",
    { attachments: [{ filename: "a", href: "http://169.254.169.254/" }] },
    mailError("attachment-href-refused", { index: 0 }),
  ),
  sendFail(
    "an attachment as raw MIME",
    { attachments: [{ raw: "Content-Type: text/plain\r\n\r\nx" }] },
    mailError("attachment-href-refused", { index: 0 }),
  ),
  sendFail(
    "an attachment by path",
    { attachments: [{ path: "/etc/passwd" }] },
    mailError("attachment-path-refused", { index: 0 }),
  ),
  sendFail(
    "an attachment by relative path",
    { attachments: [{ path: "../settings.js" }] },
    mailError("attachment-path-refused", { index: 0 }),
  ),
  sendFail(
    "four attachments where three are allowed",
    { attachments: [1, 2, 3, 4].map((n) => ({ filename: `${n}.txt`, content: "x" })) },
    mailError("limit-attachments", { count: 4, limit: 3 }),
  ),
  sendFail(
    "5 KB of attachments where 4 KB are allowed",
    { attachments: [{ filename: "big.bin", content: "z".repeat(5120) }] },
    mailError("limit-attachment-size", { size: 5120, limit: 4096 }),
  ),
  sendFail(
    "a content type with a line break",
    { attachments: [{ filename: "a.txt", content: "x", contentType: "text/plain\r\nX: y" }] },
    mailError("header-crlf", { field: "contentType" }),
  ),
  sendFail(
    "a Buffer payload named with a line break",
    { payload: Buffer.from("x"), filename: "a\nb" },
    mailError("header-crlf", { field: "filename" }),
  ),
);

// alarm-mail-csv: rows in msg.payload; a source that is gone. The msg goes on without the file.
const csvFail = (
  name: string,
  target: string,
  msg: Record<string, Special>,
  code: string,
  params: Record<string, string | number>,
): BadInput => ({
  node: "alarm-mail-csv",
  name,
  target,
  msg,
  expect: { csvError: text(CSV, `errors.${code}`, params) },
  output: [{ event: null, error: null }],
});
const notRows: Array<[string, Special, string]> = [
  ["text", "a,b\n1,2", "string"],
  ["a number", 42, "number"],
  ["an object", { a: 1 }, "object"],
  ["null", null, "null"],
  ["a Buffer", Buffer.from("a,b"), "Buffer"],
  ["NaN", Number.NaN, "number"],
];
for (const [name, payload, type] of notRows) {
  cases.push(csvFail(`msg.payload ${name}`, "csv", { topic: "rows", payload }, "csv-payload-not-rows", { type }));
}
const badRows: Array<[string, Special, number, string]> = [
  ["numbers as rows", [1, 2], 1, "number"],
  ["an array after objects", [{ a: 1 }, ["x"]], 2, "array"],
  ["an object after arrays", [["x"], { a: 1 }], 2, "object"],
  ["a null row", [{ a: 1 }, null], 2, "null"],
  ["a text row", [{ a: 1 }, "b"], 2, "string"],
];
for (const [name, payload, row, type] of badRows) {
  cases.push(csvFail(name, "csv", { topic: "rows", payload }, "csv-payload-invalid", { row, type }));
}
const fileNames: Array<[string, string]> = [
  ["../x", "../x"],
  ["a/b", "a/b"],
  ["a\\b", "a\\\\b"],
  ["a\r\nb", "a\\r\\nb"],
  ["..", ".."],
  ["", ""],
];
for (const [topic, name] of fileNames) {
  cases.push(
    csvFail(`file name ${JSON.stringify(topic)}`, "csv", { topic, payload: [{ a: 1 }] }, "csv-filename-invalid", {
      name,
    }),
  );
}
cases.push(
  csvFail("history of a block that is not deployed", "csv-gone", { topic: "x" }, "csv-block-missing", {
    id: "no-such-block",
  }),
);

// alarm-mail-trace: samples and operator actions.
const traceValues: Array<[string, Special, string]> = [
  ["an array", [1], "array"],
  ["NaN", Number.NaN, "NaN"],
  ["Infinity", Number.POSITIVE_INFINITY, "Infinity"],
  ["a Buffer", Buffer.from("x"), "Buffer"],
];
for (const [name, payload, type] of traceValues) {
  cases.push({
    node: "alarm-mail-trace",
    name: `sample: ${name}`,
    target: "trace",
    msg: { topic: "LT-201", payload },
    expect: traceError("trace-value-invalid", { topic: "LT-201", type }),
  });
}
cases.push(
  {
    node: "alarm-mail-trace",
    name: "sample: an object of topics with an object value",
    target: "trace",
    msg: { payload: { "LT-201": 5, "LT-202": { a: 1 } } },
    expect: traceError("trace-value-invalid", { topic: "LT-202", type: "object" }),
  },
  {
    node: "alarm-mail-trace",
    name: "sample without msg.topic",
    target: "trace",
    msg: { payload: 5 },
    expect: traceError("trace-topic-missing"),
  },
  {
    node: "alarm-mail-trace",
    name: "sample with a blank msg.topic",
    target: "trace",
    msg: { topic: "  ", payload: 5 },
    expect: traceError("trace-topic-missing"),
  },
  {
    node: "alarm-mail-trace",
    name: "sample with an object msg.topic",
    target: "trace",
    msg: { topic: { a: 1 }, payload: 5 },
    expect: traceError("trace-topic-missing"),
  },
  {
    node: "alarm-mail-trace",
    name: "operator action without a control",
    target: "trace-operator",
    msg: { payload: 5 },
    expect: traceError("trace-control-missing"),
  },
  {
    node: "alarm-mail-trace",
    name: "operator action with an object value",
    target: "trace-operator",
    msg: { control: "SP-1", payload: { a: 1 } },
    expect: traceError("trace-value-invalid", { topic: "SP-1", type: "object" }),
  },
  {
    node: "alarm-mail-trace",
    name: "operator action with a NaN previous value",
    target: "trace-operator",
    msg: { control: "SP-1", payload: 1, previous: Number.NaN },
    expect: traceError("trace-value-invalid", { topic: "SP-1", type: "NaN" }),
  },
);

// alarm-mail-screenshot (payload mode): the msg goes on without the picture.
for (const [name, payload] of [
  ["text", "not an image"],
  ["a Buffer that is no image", Buffer.from("GIF87 nope")],
  ["an object", { type: "Buffer", data: [1, 2] }],
  ["nothing", undefined],
] as Array<[string, Special]>) {
  cases.push({
    node: "alarm-mail-screenshot",
    name: `msg.payload ${name}`,
    target: "screenshot",
    msg: { payload },
    expect: { screenshotError: text(SHOT, "errors.screenshot-payload-invalid") },
    output: [{ event: null, error: null }],
  });
}

// Admin routes: bodies of the wrong shape, ids that are no node.
const invalid = (type: string, field: string, expected: string) => ({
  status: 400,
  ok: false,
  message: text(type, "errors.request-invalid", { field, expected: text(type, `${type}.expected.${expected}`) }),
});
const unknown = (id: string) => ({ status: 404, ok: false, message: text(SERVER, "errors.node-unknown", { id }) });
const route = (
  name: string,
  method: "GET" | "POST",
  path: string,
  body: unknown,
  expect: Record<string, unknown>,
): BadInput => ({
  node: `${method} ${path.split("?")[0].replace(/^(\/alarm-mail\/outbox\/|\/alarm-mail-server\/)(?!oauth\/callback)[^/]+/, "$1:id")}`,
  name,
  target: "block",
  route: { method, path, body },
  expect,
});
const purge = "/alarm-mail/outbox/server/purge";
for (const [name, ids] of [
  ["one id as text", "an-id"],
  ["a number", 42],
  ["an object", { 0: "x" }],
  ["null", null],
  ["numbers in the list", [1, 2]],
  ["a list with a null", ["x", null]],
  ["a list with an object", ["x", {}]],
  ["true", true],
] as Array<[string, unknown]>) {
  cases.push(route(`purge: ids ${name}`, "POST", purge, { ids }, invalid(SERVER, "ids", "strings")));
}
cases.push(
  route("purge: a misspelt field", "POST", purge, { idz: ["x"] }, invalid(SERVER, "idz", "none")),
  route(
    "purge: a __proto__ field",
    "POST",
    purge,
    JSON.parse('{"__proto__": {"ids": []}}'),
    invalid(SERVER, "__proto__", "none"),
  ),
  route("purge: a body that is a list", "POST", purge, [], invalid(SERVER, "body", "object")),
  route("purge: an unknown server", "POST", "/alarm-mail/outbox/nope/purge", {}, unknown("nope")),
  route("purge: __proto__ as server", "POST", "/alarm-mail/outbox/__proto__/purge", {}, unknown("__proto__")),
  route("purge: constructor as server", "POST", "/alarm-mail/outbox/constructor/purge", {}, unknown("constructor")),
);
const resend = "/alarm-mail/outbox/server/resend";
for (const [name, body, field, expected] of [
  ["no id", {}, "id", "string"],
  ["a number id", { id: 42 }, "id", "string"],
  ["a list id", { id: ["a"] }, "id", "string"],
  ["an object id", { id: { $ne: "" } }, "id", "string"],
  ["a 2,000-character id", { id: "i".repeat(2000) }, "id", "string"],
  ["an extra field", { id: "x", all: true }, "all", "none"],
] as Array<[string, unknown, string, string]>) {
  cases.push(route(`resend: ${name}`, "POST", resend, body, invalid(SERVER, field, expected)));
}
cases.push(
  route("resend: a mail id that is not in the outbox", "POST", resend, { id: "<nope@x>" }, { status: 404, ok: false }),
  route("resend: toString as server", "POST", "/alarm-mail/outbox/toString/resend", { id: "x" }, unknown("toString")),
);
const verify = "/alarm-mail-server/new-server/verify";
for (const [name, body, field, expected] of [
  ["config as text", { config: "host=evil" }, "config", "record"],
  ["config as a list", { config: [] }, "config", "record"],
  ["credentials with a number", { credentials: { user: 42 } }, "credentials", "texts"],
  ["credentials as text", { credentials: "admin:admin" }, "credentials", "texts"],
  ["to as a list", { to: ["a@b.example"] }, "to", "string"],
  ["an unknown field", { host: "x" }, "host", "none"],
] as Array<[string, unknown, string, string]>) {
  cases.push(route(`verify: ${name}`, "POST", verify, body, invalid(SERVER, field, expected)));
}
const base = { host: "127.0.0.1", port: 2, security: "none", auth: "none", from: "gw@plant.example" };
for (const [name, config, field, rule] of [
  ["no host", { ...base, host: "" }, "host", "host"],
  ["a host with a space", { ...base, host: "smtp example" }, "host", "host"],
  ["a number as host", { ...base, host: 42 }, "host", "host"],
  ["port 70000", { ...base, port: 70000 }, "port", "port"],
  ["port -1", { ...base, port: -1 }, "port", "port"],
  ["port as words", { ...base, port: "smtp" }, "port", "port"],
  ["an unknown security", { ...base, security: "ssl3" }, "security", "choice"],
  ["an unknown login method", { ...base, auth: "kerberos" }, "auth", "choice"],
  ["a sender that is no address", { ...base, from: "gateway" }, "from", "from"],
  ["two senders", { ...base, from: "a@b.example, c@d.example" }, "from", "from"],
  ["a sender name with a line break", { ...base, fromName: "A\r\nBcc: x@y.example" }, "fromName"],
  ["a connection timeout of 1e300", { ...base, connectionTimeout: 1e300 }, "connectionTimeout"],
  ["a socket timeout of eleven years", { ...base, socketTimeout: 11 * 365 * 86_400_000 }, "socketTimeout"],
  ["a retry delay of 0", { ...base, retryDelay: 0 }, "retryDelay"],
  ["a retry delay of 1.5 ms", { ...base, retryDelay: 1.5 }, "retryDelay"],
  ["a maximum age of 1e9 hours", { ...base, maxAgeHours: 1e9 }, "maxAgeHours"],
  ["a maximum age as words", { ...base, maxAgeHours: "a day" }, "maxAgeHours"],
  ["an EHLO name with a space", { ...base, ehloName: "my gateway" }, "ehloName"],
  ["an EHLO name with an underscore", { ...base, ehloName: "gw_01" }, "ehloName"],
  ["a login without a user", { ...base, auth: "plain" }, "user", "user"],
  ["zero addresses allowed", { ...base, maxAddresses: 0 }, "maxAddresses", "positive"],
  ["a rate of -5 a minute", { ...base, rateMinute: -5 }, "rateMinute", "cap"],
  ["11 connections", { ...base, connections: 11 }, "connections", "connections"],
] as Array<[string, Record<string, unknown>, string, string?]>) {
  // A setting the dialog checks too is refused with the dialog's words for its rule.
  const message = rule
    ? mailError("config-rule", { field, validation: text(SERVER, `alarm-mail-server.validation.${rule}`) })
    : mailError("config-invalid", { field });
  cases.push(route(`verify: ${name}`, "POST", verify, { config }, { status: 200, ok: false, message }));
}
cases.push(
  route("verify: __proto__ as id", "POST", "/alarm-mail-server/__proto__/verify", {}, unknown("__proto__")),
  route("verify: constructor as id", "POST", "/alarm-mail-server/constructor/verify", {}, unknown("constructor")),
  route(
    "send-test: to as a number",
    "POST",
    "/alarm-mail-server/new-server/send-test",
    { to: 5 },
    invalid(SERVER, "to", "string"),
  ),
  route(
    "send-test: no address",
    "POST",
    "/alarm-mail-server/new-server/send-test",
    { config: base },
    { status: 200, ok: false, message: mailError("address-missing") },
  ),
  route(
    "send-test: an address with a line break",
    "POST",
    "/alarm-mail-server/new-server/send-test",
    { config: base, to: "a@b.example\r\nBcc: c@d.example" },
    { status: 200, ok: false, message: mailError("address-crlf", { field: "to" }) },
  ),
  route(
    "send-test: hasOwnProperty as id",
    "POST",
    "/alarm-mail-server/hasOwnProperty/send-test",
    {},
    unknown("hasOwnProperty"),
  ),
);
const oauth = "/alarm-mail-server/new-server/oauth";
cases.push(
  route(
    "oauth authorize: config as text",
    "POST",
    `${oauth}/authorize`,
    { config: "x" },
    invalid(SERVER, "config", "record"),
  ),
  route(
    "oauth authorize: redirectUri as a list",
    "POST",
    `${oauth}/authorize`,
    { redirectUri: ["x"] },
    invalid(SERVER, "redirectUri", "string"),
  ),
  route(
    "oauth authorize: an unknown field",
    "POST",
    `${oauth}/authorize`,
    { scope: "all" },
    invalid(SERVER, "scope", "none"),
  ),
  route(
    "oauth authorize: __proto__ as id",
    "POST",
    "/alarm-mail-server/__proto__/oauth/authorize",
    {},
    unknown("__proto__"),
  ),
  route(
    "oauth device: credentials with an object",
    "POST",
    `${oauth}/device`,
    { credentials: { clientId: {} } },
    invalid(SERVER, "credentials", "texts"),
  ),
  route(
    "oauth device: constructor as id",
    "POST",
    "/alarm-mail-server/constructor/oauth/device",
    {},
    unknown("constructor"),
  ),
  route("oauth callback: no url", "POST", `${oauth}/callback`, {}, invalid(SERVER, "url", "string")),
  route(
    "oauth callback: url as an object",
    "POST",
    `${oauth}/callback`,
    { url: { state: "x" } },
    invalid(SERVER, "url", "string"),
  ),
  route(
    "oauth callback: a url with a forged state",
    "POST",
    `${oauth}/callback`,
    { url: "http://x/cb?state=forged&code=1" },
    { status: 400, ok: false, message: mailError("oauth-state-invalid") },
  ),
  route(
    "oauth status: __proto__ as id",
    "GET",
    "/alarm-mail-server/__proto__/oauth/status",
    undefined,
    unknown("__proto__"),
  ),
  route(
    "oauth status: toString as id",
    "GET",
    "/alarm-mail-server/toString/oauth/status",
    undefined,
    unknown("toString"),
  ),
);
// The provider's redirect to the browser: no editor token, the one-time state alone protects it; a page answers.
cases.push(
  route("browser callback: no state", "GET", "/alarm-mail-server/oauth/callback?code=1", undefined, {
    status: 400,
    page: mailError("oauth-state-invalid"),
  }),
  route(
    "browser callback: __proto__ as state",
    "GET",
    "/alarm-mail-server/oauth/callback?state=__proto__&code=1",
    undefined,
    { status: 400, page: mailError("oauth-state-invalid") },
  ),
  route(
    "browser callback: a provider error",
    "GET",
    "/alarm-mail-server/oauth/callback?state=x&error=access_denied",
    undefined,
    { status: 400, page: mailError("oauth-state-invalid") },
  ),
);
const table = "/alarm-mail-block/table";
cases.push(
  route("table parse: no csv", "POST", `${table}/parse`, {}, invalid(BLOCK, "csv", "string")),
  route("table parse: csv as a number", "POST", `${table}/parse`, { csv: 42 }, invalid(BLOCK, "csv", "string")),
  route("table parse: csv as a list", "POST", `${table}/parse`, { csv: ["id,topic"] }, invalid(BLOCK, "csv", "string")),
  route(
    "table parse: an extra field",
    "POST",
    `${table}/parse`,
    { csv: "", delimiter: ";" },
    invalid(BLOCK, "delimiter", "none"),
  ),
  route("table parse: a body that is a list", "POST", `${table}/parse`, ["id"], invalid(BLOCK, "body", "object")),
  route("table format: no rows", "POST", `${table}/format`, {}, invalid(BLOCK, "rows", "records")),
  route(
    "table format: rows as text",
    "POST",
    `${table}/format`,
    { rows: "id,topic" },
    invalid(BLOCK, "rows", "records"),
  ),
  route(
    "table format: a row that is a list",
    "POST",
    `${table}/format`,
    { rows: [["a"]] },
    invalid(BLOCK, "rows", "records"),
  ),
  route("table format: a null row", "POST", `${table}/format`, { rows: [null] }, invalid(BLOCK, "rows", "records")),
  route(
    "table format: a pipe delimiter",
    "POST",
    `${table}/format`,
    { rows: [], delimiter: "|" },
    invalid(BLOCK, "delimiter", "choice"),
  ),
  route(
    "table format: a delimiter as a number",
    "POST",
    `${table}/format`,
    { rows: [], delimiter: 44 },
    invalid(BLOCK, "delimiter", "choice"),
  ),
);

export const BAD_INPUTS: readonly BadInput[] = cases;
