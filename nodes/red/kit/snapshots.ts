import type { Node, NodeAPI } from "node-red";
import { SnapshotFile } from "../../lib/common/SnapshotFile";
import { SnapshotState, type SnapshotFault } from "../../lib/common/SnapshotState";
import { nodeDataPath } from "./storage";

/**
 * The state file of a node, `<data>/<folder>/<node id>.json`, whose faults the node says as every node with a state
 * file does: an error `<type>.warn.<fault>` naming the file and the reason (in the log, and for a Catch node's "all
 * nodes" scope), and a red ring `status(fault)` that stays until a write works again; `mended` then shows the
 * node's own status. `faulted` lets the node forget the status it last showed, so that it is shown again then.
 */
export function nodeSnapshot(
  RED: NodeAPI,
  node: Node,
  options: {
    folder: string;
    type: string;
    status: (fault: SnapshotFault) => string;
    faulted: () => void;
    mended: () => void;
  },
): SnapshotState {
  const file = new SnapshotFile(nodeDataPath(RED, options.folder, node.id, ".json"));
  return new SnapshotState(file, {
    fault: (fault, reason) => {
      node.error(RED._(`${options.type}.warn.${fault}`, { file: file.path, reason }));
      options.faulted();
      node.status({ fill: "red", shape: "ring", text: options.status(fault) });
    },
    mended: options.mended,
  });
}
