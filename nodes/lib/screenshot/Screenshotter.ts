import { accessSync, constants, statSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import type { Browser, BrowserContext, BrowserContextOptions, Page } from "playwright-core";
import { checkUrl, type Credentials, type Picture } from "./ImageSource";
import { displayUrl, reasonOf, ScreenshotError, type CaptureStep } from "./ScreenshotError";

/** Where Debian, Ubuntu, Raspberry Pi OS, Google's package and snap put the browser, in the order they are tried. */
const CHROMIUM_CANDIDATES = [
  "/usr/bin/chromium",
  "/usr/bin/chromium-browser",
  "/usr/bin/google-chrome",
  "/snap/bin/chromium",
];

/** Environment variables that name the browser for every node of the gateway, tried before the usual places. */
const CHROMIUM_ENV = ["ALARM_MAIL_CHROMIUM", "CHROMIUM_PATH"];

export interface ChromiumLookup {
  /** The executable found, if any. */
  path?: string;
  /** Every place looked at, in order, for the message when none was found. */
  tried: string[];
}

/**
 * Finds the system's Chromium. A configured path is the only one tried: a user who named a browser wants that one, and
 * is better told it is missing than given another.
 */
export function findChromium(configured = "", env: NodeJS.ProcessEnv = process.env): ChromiumLookup {
  const named = configured.trim();
  const fromEnv = CHROMIUM_ENV.map((name) => env[name]?.trim() ?? "").filter(Boolean);
  const candidates = named ? [named] : [...fromEnv, ...CHROMIUM_CANDIDATES];
  const tried: string[] = [];
  for (const candidate of candidates) {
    tried.push(candidate);
    if (isExecutableFile(candidate)) return { path: candidate, tried };
  }
  return { tried };
}

function isExecutableFile(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/**
 * Flags beyond those Playwright always passes (headless, no sandbox when not asked for one, no first-run UI, no
 * background networking, component updates or sync, a fresh temporary profile that it deletes on close). A gateway
 * has no GPU worth starting and, often, no route out: QUIC probes would only wait.
 */
const EXTRA_ARGS = ["--disable-gpu", "--disable-quic"];

/** Pages rendered at once per browser: each costs tens of MB, and an alarm storm must not exhaust a Raspberry Pi. */
const MAX_PAGES = 2;

/** Each step of a downscale shrinks at least this much, so that it ends after a few tries. */
const MAX_STEP_SCALE = 0.9;
const MAX_DOWNSCALE_TRIES = 8;
/** Below this many pixels a side, a picture shows nothing: the cap is too small for it. */
const MIN_SIDE = 16;

export interface ScreenshotterOptions {
  executablePath: string;
  /** The browser closes after this long without a capture (default 60 s); the next one starts it again. */
  idleMs?: number;
  /** The longest a browser start may take, whatever the capture's timeout (default 30 s). */
  launchTimeoutMs?: number;
}

export interface PageCapture {
  url: string;
  width: number;
  height: number;
  fullPage?: boolean;
  /** A CSS selector that must be visible before the capture (a dashboard's widget once its data arrived). */
  waitFor?: string;
  /** Waits this long after the load (and the selector), for charts that animate in. */
  delayMs?: number;
  format: "png" | "jpeg";
  /** 1–100, for JPEG only. */
  quality?: number;
  timeoutMs: number;
  credentials?: Credentials;
}

export interface FitOptions {
  format: "png" | "jpeg";
  quality?: number;
  maxBytes: number;
  timeoutMs: number;
}

/** A point in time that the steps of one capture share, so that together they take no longer than its timeout. */
class Deadline {
  private readonly at: number;

  constructor(readonly ms: number) {
    this.at = Date.now() + ms;
  }

  /** What is left for `step`; none left is the capture's timeout. */
  left(step: CaptureStep): number {
    const left = this.at - Date.now();
    if (left <= 0) throw new ScreenshotError("screenshot-timeout", { ms: this.ms, step });
    return left;
  }

  /** `work`, or the timeout for `step` if the deadline comes first (the work itself carries on). */
  async race<T>(work: Promise<T>, step: CaptureStep): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(
        () => reject(new ScreenshotError("screenshot-timeout", { ms: this.ms, step })),
        this.left(step),
      );
    });
    try {
      return await Promise.race([work, expired]);
    } finally {
      clearTimeout(timer);
    }
  }
}

/**
 * Renders pages and images in one headless Chromium (the system's, driven through playwright-core), kept warm between
 * captures and closed after an idle time and on `close`. Every capture gets its own browser context (no cookies,
 * cache or login shared with the next), a page, and a deadline; at most two pages render at once, the others wait
 * their turn within their own timeout.
 */
