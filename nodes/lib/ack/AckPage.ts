import { escapeHtml } from "../mail/Template";

/** The languages of the page, as the catalogues name them; the first is the fallback. */
export const PAGE_LANGUAGES = ["en-US", "fr", "de", "ro"] as const;
export type PageLanguage = (typeof PAGE_LANGUAGES)[number];

/** The page's texts in one language: the `ackPage` section of the server's catalogue, `__name__` placeholders. */
export type PageTexts = Readonly<Record<string, string>>;

/** What a link can end in, besides the form: each says what happened, or why nothing did. */
export type Outcome =
  | "done"
  | "already"
  | "forged"
  | "expired"
  | "reused"
  | "outdated"
  | "gone"
  | "unavailable"
  | "unsaved"
  | "busy"
  | "tooLarge";

/** The alarm as the page shows it: texts already in the page's language and the gateway's local time. */
export interface PageAlarm {
  label: string;
  id: string;
  priority: number;
  value: string;
  state: string;
  triggeredAt: string;
}

export interface FormPage {
  alarm: PageAlarm;
  /** The recipient the link names; without one, the page asks for a name. */
  recipient: string | null;
  /** The form as sent, shown again when it lacked a name. */
  comment?: string;
  name?: string;
  missingName?: boolean;
}

/**
 * The language of the page from an Accept-Language header: the first language asked for (by weight) that the
 * catalogues have, matched on its primary tag (fr-CH is fr), else en-US.
 */
export function pageLanguage(header: string | undefined): PageLanguage {
  const asked = (header ?? "")
    .split(",")
    .map((part, index) => {
      const [tag, ...params] = part.trim().split(";");
      const q = params.map((p) => /^\s*q=([\d.]+)\s*$/.exec(p)?.[1]).find((v) => v !== undefined);
      return { tag: tag.trim().toLowerCase(), weight: q === undefined ? 1 : Number(q), index };
    })
    .filter((entry) => entry.tag !== "" && entry.weight > 0)
    .sort((a, b) => b.weight - a.weight || a.index - b.index);
  for (const { tag } of asked) {
    const primary = tag.split("-")[0];
    const found = PAGE_LANGUAGES.find((language) => language.toLowerCase().split("-")[0] === primary);
    if (found) return found;
  }
  return "en-US";
}

/** The GET page: the alarm, a comment field, a name field when the link names nobody, and the one button. */
export function renderForm(language: PageLanguage, texts: PageTexts, page: FormPage): string {
  const t = (key: string, params: Record<string, string | number> = {}) => fill(texts[key] ?? key, params);
  const { alarm } = page;
  const rows: Array<[string, string]> = [
    [t("alarm"), `${alarm.label} (${alarm.id})`],
    [t("priority"), String(alarm.priority)],
    [t("value"), alarm.value],
    [t("state"), alarm.state],
    [t("triggered"), alarm.triggeredAt],
  ];
  const who =
    page.recipient === null
      ? `<label for="name">${t("name")}</label>` +
        (page.missingName ? `<p class="error" id="name-error">${t("nameMissing")}</p>` : "") +
        `<input id="name" name="name" autocomplete="name" maxlength="100" required value="${escapeHtml(page.name ?? "")}"` +
        `${page.missingName ? ' aria-describedby="name-error" autofocus' : ""}>`
      : `<p>${t("as", { name: page.recipient })}</p>`;
  const body =
    `<h1>${t("title")}</h1>` +
    `<dl>${rows.map(([term, value]) => `<dt>${term}</dt><dd>${escapeHtml(value)}</dd>`).join("")}</dl>` +
    `<form method="post">` +
    `<label for="comment">${t("comment")}</label>` +
    `<textarea id="comment" name="comment" rows="3" maxlength="500">${escapeHtml(page.comment ?? "")}</textarea>` +
    who +
    `<button type="submit">${t("acknowledge")}</button>` +
    `</form>`;
  return document(language, t("title"), body);
}

/** A page that ends the visit: what happened, or which check refused the link. */
export function renderOutcome(
  language: PageLanguage,
  texts: PageTexts,
  outcome: Outcome,
  params: Record<string, string | number> = {},
): string {
  const t = (key: string) => fill(texts[key] ?? key, params);
  const good = outcome === "done" || outcome === "already";
  const body =
    `<h1 class="${good ? "ok" : "refused"}">${t(`${outcome}.title`)}</h1>` + `<p>${t(`${outcome}.text`)}</p>`;
  return document(language, t(`${outcome}.title`), body);
}

/** `__name__` placeholders filled, every value escaped; the catalogue's own text is trusted markup-free text. */
function fill(text: string, params: Record<string, string | number>): string {
  return escapeHtml(text).replace(/__(\w+)__/g, (whole, name: string) =>
    name in params ? escapeHtml(String(params[name])) : whole,
  );
}

/** Small, readable on a phone, with nothing loaded from elsewhere (the CSP the route sends allows nothing else). */
function document(language: PageLanguage, title: string, body: string): string {
  return (
    `<!doctype html><html lang="${language}"><head><meta charset="utf-8">` +
    `<meta name="viewport" content="width=device-width, initial-scale=1">` +
    `<meta name="robots" content="noindex"><title>${title}</title><style>${STYLE}</style></head>` +
    `<body><main>${body}</main></body></html>`
  );
}

const STYLE = [
  "body{margin:0;font:16px/1.4 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;background:#f3f4f6;color:#111}",
  "main{max-width:32rem;margin:0 auto;padding:1rem}",
  "h1{font-size:1.3rem;margin:.5rem 0 1rem}",
  "h1.ok{color:#166534}h1.refused{color:#991b1b}",
  "dl{display:grid;grid-template-columns:auto 1fr;gap:.3rem .8rem;background:#fff;padding:.8rem;border-radius:.5rem}",
  "dt{color:#555}dd{margin:0;font-weight:600;overflow-wrap:anywhere}",
  "form{display:flex;flex-direction:column;gap:.4rem;margin-top:1rem}",
  "textarea,input{font:inherit;padding:.6rem;border:1px solid #999;border-radius:.4rem;width:100%;box-sizing:border-box}",
  "button{font:inherit;font-weight:600;margin-top:.8rem;padding:.9rem;border:0;border-radius:.5rem;background:#1d4ed8;color:#fff}",
  ".error{color:#991b1b;margin:0}",
].join("");
