import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after } from "node:test";

const made: string[] = [];

// One hook on the test file's root, registered when a test file first imports this module: it runs once every test and
// suite of the file has ended, after their own hooks, so a Node-RED still using a folder (a test's runtime, or one
// killed with -9 and started again on the same folder) has been stopped before its folder goes.
after(() => {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/**
 * A new empty folder under the system's temporary folder, removed when the test file ends: a test never leaves one
 * behind, whether it passes, fails or kills the process it ran.
 */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  made.push(dir);
  return dir;
}
