/**
 * A record of keys and values, such as a msg payload of tag values or a CSV row. A function node builds its objects
 * in a VM context whose `Object.prototype` is not the runtime's, so the test is "an object whose prototype is some
 * realm's Object.prototype (or none)", not identity with ours. Arrays, Buffers, Dates, Maps and class instances are
 * not records.
 */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null) return false;
  if (Object.prototype.toString.call(value) !== "[object Object]") return false;
  const proto = Object.getPrototypeOf(value) as object | null;
  return proto === null || Object.getPrototypeOf(proto) === null;
}

/** What a value is, for an error that names a wrong msg field: "string", "object", "array", "Buffer", "null". */
export function typeName(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  if (Buffer.isBuffer(value)) return "Buffer";
  return typeof value;
}
