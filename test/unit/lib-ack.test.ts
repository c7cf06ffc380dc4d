import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { loadAckKey } from "../../nodes/lib/ack/AckKey";
import { pageLanguage, renderForm, renderOutcome } from "../../nodes/lib/ack/AckPage";
import { AckSigner, type AckClaims } from "../../nodes/lib/ack/AckToken";
import { AttemptLimiter } from "../../nodes/lib/ack/AttemptLimiter";
import { UsedTokens } from "../../nodes/lib/ack/UsedTokens";
import { tempDir } from "../support/tempDir";

const NOW = Date.UTC(2026, 0, 15, 8, 0, 0);
const claims: AckClaims = {
  block: "b1",
  alarm: "LT-101-HH",
  occurrence: "b1/LT-101-HH/mkq3x1",
  recipient: "ana@plant.example",
  expires: NOW + 3_600_000,
};
const folder = () => tempDir("alarm-mail-ack-");

describe("AckSigner", () => {
  const signer = new AckSigner(randomBytes(32));

  it("gives back the claims of a token it signed, and an id unique to each token", () => {
    const first = signer.sign(claims);
    const second = signer.sign(claims);
    assert.match(first, /^[\w-]+\.[\w-]{43}$/, "base64url, URL-safe as it is");
    const a = signer.verify(first, NOW);
    const b = signer.verify(second, NOW);
    assert.ok(a.ok && b.ok);
    assert.deepEqual(a.token.claims, claims);
    assert.notEqual(a.token.id, b.token.id);
    const nobody = signer.verify(signer.sign({ ...claims, recipient: null }), NOW);
    assert.ok(nobody.ok);
    assert.equal(nobody.token.claims.recipient, null);
  });

  it("refuses an expired token as expired, and takes it up to its last millisecond", () => {
    const token = signer.sign(claims);
    assert.equal(signer.verify(token, claims.expires).ok, true);
    assert.deepEqual(signer.verify(token, claims.expires + 1), {
      ok: false,
      reason: "expired",
      expires: claims.expires,
    });
  });

  it("refuses a token signed with another key as forged", () => {
    const other = new AckSigner(randomBytes(32));
    assert.deepEqual(signer.verify(other.sign(claims), NOW), { ok: false, reason: "forged" });
  });

  it("refuses a token whose claims were changed (a later expiry, another alarm, another recipient) as forged", () => {
    const token = signer.sign(claims);
    const [body, mac] = token.split(".");
    const payload = JSON.parse(Buffer.from(body, "base64url").toString("utf8")) as unknown[];
    for (const [index, value] of [
      [5, claims.expires + 86_400_000],
      [2, "PT-301-L"],
      [4, "mallory@example.com"],
    ] as const) {
      const changed = [...payload];
      changed[index] = value;
      const tampered = `${Buffer.from(JSON.stringify(changed)).toString("base64url")}.${mac}`;
      assert.deepEqual(signer.verify(tampered, NOW), { ok: false, reason: "forged" }, `field ${index}`);
    }
  });

  it("refuses, without throwing, MACs of any length and shape and anything that is not a token", () => {
    const token = signer.sign(claims);
    const [body, mac] = token.split(".");
    const macBytes = Buffer.from(mac, "base64url");
    const flipped = (at: number) => {
      const copy = Buffer.from(macBytes);
      copy[at] ^= 1;
      return `${body}.${copy.toString("base64url")}`;
    };
    // A difference in the first byte or the last is refused the same way: the comparison is of the whole MAC.
    for (const bad of [
      flipped(0),
      flipped(31),
      `${body}.`,
      `${body}.${mac.slice(0, 20)}`,
      `${body}.${mac}AAAA`,
      `${body}.${mac}.${mac}`,
      `.${mac}`,
      "",
      "not a token",
      "x".repeat(5000),
    ]) {
      assert.deepEqual(signer.verify(bad, NOW), { ok: false, reason: "forged" }, bad.slice(0, 60));
    }
  });

  it("refuses a key shorter than 32 bytes", () => {
    assert.throws(() => new AckSigner(randomBytes(16)), RangeError);
  });
});

describe("loadAckKey", () => {
  it("makes a 32-byte key readable by its owner only, and gives the same one at the next start", async () => {
    const dir = join(folder(), "ack");
    const key = await loadAckKey(dir);
    assert.equal(key.length, 32);
    assert.equal(statSync(join(dir, ".key")).mode & 0o777, 0o600);
    assert.deepEqual(await loadAckKey(dir), key);
    const signed = new AckSigner(key).sign(claims);
    assert.ok(new AckSigner(await loadAckKey(dir)).verify(signed, NOW).ok, "a link survives a restart");
  });
});

