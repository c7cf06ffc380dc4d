/**
 * A short, readable form of a value for an error message: never a whole object dumped into a log, and never a throw
 * (`String()` throws on an object without a prototype, which a msg may carry).
 */
export function valueText(value: unknown): string {
  if (typeof value === "string") return value.length > 40 ? `"${value.slice(0, 39)}…"` : `"${value}"`;
  if (value === null || value === undefined || typeof value === "number" || typeof value === "boolean") {
    return String(value);
  }
  if (Array.isArray(value)) return "an array";
  if (Buffer.isBuffer(value)) return "a Buffer";
  return typeof value === "object" ? "an object" : `a ${typeof value}`;
}
