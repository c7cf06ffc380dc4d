/**
 * How long a screenshot takes: cold (start Debian's Chromium, render, capture, close) and warm (the browser kept
 * between captures, as `alarm-mail-screenshot` keeps it), against a same-run baseline, a plain HTTP GET of the same
 * page; then a JPEG capture, a downscale under a size cap, and the memory a warm browser keeps. A dashboard-like page
 * (tiles, an SVG gauge, a table) is served on loopback. `npm run bench:screenshot` (BENCH_ROUNDS=5 by default).
 *
 * The ratios (cold against warm, warm against the GET) are the result; the milliseconds depend on the machine. They
 * are printed and written into bench/RESULTS.md between the bench:screenshot markers.
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { performance } from "node:perf_hooks";
import { findChromium, Screenshotter, type PageCapture } from "../nodes/lib/screenshot/Screenshotter";
import { machine, median, ranAt, runMain, versionOf, writeResults } from "./support";

const ROUNDS = positiveInt(process.env.BENCH_ROUNDS, 5);
const WARM_PER_ROUND = 3;
const GETS_PER_ROUND = 5;
const WIDTH = 1280;
const HEIGHT = 720;

function positiveInt(text: string | undefined, fallback: number): number {
  const value = Number(text);
  return Number.isInteger(value) && value > 0 ? value : fallback;
}

/** A page like a plant dashboard: a header, twelve value tiles, an SVG gauge and an alarm table. */
function dashboard(): string {
  const tiles = Array.from(
    { length: 12 },
    (_, i) =>
      `<div class="tile"><b>LT-${201 + i}</b><span>${(3 + i * 0.37).toFixed(2)} m</span>` +
      `<i style="width:${20 + ((i * 7) % 80)}%"></i></div>`,
  ).join("");
  const rows = Array.from(
    { length: 8 },
    (_, i) =>
      `<tr><td>14:${10 + i}:0${i}</td><td>Pump P-${101 + i} tripped</td><td>${i % 3 ? "acked" : "active"}</td></tr>`,
  ).join("");
  return `<!doctype html><html><head><style>
    body { margin: 0; font: 14px sans-serif; background: #1f2a36; color: #eee; }
    header { background: #c0392b; padding: 12px 20px; font-size: 22px; }
    .grid { display: grid; grid-template-columns: repeat(6, 1fr); gap: 10px; padding: 16px; }
    .tile { background: #2c3e50; border-radius: 6px; padding: 10px; }
    .tile b { display: block; color: #9ab; } .tile span { font-size: 26px; }
    .tile i { display: block; height: 6px; background: #27ae60; margin-top: 8px; }
    table { margin: 0 16px; border-collapse: collapse; width: 60%; } td { border-bottom: 1px solid #456; padding: 6px; }
    </style></head><body><header>Station Nord — wastewater treatment</header><div class="grid">${tiles}</div>
    <svg width="220" height="130" style="float:right;margin-right:40px"><path d="M20 120 A90 90 0 0 1 200 120" fill="none"
    stroke="#456" stroke-width="18"/><path d="M20 120 A90 90 0 0 1 150 45" fill="none" stroke="#e67e22"
    stroke-width="18"/><text x="80" y="110" fill="#eee" font-size="28">7.4 m</text></svg>
    <table>${rows}</table></body></html>`;
}

interface Sample {
  fetch: number[];
  cold: number[];
  warm: number[];
}

async function timed<T>(work: () => Promise<T>): Promise<[number, T]> {
  const start = performance.now();
  const result = await work();
  return [performance.now() - start, result];
}

/** The proportional memory (PSS, shared pages split between processes) of every process of this browser's profile. */
function browserMemoryMb(): number {
  const profiles = execFileSync("pgrep", ["-a", "-P", String(process.pid)], { encoding: "utf8" })
    .split("\n")
    .map((line) => /--user-data-dir=(\S+)/.exec(line)?.[1])
    .filter((dir): dir is string => dir !== undefined);
  let kb = 0;
  for (const profile of profiles) {
    const pids = execFileSync("pgrep", ["-f", profile], { encoding: "utf8" }).split("\n").filter(Boolean);
    for (const pid of pids) {
      try {
        kb += Number(/^Pss:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, "utf8"))?.[1] ?? 0);
      } catch {
        // A process that ended meanwhile holds nothing.
      }
    }
  }
  return kb / 1024;
}

