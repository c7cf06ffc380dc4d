import { execFileSync } from "node:child_process";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { crc32, deflateSync, inflateSync } from "node:zlib";
import { findChromium } from "../../nodes/lib/screenshot/Screenshotter";

/** A decoded PNG: its size and its pixels as RGBA, four bytes a pixel, row after row. */
export interface Bitmap {
  width: number;
  height: number;
  rgba: Buffer;
}

/**
 * Decodes a PNG on its own (8-bit grey, RGB, grey + alpha or RGBA, not interlaced: what Chromium writes), so that a
 * test checks the pixels of a screenshot without trusting the browser that made it.
 */
export function decodePng(png: Buffer): Bitmap {
  if (png.readUInt32BE(0) !== 0x89504e47) throw new Error("not a PNG");
  let offset = 8;
  let width = 0;
  let height = 0;
  let channels = 0;
  const data: Buffer[] = [];
  while (offset < png.length) {
    const length = png.readUInt32BE(offset);
    const type = png.toString("latin1", offset + 4, offset + 8);
    const body = png.subarray(offset + 8, offset + 8 + length);
    if (type === "IHDR") {
      width = body.readUInt32BE(0);
      height = body.readUInt32BE(4);
      const [depth, colour, , , interlace] = body.subarray(8, 13);
      if (depth !== 8 || interlace !== 0) throw new Error(`unsupported PNG: depth ${depth}, interlace ${interlace}`);
      channels = ({ 0: 1, 2: 3, 4: 2, 6: 4 } as Record<number, number>)[colour] ?? 0;
      if (!channels) throw new Error(`unsupported PNG colour type ${colour}`);
    } else if (type === "IDAT") {
      data.push(body);
    }
    offset += 12 + length;
  }
  const raw = inflateSync(Buffer.concat(data));
  const stride = width * channels;
  const pixels = Buffer.alloc(stride * height);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    for (let x = 0; x < stride; x++) {
      const value = raw[y * (stride + 1) + 1 + x];
      const left = x >= channels ? pixels[y * stride + x - channels] : 0;
      const up = y > 0 ? pixels[(y - 1) * stride + x] : 0;
      const upLeft = x >= channels && y > 0 ? pixels[(y - 1) * stride + x - channels] : 0;
      let predicted = 0;
      if (filter === 1) predicted = left;
      else if (filter === 2) predicted = up;
      else if (filter === 3) predicted = (left + up) >> 1;
      else if (filter === 4) {
        const p = left + up - upLeft;
        const [pa, pb, pc] = [Math.abs(p - left), Math.abs(p - up), Math.abs(p - upLeft)];
        predicted = pa <= pb && pa <= pc ? left : pb <= pc ? up : upLeft;
      }
      pixels[y * stride + x] = (value + predicted) & 0xff;
    }
  }
  const rgba = Buffer.alloc(width * height * 4);
  for (let i = 0; i < width * height; i++) {
    const px = pixels.subarray(i * channels, (i + 1) * channels);
    const [r, g, b] = channels >= 3 ? [px[0], px[1], px[2]] : [px[0], px[0], px[0]];
    const a = channels === 4 ? px[3] : channels === 2 ? px[1] : 255;
    rgba.set([r, g, b, a], i * 4);
  }
  return { width, height, rgba };
}

export function pixel(bitmap: Bitmap, x: number, y: number): [number, number, number] {
  const i = (y * bitmap.width + x) * 4;
  return [bitmap.rgba[i], bitmap.rgba[i + 1], bitmap.rgba[i + 2]];
}

/** How many different colours the picture has: 1 for a blank one. */
export function colourCount(bitmap: Bitmap): number {
  const colours = new Set<number>();
  for (let i = 0; i < bitmap.rgba.length; i += 4) colours.add(bitmap.rgba.readUInt32BE(i));
  return colours.size;
}

/** Encodes RGBA pixels as a PNG (filter 0): test images of any size and content, without a browser. */
export function encodePng(width: number, height: number, rgba: Buffer): Buffer {
  const chunk = (type: string, body: Buffer) => {
    const head = Buffer.alloc(8);
    head.writeUInt32BE(body.length, 0);
    head.write(type, 4, "latin1");
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), body])), 0);
    return Buffer.concat([head, body, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 6, 0, 0, 0], 8);
  const raw = Buffer.alloc((width * 4 + 1) * height);
  for (let y = 0; y < height; y++) rgba.copy(raw, y * (width * 4 + 1) + 1, y * width * 4, (y + 1) * width * 4);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", ihdr),
    chunk("IDAT", deflateSync(raw)),
    chunk("IEND", Buffer.alloc(0)),
  ]);
}

/** A picture that does not compress: random pixels from a fixed seed, the worst case for a size cap. */
export function noisePng(width: number, height: number, seed = 1): Buffer {
  const rgba = Buffer.alloc(width * height * 4);
  let state = seed;
  for (let i = 0; i < rgba.length; i++) {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    rgba[i] = i % 4 === 3 ? 255 : state >>> 24;
  }
  return encodePng(width, height, rgba);
}

