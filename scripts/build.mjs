// Compiles nodes/ into dist/ and lays the editor files beside the built .js, where Node-RED looks for them.
import { execFileSync } from "node:child_process";
import { cpSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { basename, dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const dist = join(root, "dist");
const locales = join(root, "locales");

rmSync(dist, { recursive: true, force: true });
execFileSync(
  process.execPath,
  [join(root, "node_modules/typescript/bin/tsc"), "-p", join(root, "tsconfig.build.json")],
  {
    stdio: "inherit",
  },
);
// Each .html under nodes/ (a node's, or a plugin's under nodes/plugins/) goes beside the .js that tsc built from it.
for (const file of readdirSync(join(root, "nodes"), { recursive: true })) {
  if (file.endsWith(".html")) cpSync(join(root, "nodes", file), join(dist, file));
}

// Node-RED reads a plugin's catalogue from the locales/ folder beside the plugin's .js. The translations all live in
// the one locales/ folder of the repository: a plugin's catalogue goes beside its .js, the rest beside the nodes'.
const { plugins = {} } = JSON.parse(readFileSync(join(root, "package.json"), "utf8"))["node-red"];
const pluginCatalogues = new Map(
  Object.values(plugins).map((js) => [basename(js).replace(/\.js$/, ".json"), dirname(relative("dist", js))]),
);
for (const language of readdirSync(locales)) {
  for (const file of readdirSync(join(locales, language))) {
    const folder = pluginCatalogues.get(file) ?? ".";
    cpSync(join(locales, language, file), join(dist, folder, "locales", language, file));
  }
}
cpSync(join(root, "icons"), join(dist, "icons"), { recursive: true });
