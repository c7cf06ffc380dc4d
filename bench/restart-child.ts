/**
 * One Node-RED start, in a process of its own, for the restart part of `bench/outbox.bench.ts`:
 * `node --import tsx bench/restart-child.ts USER_DIR DELIVERIES`. The user directory holds the flow (a server node
 * "server" pointing at the parent's SMTP sink, a send node) and perhaps a full outbox. Prints one line of JSON: when
 * the flows started and when the outbox was open, in ms from this process's start, the mails it gave back, and the
 * process's peak RSS (VmHWM) once DELIVERIES of them have been delivered.
 */
import { readFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import type { ServerNodeObject } from "../nodes/red/server/ServerNode";
import { EmbeddedNodeRed } from "./runtime";

const [userDir, deliveriesArg = "0"] = process.argv.slice(2);
if (!userDir) throw new Error("usage: restart-child.ts USER_DIR DELIVERIES");
const deliveries = Number(deliveriesArg);

const settle = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The peak RSS of this process's own memory (Linux's VmHWM). getrusage's maxRSS is no use here: it also counts the
 * parent's memory, which the fork copied before the exec, and the bench's parent holds hundreds of MB of mails.
 */
function peakRss(): number {
  try {
    const kb = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync("/proc/self/status", "utf8"))?.[1];
    return kb === undefined ? process.resourceUsage().maxRSS / 1024 : Number(kb) / 1024;
  } catch {
    return process.resourceUsage().maxRSS / 1024;
  }
}

async function main(): Promise<void> {
  const red = await EmbeddedNodeRed.start({}, userDir);
  const flowsStartedMs = performance.now();
  const server = red.node("server") as ServerNodeObject;
  while (!server.mailServer.mailbox) await settle(1);
  const readyMs = performance.now();
  const outbox = server.mailServer.mailbox;
  const queued = outbox.pending().length;
  const readyRssMb = process.memoryUsage.rss() / 1024 / 1024;
  while (queued - outbox.pending().length < Math.min(deliveries, queued)) await settle(5);
  const deliveredMs = performance.now();
  const peakRssMb = peakRss();
  process.stdout.write(`${JSON.stringify({ flowsStartedMs, readyMs, deliveredMs, queued, readyRssMb, peakRssMb })}\n`);
  // The parent copied this outbox for the run: nothing needs a clean stop.
  process.exit(0);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
