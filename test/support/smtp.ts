import { SmtpSink, type SmtpSinkOptions } from "../../dev/SmtpSink";

/**
 * The SMTP servers of one test file: each on loopback (plain, no STARTTLS unless asked), all closed together after
 * each test.
 */
export class Sinks {
  private readonly running: SmtpSink[] = [];

  async start(options: SmtpSinkOptions = {}, port = 0): Promise<SmtpSink> {
    const sink = new SmtpSink({ starttls: false, ...options });
    this.running.push(sink);
    await sink.listen(port);
    return sink;
  }

  async closeAll(): Promise<void> {
    await Promise.all(this.running.splice(0).map((sink) => sink.close()));
  }
}

/** A port where nothing listens yet, for a server that is down and comes up later. */
export async function downPort(): Promise<number> {
  const sink = new SmtpSink();
  const port = await sink.listen();
  await sink.close();
  return port;
}

/**
 * The `alarm-mail-server` config node of a flow that sends to a sink on loopback: no TLS, no login, from the gateway's
 * address; `extra` adds or overrides properties.
 */
export function smtpServer(id: string, port: number, extra: Record<string, unknown> = {}) {
  return {
    id,
    type: "alarm-mail-server",
    host: "127.0.0.1",
    port,
    security: "none",
    auth: "none",
    from: "gateway@plant.example",
    ...extra,
  };
}
