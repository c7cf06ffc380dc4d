import assert from "node:assert/strict";
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { chromium, type Browser } from "playwright-core";
import { SmtpSink } from "../../dev/SmtpSink";
import { HIGH } from "../support/alarms";
import { SCREENSHOTS } from "../support/Editor";
import { CHROMIUM, NO_CHROMIUM, pngSize } from "../support/images";
import { NodeRedProcess } from "../support/NodeRedProcess";
import { smtpServer } from "../support/smtp";

const LINK = /https?:\/\/\S+\/alarm-mail\/ack\/[\w.-]+/;
/** A phone as the operator holds it: a small screen, touch, twice the pixels. */
const PHONE = { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true };

/** A block, and one group whose mails carry a link that names nobody (the page then asks for a name). */
function flow(smtpPort: number, baseUrl: string): object[] {
  const inject = (id: string, value: number) => ({
    id,
    z: "tab",
    type: "inject",
    props: [{ p: "payload" }, { p: "topic", vt: "str" }],
    topic: "LT-201",
    payload: String(value),
    payloadType: "num",
    wires: [["block"]],
  });
  return [
    { id: "tab", type: "tab", label: "ack page" },
    smtpServer("server", smtpPort, { ackBaseUrl: baseUrl }),
    { id: "ops", type: "alarm-mail-recipients", to: "shift@plant.example" },
    { id: "block", z: "tab", type: "alarm-mail-block", block: "WWTP Nord", alarms: [HIGH], wires: [["send"]] },
    inject("high", 8.4),
    inject("normal", 2),
    { id: "send", z: "tab", type: "alarm-mail-send", server: "server", recipients: "ops", wires: [[], []] },
  ];
}

describe("the acknowledge page on a phone, in Chromium", { skip: CHROMIUM ? false : NO_CHROMIUM }, () => {
  let smtp: SmtpSink;
  let red: NodeRedProcess;
  let browser: Browser;

  /** The link of the next alarm mail about `event` ("Acknowledge: <link>" ends the default body). */
  const nextMail = async (from: number): Promise<{ text: string; index: number }> => {
    const received = await smtp.waitFor(from + 1, 20_000);
    return { text: (await received[from].parse()).text ?? "", index: from + 1 };
  };

  before(async () => {
    smtp = new SmtpSink({ starttls: false });
    await smtp.listen();
    red = await NodeRedProcess.start();
    await red.deploy(flow(smtp.port, red.url));
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--disable-gpu", "--disable-quic"] });
  });
  after(async () => {
    await browser?.close();
    await red?.stop();
    await smtp?.close();
  });

  for (const [locale, words] of [
    ["en-US", { title: "Acknowledge alarm", button: "Acknowledge", done: "Acknowledged", name: "Your name" }],
    ["fr-FR", { title: "Acquitter l'alarme", button: "Acquitter", done: "Acquittée", name: "Votre nom" }],
  ] as const) {
    it(`${locale}: opens the link, types a name and a comment, acknowledges, and leaves pictures`, async () => {
      const start = smtp.received.length;
      await red.inject("high");
      const trigger = await nextMail(start);
      const link = LINK.exec(trigger.text)?.[0];
      assert.ok(link, trigger.text);

      const context = await browser.newContext({ ...PHONE, locale });
      const page = await context.newPage();
      try {
        await page.goto(link);
        await page.getByRole("heading", { name: words.title }).waitFor();
        // The page fits the phone: nothing wider than the screen to scroll sideways.
        assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth));
        await page.getByLabel(words.name).fill("Chris Night");
        await page
          .locator("#comment")
          .fill(locale === "fr-FR" ? "Vanne fermée, ronde à 9 h" : "Valve closed, round at 9");
        const language = locale.slice(0, 2);
        mkdirSync(SCREENSHOTS, { recursive: true });
        const formPicture = join(SCREENSHOTS, `alarm-mail-ack-page-${language}.png`);
        await page.screenshot({ path: formPicture, animations: "disabled" });
        assert.deepEqual(
          pngSize(readFileSync(formPicture)),
          { width: 780, height: 1688 },
          "a phone's screen at twice its pixels",
        );

        await page.getByRole("button", { name: words.button }).tap();
        await page.getByRole("heading", { name: words.done }).waitFor();
        assert.match(await page.locator("main").innerText(), /Chris Night/);
        await page.screenshot({
          path: join(SCREENSHOTS, `alarm-mail-ack-done-${language}.png`),
          animations: "disabled",
        });
      } finally {
        await context.close();
      }

      // The confirmation went out through the send node, naming who acknowledged.
      const confirmation = await nextMail(trigger.index);
      assert.match(confirmation.text, /acknowledged by Chris Night/);
      // Back to normal, so that the next language gets an occurrence of its own.
      await red.inject("normal");
      await nextMail(confirmation.index);
    });
  }
});
