import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { formatAddress, parseAddressList } from "../../nodes/lib/mail/AddressList";
import { MailError } from "../../nodes/lib/mail/MailError";
import { renderTemplate, timestampFields } from "../../nodes/lib/mail/Template";

const code = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof MailError, String(err));
    return err.code;
  }
  assert.fail("expected a MailError");
};

describe("AddressList", () => {
  it("splits on commas, semicolons and, where typed in the editor, new lines", () => {
    const list = parseAddressList(
      'Jean Dupont <jean@plant.example>; "Doe, J" <j.doe@plant.example>, ops@plant.example\nnight@plant.example',
      "to",
      { lineSeparated: true },
    );
    assert.deepEqual(list, [
      { name: "Jean Dupont", address: "jean@plant.example" },
      { name: "Doe, J", address: "j.doe@plant.example" },
      { name: "", address: "ops@plant.example" },
      { name: "", address: "night@plant.example" },
    ]);
  });

  it("takes an array from a msg", () => {
    assert.deepEqual(
      parseAddressList(["a@plant.example", "b@plant.example"], "cc").map((a) => a.address),
      ["a@plant.example", "b@plant.example"],
    );
  });

  it("takes a single-label domain, as an intranet relay or localhost has", () => {
    assert.deepEqual(
      parseAddressList("ops@localhost, Shift <shift@mailhub>", "to").map((a) => a.address),
      ["ops@localhost", "shift@mailhub"],
    );
  });

  it("refuses what is not an address, naming the entry", () => {
    for (const bad of [
      "operator@plant.",
      "plant.example",
      "a@b.example c@d.example",
      "@plant.example",
      "a@@b.example",
    ]) {
      assert.equal(
        code(() => parseAddressList(bad, "to")),
        "address-invalid",
        bad,
      );
    }
    try {
      parseAddressList("ok@plant.example, nope", "bcc");
    } catch (err) {
      assert.deepEqual((err as MailError).params, { field: "bcc", address: "nope" });
    }
    // Every bad entry of a field is named at once, so that one correction mends them all.
    assert.throws(
      () => parseAddressList("ok@plant.example, nope\nshift lead at plant", "to", { lineSeparated: true }),
      (err: unknown) =>
        err instanceof MailError &&
        err.code === "addresses-invalid" &&
        err.params.addresses === '"nope", "shift lead at plant"',
    );
    // A value that is not text is said to be what it is, not shown as "42" or "[object Object]" and called an address.
    assert.equal(
      code(() => parseAddressList(42 as unknown as string, "to")),
      "field-type",
    );
    assert.equal(
      code(() => parseAddressList({ address: "a@b.example" } as unknown as string, "to")),
      "field-type",
    );
  });

  it("refuses line breaks in msg fields, where they would be an injection", () => {
    assert.equal(
      code(() => parseAddressList("a@plant.example\r\nBcc: x@evil.example", "to")),
      "address-crlf",
    );
  });

  it("formats display names safely for a header", () => {
    assert.equal(formatAddress({ name: 'Shift "B"', address: "b@plant.example" }), '"Shift \\"B\\"" <b@plant.example>');
    assert.equal(formatAddress({ name: "", address: "b@plant.example" }), "b@plant.example");
  });
});

describe("Template", () => {
  const view = {
    payload: { level: 7.4, tag: "<b>" },
    alarm: { label: "Level & high" },
    list: [1, 2],
  };

  it("shows objects as JSON and reaches nested values", () => {
    assert.equal(
      renderTemplate("{{payload}} {{payload.level}} {{#list}}[{{.}}]{{/list}}", view, "text", "body"),
      '{"level":7.4,"tag":"<b>"} 7.4 [1][2]',
    );
  });

  it("escapes in HTML only, and leaves triple braces to the template's author", () => {
    assert.equal(renderTemplate("{{alarm.label}} {{payload.tag}}", view, "text", "body"), "Level & high <b>");
    assert.equal(
      renderTemplate("{{alarm.label}} {{payload.tag}} {{{payload.tag}}}", view, "html", "html"),
      "Level &amp; high &lt;b&gt; <b>",
    );
  });

  it("a broken template is a MailError naming the field", () => {
    assert.equal(
      code(() => renderTemplate("{{#alarm}}", view, "text", "subject")),
      "template-invalid",
    );
  });

  it("gives the local time as operators read it and the ISO time", () => {
    const date = new Date(2026, 10, 27, 8, 5, 9);
    const fields = timestampFields(date);
    assert.equal(fields.timestamp, "2026-11-27 08:05:09");
    assert.equal(fields.isoTimestamp, date.toISOString());
  });
});
