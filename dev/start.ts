/**
 * `npm start`: a Node-RED with this package and a demo flow, mailing into a local capture server with a web page of
 * the mails it caught (MailDev), or into a real SMTP server named by SMTP_HOST, so that a newcomer sees an alarm mail
 * in a browser within seconds of cloning the repository.
 *
 *   npm start                 editor on 127.0.0.1:1880, capture server on 127.0.0.1:2525, its web page on :1080
 *   npm start -- --reset      rewrite the demo flow (and forget its credentials) before starting
 *   HOST=0.0.0.0 npm start    editor and capture page on every address of this machine, behind a login
 *   SMTP_HOST=smtp.example.com SMTP_USER=me@example.com SMTP_PASSWORD=... MAIL_TO=me@example.com npm start
 *
 * PORT, CAPTURE_PORT and CAPTURE_WEB_PORT move the three ports; ALARM_MAIL_DEV_DIR moves the folder (.dev/) where
 * the demo keeps its Node-RED user directory and the captured mails.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { createRequire } from "node:module";
import { networkInterfaces } from "node:os";
import { join, relative, resolve } from "node:path";
import { demoFlow, SERVER_ID, type MailTarget } from "./demoFlow";

const root = resolve(__dirname, "..");
const requireHere = createRequire(__filename);
const devDir = resolve(process.env.ALARM_MAIL_DEV_DIR || join(root, ".dev"));
const mailDir = join(devDir, "mail");
const userDir = join(devDir, "node-red");
const flowFile = join(userDir, "flows.json");
const credFile = join(userDir, "flows_cred.json");
const secretFile = join(userDir, ".secret");
const passwordFile = join(userDir, ".admin-password");
const reset = process.argv.slice(2).includes("--reset");

const DEFAULT_PORTS: Record<string, number> = { none: 25, starttls: 587, "require-starttls": 587, tls: 465 };
const AUTH_METHODS = ["none", "auto", "plain", "login", "cram-md5"];

function say(line: string): void {
  process.stdout.write(`[start] ${line}\n`);
}

function fail(line: string): never {
  console.error(`[start] ${line}`);
  process.exit(1);
}

function portFrom(name: string, fallback: number): number {
  const value = process.env[name];
  if (value === undefined || value === "") return fallback;
  const port = Number(value);
  if (!Number.isInteger(port) || port <= 0 || port > 65535) fail(`${name}=${value} is not a TCP port`);
  return port;
}

function mailTarget(capturePort: number): MailTarget {
  const env = process.env;
  const host = env.SMTP_HOST?.trim() ?? "";
  if (!host) {
    return {
      capture: true,
      host: "127.0.0.1",
      port: capturePort,
      security: "none",
      auth: "none",
      from: env.SMTP_FROM || "gateway@plant.example",
      to: env.MAIL_TO || "operator@plant.example",
    };
  }
  const user = env.SMTP_USER ?? "";
  const security = env.SMTP_SECURITY || "starttls";
  const auth = env.SMTP_AUTH || (user ? "auto" : "none");
  if (!Object.hasOwn(DEFAULT_PORTS, security))
    fail(`SMTP_SECURITY must be one of ${Object.keys(DEFAULT_PORTS).join(", ")}`);
  if (!AUTH_METHODS.includes(auth)) fail(`SMTP_AUTH must be one of ${AUTH_METHODS.join(", ")}`);
  if (auth !== "none" && !user) fail(`SMTP_AUTH=${auth} needs SMTP_USER (and SMTP_PASSWORD)`);
  // A real server would try to deliver to the demo's plant.example addresses and bounce; ask for real ones instead.
  const from = env.SMTP_FROM || (user.includes("@") ? user : "");
  if (!from) fail("SMTP_HOST is set: set SMTP_FROM to the sender address the server accepts");
  if (!env.MAIL_TO) fail("SMTP_HOST is set: set MAIL_TO to the address that should receive the demo alarm");
  return {
    capture: false,
    host,
    port: portFrom("SMTP_PORT", DEFAULT_PORTS[security]),
    security,
    auth,
    from,
    to: env.MAIL_TO,
  };
}

/** Node-RED scans userDir/node_modules; a symlink makes every `npm run build` visible without reinstalling. */
function linkPackage(): void {
  const scope = join(userDir, "node_modules", "@alarm-mail");
  const link = join(scope, "node-red");
  mkdirSync(scope, { recursive: true });
  let stat;
  try {
    stat = lstatSync(link);
  } catch {
    stat = undefined;
  }
  if (stat?.isSymbolicLink() && resolve(scope, readlinkSync(link)) === root) return;
  if (stat && !stat.isSymbolicLink()) {
    fail(`${relative(root, link)} is not a symlink (installed by hand?); remove it and start again`);
  }
  if (stat) rmSync(link);
  symlinkSync(root, link, "dir");
}

