import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { NextFunction, Request, Response } from "express";
import type { NodeAPI } from "node-red";
import {
  pageLanguage,
  renderForm,
  renderOutcome,
  type Outcome,
  type PageLanguage,
  type PageTexts,
} from "../../lib/ack/AckPage";
import type { VerifiedToken } from "../../lib/ack/AckToken";
import { AttemptLimiter } from "../../lib/ack/AttemptLimiter";
import { findBlock, type MessageAlarm } from "../block/BlockNode";
import { ACK_ROUTE, ackLinksEnabled, ackState } from "../server/ackLinks";

/**
 * A form of a comment and a name is far smaller (the page's fields take 500 and 100 characters); a larger body is
 * refused unread, and nothing is acknowledged: the comment and name it held could not be kept with the ack.
 */
const MAX_FORM_BYTES = 8 * 1024;
const MAX_COMMENT = 500;
const MAX_NAME = 100;

/** What a guesser gets: counted against the address. */
const REFUSED = new Set<Outcome>(["forged", "expired", "reused", "outdated", "gone"]);

const STATUS: Record<Outcome, number> = {
  done: 200,
  already: 200,
  forged: 403,
  expired: 410,
  reused: 409,
  outdated: 409,
  gone: 404,
  unavailable: 503,
  unsaved: 503,
  busy: 429,
  tooLarge: 413,
};

/**
 * `GET` and `POST /alarm-mail/ack/:token` under httpNode, where the people who get alarm mails reach the gateway
 * without an editor login; the signed token is their only credential. GET shows the alarm and a form and changes
 * nothing (mail scanners open every link); only the form's POST acknowledges. Registered once for the runtime; while
 * no server node has an `ackBaseUrl`, the route passes every request on, as if it did not exist.
 */
export function registerAckEndpoints(RED: NodeAPI): void {
  // Node-RED without httpNode routes (httpNodeRoot: false) has no httpNode app.
  const app = (RED as unknown as { httpNode?: NodeAPI["httpNode"] }).httpNode;
  if (!app) return;
  const limiter = new AttemptLimiter();
  /** Links whose POST is under way: a second POST of the same link meanwhile is a reuse. */
  const inFlight = new Set<string>();
  const handle = (post: boolean) => (req: Request, res: Response, next: NextFunction) => {
    if (!ackLinksEnabled()) {
      next();
      return;
    }
    const client = req.ip ?? req.socket.remoteAddress ?? "";
    const page = new Page(req, res, () => limiter.refused(client, Date.now()));
    const wait = limiter.waitFor(client, Date.now());
    if (wait > 0) {
      const seconds = Math.ceil(wait / 1000);
      res.setHeader("Retry-After", String(seconds));
      page.outcome("busy", { seconds });
      return;
    }
    const answer = post ? acknowledge(RED, page, req, inFlight) : show(RED, page, req);
    answer.catch((err: unknown) => {
      RED.log.error(
        RED._("alarm-mail-server.ack.failed", { reason: err instanceof Error ? err.message : String(err) }),
      );
      if (!res.headersSent) page.outcome("unavailable");
    });
  };
  app.get(ACK_ROUTE, handle(false));
  app.post(ACK_ROUTE, handle(true));
}

/** The checks every request passes: the signature, the expiry, a single use, a block that is still deployed. */
async function checked(RED: NodeAPI, page: Page, req: Request): Promise<VerifiedToken | undefined> {
  const { signer, used } = await ackState(RED);
  const check = signer.verify(String(req.params.token ?? ""), Date.now());
  if (!check.ok) {
    page.outcome(check.reason, check.reason === "expired" ? { time: localTime(check.expires) } : {});
    return undefined;
  }
  const { claims, id } = check.token;
  if (used.has(id)) {
    page.outcome("reused");
    return undefined;
  }
  if (!findBlock(RED, claims.block)) {
    page.outcome("gone");
    return undefined;
  }
  return check.token;
}

