import type { ChildProcess } from "node:child_process";

/** The processes a test started that are still running, each with how to end it at once. */
const running = new Map<ChildProcess, () => void>();

function killAll(): void {
  for (const kill of running.values()) kill();
  running.clear();
}

let listening = false;

/**
 * Makes sure a process a test starts (a Node-RED, a Dovecot, `npm start`) does not outlive the test run, even when a
 * test fails before its after() hook or the runner is stopped. One listener per event for the whole run, whatever the
 * number of processes: one per process would pass Node's limit of 10 listeners and keep every ended process's
 * listener until the run ends.
 */
export function killOnExit(child: ChildProcess, kill: () => void = () => child.kill("SIGKILL")): void {
  if (!listening) {
    listening = true;
    process.on("exit", killAll);
    for (const signal of ["SIGINT", "SIGTERM"] as const) {
      process.on(signal, () => {
        killAll();
        process.exit(1);
      });
    }
  }
  running.set(child, kill);
  child.once("exit", () => running.delete(child));
}
