import { homedir } from "node:os";
import { join } from "node:path";
import type { NodeAPI } from "node-red";

interface StorageSettings {
  userDir?: string;
  alarmMail?: { dataDir?: string };
}

/**
 * The folder where this package keeps what must survive a restart (the outbox, alarm states and history, traces):
 * `alarmMail.dataDir` in settings.js, or `alarm-mail/` in Node-RED's user directory.
 */
export function dataDir(RED: NodeAPI, ...parts: string[]): string {
  const settings = RED.settings as unknown as StorageSettings;
  const base = settings.alarmMail?.dataDir ?? join(settings.userDir ?? join(homedir(), ".node-red"), "alarm-mail");
  return join(base, ...parts);
}

/**
 * Where one node keeps its state in `area` (a folder, or a file with `extension`). Node-RED ids are hex, but an
 * imported flow may carry any text, which must not name a path outside the area.
 */
export function nodeDataPath(RED: NodeAPI, area: string, nodeId: string, extension = ""): string {
  return dataDir(RED, area, `${nodeId.replace(/[^\w.-]/g, "_")}${extension}`);
}