/** The secret stays out of settings.js so that the file can be shown or shared; only .secret (0600) holds it. */
function ensureSecret(): void {
  if (process.env.NODE_RED_CREDENTIAL_SECRET) return;
  if (existsSync(secretFile)) {
    chmodSync(secretFile, 0o600);
    return;
  }
  writeFileSync(secretFile, `${randomBytes(32).toString("hex")}\n`, { mode: 0o600 });
}

const SETTINGS = `// Written by dev/start.ts at every \`npm start\`: change dev/start.ts, not this file.
const fs = require("node:fs");
const path = require("node:path");

module.exports = {
  uiHost: process.env.HOST || "127.0.0.1",
  uiPort: Number(process.env.PORT) || 1880,
  flowFile: "flows.json",
  flowFilePretty: true,
  credentialSecret:
    process.env.NODE_RED_CREDENTIAL_SECRET || fs.readFileSync(path.join(__dirname, ".secret"), "utf8").trim(),
  // dev/start.ts passes the bcrypt hash of the admin password when HOST is not a loopback address.
  adminAuth: process.env.ALARM_MAIL_ADMIN_HASH
    ? {
        type: "credentials",
        users: [{ username: "admin", password: process.env.ALARM_MAIL_ADMIN_HASH, permissions: "*" }],
      }
    : undefined,
  // No consent prompt and no update check: the dev box may well be offline. Nor the welcome tour, which would cover
  // the demo flow on a first visit.
  telemetry: { enabled: false, updateNotification: false },
  editorTheme: { tours: false },
  externalModules: { autoInstall: false },
  logging: { console: { level: "info", metrics: false, audit: false } },
};
`;

/** Whether HOST keeps the editor to this machine; any other address lets the network in, and so needs a login. */
function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/**
 * The admin password when the editor is reachable from the network: ADMIN_PASSWORD, or one made at the first such
 * start and kept in .admin-password (0600) beside .secret. Returns it, and whether it was made just now (the only
 * time the banner prints it).
 */
function adminPassword(): { password: string; made: boolean } {
  const given = process.env.ADMIN_PASSWORD;
  if (given) return { password: given, made: false };
  if (existsSync(passwordFile)) {
    chmodSync(passwordFile, 0o600);
    return { password: readFileSync(passwordFile, "utf8").trim(), made: false };
  }
  const password = randomBytes(12).toString("base64url");
  writeFileSync(passwordFile, `${password}\n`, { mode: 0o600 });
  return { password, made: true };
}

/** bcryptjs is what Node-RED's admin API checks passwords with; take the one it depends on. */
function bcryptHash(password: string): string {
  const bcrypt = createRequire(requireHere.resolve("@node-red/editor-api/package.json"))("bcryptjs") as {
    hashSync(password: string, rounds: number): string;
  };
  return bcrypt.hashSync(password, 10);
}

