import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";

/** What an acknowledge link is allowed to do: acknowledge this occurrence of this alarm of this block, until then. */
export interface AckClaims {
  /** The node id of the alarm-mail-block that raised the alarm. */
  block: string;
  alarm: string;
  occurrence: string;
  /** The recipient the link was mailed to (an `individual` group), or null when the mail went to the whole group. */
  recipient: string | null;
  /** Epoch ms after which the link is refused. */
  expires: number;
}

/** A token that passed its signature check: its claims and the id the used-token record keeps. */
export interface VerifiedToken {
  claims: AckClaims;
  /** Unique to this token (a random nonce under the signature): what makes it single-use. */
  id: string;
}

export type TokenCheck =
  | { ok: true; token: VerifiedToken }
  | { ok: false; reason: "forged" }
  /** Signed by this gateway, so its expiry can be told to the person holding it. */
  | { ok: false; reason: "expired"; expires: number };

const VERSION = 1;
const MAC_BYTES = 32;
/** Longer than any token this gateway signs: a longer one is refused before any work is done on it. */
const MAX_TOKEN_LENGTH = 2048;
/** Keeps a token signed for acknowledge links from ever being valid for another use of the same key. */
const PURPOSE = "alarm-mail ack link v1\n";

type Payload = [number, string, string, string, string | null, number, string];

/**
 * Signs and checks acknowledge links: `<payload>.<mac>`, both base64url, the payload a JSON array of the claims and a
 * random nonce, the MAC an HMAC-SHA256 of the payload with the gateway's key. The payload is only parsed once its
 * MAC matched, compared in constant time, so that a guesser learns nothing from how long a refusal takes.
 */
export class AckSigner {
  constructor(private readonly key: Buffer) {
    if (key.length < 32) throw new RangeError("an acknowledge key has at least 32 bytes");
  }

  sign(claims: AckClaims): string {
    const nonce = randomBytes(12).toString("base64url");
    const payload: Payload = [
      VERSION,
      claims.block,
      claims.alarm,
      claims.occurrence,
      claims.recipient,
      claims.expires,
      nonce,
    ];
    const body = Buffer.from(JSON.stringify(payload), "utf8").toString("base64url");
    return `${body}.${this.mac(body).toString("base64url")}`;
  }

  verify(token: string, now: number): TokenCheck {
    if (token.length > MAX_TOKEN_LENGTH) return { ok: false, reason: "forged" };
    const dot = token.indexOf(".");
    if (dot <= 0 || dot !== token.lastIndexOf(".")) return { ok: false, reason: "forged" };
    const body = token.slice(0, dot);
    const given = Buffer.from(token.slice(dot + 1), "base64url");
    const expected = this.mac(body);
    // timingSafeEqual throws on a length mismatch: a MAC of another length is compared with itself instead, so
    // that every refusal takes the same path.
    const sameLength = given.length === MAC_BYTES;
    const matches = timingSafeEqual(sameLength ? given : expected, expected) && sameLength;
    if (!matches) return { ok: false, reason: "forged" };
    const claims = parsePayload(body);
    // Signed by this key but not a payload it writes: another version, or a key shared by mistake.
    if (!claims) return { ok: false, reason: "forged" };
    if (now > claims.claims.expires) return { ok: false, reason: "expired", expires: claims.claims.expires };
    return { ok: true, token: claims };
  }

  private mac(body: string): Buffer {
    return createHmac("sha256", this.key).update(PURPOSE).update(body).digest();
  }
}

function parsePayload(body: string): VerifiedToken | undefined {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(body, "base64url").toString("utf8"));
  } catch {
    return undefined;
  }
  if (!Array.isArray(value) || value.length !== 7 || value[0] !== VERSION) return undefined;
  const [, block, alarm, occurrence, recipient, expires, nonce] = value as unknown[];
  if (typeof block !== "string" || typeof alarm !== "string" || typeof occurrence !== "string") return undefined;
  if (recipient !== null && typeof recipient !== "string") return undefined;
  if (typeof expires !== "number" || typeof nonce !== "string") return undefined;
  return { claims: { block, alarm, occurrence, recipient, expires }, id: nonce };
}
