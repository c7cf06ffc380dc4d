import { AlarmError } from "./AlarmError";
import { readDuration } from "../common/Duration";
import { migrateConfig } from "../common/ConfigVersion";

/**
 * The configuration of an `alarm-mail-block` node, checked once at deploy: the block's name, its table of alarms and
 * the thresholds of flood and chattering detection, with the migration of older configuration shapes.
 */

export const CONDITIONS = ["high", "low", "equal", "not-equal", "true", "false", "bit"] as const;
export type Condition = (typeof CONDITIONS)[number];

export const ACK_MODES = ["manual", "auto", "none"] as const;
export type AckMode = (typeof ACK_MODES)[number];

/** 1 is the most urgent, as on most HMIs and in ISA-18.2 practice. */
export type Priority = 1 | 2 | 3 | 4;

export interface AlarmDefinition {
  id: string;
  label: string;
  /** The msg.topic (or key of an object payload) whose value this alarm watches. */
  topic: string;
  condition: Condition;
  /** Compared with the value by high, low, equal and not-equal; unused by true, false and bit. */
  setpoint: number;
  /** Hysteresis of high and low: the alarm clears only once the value is this far back past the setpoint. */
  deadband: number;
  /** How long (ms) the condition must hold before the alarm triggers. */
  onDelay: number;
  /** How long (ms) the condition must be gone before the alarm recovers. */
  offDelay: number;
  priority: Priority;
  ack: AckMode;
  /** The bit (0 = least significant) of an integer word that the bit condition watches. */
  bit: number;
  /** A latching alarm stays in alarm after its condition cleared, until a reset command. */
  latch: boolean;
}

export interface BlockOptions {
  /** The block's name in events and mails: a number (1 to 8 on a Pro-face HMI) or a label. */
  block: string | number;
  /** A flood is more than this many triggers within floodWindow ms. */
  floodCount: number;
  floodWindow: number;
  /** An alarm chatters when it triggers this many times or more within chatterWindow ms. */
  chatterCount: number;
  chatterWindow: number;
  /** The most events the history keeps, whatever their age: the bound on its disk size. */
  historySize: number;
  /** Whole days of events the history keeps on disk: the longest report period, and a margin. */
  historyDays: number;
}

/**
 * The rule an alarm row breaks, one word each: the block's catalogue says it as `validation.<rule>`, the same words
 * in the dialog (which marks the row) and in the runtime's error.
 */
export type AlarmRule =
  "object" | "id" | "duplicate" | "topic" | "condition" | "setpoint" | "number" | "priority" | "ack" | "bit" | "latch";

/** A row of the table that the block left out at deploy: the other rows run. */
export interface RefusedAlarm {
  /** 1 for the first row of the table, as the dialog numbers them. */
  row: number;
  /** The row's id as written ("" when it has none). */
  id: string;
  field: string;
  rule: AlarmRule;
}

export interface BlockConfig {
  version: number;
  alarms: AlarmDefinition[];
  options: BlockOptions;
  /** Rows that break a rule, in table order; a valid row never waits for a wrong one to be mended. */
  refused: RefusedAlarm[];
}

export const DEFAULT_OPTIONS: Omit<BlockOptions, "block"> = {
  floodCount: 10,
  floodWindow: 600_000,
  chatterCount: 3,
  chatterWindow: 60_000,
  // About 10 MB on disk: a month of a plant far over the EEMUA rate (3,000 alarms a day) still fits.
  historySize: 100_000,
  historyDays: 35,
};

/** The configuration shape this package writes; the editor stores it in the node's `version` property. */
export const CONFIG_VERSION = 1;

export type RawConfig = Record<string, unknown>;

/**
 * Each entry upgrades a configuration of version `index + 1` to the next one. Version 1 is the first shape; a change
 * of shape (a renamed property, a new unit) adds a function here, so that flows saved by an older editor keep working.
 */
const MIGRATIONS: Array<(config: RawConfig) => RawConfig> = [];

/** A block's configuration brought up to the current version (`migrateConfig`: no version is 1; a newer one, or one that is no version, refused). */
export function migrateBlockConfig(config: RawConfig): RawConfig {
  return migrateConfig(config, CONFIG_VERSION, MIGRATIONS, {
    newer: (params) => new AlarmError("config-version", params),
    invalid: (params) => new AlarmError("block-config-invalid", params),
  });
}

/**
 * Checks a block's configuration (as the flow file holds it) and returns it in the engine's types. A wrong block
 * setting refuses the whole configuration; a wrong alarm row leaves that row out (`refused`), so that one
 * half-filled row does not stop the alarms that are right.
 */
