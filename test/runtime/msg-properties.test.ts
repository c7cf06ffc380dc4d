import assert from "node:assert/strict";
import type { EventEmitter } from "node:events";
import { after, describe, it } from "node:test";
import fc from "fast-check";
import type { NodeMessage } from "node-red";
import { SmtpSink } from "../../dev/SmtpSink";
import { HIGH, HIGH_HIGH } from "../support/alarms";
import { builtNode, deliver, helper, loadMailFlow, type FlowNode, type RuntimeSettings } from "../support/flows";
import { tempDir } from "../support/tempDir";

/**
 * Any msg a flow can send to the block or the send node either works or ends in a clear error: one of the node's
 * catalogue messages (the test helper's RED._ gives back its key), never a JavaScript error text. The block's state
 * stays consistent (its summary counts what its alarms say, every time is a date), and Node-RED keeps running.
 */

after(() => helper.stopServer?.());

const BLOCK_ERROR = /^@alarm-mail\/node-red\/alarm-mail-block:errors\.[a-z-]+$/;
const MAIL_ERROR = /^@alarm-mail\/node-red\/alarm-mail-server:errors\.[a-z-]+$/;

/** What a hostile or careless flow puts in a field: anything JSON holds, and what it does not. */
const anything = fc.oneof(
  { weight: 4, arbitrary: fc.jsonValue() },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      Number.NaN,
      Number.POSITIVE_INFINITY,
      Number.NEGATIVE_INFINITY,
      -0,
      1e300,
      1e16,
      "1e16",
      "",
      " ",
      "\r\n",
      "__proto__",
      "constructor",
      "toString",
      undefined,
      null,
    ),
  },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 8 }).map((bytes) => Buffer.from(bytes)) },
  { weight: 1, arbitrary: fc.dictionary(fc.constantFrom("__proto__", "constructor", "LT-201", "x"), fc.jsonValue()) },
);

const COMMANDS = ["ack", "shelve", "unshelve", "reset", "suppress", "unsuppress", "out-of-service", "in-service"];

const blockMsg = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record(
      { topic: fc.oneof(fc.constantFrom("LT-201", "LT-201", "LT-999"), anything), payload: anything },
      { requiredKeys: [] },
    ),
  },
  {
    weight: 3,
    arbitrary: fc.record(
      {
        command: fc.oneof(fc.constantFrom(...COMMANDS, "status"), anything),
        alarm: fc.oneof(fc.constantFrom("LT-201-H", "LT-201-HH", "*"), anything),
        duration: fc.oneof(fc.constantFrom(1000, 60_000), anything),
        user: anything,
      },
      { requiredKeys: ["command"] },
    ),
  },
  { weight: 1, arbitrary: fc.record({ payload: fc.dictionary(fc.constantFrom("LT-201", "FT-1"), anything) }) },
);

interface Alarm {
  state: string;
  triggeredAt: string | null;
  ackedAt: string | null;
  recoveredAt: string | null;
  shelvedUntil: string | null;
}

