/**
 * The top entries of a V8 CPU profile (`node --cpu-prof`): self time by function, and by package (the folder under
 * node_modules, or this project's own files, or Node.js itself). `node --import tsx bench/profile-top.ts FILE [N]`.
 */
import { readFileSync } from "node:fs";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const [file, count = "15"] = process.argv.slice(2);
if (!file) throw new Error("usage: profile-top.ts FILE.cpuprofile [N]");
const profile = JSON.parse(readFileSync(file, "utf8")) as Profile;
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const selfByFunction = new Map<string, number>();
const selfByPackage = new Map<string, number>();
let total = 0;
profile.samples.forEach((id, i) => {
  const delta = profile.timeDeltas[i] ?? 0;
  const frame = byId.get(id)?.callFrame;
  if (!frame) return;
  total += delta;
  const where = frame.url.replace(/^file:\/\//, "");
  const name = `${frame.functionName || "(anonymous)"} ${where.split("/").slice(-2).join("/")}:${frame.lineNumber + 1}`;
  selfByFunction.set(name, (selfByFunction.get(name) ?? 0) + delta);
  const pkg =
    /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(where)?.[1] ??
    (where.includes("/nodes/") || where.includes("/dist/") ? "alarm-mail" : where === "" ? frame.functionName : "node");
  selfByPackage.set(pkg, (selfByPackage.get(pkg) ?? 0) + delta);
});
const show = (title: string, map: Map<string, number>) => {
  console.log(`${title} (self time, ${(total / 1000).toFixed(0)} ms sampled)`);
  for (const [name, us] of [...map].sort((a, b) => b[1] - a[1]).slice(0, Number(count))) {
    console.log(`${((100 * us) / total).toFixed(1).padStart(5)} %  ${name}`);
  }
};
show("By package", selfByPackage);
show("By function", selfByFunction);

// Inclusive time of this project's functions: a function's own samples and its callees', counted once per sample
// even when it recurses, so that a cost spread over many small callees (nodemailer, JSON, fs) is seen at its cause.
const parent = new Map<number, number>();
for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
const inclusive = new Map<string, number>();
profile.samples.forEach((id, i) => {
  const delta = profile.timeDeltas[i] ?? 0;
  const seen = new Set<string>();
  for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
    const frame = byId.get(at)?.callFrame;
    if (!frame || !/\/(nodes|dist)\//.test(frame.url) || frame.url.includes("node_modules")) continue;
    const where = frame.url.replace(/^file:\/\//, "");
    seen.add(`${frame.functionName || "(anonymous)"} ${where.split("/").slice(-2).join("/")}:${frame.lineNumber + 1}`);
  }
  for (const name of seen) inclusive.set(name, (inclusive.get(name) ?? 0) + delta);
});
show("This project's functions, inclusive", inclusive);
