/**
 * Throughput of the three transports in the same run: SMTP (the pooled nodemailer transport, to the SMTP sink),
 * Microsoft Graph and the Gmail API (to their loopback HTTPS doubles, TLS with the test CA, tokens from a real
 * OAuth2 server). Each candidate gets the same mails through `createTransport`, as a deployed server builds it, with
 * 4 sends at once; rounds interleave the candidates and the table shows medians.
 */
import { performance } from "node:perf_hooks";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SmtpSink } from "../dev/SmtpSink";
import { parseAddressList } from "../nodes/lib/mail/AddressList";
import { MailComposer, type OutgoingMail } from "../nodes/lib/mail/MailComposer";
import { TokenStore } from "../nodes/lib/oauth/TokenStore";
import { parseServerSettings, type ServerConfig } from "../nodes/lib/server/ServerSettings";
import { createTokenProvider, createTransport } from "../nodes/lib/server/ServerStack";
import type { Transport } from "../nodes/lib/transport/Transport";
import { TEST_CA } from "../test/support/ApiServer";
import { GmailServer } from "../test/support/GmailServer";
import { GraphServer } from "../test/support/GraphServer";
import { OAuthServer } from "../test/support/OAuthServer";
import { machine, median, ranAt, runMain, versionOf, writeResults } from "./support";

const MAILS = Number(process.env.BENCH_MAILS ?? 500);
const ROUNDS = 3;
const AT_ONCE = 4;
const MAILBOX = "gateway@plant.example";

interface Candidate {
  name: string;
  transport: Transport;
  received: () => number;
}

async function run(candidate: Candidate, mails: OutgoingMail[]): Promise<{ rate: number; cpuMs: number }> {
  const before = candidate.received();
  const cpu = process.cpuUsage();
  const start = performance.now();
  let next = 0;
  const worker = async () => {
    while (next < mails.length) await candidate.transport.send(mails[next++]);
  };
  await Promise.all(Array.from({ length: AT_ONCE }, worker));
  const seconds = (performance.now() - start) / 1000;
  const used = process.cpuUsage(cpu);
  if (candidate.received() - before !== mails.length) throw new Error(`${candidate.name}: mails missing`);
  return { rate: mails.length / seconds, cpuMs: (used.user + used.system) / 1000 / mails.length };
}

async function main(): Promise<void> {
  const began = performance.now();
  const oauth = new OAuthServer();
  const graph = new GraphServer((token) => oauth.verifyAccessToken(token), [MAILBOX]);
  const gmail = new GmailServer((token) => oauth.verifyAccessToken(token));
  const smtp = new SmtpSink({ starttls: false });
  await Promise.all([oauth.start(), graph.start(), gmail.start(), smtp.listen()]);
  const store = mkdtempSync(join(tmpdir(), "alarm-mail-bench-"));
  const tokens = await TokenStore.open(store, "bench");
  const build = (config: ServerConfig, scope: string) => {
    const settings = parseServerSettings(
      { from: MAILBOX, oauthFlow: "client_credentials", tokenUrl: oauth.endpoints.tokenUrl, scope, ...config },
      { ca: TEST_CA, clientId: "bench", clientSecret: "bench" },
    );
    const provider = settings.oauth ? createTokenProvider(settings.oauth, undefined, tokens, scope) : undefined;
    return { transport: createTransport(settings, provider), composer: new MailComposer(settings.sender) };
  };
  const smtpSide = build({ host: "127.0.0.1", port: smtp.port, security: "none", auth: "none" }, "");
  const candidates: Candidate[] = [
    { name: "SMTP (pool, 2 connections)", transport: smtpSide.transport, received: () => smtp.received.length },
    {
      name: "Microsoft Graph (sendMail)",
      transport: build(
        { transport: "graph", mailbox: MAILBOX, graphUrl: graph.root },
        "https://graph.microsoft.com/.default",
      ).transport,
      received: () => graph.delivered.length,
    },
    {
      name: "Gmail API (messages.send)",
      transport: build({ transport: "gmail", gmailUrl: gmail.url }, "https://www.googleapis.com/auth/gmail.send")
        .transport,
      received: () => gmail.delivered.length,
    },
  ];
  const compose = (count: number) =>
    Promise.all(
      Array.from({ length: count }, (_, i) =>
        smtpSide.composer.compose(
          { to: parseAddressList("op@plant.example", "to"), cc: [], bcc: [], subject: "", body: "", html: "" },
          {
            topic: `Tank T-12 level high ${i}`,
            payload: "Tank T-12 is at 94 %.\nHigh alarm at 90 %.\nLine 3.\nAcknowledge on the HMI.\nGateway 12.",
          },
          {},
        ),
      ),
    );
  const results = new Map<string, Array<{ rate: number; cpuMs: number }>>();
  for (const c of candidates) await run(c, await compose(50));
  for (let round = 0; round < ROUNDS; round++) {
    for (const c of candidates) {
      const r = await run(c, await compose(MAILS));
      results.set(c.name, [...(results.get(c.name) ?? []), r]);
      console.log(`round ${round + 1} ${c.name}: ${r.rate.toFixed(0)} mails/s`);
    }
  }
  candidates.forEach((c) => c.transport.close());
  await Promise.all([oauth.stop(), graph.stop(), gmail.stop(), smtp.close()]);
  rmSync(store, { recursive: true, force: true });

  const base = median((results.get(candidates[0].name) ?? []).map((r) => r.rate));
  const rows = candidates.map((c) => {
    const runs = results.get(c.name) ?? [];
    const rate = median(runs.map((r) => r.rate));
    return `| ${c.name} | ${rate.toFixed(0)} | ${runs.map((r) => r.rate.toFixed(0)).join(", ")} | **${(rate / base).toFixed(2)}×** | ${median(runs.map((r) => r.cpuMs)).toFixed(2)} |`;
  });
  const block = [
    ranAt((performance.now() - began) / 1000),
    "",
    `- Machine: ${machine()}; nodemailer ${versionOf("nodemailer", 2)}`,
    "- Command: `npm run bench:transports`",
    `- ${MAILS} mails per run after 50 warm-up mails, ${AT_ONCE} sends at once, ${ROUNDS} rounds, candidates interleaved; medians shown`,
    "",
    "| transport | mails/s (median) | runs (mails/s) | ratio to SMTP | CPU ms per mail |",
    "| --- | ---: | --- | ---: | ---: |",
    ...rows,
  ].join("\n");
  await writeResults("transports", "`bench/transports.bench.ts`: SMTP, Microsoft Graph and the Gmail API", block);
}

runMain(main);