export function parseBlockConfig(raw: RawConfig): BlockConfig {
  const config = migrateBlockConfig(raw);
  const options: BlockOptions = {
    block: blockName(config.block),
    floodCount: optionInteger(config, "floodCount", 1),
    floodWindow: optionInteger(config, "floodWindow", 1),
    chatterCount: optionInteger(config, "chatterCount", 2),
    chatterWindow: optionInteger(config, "chatterWindow", 1),
    historySize: optionInteger(config, "historySize", 1),
    historyDays: optionInteger(config, "historyDays", 1),
  };
  if (!Array.isArray(config.alarms)) throw new AlarmError("block-config-invalid", { field: "alarms", value: "" });
  const seen = new Set<string>();
  const alarms: AlarmDefinition[] = [];
  const refused: RefusedAlarm[] = [];
  config.alarms.forEach((row: unknown, index) => {
    const id = isRow(row) ? text(row.id) : "";
    let alarm: AlarmDefinition;
    try {
      alarm = parseAlarm(row, index);
    } catch (err) {
      const field = err instanceof AlarmError ? String(err.params.field) : "row";
      refused.push({ row: index + 1, id, field, rule: ruleOf(field) });
      return;
    }
    // The first of two rows with one id runs; the second is the one to mend.
    if (seen.has(alarm.id)) {
      refused.push({ row: index + 1, id, field: "id", rule: "duplicate" });
      return;
    }
    seen.add(alarm.id);
    alarms.push(alarm);
  });
  return { version: CONFIG_VERSION, alarms, options, refused };
}

function isRow(row: unknown): row is RawConfig {
  return row !== null && typeof row === "object" && !Array.isArray(row);
}

/** The rule behind a field that parseAlarm refused. */
function ruleOf(field: string): AlarmRule {
  switch (field) {
    case "id":
    case "topic":
    case "condition":
    case "setpoint":
    case "priority":
    case "ack":
    case "bit":
    case "latch":
      return field;
    case "deadband":
    case "onDelay":
    case "offDelay":
      return "number";
    default:
      return "object";
  }
}

function blockName(value: unknown): string | number {
  const text = value === undefined || value === null ? "" : String(value).trim();
  if (text === "") throw new AlarmError("block-config-invalid", { field: "block", value: "" });
  return /^\d+$/.test(text) ? Number(text) : text;
}

function optionInteger(config: RawConfig, field: keyof typeof DEFAULT_OPTIONS, min: number): number {
  const value = config[field];
  if (value === undefined || value === "") return DEFAULT_OPTIONS[field];
  const n = Number(value);
  const time = field === "floodWindow" || field === "chatterWindow";
  if (typeof value === "boolean" || !Number.isInteger(n) || n < min || (time && readDuration(n) === undefined)) {
    throw new AlarmError("block-config-invalid", { field, value: String(value) });
  }
  return n;
}

/** One row of the table. Numbers may come as numeric strings, as they do from a CSV import or a hand-written flow. */
export function parseAlarm(row: unknown, index: number): AlarmDefinition {
  if (!isRow(row)) {
    throw new AlarmError("alarm-config-invalid", { alarm: `#${index + 1}`, field: "row", value: String(row) });
  }
  const fields = row;
  const id = text(fields.id);
  if (id === "" || id === "*")
    throw new AlarmError("alarm-config-invalid", { alarm: `#${index + 1}`, field: "id", value: id });
  const invalid = (field: string): AlarmError =>
    new AlarmError("alarm-config-invalid", { alarm: id, field, value: text(fields[field]) });

  const topic = text(fields.topic);
  if (topic === "") throw invalid("topic");
  const condition = text(fields.condition) as Condition;
  if (!CONDITIONS.includes(condition)) throw invalid("condition");
  const compares = condition === "high" || condition === "low" || condition === "equal" || condition === "not-equal";
  const setpoint = compares ? requiredNumber(fields.setpoint) : (optionalNumber(fields.setpoint, 0) ?? Number.NaN);
  if (!Number.isFinite(setpoint)) throw invalid("setpoint");
  const numbers = {
    deadband: optionalNumber(fields.deadband, 0),
    onDelay: optionalDelay(fields.onDelay),
    offDelay: optionalDelay(fields.offDelay),
  };
  for (const [field, value] of Object.entries(numbers)) if (value === undefined || value < 0) throw invalid(field);
  const priority = Number(text(fields.priority));
  if (![1, 2, 3, 4].includes(priority)) throw invalid("priority");
  const ack = (text(fields.ack) || "manual") as AckMode;
  if (!ACK_MODES.includes(ack)) throw invalid("ack");
  const bit = condition === "bit" ? requiredNumber(fields.bit) : 0;
  if (!Number.isInteger(bit) || bit < 0 || bit > 31) throw invalid("bit");
  const latch = fields.latch === undefined || fields.latch === "" ? false : fields.latch;
  if (typeof latch !== "boolean" && latch !== "true" && latch !== "false") throw invalid("latch");

  return {
    id,
    label: text(fields.label) || id,
    topic,
    condition,
    setpoint,
    deadband: numbers.deadband ?? 0,
    onDelay: numbers.onDelay ?? 0,
    offDelay: numbers.offDelay ?? 0,
    priority: priority as Priority,
    ack,
    bit,
    latch: latch === true || latch === "true",
  };
}

function text(value: unknown): string {
  return value === undefined || value === null ? "" : String(value).trim();
}

function requiredNumber(value: unknown): number {
  if (typeof value === "number") return value;
  if (typeof value !== "string" || value.trim() === "") return Number.NaN;
  return Number(value);
}

/** Empty means none; anything else a time in ms that a timer can wait (undefined when it is not). */
function optionalDelay(value: unknown): number | undefined {
  return value === undefined || value === null || value === "" ? 0 : readDuration(value);
}

/** Empty means the default; anything else must be a finite number. */
function optionalNumber(value: unknown, fallback: number): number | undefined {
  if (value === undefined || value === null || value === "") return fallback;
  const n = requiredNumber(value);
  return Number.isFinite(n) ? n : undefined;
}
