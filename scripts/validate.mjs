// Runs the Node-RED Flow Library scorecard (`node-red-dev validate`) on this package, in a way that works on a
// closed network, and fails when a check fails (the tool itself only prints warnings and exits 0).
//
// node-red-dev's own code does every check; this script adds nothing to the package and patches nothing in
// node_modules. It changes exactly one thing: when https://catalogue.nodered.org/catalogue.json cannot be reached
// (no route, no DNS), node-red-dev is handed an empty catalogue instead of failing outright, and this script says
// loudly that the two checks that need the catalogue did not run. Every other request (the npm registry) is real.
// Expects `npm run build` first: the checks read the editor files under dist/ that package.json points to.
import { createRequire } from "node:module";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const require = createRequire(import.meta.url);
const toolDir = dirname(require.resolve("node-red-dev/package.json"));
// Resolved from inside node-red-dev, so these are the very module instances its checks use.
const toolRequire = createRequire(join(toolDir, "src/libs/checkpackage.js"));
const axios = toolRequire("axios");
const npmRemoteLs = toolRequire("npm-remote-ls");

const CATALOGUE = "https://catalogue.nodered.org/catalogue.json";
let catalogueError = null;

axios.interceptors.request.use((config) => {
  if (config.url !== CATALOGUE) return config;
  const realAdapter = config.adapter || axios.defaults.adapter;
  // A firewall that drops packets would otherwise hang the run forever (axios has no default timeout).
  config.timeout ||= 30_000;
  config.adapter = async (request) => {
    try {
      return await realAdapter(request);
    } catch (err) {
      // The server answered with an error: that is a real failure, not "offline".
      if (err.response) throw err;
      if (!catalogueError) {
        catalogueError = err.code || err.message;
        console.log(
          `⚠️  ${CATALOGUE} unreachable (${catalogueError}): the checks against the Flow Library catalogue did NOT run ` +
            "(P08 similar package names, N01 node type names unique across the Flow Library). node-red-dev is given an " +
            "empty catalogue so the other checks can run; its ✅ lines for P08 and N01 below mean nothing.",
        );
      }
      return { data: { modules: [] }, status: 200, statusText: "OK (offline stand-in)", headers: {}, config: request };
    }
  };
  return config;
});

const outDir = mkdtempSync(join(tmpdir(), "node-red-dev-"));
const scorecardFile = join(outDir, "scorecard.json");
let failed = false;
try {
  const ValidateCommand = require(join(toolDir, "src/commands/validate.js"));
  // --embed: do not let the tool call process.exit, so the scorecard can be checked below.
  await ValidateCommand.run(["--path", root, "--output", scorecardFile, "--embed", "true"], toolDir);
} catch (err) {
  console.error(`node-red-dev validate did not complete: ${err?.stack ?? err}`);
  process.exit(2);
}

const scorecard = JSON.parse(readFileSync(scorecardFile, "utf8"));
rmSync(outDir, { recursive: true, force: true });
const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));

// node-red-dev 0.1.6 records P05 as passed even when the keyword is missing; judge it from package.json.
scorecard.P05 = { test: Array.isArray(pkg.keywords) && pkg.keywords.includes("node-red") };

// node-red-dev 0.1.6 walks the dependency tree of the first dependency only (a `return` inside its loop), and treats
// a package it could not fetch as having no dependencies. Walk every runtime dependency with the same library and the
// tool's own list of incompatible packages, and count a failed fetch as a failure.
const badPackages = JSON.parse(readFileSync(join(toolDir, "src/badpackages.json"), "utf8"));
const d02 = { test: scorecard.D02?.test === true, packages: [...(scorecard.D02?.packages ?? [])], unreadable: [] };
npmRemoteLs.config({
  development: false,
  optional: false,
  logger: { log: (line) => d02.unreadable.push(String(line)) },
});
for (const [name, range] of Object.entries(pkg.dependencies ?? {})) {
  const tree = await new Promise((resolve) => npmRemoteLs.ls(name, range, true, resolve));
  for (const entry of tree) {
    const at = entry.lastIndexOf("@");
    const [depName, depVersion] = [entry.slice(0, at), entry.slice(at + 1)];
    if (badPackages[depName] && toolRequire("semver").satisfies(depVersion, badPackages[depName])) {
      d02.packages.push(`${entry} (under ${name})`);
    }
  }
}
if (d02.packages.length > 0 || d02.unreadable.length > 0) d02.test = false;
scorecard.D02 = d02;

const checks = {
  P01: "licence declared",
  P03: "repository or bugs link",
  P04: "package name (scoped, or node-red-contrib-)",
  P05: "`node-red` keyword",
  P06: "node-red.version covers a current Node-RED",
  P07: "engines.node accepts the Node.js that current Node-RED needs",
  P08: "no similarly named package in the Flow Library",
  N01: "node type names unique in the Flow Library",
  N02: "an example flow for every non-config node",
  D01: "at most 6 dependencies",
  D02: "no known-incompatible package in the dependency tree",
  D03: "runtime dependencies at their latest major",
};
const needsCatalogue = new Set(["P08", "N01"]);
console.log("\n    ---Summary---");
for (const [id, what] of Object.entries(checks)) {
  const result = scorecard[id];
  let verdict;
  if (needsCatalogue.has(id) && catalogueError) verdict = `NOT RUN (catalogue unreachable: ${catalogueError})`;
  else if (!result) verdict = "FAIL (no result recorded)";
  else verdict = result.test === true ? "pass" : "FAIL";
  if (verdict.startsWith("FAIL")) failed = true;
  // N01's `nodes` are the packages that declare one of our types; N02's are the nodes that do have an example
  // (node-red-dev's warning above names the others), so it is not repeated here.
  const labels = {
    packages: "packages",
    nodes: id === "N01" ? "same type in" : null,
    similar: "similar",
    unreadable: "not fetched",
  };
  const detail = Object.entries(labels)
    .filter(([key, label]) => label && verdict.startsWith("FAIL") && result?.[key]?.length)
    .map(([key, label]) => `${label}: ${result[key].join(", ")}`);
  console.log(`${id}  ${verdict.padEnd(4)}  ${what}${detail.length ? ` (${detail.join("; ")})` : ""}`);
}
console.log(failed ? "\nnode-red-dev validate: some checks failed" : "\nnode-red-dev validate: no check failed");
// node-red-dev opens readline interfaces on stdin that would keep the process alive.
process.exit(failed ? 1 : 0);
