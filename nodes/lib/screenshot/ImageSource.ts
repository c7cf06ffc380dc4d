import { open } from "node:fs/promises";
import { displayUrl, reasonOf, ScreenshotError } from "./ScreenshotError";

/** An image ready to attach: its bytes and their MIME type. */
export interface Picture {
  content: Buffer;
  contentType: ImageType;
}

export type ImageType = "image/png" | "image/jpeg" | "image/gif" | "image/webp";

/** The largest image read from a URL, a file or a msg: enough for a 4K camera frame, small enough for a gateway. */
export const MAX_SOURCE_BYTES = 20 * 1024 * 1024;

export interface Credentials {
  username: string;
  password: string;
}

/**
 * What the bytes are, from their signature: a mail client trusts the attachment's type, so a camera's HTML error page
 * served with status 200 must not go out as a picture.
 */
export function imageType(content: Buffer): ImageType | undefined {
  if (content.length >= 8 && content.readUInt32BE(0) === 0x89504e47 && content.readUInt32BE(4) === 0x0d0a1a0a) {
    return "image/png";
  }
  if (content.length >= 3 && content[0] === 0xff && content[1] === 0xd8 && content[2] === 0xff) return "image/jpeg";
  if (content.length >= 6 && /^GIF8[79]a$/.test(content.toString("latin1", 0, 6))) return "image/gif";
  if (
    content.length >= 12 &&
    content.toString("latin1", 0, 4) === "RIFF" &&
    content.toString("latin1", 8, 12) === "WEBP"
  ) {
    return "image/webp";
  }
  return undefined;
}

/** `msg.payload` as a picture: a Buffer that holds a PNG, JPEG, GIF or WebP image. */
export function payloadImage(payload: unknown): Picture {
  const contentType = Buffer.isBuffer(payload) ? imageType(payload) : undefined;
  if (!Buffer.isBuffer(payload) || !contentType) throw new ScreenshotError("screenshot-payload-invalid");
  if (payload.length > MAX_SOURCE_BYTES) {
    throw new ScreenshotError("screenshot-source-too-large", { size: payload.length, limit: MAX_SOURCE_BYTES });
  }
  return { content: payload, contentType };
}

/** Reads an image file; a file that is too large is refused before it is read. */
export async function readImage(path: string, maxBytes = MAX_SOURCE_BYTES): Promise<Picture> {
  let content: Buffer;
  try {
    const file = await open(path, "r");
    try {
      const info = await file.stat();
      if (!info.isFile()) throw new Error("not a file");
      if (info.size > maxBytes) {
        throw new ScreenshotError("screenshot-source-too-large", { size: info.size, limit: maxBytes });
      }
      content = await file.readFile();
    } finally {
      await file.close();
    }
  } catch (err) {
    if (err instanceof ScreenshotError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    throw new ScreenshotError("screenshot-file-unreadable", { path, reason: code ?? reasonOf(err) });
  }
  const contentType = imageType(content);
  if (!contentType) throw new ScreenshotError("screenshot-not-image", { source: path, type: "?" });
  return { content, contentType };
}

export interface FetchOptions {
  timeoutMs: number;
  maxBytes?: number;
  /** Sent as HTTP basic authentication, as IP cameras and HMI web servers ask. */
  credentials?: Credentials;
}

/** Checks a URL from the configuration: http or https, and no login inside it (that belongs in the credentials). */
export function checkUrl(url: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ScreenshotError("screenshot-url-invalid", { url: displayUrl(url) });
  }
  if (!/^https?:$/.test(parsed.protocol) || parsed.username || parsed.password) {
    throw new ScreenshotError("screenshot-url-invalid", { url: displayUrl(url) });
  }
  return parsed;
}

/**
 * Downloads an image, such as an IP camera's snapshot: within `timeoutMs` for the whole transfer, refusing an error
 * status, a type that is not an image, and a body larger than `maxBytes` (counted as it arrives, whatever the
 * server announced).
 */
export async function fetchImage(url: string, options: FetchOptions): Promise<Picture> {
  const target = checkUrl(url);
  const shown = displayUrl(url);
  const maxBytes = options.maxBytes ?? MAX_SOURCE_BYTES;
  const headers: Record<string, string> = { accept: "image/*" };
  if (options.credentials?.username) {
    const { username, password } = options.credentials;
    headers.authorization = `Basic ${Buffer.from(`${username}:${password}`).toString("base64")}`;
  }
  const signal = AbortSignal.timeout(options.timeoutMs);
  const failed = (err: unknown): ScreenshotError => {
    if (signal.aborted) return new ScreenshotError("screenshot-timeout", { ms: options.timeoutMs, step: "download" });
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    return new ScreenshotError("screenshot-fetch-failed", {
      url: shown,
      reason: cause?.code ?? reasonOf(cause ?? err),
    });
  };
  let response: Response;
  try {
    response = await fetch(target, { headers, signal, redirect: "follow" });
  } catch (err) {
    throw failed(err);
  }
  const type = (response.headers.get("content-type") ?? "").split(";")[0].trim().toLowerCase();
  const declared = Number(response.headers.get("content-length") ?? 0);
  let refusal: ScreenshotError | undefined;
  if (response.status === 401) refusal = new ScreenshotError("screenshot-auth-refused", { url: shown });
  else if (!response.ok)
    refusal = new ScreenshotError("screenshot-http-status", { url: shown, status: response.status });
  // A camera that cannot say what it sends says application/octet-stream; the signature check below decides then.
  else if (type && !type.startsWith("image/") && type !== "application/octet-stream") {
    refusal = new ScreenshotError("screenshot-not-image", { source: shown, type });
  } else if (declared > maxBytes) {
    refusal = new ScreenshotError("screenshot-source-too-large", { size: declared, limit: maxBytes });
  }
  if (refusal) {
    await response.body?.cancel().catch(() => undefined);
    throw refusal;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  const reader = response.body?.getReader();
  try {
    for (let read = await reader?.read(); read && !read.done; read = await reader?.read()) {
      size += read.value.length;
      if (size > maxBytes) {
        await reader?.cancel();
        throw new ScreenshotError("screenshot-source-too-large", { size, limit: maxBytes });
      }
      chunks.push(Buffer.from(read.value));
    }
  } catch (err) {
    throw err instanceof ScreenshotError ? err : failed(err);
  }
  const content = Buffer.concat(chunks);
  const contentType = imageType(content);
  if (!contentType) throw new ScreenshotError("screenshot-not-image", { source: shown, type: type || "?" });
  return { content, contentType };
}