/** The addresses a browser on another machine can use, for the banner. */
function networkUrls(host: string, port: number): string[] {
  if (host !== "0.0.0.0" && host !== "::") return [`http://${urlHost(host)}:${port}/`];
  const addresses = Object.values(networkInterfaces())
    .flat()
    .filter((a) => a !== undefined && !a.internal && a.family === "IPv4")
    .map((a) => `http://${a?.address}:${port}/`);
  return addresses.length > 0 ? addresses : [`http://<this machine's address>:${port}/`];
}

function urlHost(host: string): string {
  return host.includes(":") ? `[${host}]` : host;
}

/** Returns whether the flow's demo server node still matches `target`. */
function prepareUserDir(target: MailTarget): boolean {
  mkdirSync(userDir, { recursive: true });
  linkPackage();
  ensureSecret();
  writeFileSync(join(userDir, "settings.js"), SETTINGS);
  if (reset) rmSync(credFile, { force: true });
  if (reset || !existsSync(flowFile)) {
    writeFileSync(flowFile, `${JSON.stringify(demoFlow(target), null, 4)}\n`);
    say(`${reset ? "rewrote" : "wrote"} the demo flow ${relative(process.cwd(), flowFile)}`);
    return true;
  }
  say(`kept your flow ${relative(process.cwd(), flowFile)} (npm start -- --reset writes the demo again)`);
  const warnings = drift(target);
  for (const line of warnings) say(`warning: ${line}`);
  return warnings.length === 0;
}

/**
 * The kept flow may point elsewhere than this start-up's settings (SMTP_HOST set or unset since it was written):
 * say so, rather than silently mailing a server the user no longer meant.
 */
function drift(target: MailTarget): string[] {
  let nodes: Array<Record<string, unknown>>;
  try {
    nodes = JSON.parse(readFileSync(flowFile, "utf8")) as Array<Record<string, unknown>>;
  } catch {
    return [];
  }
  const server = Array.isArray(nodes) ? nodes.find((n) => n.id === SERVER_ID) : undefined;
  if (!server) return [];
  const wanted = `${target.host}:${target.port} (${target.security}, auth ${target.auth})`;
  const stored = `${String(server.host)}:${String(server.port)} (${String(server.security)}, auth ${String(server.auth)})`;
  if (wanted === stored) return [];
  return [
    `the demo server node in your flow sends to ${stored}, not to ${wanted} as ${target.capture ? "the capture server needs" : "SMTP_* ask"};`,
    "run `npm start -- --reset` to write the demo for these settings, or change the node in the editor",
  ];
}

/**
 * MailDev, as its own process: an SMTP server on loopback that keeps every mail it catches under .dev/mail/ and
 * shows them on a web page, the HTML part as a mail client would. Resolves once the page answers.
 */
