import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { eventOrderOf, OccurrenceChains, type EventOrder } from "../../nodes/lib/outbox/EventOrder";

const at = (iso: string) => Date.parse(iso);
const alarm = {
  id: "LT-201-H",
  block: "B1",
  triggeredAt: "2026-12-06T10:00:00.000Z",
  ackedAt: "2026-12-06T10:00:05.000Z",
  recoveredAt: "2026-12-06T10:00:03.000Z",
};

describe("eventOrderOf", () => {
  it("orders a block's trigger, ack and recovery by their own times, per send node and occurrence", () => {
    const trigger = eventOrderOf({ event: "trigger", alarm }, "send1", true);
    const recovery = eventOrderOf({ event: "recovery", alarm }, "send1", true);
    const ack = eventOrderOf({ event: "ack", alarm }, "send1", true);
    assert.deepEqual(trigger, {
      key: "send1 B1/LT-201-H/" + at(alarm.triggeredAt),
      at: at(alarm.triggeredAt),
      step: 0,
      expectsEarlier: false,
    });
    assert.equal(recovery?.at, at(alarm.recoveredAt));
    assert.equal(ack?.at, at(alarm.ackedAt));
    assert.equal(ack?.expectsEarlier, true);
    assert.equal(eventOrderOf({ event: "ack", alarm }, "send1", false)?.expectsEarlier, false);
    assert.notEqual(eventOrderOf({ event: "ack", alarm }, "send2", true)?.key, ack?.key);
    assert.equal(eventOrderOf({ event: "ack", alarm: { ...alarm, occurrence: "occ-7" } }, "s", true)?.key, "s occ-7");
  });

  it("places an escalation node's reminders and escalations by msg.escalation.at, before an ack of the same instant", () => {
    const occurrence = { ...alarm, occurrence: "occ-7" };
    const remindAt = at("2026-12-06T10:00:04.000Z");
    const reminder = eventOrderOf(
      { event: "reminder", alarm: occurrence, escalation: { level: 1, attempt: 2, recipients: "ops", at: remindAt } },
      "s",
      true,
    );
    // Its trigger was raised a level's delay earlier: it waits behind it in the queue, never for it to come.
    assert.deepEqual(reminder, { key: "s occ-7", at: remindAt, step: 0.5, expectsEarlier: false });
    const escalation = eventOrderOf(
      { event: "escalation", alarm: occurrence, escalation: { at: remindAt } },
      "s",
      true,
    );
    assert.equal(escalation?.at, remindAt);
    const ack = eventOrderOf({ event: "ack", alarm: occurrence }, "s", true);
    const sameInstant = eventOrderOf({ event: "reminder", alarm: occurrence, escalation: { at: ack?.at } }, "s", true);
    const chains = new OccurrenceChains();
    chains.add("ack", ack as EventOrder);
    chains.add("reminder", sameInstant as EventOrder);
    chains.add("trigger", eventOrderOf({ event: "trigger", alarm: occurrence }, "s", true) as EventOrder);
    assert.equal(chains.releaseAt("reminder", sameInstant as EventOrder, 0), Infinity, "after the trigger");
    chains.remove("trigger", eventOrderOf({ event: "trigger", alarm: occurrence }, "s", true) as EventOrder);
    assert.equal(chains.releaseAt("reminder", sameInstant as EventOrder, 0), 0, "then the reminder");
    assert.equal(chains.releaseAt("ack", ack as EventOrder, 0), Infinity, "and the ack only after it");
    // A reminder from elsewhere, without the time it was raised, is mailed as before: unordered.
    assert.equal(eventOrderOf({ event: "reminder", alarm: occurrence }, "s", true), undefined);
    assert.equal(
      eventOrderOf({ event: "reminder", alarm: occurrence, escalation: { at: "soon" } }, "s", true),
      undefined,
    );
  });

  it("leaves msgs that are not an occurrence's events unordered", () => {
    assert.equal(eventOrderOf({ topic: "report" }, "s", true), undefined);
    assert.equal(eventOrderOf({ event: "shelve", alarm }, "s", true), undefined);
    assert.equal(eventOrderOf({ event: "trigger", alarm: "LT-201" }, "s", true), undefined);
    assert.equal(eventOrderOf({ event: "trigger", alarm: { ...alarm, triggeredAt: null } }, "s", true), undefined);
    assert.equal(eventOrderOf({ event: "toString", alarm }, "s", true), undefined);
  });
});

describe("OccurrenceChains", () => {
  it("lets only the earliest queued mail of an occurrence go, whatever order they were queued in", () => {
    const event = fc.record({ occurrence: fc.integer({ min: 0, max: 3 }), at: fc.integer({ min: 0, max: 5 }) });
    fc.assert(
      fc.property(fc.array(event, { maxLength: 30 }), (events) => {
        const chains = new OccurrenceChains();
        const orders = events.map((e, i): [string, EventOrder] => [
          `m${i}`,
          { key: `o${e.occurrence}`, at: e.at, step: i, expectsEarlier: false },
        ]);
        for (const [id, order] of orders) chains.add(id, order);
        const left = new Map(orders);
        while (left.size > 0) {
          const free = [...left].filter(([id, order]) => chains.releaseAt(id, order, 0) === 0);
          assert.equal(free.length, new Set([...left.values()].map((o) => o.key)).size, "one free mail per occurrence");
          for (const [id, order] of free) {
            for (const other of left.values()) {
              if (other.key === order.key)
                assert.ok(other.at > order.at || (other.at === order.at && other.step >= order.step));
            }
            chains.remove(id, order);
            chains.countDelivered(order, 1);
            left.delete(id);
          }
        }
      }),
    );
  });

  it("holds a later event whose occurrence was never seen until the wait ends, not once an earlier one went", () => {
    const chains = new OccurrenceChains();
    const ack: EventOrder = { key: "k", at: 5, step: 1, expectsEarlier: true };
    chains.add("ack", ack);
    assert.equal(chains.releaseAt("ack", ack, 30_000), 30_000);
    const trigger: EventOrder = { key: "k", at: 1, step: 0, expectsEarlier: false };
    chains.add("trigger", trigger);
    assert.equal(chains.releaseAt("ack", ack, 30_000), Infinity);
    assert.equal(chains.releaseAt("trigger", trigger, 30_000), 0);
    chains.remove("trigger", trigger);
    chains.countDelivered(trigger, 1);
    assert.equal(chains.releaseAt("ack", ack, 30_000), 0);
  });
});
