import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, it, mock } from "node:test";
import { Throttle } from "../../nodes/lib/common/Throttle";

describe("Throttle: a status built at most once an interval", () => {
  let clock = 0;
  beforeEach(() => {
    clock = 0;
    mock.timers.enable({ apis: ["setTimeout"] });
  });
  afterEach(() => mock.timers.reset());
  const tick = (ms: number) => {
    clock += ms;
    mock.timers.tick(ms);
  };

  it("runs the first request at once and folds the rest of the interval into one run at its end", () => {
    let runs = 0;
    const throttle = new Throttle(
      () => (runs += 1),
      250,
      () => clock,
    );
    throttle.request();
    assert.equal(runs, 1);
    for (let i = 0; i < 1000; i++) throttle.request();
    tick(100);
    throttle.request();
    assert.equal(runs, 1, "nothing more within the interval");
    tick(150);
    assert.equal(runs, 2, "one run at the end of the interval, for the last state");
    tick(1000);
    assert.equal(runs, 2, "no run without a request");
    throttle.request();
    assert.equal(runs, 3, "after a quiet interval, at once again");
  });

  it("a cancelled run does not happen", () => {
    let runs = 0;
    const throttle = new Throttle(
      () => (runs += 1),
      250,
      () => clock,
    );
    throttle.request();
    throttle.request();
    throttle.cancel();
    tick(1000);
    assert.equal(runs, 1);
  });
});