async function show(RED: NodeAPI, page: Page, req: Request): Promise<void> {
  const token = await checked(RED, page, req);
  if (!token) return;
  const { claims } = token;
  const alarm = findBlock(RED, claims.block)?.alarm(claims.alarm);
  if (!alarm) page.outcome("gone");
  else if (alarm.occurrence !== claims.occurrence) page.outcome("outdated");
  else if (alarm.ackedAt !== null || (alarm.state !== "unacked" && alarm.state !== "rtn-unacked")) {
    page.outcome("already", { alarm: alarm.label });
  } else page.form(alarm, claims.recipient, {});
}

async function acknowledge(RED: NodeAPI, page: Page, req: Request, inFlight: Set<string>): Promise<void> {
  const form = await readForm(req);
  const token = await checked(RED, page, req);
  if (!token) return;
  const { claims, id } = token;
  if (!form) {
    page.outcome("tooLarge");
    return;
  }
  const block = findBlock(RED, claims.block);
  const alarm = block?.alarm(claims.alarm);
  if (!block || !alarm) {
    page.outcome("gone");
    return;
  }
  const comment = bounded(oneLine(form.get("comment") ?? ""), MAX_COMMENT);
  const name = claims.recipient ?? bounded(oneLine(form.get("name") ?? ""), MAX_NAME);
  // The name is asked for only while there is something to acknowledge; otherwise the block says what became of it.
  const awaiting = alarm.occurrence === claims.occurrence && alarm.ackedAt === null;
  if (name === "" && awaiting) {
    page.form(alarm, null, { comment, missingName: true });
    return;
  }
  if (inFlight.has(id)) {
    page.outcome("reused");
    return;
  }
  inFlight.add(id);
  try {
    const outcome = await block.acknowledgeOccurrence(claims.alarm, claims.occurrence, {
      user: name === "" ? null : name,
      via: "link",
      ...(comment ? { comment } : {}),
    });
    if (outcome === "acked" || outcome === "unsaved") {
      // After the acknowledgement, not before: a crash between the two leaves a link that finds it already done.
      const { used } = await ackState(RED);
      await used.add(id, claims.expires).catch((err: unknown) => {
        const reason = err instanceof Error ? err.message : String(err);
        RED.log.warn(RED._("alarm-mail-server.ack.unrecorded", { reason }));
      });
    }
    const shown: Record<typeof outcome, Outcome> = {
      acked: "done",
      unsaved: "unsaved",
      "already-acked": "already",
      outdated: "outdated",
      "unknown-alarm": "gone",
      "block-unavailable": "unavailable",
    };
    page.outcome(shown[outcome], { alarm: alarm.label, name });
  } finally {
    inFlight.delete(id);
  }
}

/**
 * A typed text as one line: it becomes `alarm.ackBy` and `msg.comment`, which a template may put in a subject, where a
 * line break would make the mail fail.
 */
function oneLine(text: string): string {
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is removed
  return text.replace(/[\u0000-\u001f\u007f\s]+/g, " ").trim();
}

/**
 * At most `max` UTF-16 units, as the page's maxlength counts them, and never half of a surrogate pair (an emoji): a
 * half is no character, and reaches the mail, the history and its CSV as a replacement character.
 */
function bounded(text: string, max: number): string {
  const kept = text.slice(0, max);
  return /[\uD800-\uDBFF]$/.test(kept) ? kept.slice(0, -1) : kept;
}

/**
 * The form's fields: `application/x-www-form-urlencoded`, as a browser posts it, or parsed by an httpNode middleware
 * (the editor's, when it shares the root); undefined for a body over `MAX_FORM_BYTES`.
 */
