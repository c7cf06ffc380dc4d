import { isAbsolute, resolve } from "node:path";
import type { Node, NodeAPI, NodeDef, NodeMessageInFlow } from "node-red";
import { fetchImage, payloadImage, readImage, type Credentials, type Picture } from "../../lib/screenshot/ImageSource";
import {
  attachmentName,
  parseScreenshotConfig,
  type RawScreenshotConfig,
  type ScreenshotConfig,
} from "../../lib/screenshot/ScreenshotConfig";
import { ScreenshotError } from "../../lib/screenshot/ScreenshotError";
import {
  findChromium,
  leaseScreenshotter,
  type Screenshotter,
  type ScreenshotterLease,
} from "../../lib/screenshot/Screenshotter";
import { attachmentList } from "../../lib/mail/MailComposer";
import { describeError } from "../kit/i18n";
import { reportConfigError } from "../kit/lifecycle";

export type ScreenshotNodeDef = NodeDef & RawScreenshotConfig;

export interface ScreenshotCredentials {
  username?: string;
  password?: string;
}

type Send = (msg: NodeMessageInFlow) => void;
type Done = (err?: Error) => void;

/** What a failed capture leaves in the msg, for a Switch or a template to show. */
interface ScreenshotFailure {
  code: string;
  message: string;
}

/**
 * The runtime side of `alarm-mail-screenshot`: takes a picture (a page in the shared headless Chromium, an image URL,
 * a file or `msg.payload`), fits it under the size cap, and appends it to `msg.attachments`. A capture that fails
 * never holds an alarm mail back: the msg goes on without the picture, with `msg.screenshotError`, a warning and a
 * yellow status. Deploying starts no browser; the first capture does.
 */
export class ScreenshotNode {
  private readonly config?: ScreenshotConfig;
  private readonly configError?: Error;
  private lease?: ScreenshotterLease;

  constructor(
    private readonly RED: NodeAPI,
    private readonly node: Node,
    def: ScreenshotNodeDef,
    private readonly credentials: ScreenshotCredentials = {},
  ) {
    try {
      this.config = parseScreenshotConfig(def);
      if (this.config.mode === "page" && !findChromium(this.config.chromiumPath).path) {
        // Said at deploy in the status only: the log stays for captures that actually fail.
        node.status({ fill: "yellow", shape: "ring", text: "alarm-mail-screenshot.status.noChromium" });
      }
    } catch (err) {
      this.configError = reportConfigError(RED, node, err, { status: true });
    }
    node.on("input", (msg, send, done) => void this.onInput(msg, send, done));
    node.on("close", (_removed: boolean, done: () => void) => {
      const lease = this.lease;
      this.lease = undefined;
      void (lease?.release() ?? Promise.resolve()).finally(done);
    });
  }

  private async onInput(msg: NodeMessageInFlow, send: Send, done: Done): Promise<void> {
    const started = Date.now();
    try {
      if (!this.config) throw this.configError;
      const config = this.config;
      this.node.status({ fill: "blue", shape: "ring", text: "alarm-mail-screenshot.status.capturing" });
      const taken = await this.take(config, msg);
      const picture = await this.fit(config, taken, config.timeoutMs - (Date.now() - started));
      const attachment = {
        filename: attachmentName(config.filename, { ...msg, msg }, picture.contentType, new Date(started)),
        content: picture.content,
        contentType: picture.contentType,
      };
      msg.attachments = [...attachmentList(msg.attachments), attachment];
      this.node.status({
        fill: "green",
        shape: "dot",
        text: this.RED._("alarm-mail-screenshot.status.attached", { size: Math.ceil(picture.content.length / 1024) }),
      });
    } catch (err) {
      const message = describeError(this.RED, err);
      const failure: ScreenshotFailure = { code: errorCode(err), message };
      msg.screenshotError = failure;
      this.node.warn(this.RED._("alarm-mail-screenshot.warn.failed", { message }));
      // The reason is in the warning and msg.screenshotError; the status says it in a few words.
      this.node.status({ fill: "yellow", shape: "ring", text: "alarm-mail-screenshot.status.missing" });
    }
    // The alarm mail matters more than its picture: the msg goes on and completes either way.
    send(msg);
    done();
  }

  private async take(config: ScreenshotConfig, msg: NodeMessageInFlow): Promise<Picture> {
    const credentials = this.basicAuth();
    switch (config.mode) {
      case "page":
        return this.screenshotter(config, "screenshot-no-chromium").capturePage({
          url: config.url,
          width: config.width,
          height: config.height,
          fullPage: config.fullPage,
          waitFor: config.waitFor,
          delayMs: config.delayMs,
          format: config.format,
          quality: config.quality,
          timeoutMs: config.timeoutMs,
          credentials,
        });
      case "image-url":
        return fetchImage(config.url, { timeoutMs: config.timeoutMs, credentials });
      case "file":
        return readImage(this.filePath(config.path));
      case "payload":
        return payloadImage(msg.payload);
    }
  }

  /** Under the cap as it is, or downscaled in Chromium; without one, the warning says the cap could not be met. */
  private async fit(config: ScreenshotConfig, picture: Picture, timeoutMs: number): Promise<Picture> {
    if (config.maxBytes === 0 || picture.content.length <= config.maxBytes) return picture;
    const screenshotter = this.screenshotter(config, "screenshot-downscale-no-chromium", {
      size: picture.content.length,
      limit: config.maxBytes,
    });
    return screenshotter.fitImage(picture, {
      format: config.format,
      quality: config.quality,
      maxBytes: config.maxBytes,
      timeoutMs: Math.max(timeoutMs, 1),
    });
  }

  /** The process's shared browser for this node's Chromium, found again at each capture until there is one. */
  private screenshotter(
    config: ScreenshotConfig,
    missing: "screenshot-no-chromium" | "screenshot-downscale-no-chromium",
    params: Record<string, number> = {},
  ): Screenshotter {
    if (!this.lease) {
      const found = findChromium(config.chromiumPath);
      if (!found.path) throw new ScreenshotError(missing, { ...params, tried: found.tried.join(", ") });
      this.lease = leaseScreenshotter(found.path);
    }
    return this.lease.screenshotter;
  }

  private basicAuth(): Credentials | undefined {
    const { username, password } = this.credentials;
    return username ? { username, password: password ?? "" } : undefined;
  }

  /** A relative path is taken from Node-RED's user directory, not from wherever Node-RED was started. */
  private filePath(path: string): string {
    if (isAbsolute(path)) return path;
    const userDir = (this.RED.settings as { userDir?: string }).userDir ?? process.cwd();
    return resolve(userDir, path);
  }
}

/** Our errors, and the send node's (a filename template that does not render), carry a code; others get one. */
function errorCode(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : "screenshot-failed";
}
