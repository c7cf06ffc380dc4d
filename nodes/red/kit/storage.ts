import { homedir } from "node:os";
import { isAbsolute, join, relative, resolve, sep } from "node:path";
import type { NodeAPI } from "node-red";

/**
 * The settings.js property that names the data folder. Node-RED wants a node's settings named after its type and
 * registered with it: alarm-mail-server registers this one.
 */
export const DATA_DIR_SETTING = "alarmMailServerDataDir";

interface StorageSettings {
  userDir?: string;
  alarmMailServerDataDir?: string;
  /** The name this setting had before it was registered; still read, so that an existing settings.js keeps working. */
  alarmMail?: { dataDir?: string };
}

/** Where the data folder is, and why there. */
export interface DataDirChoice {
  dir: string;
  source: "setting" | "legacy-setting" | "flowfuse" | "user-dir";
  /**
   * The folder that survives a restart when the platform is known to wipe everything else (FlowFuse's storage
   * folder), or undefined where nothing is known to be wiped.
   */
  persistentRoot?: string;
}

/**
 * FlowFuse sets FF_INSTANCE_ID for every Node-RED it runs. A hosted instance runs in a container that keeps only the
 * `storage` folder of its user directory across restarts (the files of FlowFuse's own file nodes and its logs live
 * there); a device (FF_DEVICE_ID set too) runs on the device's own disk, which keeps the whole user directory.
 */
export function flowFuseStorage(env: NodeJS.ProcessEnv, userDir: string): string | undefined {
  if (!env.FF_INSTANCE_ID || env.FF_DEVICE_ID) return undefined;
  return join(userDir, "storage");
}

/**
 * The folder where this package keeps what must survive a restart (the outbox, alarm states and history, traces):
 * `alarmMailServerDataDir` in settings.js (a relative path is taken from the user directory); else the old `alarmMail.dataDir`; else, in a FlowFuse hosted instance,
 * `alarm-mail/` in its storage folder; else `alarm-mail/` in Node-RED's user directory.
 */
export function chooseDataDir(settings: StorageSettings, env: NodeJS.ProcessEnv): DataDirChoice {
  const userDir = settings.userDir ?? join(homedir(), ".node-red");
  const persistentRoot = flowFuseStorage(env, userDir);
  const named = settings.alarmMailServerDataDir;
  if (typeof named === "string" && named.trim() !== "") {
    return { dir: resolve(userDir, named), source: "setting", persistentRoot };
  }
  const legacy = settings.alarmMail?.dataDir;
  if (typeof legacy === "string" && legacy.trim() !== "") {
    // As this setting always did: a relative path from the working directory.
    return { dir: resolve(legacy), source: "legacy-setting", persistentRoot };
  }
  if (persistentRoot) return { dir: join(persistentRoot, "alarm-mail"), source: "flowfuse", persistentRoot };
  return { dir: join(userDir, "alarm-mail"), source: "user-dir" };
}

/** Whether the chosen folder lies outside the only folder the platform keeps, so that a restart loses it. */
export function lostOnRestart(choice: DataDirChoice): boolean {
  if (!choice.persistentRoot) return false;
  const inside = relative(choice.persistentRoot, choice.dir);
  return inside === ".." || inside.startsWith(`..${sep}`) || isAbsolute(inside);
}

export function dataDirChoice(RED: NodeAPI): DataDirChoice {
  return chooseDataDir(RED.settings as unknown as StorageSettings, process.env);
}

export function dataDir(RED: NodeAPI, ...parts: string[]): string {
  return join(dataDirChoice(RED).dir, ...parts);
}

/**
 * Where one node keeps its state in `area` (a folder, or a file with `extension`). Node-RED ids are hex, but an
 * imported flow may carry any text, which must not name a path outside the area.
 */
export function nodeDataPath(RED: NodeAPI, area: string, nodeId: string, extension = ""): string {
  return dataDir(RED, area, `${nodeId.replace(/[^\w.-]/g, "_")}${extension}`);
}
