import type { NodeAPI } from "node-red";
import { dataDirChoice, lostOnRestart } from "../kit/storage";

/**
 * Says in the log, once when the package loads, where the outbox and the other state are kept, and warns when that
 * folder is one the platform wipes at a restart (outside FlowFuse's storage folder), where queued mails would be lost.
 */
export function announceDataDir(RED: NodeAPI): void {
  const choice = dataDirChoice(RED);
  RED.log.info(RED._("alarm-mail-server.storage.dataDir", { dir: choice.dir }));
  if (choice.persistentRoot && lostOnRestart(choice)) {
    RED.log.warn(RED._("alarm-mail-server.storage.lostOnRestart", { dir: choice.dir, storage: choice.persistentRoot }));
  }
}
