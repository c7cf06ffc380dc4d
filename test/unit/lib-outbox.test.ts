import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import type { CorruptRecord } from "../../nodes/lib/common/Journal";
import { DEFAULT_LIMITS, MailComposer } from "../../nodes/lib/mail/MailComposer";
import { Outbox } from "../../nodes/lib/outbox/Outbox";
import { RateLimiter } from "../../nodes/lib/outbox/RateLimiter";
import { tempDir } from "../support/tempDir";

const composer = new MailComposer({
  from: { name: "", address: "gw@plant.example" },
  allowMsgFrom: false,
  limits: DEFAULT_LIMITS,
});
const mail = (n: number, attachment?: Buffer) =>
  composer.compose(
    undefined,
    {
      to: "op@plant.example",
      topic: `alarm ${n}`,
      payload: `value ${n}`,
      ...(attachment ? { attachments: [{ filename: "a.bin", content: attachment }] } : {}),
    },
    {},
  );
const dir = () => tempDir("alarm-mail-outbox-");
const receipt = { accepted: ["op@plant.example"], rejected: [], response: "250 ok", route: "primary" };
const dirBytes = (path: string) => readdirSync(path).reduce((sum, f) => sum + statSync(join(path, f)).size, 0);

describe("Outbox", () => {
  it("gives back after a restart what was queued, with the same Message-IDs and content", async () => {
    const path = dir();
    const outbox = await Outbox.open(path);
    const content = Buffer.from([0, 1, 2, 255]);
    const queued = [await mail(1), await mail(2, content), await mail(3)];
    for (const m of queued) await outbox.enqueue(m, { rank: 3, msgJson: JSON.stringify({ topic: m.subject }) });
    await outbox.markSent(queued[0].messageId, 1, receipt);
    await outbox.retryLater(queued[2].messageId, 1, 12345, { code: "smtp-timeout", message: "slow" });
    await outbox.close();

    const again = await Outbox.open(path);
    assert.deepEqual(
      again.pending().map((e) => e.id),
      [queued[1].messageId, queued[2].messageId],
    );
    const stored = await again.load(queued[1].messageId);
    assert.equal(stored.mail.subject, "alarm 2");
    assert.deepEqual(stored.mail.attachments[0].content, content);
    assert.deepEqual(stored.msg, { topic: "alarm 2" });
    assert.equal(again.get(queued[2].messageId)?.attempts, 1);
    assert.equal(again.get(queued[2].messageId)?.nextAt, 12345);
    assert.deepEqual(
      again.sentLog().map((e) => e.id),
      [queued[0].messageId],
    );
    await again.close();
  });

  it("orders by rank, then age", async () => {
    const outbox = await Outbox.open(dir());
    const [a, b, c] = [await mail(1), await mail(2), await mail(3)];
    await outbox.enqueue(a, { rank: 4 });
    await outbox.enqueue(b, { rank: 1 });
    await outbox.enqueue(c, { rank: 4 });
    assert.deepEqual(
      outbox.pending().map((e) => e.id),
      [b.messageId, a.messageId, c.messageId],
    );
    await outbox.close();
  });

  it("skips a torn tail left by a power cut, and a damaged record, and keeps the rest", async () => {
    const path = dir();
    const outbox = await Outbox.open(path);
    const queued = [await mail(1), await mail(2), await mail(3)];
    for (const m of queued) await outbox.enqueue(m, { rank: 3 });
    await outbox.close();
    const [segment] = readdirSync(path);
    const file = join(path, segment);
    // Closed, the segment was cut to its records; a power cut would have left its preallocated zeros after them.
    const lines = readFileSync(file).toString("utf8").split("\n");
    // Flip one character inside the second record, and cut the third one short: a power cut in the middle of its
    // write leaves its last bytes as the zeros they were.
    lines[1] = lines[1].replace("alarm 2", "alarm 7");
    const damaged = Buffer.from(lines.join("\n"));
    damaged.fill(0, damaged.length - 40);
    writeFileSync(file, Buffer.concat([damaged, Buffer.alloc(4096)]));

    const corrupt: CorruptRecord[] = [];
    const again = await Outbox.open(path, { onCorrupt: (c) => corrupt.push(c) });
    assert.deepEqual(
      corrupt.map((c) => c.reason),
      ["checksum", "torn"],
    );
    assert.deepEqual(
      again.pending().map((e) => e.id),
      [queued[0].messageId],
    );
    // New records go to a new segment, never after the damage.
    await again.enqueue(await mail(4), { rank: 3 });
    await again.close();
    const third = await Outbox.open(path, { onCorrupt: () => undefined });
    assert.equal(third.pending().length, 2);
    await third.close();
  });

  it("compacts itself: the folder stays near the size of what is still queued", async () => {
    const path = dir();
    const outbox = await Outbox.open(path, { segmentBytes: 64 * 1024, keepSent: 10 });
    const big = Buffer.alloc(8 * 1024, 7);
    const kept: string[] = [];
    for (let i = 0; i < 300; i++) {
      const m = await mail(i, big);
      await outbox.enqueue(m, { rank: 3 });
      if (i % 50 === 0) kept.push(m.messageId);
      else await outbox.markSent(m.messageId, 1, receipt);
    }
    await outbox.close();
    const bytes = dirBytes(path);
    assert.ok(bytes < 300 * 1024, `${bytes} bytes on disk for 6 queued mails of 8 KB and 300 written`);
    const again = await Outbox.open(path, { keepSent: 10 });
    assert.deepEqual(
      again.pending().map((e) => e.id),
      kept,
    );
    for (const id of kept) assert.deepEqual((await again.load(id)).mail.attachments[0].content, big);
    assert.equal(again.sentLog().length, 10);
    await again.close();
  });

  it("a start whose records are all live rewrites nothing, however many segments they fill", async () => {
    const path = dir();
    const outbox = await Outbox.open(path, { segmentBytes: 8 * 1024 });
    const mails = await Promise.all(Array.from({ length: 200 }, (_, i) => mail(i, Buffer.alloc(1024, i))));
    for (const m of mails) await outbox.enqueue(m, { rank: 3 });
    await outbox.close();
    const files = () =>
      readdirSync(path)
        .sort()
        .map((name) => {
          const info = statSync(join(path, name));
          return `${name} ${info.ino} ${info.size} ${info.mtimeMs}`;
        });
    const before = files();
    assert.ok(before.length > 16, `${before.length} segments`);
    for (let start = 0; start < 2; start++) {
      const again = await Outbox.open(path, { segmentBytes: 8 * 1024 });
      assert.equal(again.pending().length, 200);
      await again.close();
    }
    assert.deepEqual(files(), before, "the same segment files, untouched");
  });

  it("closes cleanly right after a burst that filled a segment (compaction under way)", async () => {
    const unhandled: unknown[] = [];
    const record = (err: unknown) => unhandled.push(err);
    process.on("unhandledRejection", record);
    const path = dir();
    const outbox = await Outbox.open(path, { segmentBytes: 16 * 1024 });
    const mails = await Promise.all(Array.from({ length: 60 }, (_, i) => mail(i, Buffer.alloc(4096, i))));
    await Promise.all(mails.map((m) => outbox.enqueue(m, { rank: 3 })));
    for (const m of mails.slice(0, 50)) await outbox.markSent(m.messageId, 1, receipt);
    await outbox.close();
    await new Promise((resolve) => setTimeout(resolve, 100));
    process.off("unhandledRejection", record);
    assert.deepEqual(unhandled, []);
    const again = await Outbox.open(path);
    assert.equal(again.pending().length, 10);
    await again.close();
  });

  it("keeps failed mails for a resend, then drops them on purge", async () => {
    const path = dir();
    const outbox = await Outbox.open(path);
    const m = await mail(1);
    await outbox.enqueue(m, { rank: 3 });
    await outbox.markFailed(m.messageId, 1, { code: "smtp-rejected", message: "550 no such user" });
    assert.deepEqual(outbox.pending(), []);
    assert.equal(outbox.failed()[0].lastError?.code, "smtp-rejected");
    assert.equal(await outbox.resend(m.messageId), true);
    assert.equal(outbox.pending()[0].attempts, 0);
    await outbox.markFailed(m.messageId, 1, { code: "smtp-rejected", message: "550 no such user" });
    await outbox.close();
    const again = await Outbox.open(path);
    assert.equal(again.failed().length, 1);
    assert.equal(await again.purge(), 1);
    await again.close();
    const third = await Outbox.open(path);
    assert.deepEqual([third.failed().length, third.pending().length], [0, 0]);
    await third.close();
  });

  it("every mail of a burst is on disk once its enqueue resolves, even if the process never closes the outbox", async () => {
    const path = dir();
    const outbox = await Outbox.open(path);
    const mails = await Promise.all(Array.from({ length: 200 }, (_, i) => mail(i)));
    await Promise.all(mails.map((m) => outbox.enqueue(m, { rank: 3 })));
    // Simulate the crash right here: no close, the file handle is simply abandoned.
    const again = await Outbox.open(path);
    assert.equal(again.pending().length, 200);
    await again.close();
    await outbox.close();
  });
});

describe("RateLimiter", () => {
  it("waits until the oldest mail in a full window has left it", () => {
    const limiter = new RateLimiter([
      { count: 2, windowMs: 60_000 },
      { count: 3, windowMs: 3_600_000 },
    ]);
    assert.equal(limiter.delay(0), 0);
    limiter.record(0);
    limiter.record(10_000);
    assert.equal(limiter.delay(20_000), 40_000);
    limiter.record(60_000);
    assert.equal(limiter.delay(70_000), 3_600_000 - 70_000);
  });

  it("counts mails sent before a restart", () => {
    const limiter = new RateLimiter([{ count: 1, windowMs: 86_400_000 }]);
    limiter.seed([1000]);
    assert.equal(limiter.delay(2000), 86_400_000 - 1000);
  });
});
