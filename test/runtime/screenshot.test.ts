import assert from "node:assert/strict";
import type { EventEmitter } from "node:events";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, afterEach, before, beforeEach, describe, it } from "node:test";
import type { Node, NodeMessage, NodeStatus } from "node-red";
import { SmtpSink } from "../../dev/SmtpSink";
import { helper, loadMailFlow, type MailFlowOptions } from "../support/flows";
import {
  BOX_COLOUR,
  browserProfiles,
  CHROMIUM,
  decodePng,
  FixtureServer,
  NO_CHROMIUM,
  noisePng,
  PASSWORD,
  pixel,
  plainPng,
  pngSize,
  processesUsing,
  USER,
} from "../support/images";
import { tempDir } from "../support/tempDir";

const SNAPSHOT = plainPng(64, 48, [0, 128, 255]);

let smtp: SmtpSink;
let fixtures: FixtureServer;

before(async () => {
  fixtures = await new FixtureServer().listen();
  fixtures.images["/snapshot.png"] = SNAPSHOT;
  fixtures.images["/big.png"] = noisePng(600, 400);
});
after(() => fixtures.close());
beforeEach(async () => {
  smtp = new SmtpSink({ starttls: false });
  await smtp.listen();
});
afterEach(async () => {
  await helper.unload();
  await smtp.close();
});

/** A screenshot node wired into a send node, itself wired to the "ok" and "failed" helper nodes. */
async function loadShotFlow(
  shot: Record<string, unknown>,
  options: MailFlowOptions & { shotCredentials?: Record<string, string> } = {},
): Promise<void> {
  const { shotCredentials, ...rest } = options;
  await loadMailFlow(smtp.port, {
    modules: ["alarm-mail-screenshot"],
    extraNodes: [{ id: "shot", z: "tab", type: "alarm-mail-screenshot", wires: [["send"]], ...shot }],
    ...(shotCredentials ? { extraCredentials: { shot: shotCredentials } } : {}),
    ...rest,
  });
}

interface ShotOutcome {
  output: 1 | 2;
  msg: NodeMessage & {
    screenshotError?: { code: string; message: string };
    error?: { code?: string; message: string };
  };
  warnings: string[];
  statuses: NodeStatus[];
}

/** Sends a msg into the screenshot node and waits for the send node's outcome, watching the screenshot node. */
function shoot(msg: NodeMessage, timeoutMs = 40_000): Promise<ShotOutcome> {
  const shot = helper.getNode("shot") as unknown as EventEmitter & Node;
  const warnings: string[] = [];
  const statuses: NodeStatus[] = [];
  shot.on("call:warn", (call: { args: [unknown] }) => warnings.push(String(call.args[0])));
  shot.on("call:status", (call: { args: [NodeStatus] }) => statuses.push(call.args[0]));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("no outcome from the send node")), timeoutMs);
    const finish = (output: 1 | 2) => (out: ShotOutcome["msg"]) => {
      clearTimeout(timer);
      setImmediate(() => resolve({ output, msg: out, warnings, statuses }));
    };
    helper.getNode("ok").once("input", finish(1));
    helper.getNode("failed").once("input", finish(2));
    shot.receive(msg);
  });
}

/**
 * The statuses a node has shown since it was deployed, including those set in its constructor, which come before a
 * test can listen: the helper records every call of a node method in a sinon spy.
 */
function statusesSoFar(id: string): NodeStatus[] {
  const node = helper.getNode(id);
  const spy = node.status as unknown as { getCalls(): Array<{ thisValue: unknown; args: [NodeStatus] }> };
  return spy
    .getCalls()
    .filter((call) => call.thisValue === node)
    .map((call) => call.args[0]);
}

const alarm = { event: "trigger", topic: "Pump P-101 tripped", payload: "Pump P-101 tripped at 14:30" };

/** The failure path: the mail still went out, without a picture, and the node said why. */
async function deliveredWithout(out: ShotOutcome, code: string): Promise<void> {
  assert.equal(out.output, 1, "the mail is delivered anyway");
  assert.equal(out.msg.screenshotError?.code, code);
  assert.ok(out.msg.screenshotError?.message);
  assert.equal(out.warnings.length, 1, "one warning");
  assert.equal(out.statuses.at(-1)?.fill, "yellow");
  const mail = await (await smtp.waitFor(1))[0].parse();
  assert.equal(mail.subject, alarm.topic);
  assert.equal(mail.attachments.length, 0);
  // The mail says the picture is missing (the helper runtime gives catalogue keys, not words).
  assert.match(mail.text ?? "", /alarm-mail-send\.missing/);
}

