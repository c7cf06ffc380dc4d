/** A placeholder as Node-RED's catalogues write them: `__name__`. */
const PLACEHOLDER = /__(\w+?)__/;

/** A value for a placeholder; a function is called only when the text has that placeholder. */
export type PlaceholderValue = string | number | (() => string);

/**
 * A catalogue text with `__name__` placeholders, filled as i18next does with Node-RED's settings (no escaping), for
 * texts built thousands of times a second: the template is looked up and split once, then each fill is one pass
 * over its parts instead of a full translation. A placeholder without a value stays as it is, as i18next leaves it.
 */
export class TextTemplate {
  /** Literal text at even indexes, placeholder names at odd ones. */
  private readonly parts: string[];

  constructor(template: string) {
    this.parts = template.split(PLACEHOLDER);
  }

  fill(params: Readonly<Record<string, PlaceholderValue>>): string {
    const parts = this.parts;
    let text = parts[0];
    for (let i = 1; i < parts.length; i += 2) {
      const value = params[parts[i]];
      text += value === undefined ? `__${parts[i]}__` : typeof value === "function" ? value() : String(value);
      text += parts[i + 1];
    }
    return text;
  }
}
