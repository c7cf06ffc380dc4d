/** How a node refuses a configuration version it cannot read, each in the node's own catalogue. */
export interface VersionRefusals {
  /** A whole number above the current version: the flow was saved by a newer package. */
  newer(params: { version: string; supported: number }): Error;
  /**
   * Anything else that is not a version (a word, 0, a negative or fractional number, null, an object): the node's
   * error for an invalid setting, since no package ever wrote it and updating would not help.
   */
  invalid(params: { field: "version"; value: string }): Error;
}

/**
 * The version a configuration says it has: a whole number of 1 or more, as a number or a string of digits (an
 * imported or hand-edited flow may hold either); none (missing or empty) is 1; anything else is undefined.
 */
function readVersion(value: unknown): number | undefined {
  if (value === undefined || value === "") return 1;
  const version = typeof value === "string" && /^\d+$/.test(value) ? Number(value) : value;
  return typeof version === "number" && Number.isSafeInteger(version) && version >= 1 ? version : undefined;
}

/** A value as the error shows it (the catalogues quote it): a string as it is, anything else as JSON, cut to a line. */
function shown(value: unknown): string {
  const text = typeof value === "string" ? value : (JSON.stringify(value) ?? String(value));
  return text.length > 40 ? `${text.slice(0, 39)}…` : text;
}

/**
 * Brings a node's configuration of any version this package knows up to `current`. A configuration without a version
 * predates versioning and has the version 1 shape; each entry of `migrations` upgrades a configuration of version
 * `index + 1` to the next one, so that a flow saved by an older editor keeps working as it did. A version newer than
 * this package, or no version at all, is refused rather than guessed.
 */
export function migrateConfig<C extends { version?: unknown }>(
  config: C,
  current: number,
  migrations: ReadonlyArray<(config: C) => C>,
  refuse: VersionRefusals,
): C {
  const version = readVersion(config.version);
  if (version === undefined) throw refuse.invalid({ field: "version", value: shown(config.version) });
  if (version > current) throw refuse.newer({ version: String(version), supported: current });
  let migrated = config;
  for (let from = version; from < current; from++) migrated = migrations[from - 1](migrated);
  return { ...migrated, version: current };
}
