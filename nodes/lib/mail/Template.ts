import Mustache from "mustache";
import { MailError } from "./MailError";

/** The values a template sees: msg fields, `alarm`, `event`, `flow`, `global`, `timestamp`, ... */
export type TemplateView = Record<string, unknown>;

export type TemplateKind = "text" | "html";

const keepAsIs = (value: unknown): string => String(value);
/** Text made safe inside HTML: what a template does to every {{value}}. */
export const escapeHtml = (value: unknown): string =>
  String(value).replace(
    /[&<>"'`=/]/g,
    (c) =>
      ({
        "&": "&amp;",
        "<": "&lt;",
        ">": "&gt;",
        '"': "&quot;",
        "'": "&#39;",
        "`": "&#96;",
        "=": "&#61;",
        "/": "&#47;",
      })[c] ?? c,
  );

/**
 * Renders a Mustache template. In HTML every `{{value}}` is escaped, so a process value or a msg field can never
 * add markup; only a template author's explicit `{{{value}}}` inserts raw text. Plain text is not escaped.
 * Objects are shown as JSON rather than "[object Object]", which is what an engineer wants in a mail.
 */
export function renderTemplate(template: string, view: TemplateView, kind: TemplateKind, field: string): string {
  try {
    return Mustache.render(template, readable(view), undefined, {
      escape: kind === "html" ? escapeHtml : keepAsIs,
    });
  } catch (err) {
    throw new MailError("template-invalid", { field, reason: err instanceof Error ? err.message : String(err) });
  }
}

/** Mustache calls String() on leaves; give objects and Dates a readable form without losing section lookups. */
function readable(view: TemplateView): TemplateView {
  return new Proxy(view, {
    get(target, key, receiver) {
      return wrap(Reflect.get(target, key, receiver));
    },
  });
}

function wrap(value: unknown): unknown {
  if (value instanceof Date) return value.toISOString();
  if (value === null || typeof value !== "object" || Array.isArray(value) || Buffer.isBuffer(value)) return value;
  return new Proxy(value, {
    get(target, key, receiver) {
      if (key === "toString") return () => JSON.stringify(target);
      return wrap(Reflect.get(target, key, receiver));
    },
  });
}

/** `{{timestamp}}` in the gateway's local time as operators read it, `{{isoTimestamp}}` for machines. */
export function timestampFields(date: Date): { timestamp: string; isoTimestamp: string } {
  const pad = (n: number) => String(n).padStart(2, "0");
  const timestamp =
    `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ` +
    `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
  return { timestamp, isoTimestamp: date.toISOString() };
}
