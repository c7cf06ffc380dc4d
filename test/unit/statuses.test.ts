import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";

/**
 * Node-RED's guide asks for status texts under 20 characters: longer ones run off the canvas or into the next node.
 * Every status of every catalogue, filled with two-digit counts and the longest time of day, must fit.
 */
const LOCALES = join(__dirname, "..", "..", "locales");
const LANGUAGES = ["en-US", "fr", "de", "ro"];
/** Every node the package registers: a new node's statuses are held to the same rule without a list to keep. */
const TYPES = Object.keys(
  (JSON.parse(readFileSync(join(__dirname, "..", "..", "package.json"), "utf8")) as { "node-red": { nodes: object } })[
    "node-red"
  ].nodes,
);
const LONGEST_TIME = "10:34:11 PM";

function statuses(lang: string, type: string): Record<string, string> {
  const catalogue = JSON.parse(readFileSync(join(LOCALES, lang, `${type}.json`), "utf8")) as Record<
    string,
    Record<string, Record<string, string> | string>
  >;
  const found = catalogue[type]?.status;
  return typeof found === "object" ? found : {};
}

describe("status texts", () => {
  for (const lang of LANGUAGES) {
    it(`fit under 20 characters in ${lang}`, () => {
      let checked = 0;
      for (const type of TYPES) {
        for (const [key, text] of Object.entries(statuses(lang, type))) {
          const filled = text.replace(/__(\w+)__/g, (_all, name: string) =>
            name === "time"
              ? LONGEST_TIME
              : name === "hhmm"
                ? "23:59" /* the escalation's next deadline, HH:MM */
                : "99",
          );
          assert.ok(filled.length < 20, `${lang} ${type}.status.${key}: "${filled}" has ${filled.length} characters`);
          checked++;
        }
      }
      assert.ok(checked >= 25, `every node's statuses were read (${checked})`);
    });
  }
});
