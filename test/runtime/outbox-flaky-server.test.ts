import assert from "node:assert/strict";
import { createServer, type Server, type Socket } from "node:net";
import { afterEach, describe, it } from "node:test";
import { DEFAULT_LIMITS, MailComposer } from "../../nodes/lib/mail/MailComposer";
import { DEFAULT_POLICY, DeliveryScheduler, type MailRoute } from "../../nodes/lib/outbox/DeliveryScheduler";
import { Outbox } from "../../nodes/lib/outbox/Outbox";
import { SmtpTransport } from "../../nodes/lib/transport/SmtpTransport";
import { TransportFault } from "../../nodes/lib/transport/TransportFault";
import { tempDir } from "../support/tempDir";

/**
 * Servers that take connections and then fail are not outages: a connection probe cannot tell them from a working
 * server, so their mails keep the retry schedule (found by probing the outage handling as a hostile server would).
 */
const composer = new MailComposer({
  from: { name: "", address: "gw@plant.example" },
  allowMsgFrom: false,
  limits: DEFAULT_LIMITS,
});
const closing: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  await Promise.all(closing.splice(0).map((close) => close()));
});

async function outbox(): Promise<Outbox> {
  const box = await Outbox.open(tempDir("alarm-mail-flaky-"));
  closing.push(() => box.close());
  return box;
}

function start(box: Outbox, route: MailRoute): DeliveryScheduler {
  const scheduler = new DeliveryScheduler(box, route, undefined, DEFAULT_POLICY);
  closing.unshift(() => scheduler.close(1000));
  scheduler.kick();
  return scheduler;
}

const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("outbox: a server that connects, then fails", () => {
  it("that greets, then hangs up at every mail, gets the mail on the retry schedule, not every second", async () => {
    // An SMTP server that greets and drops the connection at the first command: the probe connects fine.
    const sockets = new Set<Socket>();
    const server: Server = createServer((socket) => {
      sockets.add(socket);
      socket.on("error", () => undefined);
      socket.write("220 flaky.plant.example ESMTP\r\n");
      socket.once("data", () => socket.destroy());
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    closing.push(async () => {
      sockets.forEach((s) => s.destroy());
      await new Promise((resolve) => server.close(resolve));
    });
    const transport = new SmtpTransport({
      host: "127.0.0.1",
      port: (server.address() as { port: number }).port,
      security: "none",
      auth: "none",
      rejectUnauthorized: true,
      connectionTimeout: 2000,
      socketTimeout: 2000,
    });
    closing.push(async () => transport.close());
    const box = await outbox();
    const entry = await box.enqueue(await composer.compose(undefined, { to: "op@plant.example", topic: "t" }, {}), {
      rank: 1,
    });
    start(box, { name: "primary", send: (mail) => transport.send(mail), reachable: () => transport.reachable() });
    await wait(4000);
    const attempts = box.get(entry.id)?.attempts ?? 0;
    // The first attempt, then one more when the probe finds the port open; the next waits for the 5 s backoff.
    assert.ok(attempts >= 1 && attempts <= 2, `${attempts} attempts in 4 s`);
  });

  it("a Retry-After of 30 days is held to the longest retry wait, with no timer spinning", async () => {
    let sends = 0;
    const month = 30 * 24 * 3_600_000;
    const route: MailRoute = {
      name: "primary",
      send: async () => {
        sends++;
        throw new TransportFault("http-throttled", "transient", { seconds: month / 1000 }, undefined, month);
      },
      reachable: async () => true,
    };
    const box = await outbox();
    const entry = await box.enqueue(await composer.compose(undefined, { to: "op@plant.example", topic: "t" }, {}), {
      rank: 1,
    });
    const warnings: string[] = [];
    const onWarning = (warning: Error) => warnings.push(warning.name);
    process.on("warning", onWarning);
    const started = process.cpuUsage();
    start(box, route);
    await wait(1000);
    process.off("warning", onWarning);
    const cpuMs = (process.cpuUsage(started).user + process.cpuUsage(started).system) / 1000;
    assert.equal(sends, 1);
    const waitMs = (box.get(entry.id)?.nextAt ?? 0) - Date.now();
    assert.ok(waitMs <= DEFAULT_POLICY.retryMaxDelay, `waits ${waitMs} ms`);
    assert.deepEqual(warnings, [], "no TimeoutOverflowWarning");
    assert.ok(cpuMs < 500, `${cpuMs} ms of CPU while waiting`);
  });
});
