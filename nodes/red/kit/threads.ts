import type { NodeAPI } from "node-red";
import { MailThreads } from "../../lib/thread/MailThreads";
import { ThreadTurns, type ThreadTurn } from "../../lib/thread/ThreadTurns";
import { dataDir } from "./storage";

interface OpenStore {
  threads: Promise<MailThreads>;
  leases: number;
}

/** The turns of every send node of the runtime: two send nodes may mail the same group about one occurrence. */
const turns = new ThreadTurns();

const turnKey = (occurrence: string, group: string) => `${occurrence}\u0000${group}`;

/** A turn in a thread's queue (see ThreadTurns), taken synchronously when a msg arrives. */
export function takeThreadTurn(occurrence: string, group: string): ThreadTurn {
  return turns.take(turnKey(occurrence, group));
}

/** Waits at most `ms` for a mail to take the thread's root; true if one did. */
export function waitForThreadRoot(occurrence: string, group: string, ms: number): Promise<boolean> {
  return turns.whenStarted(turnKey(occurrence, group), ms);
}

/** A mail took the thread's root. */
export function threadRootTaken(occurrence: string, group: string): void {
  turns.started(turnKey(occurrence, group));
}

/** One thread store per data folder: every send node and inbox of the gateway shares it. */
const stores = new Map<string, OpenStore>();

function storeFor(RED: NodeAPI): { dir: string; store: OpenStore } {
  const dir = dataDir(RED, "threads");
  let store = stores.get(dir);
  if (!store) {
    store = {
      threads: MailThreads.open(dir, {
        onCorrupt: (corrupt) => RED.log.warn(RED._("alarm-mail-send.warn.thread-damaged", { ...corrupt })),
      }),
      leases: 0,
    };
    stores.set(dir, store);
  }
  return { dir, store };
}

/** The gateway's thread store, opened if need be; it stays open while a node holds a lease on it. */
export function mailThreads(RED: NodeAPI): Promise<MailThreads> {
  return storeFor(RED).store.threads;
}

/**
 * A node's hold on the thread store: the file is closed when the last node that holds it closes, so that a redeploy
 * or a stop leaves no file open behind it.
 */
export function leaseMailThreads(RED: NodeAPI): { threads: Promise<MailThreads>; release: () => Promise<void> } {
  const { dir, store } = storeFor(RED);
  store.leases += 1;
  let released = false;
  return {
    threads: store.threads,
    release: async () => {
      if (released) return;
      released = true;
      store.leases -= 1;
      if (store.leases > 0 || stores.get(dir) !== store) return;
      stores.delete(dir);
      await (await store.threads.catch(() => undefined))?.close();
    },
  };
}
