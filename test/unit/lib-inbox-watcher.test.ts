import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { InboxError } from "../../nodes/lib/inbox/InboxError";
import { MailboxWatcher, probeMailbox, type InboxMail, type WatcherState } from "../../nodes/lib/inbox/MailboxWatcher";
import type { AfterRead } from "../../nodes/lib/inbox/InboxSettings";
import { UidMark } from "../../nodes/lib/inbox/UidMark";
import { Dovecot, replyMail } from "../support/Dovecot";
import { until } from "../support/until";
import { tempDir } from "../support/tempDir";

const USER = "alarms@plant.example";

/** A watcher on a test Dovecot that records what it takes; alarm replies are the mails whose subject says so. */
class Probe {
  readonly taken: InboxMail[] = [];
  readonly states: WatcherState[] = [];
  readonly errors: unknown[] = [];
  readonly watcher: MailboxWatcher;

  constructor(dovecot: Dovecot, markFile: string, options: { afterRead?: AfterRead; port?: number } = {}) {
    this.watcher = new MailboxWatcher({
      connection: {
        host: "127.0.0.1",
        port: options.port ?? dovecot.port,
        security: "none",
        rejectUnauthorized: true,
        user: USER,
        password: dovecot.users[USER],
        timeoutMs: 5_000,
      },
      mailbox: "INBOX",
      afterRead: options.afterRead ?? "seen",
      mark: new UidMark(markFile),
      take: (mail) => {
        this.taken.push(mail);
        return Promise.resolve(mail.reply.subject.startsWith("Re:"));
      },
      onState: (state) => this.states.push(state),
      onError: (err) => this.errors.push(err),
      pollMs: 200,
      backoff: { firstMs: 100, maxMs: 400 },
    });
    this.watcher.start();
  }

  get last(): WatcherState | undefined {
    return this.states.at(-1);
  }

  subjects(): string[] {
    return this.taken.map((m) => m.reply.subject);
  }
}

const reply = (subject: string, text = "OK") =>
  replyMail({ from: "Ana Pop <Ana@Plant.example>", subject, text, inReplyTo: "<root@gw>", references: ["<a@gw>"] });

describe("MailboxWatcher on a real Dovecot", () => {
  let dovecot: Dovecot;
  let dir: string;
  before(async () => {
    dovecot = await Dovecot.start();
    dir = tempDir("alarm-mail-watcher-");
  });
  after(async () => {
    await dovecot.close();
  });

  it("takes unseen mail on a first start, then new mail through IDLE, each once, and marks replies seen", async () => {
    const mark = join(dir, "idle.json");
    await dovecot.deliver(USER, reply("Re: before, unseen"));
    await dovecot.deliver(USER, reply("Re: before, read"), "INBOX", ["\\Seen"]);
    const probe = new Probe(dovecot, mark);
    try {
      await until(() => probe.last?.state === "watching", "the watcher to watch");
      assert.deepEqual(probe.last, { state: "watching", idle: true });
      assert.deepEqual(probe.subjects(), ["Re: before, unseen"]);
      await dovecot.deliver(USER, reply("Re: new", "ack\n\nOn Monday Alarm wrote:\n> x"));
      await dovecot.deliver(USER, reply("Lunch?"));
      await until(() => probe.taken.length === 3, "the new mails, through IDLE");
      const taken = probe.taken[1];
      assert.equal(taken.reply.from, "ana@plant.example");
      assert.deepEqual(taken.reply.inReplyTo, ["root@gw"]);
      assert.deepEqual(taken.reply.references, ["a@gw"]);
      assert.match(taken.reply.text, /^ack\r?\n/);
      assert.equal(taken.reply.automatic, false);
      const flags = await dovecot.messages(USER);
      const seen = flags.filter((m) => m.flags.includes("\\Seen")).map((m) => m.uid);
      assert.deepEqual(seen, [1, 2, 3], "the replies and the mail read before; not the lunch invitation");
      const stored = JSON.parse(readFileSync(mark, "utf8")) as { lastUid: number };
      assert.equal(stored.lastUid, 4);
    } finally {
      await probe.watcher.close();
    }
    assert.deepEqual(probe.last, { state: "closed" });

    // A restart resumes after the mark: what came while down is taken, nothing twice.
    await dovecot.deliver(USER, reply("Re: while down"));
    const again = new Probe(dovecot, mark);
    try {
      await until(() => again.taken.length === 1, "the mail that came while down");
      await until(() => again.last?.state === "watching", "the watcher to watch");
      assert.deepEqual(again.subjects(), ["Re: while down"]);
    } finally {
      await again.watcher.close();
    }
  });

  it("reconnects with backoff after the server restarts, and deletes replies when asked", async () => {
    const mark = join(dir, "restart.json");
    const start = (await dovecot.messages(USER)).length;
    const probe = new Probe(dovecot, mark, { afterRead: "delete" });
    try {
      await until(() => probe.last?.state === "watching", "the watcher to watch");
      const before = probe.taken.length;
      await dovecot.restart();
      await until(() => probe.states.some((s) => s.state === "waiting"), "the watcher to notice the restart");
      await until(() => probe.last?.state === "watching", "the watcher to be back", 15_000);
      await dovecot.deliver(USER, reply("Re: after restart"));
      await until(() => probe.taken.length === before + 1, "the mail after the restart");
      await until(async () => (await dovecot.messages(USER)).length === start, "the reply to be deleted");
    } finally {
      await probe.watcher.close();
    }
  });

  it("says why when the server is down, and retries with growing waits", async () => {
    const probe = new Probe(dovecot, join(dir, "down.json"), { port: 1 });
    try {
      await until(() => probe.last?.state === "waiting", "a wait after the refused connection");
      const waiting = probe.last as Extract<WatcherState, { state: "waiting" }>;
      assert.equal(waiting.error.code, "imap-failed");
      assert.match(String(waiting.error.params.reason), /ECONNREFUSED/);
      await until(() => probe.states.filter((s) => s.state === "waiting").length >= 3, "retries");
      const waits = probe.states.flatMap((s) => (s.state === "waiting" ? [s.retryInMs] : []));
      assert.deepEqual(waits.slice(0, 3), [100, 200, 400]);
    } finally {
      await probe.watcher.close();
    }
  });

  it("says a refused login with the server's words, which the message's own full stop then ends", async () => {
    const connection = {
      host: "127.0.0.1",
      port: dovecot.port,
      security: "none" as const,
      rejectUnauthorized: true,
      user: USER,
      password: "not-the-password",
    };
    const refused = await probeMailbox(connection, "INBOX").then(
      () => undefined,
      (err: unknown) => err,
    );
    assert.ok(refused instanceof InboxError);
    assert.equal(refused.code, "imap-auth");
    assert.equal(refused.params.reason, "Authentication failed");
  });
});

describe("MailboxWatcher on a server without IDLE", () => {
  let dovecot: Dovecot;
  let dir: string;
  before(async () => {
    dovecot = await Dovecot.start({ noIdle: true });
    dir = tempDir("alarm-mail-watcher-");
  });
  after(async () => {
    await dovecot.close();
  });

  it("polls", async () => {
    const probe = new Probe(dovecot, join(dir, "poll.json"));
    try {
      await until(() => probe.last?.state === "watching", "the watcher to watch");
      assert.deepEqual(probe.last, { state: "watching", idle: false });
      await dovecot.deliver(USER, reply("Re: polled"));
      await until(() => probe.taken.length === 1, "the mail, by polling");
    } finally {
      await probe.watcher.close();
    }
  });
});
