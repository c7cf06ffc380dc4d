import { createCipheriv, createDecipheriv, randomBytes, scryptSync } from "node:crypto";
import { chmod, mkdir, readFile, rename, unlink, writeFile, open } from "node:fs/promises";
import { join } from "node:path";
import type { TokenSet } from "./OAuthClient";

/** What is kept of a sign-in: the tokens, and who signed in, for the dialog. */
export interface StoredTokens extends TokenSet {
  account?: string;
  signedInAt: number;
  /** A digest of the pasted refresh token these tokens descend from, to notice when the user pastes another. */
  seed?: string;
}

interface Sealed {
  v: 1;
  iv: string;
  tag: string;
  data: string;
}

/**
 * Tokens that change at runtime (Microsoft rotates the refresh token at every use) cannot go back into Node-RED's
 * credentials, so they live here: one file per server node, AES-256-GCM with a key derived from Node-RED's
 * credentialSecret, or from a random key file only the owner can read. Written atomically, so a power cut leaves
 * either the old tokens or the new ones.
 */
export class TokenStore {
  private constructor(
    private readonly dir: string,
    private readonly key: Buffer,
  ) {}

  static async open(dir: string, secret?: string): Promise<TokenStore> {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const material = secret ?? (await keyFile(join(dir, ".key")));
    return new TokenStore(dir, scryptSync(material, "alarm-mail token store", 32));
  }

  async load(id: string): Promise<StoredTokens | undefined> {
    let sealed: Sealed;
    try {
      sealed = JSON.parse(await readFile(this.file(id), "utf8")) as Sealed;
    } catch {
      return undefined;
    }
    try {
      const decipher = createDecipheriv("aes-256-gcm", this.key, Buffer.from(sealed.iv, "base64"));
      decipher.setAuthTag(Buffer.from(sealed.tag, "base64"));
      const plain = Buffer.concat([decipher.update(Buffer.from(sealed.data, "base64")), decipher.final()]);
      return JSON.parse(plain.toString("utf8")) as StoredTokens;
    } catch {
      // Another key (a changed credentialSecret) or a damaged file: the same as not signed in.
      return undefined;
    }
  }

  async save(id: string, tokens: StoredTokens): Promise<void> {
    const iv = randomBytes(12);
    const cipher = createCipheriv("aes-256-gcm", this.key, iv);
    const data = Buffer.concat([cipher.update(JSON.stringify(tokens), "utf8"), cipher.final()]);
    const sealed: Sealed = {
      v: 1,
      iv: iv.toString("base64"),
      tag: cipher.getAuthTag().toString("base64"),
      data: data.toString("base64"),
    };
    const temp = `${this.file(id)}.${process.pid}.tmp`;
    const handle = await open(temp, "w", 0o600);
    try {
      await handle.writeFile(JSON.stringify(sealed));
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, this.file(id));
  }

  async remove(id: string): Promise<void> {
    await unlink(this.file(id)).catch(() => undefined);
  }

  private file(id: string): string {
    return join(this.dir, `${id.replace(/[^\w.-]/g, "_")}.json`);
  }
}

async function keyFile(path: string): Promise<string> {
  try {
    return (await readFile(path)).toString("base64");
  } catch {
    const key = randomBytes(32);
    await writeFile(path, key, { mode: 0o600, flag: "wx" }).catch(async () => undefined);
    await chmod(path, 0o600).catch(() => undefined);
    return (await readFile(path)).toString("base64");
  }
}
