import { readDuration } from "../common/Duration";
import type { ImageType } from "./ImageSource";
import { checkUrl } from "./ImageSource";
import { ScreenshotError } from "./ScreenshotError";
import { renderTemplate, timestampFields, type TemplateView } from "../mail/Template";

export type ScreenshotMode = "page" | "image-url" | "file" | "payload";

const SCREENSHOT_MODES: readonly ScreenshotMode[] = ["page", "image-url", "file", "payload"];

/** An `alarm-mail-screenshot` node's settings, checked once at deploy. */
export interface ScreenshotConfig {
  mode: ScreenshotMode;
  /** The page (mode `page`) or the image (mode `image-url`). */
  url: string;
  /** The image file (mode `file`), as configured: the adapter resolves a relative one. */
  path: string;
  width: number;
  height: number;
  fullPage: boolean;
  waitFor: string;
  delayMs: number;
  format: "png" | "jpeg";
  quality: number;
  /** The size cap of the attachment, in bytes; 0 is none. */
  maxBytes: number;
  /** The whole capture, from the msg's arrival to the attachment, downscaling included. */
  timeoutMs: number;
  chromiumPath: string;
  /** A Mustache template for the attachment's name; empty gives `screenshot-<date>-<time>.<ext>`. */
  filename: string;
}

/** The flow JSON of the node, as the editor saves it (numbers may arrive as text). */
export interface RawScreenshotConfig {
  mode?: unknown;
  url?: unknown;
  path?: unknown;
  width?: unknown;
  height?: unknown;
  fullPage?: unknown;
  waitFor?: unknown;
  delay?: unknown;
  format?: unknown;
  quality?: unknown;
  maxKB?: unknown;
  timeout?: unknown;
  chromiumPath?: unknown;
  filename?: unknown;
}

const SCREENSHOT_DEFAULTS = {
  width: 1280,
  height: 720,
  delay: 0,
  quality: 80,
  /** 1 MB: a full HD dashboard as PNG usually fits, and a mail with it still reaches a phone quickly. */
  maxKB: 1024,
  timeout: 20_000,
} as const;

/** Limits of each number: [least, most]. Chromium renders at most 16,384 px a side; half keeps memory sane. */
const RANGES = {
  width: [16, 8192],
  height: [16, 8192],
  delay: [0, 300_000],
  quality: [1, 100],
  maxKB: [0, 51_200],
  timeout: [1000, 600_000],
} as const;

function whole(raw: unknown, field: keyof typeof RANGES, fallback: number): number {
  const text = typeof raw === "string" ? raw.trim() : raw;
  const value = text === undefined || text === null || text === "" ? fallback : Number(text);
  const [least, most] = RANGES[field];
  if (!Number.isInteger(value) || value < least || value > most) {
    throw new ScreenshotError("screenshot-config-invalid", { field, value: String(raw), range: `${least}–${most}` });
  }
  return value;
}

/** A wait in ms, read as every time of the package is (`readDuration`), within its field's range. */
function span(raw: unknown, field: "delay" | "timeout", fallback: number): number {
  const [least, most] = RANGES[field];
  const empty = raw === undefined || raw === null || (typeof raw === "string" && raw.trim() === "");
  const value = empty ? fallback : readDuration(raw, { least, most, whole: true });
  if (value === undefined) {
    throw new ScreenshotError("screenshot-config-invalid", { field, value: String(raw), range: `${least}–${most}` });
  }
  return value;
}

const text = (raw: unknown): string => (typeof raw === "string" ? raw.trim() : "");

