import { EventEmitter } from "node:events";
import type { OutgoingMail } from "../mail/MailComposer";
import { MailError } from "../mail/MailError";
import type { DeliveryError, Outbox, OutboxEntry, SentEntry, StoredMail } from "./Outbox";
import { RateLimiter, type RateLimit } from "./RateLimiter";
import { TransportFault } from "../transport/TransportFault";
import type { DeliveryReceipt } from "../transport/Transport";

/** One way to a mail server: the primary server of an outbox, or its backup. */
export interface MailRoute {
  readonly name: string;
  send(mail: OutgoingMail): Promise<DeliveryReceipt>;
  /** Whether the server answers at all (a TCP connection, no mail): how an outage is watched. */
  reachable(): Promise<boolean>;
}

export interface DeliveryPolicy {
  /** Connections used at once while the server answers well; one while it fails, so a failing server is not hammered. */
  concurrency: number;
  /** The first retry waits this long (ms); each next one twice as long, with ±20 % jitter, up to retryMaxDelay. */
  retryDelay: number;
  retryMaxDelay: number;
  /** A mail still undelivered this long (ms) after it was queued fails. */
  maxAge: number;
  /** Refused logins in a row after which the route stops trying until it is redeployed. */
  authAttempts: number;
  rateLimits: RateLimit[];
  /** Failures in a row on the primary after which the backup takes over. */
  failoverAfter: number;
  /** Time (ms) on the backup after which the primary is tried again. */
  failbackAfter: number;
  /**
   * How long (ms) a mail about an alarm event waits for the mail of an earlier event of the same occurrence that has
   * not reached the outbox yet (a slow attachment on the trigger's way), before it goes anyway.
   */
  orderWait: number;
}

export const DEFAULT_POLICY: Readonly<DeliveryPolicy> = {
  concurrency: 2,
  retryDelay: 5_000,
  retryMaxDelay: 10 * 60_000,
  maxAge: 24 * 3_600_000,
  authAttempts: 3,
  rateLimits: [],
  failoverAfter: 2,
  failbackAfter: 60_000,
  orderWait: 30_000,
};

/** Faults that say the server cannot be reached at all: an outage of the server, not a fault of the mail. */
const UNREACHABLE = new Set(["smtp-connection-refused", "smtp-dns", "smtp-timeout", "smtp-greeting-timeout"]);
/** An unreachable server is watched this often at first, then at most every PROBE_MAX_MS (a connection, no mail). */
const PROBE_FIRST_MS = 250;
const PROBE_MAX_MS = 1_000;
/** setTimeout fires at once for a longer delay. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** What the send nodes show about their server's queue. */
export type QueueHealth =
  | { state: "idle" }
  | { state: "sending" }
  | { state: "retrying"; nextAt: number; error: DeliveryError }
  | { state: "rate-limited"; until: number }
  | { state: "auth-blocked"; error: DeliveryError };

export interface SchedulerEvents {
  /** `stored.msg` is the msg kept with the mail, parsed when read: most listeners still hold the msg itself. */
  sent: [entry: SentEntry, receipt: DeliveryReceipt, stored: StoredMail];
  failed: [entry: OutboxEntry, error: MailError, stored: StoredMail];
  change: [];
}

/** A route whose server does not answer: no mail is tried on it until a probe says it answers again. */
interface Outage {
  error: DeliveryError;
  nextProbeAt: number;
  probeDelay: number;
  probing: boolean;
  timer?: NodeJS.Timeout;
}

interface RouteState {
  route: MailRoute;
  failures: number;
  authFailures: number;
  blocked?: DeliveryError;
  down?: Outage;
  /**
   * A probe found the server taking connections and no mail has gone through since. A connection fault now is the
   * server failing after it connects (a reset, a slow answer): retried with backoff, not taken for another outage,
   * which would try the same mail again every second.
   */
  answeredProbe?: boolean;
}

export interface SchedulerClock {
  now(): number;
  random(): number;
}

/**
 * Delivers an outbox in the background: most urgent first, with retries and backoff on transient faults, at once to
 * "failed" on permanent ones, a stop after repeated refused logins, rate limits, and failover to a backup route.
 */
