/**
 * The SMTP sink of `SinkProcess`, in a process of its own: `node --import tsx bench/sink-child.ts`. It tells its
 * parent the port it listens on, how many mails it has received over how many connections at most and the CPU it has used, and when asked
 * to wait for a count of mails, the moment the last of them arrived.
 */
import { performance } from "node:perf_hooks";
import { SmtpSink, type SmtpSinkOptions } from "../dev/SmtpSink";

type Ask = { waitFor: number } | { count: true } | { close: true };

/** The sink's options, as JSON in the first argument (a plain server without it). */
const sink = new SmtpSink(JSON.parse(process.argv[2] ?? '{"starttls":false}') as SmtpSinkOptions);

async function main(): Promise<void> {
  const port = await sink.listen();
  process.send?.({ port });
  process.on("message", (ask: Ask) => {
    if ("count" in ask) {
      const { user, system } = process.cpuUsage();
      process.send?.({
        count: sink.received.length,
        peakConnections: sink.peakConnections,
        cpuMs: (user + system) / 1000,
      });
      return;
    }
    if ("close" in ask) {
      void sink.close().then(() => process.exit(0));
      return;
    }
    void sink.waitFor(ask.waitFor, 600_000).then(
      // An absolute time, so that the parent can place it on its own clock.
      () => process.send?.({ reached: ask.waitFor, at: performance.timeOrigin + performance.now() }),
      (err: Error) => process.send?.({ reached: ask.waitFor, error: err.message }),
    );
  });
}

void main();
