import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";

const LOCALES = join(__dirname, "..", "..", "locales");
const LANGUAGES = ["en-US", "fr", "de", "ro"];
const NODE_RED = (
  JSON.parse(readFileSync(join(__dirname, "..", "..", "package.json"), "utf8")) as {
    "node-red": { nodes: object; plugins?: object };
  }
)["node-red"];
const NODES = Object.keys(NODE_RED.nodes);
/** Editor plugins (the outbox sidebar) have a catalogue but no help: the help sidebar documents nodes only. */
const PLUGINS = Object.keys(NODE_RED.plugins ?? {});
/** Config nodes have no ports, so their help has no Inputs or Outputs section. */
const CONFIG_NODES = new Set(["alarm-mail-server", "alarm-mail-recipients"]);

/** The standard help headings, as each language writes them (Node-RED's own catalogues use these words). */
const HEADINGS: Record<string, { inputs: string; outputs: string; details: string }> = {
  "en-US": { inputs: "Inputs", outputs: "Outputs", details: "Details" },
  fr: { inputs: "Entrées", outputs: "Sorties", details: "Détails" },
  de: { inputs: "Eingangsdaten", outputs: "Ausgangsdaten", details: "Details" },
  ro: { inputs: "Intrări", outputs: "Ieșiri", details: "Detalii" },
};

type Catalogue = { [key: string]: string | Catalogue };

/** Every leaf of a catalogue as "a.b.c" → text. */
function leaves(catalogue: Catalogue, prefix = ""): Map<string, string> {
  const found = new Map<string, string>();
  for (const [key, value] of Object.entries(catalogue)) {
    const path = prefix ? `${prefix}.${key}` : key;
    if (typeof value === "string") found.set(path, value);
    else for (const [leaf, text] of leaves(value, path)) found.set(leaf, text);
  }
  return found;
}

/** The i18next interpolations (`__host__`) and the markup a translation must keep as it is. */
const placeholders = (text: string) =>
  [...text.matchAll(/__\w+__|<\/?(?:a|b|i|br|code|em|strong|span|p|ul|li)\b[^>]*>/g)].map((m) => m[0]).sort();

const read = (language: string, file: string) => readFileSync(join(LOCALES, language, file), "utf8");

/**
 * The shape of a help text that a translation must keep: the node it documents, its sections, its documented
 * properties (whose words, like the dialog's labels, are translated) and its list items such as output ports.
 */
function helpShape(html: string) {
  return {
    scripts: [...html.matchAll(/data-help-name="([^"]+)"/g)].map((m) => m[1]),
    sections: (html.match(/<h3>/g) ?? []).length,
    properties: (html.match(/<dt[\s>]/g) ?? []).length,
    items: (html.match(/<li[\s>]/g) ?? []).length,
  };
}

const headings = (html: string) => [...html.matchAll(/<h3>([^<]*)<\/h3>/g)].map((m) => m[1].trim());

describe("locales", () => {
  it("has a catalogue and a help file for every node, a catalogue for every plugin, in every language, and nothing else", () => {
    const expected = [
      ...NODES.flatMap((node) => [`${node}.html`, `${node}.json`]),
      ...PLUGINS.map((plugin) => `${plugin}.json`),
    ].sort();
    for (const language of LANGUAGES) {
      assert.deepEqual(readdirSync(join(LOCALES, language)).sort(), expected, `locales/${language}`);
    }
    assert.deepEqual(readdirSync(LOCALES).sort(), [...LANGUAGES].sort());
  });

  /** A catalogue in another language has the keys of the en-US one, each translated, with the same placeholders. */
  function sameKeys(name: string): void {
    const english = leaves(JSON.parse(read("en-US", `${name}.json`)) as Catalogue);
    for (const language of LANGUAGES.filter((l) => l !== "en-US")) {
      it(`${language}: the same keys as en-US, each translated, with the same placeholders`, () => {
        const translated = leaves(JSON.parse(read(language, `${name}.json`)) as Catalogue);
        const missing = [...english.keys()].filter((key) => !translated.has(key));
        const extra = [...translated.keys()].filter((key) => !english.has(key));
        assert.deepEqual({ missing, extra }, { missing: [], extra: [] });
        for (const [key, text] of english) {
          const other = translated.get(key) ?? "";
          assert.ok(other.trim() !== "" || text.trim() === "", `${language} ${key} is empty`);
          assert.deepEqual(placeholders(other), placeholders(text), `${language} ${key}: placeholders`);
        }
      });
    }
  }

  for (const plugin of PLUGINS) {
    describe(plugin, () => {
      it("keeps its texts under its own name, as the editor reads them", () => {
        assert.deepEqual(Object.keys(JSON.parse(read("en-US", `${plugin}.json`)) as Catalogue), [plugin]);
      });
      sameKeys(plugin);
    });
  }

  for (const node of NODES) {
    describe(node, () => {
      sameKeys(node);

      for (const language of LANGUAGES.filter((l) => l !== "en-US")) {
        it(`${language}: the help has the shape of the en-US help`, () => {
          assert.deepEqual(helpShape(read(language, `${node}.html`)), helpShape(read("en-US", `${node}.html`)));
        });
      }

      for (const language of LANGUAGES) {
        it(`${language}: the help opens with the standard sections`, () => {
          const { inputs, outputs, details } = HEADINGS[language];
          const found = headings(read(language, `${node}.html`));
          const standard = CONFIG_NODES.has(node) ? [details] : [inputs, outputs, details];
          assert.deepEqual(
            found.filter((h) => [inputs, outputs, details].includes(h)),
            standard,
            `${language}: ${found.join(" / ")}`,
          );
        });
      }
    });
  }
});