export class DeliveryScheduler extends EventEmitter<SchedulerEvents> {
  private readonly inFlight = new Map<string, Promise<void>>();
  /** "Sent" records on their way to disk: the connection is free, the outcome is reported once they are written. */
  private readonly recording = new Set<Promise<void>>();
  private readonly routes: RouteState[];
  private readonly limiter: RateLimiter;
  private timer?: NodeJS.Timeout;
  private onBackupSince?: number;
  private closed = false;
  private health: QueueHealth = { state: "idle" };

  constructor(
    private readonly outbox: Outbox,
    primary: MailRoute,
    backup: MailRoute | undefined,
    private readonly policy: DeliveryPolicy,
    private readonly clock: SchedulerClock = { now: Date.now, random: Math.random },
  ) {
    super();
    this.routes = [primary, ...(backup ? [backup] : [])].map((route) => ({ route, failures: 0, authFailures: 0 }));
    this.limiter = new RateLimiter(policy.rateLimits);
    this.limiter.seed(outbox.sentLog().map((entry) => entry.sentAt));
    // A (re)deployed server may have had its fault mended: what waited for a retry goes at once, except where a
    // service said how long to wait.
    outbox.wake((entry) => entry.lastError?.code !== "http-throttled");
  }

  get status(): QueueHealth {
    return this.health;
  }

  get queued(): number {
    return this.outbox.pending().length;
  }

  /** Looks for work now: after an enqueue, a resend, or a timer. */
  kick(): void {
    if (this.closed) return;
    clearTimeout(this.timer);
    this.timer = undefined;
    const now = this.clock.now();
    const blocked = this.routes.every((r) => r.blocked);
    if (blocked) {
      // No attempt reaches a mail until a new sign-in, so its maximum age is checked here.
      this.expireIdle(now);
      this.setHealth({ state: "auth-blocked", error: this.routes[0].blocked as DeliveryError });
      return;
    }
    for (const state of this.routes) if (state.down && !state.blocked) this.scheduleProbe(state, state.down, now);
    if (this.routes.every((r) => r.blocked || r.down)) {
      this.expireIdle(now);
      this.watchOutages();
      return;
    }
    const healthy = this.routes.every((r) => r.failures === 0 && r.authFailures === 0);
    const slots = (healthy ? this.policy.concurrency : 1) - this.inFlight.size;
    // One pass over the queue, in delivery order: the first due mails, and when the next waiting one is due. Once
    // every slot is taken the pass can stop: the end of an attempt runs it again.
    const due: OutboxEntry[] = [];
    let nextLater = Infinity;
    for (const entry of this.outbox.pending()) {
      if (due.length >= slots) break;
      if (this.inFlight.has(entry.id)) continue;
      const at = Math.max(entry.nextAt, this.outbox.releaseAt(entry, this.policy.orderWait));
      if (at > now) {
        if (at < Infinity) nextLater = Math.min(nextLater, at);
      } else due.push(entry);
    }
    const rateWait = this.limiter.delay(now);
    if (due.length > 0 && rateWait > 0) {
      this.setHealth({ state: "rate-limited", until: now + rateWait });
      this.wakeAt(now + rateWait);
      return;
    }
    for (const entry of due) {
      if (this.limiter.delay(now) > 0) break;
      this.limiter.record(now);
      // An attempt records its own outcome; a journal that refuses the record (closing) leaves the mail queued.
      const attempt = this.attempt(entry)
        .catch(() => undefined)
        .finally(() => {
          this.inFlight.delete(entry.id);
          this.kick();
        });
      this.inFlight.set(entry.id, attempt);
    }
    if (nextLater < Infinity) this.wakeAt(nextLater);
    if (this.inFlight.size > 0) this.setHealth({ state: "sending" });
    else if (nextLater === Infinity && due.length === 0) this.setHealth({ state: "idle" });
  }

  /**
   * Every route is down: the queued mails stay as they are (no attempt, no journal record) while each server is
   * watched with a connection; the first that answers takes the queue, most urgent first.
   */
  private watchOutages(): void {
    const outages = this.routes.flatMap((r) => (r.down && !r.blocked ? [{ state: r, down: r.down }] : []));
    const first = outages.sort((a, b) => a.down.nextProbeAt - b.down.nextProbeAt)[0];
    if (first) this.setHealth({ state: "retrying", nextAt: first.down.nextProbeAt, error: first.down.error });
  }

