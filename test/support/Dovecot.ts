import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";
import { ImapFlow } from "imapflow";
import { killOnExit } from "./children";
import { until } from "./until";

export interface DovecotOptions {
  /** Users and their passwords (passwd-file, plain). */
  users?: Record<string, string>;
  /** A TLS listener too (self-signed certificate made here with openssl), for the tls and starttls cases. */
  tls?: boolean;
  /** Leave IDLE out of the capabilities, as some servers do: the inbox must poll. */
  noIdle?: boolean;
  /**
   * XOAUTH2 and OAUTHBEARER logins too, each token checked by POSTing it to this introspection URL (RFC 7662), whose
   * answer names the user (`username`) when `active` is true, as Dovecot does it for a provider's tokens.
   */
  introspectionUrl?: string;
  /**
   * No authentication penalty: Dovecot delays every login from an IP that failed some (2, 4, 8 then 15 s), which
   * would make a test of refused logins wait on Dovecot's brute-force guard rather than on the client. The first
   * failure's own 2 s delay stays.
   */
  noAuthPenalty?: boolean;
}

/**
 * A real Dovecot IMAP server for one test file, on loopback, everything under a temp folder: its configuration,
 * passwd-file users, maildirs, log, base and state folders. It runs as this user, or, as root (CI), with Dovecot's own
 * unprivileged users for its login and internal processes and mail stored as `nobody`: Dovecot refuses mail access as
 * root.
 */
export class Dovecot {
  readonly dir: string;
  readonly users: Record<string, string>;
  port = 0;
  tlsPort = 0;
  /** The self-signed certificate of the TLS listener (PEM), for a test that trusts it as `ca`. */
  cert = "";
  private child?: ChildProcess;
  private readonly options: DovecotOptions;

  private constructor(options: DovecotOptions) {
    this.options = options;
    this.users = options.users ?? { "alarms@plant.example": "secret" };
    this.dir = mkdtempSync(join(tmpdir(), "alarm-mail-dovecot-"));
  }

  static async start(options: DovecotOptions = {}): Promise<Dovecot> {
    const dovecot = new Dovecot(options);
    dovecot.port = await freePort();
    dovecot.tlsPort = options.tls ? await freePort() : 0;
    dovecot.configure();
    await dovecot.run();
    return dovecot;
  }

  get log(): string {
    const file = join(this.dir, "dovecot.log");
    return existsSync(file) ? readFileSync(file, "utf8") : "";
  }

  private configure(): void {
    const root = process.getuid?.() === 0;
    const me = userInfo();
    // Mail as root is refused; "nobody" is on every Debian machine.
    const mailUid = root ? 65534 : me.uid;
    const mailGid = root ? 65534 : me.gid;
    const homes = join(this.dir, "home");
    for (const sub of ["run", "state", "home"]) mkdirSync(join(this.dir, sub), { recursive: true });
    if (root) {
      chownSync(homes, mailUid, mailGid);
      // The login processes chroot into base_dir's login folder and reach it through the temp folder.
      chmodSync(this.dir, 0o755);
    }
    writeFileSync(
      join(this.dir, "passwd"),
      Object.entries(this.users)
        .map(([user, password]) => `${user}:{PLAIN}${password}:::::`)
        .join("\n") + "\n",
    );
    let ssl = "ssl = no";
    if (this.options.tls) {
      const key = join(this.dir, "key.pem");
      const cert = join(this.dir, "cert.pem");
      execFileSync(
        "openssl",
        [
          "req",
          "-x509",
          "-newkey",
          "rsa:2048",
          "-nodes",
          "-keyout",
          key,
          "-out",
          cert,
          "-days",
          "2",
          "-subj",
          "/CN=localhost",
          "-addext",
          "subjectAltName=DNS:localhost,IP:127.0.0.1",
        ],
        { stdio: "ignore" },
      );
      this.cert = readFileSync(cert, "utf8");
      ssl = `ssl = yes\nssl_cert = <${cert}\nssl_key = <${key}`;
    }
    let oauth2 = "";
    if (this.options.introspectionUrl) {
      const args = join(this.dir, "oauth2.conf.ext");
      writeFileSync(
        args,
        [
          "introspection_mode = post",
          `introspection_url = ${this.options.introspectionUrl}`,
          "username_attribute = username",
          "active_attribute = active",
          "active_value = true",
          "",
        ].join("\n"),
      );
      oauth2 = `passdb {\n  driver = oauth2\n  mechanisms = xoauth2 oauthbearer\n  args = ${args}\n}`;
    }
    const loginUser = root ? "dovenull" : me.username;
    const internalUser = root ? "dovecot" : me.username;
    const config = `
base_dir = ${join(this.dir, "run")}
state_dir = ${join(this.dir, "state")}
instance_name = alarm-mail-test-${this.port}
protocols = imap
listen = 127.0.0.1
log_path = ${join(this.dir, "dovecot.log")}
default_login_user = ${loginUser}
default_internal_user = ${internalUser}
${root ? "" : `default_internal_group = ${groupName(me.gid)}`}
disable_plaintext_auth = no
auth_mechanisms = plain login${this.options.introspectionUrl ? " xoauth2 oauthbearer" : ""}
${ssl}
mail_location = maildir:${homes}/%u/Maildir
first_valid_uid = ${Math.min(mailUid, 500)}
${oauth2}
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u ${join(this.dir, "passwd")}
}
userdb {
  driver = static
  args = uid=${mailUid} gid=${mailGid} home=${homes}/%u
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = ${this.port}
  }
  inet_listener imaps {
    address = 127.0.0.1
    port = ${this.tlsPort}
    ssl = yes
  }
}
service stats {
  unix_listener stats-reader {
    mode = 0666
  }
  unix_listener stats-writer {
    mode = 0666
  }
}
${this.options.noAuthPenalty ? "service anvil {\n  unix_listener anvil-auth-penalty {\n    mode = 0\n  }\n}" : ""}
${this.options.noIdle ? "imap_capability = IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE LITERAL+ UIDPLUS" : ""}
`;
    writeFileSync(join(this.dir, "dovecot.conf"), config);
  }