export function parseScreenshotConfig(raw: RawScreenshotConfig): ScreenshotConfig {
  const mode = (text(raw.mode) || "page") as ScreenshotMode;
  if (!SCREENSHOT_MODES.includes(mode)) {
    throw new ScreenshotError("screenshot-config-invalid", {
      field: "mode",
      value: String(raw.mode),
      range: SCREENSHOT_MODES.join(", "),
    });
  }
  const format = text(raw.format) || "png";
  if (format !== "png" && format !== "jpeg") {
    throw new ScreenshotError("screenshot-config-invalid", { field: "format", value: format, range: "png, jpeg" });
  }
  const config: ScreenshotConfig = {
    mode,
    url: text(raw.url),
    path: text(raw.path),
    width: whole(raw.width, "width", SCREENSHOT_DEFAULTS.width),
    height: whole(raw.height, "height", SCREENSHOT_DEFAULTS.height),
    fullPage: raw.fullPage === true || raw.fullPage === "true",
    waitFor: text(raw.waitFor),
    delayMs: span(raw.delay, "delay", SCREENSHOT_DEFAULTS.delay),
    format,
    quality: whole(raw.quality, "quality", SCREENSHOT_DEFAULTS.quality),
    maxBytes: whole(raw.maxKB, "maxKB", SCREENSHOT_DEFAULTS.maxKB) * 1024,
    timeoutMs: span(raw.timeout, "timeout", SCREENSHOT_DEFAULTS.timeout),
    chromiumPath: text(raw.chromiumPath),
    filename: typeof raw.filename === "string" ? raw.filename : "",
  };
  if ((mode === "page" || mode === "image-url") && config.url === "") {
    throw new ScreenshotError("screenshot-config-invalid", { field: "url", value: "", range: "http(s)://…" });
  }
  if (mode === "page" || mode === "image-url") checkUrl(config.url);
  if (mode === "file" && config.path === "") {
    throw new ScreenshotError("screenshot-config-invalid", { field: "path", value: "", range: "/…" });
  }
  if (mode === "page" && config.delayMs >= config.timeoutMs) {
    throw new ScreenshotError("screenshot-config-invalid", {
      field: "delay",
      value: config.delayMs,
      range: `0–${config.timeoutMs - 1}`,
    });
  }
  return config;
}

const EXTENSION: Record<ImageType, string> = {
  "image/png": "png",
  "image/jpeg": "jpg",
  "image/gif": "gif",
  "image/webp": "webp",
};
const TYPE_OF_EXTENSION: Record<string, ImageType> = {
  png: "image/png",
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  gif: "image/gif",
  webp: "image/webp",
};

/** `20240501-143012`: a time that sorts, and that every file system and mail client takes in a name. */
function fileTimestamp(date: Date): string {
  const pad = (n: number) => String(n).padStart(2, "0");
  return (
    `${date.getFullYear()}${pad(date.getMonth() + 1)}${pad(date.getDate())}-` +
    `${pad(date.getHours())}${pad(date.getMinutes())}${pad(date.getSeconds())}`
  );
}

/**
 * The attachment's name: the template rendered with the msg's fields, `{{timestamp}}`, `{{isoTimestamp}}` and
 * `{{fileTimestamp}}`, or `screenshot-<fileTimestamp>`; with the extension of what is attached (a `.png` that a
 * downscale turned into a JPEG becomes `.jpg`). Slashes and control characters are replaced, since a name is not a
 * path.
 */
export function attachmentName(template: string, view: TemplateView, contentType: ImageType, now: Date): string {
  const stamp = fileTimestamp(now);
  const rendered = template.trim()
    ? renderTemplate(template, { ...view, ...timestampFields(now), fileTimestamp: stamp }, "text", "filename")
    : `screenshot-${stamp}`;
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is removed
  const clean = rendered.replace(/[\u0000-\u001f\u007f/\\]+/g, "_").trim() || `screenshot-${stamp}`;
  const extension = /\.([a-z]+)$/i.exec(clean)?.[1].toLowerCase();
  if (extension && TYPE_OF_EXTENSION[extension] === contentType) return clean;
  const base = extension && TYPE_OF_EXTENSION[extension] ? clean.slice(0, -extension.length - 1) : clean;
  return `${base}.${EXTENSION[contentType]}`;
}
