import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { createServer } from "node:net";
import { join } from "node:path";
import { killOnExit } from "./children";
import { tempDir } from "./tempDir";

const root = join(__dirname, "..", "..");
const requireHere = createRequire(__filename);
// bcryptjs is what Node-RED's admin API checks passwords with; take the one it depends on.
const bcrypt = createRequire(requireHere.resolve("@node-red/editor-api/package.json"))("bcryptjs") as {
  hashSync(password: string, rounds: number): string;
};

export interface NodeRedOptions {
  /** Reuse a user directory, to restart the same Node-RED; a new temporary one by default. */
  userDir?: string;
  /** Turn admin authentication on, with an "admin" (all permissions) and a "viewer" (read only) user. */
  adminAuth?: boolean;
  lang?: string;
  /** More settings.js properties, such as the package's own. */
  settings?: Record<string, unknown>;
  /** More environment variables for the runtime, such as those a hosting platform sets. */
  env?: Record<string, string>;
}

export const USERS = { admin: "admin-Pa55", viewer: "viewer-Pa55" } as const;

/**
 * A real Node-RED, started from the dev dependency as its own process with this package installed in its user
 * directory, as a user would run it.
 */
export class NodeRedProcess {
  output = "";
  private exited: Promise<number | null>;

  private constructor(
    readonly url: string,
    readonly userDir: string,
    private readonly child: ChildProcess,
    private readonly options: NodeRedOptions,
  ) {
    child.stdout?.on("data", (d: Buffer) => (this.output += d.toString()));
    child.stderr?.on("data", (d: Buffer) => (this.output += d.toString()));
    this.exited = new Promise((resolve) => child.once("exit", (code) => resolve(code)));
  }

