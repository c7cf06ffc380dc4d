import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { chromium } from "playwright-core";
import { findChromium } from "../../nodes/lib/screenshot/Screenshotter";
import { SCREENSHOTS } from "../support/Editor";
import { freePort } from "../support/NodeRedProcess";
import { killOnExit } from "../support/children";
import { tempDir } from "../support/tempDir";

const ROOT = join(__dirname, "..", "..");
const SUBJECT = "[1] Bassin 2 bacteria level high";

/** `npm start` as a newcomer runs it (dev/start.ts), in a folder of its own and on free ports. */
class Demo {
  output = "";
  private constructor(
    private readonly child: ChildProcess,
    readonly ports: { ui: number; capture: number; web: number },
  ) {
    child.stdout?.on("data", (d: Buffer) => (this.output += d.toString()));
    child.stderr?.on("data", (d: Buffer) => (this.output += d.toString()));
  }

  static async start(env: Record<string, string> = {}): Promise<Demo> {
    const ports = { ui: await freePort(), capture: await freePort(), web: await freePort() };
    const child = spawn(process.execPath, ["--import", "tsx", join(ROOT, "dev", "start.ts")], {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "pipe"],
      env: {
        ...process.env,
        ALARM_MAIL_DEV_DIR: tempDir("alarm-mail-demo-"),
        PORT: String(ports.ui),
        CAPTURE_PORT: String(ports.capture),
        CAPTURE_WEB_PORT: String(ports.web),
        SMTP_HOST: "",
        ...env,
      },
    });
    killOnExit(child);
    const demo = new Demo(child, ports);
    const deadline = Date.now() + 60_000;
    while (!demo.output.includes("Alarm Mail dev environment is running")) {
      if (child.exitCode !== null) throw new Error(`npm start stopped:\n${demo.output}`);
      if (Date.now() > deadline) throw new Error(`npm start did not come up:\n${demo.output}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return demo;
  }

  /** The banner's line that starts with this label, without the label. */
  line(label: string): string {
    const found = new RegExp(`^ {4}${label} +(.*)$`, "m").exec(this.output);
    if (!found) throw new Error(`no "${label}" line in the banner:\n${this.output}`);
    return found[1];
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise((resolve) => this.child.once("exit", resolve));
    this.child.kill("SIGINT");
    await exited;
  }
}

describe("npm start: the demo", () => {
  const demos: Demo[] = [];
  after(async () => {
    await Promise.all(demos.map((d) => d.stop()));
  });

  it("shows the demo's alarm mail on the capture server's web page that the banner links, as a mail client would", async () => {
    const demo = await Demo.start();
    demos.push(demo);
    const page = /open (http:\/\/\S+)/.exec(demo.line("Mail"))?.[1];
    assert.equal(page, `http://127.0.0.1:${demo.ports.web}/`);
    assert.equal(demo.line("Node-RED editor"), `http://127.0.0.1:${demo.ports.ui}/`);
    const settings = (await (await fetch(`http://127.0.0.1:${demo.ports.ui}/settings`)).json()) as {
      editorTheme?: { tours?: boolean };
    };
    assert.equal(settings.editorTheme?.tours, false, "no welcome tour over the demo flow");

    const executablePath = findChromium().path;
    if (!executablePath) throw new Error("the browser tests need Chromium: apt-get install chromium");
    const browser = await chromium.launch({ executablePath, args: ["--disable-gpu", "--disable-quic"] });
    try {
      const tab = await browser.newPage({ viewport: { width: 1280, height: 720 } });
      await tab.goto(page);
      // The demo's alarm fires 3 s after the start; the page lists a mail as it arrives.
      const entry = tab.locator(".email-list .email-item-link").filter({ hasText: SUBJECT });
      await entry.waitFor({ timeout: 30_000 });
      await entry.click();
      const html = tab.frameLocator("iframe.panel-html");
      await html.locator("h2").filter({ hasText: "Bassin 2 bacteria level high" }).waitFor();
      assert.match((await html.locator("table").textContent()) ?? "", /7\.4.*setpoint 6, high/s);
      mkdirSync(SCREENSHOTS, { recursive: true });
      await tab.screenshot({ path: join(SCREENSHOTS, "demo-captured-mail.png"), animations: "disabled" });
    } finally {
      await browser.close();
    }
  });

  it("asks for a login on the editor and the capture page when HOST lets the network in, with a password shown once", async () => {
    const demo = await Demo.start({ HOST: "0.0.0.0", ADMIN_PASSWORD: "" });
    demos.push(demo);
    const password = /^admin \/ (\S+) {2}\(shown this once/.exec(demo.line("Login"))?.[1];
    assert.ok(password, demo.line("Login"));
    const editor = `http://127.0.0.1:${demo.ports.ui}`;
    assert.equal((await fetch(`${editor}/flows`)).status, 401);
    const login = await fetch(`${editor}/auth/token`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        client_id: "node-red-admin",
        grant_type: "password",
        scope: "*",
        username: "admin",
        password,
      }),
    });
    assert.equal(login.status, 200);
    const capture = `http://127.0.0.1:${demo.ports.web}/email`;
    assert.equal((await fetch(capture)).status, 401);
    const basic = `Basic ${Buffer.from(`admin:${password}`).toString("base64")}`;
    assert.equal((await fetch(capture, { headers: { authorization: basic } })).status, 200);
  });
});