describe("property: the block answers any msg", () => {
  it("with events or a catalogue error, never a JavaScript error; its summary matches its alarms", async () => {
    const settle = () => new Promise((resolve) => setTimeout(resolve, 1));
    await fc.assert(
      fc.asyncProperty(fc.array(blockMsg, { minLength: 1, maxLength: 8 }), async (msgs) => {
        // A fresh block for each sequence, so that a shrunk counterexample is the whole story.
        const runtime: RuntimeSettings = { alarmMail: { dataDir: tempDir("alarm-mail-prop-") } };
        helper.settings(runtime);
        const flow: FlowNode[] = [
          { id: "tab", type: "tab", label: "properties" },
          { id: "block", z: "tab", type: "alarm-mail-block", block: 1, alarms: [HIGH, HIGH_HIGH], wires: [["out"]] },
          { id: "out", z: "tab", type: "helper" },
        ];
        await helper.load([builtNode("alarm-mail-block")], flow);
        try {
          const block = helper.getNode("block");
          const errors: string[] = [];
          (block as unknown as EventEmitter).on("call:error", (call: { args: unknown[] }) => {
            const first = call.args[0];
            errors.push(first instanceof Error ? first.message : String(first));
          });
          const replies: Array<NodeMessage & { alarms?: Alarm[]; summary?: Record<string, number> }> = [];
          helper.getNode("out").on("input", (msg: NodeMessage & { event?: string }) => {
            if (msg.event === "status") replies.push(msg);
          });
          for (const msg of msgs) {
            block.receive({ ...msg } as NodeMessage);
            await settle();
          }
          block.receive({ command: "status", alarm: "*" } as NodeMessage);
          await settle();
          for (const error of errors) assert.match(error, BLOCK_ERROR);
          const reply = replies.at(-1);
          assert.ok(reply?.alarms && reply.summary, "the status command still answers");
          const alarms = reply.alarms;
          const count = (state: string) => alarms.filter((a) => a.state === state).length;
          // A state shows the strongest of an alarm's conditions (out of service, suppressed, shelved); the summary
          // counts each condition, so it holds at least what the states show.
          assert.equal(reply.summary.alarms, 2);
          assert.equal(reply.summary.outOfService, count("out-of-service"));
          assert.ok(reply.summary.suppressed >= count("suppressed"));
          assert.ok(reply.summary.shelved >= count("shelved"));
          for (const alarm of alarms) {
            for (const time of [alarm.triggeredAt, alarm.ackedAt, alarm.recoveredAt, alarm.shelvedUntil]) {
              assert.ok(time === null || !Number.isNaN(Date.parse(time)), `a date: ${time}`);
            }
          }
        } finally {
          await helper.unload();
        }
      }),
      { numRuns: 100 },
    );
  });
});

describe("property: the send node answers any msg", () => {
  const smtp = new SmtpSink({ starttls: false });
  after(() => smtp.close());

  it("delivers it or says why on output 2 with a catalogue error, never a JavaScript error", async () => {
    await smtp.listen();
    await loadMailFlow(smtp.port, { server: { maxAddresses: 5, maxAttachments: 2, maxAttachmentKB: 1 } });
    const address = fc.constantFrom("ops@plant.example", "ops@localhost", "nope", "a@b.example\r\nBcc: x@y.example");
    const attachment = fc.oneof(
      fc.record(
        { filename: fc.oneof(fc.constantFrom("a.txt", "../x", "a/b"), anything), content: anything },
        { requiredKeys: [] },
      ),
      anything,
    );
    // Mostly fields a flow would send, sometimes anything: enough mails go through to show both outcomes.
    const often = <T>(good: fc.Arbitrary<T>) =>
      fc.oneof({ weight: 4, arbitrary: good }, { weight: 1, arbitrary: anything });
    const sendMsg = fc.record(
      {
        topic: often(fc.string({ maxLength: 30 })),
        payload: often(fc.string({ maxLength: 50 })),
        to: often(fc.oneof(address, fc.array(address, { maxLength: 7 }))),
        cc: anything,
        priority: often(fc.constantFrom("high", "low", "normal")),
        attachments: often(fc.array(attachment, { maxLength: 3 })),
        alarm: often(fc.record({ priority: fc.integer({ min: 0, max: 5 }) })),
      },
      { requiredKeys: [] },
    );
    let delivered = 0;
    await fc.assert(
      fc.asyncProperty(sendMsg, async (msg) => {
        const out = await deliver({ ...msg } as NodeMessage);
        if (out.output === 1) {
          delivered++;
          return;
        }
        assert.match(String(out.msg.error?.message), MAIL_ERROR);
        assert.match(String(out.error), MAIL_ERROR);
      }),
      { numRuns: 120 },
    );
    await helper.unload();
    assert.ok(delivered > 0, "some msgs were mails");
  });
});