  /** Starts Dovecot in the foreground and waits until it accepts an IMAP login. */
  private async run(): Promise<void> {
    // A process group of its own, so that a stop ends the IMAP processes too: Dovecot's master leaves them serving
    // their connections when it stops alone, and a restart would then drop no client.
    const child = spawn("/usr/sbin/dovecot", ["-F", "-c", join(this.dir, "dovecot.conf")], {
      stdio: ["ignore", "ignore", "pipe"],
      detached: true,
    });
    // The whole group, as stop() does: the IMAP processes would outlive their master.
    killOnExit(child, () => {
      if (child.pid) process.kill(-child.pid, "SIGKILL");
    });
    let stderr = "";
    child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    this.child = child;
    await until(
      async () => {
        if (child.exitCode !== null) throw new Error(`dovecot exited: ${stderr}`);
        const client = this.client(Object.keys(this.users)[0] ?? "");
        await client.connect();
        await client.logout();
        return true;
      },
      "Dovecot to accept a login",
      15_000,
      () => `${stderr}\n${this.log.slice(-2000)}`,
    );
  }

  /** Stops the server and every connection it serves, and keeps its mail, as an IMAP server that restarts. */
  async stop(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child?.pid || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    process.kill(-child.pid, "SIGTERM");
    await exited;
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.run();
  }

  async close(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }

  client(user: string): ImapFlow {
    return new ImapFlow({
      host: "127.0.0.1",
      port: this.port,
      secure: false,
      doSTARTTLS: false,
      auth: { user, pass: this.users[user] ?? "" },
      logger: false,
    });
  }

  /** Puts a raw mail into a user's mailbox (IMAP APPEND), as if it had been delivered; its UID. */
  async deliver(user: string, raw: string, mailbox = "INBOX", flags: string[] = []): Promise<number> {
    const client = this.client(user);
    await client.connect();
    try {
      const appended = await client.append(mailbox, raw, flags);
      return appended ? (appended.uid ?? 0) : 0;
    } finally {
      await client.logout();
    }
  }

  /** Marks every mail of a mailbox as read, as a person who went through it: a new inbox then starts after them. */
  async readAll(user: string, mailbox = "INBOX"): Promise<void> {
    const client = this.client(user);
    await client.connect();
    try {
      await client.mailboxOpen(mailbox);
      await client.messageFlagsAdd("1:*", ["\\Seen"]).catch(() => false);
    } finally {
      await client.logout();
    }
  }

  /** The UIDs and flags of a mailbox's mails, as the server has them now. */
  async messages(user: string, mailbox = "INBOX"): Promise<Array<{ uid: number; flags: string[] }>> {
    const client = this.client(user);
    await client.connect();
    try {
      await client.mailboxOpen(mailbox);
      const all = await client.fetchAll("1:*", { uid: true, flags: true }).catch(() => []);
      return all.map((m) => ({ uid: m.uid, flags: [...(m.flags ?? [])] }));
    } finally {
      await client.logout();
    }
  }
}

function groupName(gid: number): string {
  const line = readFileSync("/etc/group", "utf8")
    .split("\n")
    .find((l) => l.split(":")[2] === String(gid));
  return line?.split(":")[0] ?? String(gid);
}

/** A loopback port where nothing listens yet. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** A reply as a phone's mail client writes it: the person's line, then the alarm mail quoted. */
export function replyMail(options: {
  from: string;
  to?: string;
  subject: string;
  inReplyTo?: string;
  references?: string[];
  text: string;
  html?: string;
  headers?: Record<string, string>;
  messageId?: string;
}): string {
  const id = options.messageId ?? `<reply-${Math.random().toString(36).slice(2)}@phone.example>`;
  const lines = [
    `From: ${options.from}`,
    `To: ${options.to ?? "alarms@plant.example"}`,
    `Subject: ${options.subject}`,
    `Date: ${new Date().toUTCString()}`,
    `Message-ID: ${id}`,
    ...(options.inReplyTo ? [`In-Reply-To: ${options.inReplyTo}`] : []),
    ...(options.references ? [`References: ${options.references.join(" ")}`] : []),
    ...Object.entries(options.headers ?? {}).map(([k, v]) => `${k}: ${v}`),
    "MIME-Version: 1.0",
  ];
  if (options.html !== undefined) {
    lines.push("Content-Type: text/html; charset=utf-8", "Content-Transfer-Encoding: 8bit", "", options.html);
  } else {
    lines.push("Content-Type: text/plain; charset=utf-8", "Content-Transfer-Encoding: 8bit", "", options.text);
  }
  return lines.join("\r\n") + "\r\n";
}
