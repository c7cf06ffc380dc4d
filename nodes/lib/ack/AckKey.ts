import { randomBytes } from "node:crypto";
import { chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";

const KEY_BYTES = 32;

/**
 * The key that signs this gateway's acknowledge links: 32 random bytes in `<dir>/.key`, made at first use and
 * readable by the owner only (0600), as the token store keeps its own key. It is not derived from Node-RED's
 * credentialSecret: gateways of a fleet often share their flows and that secret, and a link mailed by one gateway
 * must not acknowledge anything on another. Deleting the file revokes every link sent so far.
 */
export async function loadAckKey(dir: string): Promise<Buffer> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const path = join(dir, ".key");
  const existing = await readKey(path);
  if (existing) return existing;
  // "wx": two runtimes starting at once on the same folder keep whichever key was written first.
  await writeFile(path, randomBytes(KEY_BYTES), { mode: 0o600, flag: "wx" }).catch((err: unknown) => {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
  });
  await chmod(path, 0o600);
  const made = await readKey(path);
  if (!made) throw new Error(`${path}: not a key of ${KEY_BYTES} bytes`);
  return made;
}

async function readKey(path: string): Promise<Buffer | undefined> {
  let key: Buffer;
  try {
    key = await readFile(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
  if (key.length !== KEY_BYTES) throw new Error(`${path}: not a key of ${KEY_BYTES} bytes`);
  return key;
}
