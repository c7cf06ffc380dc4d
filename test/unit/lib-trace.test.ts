import assert from "node:assert/strict";
import { appendFileSync, existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import {
  IntervalSampler,
  nextInstant,
  operatorAction,
  parseTraceConfig,
  sampleValues,
  traceKind,
} from "../../nodes/lib/trace/TraceConfig";
import { TraceError } from "../../nodes/lib/trace/TraceError";
import { TraceLog, type SampleRow, type TraceLogOptions } from "../../nodes/lib/trace/TraceLog";
import { tempDir } from "../support/tempDir";

const folder = () => join(tempDir("alarm-mail-trace-"), "log");

/** A clock the test moves by hand. */
function clock(start = Date.UTC(2026, 0, 15, 8)) {
  let now = start;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

const options = (extra: Partial<TraceLogOptions> = {}): TraceLogOptions => ({
  kind: "samples",
  maxRows: 1000,
  maxAgeMs: 0,
  writeDelayMs: 10_000,
  ...extra,
});

const sample = (at: number, value: number): SampleRow => ({ at, topic: "LT-201", value });
const values = (log: TraceLog) => log.rows().map((row) => (row as SampleRow).value);

function folderBytes(dir: string): number {
  return readdirSync(dir).reduce((sum, name) => sum + statSync(join(dir, name)).size, 0);
}

describe("TraceLog: bounded and persisted", () => {
  it("keeps the last maxRows rows, oldest first, and drops rows older than maxAge", async () => {
    const time = clock();
    const log = await TraceLog.open(folder(), options({ maxRows: 3, maxAgeMs: 60_000, now: time.now }));
    for (let i = 1; i <= 5; i++) log.add(sample(time.now(), i));
    assert.deepEqual(values(log), [3, 4, 5]);
    time.advance(30_000);
    log.add(sample(time.now(), 6));
    time.advance(40_000);
    // Rows 3 to 5 are now 70 s old; 6 is 40 s old.
    assert.deepEqual(values(log), [6]);
    assert.equal(log.size, 1);
    await log.close();
  });

  it("rows written (close, or flush) come back after a reopen; those still waiting for their batch do not", async () => {
    const dir = folder();
    const time = clock();
    const log = await TraceLog.open(dir, options({ now: time.now }));
    log.add(sample(time.now(), 1));
    log.add(sample(time.now(), 2));
    await log.flush();
    log.add(sample(time.now(), 3));
    // A crash now: the third row waits for its batch; another process opens the folder.
    const reopened = await TraceLog.open(dir, options({ now: time.now }));
    assert.deepEqual(values(reopened), [1, 2]);
    await reopened.close();
    await log.close();
    const again = await TraceLog.open(dir, options({ now: time.now }));
    assert.deepEqual(values(again), [1, 2, 3], "close writes what waits");
    again.add(sample(time.now(), 4));
    assert.deepEqual(values(again), [1, 2, 3, 4], "numbering goes on after a reopen");
    await again.close();
    assert.deepEqual(values(await TraceLog.open(dir, options({ now: time.now }))), [1, 2, 3, 4]);
  });

  it("writes a batch on its own within writeDelayMs, in one journal line", async () => {
    const dir = folder();
    const log = await TraceLog.open(dir, options({ writeDelayMs: 20 }));
    for (let i = 0; i < 50; i++) log.add(sample(Date.now(), i));
    await new Promise((resolve) => setTimeout(resolve, 150));
    const reopened = await TraceLog.open(dir, options());
    assert.equal(reopened.size, 50);
    await reopened.close();
    await log.close();
  });

  it("applies its bounds to what it reads back, and compacts: the folder stays near twice the rows kept", async () => {
    const dir = folder();
    const time = clock();
    const open = () => TraceLog.open(dir, options({ maxRows: 50, segmentBytes: 4096, now: time.now }));
    let log = await open();
    for (let i = 0; i < 5000; i++) {
      log.add(sample(time.now(), i));
      time.advance(1000);
      if (i % 10 === 9) await log.flush();
    }
    await log.close();
    // 5000 rows of some 60 bytes were written; 50 are kept.
    assert.ok(folderBytes(dir) < 4 * 4096, `folder holds ${folderBytes(dir)} bytes`);
    log = await open();
    assert.deepEqual(
      values(log),
      Array.from({ length: 50 }, (_, i) => 4950 + i),
    );
    await log.close();
  });

  it("many restarts leave many small segments: they are folded at open", async () => {
    const dir = folder();
    for (let i = 0; i < 20; i++) {
      const log = await TraceLog.open(dir, options({ maxRows: 5 }));
      log.add(sample(Date.now(), i));
      await log.close();
    }
    const log = await TraceLog.open(dir, options({ maxRows: 5 }));
    assert.deepEqual(values(log), [15, 16, 17, 18, 19]);
    assert.ok(readdirSync(dir).length <= 3, readdirSync(dir).join(" "));
    await log.close();
  });

  it("a torn last line (power cut mid-write) is reported and skipped, the rows before it kept", async () => {
    const dir = folder();
    const log = await TraceLog.open(dir, options());
    log.add(sample(1, 1));
    await log.close();
    const [segment] = readdirSync(dir);
    appendFileSync(join(dir, segment), '0badc0de {"k":"samples","rows":[{"at"');
    const corrupt: string[] = [];
    const reopened = await TraceLog.open(dir, options({ onCorrupt: (c) => corrupt.push(c.reason) }));
    assert.deepEqual(corrupt, ["torn"]);
    assert.deepEqual(values(reopened), [1]);
    reopened.add(sample(2, 2));
    await reopened.close();
    assert.deepEqual(values(await TraceLog.open(dir, options({ onCorrupt: () => undefined }))), [1, 2]);
  });

  it("rows recorded in another shape (the mode was changed) are left out and counted", async () => {
    const dir = folder();
    const log = await TraceLog.open(dir, options());
    log.add(sample(1, 1));
    log.add(sample(2, 2));
    await log.close();
    const operator = await TraceLog.open(dir, options({ kind: "operator" }));
    assert.equal(operator.size, 0);
    assert.equal(operator.droppedOtherKind, 2);
    assert.equal(operator.kind, "operator");
    await operator.close();
  });

  it("remove deletes the folder", async () => {
    const dir = folder();
    const log = await TraceLog.open(dir, options());
    log.add(sample(1, 1));
    await log.remove();
    assert.equal(existsSync(dir), false);
  });
});

describe("TraceConfig: settings and msgs", () => {
  it("defaults and ranges", () => {
    const config = parseTraceConfig({});
    assert.deepEqual(config, {
      mode: "samples",
      sampling: "each",
      intervalMs: 10_000,
      maxRows: 10_000,
      maxAgeMs: 7 * 86_400_000,
    });
    assert.equal(traceKind(config), "samples");
    assert.equal(traceKind(parseTraceConfig({ sampling: "interval", interval: "5" })), "interval");
    assert.equal(traceKind(parseTraceConfig({ mode: "operator", sampling: "interval" })), "operator");
    assert.equal(parseTraceConfig({ maxAge: 0 }).maxAgeMs, 0);
    assert.equal(parseTraceConfig({ maxAge: "12", maxAgeUnit: "hours" }).maxAgeMs, 12 * 3_600_000);
    for (const raw of [{ mode: "audit" }, { interval: 0 }, { maxRows: 1.5 }, { maxAge: -1 }, { maxAgeUnit: "weeks" }]) {
      assert.throws(
        () => parseTraceConfig(raw),
        (err: unknown) => err instanceof TraceError && err.code === "trace-config-invalid",
        JSON.stringify(raw),
      );
    }
  });

  it("samples: topic + payload, or an object of topic → value; bad values and a missing topic refused", () => {
    assert.deepEqual(sampleValues("LT-201", 6.5), [["LT-201", 6.5]]);
    assert.deepEqual(sampleValues(undefined, { a: 1, b: "run", c: true, d: null }), [
      ["a", 1],
      ["b", "run"],
      ["c", true],
      ["d", null],
    ]);
    const refused = (topic: unknown, payload: unknown, code: string) =>
      assert.throws(
        () => sampleValues(topic, payload),
        (err: unknown) => err instanceof TraceError && err.code === code,
      );
    refused(undefined, 1, "trace-topic-missing");
    refused(" ", 1, "trace-topic-missing");
    refused("a", Number.NaN, "trace-value-invalid");
    refused("a", [1, 2], "trace-value-invalid");
    refused("a", Buffer.from("x"), "trace-value-invalid");
    refused(undefined, { a: { nested: 1 } }, "trace-value-invalid");
  });

  it("operator actions: user, control (or topic), previous and new value", () => {
    assert.deepEqual(operatorAction({ user: " jean ", control: "SP-201", previous: 6, payload: 6.5 }), {
      user: "jean",
      control: "SP-201",
      previous: 6,
      value: 6.5,
    });
    assert.deepEqual(operatorAction({ topic: "Pump 2", payload: "start" }), {
      user: null,
      control: "Pump 2",
      previous: null,
      value: "start",
    });
    assert.throws(
      () => operatorAction({ payload: 1 }),
      (err: unknown) => err instanceof TraceError && err.code === "trace-control-missing",
    );
  });

  it("interval sampling: the last value of each topic at each instant, round instants, seeded after a restart", () => {
    const sampler = new IntervalSampler();
    assert.equal(sampler.take(10_000), undefined, "no row before a value");
    sampler.update("a", 1);
    sampler.update("b", 2);
    sampler.update("a", 3);
    assert.deepEqual(sampler.take(10_000), { at: 10_000, values: { a: 3, b: 2 } });
    const seeded = new IntervalSampler({ at: 10_000, values: { a: 3, b: 2 } });
    seeded.update("b", 4);
    assert.deepEqual(seeded.take(20_000), { at: 20_000, values: { a: 3, b: 4 } });
    assert.equal(nextInstant(12_345, 10_000), 20_000);
    assert.equal(nextInstant(20_000, 10_000), 30_000);
  });
});