async function startCapture(smtpPort: number, webPort: number, web: Access): Promise<ChildProcess> {
  const bin = join(resolve(requireHere.resolve("maildev/package.json"), ".."), "bin", "maildev");
  const args = [bin, "--smtp", String(smtpPort), "--ip", "127.0.0.1", "--web", String(webPort), "--web-ip", web.host];
  args.push("--mail-directory", mailDir, "--silent");
  if (web.password) args.push("--web-user", "admin", "--web-pass", web.password);
  mkdirSync(mailDir, { recursive: true });
  // MailDev reads MAILDEV_* variables as defaults: none of the caller's may change what the demo asks for.
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith("MAILDEV_")));
  const child = spawn(process.execPath, args, { stdio: ["ignore", "inherit", "inherit"], env });
  const page = `http://${urlHost(web.apiHost)}:${webPort}/healthz`;
  const headers: Record<string, string> = web.password
    ? { authorization: `Basic ${Buffer.from(`admin:${web.password}`).toString("base64")}` }
    : {};
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) {
      fail(
        `capture server: MailDev stopped (is port ${smtpPort} or ${webPort} in use? set CAPTURE_PORT / CAPTURE_WEB_PORT)`,
      );
    }
    const res = await fetch(page, { headers }).catch(() => undefined);
    if (res?.ok) return child;
    if (Date.now() > deadline) fail(`capture server: MailDev did not answer on port ${webPort} within 30 s`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Where the editor and the capture page listen, and the login they ask for (none on loopback). */
interface Access {
  host: string;
  /** The address this script itself reaches them on. */
  apiHost: string;
  password?: string;
}

interface FlowsV2 {
  rev: string;
  flows: Array<Record<string, unknown> & { id: string; type: string }>;
}

class AdminApi {
  private token = "";

  constructor(private readonly base: string) {}

  /** With admin authentication on, a token as the editor's login gets one. */
  async login(password: string): Promise<void> {
    const res = await fetch(`${this.base}/auth/token`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({
        client_id: "node-red-admin",
        grant_type: "password",
        scope: "*",
        username: "admin",
        password,
      }),
    });
    if (!res.ok) throw new Error(`login as admin: HTTP ${res.status}`);
    this.token = ((await res.json()) as { access_token: string }).access_token;
  }

  async get<T>(path: string): Promise<T> {
    const res = await fetch(this.base + path, { headers: this.headers() });
    if (!res.ok) throw new Error(`GET ${path}: HTTP ${res.status}`);
    return (await res.json()) as T;
  }

  async deploy(type: "full" | "reload", body?: FlowsV2): Promise<void> {
    const res = await fetch(`${this.base}/flows`, {
      method: "POST",
      headers: { ...this.headers(), "Content-Type": "application/json", "Node-RED-Deployment-Type": type },
      body: JSON.stringify(body ?? {}),
    });
    if (!res.ok) throw new Error(`deploy (${type}): HTTP ${res.status} ${await res.text()}`);
  }

  private headers(): Record<string, string> {
    return { "Node-RED-API-Version": "v2", ...(this.token ? { Authorization: `Bearer ${this.token}` } : {}) };
  }
}

