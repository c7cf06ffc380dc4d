import type { Node, NodeAPI } from "node-red";
import { describeError } from "./i18n";

/**
 * The statuses every node shares, as catalogue keys of the server's catalogue (shared by the whole package): the
 * editor shows a status text that is a key in the editor's language. A status says what is wrong in a few words; the
 * detail is in the log, the debug sidebar and the msg.
 */
export const STATUS = {
  /** The node cannot work with its settings: fix them and deploy. */
  config: "@alarm-mail/node-red/alarm-mail-server:alarm-mail-server.status.config",
  /** A msg the node could not handle. */
  failed: "@alarm-mail/node-red/alarm-mail-server:alarm-mail-server.status.failed",
} as const;

/** Node-RED gives a closing node 15 s before it complains; our close work must end within that. */
export const CLOSE_BUDGET_MS = 14_000;

/**
 * Waits for a node's close work, but no longer than Node-RED's budget: a disk that hangs must not hold a redeploy.
 * Whatever the work left undone is reported by the work itself.
 */
export async function closeWithinBudget(work: Promise<unknown>): Promise<void> {
  let budget: NodeJS.Timeout | undefined;
  await Promise.race([
    work.then(
      () => undefined,
      () => undefined,
    ),
    new Promise<void>((resolve) => (budget = setTimeout(resolve, CLOSE_BUDGET_MS))),
  ]);
  clearTimeout(budget);
}

/**
 * A configuration the node cannot work with, said once at deploy: a `node.error` in the runtime's language and,
 * for a flow node, a red status in a few words. The node keeps the error and answers every msg with it.
 */
export function reportConfigError(RED: NodeAPI, node: Node, err: unknown, options: { status: boolean }): Error {
  const error = err instanceof Error ? err : new Error(String(err));
  const message = describeError(RED, error);
  node.error(message);
  if (options.status) node.status({ fill: "red", shape: "ring", text: STATUS.config });
  return error;
}

/**
 * A msg the node could not handle: its `done(err)` with the reason in the runtime's language (a Catch node and the
 * debug sidebar see it) and a short red status. Returns the words, for a node that also reports them elsewhere.
 */
export function failMessage(RED: NodeAPI, node: Node, done: (err?: Error) => void, err: unknown): string {
  const message = describeError(RED, err);
  node.status({ fill: "red", shape: "ring", text: STATUS.failed });
  done(new Error(message));
  return message;
}
