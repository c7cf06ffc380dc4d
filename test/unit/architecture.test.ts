import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { describe, it } from "node:test";

/**
 * The layering that ARCHITECTURE.md draws, checked on the source: entries → adapters (nodes/red) → library
 * (nodes/lib), imports only downward, domains in rank order, no circle.
 */
const NODES = join(__dirname, "..", "..", "nodes");

/** Library domains by rank: a domain imports only from domains of a lower rank (and from itself). */
const LIB_RANK: Record<string, number> = {
  common: 0,
  mail: 1,
  alarm: 1,
  trace: 1,
  thread: 1,
  oauth: 2,
  transport: 2,
  digest: 2,
  csv: 2,
  screenshot: 2,
  // Reads the alarm domain's deadline queue.
  escalation: 2,
  outbox: 3,
  // Reads the alarm history, writes CSVs.
  report: 3,
  // Matches replies to the thread store's alarm mails.
  inbox: 2,
  // Signs and checks acknowledge links; renders their page with the mail domain's escaping.
  ack: 2,
  server: 4,
};
/** Adapter folders by rank: the shared kit below the nodes; a node's adapter may read the config nodes it uses. */
const RED_RANK: Record<string, number> = {
  kit: 0,
  server: 1,
  recipients: 1,
  block: 1,
  trace: 1,
  screenshot: 1,
  send: 2,
  csv: 2,
  report: 2,
  escalation: 2,
  inbox: 2,
  // The acknowledge route: checks a link with the server's key, then acknowledges in the block.
  ack: 2,
};
/** Past this a module must be one cohesive class, not a bag of helpers. */
const MAX_LINES = 450;

interface Module {
  file: string;
  imports: string[];
  packages: string[];
  text: string;
}

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sources(path);
    return name.endsWith(".ts") ? [path] : [];
  });
}

function parse(file: string): Module {
  const text = readFileSync(file, "utf8");
  const specs = [...text.matchAll(/(?:from|import)\s*\(?\s*"([^"]+)"/g)].map((m) => m[1]);
  return {
    file: relative(NODES, file),
    text,
    imports: specs.filter((s) => s.startsWith(".")).map((s) => relative(NODES, resolve(dirname(file), s)) + ".ts"),
    packages: specs.filter((s) => !s.startsWith(".")),
  };
}

const modules = sources(NODES).map(parse);
const byFile = new Map(modules.map((m) => [m.file, m]));
const layer = (file: string) => file.split("/");

describe("the import graph of nodes/", () => {
  it("finds every module it imports", () => {
    for (const m of modules) for (const target of m.imports) assert.ok(byFile.has(target), `${m.file} → ${target}`);
  });

  it("keeps the library free of Node-RED and of the layers above it", () => {
    for (const m of modules.filter((m) => m.file.startsWith("lib/"))) {
      assert.ok(!m.packages.some((p) => p === "node-red" || p.startsWith("@node-red/")), `${m.file} imports Node-RED`);
      for (const target of m.imports) assert.ok(target.startsWith("lib/"), `${m.file} imports ${target}`);
    }
  });

  it("imports library domains only downward", () => {
    assert.deepEqual(
      readdirSync(join(NODES, "lib")).sort(),
      Object.keys(LIB_RANK).sort(),
      "every domain folder has a rank",
    );
    for (const m of modules.filter((m) => m.file.startsWith("lib/"))) {
      const [, from] = layer(m.file);
      for (const target of m.imports) {
        const [, to] = layer(target);
        assert.ok(from === to || LIB_RANK[to] < LIB_RANK[from], `${m.file} (${from}) → ${target} (${to})`);
      }
    }
  });

  it("imports adapters only downward, and never an entry", () => {
    assert.deepEqual(readdirSync(join(NODES, "red")).sort(), Object.keys(RED_RANK).sort());
    for (const m of modules.filter((m) => m.file.startsWith("red/"))) {
      const [, from] = layer(m.file);
      for (const target of m.imports) {
        if (target.startsWith("lib/")) continue;
        const [top, to] = layer(target);
        assert.equal(top, "red", `${m.file} imports the entry ${target}`);
        assert.ok(from === to || RED_RANK[to] < RED_RANK[from], `${m.file} (${from}) → ${target} (${to})`);
      }
    }
  });

  it("has no circle", () => {
    const done = new Set<string>();
    const path: string[] = [];
    const visit = (file: string): void => {
      const at = path.indexOf(file);
      assert.equal(at, -1, `circle: ${[...path.slice(at), file].join(" → ")}`);
      if (done.has(file)) return;
      path.push(file);
      for (const target of byFile.get(file)?.imports ?? []) visit(target);
      path.pop();
      done.add(file);
    };
    for (const m of modules) visit(m.file);
  });

  it(`keeps modules over ${MAX_LINES} lines to one cohesive class`, () => {
    for (const m of modules) {
      const lines = m.text.split("\n").length;
      if (lines <= MAX_LINES) continue;
      const classes = m.text.match(/^export (?:abstract )?class /gm) ?? [];
      assert.equal(classes.length, 1, `${m.file} has ${lines} lines and ${classes.length} exported classes`);
    }
  });
});