/**
 * Tests that need the browser run for real where one is installed, and are skipped with the reason where not; skipped
 * this way rather than from inside the test, their hooks do not run either (no SMTP sink is left open).
 */
const WITH_CHROMIUM = { skip: CHROMIUM ? false : NO_CHROMIUM };

describe("alarm-mail-screenshot → alarm-mail-send → SMTP", () => {
  it("mails a page rendered in Chromium as a PNG of the viewport's size", WITH_CHROMIUM, async () => {
    await loadShotFlow({ mode: "page", url: fixtures.url("/page"), width: 800, height: 500, filename: "{{topic}}" });
    const out = await shoot({ ...alarm });
    assert.equal(out.output, 1);
    assert.equal(out.msg.screenshotError, undefined);
    assert.equal(out.statuses.at(-1)?.fill, "green");
    const mail = await (await smtp.waitFor(1))[0].parse();
    assert.equal(mail.attachments.length, 1);
    const [image] = mail.attachments;
    assert.equal(image.contentType, "image/png");
    assert.equal(image.filename, "Pump P-101 tripped.png");
    assert.deepEqual(pngSize(image.content), { width: 800, height: 500 });
    assert.deepEqual(pixel(decodePng(image.content), 100, 50), BOX_COLOUR);
  });

  it("logs in to the page with the node's credentials", WITH_CHROMIUM, async () => {
    await loadShotFlow(
      { mode: "page", url: fixtures.url("/auth"), width: 400, height: 300 },
      { shotCredentials: { username: USER, password: PASSWORD } },
    );
    const out = await shoot({ ...alarm });
    assert.equal(out.msg.screenshotError, undefined);
    const [image] = (await (await smtp.waitFor(1))[0].parse()).attachments;
    assert.deepEqual(pixel(decodePng(image.content), 100, 50), BOX_COLOUR);
  });

  it("mails an image from a URL, after the attachments the msg already has", async () => {
    await loadShotFlow({ mode: "image-url", url: fixtures.url("/snapshot.png") });
    const csv = { filename: "history.csv", content: Buffer.from("time;alarm\n"), contentType: "text/csv" };
    const out = await shoot({ ...alarm, attachments: [csv] });
    assert.equal(out.output, 1);
    const mail = await (await smtp.waitFor(1))[0].parse();
    assert.deepEqual(
      mail.attachments.map((a) => a.filename),
      ["history.csv", (out.msg.attachments as Array<{ filename: string }>)[1].filename],
    );
    assert.match(mail.attachments[1].filename ?? "", /^screenshot-\d{8}-\d{6}\.png$/);
    assert.deepEqual(mail.attachments[1].content, SNAPSHOT);
  });

  it("reads a file named in the node (relative to the user directory), never one named by the msg", async () => {
    const userDir = tempDir("alarm-mail-test-");
    writeFileSync(join(userDir, "screen.png"), SNAPSHOT);
    await loadShotFlow({ mode: "file", path: "screen.png" }, { userDir });
    const requests = fixtures.requests.length;
    const out = await shoot({ ...alarm, path: "/etc/passwd", url: fixtures.url("/page") });
    assert.equal(out.output, 1);
    assert.equal(fixtures.requests.length, requests, "msg.url fetched nothing");
    const [image] = (await (await smtp.waitFor(1))[0].parse()).attachments;
    assert.deepEqual(image.content, SNAPSHOT);
  });

  it("attaches an image Buffer from msg.payload, and goes on without one when the payload is not an image", async () => {
    await loadShotFlow({ mode: "payload", filename: "camera.png" });
    const out = await shoot({ ...alarm, payload: SNAPSHOT });
    assert.equal(out.output, 1);
    const [image] = (await (await smtp.waitFor(1))[0].parse()).attachments;
    assert.equal(image.filename, "camera.png");
    const text = await shoot({ ...alarm, payload: "not an image" });
    assert.equal(text.output, 1);
    assert.equal(text.msg.screenshotError?.code, "screenshot-payload-invalid");
  });

  it("downscales an image over the size cap", WITH_CHROMIUM, async () => {
    await loadShotFlow({ mode: "image-url", url: fixtures.url("/big.png"), maxKB: 100 });
    const out = await shoot({ ...alarm });
    assert.equal(out.msg.screenshotError, undefined);
    const [image] = (await (await smtp.waitFor(1))[0].parse()).attachments;
    assert.ok(image.content.length <= 100 * 1024, `${image.content.length} bytes`);
    assert.ok(pngSize(image.content).width < 600);
  });
});

