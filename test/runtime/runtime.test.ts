import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { SmtpSink } from "../../dev/SmtpSink";
import { NodeRedProcess } from "../support/NodeRedProcess";

const PASSWORD = "Plant-Secret-42";
const serverNode = (port: number) => ({
  id: "srv1",
  type: "alarm-mail-server",
  name: "plant relay",
  host: "127.0.0.1",
  port,
  security: "none",
  auth: "plain",
  from: "gateway@plant.example",
  credentials: { user: "plant-gw", password: PASSWORD },
});
const dialog = (port: number, password: string) => ({
  config: { ...serverNode(port), credentials: undefined },
  credentials: { user: "plant-gw", password },
});

describe("in a real Node-RED with admin authentication", () => {
  let red: NodeRedProcess;
  let smtp: SmtpSink;
  let admin: string;

  before(async () => {
    smtp = new SmtpSink({ starttls: false, authMethods: ["PLAIN"], users: { "plant-gw": PASSWORD } });
    await smtp.listen();
    red = await NodeRedProcess.start({ adminAuth: true });
    admin = await red.token("admin");
    await red.deploy([serverNode(smtp.port)], admin);
  });
  after(async () => {
    await red.stop();
    await smtp.close();
  });

  it("loads every node of the package without error", async () => {
    const sets = (await (await red.request("GET", "/nodes", undefined, admin)).json()) as Array<{
      module: string;
      types: string[];
      err?: string;
    }>;
    const ours = sets.filter((s) => s.module === "@alarm-mail/node-red");
    const declared = (
      JSON.parse(readFileSync(join(__dirname, "..", "..", "package.json"), "utf8")) as {
        "node-red": { nodes: Record<string, string> };
      }
    )["node-red"].nodes;
    assert.deepEqual(ours.flatMap((s) => s.types).sort(), Object.keys(declared).sort());
    assert.deepEqual(
      ours.filter((s) => s.err),
      [],
    );
  });

  it("Test connection refuses callers without the write permission", async () => {
    const path = "/alarm-mail-server/srv1/verify";
    assert.equal((await red.request("POST", path, dialog(smtp.port, "__PWRD__"))).status, 401);
    const viewer = await red.token("viewer");
    assert.equal((await red.request("GET", "/flows", undefined, viewer)).status, 200, "the viewer's token is valid");
    // Node-RED answers 401 for a valid token that lacks the permission, too.
    assert.equal((await red.request("POST", path, dialog(smtp.port, "__PWRD__"), viewer)).status, 401);
    assert.equal(smtp.authAttempts, 0, "no login was tried for a refused caller");
  });

  it("Test connection answers with the server's reply, using the stored password when the field is untouched", async () => {
    const res = await red.request("POST", "/alarm-mail-server/srv1/verify", dialog(smtp.port, "__PWRD__"), admin);
    const body = (await res.json()) as { ok: boolean; message: string; response: string; greeting: string };
    assert.equal(res.status, 200);
    assert.equal(body.ok, true, body.message);
    assert.match(body.greeting, /^220 /);
    assert.match(body.response, /^235 /);
    assert.match(body.message, /235/);
  });

  it("Test connection explains a refused password", async () => {
    const res = await red.request("POST", "/alarm-mail-server/srv1/verify", dialog(smtp.port, "typo"), admin);
    const body = (await res.json()) as { ok: boolean; code: string; message: string };
    assert.equal(body.ok, false);
    assert.equal(body.code, "smtp-auth-failed");
    assert.match(body.message, /refused the user name or password/);
    assert.doesNotMatch(JSON.stringify(body), /typo|Plant-Secret/);
  });

  it("Send test mail delivers to the address typed in the dialog", async () => {
    const before = smtp.received.length;
    const res = await red.request(
      "POST",
      "/alarm-mail-server/srv1/send-test",
      { ...dialog(smtp.port, "__PWRD__"), to: "it@plant.example" },
      admin,
    );
    const body = (await res.json()) as { ok: boolean; message: string };
    assert.equal(body.ok, true, body.message);
    const [mail] = (await smtp.waitFor(before + 1)).slice(before);
    assert.deepEqual(mail.to, ["it@plant.example"]);
    const parsed = await mail.parse();
    assert.equal(parsed.subject, "Alarm Mail test");
    assert.equal(parsed.headers.get("auto-submitted"), "auto-generated", "a test mail looks like an alarm mail");
  });

  it("keeps the password out of exported flows, the flow file and the log", async () => {
    const flows = await (await red.request("GET", "/flows", undefined, admin)).text();
    assert.match(flows, /alarm-mail-server/);
    const stored =
      readFileSync(join(red.userDir, "flows.json"), "utf8") +
      readFileSync(join(red.userDir, "flows_cred.json"), "utf8");
    for (const text of [flows, stored, red.output]) assert.doesNotMatch(text, new RegExp(PASSWORD));
  });
});

describe("in a real Node-RED speaking French", () => {
  let red: NodeRedProcess;
  before(async () => {
    red = await NodeRedProcess.start({ lang: "fr" });
  });
  after(() => red.stop());

  it("explains faults in the runtime's language", async () => {
    const fr = JSON.parse(
      readFileSync(join(__dirname, "..", "..", "locales", "fr", "alarm-mail-server.json"), "utf8"),
    ) as {
      errors: Record<string, string>;
    };
    const res = await red.request("POST", "/alarm-mail-server/new-node/verify", {
      config: { host: "127.0.0.1", port: 1, security: "none", auth: "none", from: "gw@plant.example" },
    });
    const body = (await res.json()) as { ok: boolean; code: string; message: string };
    assert.equal(body.code, "smtp-connection-refused");
    const expected = fr.errors["smtp-connection-refused"].replace("__host__", "127.0.0.1").replace("__port__", "1");
    assert.equal(body.message, expected);
  });
});