async function main(): Promise<void> {
  const chromium = findChromium().path;
  if (!chromium) throw new Error(`no Chromium (looked at ${findChromium().tried.join(", ")})`);
  const began = performance.now();
  const html = dashboard();
  const server = createServer((_req, res) => {
    res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
    res.end(html);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  const capture: PageCapture = { url, width: WIDTH, height: HEIGHT, format: "png", timeoutMs: 60_000 };
  const version = execFileSync(chromium, ["--version"], { encoding: "utf8" }).trim();

  const samples: Sample = { fetch: [], cold: [], warm: [] };
  const warmShooter = new Screenshotter({ executablePath: chromium });
  await warmShooter.capturePage(capture);
  let png: Buffer = Buffer.alloc(0);
  for (let round = 0; round < ROUNDS; round++) {
    for (let i = 0; i < GETS_PER_ROUND; i++) {
      samples.fetch.push((await timed(async () => (await fetch(url)).text()))[0]);
    }
    const coldShooter = new Screenshotter({ executablePath: chromium });
    samples.cold.push((await timed(() => coldShooter.capturePage(capture)))[0]);
    await coldShooter.close();
    for (let i = 0; i < WARM_PER_ROUND; i++) {
      const [ms, picture] = await timed(() => warmShooter.capturePage(capture));
      samples.warm.push(ms);
      png = picture.content;
    }
    console.log(
      `round ${round + 1}: GET ${median(samples.fetch.slice(-GETS_PER_ROUND)).toFixed(1)} ms, ` +
        `cold ${samples.cold.at(-1)?.toFixed(0)} ms, warm ${median(samples.warm.slice(-WARM_PER_ROUND)).toFixed(0)} ms`,
    );
  }
  const jpegMs: number[] = [];
  let jpeg: Buffer = Buffer.alloc(0);
  for (let i = 0; i < WARM_PER_ROUND; i++) {
    const [ms, picture] = await timed(() => warmShooter.capturePage({ ...capture, format: "jpeg", quality: 80 }));
    jpegMs.push(ms);
    jpeg = picture.content;
  }
  const cap = Math.round(png.length / 4);
  const fitMs: number[] = [];
  let fitted: Buffer = Buffer.alloc(0);
  for (let i = 0; i < WARM_PER_ROUND; i++) {
    const [ms, picture] = await timed(() =>
      warmShooter.fitImage(
        { content: png, contentType: "image/png" },
        { format: "png", maxBytes: cap, timeoutMs: 60_000 },
      ),
    );
    fitMs.push(ms);
    fitted = picture.content;
  }
  const memory = browserMemoryMb();
  await warmShooter.close();
  server.close();

  const get = median(samples.fetch);
  const cold = median(samples.cold);
  const warm = median(samples.warm);
  const fmt = (values: number[]) => values.map((v) => v.toFixed(0)).join(", ");
  const rows = [
    ["HTTP GET of the page (baseline)", get, samples.fetch.length, "", "**1.00×**"],
    [
      "cold: start Chromium, capture PNG, close",
      cold,
      samples.cold.length,
      fmt(samples.cold),
      `**${(cold / get).toFixed(0)}×**`,
    ],
    [
      "warm: capture PNG, browser kept",
      warm,
      samples.warm.length,
      fmt(samples.warm),
      `**${(warm / get).toFixed(0)}×**`,
    ],
    [
      "warm: capture JPEG (quality 80)",
      median(jpegMs),
      jpegMs.length,
      fmt(jpegMs),
      `**${(median(jpegMs) / get).toFixed(0)}×**`,
    ],
    [
      "downscale the PNG under ¼ of its size",
      median(fitMs),
      fitMs.length,
      fmt(fitMs),
      `**${(median(fitMs) / get).toFixed(0)}×**`,
    ],
  ];
  const table = [
    "| candidate | ms (median) | runs | each (ms) | ratio to the GET |",
    "| --- | ---: | ---: | --- | ---: |",
    ...rows.map(
      ([name, ms, runs, each, ratio]) => `| ${name} | ${(ms as number).toFixed(1)} | ${runs} | ${each} | ${ratio} |`,
    ),
  ].join("\n");
  const block = [
    ranAt((performance.now() - began) / 1000),
    "",
    `- Machine: ${machine({ tidyModel: true })}, ${version}, playwright-core ${versionOf("playwright-core/package.json")}`,
    "- Command: `npm run bench:screenshot`",
    `- A ${WIDTH}×${HEIGHT} dashboard-like page on 127.0.0.1; ${ROUNDS} rounds of ${GETS_PER_ROUND} GETs, 1 cold and ${WARM_PER_ROUND} warm captures, after one warm-up capture; medians shown`,
    "",
    table,
    "",
    `- Cold against warm: ${(cold / warm).toFixed(1)}× (${cold.toFixed(0)} against ${warm.toFixed(0)} ms): keeping the browser saves ${(cold - warm).toFixed(0)} ms a capture.`,
    `- The PNG takes ${(png.length / 1024).toFixed(0)} KB, the JPEG ${(jpeg.length / 1024).toFixed(0)} KB; downscaled under ${(cap / 1024).toFixed(0)} KB it takes ${(fitted.length / 1024).toFixed(0)} KB at ${fitted.readUInt32BE(16)}×${fitted.readUInt32BE(20)}.`,
    `- The warm browser keeps ${memory.toFixed(0)} MB (PSS of all its processes) between captures, until it closes after 60 s idle.`,
  ].join("\n");
  console.log(`\n${block}`);
  await writeResults("screenshot", "`bench/screenshot.bench.ts`: screenshot time, cold and warm", block);
}

runMain(main, { exit: false });
