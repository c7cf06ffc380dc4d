import assert from "node:assert/strict";
import { chmodSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { after, before, describe, it, type TestContext } from "node:test";
import { fetchImage, imageType, payloadImage, readImage } from "../../nodes/lib/screenshot/ImageSource";
import { attachmentName, parseScreenshotConfig } from "../../nodes/lib/screenshot/ScreenshotConfig";
import { displayUrl, ScreenshotError } from "../../nodes/lib/screenshot/ScreenshotError";
import { findChromium, leaseScreenshotter, Screenshotter } from "../../nodes/lib/screenshot/Screenshotter";
import {
  BOX_COLOUR,
  browserProfiles,
  browsers,
  CHROMIUM,
  colourCount,
  decodePng,
  FixtureServer,
  jpegSize,
  NO_CHROMIUM,
  noisePng,
  PASSWORD,
  pixel,
  plainPng,
  pngSize,
  processesUsing,
  USER,
} from "../support/images";
import { tempDir } from "../support/tempDir";

/** A test that needs the browser runs for real where one is installed, and says why it skipped where not. */
function needsChromium(t: TestContext): string | undefined {
  if (!CHROMIUM) t.skip(NO_CHROMIUM);
  return CHROMIUM;
}

async function rejectsWith(work: Promise<unknown>, code: string): Promise<ScreenshotError> {
  try {
    await work;
  } catch (err) {
    assert.ok(err instanceof ScreenshotError, `expected a ScreenshotError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    return err;
  }
  assert.fail(`expected ${code}`);
}

/** A loopback URL where nothing listens (a port just freed: Chromium refuses well-known ones such as 9). */
async function closedPortUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}/`;
}

const page = (url: string, more: Partial<Parameters<Screenshotter["capturePage"]>[0]> = {}) => ({
  url,
  width: 640,
  height: 400,
  format: "png" as const,
  timeoutMs: 20_000,
  ...more,
});

let fixtures: FixtureServer;
before(async () => {
  fixtures = await new FixtureServer().listen();
  fixtures.images["/snapshot.png"] = plainPng(64, 48, [0, 128, 255]);
  fixtures.images["/big.png"] = noisePng(300, 300);
});
after(() => fixtures.close());

describe("findChromium", () => {
  it("takes a configured path only, and says where it looked", () => {
    assert.deepEqual(findChromium("/nowhere/chromium"), { tried: ["/nowhere/chromium"] });
  });

  it("tries the environment variable, then the usual places", () => {
    const dir = tempDir("alarm-mail-chromium-path-");
    const fake = join(dir, "chrome");
    writeFileSync(fake, "#!/bin/sh\n");
    chmodSync(fake, 0o755);
    assert.equal(findChromium("", { ALARM_MAIL_CHROMIUM: fake }).path, fake);
    const none = findChromium("", { CHROMIUM_PATH: join(dir, "missing") });
    assert.equal(none.tried[0], join(dir, "missing"));
    assert.equal(none.tried[1], "/usr/bin/chromium");
  });

  it("refuses a file that cannot be run", () => {
    const dir = tempDir("alarm-mail-chromium-path-");
    const file = join(dir, "chromium");
    writeFileSync(file, "");
    assert.equal(findChromium(file).path, undefined);
  });
});

describe("settings and names", () => {
  it("checks the settings once, with the field and the range", () => {
    const config = parseScreenshotConfig({ url: "http://127.0.0.1:1880/dashboard" });
    assert.equal(config.mode, "page");
    assert.equal(config.width, 1280);
    assert.equal(config.maxBytes, 1024 * 1024);
    assert.throws(
      () => parseScreenshotConfig({ mode: "page", url: "http://h/", width: "9000" }),
      (err: ScreenshotError) => err.code === "screenshot-config-invalid" && err.params.field === "width",
    );
    assert.throws(
      () => parseScreenshotConfig({ mode: "image-url", url: "http://admin:pw@cam/snap.jpg" }),
      (err: ScreenshotError) => err.code === "screenshot-url-invalid" && !err.message.includes("pw"),
    );
    assert.throws(
      () => parseScreenshotConfig({ mode: "file" }),
      (err: ScreenshotError) => err.params.field === "path",
    );
    assert.throws(
      () => parseScreenshotConfig({ mode: "page", url: "http://h/", delay: 5000, timeout: 5000 }),
      (err: ScreenshotError) => err.params.field === "delay",
    );
    assert.equal(parseScreenshotConfig({ mode: "payload", maxKB: "0" }).maxBytes, 0);
  });

  it("names the attachment from the template, with the extension of what is attached", () => {
    const now = new Date(2024, 4, 1, 14, 30, 12);
    assert.equal(attachmentName("", {}, "image/png", now), "screenshot-20240501-143012.png");
    assert.equal(
      attachmentName("{{alarm.id}}-{{fileTimestamp}}", { alarm: { id: "LT-201" } }, "image/jpeg", now),
      "LT-201-20240501-143012.jpg",
    );
    assert.equal(attachmentName("hmi.png", {}, "image/jpeg", now), "hmi.jpg");
    assert.equal(attachmentName("hmi.jpeg", {}, "image/jpeg", now), "hmi.jpeg");
    assert.equal(attachmentName("../{{payload}}", { payload: "a/b\r\nc" }, "image/png", now), ".._a_b_c.png");
  });

  it("shows URLs without their query, where cameras keep passwords", () => {
    assert.equal(displayUrl("http://cam.plant/snap.cgi?usr=admin&pwd=secret"), "http://cam.plant/snap.cgi");
  });
});

describe("images from a URL, a file or msg.payload", () => {
  it("recognises PNG, JPEG, GIF and WebP by their signature", () => {
    assert.equal(imageType(plainPng(2, 2, [0, 0, 0])), "image/png");
    assert.equal(imageType(Buffer.from([0xff, 0xd8, 0xff, 0xe0])), "image/jpeg");
    assert.equal(imageType(Buffer.from("GIF89a....")), "image/gif");
    assert.equal(imageType(Buffer.from("RIFF\0\0\0\0WEBPVP8 ")), "image/webp");
    assert.equal(imageType(Buffer.from("<html>")), undefined);
  });

  it("downloads an image from a local HTTP server", async () => {
    const picture = await fetchImage(fixtures.url("/snapshot.png"), { timeoutMs: 5000 });
    assert.equal(picture.contentType, "image/png");
    assert.deepEqual(picture.content, fixtures.images["/snapshot.png"]);
  });

  it("sends the credentials as basic authentication", async () => {
    const before = fixtures.requests.length;
    await fetchImage(fixtures.url("/snapshot.png"), {
      timeoutMs: 5000,
      credentials: { username: USER, password: PASSWORD },
    });
    const sent = fixtures.requests[before].headers.authorization ?? "";
    assert.equal(Buffer.from(sent.replace(/^Basic /, ""), "base64").toString(), `${USER}:${PASSWORD}`);
  });

  it("refuses a 404, a page that is not an image, and an image over the limit", async () => {
    const missing = await rejectsWith(
      fetchImage(fixtures.url("/missing.png?pwd=secret"), { timeoutMs: 5000 }),
      "screenshot-http-status",
    );
    assert.equal(missing.params.status, 404);
    assert.doesNotMatch(missing.message, /secret/);
    await rejectsWith(fetchImage(fixtures.url("/not-an-image"), { timeoutMs: 5000 }), "screenshot-not-image");
    await rejectsWith(
      fetchImage(fixtures.url("/big.png"), { timeoutMs: 5000, maxBytes: 1000 }),
      "screenshot-source-too-large",
    );
    await rejectsWith(fetchImage("file:///etc/passwd", { timeoutMs: 5000 }), "screenshot-url-invalid");
  });

  it("gives up on a server that does not answer in time", async () => {
    const silent = createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    const port = (silent.address() as AddressInfo).port;
    try {
      const err = await rejectsWith(
        fetchImage(`http://127.0.0.1:${port}/snap.jpg`, { timeoutMs: 300 }),
        "screenshot-timeout",
      );
      assert.equal(err.params.step, "download");
    } finally {
      silent.closeAllConnections();
      silent.close();
    }
  });

  it("says why a download failed", async () => {
    const err = await rejectsWith(fetchImage(await closedPortUrl(), { timeoutMs: 2000 }), "screenshot-fetch-failed");
    assert.equal(err.params.reason, "ECONNREFUSED");
  });

  it("reads an image file, and refuses what is not one", async () => {
    const dir = tempDir("alarm-mail-image-");
    writeFileSync(join(dir, "screen.png"), fixtures.images["/snapshot.png"]);
    writeFileSync(join(dir, "notes.txt"), "not an image");
    assert.equal((await readImage(join(dir, "screen.png"))).contentType, "image/png");
    await rejectsWith(readImage(join(dir, "notes.txt")), "screenshot-not-image");
    await rejectsWith(readImage(join(dir, "missing.png")), "screenshot-file-unreadable");
    await rejectsWith(readImage(dir), "screenshot-file-unreadable");
  });

  it("takes msg.payload only as an image Buffer", () => {
    assert.equal(payloadImage(fixtures.images["/snapshot.png"]).contentType, "image/png");
    assert.throws(
      () => payloadImage("iVBORw0KGgo="),
      (err: ScreenshotError) => err.code === "screenshot-payload-invalid",
    );
    assert.throws(
      () => payloadImage(Buffer.from("text")),
      (err: ScreenshotError) => err.code === "screenshot-payload-invalid",
    );
  });
});

describe("Screenshotter without Chromium", () => {
  it("says that there is no Chromium", async () => {
    const shooter = new Screenshotter({ executablePath: "/nonexistent/chromium" });
    const err = await rejectsWith(shooter.capturePage(page(fixtures.url("/page"))), "screenshot-no-chromium");
    assert.equal(err.params.tried, "/nonexistent/chromium");
    assert.equal(shooter.warm, false);
    await shooter.close();
  });
});

describe("Screenshotter in Debian's Chromium", () => {
  let shooter: Screenshotter;
  before(() => {
    if (CHROMIUM) shooter = new Screenshotter({ executablePath: CHROMIUM });
  });
  after(() => shooter?.close());

  it("captures a page served on loopback: a real PNG of the viewport's size, not blank", async (t) => {
    if (!needsChromium(t)) return;
    const picture = await shooter.capturePage(page(fixtures.url("/page")));
    assert.equal(picture.contentType, "image/png");
    assert.deepEqual(pngSize(picture.content), { width: 640, height: 400 });
    const bitmap = decodePng(picture.content);
    assert.deepEqual(pixel(bitmap, 100, 80), BOX_COLOUR, "the red box is at the top left");
    assert.deepEqual(pixel(bitmap, 600, 350), [255, 255, 255], "the page is white elsewhere");
    assert.ok(colourCount(bitmap) > 10, "text is drawn: more than a few flat colours");
  });

  it("captures JPEG with the quality asked", async (t) => {
    if (!needsChromium(t)) return;
    const fine = await shooter.capturePage(page(fixtures.url("/page"), { format: "jpeg", quality: 95 }));
    const coarse = await shooter.capturePage(page(fixtures.url("/page"), { format: "jpeg", quality: 10 }));
    assert.equal(fine.contentType, "image/jpeg");
    assert.equal(imageType(fine.content), "image/jpeg");
    assert.deepEqual(jpegSize(fine.content), { width: 640, height: 400 });
    assert.ok(coarse.content.length < fine.content.length, `${coarse.content.length} < ${fine.content.length}`);
  });

  it("captures the full page when asked", async (t) => {
    if (!needsChromium(t)) return;
    const picture = await shooter.capturePage(page(fixtures.url("/tall"), { fullPage: true }));
    assert.deepEqual(pngSize(picture.content), { width: 640, height: 3000 });
  });

  it("waits for a selector that comes late", async (t) => {
    if (!needsChromium(t)) return;
    const picture = await shooter.capturePage(page(fixtures.url("/late"), { waitFor: "#box" }));
    assert.deepEqual(pixel(decodePng(picture.content), 100, 50), BOX_COLOUR);
  });

  it("logs in with basic authentication when the page asks", async (t) => {
    if (!needsChromium(t)) return;
    const picture = await shooter.capturePage(
      page(fixtures.url("/auth"), { credentials: { username: USER, password: PASSWORD } }),
    );
    assert.deepEqual(pixel(decodePng(picture.content), 100, 50), BOX_COLOUR);
    await rejectsWith(shooter.capturePage(page(fixtures.url("/auth"))), "screenshot-auth-refused");
    await rejectsWith(
      shooter.capturePage(page(fixtures.url("/auth"), { credentials: { username: USER, password: "wrong" } })),
      "screenshot-auth-refused",
    );
  });

  it("fails on a 404, a page that never loads, a selector that never appears, a refused connection", async (t) => {
    if (!needsChromium(t)) return;
    assert.equal(
      (await rejectsWith(shooter.capturePage(page(fixtures.url("/missing"))), "screenshot-http-status")).params.status,
      404,
    );
    const slow = await rejectsWith(
      shooter.capturePage(page(fixtures.url("/never"), { timeoutMs: 1500 })),
      "screenshot-timeout",
    );
    assert.equal(slow.params.step, "load");
    await rejectsWith(
      shooter.capturePage(page(fixtures.url("/page"), { waitFor: "#never", timeoutMs: 1500 })),
      "screenshot-selector-timeout",
    );
    await rejectsWith(
      shooter.capturePage(page(fixtures.url("/page"), { waitFor: "[[[" })),
      "screenshot-selector-invalid",
    );
    const refused = await rejectsWith(shooter.capturePage(page(await closedPortUrl())), "screenshot-page-failed");
    assert.match(String(refused.params.reason), /ERR_CONNECTION_REFUSED/);
  });

  it("downscales a picture over the cap instead of failing", async (t) => {
    if (!needsChromium(t)) return;
    const big = { content: noisePng(800, 600), contentType: "image/png" as const };
    const limit = 150 * 1024;
    assert.ok(big.content.length > 4 * limit);
    const fitted = await shooter.fitImage(big, { format: "png", maxBytes: limit, timeoutMs: 20_000 });
    assert.ok(fitted.content.length <= limit, `${fitted.content.length} <= ${limit}`);
    const size = pngSize(fitted.content);
    assert.ok(size.width < 800 && size.height < 600, JSON.stringify(size));
    assert.ok(Math.abs(size.width / size.height - 800 / 600) < 0.02, "keeps the proportions");
    assert.ok(colourCount(decodePng(fitted.content)) > 1000, "still the picture, not a blank");
    const jpeg = await shooter.fitImage(big, { format: "jpeg", quality: 80, maxBytes: limit, timeoutMs: 20_000 });
    assert.equal(jpeg.contentType, "image/jpeg");
    assert.ok(jpeg.content.length <= limit);
    const small = { content: plainPng(10, 10, [1, 2, 3]), contentType: "image/png" as const };
    assert.equal(await shooter.fitImage(small, { format: "png", maxBytes: limit, timeoutMs: 5000 }), small);
    await rejectsWith(
      shooter.fitImage(big, { format: "png", maxBytes: 100, timeoutMs: 20_000 }),
      "screenshot-too-large",
    );
  });

  it("keeps one warm browser for several captures at once", async (t) => {
    if (!needsChromium(t)) return;
    const pictures = await Promise.all(
      Array.from({ length: 5 }, () => shooter.capturePage(page(fixtures.url("/page"), { width: 320, height: 200 }))),
    );
    for (const picture of pictures) assert.deepEqual(pngSize(picture.content), { width: 320, height: 200 });
    assert.equal(browserProfiles().length, 1, "one browser for all");
  });
});

describe("the browser's lifetime", () => {
  it("starts on the first capture, and close leaves no Chromium process behind", async (t) => {
    const chromium = needsChromium(t);
    if (!chromium) return;
    const shooter = new Screenshotter({ executablePath: chromium });
    const before = new Set(browserProfiles());
    assert.equal(shooter.warm, false);
    await shooter.capturePage(page(fixtures.url("/page")));
    const profiles = browserProfiles().filter((dir) => !before.has(dir));
    assert.equal(profiles.length, 1, "one browser started");
    assert.ok(processesUsing(profiles[0]).length >= 1);
    await shooter.close();
    assert.deepEqual(processesUsing(profiles[0]), [], `no process left using ${profiles[0]}`);
    await rejectsWith(shooter.capturePage(page(fixtures.url("/page"))), "screenshot-closed");
  });

  it("closes the browser after the idle time, and starts it again for the next capture", async (t) => {
    const chromium = needsChromium(t);
    if (!chromium) return;
    const shooter = new Screenshotter({ executablePath: chromium, idleMs: 300 });
    const before = new Set(browserProfiles());
    await shooter.capturePage(page(fixtures.url("/page")));
    const [first] = browserProfiles().filter((dir) => !before.has(dir));
    assert.ok(first);
    const deadline = Date.now() + 10_000;
    while (processesUsing(first).length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(processesUsing(first), [], "closed when idle");
    assert.equal(shooter.warm, false);
    await shooter.capturePage(page(fixtures.url("/page")));
    assert.equal(shooter.warm, true);
    await shooter.close();
  });

  it("a capture under way finishes when close is asked, and its picture is whole", async (t) => {
    const chromium = needsChromium(t);
    if (!chromium) return;
    const shooter = new Screenshotter({ executablePath: chromium });
    const capture = shooter.capturePage(page(fixtures.url("/late"), { waitFor: "#box" }));
    await new Promise((r) => setTimeout(r, 50));
    await shooter.close();
    assert.deepEqual(pngSize((await capture).content), { width: 640, height: 400 });
  });

  it("a browser that died is started again by the next capture", async (t) => {
    const chromium = needsChromium(t);
    if (!chromium) return;
    const shooter = new Screenshotter({ executablePath: chromium });
    const before = new Set(browserProfiles());
    await shooter.capturePage(page(fixtures.url("/page")));
    const [started] = browsers().filter((browser) => !before.has(browser.profile));
    process.kill(started.pid, "SIGKILL");
    const deadline = Date.now() + 10_000;
    while (shooter.warm && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const picture = await shooter.capturePage(page(fixtures.url("/page")));
    assert.deepEqual(pngSize(picture.content), { width: 640, height: 400 });
    await shooter.close();
  });

  it("nodes share one browser per executable; the last release closes it", async (t) => {
    const chromium = needsChromium(t);
    if (!chromium) return;
    const a = leaseScreenshotter(chromium);
    const b = leaseScreenshotter(chromium);
    assert.equal(a.screenshotter, b.screenshotter);
    await a.screenshotter.capturePage(page(fixtures.url("/page")));
    await a.release();
    await a.release();
    assert.equal(b.screenshotter.warm, true, "still held by the other node");
    await b.release();
    assert.equal(b.screenshotter.warm, false);
    const c = leaseScreenshotter(chromium);
    assert.notEqual(c.screenshotter, a.screenshotter, "a new one after the last release");
    await c.release();
  });
});