export class Screenshotter {
  readonly executablePath: string;
  private readonly idleMs: number;
  private readonly launchTimeoutMs: number;
  private browserPromise?: Promise<Browser>;
  private idleTimer?: NodeJS.Timeout;
  private busy = 0;
  private readonly waiting: Array<() => void> = [];
  private readonly drained: Array<() => void> = [];
  private closed = false;

  constructor(options: ScreenshotterOptions) {
    this.executablePath = options.executablePath;
    this.idleMs = options.idleMs ?? 60_000;
    this.launchTimeoutMs = options.launchTimeoutMs ?? 30_000;
  }

  /** Whether a browser is running or starting. */
  get warm(): boolean {
    return this.browserPromise !== undefined;
  }

  /** A screenshot of a web page (an HMI's web server, a Node-RED dashboard) at the requested viewport. */
  async capturePage(options: PageCapture): Promise<Picture> {
    const deadline = new Deadline(options.timeoutMs);
    const origin = checkUrl(options.url).origin;
    const url = displayUrl(options.url);
    const contextOptions: BrowserContextOptions = {
      viewport: { width: options.width, height: options.height },
      deviceScaleFactor: 1,
      // Sent only to the page's own origin, and only when it asks (a 401), never to what the page pulls in.
      httpCredentials: options.credentials?.username
        ? { ...options.credentials, origin, send: "unauthorized" }
        : undefined,
    };
    return this.withPage(deadline, contextOptions, async (page) => {
      const response = await page
        .goto(options.url, { waitUntil: "load", timeout: deadline.left("load") })
        .catch((err: unknown) => {
          throw pageFault(err, deadline, "load", { url });
        });
      const status = response?.status() ?? 0;
      if (status === 401) throw new ScreenshotError("screenshot-auth-refused", { url });
      if (status >= 400) throw new ScreenshotError("screenshot-http-status", { url, status });
      if (options.waitFor) await this.waitForSelector(page, options.waitFor, deadline);
      if (options.delayMs) {
        const delay = options.delayMs;
        if (delay > deadline.left("delay"))
          throw new ScreenshotError("screenshot-timeout", { ms: deadline.ms, step: "delay" });
        await sleep(delay);
      }
      return this.shoot(page, options, deadline, "capture", options.fullPage ?? false);
    });
  }

  /**
   * A page made by this package (a report's chart) drawn at `width` × `height`: set as the page's content, with
   * JavaScript off, so that nothing in it runs or is fetched.
   */
  async renderMarkup(html: string, options: { width: number; height: number; timeoutMs: number }): Promise<Picture> {
    const deadline = new Deadline(options.timeoutMs);
    const contextOptions: BrowserContextOptions = {
      viewport: { width: options.width, height: options.height },
      deviceScaleFactor: 1,
      javaScriptEnabled: false,
    };
    return this.withPage(deadline, contextOptions, async (page) => {
      await page.setContent(html, { waitUntil: "load", timeout: deadline.left("load") }).catch((err: unknown) => {
        throw pageFault(err, deadline, "load", { url: "markup" });
      });
      return this.shoot(page, { format: "png" }, deadline, "capture", false);
    });
  }

  /**
   * The picture, or a smaller rendering of it when it is larger than `maxBytes`: drawn into a page at a smaller size
   * (keeping its proportions) and captured in `format`, shrinking until it fits. Downscaling the picture already
   * taken, rather than rendering the page again, keeps what the screen showed at the moment of the alarm.
   */
  async fitImage(picture: Picture, options: FitOptions): Promise<Picture> {
    if (picture.content.length <= options.maxBytes) return picture;
    const deadline = new Deadline(options.timeoutMs);
    const source = `data:${picture.contentType};base64,${picture.content.toString("base64")}`;
    return this.withPage(deadline, { viewport: { width: MIN_SIDE, height: MIN_SIDE } }, async (page) => {
      await page
        .setContent(`<!doctype html><body style="margin:0"><img style="display:block" src="${source}"></body>`, {
          waitUntil: "load",
          timeout: deadline.left("downscale"),
        })
        .catch((err: unknown) => {
          throw pageFault(err, deadline, "downscale", { url: "image" });
        });
      const [width, height] = (await page.evaluate(
        "[document.images[0].naturalWidth, document.images[0].naturalHeight]",
      )) as [number, number];
      if (!width || !height)
        throw new ScreenshotError("screenshot-not-image", { source: "image", type: picture.contentType });
      let size = picture.content.length;
      let scale = 1;
      for (let tries = 0; tries < MAX_DOWNSCALE_TRIES; tries++) {
        // Bytes grow roughly with the area, so the side shrinks with the square root of the ratio, with a margin.
        scale *= Math.min(MAX_STEP_SCALE, 0.95 * Math.sqrt(options.maxBytes / size));
        const w = Math.round(width * scale);
        const h = Math.round(height * scale);
        if (w < MIN_SIDE || h < MIN_SIDE) break;
        await page.setViewportSize({ width: w, height: h });
        await page.evaluate(`Object.assign(document.images[0].style, { width: "${w}px", height: "${h}px" })`);
        const smaller = await this.shoot(page, options, deadline, "downscale", false);
        if (smaller.content.length <= options.maxBytes) return smaller;
        size = smaller.content.length;
      }
      throw new ScreenshotError("screenshot-too-large", { size: picture.content.length, limit: options.maxBytes });
    });
  }

