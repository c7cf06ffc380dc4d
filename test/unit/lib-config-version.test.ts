import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { AlarmError } from "../../nodes/lib/alarm/AlarmError";
import { migrateBlockConfig } from "../../nodes/lib/alarm/BlockConfig";
import { migrateConfig, type VersionRefusals } from "../../nodes/lib/common/ConfigVersion";
import { InboxError } from "../../nodes/lib/inbox/InboxError";
import { migrateInboxConfig } from "../../nodes/lib/inbox/InboxSettings";

/** Refusals that say which one was chosen and with what, as a node's catalogue would. */
class Refused extends Error {
  constructor(
    readonly kind: "newer" | "invalid",
    readonly params: Record<string, unknown>,
  ) {
    super(kind);
  }
}
const refuse: VersionRefusals = {
  newer: (params) => new Refused("newer", params),
  invalid: (params) => new Refused("invalid", params),
};

type Config = { version?: unknown; steps?: string[] };
// Version 3 of a made-up node: each migration leaves its mark, so the test sees which ran and in what order.
const migrations = [
  (config: Config) => ({ ...config, steps: [...(config.steps ?? []), "1→2"] }),
  (config: Config) => ({ ...config, steps: [...(config.steps ?? []), "2→3"] }),
];
const migrate = (version: unknown) => migrateConfig<Config>({ version }, 3, migrations, refuse);
const refusal = (version: unknown): Refused => {
  try {
    migrate(version);
  } catch (err) {
    if (err instanceof Refused) return err;
    throw err;
  }
  assert.fail(`version ${JSON.stringify(version)} was taken`);
};

describe("migrateConfig: a node config's version", () => {
  it("takes no version as the first, and runs the migrations from the version saved", () => {
    assert.deepEqual(migrate(undefined), { version: 3, steps: ["1→2", "2→3"] });
    assert.deepEqual(migrate(""), { version: 3, steps: ["1→2", "2→3"] }, "an empty field is no version");
    assert.deepEqual(migrate(2), { version: 3, steps: ["2→3"] });
    assert.deepEqual(migrate("2"), { version: 3, steps: ["2→3"] }, "as a string of digits");
    assert.deepEqual(migrate(3), { version: 3 });
  });

  it("says a whole number above the current version was saved by a newer package", () => {
    for (const version of [4, "4", 1000]) {
      const err = refusal(version);
      assert.equal(err.kind, "newer", `version ${JSON.stringify(version)}`);
      assert.deepEqual(err.params, { version: String(version), supported: 3 });
    }
  });

  it("calls anything else an invalid setting, not a newer version, showing what it holds", () => {
    const cases: Array<[unknown, string]> = [
      ["x", "x"],
      [0, "0"],
      [-1, "-1"],
      [2.5, "2.5"],
      ["2.5", "2.5"],
      ["-1", "-1"],
      [" 2", " 2"],
      ["0x4", "0x4"],
      [null, "null"],
      [true, "true"],
      [{ major: 4 }, '{"major":4}'],
      [[4], "[4]"],
      [Number.NaN, "null"],
      [Number.POSITIVE_INFINITY, "null"],
      [1e21, "1e+21"],
      ["a".repeat(100), `${"a".repeat(39)}…`],
    ];
    for (const [version, shown] of cases) {
      const err = refusal(version);
      assert.equal(err.kind, "invalid", `version ${JSON.stringify(version)}`);
      assert.deepEqual(err.params, { field: "version", value: shown });
    }
  });
});

describe("the versioned nodes refuse a version in their own words", () => {
  it("alarm-mail-block: config-version for a newer one, block-config-invalid for a malformed one", () => {
    const config = { block: 1, alarms: [] };
    assert.throws(
      () => migrateBlockConfig({ ...config, version: 2 }),
      (err: unknown) => err instanceof AlarmError && err.code === "config-version" && err.params.version === "2",
    );
    for (const version of ["x", 0, -1, 2.5, null, {}]) {
      assert.throws(
        () => migrateBlockConfig({ ...config, version }),
        (err: unknown) =>
          err instanceof AlarmError && err.code === "block-config-invalid" && err.params.field === "version",
      );
    }
  });

  it("alarm-mail-inbox: config-version for a newer one, config-invalid for a malformed one", () => {
    assert.throws(
      () => migrateInboxConfig({ host: "h", version: 3 }),
      (err: unknown) => err instanceof InboxError && err.code === "config-version" && err.params.version === "3",
    );
    for (const version of ["x", 0, -1, 2.5, null, {}]) {
      assert.throws(
        () => migrateInboxConfig({ host: "h", version }),
        (err: unknown) => err instanceof InboxError && err.code === "config-invalid" && err.params.field === "version",
      );
    }
  });
});
