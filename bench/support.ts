/**
 * What every bench shares: the medians, the machine line and the date line of a report, package versions, writing a
 * report into bench/RESULTS.md between its markers, and how a bench's `main` ends the process.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { availableParallelism, cpus, totalmem } from "node:os";
import { dirname, join } from "node:path";

const requireHere = createRequire(__filename);

export const resultsFile = join(__dirname, "RESULTS.md");

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/**
 * A package's version, from its package.json (`name` such as "node-red/package.json"); for a package that exports no
 * package.json, its entry point (`name` such as "csv-stringify") and how many folders above it the package.json is.
 */
export function versionOf(name: string, entryDepth = 0): string {
  const entry = requireHere.resolve(name);
  const file = entryDepth === 0 ? entry : join(dirname(entry), ...Array<string>(entryDepth).fill(".."), "package.json");
  return (JSON.parse(readFileSync(file, "utf8")) as { version: string }).version;
}

/**
 * The machine, as a report's `- Machine:` line starts: CPUs, RAM and Node.js; each bench appends the versions that
 * matter to it. `tidyModel` folds the white space in the CPU's model name.
 */
export function machine(options: { tidyModel?: boolean } = {}): string {
  const model = cpus()[0]?.model;
  const cpu = (options.tidyModel ? model?.replace(/\s+/g, " ").trim() : model) ?? "unknown CPU";
  return `${availableParallelism()} CPUs (${cpu}), ${(totalmem() / 2 ** 30).toFixed(0)} GB RAM, Node.js ${process.version}`;
}

/** The first line of a report: when it ran, and how long it took. */
export function ranAt(seconds: number): string {
  return `Run on ${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC, ${seconds.toFixed(0)} s in all.`;
}

/**
 * Rewrites only the block between `<!-- bench:NAME:start -->` and `<!-- bench:NAME:end -->` in bench/RESULTS.md, so
 * that the hand-written notes around it survive every run; where the markers are missing, appends the block under a
 * `## TITLE` section. Formatted as `prettier --check` wants it, so that a fresh result never fails the lint.
 */
export async function writeResults(name: string, title: string, block: string): Promise<void> {
  const { format, resolveConfig } = await import("prettier");
  const start = `<!-- bench:${name}:start -->`;
  const end = `<!-- bench:${name}:end -->`;
  const generated = `${start}\n${block}\n${end}`;
  const current = existsSync(resultsFile) ? readFileSync(resultsFile, "utf8") : "# Benchmark results\n";
  const from = current.indexOf(start);
  const to = current.indexOf(end);
  const next =
    from >= 0 && to > from
      ? current.slice(0, from) + generated + current.slice(to + end.length)
      : `${current.trimEnd()}\n\n## ${title}\n\n${generated}\n`;
  const options = (await resolveConfig(resultsFile)) ?? {};
  writeFileSync(resultsFile, await format(next, { ...options, filepath: resultsFile }));
}

/**
 * Runs a bench's `main`: the process ends as soon as it is done (0) or failed (1, the error printed). With
 * `exit: false`, a failure only sets the exit code and the process ends when nothing is left to do.
 */
export function runMain(main: () => Promise<void>, options: { exit?: boolean } = {}): void {
  if (options.exit === false) {
    main().catch((err: unknown) => {
      console.error(err);
      process.exitCode = 1;
    });
    return;
  }
  main().then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