/** A PNG of one colour. */
export function plainPng(width: number, height: number, [r, g, b]: [number, number, number]): Buffer {
  const rgba = Buffer.alloc(width * height * 4);
  for (let i = 0; i < rgba.length; i += 4) rgba.set([r, g, b, 255], i);
  return encodePng(width, height, rgba);
}

/** The size in a PNG's header (IHDR). */
export function pngSize(png: Buffer): { width: number; height: number } {
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
}

/** The size in a JPEG's frame header (SOFn). */
export function jpegSize(jpeg: Buffer): { width: number; height: number } {
  let offset = 2;
  while (offset < jpeg.length) {
    const marker = jpeg[offset + 1];
    const length = jpeg.readUInt16BE(offset + 2);
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      return { height: jpeg.readUInt16BE(offset + 5), width: jpeg.readUInt16BE(offset + 7) };
    }
    offset += 2 + length;
  }
  throw new Error("no frame header in the JPEG");
}

/** The Chromium the screenshot node finds here, and why a test that needs it skips where there is none. */
export const CHROMIUM = findChromium().path;
export const NO_CHROMIUM = `no Chromium at ${findChromium().tried.join(", ")}`;

export const BOX_COLOUR: [number, number, number] = [204, 0, 0];
export const USER = "operator";
export const PASSWORD = "Hmi-Secret-7";

/**
 * The web server of an HMI and an IP camera, on loopback: a page with a red box and text, a tall page, a page whose
 * element comes late, one that never finishes loading, one behind basic authentication, and images.
 */
export class FixtureServer {
  readonly requests: IncomingMessage[] = [];
  private readonly server: Server;
  private port = 0;
  images: Record<string, Buffer> = {};

  constructor() {
    this.server = createServer((req, res) => {
      this.requests.push(req);
      this.answer(req, res);
    });
  }

  async listen(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  url(path: string): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private answer(req: IncomingMessage, res: ServerResponse): void {
    const path = (req.url ?? "/").split("?")[0];
    const html = (body: string) => {
      res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
      res.end(`<!doctype html><html><body style="margin:0;background:#fff;font:16px sans-serif">${body}</body></html>`);
    };
    const box = `<div id="box" style="width:200px;height:100px;background:rgb(${BOX_COLOUR.join(",")})">Pump P-101 tripped</div>`;
    if (path === "/page") return html(`${box}<p>Bassin 2 level 7.4 m</p>`);
    if (path === "/tall") return html(`${box}<div style="height:2900px"></div>`);
    if (path === "/late") {
      return html(`<script>setTimeout(() => document.body.insertAdjacentHTML("beforeend", '${box}'), 300)</script>`);
    }
    if (path === "/never") {
      // Headers, then a body that never ends: the load event never comes.
      res.writeHead(200, { "content-type": "text/html" });
      res.write("<!doctype html><html><body>loading");
      return;
    }
    if (path === "/auth") {
      const expected = `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString("base64")}`;
      if (req.headers.authorization !== expected) {
        res.writeHead(401, { "www-authenticate": 'Basic realm="HMI"', "content-type": "text/plain" });
        res.end("login required");
        return;
      }
      return html(box);
    }
    if (path === "/not-an-image") {
      res.writeHead(200, { "content-type": "text/html" });
      res.end("<html>camera error</html>");
      return;
    }
    const image = this.images[path];
    if (image) {
      res.writeHead(200, { "content-type": path.endsWith(".jpg") ? "image/jpeg" : "image/png" });
      res.end(image);
      return;
    }
    res.writeHead(404, { "content-type": "text/plain" });
    res.end("not found");
  }
}

/**
 * The profile folders of the Chromium processes this process started (Playwright gives each browser a fresh one):
 * found through the browsers' command lines, so that a test can then look for any process still using one.
 */
export function browserProfiles(): string[] {
  return browsers().map((browser) => browser.profile);
}

/** The Chromium browser processes this process started, with their profile folders. */
export function browsers(): Array<{ pid: number; profile: string }> {
  return pgrep(["-a", "-P", String(process.pid)]).flatMap((line) => {
    const match = /^(\d+) .*--user-data-dir=(\S+)/.exec(line);
    return match ? [{ pid: Number(match[1]), profile: match[2] }] : [];
  });
}

/** Every process (browser, renderers, GPU and utility processes) whose command line names the profile. */
export function processesUsing(profile: string): string[] {
  return pgrep(["-f", profile]);
}

function pgrep(args: string[]): string[] {
  try {
    return execFileSync("pgrep", args, { encoding: "utf8" }).split("\n").filter(Boolean);
  } catch {
    // pgrep exits with 1 when nothing matches.
    return [];
  }
}