  /** No attempt reaches a mail while every server is down or refuses the login: its maximum age is checked here. */
  private expireIdle(now: number): void {
    for (const entry of this.outbox.pending()) {
      if (this.inFlight.has(entry.id) || now - entry.queuedAt <= this.policy.maxAge) continue;
      const expiring = this.outbox
        .load(entry.id)
        .then((stored) =>
          this.fail(
            entry,
            entry.attempts,
            new MailError("outbox-expired", { attempts: entry.attempts, error: entry.lastError?.message ?? "" }),
            stored,
          ),
        )
        .catch(() => undefined)
        .finally(() => this.inFlight.delete(entry.id));
      this.inFlight.set(entry.id, expiring);
    }
  }

  private scheduleProbe(state: RouteState, down: Outage, now: number): void {
    if (down.probing || down.timer) return;
    down.timer = setTimeout(
      () => {
        down.timer = undefined;
        if (this.closed || state.down !== down) return;
        down.probing = true;
        void state.route
          .reachable()
          .catch(() => false)
          .then((answers) => {
            down.probing = false;
            if (this.closed || state.down !== down) return;
            if (answers) this.serverAnswers(state);
            else {
              down.probeDelay = Math.min(PROBE_MAX_MS, down.probeDelay * 2);
              down.nextProbeAt = this.clock.now() + down.probeDelay;
              this.kick();
            }
          });
      },
      Math.max(0, down.nextProbeAt - now),
    );
  }

  /** The end of an outage, told by a probe or a delivered mail: what it held back is due at once. */
  private serverAnswers(state: RouteState): void {
    const down = state.down;
    if (down) clearTimeout(down.timer);
    state.down = undefined;
    state.answeredProbe = down !== undefined;
    state.failures = 0;
    this.outbox.wake((entry) => entry.lastError !== undefined && UNREACHABLE.has(entry.lastError.code));
    this.kick();
  }

  /** After a new sign-in: forget refused logins and try again at once. */
  resume(): void {
    for (const state of this.routes) {
      state.blocked = undefined;
      state.authFailures = 0;
    }
    this.kick();
  }