describe("alarm-mail-screenshot: a failed capture never holds the mail back", () => {
  it("an image URL that answers 404", async () => {
    await loadShotFlow({ mode: "image-url", url: fixtures.url("/camera/missing.jpg") });
    await deliveredWithout(await shoot({ ...alarm }), "screenshot-http-status");
  });

  it("a page that never finishes loading", WITH_CHROMIUM, async () => {
    await loadShotFlow({ mode: "page", url: fixtures.url("/never"), timeout: 1500 });
    await deliveredWithout(await shoot({ ...alarm }), "screenshot-timeout");
  });

  it("a selector that never appears", WITH_CHROMIUM, async () => {
    await loadShotFlow({ mode: "page", url: fixtures.url("/page"), waitFor: "#alarm-banner", timeout: 1500 });
    await deliveredWithout(await shoot({ ...alarm }), "screenshot-selector-timeout");
  });

  it("no Chromium (said at deploy in the status, then at each capture)", async () => {
    await loadShotFlow({ mode: "page", url: fixtures.url("/page"), chromiumPath: "/nonexistent/chromium" });
    assert.deepEqual(statusesSoFar("shot"), [
      { fill: "yellow", shape: "ring", text: "alarm-mail-screenshot.status.noChromium" },
    ]);
    await deliveredWithout(await shoot({ ...alarm }), "screenshot-no-chromium");
  });

  it("an image over the cap with no Chromium to downscale it", async () => {
    await loadShotFlow({
      mode: "image-url",
      url: fixtures.url("/big.png"),
      maxKB: 10,
      chromiumPath: "/nonexistent/chromium",
    });
    await deliveredWithout(await shoot({ ...alarm }), "screenshot-downscale-no-chromium");
  });

  it("a setting that is not valid", async () => {
    await loadShotFlow({ mode: "image-url", url: "ftp://camera/snap.jpg" });
    await deliveredWithout(await shoot({ ...alarm }), "screenshot-url-invalid");
  });
});

describe("alarm-mail-screenshot and the send node's attachment limits", () => {
  it("one attachment too many is the send node's clear error", async () => {
    await loadShotFlow({ mode: "image-url", url: fixtures.url("/snapshot.png") }, { server: { maxAttachments: 1 } });
    const csv = { filename: "history.csv", content: Buffer.from("time;alarm\n"), contentType: "text/csv" };
    const out = await shoot({ ...alarm, attachments: [csv] });
    assert.equal(out.output, 2);
    assert.equal(out.msg.error?.code, "limit-attachments");
    assert.equal(smtp.received.length, 0);
  });

  it("a picture that takes the attachments over the total size is the send node's clear error", async () => {
    await loadShotFlow(
      { mode: "image-url", url: fixtures.url("/big.png"), maxKB: 0 },
      { server: { maxAttachmentKB: 100 } },
    );
    const out = await shoot({ ...alarm });
    assert.equal(out.output, 2);
    assert.equal(out.msg.error?.code, "limit-attachment-size");
    assert.equal(smtp.received.length, 0);
  });
});

describe("alarm-mail-screenshot and its browser", () => {
  it(
    "deploying starts no browser; the first capture does; closing the flow leaves no Chromium process",
    WITH_CHROMIUM,
    async () => {
      const before = new Set(browserProfiles());
      await loadShotFlow({ mode: "page", url: fixtures.url("/page"), width: 320, height: 200 });
      assert.deepEqual(
        browserProfiles().filter((dir) => !before.has(dir)),
        [],
        "no browser at deploy",
      );
      await shoot({ ...alarm });
      const profiles = browserProfiles().filter((dir) => !before.has(dir));
      assert.equal(profiles.length, 1);
      await helper.unload();
      assert.deepEqual(processesUsing(profiles[0]), [], "the browser is gone after close");
    },
  );

  it("two nodes share one browser", WITH_CHROMIUM, async () => {
    const before = new Set(browserProfiles());
    const page = { type: "alarm-mail-screenshot", z: "tab", mode: "page", width: 320, height: 200 };
    await loadMailFlow(smtp.port, {
      modules: ["alarm-mail-screenshot"],
      extraNodes: [
        { ...page, id: "shot", url: fixtures.url("/page"), wires: [["shot2"]] },
        { ...page, id: "shot2", url: fixtures.url("/tall"), wires: [["send"]] },
      ],
    });
    const out = await shoot({ ...alarm });
    assert.equal((out.msg.attachments as unknown[]).length, 2);
    assert.equal(browserProfiles().filter((dir) => !before.has(dir)).length, 1);
  });
});