describe("UsedTokens", () => {
  it("remembers a used token across a reopen, and forgets it once it has expired", async () => {
    const dir = folder();
    let now = NOW;
    const used = await UsedTokens.open(dir, { now: () => now });
    await used.add("t1", NOW + 1000);
    await used.add("t2", NOW + 60_000);
    assert.ok(used.has("t1"));
    await used.close();

    const reopened = await UsedTokens.open(dir, { now: () => now });
    assert.ok(reopened.has("t1") && reopened.has("t2"), "single use across a restart");
    assert.equal(reopened.has("t3"), false);
    await reopened.close();

    now = NOW + 2000;
    const later = await UsedTokens.open(dir, { now: () => now });
    assert.equal(later.has("t1"), false, "expired: refused as expired anyway, no longer kept");
    assert.ok(later.has("t2"));
    await later.close();
  });

  it("claims a token at once, before its record is on disk", async () => {
    const used = await UsedTokens.open(folder(), { now: () => NOW });
    const writing = used.add("t1", NOW + 1000);
    assert.ok(used.has("t1"));
    await writing;
    await used.close();
  });

  it("stays bounded: segments of expired tokens are deleted, live ones are kept", async () => {
    const dir = folder();
    let now = NOW;
    const used = await UsedTokens.open(dir, { now: () => now, segmentBytes: 2048 });
    for (let i = 0; i < 200; i++) await used.add(`old-${i}`, now + 1000);
    now += 5000;
    for (let i = 0; i < 200; i++) await used.add(`new-${i}`, now + 3_600_000);
    await used.close();
    const reopened = await UsedTokens.open(dir, { now: () => now, segmentBytes: 2048 });
    assert.equal(reopened.size, 200);
    assert.ok(reopened.has("new-0") && reopened.has("new-199") && !reopened.has("old-0"));
    await reopened.close();
    const segments = readdirSync(dir).filter((name) => name.endsWith(".log"));
    // 400 records of ~60 bytes filled about 12 segments; those of the expired ones are gone.
    assert.ok(segments.length <= 8, `segments left: ${segments.length}`);
    now += 3_600_001;
    await (await UsedTokens.open(dir, { now: () => now, segmentBytes: 2048 })).close();
    assert.ok(readdirSync(dir).filter((name) => name.endsWith(".log")).length <= 1, "all expired: nothing left");
  });
});

describe("AttemptLimiter", () => {
  it("turns a client away after 10 refused tries in a minute, says for how long, and holds no one else", () => {
    const limiter = new AttemptLimiter({ limit: 10, windowMs: 60_000, maxClients: 100 });
    for (let i = 0; i < 10; i++) {
      assert.equal(limiter.waitFor("10.0.0.1", NOW + i), 0);
      limiter.refused("10.0.0.1", NOW + i);
    }
    assert.equal(limiter.waitFor("10.0.0.1", NOW + 10_000), 50_000);
    assert.equal(limiter.waitFor("10.0.0.2", NOW + 10_000), 0, "another client is not held");
    assert.equal(limiter.waitFor("10.0.0.1", NOW + 60_000), 0, "a new window");
  });

  it("remembers at most maxClients, forgetting finished windows first", () => {
    const limiter = new AttemptLimiter({ limit: 1, windowMs: 60_000, maxClients: 3 });
    limiter.refused("a", NOW);
    limiter.refused("b", NOW + 30_000);
    limiter.refused("c", NOW + 30_000);
    limiter.refused("d", NOW + 61_000);
    assert.equal(limiter.size, 3);
    assert.equal(limiter.waitFor("b", NOW + 61_000), 29_000, "b kept");
    assert.equal(limiter.waitFor("a", NOW + 61_000), 0, "a forgotten");
  });
});

describe("ack page", () => {
  const texts = {
    title: "Acknowledge alarm",
    alarm: "Alarm",
    priority: "Priority",
    value: "Value",
    state: "State",
    triggered: "Triggered",
    comment: "Comment",
    name: "Your name",
    nameMissing: "Type your name.",
    as: "You acknowledge as __name__.",
    acknowledge: "Acknowledge",
    "expired.title": "Link expired",
    "expired.text": "It expired at __time__.",
  };
  const alarm = {
    label: '<script>alert("x")</script>',
    id: "LT-101-HH",
    priority: 1,
    value: "4.5",
    state: "in alarm, unacknowledged",
    triggeredAt: "2026-01-15 08:00:00",
  };

  it("chooses the language by Accept-Language, by weight and primary tag, else en-US", () => {
    assert.equal(pageLanguage("fr-CH, fr;q=0.9, en;q=0.8"), "fr");
    assert.equal(pageLanguage("es, de;q=0.5, fr;q=0.4"), "de");
    assert.equal(pageLanguage("en;q=0.2, ro;q=0.9"), "ro");
    assert.equal(pageLanguage("es, it"), "en-US");
    assert.equal(pageLanguage("fr;q=0"), "en-US");
    assert.equal(pageLanguage(undefined), "en-US");
  });

  it("shows the alarm escaped, a comment field, and a name field only when the link names nobody", () => {
    const named = renderForm("fr", texts, { alarm, recipient: "ana@plant.example" });
    assert.match(named, /^<!doctype html><html lang="fr">/);
    assert.doesNotMatch(named, /<script>/);
    assert.match(named, /&lt;script&gt;/);
    assert.match(named, /<form method="post">/);
    assert.match(named, /name="comment"/);
    assert.doesNotMatch(named, /name="name"/);
    assert.match(named, /You acknowledge as ana@plant\.example\./);
    assert.doesNotMatch(named, /(src|href)=/, "nothing loaded from elsewhere");

    const anonymous = renderForm("en-US", texts, {
      alarm,
      recipient: null,
      name: '"><b>',
      comment: "</textarea><b>",
      missingName: true,
    });
    assert.match(anonymous, /name="name"/);
    assert.match(anonymous, /Type your name\./);
    assert.doesNotMatch(anonymous, /<b>/);
  });

  it("says which outcome, with its values escaped", () => {
    const page = renderOutcome("de", texts, "expired", { time: "<08:00>" });
    assert.match(page, /<h1 class="refused">Link expired<\/h1>/);
    assert.match(page, /It expired at &lt;08:00&gt;\./);
  });
});
