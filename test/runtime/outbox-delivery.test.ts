import assert from "node:assert/strict";
import { afterEach, describe, it } from "node:test";
import type { SmtpSinkOptions } from "../../dev/SmtpSink";
import { deliver, helper, loadMailFlow, until, watchStatuses, type FlowNode } from "../support/flows";
import { downPort, Sinks, smtpServer } from "../support/smtp";

const sinks = new Sinks();
const sink = (options: SmtpSinkOptions = {}, port = 0) => sinks.start(options, port);

afterEach(async () => {
  await helper.unload();
  await sinks.closeAll();
});

const fast = { retryDelay: 50, retryMaxDelay: 200 };
const alarm = { topic: "Bassin 2: level high", payload: "7.4", alarm: { priority: 1 } };

describe("outbox: transient faults are retried until the mail is delivered", () => {
  it("a server that is down, then up", async () => {
    const port = await downPort();
    await loadMailFlow(port, { server: fast });
    const statuses = watchStatuses("send");
    const outcome = deliver({ ...alarm }, 20_000);
    await until(() => statuses.some((s) => s.fill === "yellow"), "a retrying status");
    assert.match(String(statuses.find((s) => s.fill === "yellow")?.text), /retrying/);
    const smtp = await sink({}, port);
    const out = await outcome;
    assert.equal(out.output, 1);
    assert.ok((out.msg.mail?.attempts as number) >= 2);
    assert.equal((await smtp.waitFor(1))[0].messageId, out.msg.mail?.messageId);
  });

  it("a server that answers 451, then accepts: one mail, same Message-ID", async () => {
    let refusals = 0;
    const smtp = await sink({
      onMessage: () => (refusals++ < 2 ? { code: 451, message: "4.3.0 Try again later" } : undefined),
    });
    await loadMailFlow(smtp.port, { server: fast });
    const out = await deliver({ ...alarm });
    assert.equal(out.output, 1);
    assert.equal(out.msg.mail?.attempts, 3);
    const received = await smtp.waitFor(1);
    assert.equal(received.length, 1);
    assert.equal(received[0].messageId, out.msg.mail?.messageId);
  });
});

describe("outbox: permanent faults fail at once", () => {
  it("550 to one recipient: delivered to the others, the refusal reported per recipient", async () => {
    const smtp = await sink({
      onRecipient: (address) =>
        address === "left@plant.example" ? { code: 550, message: "5.1.1 No such user" } : undefined,
    });
    await loadMailFlow(smtp.port, { recipients: { to: "op@plant.example, left@plant.example" } });
    const statuses = watchStatuses("send");
    const out = await deliver({ ...alarm });
    assert.equal(out.output, 1);
    assert.deepEqual(out.msg.mail?.accepted, ["op@plant.example"]);
    assert.deepEqual(out.msg.mail?.rejected, ["left@plant.example"]);
    assert.deepEqual(out.msg.mail?.rejectedErrors, [
      { recipient: "left@plant.example", response: "550 5.1.1 No such user" },
    ]);
    assert.deepEqual((await smtp.waitFor(1))[0].to, ["op@plant.example"]);
    assert.equal(statuses.at(-1)?.fill, "yellow");
  });

  it("550 to every recipient: output 2 after one attempt", async () => {
    const smtp = await sink({ onRecipient: () => ({ code: 550, message: "5.1.1 No such user" }) });
    await loadMailFlow(smtp.port, { server: fast });
    const out = await deliver({ ...alarm });
    assert.equal(out.output, 2);
    assert.equal(out.msg.error?.code, "smtp-rejected");
    assert.equal((out.msg.error as { attempts?: number }).attempts, 1);
    assert.ok(out.error, "done(err) was called");
  });

  it("a mail older than the maximum age fails, naming the last error", async () => {
    const port = await downPort();
    await loadMailFlow(port, { server: { ...fast, maxAgeHours: 1 } });
    const server = helper.getNode("server") as unknown as { mailServer: { mailbox?: { pending(): unknown[] } } };
    const outcome = deliver({ ...alarm }, 20_000);
    await until(() => (server.mailServer.mailbox?.pending().length ?? 0) === 1, "the mail queued");
    // Age the queued mail by an hour and a minute rather than waiting for it.
    const entry = (server.mailServer.mailbox?.pending() as Array<{ queuedAt: number }>)[0];
    entry.queuedAt -= 61 * 60_000;
    const out = await outcome;
    assert.equal(out.output, 2);
    assert.equal(out.msg.error?.code, "outbox-expired");
    assert.match(out.error ?? "", /outbox-expired/);
  });
});

describe("outbox: rate limits and failover", () => {
  it("a per-minute limit holds the third mail back instead of dropping it", async () => {
    const smtp = await sink();
    await loadMailFlow(smtp.port, { server: { rateMinute: 2 } });
    const statuses = watchStatuses("send");
    for (let i = 0; i < 3; i++) helper.getNode("send").receive({ ...alarm, topic: `alarm ${i}` });
    await smtp.waitFor(2);
    await until(() => statuses.some((s) => /rateLimited/.test(String(s.text))), "a rate-limit status");
    await new Promise((resolve) => setTimeout(resolve, 1000));
    assert.equal(smtp.received.length, 2, "the third mail waits for the window");
    const server = helper.getNode("server") as unknown as { mailServer: { queued: number } };
    assert.equal(server.mailServer.queued, 1, "and stays queued");
  });

  it("uses the backup while the primary is down, and gives it back when the primary returns", async () => {
    const primaryPort = await downPort();
    const backup = await sink();
    const backupServer: FlowNode = smtpServer("backup", backup.port);
    await loadMailFlow(primaryPort, {
      server: { ...fast, backup: "backup", failoverAfter: 1, failbackAfter: 300 },
      extraNodes: [backupServer],
    });
    const first = await deliver({ ...alarm, topic: "while the primary is down" });
    assert.equal(first.output, 1);
    assert.equal((await backup.waitFor(1))[0].messageId, first.msg.mail?.messageId);

    const primary = await sink({}, primaryPort);
    await new Promise((resolve) => setTimeout(resolve, 400));
    const second = await deliver({ ...alarm, topic: "after the primary came back" });
    assert.equal(second.output, 1);
    assert.equal((await primary.waitFor(1))[0].messageId, second.msg.mail?.messageId);
    assert.equal(backup.received.length, 1);
  });
});