async function readForm(req: Request): Promise<Map<string, string> | undefined> {
  const fields = new Map<string, string>();
  const parsed: unknown = req.body;
  if (parsed !== null && typeof parsed === "object" && !Buffer.isBuffer(parsed)) {
    for (const [key, value] of Object.entries(parsed)) if (typeof value === "string") fields.set(key, value);
    return fields;
  }
  if (!/^application\/x-www-form-urlencoded\b/i.test(req.headers["content-type"] ?? "")) return fields;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_FORM_BYTES) return undefined;
    chunks.push(chunk);
  }
  for (const [key, value] of new URLSearchParams(Buffer.concat(chunks).toString("utf8"))) fields.set(key, value);
  return fields;
}

/** One answer, in the language the phone asks for, with headers that keep the token where it is. */
class Page {
  private readonly language: PageLanguage;

  constructor(
    req: Request,
    private readonly res: Response,
    /** Told of every link refused, for the limiter. */
    private readonly onRefused: () => void,
  ) {
    this.language = pageLanguage(req.headers["accept-language"]);
  }

  form(alarm: MessageAlarm, recipient: string | null, typed: { comment?: string; missingName?: boolean }): void {
    const state = catalogue(this.language, "alarm-mail-block").state;
    const html = renderForm(this.language, pageTexts(this.language), {
      alarm: {
        label: alarm.label,
        id: alarm.id,
        priority: alarm.priority,
        value: alarm.value === null ? "" : String(alarm.value),
        state: (typeof state === "object" ? state[alarm.state] : undefined) ?? alarm.state,
        triggeredAt: alarm.triggeredAt === null ? "" : localTime(Date.parse(alarm.triggeredAt)),
      },
      recipient,
      ...typed,
    });
    this.send(typed.missingName ? 400 : 200, html);
  }

  outcome(outcome: Outcome, params: Record<string, string | number> = {}): void {
    if (REFUSED.has(outcome)) this.onRefused();
    this.send(STATUS[outcome], renderOutcome(this.language, pageTexts(this.language), outcome, params));
  }

  private send(status: number, html: string): void {
    this.res
      .status(status)
      .set({
        "Content-Type": "text/html; charset=utf-8",
        // The token is in the address: no cache may keep the page, no link may carry it on as a referrer.
        "Cache-Control": "no-store",
        "Referrer-Policy": "no-referrer",
        "X-Content-Type-Options": "nosniff",
        "X-Robots-Tag": "noindex",
        "Content-Security-Policy":
          "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
      })
      .send(html);
  }
}

type Catalogue = { [key: string]: string | Catalogue };
const catalogues = new Map<string, Catalogue>();

/** A node's catalogue in one language, read from the files Node-RED reads: the page's language is not the runtime's. */
function catalogue(language: PageLanguage, node: string): Record<string, Record<string, string> | string> {
  const file = join(__dirname, "..", "..", "locales", language, `${node}.json`);
  let found = catalogues.get(file);
  if (!found) {
    found = (JSON.parse(readFileSync(file, "utf8")) as Record<string, Catalogue>)[node];
    catalogues.set(file, found);
  }
  return found as Record<string, Record<string, string> | string>;
}

/** The `ackPage` texts of the server's catalogue, flattened to "expired.title" keys. */
const texts = new Map<PageLanguage, PageTexts>();
function pageTexts(language: PageLanguage): PageTexts {
  const known = texts.get(language);
  if (known) return known;
  const flat: Record<string, string> = {};
  const walk = (node: unknown, prefix: string) => {
    if (typeof node === "string") flat[prefix] = node;
    else if (node && typeof node === "object") {
      for (const [key, value] of Object.entries(node)) walk(value, prefix ? `${prefix}.${key}` : key);
    }
  };
  walk(catalogue(language, "alarm-mail-server").ackPage, "");
  texts.set(language, flat);
  return flat;
}

/** The gateway's local time, as the alarm mails write it. */
function localTime(at: number): string {
  const d = new Date(at);
  const two = (n: number) => String(n).padStart(2, "0");
  return (
    `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())} ` +
    `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`
  );
}