  /**
   * Closes the browser. Captures under way get `graceMs` to finish, so that their msgs still go on with their
   * picture; those still waiting for a page fail with `screenshot-closed`.
   */
  async close(graceMs = 5_000): Promise<void> {
    this.closed = true;
    clearTimeout(this.idleTimer);
    for (const wake of this.waiting.splice(0)) wake();
    if (this.busy > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        new Promise<void>((resolve) => this.drained.push(resolve)),
        new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs))),
      ]);
      clearTimeout(timer);
    }
    await this.closeBrowser();
  }

  private async waitForSelector(page: Page, selector: string, deadline: Deadline): Promise<void> {
    try {
      await page
        .locator(selector)
        .first()
        .waitFor({ state: "visible", timeout: deadline.left("load") });
    } catch (err) {
      if (err instanceof ScreenshotError) throw err;
      if (isTimeout(err)) throw new ScreenshotError("screenshot-selector-timeout", { selector, ms: deadline.ms });
      if (/selector/i.test(reasonOf(err))) throw new ScreenshotError("screenshot-selector-invalid", { selector });
      throw pageFault(err, deadline, "load", { url: displayUrl(page.url()) });
    }
  }

  private async shoot(
    page: Page,
    options: { format: "png" | "jpeg"; quality?: number },
    deadline: Deadline,
    step: CaptureStep,
    fullPage: boolean,
  ): Promise<Picture> {
    const content = await page
      .screenshot({
        type: options.format,
        ...(options.format === "jpeg" ? { quality: options.quality ?? 80 } : {}),
        fullPage,
        // Finite animations (a gauge swinging to its value) are run to their end, so the picture shows the value.
        animations: "disabled",
        timeout: deadline.left(step),
      })
      .catch((err: unknown) => {
        throw pageFault(err, deadline, step, { url: displayUrl(page.url()) });
      });
    return { content, contentType: options.format === "png" ? "image/png" : "image/jpeg" };
  }

  /** Runs `work` in a new context and page of the warm browser, started if need be, and always closes them. */
  private async withPage<T>(
    deadline: Deadline,
    contextOptions: BrowserContextOptions,
    work: (page: Page) => Promise<T>,
  ): Promise<T> {
    await this.takeSlot(deadline);
    let context: BrowserContext | undefined;
    try {
      const browser = await deadline.race(this.browser(), "launch");
      context = await browser.newContext({ ...contextOptions, serviceWorkers: "block", acceptDownloads: false });
      return await work(await context.newPage());
    } catch (err) {
      if (err instanceof ScreenshotError) throw err;
      if (this.closed) throw new ScreenshotError("screenshot-closed");
      // The browser crashed or was killed under the capture; the next capture starts a new one.
      throw new ScreenshotError("screenshot-browser-failed", { reason: reasonOf(err) }, { cause: err });
    } finally {
      await context?.close().catch(() => undefined);
      this.releaseSlot();
    }
  }

  private async takeSlot(deadline: Deadline): Promise<void> {
    if (this.closed) throw new ScreenshotError("screenshot-closed");
    clearTimeout(this.idleTimer);
    if (this.busy < MAX_PAGES) {
      this.busy += 1;
      return;
    }
    // A freed slot passes straight to the next waiter: `busy` stays as it is.
    await new Promise<void>((resolve, reject) => {
      const wake = () => {
        clearTimeout(timer);
        if (this.closed) reject(new ScreenshotError("screenshot-closed"));
        else resolve();
      };
      const timer = setTimeout(() => {
        this.waiting.splice(this.waiting.indexOf(wake), 1);
        reject(new ScreenshotError("screenshot-timeout", { ms: deadline.ms, step: "wait" }));
      }, deadline.left("wait"));
      this.waiting.push(wake);
    });
  }

  private releaseSlot(): void {
    const next = this.waiting.shift();
    if (next) {
      next();
      return;
    }
    this.busy -= 1;
    if (this.busy > 0) return;
    for (const resolve of this.drained.splice(0)) resolve();
    if (!this.closed && this.browserPromise) {
      this.idleTimer = setTimeout(() => void this.closeBrowser(), this.idleMs);
      // A warm browser must not keep Node.js alive on its own.
      this.idleTimer.unref();
    }
  }

  /** The running browser; one start at a time, shared by the captures that wait for it. */
  private browser(): Promise<Browser> {
    if (this.closed) return Promise.reject(new ScreenshotError("screenshot-closed"));
    if (this.browserPromise) return this.browserPromise;
    const starting = this.launch().then(
      (browser) => {
        // A crashed or killed browser is forgotten, so that the next capture starts a new one.
        browser.once("disconnected", () => {
          if (this.browserPromise === starting) this.browserPromise = undefined;
        });
        return browser;
      },
      (err: unknown) => {
        if (this.browserPromise === starting) this.browserPromise = undefined;
        throw err;
      },
    );
    this.browserPromise = starting;
    return starting;
  }

  private async launch(): Promise<Browser> {
    if (!isExecutableFile(this.executablePath)) {
      throw new ScreenshotError("screenshot-no-chromium", { tried: this.executablePath });
    }
    // Loaded on the first capture: a gateway that takes no screenshot never pays for the library.
    const { chromium } = await import("playwright-core");
    try {
      return await chromium.launch({
        executablePath: this.executablePath,
        args: EXTRA_ARGS,
        timeout: this.launchTimeoutMs,
        // Node-RED handles its own signals and closes the nodes, which closes the browser; Playwright still kills it
        // if the process exits without that.
        handleSIGINT: false,
        handleSIGTERM: false,
        handleSIGHUP: false,
      });
    } catch (err) {
      throw new ScreenshotError("screenshot-launch-failed", { path: this.executablePath, reason: reasonOf(err) });
    }
  }

  private async closeBrowser(): Promise<void> {
    clearTimeout(this.idleTimer);
    const starting = this.browserPromise;
    this.browserPromise = undefined;
    const browser = await starting?.catch(() => undefined);
    await browser?.close().catch(() => undefined);
  }
}

