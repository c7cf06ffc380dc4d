import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { join } from "node:path";
import { before, describe, it } from "node:test";
import type { NodeAPI } from "node-red";
import { AlarmError } from "../../nodes/lib/alarm/AlarmError";
import { CsvError } from "../../nodes/lib/csv/CsvError";
import { MailError } from "../../nodes/lib/mail/MailError";
import { ReportError } from "../../nodes/lib/report/ReportError";
import { ScreenshotError } from "../../nodes/lib/screenshot/ScreenshotError";
import { TraceError } from "../../nodes/lib/trace/TraceError";
import { describeError } from "../../nodes/red/kit/i18n";

/** Node-RED's own i18n module, loaded from the Node-RED that the tests run, with our catalogues as its registry does. */
const i18n = createRequire(require.resolve("node-red/package.json"))("@node-red/util").i18n as {
  init(settings: object): void;
  registerMessageCatalog(namespace: string, dir: string, file: string): Promise<void>;
  _(key: string, params?: object): string;
  i: { changeLanguage(lang: string): Promise<unknown> };
};
const LOCALES = join(__dirname, "..", "..", "locales");
const TYPES = [
  "alarm-mail-server",
  "alarm-mail-block",
  "alarm-mail-csv",
  "alarm-mail-trace",
  "alarm-mail-screenshot",
  "alarm-mail-report",
];
const RED = { _: (key: string, params?: object) => i18n._(key, params) } as unknown as NodeAPI;

before(async () => {
  i18n.init({ lang: "en-US" });
  for (const type of TYPES) await i18n.registerMessageCatalog(`@alarm-mail/node-red/${type}`, LOCALES, `${type}.json`);
});

describe("describeError: one translator for every family of coded errors", () => {
  const cases = [
    new MailError("address-invalid", { field: "to", address: "ops@" }),
    new AlarmError("alarm-unknown", { alarm: "TT-101" }),
    new CsvError("csv-block-missing", { id: "b1" }),
    new TraceError("trace-topic-missing"),
    new ScreenshotError("screenshot-timeout", { ms: 10000, step: "launch" }),
    new ReportError("report-block-missing", { id: "b1" }),
  ];

  for (const lang of ["en-US", "fr"]) {
    it(`says each in its own catalogue's words, in ${lang}`, async () => {
      await i18n.i.changeLanguage(lang);
      for (const err of cases) {
        const text = describeError(RED, err);
        const expected = i18n._(`@alarm-mail/node-red/${err.catalogue}:errors.${err.code}`, {});
        assert.notEqual(text, `errors.${err.code}`, `${err.code} is in the ${err.catalogue} catalogue`);
        assert.ok(!text.includes(err.code), `${lang}: ${err.code} is said in words: ${text}`);
        assert.ok(text.length > 10 && expected.length > 10, text);
      }
      const timeout = describeError(RED, cases[4]);
      const step = i18n._(`@alarm-mail/node-red/alarm-mail-screenshot:alarm-mail-screenshot.step.launch`);
      assert.ok(timeout.includes(step), `the step is translated too: ${timeout}`);
      assert.doesNotMatch(timeout, /\blaunch\b/);
    });
  }

  it("keeps the text of errors that are not ours", () => {
    assert.equal(describeError(RED, new Error("EACCES: permission denied")), "EACCES: permission denied");
    assert.equal(describeError(RED, "plain"), "plain");
  });
});
