import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { chooseDataDir, lostOnRestart } from "../../nodes/red/kit/storage";

const FLOWFUSE = { FF_INSTANCE_ID: "0f1e2d3c" };

describe("the data folder", () => {
  it("is alarm-mail/ in the user directory by default", () => {
    assert.deepEqual(chooseDataDir({ userDir: "/home/pi/.node-red" }, {}), {
      dir: "/home/pi/.node-red/alarm-mail",
      source: "user-dir",
    });
  });

  it("is the registered setting, a relative one taken from the user directory", () => {
    const choice = chooseDataDir({ userDir: "/srv/nr", alarmMailServerDataDir: "data/mail" }, {});
    assert.equal(choice.dir, "/srv/nr/data/mail");
    assert.equal(choice.source, "setting");
    assert.equal(chooseDataDir({ userDir: "/srv/nr", alarmMailServerDataDir: "/var/lib/am" }, {}).dir, "/var/lib/am");
  });

  it("still follows the old alarmMail.dataDir, below the registered setting", () => {
    assert.equal(chooseDataDir({ userDir: "/srv/nr", alarmMail: { dataDir: "/data/am" } }, {}).dir, "/data/am");
    const both = { userDir: "/srv/nr", alarmMailServerDataDir: "/new", alarmMail: { dataDir: "/old" } };
    assert.equal(chooseDataDir(both, {}).dir, "/new");
  });

  it("is in FlowFuse's storage folder in a hosted instance, and on a FlowFuse device stays in the user directory", () => {
    const hosted = chooseDataDir({ userDir: "/data" }, FLOWFUSE);
    assert.deepEqual(hosted, { dir: "/data/storage/alarm-mail", source: "flowfuse", persistentRoot: "/data/storage" });
    assert.equal(lostOnRestart(hosted), false);
    const device = chooseDataDir({ userDir: "/opt/flowfuse-device" }, { ...FLOWFUSE, FF_DEVICE_ID: "d1" });
    assert.equal(device.dir, "/opt/flowfuse-device/alarm-mail");
    assert.equal(lostOnRestart(device), false);
  });

  it("is known to be lost on restart when set outside FlowFuse's storage folder", () => {
    for (const [setting, lost] of [
      ["/data/alarm-mail", true],
      ["/data/storage-old/mail", true],
      ["/tmp/mail", true],
      ["/data/storage", false],
      ["/data/storage/mail", false],
      ["storage/mail", false],
    ] as const) {
      const choice = chooseDataDir({ userDir: "/data", alarmMailServerDataDir: setting }, FLOWFUSE);
      assert.equal(lostOnRestart(choice), lost, setting);
    }
  });
});