  /** Stops starting attempts and waits (at most `graceMs`) for those under way; what does not finish stays queued. */
  async close(graceMs = 10_000): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    for (const state of this.routes) clearTimeout(state.down?.timer);
    let timeout: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled([...this.inFlight.values()]).then(() => Promise.allSettled([...this.recording])),
      new Promise((resolve) => (timeout = setTimeout(resolve, graceMs))),
    ]);
    clearTimeout(timeout);
  }

  private async attempt(entry: OutboxEntry): Promise<void> {
    const now = this.clock.now();
    let stored: StoredMail;
    try {
      stored = await this.outbox.load(entry.id);
    } catch (err) {
      // The record could not be read (a disk fault): keep the mail queued and try again later.
      const error = { code: "outbox-unavailable", message: err instanceof Error ? err.message : String(err) };
      await this.outbox.retryLater(entry.id, entry.attempts, now + this.backoff(entry.attempts + 1), error);
      return;
    }
    const attempts = entry.attempts + 1;
    if (now - entry.queuedAt > this.policy.maxAge) {
      const error = new MailError("outbox-expired", {
        attempts: entry.attempts,
        error: entry.lastError?.message ?? "",
      });
      await this.fail(entry, attempts - 1, error, stored);
      return;
    }
    const state = this.chooseRoute(now);
    try {
      const receipt = await state.route.send(stored.mail);
      if (state.down || state.failures > 0) this.serverAnswers(state);
      state.answeredProbe = false;
      state.failures = 0;
      state.authFailures = 0;
      if (state === this.routes[0]) this.onBackupSince = undefined;
      // The slot is free once the "sent" record is written (a killed process cannot lose it), not synced: the
      // pool does not idle through the sync, which is shared with other records (group commit). The outcome is
      // reported once the record is synced.
      let onWritten: () => void = () => undefined;
      const written = new Promise<void>((resolve) => (onWritten = resolve));
      const recorded = this.outbox
        .markSent(entry.id, attempts, { ...receiptFields(receipt), route: state.route.name }, onWritten)
        .then(
          (sent) => {
            if (sent) this.emit("sent", sent, receipt, stored);
          },
          () => undefined,
        )
        // A listener's error is its own; it must not become an unhandled rejection here.
        .catch(() => undefined);
      this.recording.add(recorded);
      void recorded.finally(() => this.recording.delete(recorded));
      await Promise.race([written, recorded]);
    } catch (err) {
      const fault =
        err instanceof TransportFault
          ? err
          : new TransportFault("smtp-failed", "transient", { response: String(err) }, err);
      await this.failedAttempt(entry, attempts, state, fault, stored, now);
    }
  }

  private async failedAttempt(
    entry: OutboxEntry,
    attempts: number,
    state: RouteState,
    fault: TransportFault,
    stored: StoredMail,
    now: number,
  ): Promise<void> {
    const error = { code: fault.code, message: fault.message };
    if (fault.kind === "permanent") {
      await this.fail(entry, attempts, fault, stored);
      return;
    }
    state.failures += 1;
    if (fault.kind === "auth") {
      state.authFailures += 1;
      if (state.authFailures >= this.policy.authAttempts) state.blocked = error;
    }
    if (UNREACHABLE.has(fault.code) && !state.answeredProbe) {
      // The server is down, not this mail: it goes as soon as a server answers, and nothing else is tried meanwhile.
      this.markDown(state, error, now);
      await this.outbox.retryLater(entry.id, attempts, now, error);
      return;
    }
    const switched = this.failover(state, now);
    // A service that said when to come back (HTTP Retry-After) is not asked again before then, within the longest
    // wait of the retry schedule: a service cannot make a mail outlive its maximum age.
    const asked = Math.min(fault.retryAfterMs ?? 0, this.policy.retryMaxDelay);
    const delay = switched ? 0 : Math.max(this.backoff(attempts), asked);
    const nextAt = now + delay;
    await this.outbox.retryLater(entry.id, attempts, nextAt, error);
    if (!switched && !state.blocked) this.setHealth({ state: "retrying", nextAt, error });
  }

  private markDown(state: RouteState, error: DeliveryError, now: number): void {
    if (state.down) {
      state.down.error = error;
      return;
    }
    state.down = { error, probeDelay: PROBE_FIRST_MS, nextProbeAt: now + PROBE_FIRST_MS, probing: false };
    if (state === this.routes[0] && this.routes[1]) this.onBackupSince = now;
  }

  /** After a failure on `state`'s route: whether the backup takes the next attempt, at once. */
  private failover(state: RouteState, now: number): boolean {
    const [primary, backup] = this.routes;
    if (!backup || backup.blocked || state !== primary) return false;
    if (!primary.blocked && primary.failures < this.policy.failoverAfter) return false;
    // Also reached when a probe of the primary fails: the time on the backup starts again.
    this.onBackupSince = now;
    return true;
  }

  private chooseRoute(now: number): RouteState {
    const [primary, backup] = this.routes;
    if (!backup || backup.blocked) return primary;
    if (primary.blocked) return backup;
    if (primary.down && !backup.down) return backup;
    if (backup.down) return primary;
    if (this.onBackupSince === undefined) return primary;
    return now - this.onBackupSince >= this.policy.failbackAfter ? primary : backup;
  }

  private async fail(entry: OutboxEntry, attempts: number, error: MailError, stored: StoredMail): Promise<void> {
    const failed = await this.outbox.markFailed(entry.id, attempts, { code: error.code, message: error.message });
    if (failed) this.emit("failed", failed, error, stored);
  }

  private backoff(attempts: number): number {
    const base = Math.min(this.policy.retryMaxDelay, this.policy.retryDelay * 2 ** (attempts - 1));
    return Math.round(base * (0.8 + 0.4 * this.clock.random()));
  }

  private wakeAt(time: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.kick(), Math.min(MAX_TIMER_MS, Math.max(0, time - this.clock.now())));
  }

  private setHealth(health: QueueHealth): void {
    this.health = health;
    this.emit("change");
  }
}

function receiptFields(receipt: DeliveryReceipt) {
  return { accepted: receipt.accepted, rejected: receipt.rejected, response: receipt.response };
}