  static async start(options: NodeRedOptions = {}): Promise<NodeRedProcess> {
    const userDir = options.userDir ?? tempDir("alarm-mail-nr-");
    const modules = join(userDir, "node_modules", "@alarm-mail");
    mkdirSync(modules, { recursive: true });
    try {
      symlinkSync(root, join(modules, "node-red"), "dir");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    }
    const port = await freePort();
    const settings = {
      uiHost: "127.0.0.1",
      uiPort: port,
      flowFile: "flows.json",
      credentialSecret: "test-credential-secret",
      logging: { console: { level: "info", metrics: false, audit: false } },
      // No update check: the tests run with no route out, and its first-run prompt would cover the editor.
      telemetry: { enabled: false },
      // Nor the welcome tour, which covers the workspace on a first visit.
      editorTheme: { tours: false },
      ...(options.lang ? { lang: options.lang } : {}),
      ...options.settings,
      ...(options.adminAuth
        ? {
            adminAuth: {
              type: "credentials",
              users: [
                { username: "admin", password: bcrypt.hashSync(USERS.admin, 4), permissions: "*" },
                { username: "viewer", password: bcrypt.hashSync(USERS.viewer, 4), permissions: "read" },
              ],
            },
          }
        : {}),
    };
    writeFileSync(join(userDir, "settings.js"), `module.exports = ${JSON.stringify(settings, null, 2)};\n`);
    const child = spawn(
      process.execPath,
      [requireHere.resolve("node-red/red.js"), "--userDir", userDir, "--settings", join(userDir, "settings.js")],
      { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, NODE_RED_ENABLE_PROJECTS: "false", ...options.env } },
    );
    killOnExit(child);
    const red = new NodeRedProcess(`http://127.0.0.1:${port}`, userDir, child, options);
    await red.waitUntilServing(30_000);
    return red;
  }

  /** Where the admin API is: under the settings' httpAdminRoot, when a test moves it off the root. */
  private get adminUrl(): string {
    const root = this.options.settings?.httpAdminRoot;
    return typeof root === "string" ? `${this.url}${root.replace(/\/$/, "")}` : this.url;
  }

  /** Its log is in the runtime's language, so readiness is asked over HTTP rather than read from the log. */
  private async waitUntilServing(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.child.exitCode !== null) throw new Error(`Node-RED exited:\n${this.output}`);
      const res = await fetch(`${this.adminUrl}/auth/login`).catch(() => undefined);
      if (res?.ok) return;
      if (Date.now() > deadline) throw new Error(`Node-RED did not serve in ${timeoutMs} ms:\n${this.output}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  async token(username: keyof typeof USERS): Promise<string> {
    const res = await fetch(`${this.adminUrl}/auth/token`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        client_id: "node-red-admin",
        grant_type: "password",
        scope: username === "admin" ? "*" : "read",
        username,
        password: USERS[username],
      }),
    });
    if (!res.ok) throw new Error(`login as ${username}: HTTP ${res.status}`);
    return ((await res.json()) as { access_token: string }).access_token;
  }

  async request(method: string, path: string, body?: unknown, token?: string): Promise<Response> {
    return fetch(`${this.adminUrl}${path}`, {
      method,
      headers: {
        "content-type": "application/json",
        accept: "application/json",
        "Node-RED-API-Version": "v2",
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  }

  /** Deploys flows as the editor does: credentials travel inside the node objects and are stored encrypted. */
  async deploy(flows: object[], token?: string): Promise<void> {
    const res = await this.request("POST", "/flows", { flows }, token);
    if (!res.ok) throw new Error(`deploy: HTTP ${res.status} ${await res.text()}`);
  }

  /**
   * Presses an inject node. A deploy answers before the new flows have started, and the inject endpoint only
   * exists once they have, so a 404 is retried for a few seconds.
   */
  async inject(id: string, token?: string): Promise<void> {
    for (let tries = 0; tries < 50; tries++) {
      const status = (await this.request("POST", `/inject/${id}`, undefined, token)).status;
      if (status === 200) return;
      if (status !== 404) throw new Error(`inject ${id}: HTTP ${status}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`inject ${id}: the flow did not start\n${this.output}`);
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null) this.child.kill("SIGTERM");
    await this.exited;
  }

  async kill(): Promise<void> {
    if (this.child.exitCode === null) this.child.kill("SIGKILL");
    await this.exited;
  }

  /**
   * Ends this Node-RED, by a `kill` (SIGKILL: a crash, a power cut) or a `stop` (SIGTERM: a service stop), runs
   * `whileDown`, and starts another over the same user folder and settings: the flows, their credentials and the
   * package's files come back from the folder, as after a reboot of the gateway. A test keeps the one returned.
   */
  async restart(how: "kill" | "stop", whileDown?: () => Promise<void> | void): Promise<NodeRedProcess> {
    await (how === "kill" ? this.kill() : this.stop());
    await whileDown?.();
    return NodeRedProcess.start({ ...this.options, userDir: this.userDir });
  }
}

/**
 * Two nodes that write each msg wired to `<id>-json` as a JSON line to `file`, the value of `record` (a JavaScript
 * expression over `msg`): a flow observed from outside the runtime, which can then be stopped or killed and started
 * again in between. `recorded(file)` reads the lines back.
 */
export function recorder(id: string, tab: string, file: string, record: string): object[] {
  return [
    {
      id: `${id}-json`,
      z: tab,
      type: "function",
      func: `msg.payload = JSON.stringify(${record});\nreturn msg;`,
      outputs: 1,
      wires: [[`${id}-file`]],
    },
    {
      id: `${id}-file`,
      z: tab,
      type: "file",
      filename: file,
      filenameType: "str",
      appendNewline: true,
      createDir: true,
      overwriteFile: "false",
      encoding: "utf8",
      wires: [],
    },
  ];
}

/** The lines a `recorder` wrote to `file` so far, oldest first; none before its first msg. */
export function recorded<T>(file: string): T[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, "utf8")
    .split("\n")
    .filter(Boolean)
    .map((line) => JSON.parse(line) as T);
}

/** A port on loopback that nothing listens on (it was free a moment ago). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
}