/** /auth/login answers with or without admin authentication, so it tells when the editor is up. */
async function waitForEditor(base: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) fail("Node-RED stopped during start-up (see above)");
    const res = await fetch(`${base}/auth/login`).catch(() => undefined);
    if (res?.ok) return;
    if (Date.now() > deadline) fail(`Node-RED did not answer within ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/**
 * Node-RED was started in safe mode, flows held. If the demo server node has no credentials yet, deploy them as
 * ${SMTP_USER} / ${SMTP_PASSWORD} references through the admin API: Node-RED encrypts them with credentialSecret and
 * substitutes them when the node starts, so the password itself never reaches the disk. Otherwise just start the
 * flows as stored. Holding the flows until then means the demo alarm never fires against a server without its login.
 */
async function startFlows(api: AdminApi): Promise<void> {
  const current = await api.get<FlowsV2>("/flows");
  const server = current.flows.find((n) => n.id === SERVER_ID && n.type === "alarm-mail-server");
  if (server) {
    const creds = await api.get<{ user?: string; has_password?: boolean }>(
      `/credentials/alarm-mail-server/${SERVER_ID}`,
    );
    // Anything the user typed in the editor wins: fill only an empty login.
    if (!creds.user && !creds.has_password) {
      server.credentials = { user: "${SMTP_USER}", password: "${SMTP_PASSWORD}" };
      await api.deploy("full", current);
      say("stored the server login as ${SMTP_USER} / ${SMTP_PASSWORD} references (encrypted by Node-RED)");
      return;
    }
  }
  await api.deploy("reload");
}

/** The banner's answer to "where does my mail go?" */
function mailLine(target: MailTarget, matches: boolean, capturePage: string): string {
  if (!matches) {
    const capture = target.capture ? `; the capture server still listens on 127.0.0.1:${target.port}` : "";
    return `to the server node your flow names (see the warning above)${capture}`;
  }
  return target.capture
    ? `captured by MailDev on 127.0.0.1:${target.port}: open ${capturePage} (kept under ${relative(process.cwd(), mailDir) || "."}/)`
    : `sent through ${target.host}:${target.port} (${target.security}, auth ${target.auth}) to ${target.to}`;
}

async function main(): Promise<void> {
  const uiPort = portFrom("PORT", 1880);
  const host = process.env.HOST?.trim() || "127.0.0.1";
  const exposed = !isLoopback(host);
  const target = mailTarget(portFrom("CAPTURE_PORT", 2525));
  const webPort = portFrom("CAPTURE_WEB_PORT", 1080);
  const matches = prepareUserDir(target);
  const login = exposed ? adminPassword() : undefined;
  const access: Access = {
    host,
    apiHost: host === "0.0.0.0" || host === "::" ? "127.0.0.1" : host,
    password: login?.password,
  };
  const capture = target.capture ? await startCapture(target.port, webPort, access) : undefined;

  say("starting Node-RED in safe mode: the flows start once the demo server's login is checked");
  const redJs = require.resolve("node-red/red.js");
  const child = spawn(process.execPath, [redJs, "--safe", "--userDir", userDir], {
    stdio: "inherit",
    env: {
      ...process.env,
      HOST: host,
      PORT: String(uiPort),
      ALARM_MAIL_ADMIN_HASH: login ? bcryptHash(login.password) : "",
      // Node-RED leaves an unset ${NAME} as the literal text: an empty login gives a clear "user missing" instead
      // of a login attempt as "${SMTP_USER}". The capture server takes no login, so a stray one is dropped there.
      SMTP_USER: target.capture ? "" : (process.env.SMTP_USER ?? ""),
      SMTP_PASSWORD: target.capture ? "" : (process.env.SMTP_PASSWORD ?? ""),
    },
  });

  let stopping = false;
  let failed = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    child.kill(signal);
    // Node-RED closes its nodes first; if one hangs, do not leave a process behind.
    setTimeout(() => child.kill("SIGKILL"), 10_000).unref();
  };
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGHUP", () => stop("SIGTERM"));
  // Last resort when this process dies of an error: neither Node-RED nor MailDev may outlive it holding the ports.
  process.on("exit", () => {
    for (const proc of [child, capture]) {
      if (proc && proc.exitCode === null && proc.signalCode === null) proc.kill("SIGKILL");
    }
  });
  child.on("exit", (code, signal) => {
    capture?.kill("SIGTERM");
    if (!stopping) say(`Node-RED exited (${signal ?? `code ${code}`})`);
    process.exit(failed ? 1 : (code ?? (stopping ? 0 : 1)));
  });

  const base = `http://${urlHost(access.apiHost)}:${uiPort}`;
  const api = new AdminApi(base);
  await waitForEditor(base, child, 60_000);
  try {
    if (login) await api.login(login.password);
    await startFlows(api);
  } catch (err) {
    console.error(`[start] could not start the flows: ${err instanceof Error ? err.message : String(err)}`);
    failed = true;
    stop("SIGTERM");
    return;
  }

  const editorUrls = exposed ? networkUrls(host, uiPort) : [`http://${urlHost(host)}:${uiPort}/`];
  const captureUrl = (exposed ? networkUrls(host, webPort) : [`http://${urlHost(host)}:${webPort}/`])[0];
  const loginLines = !login
    ? []
    : login.made
      ? [
          `    Login            admin / ${login.password}  (shown this once; kept in ${relative(process.cwd(), passwordFile)})`,
        ]
      : [
          `    Login            admin, password ${process.env.ADMIN_PASSWORD ? "from ADMIN_PASSWORD" : `in ${relative(process.cwd(), passwordFile)}`}`,
        ];
  process.stdout.write(
    [
      "",
      "  Alarm Mail dev environment is running",
      `    Node-RED editor  ${editorUrls.join("  ")}`,
      ...loginLines,
      `    Mail             ${mailLine(target, matches, captureUrl)}`,
      `    Demo flow        tab "Alarm Mail demo" in ${relative(process.cwd(), flowFile)}; the alarm fires 3 s after start`,
      "    Stop             Ctrl+C",
      "",
    ].join("\n") + "\n",
  );
}

main().catch((err: unknown) => fail(err instanceof Error ? (err.stack ?? err.message) : String(err)));