function isTimeout(err: unknown): boolean {
  return err instanceof Error && err.name === "TimeoutError";
}

/** What went wrong in the page, in our terms: a timeout, or the browser's reason (net::ERR_CONNECTION_REFUSED…). */
function pageFault(err: unknown, deadline: Deadline, step: CaptureStep, params: { url: string }): ScreenshotError {
  if (err instanceof ScreenshotError) return err;
  if (isTimeout(err)) return new ScreenshotError("screenshot-timeout", { ms: deadline.ms, step });
  const reason = reasonOf(err).replace(/^[\w.]+: /, "");
  // Chromium's answer to a login it could not give: none configured, or the one given was refused again.
  if (reason.includes("ERR_INVALID_AUTH_CREDENTIALS")) return new ScreenshotError("screenshot-auth-refused", params);
  return new ScreenshotError("screenshot-page-failed", { ...params, reason }, { cause: err });
}

interface SharedEntry {
  screenshotter: Screenshotter;
  users: number;
}

const shared = new Map<string, SharedEntry>();

/** A node's hold on the process's browser for one executable. */
export interface ScreenshotterLease {
  readonly screenshotter: Screenshotter;
  /** Gives the hold back; the last one closes the browser. */
  release(): Promise<void>;
}

/**
 * The screenshotter that every node of the process shares for one Chromium executable: one browser (hundreds of MB)
 * rather than one per node, warm for all. It closes when idle, and when the last node holding it closes.
 */
export function leaseScreenshotter(executablePath: string): ScreenshotterLease {
  let entry = shared.get(executablePath);
  if (!entry) {
    entry = { screenshotter: new Screenshotter({ executablePath }), users: 0 };
    shared.set(executablePath, entry);
  }
  const held = entry;
  held.users += 1;
  let released = false;
  return {
    screenshotter: held.screenshotter,
    release: async () => {
      if (released) return;
      released = true;
      held.users -= 1;
      if (held.users > 0) return;
      if (shared.get(executablePath) === held) shared.delete(executablePath);
      await held.screenshotter.close();
    },
  };
}
