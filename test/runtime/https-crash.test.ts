import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { TEST_CA } from "../support/ApiServer";
import { GraphServer } from "../support/GraphServer";
import { NodeRedProcess } from "../support/NodeRedProcess";
import { OAuthServer } from "../support/OAuthServer";
import { until } from "../support/until";

const MAILS = 300;
const MAILBOX = "gateway@plant.example";

describe("Graph transport: a crash in the middle of a burst", () => {
  const processes: NodeRedProcess[] = [];
  const oauth = new OAuthServer();
  const graph = new GraphServer((token) => oauth.verifyAccessToken(token), [MAILBOX]);
  after(async () => {
    await Promise.all(processes.map((p) => p.kill()));
    await graph.stop();
    await oauth.stop();
  });

  it("loses nothing after SIGKILL and a restart; duplicates at most the requests in flight", async () => {
    await oauth.start();
    await graph.start();
    graph.delayMs = 15;
    const first = await NodeRedProcess.start();
    processes.push(first);
    await first.deploy([
      { id: "tab", type: "tab", label: "crash" },
      {
        id: "srv",
        type: "alarm-mail-server",
        transport: "graph",
        mailbox: MAILBOX,
        graphUrl: graph.root,
        from: MAILBOX,
        oauthFlow: "client_credentials",
        tokenUrl: oauth.endpoints.tokenUrl,
        scope: "https://graph.microsoft.com/.default",
        credentials: { clientId: "gateway-app", clientSecret: "s3cret", ca: TEST_CA },
      },
      { id: "go", z: "tab", type: "inject", props: [], wires: [["burst"]] },
      {
        id: "burst",
        z: "tab",
        type: "function",
        func: `for (let i = 0; i < ${MAILS}; i++) node.send({ to: "op@plant.example", topic: "alarm " + i, payload: "value " + i });\nreturn null;`,
        outputs: 1,
        wires: [["send"]],
      },
      { id: "send", z: "tab", type: "alarm-mail-send", server: "srv", wires: [[], []] },
    ]);
    await first.inject("go");
    await until(
      () => graph.delivered.length >= 60,
      "60 mails at Graph",
      30_000,
      () => first.output,
    );
    await first.kill();
    const beforeRestart = graph.delivered.length;
    assert.ok(beforeRestart < MAILS, `killed in the middle of delivery (${beforeRestart} of ${MAILS} delivered)`);

    const second = await NodeRedProcess.start({ userDir: first.userDir });
    processes.push(second);
    const subjects = () => new Set(graph.delivered.map((d) => /^Subject: (.*)$/m.exec(d.mime.toString())?.[1]));
    await until(
      () => subjects().size === MAILS,
      "every mail at Graph",
      60_000,
      () => second.output,
    );
    // Give a wrongly resent mail the time to show up before counting.
    await new Promise((resolve) => setTimeout(resolve, 500));

    const ids = graph.delivered.map((d) => d.messageId);
    const duplicates = ids.length - new Set(ids).size;
    assert.ok(duplicates <= 2, `${duplicates} duplicates: no more than the scheduler's two requests in flight`);
    assert.ok(Math.max(...graph.maxInFlight.values()) <= 4, "never more than 4 requests at once for the mailbox");
    console.log(
      `graph crash test: ${beforeRestart} delivered before SIGKILL, ${ids.length} received in all, ${duplicates} duplicates`,
    );
  });
});
