import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { join } from "node:path";
import { before, describe, it } from "node:test";
import type { NodeAPI } from "node-red";
import { EscalationError, parseEscalationConfig } from "../../nodes/lib/escalation/EscalationConfig";
import { MailError } from "../../nodes/lib/mail/MailError";
import { describeError } from "../../nodes/red/kit/i18n";

/** Node-RED's own i18n module, from the Node-RED the tests run, with our catalogues registered as its registry does. */
const i18n = createRequire(require.resolve("node-red/package.json"))("@node-red/util").i18n as {
  init(settings: object): void;
  registerMessageCatalog(namespace: string, dir: string, file: string): Promise<void>;
  _(key: string, params?: object): string;
  i: { changeLanguage(lang: string): Promise<unknown> };
};
const LOCALES = join(__dirname, "..", "..", "locales");
const RED = { _: (key: string, params?: object) => i18n._(key, params) } as unknown as NodeAPI;

before(async () => {
  i18n.init({ lang: "en-US" });
  for (const type of ["alarm-mail-server", "alarm-mail-escalation"]) {
    await i18n.registerMessageCatalog(`@alarm-mail/node-red/${type}`, LOCALES, `${type}.json`);
  }
});

/** What the escalation and msg.recipients errors say, in the runtime's language, through the one translator. */
describe("escalation errors in words", () => {
  const refused = (raw: Record<string, unknown>) => {
    try {
      parseEscalationConfig(raw);
    } catch (err) {
      return err;
    }
    throw new Error("accepted");
  };

  it("in English, with the setting and the level named", async () => {
    await i18n.i.changeLanguage("en-US");
    assert.equal(
      describeError(
        RED,
        refused({
          levels: [
            { recipients: "ops", after: 600_000 },
            { recipients: "eng", after: 0 },
          ],
        }),
      ),
      'Level 2 does not come later than the level before it: each level\'s "after" must be greater.',
    );
    assert.equal(
      describeError(RED, new MailError("recipients-unknown", { name: "Night shift" })),
      "msg.recipients names no deployed alarm-mail-recipients node: Night shift (give the id or the name of a recipient group).",
    );
  });

  for (const lang of ["fr", "de", "ro"]) {
    it(`in ${lang}: words of its own, the names kept`, async () => {
      const cases = [
        [new EscalationError("roster-unknown", { level: 2, roster: "astreinte" }), "astreinte"],
        [new EscalationError("occurrence-missing"), "alarm-mail-block"],
        [new MailError("recipients-ambiguous", { name: "Équipe B", count: 2 }), "Équipe B"],
      ] as const;
      await i18n.i.changeLanguage("en-US");
      const english = cases.map(([err]) => describeError(RED, err));
      await i18n.i.changeLanguage(lang);
      for (const [i, [err, name]] of cases.entries()) {
        const text = describeError(RED, err);
        assert.notEqual(text, english[i], `${lang}: ${err.code} is translated`);
        assert.ok(!text.includes(err.code), `${lang}: ${err.code} said in words: ${text}`);
        assert.ok(text.includes(name), `${lang}: ${text} names ${name}`);
      }
      await i18n.i.changeLanguage("en-US");
    });
  }
});
