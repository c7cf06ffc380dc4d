/**
 * Brings a node's configuration of any version this package knows up to `current`. A configuration without a version
 * predates versioning and has the version 1 shape; each entry of `migrations` upgrades a configuration of version
 * `index + 1` to the next one, so that a flow saved by an older editor keeps working as it did. A version newer than
 * this package (or not a version at all) is refused with `refuse`'s error, in the node's own catalogue, rather than
 * guessed.
 */
export function migrateConfig<C extends { version?: unknown }>(
  config: C,
  current: number,
  migrations: ReadonlyArray<(config: C) => C>,
  refuse: (params: { version: string; supported: number }) => Error,
): C {
  const version = config.version === undefined || config.version === "" ? 1 : Number(config.version);
  if (!Number.isInteger(version) || version < 1 || version > current) {
    throw refuse({ version: String(config.version), supported: current });
  }
  let migrated = config;
  for (let from = version; from < current; from++) migrated = migrations[from - 1](migrated);
  return { ...migrated, version: current };
}
