import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, it, mock } from "node:test";
import { DeadlineTimer, MAX_TIMER_MS } from "../../nodes/lib/common/DeadlineTimer";

describe("DeadlineTimer: one timer for an engine's next deadline", () => {
  let clock = 0;
  let fired: number[] = [];
  const timer = () =>
    new DeadlineTimer(
      () => fired.push(clock),
      () => clock,
    );
  beforeEach(() => {
    clock = 1_000_000;
    fired = [];
    mock.timers.enable({ apis: ["setTimeout"] });
  });
  afterEach(() => mock.timers.reset());
  const tick = (ms: number) => {
    clock += ms;
    mock.timers.tick(ms);
  };

  it("calls its owner when the deadline comes, and not before", () => {
    const deadline = timer();
    deadline.arm(clock + 500);
    tick(499);
    assert.deepEqual(fired, []);
    tick(1);
    assert.deepEqual(fired, [1_000_500]);
    tick(10_000);
    assert.equal(fired.length, 1, "once: it waits again only when armed again");
  });

  it("a deadline that has passed is due at once", () => {
    timer().arm(clock - 60_000);
    tick(0);
    assert.deepEqual(fired, [1_000_000]);
  });

  it("armed again for the deadline it waits for, it keeps its timer rather than start a new wait", () => {
    const deadline = timer();
    const due = clock + 1000;
    deadline.arm(due);
    // The wall clock jumps 600 ms (a time sync) while the timer has waited none: a new wait would be 400 ms from here.
    clock += 600;
    deadline.arm(due);
    mock.timers.tick(400);
    assert.deepEqual(fired, [], "the first wait still runs");
    mock.timers.tick(600);
    assert.equal(fired.length, 1);
  });

  it("an earlier deadline replaces the later one; none at all stops the wait", () => {
    const deadline = timer();
    deadline.arm(clock + 5000);
    deadline.arm(clock + 100);
    tick(100);
    assert.deepEqual(fired, [1_000_100]);
    deadline.arm(clock + 100);
    deadline.arm(undefined);
    tick(10_000);
    assert.equal(fired.length, 1);
  });

  it("a cancelled wait does not fire, and the same deadline can be armed again after it", () => {
    const deadline = timer();
    deadline.arm(clock + 100);
    deadline.cancel();
    tick(1000);
    assert.deepEqual(fired, []);
    deadline.arm(clock + 100);
    tick(100);
    assert.equal(fired.length, 1);
  });

  it("a deadline beyond what setTimeout can wait wakes the owner at the longest wait, never at once", () => {
    const deadline = timer();
    const start = clock;
    const due = start + 40 * 24 * 3600 * 1000;
    deadline.arm(due);
    tick(MAX_TIMER_MS - 1);
    assert.deepEqual(fired, []);
    tick(1);
    assert.deepEqual(fired, [start + MAX_TIMER_MS], "woken at the longest wait, to arm again");
    deadline.arm(due);
    tick(due - clock);
    assert.deepEqual(fired, [start + MAX_TIMER_MS, due], "then the rest of the wait");
  });
});
