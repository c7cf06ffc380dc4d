import type { Request, Response } from "express";
import type { NodeAPI } from "node-red";
import { CodedError, type Catalogue, type ErrorParams } from "../../lib/common/CodedError";
import { isPlainObject } from "../../lib/common/PlainObject";
import { describeError } from "./i18n";

/**
 * The shape of an admin request body, field by field: what each holds, checked before the route does anything.
 * A field that is absent is undefined; a field that is present must have its kind. Fields not named are refused,
 * so that a misspelt option is not silently ignored (and then acted on with its default).
 */
export type BodyField =
  | { kind: "string"; optional?: true; max?: number; oneOf?: readonly string[] }
  | { kind: "strings"; optional?: true; max?: number }
  | { kind: "record"; optional?: true; strings?: true }
  | { kind: "records"; optional?: true; max?: number };

export type BodySchema = Record<string, BodyField>;

type FieldValue<F extends BodyField> = F extends { kind: "string" }
  ? string
  : F extends { kind: "strings" }
    ? string[]
    : F extends { kind: "record" }
      ? Record<string, unknown>
      : Array<Record<string, unknown>>;

export type Body<S extends BodySchema> = {
  [K in keyof S]: S[K] extends { optional: true } ? FieldValue<S[K]> | undefined : FieldValue<S[K]>;
};

/** What a refused field should have been: a term of the route's catalogue (`<type>.expected.<term>`). */
type Expected = BodyField["kind"] | "choice" | "texts" | "object" | "none";

/** The longest text a field may hold, unless its schema says otherwise: an address, a CSV, never a flood. */
const MAX_TEXT = 1_000_000;
const MAX_ITEMS = 100_000;

/**
 * Why a request was refused: a body field and what it should have been (a term of the route's catalogue), or a node
 * id that names no node.
 */
class RequestError extends CodedError<"request-invalid" | "node-unknown"> {
  static field(catalogue: Catalogue, field: string, expected: Expected) {
    return new RequestError(catalogue, "request-invalid", { field, expected });
  }

  private constructor(catalogue: Catalogue, code: "request-invalid" | "node-unknown", params: ErrorParams) {
    super(catalogue, code, params, { terms: ["expected"] });
  }

  static node(catalogue: Catalogue, id: string): RequestError {
    return new RequestError(catalogue, "node-unknown", { id: shown(id) });
  }
}

/**
 * The body of an admin request, checked against `schema`; undefined when it does not match, after answering
 * 400 with the reason in the runtime's language. Nothing has happened yet, so nothing changed.
 */
export function readBody<S extends BodySchema>(
  RED: NodeAPI,
  req: Request,
  res: Response,
  catalogue: Catalogue,
  schema: S,
): Body<S> | undefined {
  try {
    return checkBody(req.body, catalogue, schema);
  } catch (err) {
    const code = err instanceof CodedError ? err.code : "request-invalid";
    res.status(400).json({ ok: false, code, message: describeError(RED, err) });
    return undefined;
  }
}

function checkBody<S extends BodySchema>(raw: unknown, catalogue: Catalogue, schema: S): Body<S> {
  // Express leaves the body undefined (or {}) when a request has none: that is an empty body.
  const body = raw === undefined ? {} : raw;
  if (!isPlainObject(body)) throw RequestError.field(catalogue, "body", "object");
  for (const key of Object.keys(body)) {
    if (!Object.hasOwn(schema, key)) throw RequestError.field(catalogue, shown(key), "none");
  }
  const checked: Record<string, unknown> = {};
  for (const [field, rule] of Object.entries(schema)) {
    const value = body[field];
    if (value === undefined) {
      if (!rule.optional) throw RequestError.field(catalogue, field, expected(rule));
      continue;
    }
    if (!fits(value, rule)) throw RequestError.field(catalogue, field, expected(rule));
    checked[field] = value;
  }
  return checked as Body<S>;
}

function expected(rule: BodyField): Expected {
  if (rule.kind === "string" && rule.oneOf) return "choice";
  return rule.kind === "record" && rule.strings ? "texts" : rule.kind;
}

function fits(value: unknown, rule: BodyField): boolean {
  switch (rule.kind) {
    case "string":
      return (
        typeof value === "string" &&
        value.length <= (rule.max ?? MAX_TEXT) &&
        (rule.oneOf === undefined || rule.oneOf.includes(value))
      );
    case "strings":
      return (
        Array.isArray(value) &&
        value.length <= (rule.max ?? MAX_ITEMS) &&
        value.every((item) => typeof item === "string" && item.length <= MAX_TEXT)
      );
    case "record":
      return (
        isPlainObject(value) &&
        (!rule.strings || Object.values(value).every((item) => typeof item === "string" && item.length <= MAX_TEXT))
      );
    case "records":
      return Array.isArray(value) && value.length <= (rule.max ?? MAX_ITEMS) && value.every(isPlainObject);
  }
}

/** A key as the error names it: short, whatever a client sent. */
function shown(key: string): string {
  return key.length > 40 ? `${key.slice(0, 39)}…` : key;
}

/**
 * The node id in a route (`/alarm-mail/outbox/:server/...`): any text a flow may use as an id, but never a key of
 * `Object.prototype` (`__proto__`, `constructor`, `toString`), which a lookup table answers with something that is
 * not a node. Undefined after answering 404 when it is not one.
 */
export function routeNodeId(
  RED: NodeAPI,
  req: Request,
  res: Response,
  catalogue: Catalogue,
  param: string,
): string | undefined {
  const id: unknown = req.params[param];
  if (typeof id === "string" && id !== "" && id.length <= 200 && !(id in Object.prototype)) return id;
  unknownNode(RED, res, catalogue, typeof id === "string" ? id : "");
  return undefined;
}

/** The answer to a request about a node that is not deployed (or not of the route's type): 404, nothing done. */
export function unknownNode(RED: NodeAPI, res: Response, catalogue: Catalogue, id: string): void {
  const err = RequestError.node(catalogue, id);
  res.status(404).json({ ok: false, code: err.code, message: describeError(RED, err) });
}
