import type { Node, NodeAPI } from "node-red";

/**
 * The deployed node `id` when it is of `type`, else undefined. Checked rather than cast: ids come from flows and
 * admin requests, and `getNode` answers a prototype key such as `__proto__` with something that is not a node.
 */
export function deployedNode<N extends Node>(RED: NodeAPI, id: unknown, type: string): N | undefined {
  if (typeof id !== "string" || id === "") return undefined;
  const found: unknown = RED.nodes.getNode(id);
  if (typeof found !== "object" || found === null || !Object.hasOwn(found, "type")) return undefined;
  return (found as Node).type === type ? (found as N) : undefined;
}

/**
 * Whether the deployed flows hold an enabled node `id` of `type`, started or not: what a node checks at deploy about
 * the nodes it names, since nodes start in no set order.
 */
export function inFlows(RED: NodeAPI, id: unknown, type: string): boolean {
  if (typeof id !== "string" || id === "") return false;
  let found = false;
  RED.nodes.eachNode((def) => {
    if (def.id === id && def.type === type && (def as { d?: unknown }).d !== true) found = true;
  });
  return found;
}

/** Nodes built since the flows last started, waiting for them to be running. */
const starting = new Set<() => void>();
const listening = new WeakSet<object>();

/**
 * Calls `start` once the flows it was deployed with have started, when every node can receive what it sends.
 * One listener for the whole package rather than one per node: a plant may deploy dozens of blocks, and Node-RED's
 * emitter warns past ten listeners. Returns what stops the wait, for a node closed before.
 */
export function whenFlowsStart(RED: NodeAPI, start: () => void): () => void {
  starting.add(start);
  if (!listening.has(RED.events)) {
    listening.add(RED.events);
    RED.events.on("flows:started", () => {
      const ready = [...starting];
      starting.clear();
      for (const run of ready) run();
    });
  }
  return () => starting.delete(start);
}
