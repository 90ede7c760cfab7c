// Signed approval link tokens: who may decide which approval until when, provable without a database read.

import { createHmac, timingSafeEqual } from "node:crypto";
import { ValidationError } from "./errors.ts";
import { ForbiddenError } from "./http-errors.ts";
import type { Clock, SecretStore } from "./ports.ts";

/** A token is about 250 characters; anything far longer is refused before it is decoded or hashed. */
export const maxLinkTokenLength = 1_024;
/** How long link keys read from the secret store are trusted before they are read again. */
export const linkKeyCacheSeconds = 5 * 60;

const tokenVersion = 1;
const hmacSha256Bytes = 32;
/** 32 random bytes as hex: an HMAC-SHA256 key as strong as the hash. */
const linkKeyPattern = /^[0-9a-f]{64,}$/i;
const base64UrlPattern = /^[A-Za-z0-9_-]+$/;
const millisecondsPerSecond = 1_000;

/** What a link token asserts. */
export interface LinkTokenClaims {
  approvalId: string;
  /** The approver the link was sent to (an e-mail address; compared lower-cased). */
  approver: string;
  /** ISO 8601; the token is refused from this instant on (kept to the second). */
  expiresAt: string;
}

/** The signed payload, with short names to keep links short. */
interface LinkTokenPayload {
  v: typeof tokenVersion;
  /** Approval id. */
  a: string;
  /** Approver, lower-cased. */
  p: string;
  /** Expiry, epoch seconds. */
  e: number;
}

const sign = (key: string, payloadPart: string): Buffer =>
  createHmac("sha256", key).update(payloadPart, "utf8").digest();

/**
 * A token that lets one approver decide one approval until `expiresAt`: `base64url(payload)` "." `base64url(HMAC-
 * SHA256(key, base64url(payload)))`. The payload is signed, not encrypted: it holds nothing secret.
 *
 * @example
 * const token = signLinkToken(keys[0], { approvalId: record.id, approver: "ana@example.com", expiresAt: record.expiresAt });
 * const link = `${baseUrl}/approvals/${record.id}?token=${token}`;
 */
export const signLinkToken = (key: string, claims: LinkTokenClaims): string => {
  if (key === "") throw new ValidationError("A link token cannot be signed with an empty key");
  const expiresAtMs = Date.parse(claims.expiresAt);
  if (Number.isNaN(expiresAtMs)) {
    throw new ValidationError(`expiresAt "${claims.expiresAt}" is not an ISO 8601 time`);
  }
  const approver = claims.approver.trim().toLowerCase();
  if (claims.approvalId === "" || approver === "") {
    throw new ValidationError("A link token needs an approval id and an approver");
  }
  const payload: LinkTokenPayload = {
    v: tokenVersion,
    a: claims.approvalId,
    p: approver,
    e: Math.floor(expiresAtMs / millisecondsPerSecond),
  };
  const payloadPart = Buffer.from(JSON.stringify(payload), "utf8").toString("base64url");
  return `${payloadPart}.${sign(key, payloadPart).toString("base64url")}`;
};

const malformed = (): ForbiddenError => new ForbiddenError("The approval link is malformed");

/**
 * Decodes base64url only in its canonical form: Node's decoder ignores stray trailing bits, which would let several
 * spellings of one signature pass.
 */
const decodeBase64Url = (part: string): Buffer | undefined => {
  if (!base64UrlPattern.test(part)) return undefined;
  const bytes = Buffer.from(part, "base64url");
  return bytes.toString("base64url") === part ? bytes : undefined;
};

const isPayload = (value: unknown): value is LinkTokenPayload => {
  const payload = value as Partial<LinkTokenPayload> | null;
  return (
    typeof payload === "object" &&
    payload !== null &&
    payload.v === tokenVersion &&
    typeof payload.a === "string" &&
    typeof payload.p === "string" &&
    payload.p !== "" &&
    Number.isSafeInteger(payload.e)
  );
};

/**
 * Checks a link token and returns who it lets decide. Every key is tried (current first, then previous), so links
 * sent before a key rotation keep working until they expire. Signatures are compared in constant time, and the
 * signature is checked before the payload is parsed, so nothing unsigned is ever read.
 *
 * Throws `ForbiddenError` when the token is malformed, not signed by any key, made for another approval, or expired.
 * Messages never contain the token or a key.
 *
 * @example
 * const { approver } = verifyLinkToken(await linkKeys(secrets, keyName, { clock }), token, {
 *   approvalId: request.pathParameters.id,
 *   now: clock.now(),
 * });
 */
export const verifyLinkToken = (
  keys: readonly string[],
  token: string,
  expected: { approvalId: string; now: Date },
): { approver: string; expiresAt: string } => {
  // An empty key lets anyone forge a token: refuse to verify rather than accept everything.
  if (keys.length === 0 || keys.some((key) => key === "")) {
    throw new Error("Link tokens cannot be verified: no link key, or an empty one, was given");
  }
  if (typeof token !== "string" || token.length > maxLinkTokenLength) throw malformed();
  const parts = token.split(".");
  if (parts.length !== 2) throw malformed();
  const [payloadPart, signaturePart] = parts as [string, string];
  const payloadBytes = decodeBase64Url(payloadPart);
  const signature = decodeBase64Url(signaturePart);
  if (payloadBytes === undefined || signature === undefined || signature.length !== hmacSha256Bytes) {
    throw malformed();
  }
  const signed = keys
    .map((key) => timingSafeEqual(sign(key, payloadPart), signature))
    .reduce((any, match) => any || match, false);
  if (!signed) throw new ForbiddenError("The approval link's signature is not valid");

  let payload: unknown;
  try {
    payload = JSON.parse(payloadBytes.toString("utf8"));
  } catch {
    throw malformed();
  }
  if (!isPayload(payload)) throw malformed();
  if (payload.a !== expected.approvalId) {
    throw new ForbiddenError(`The approval link was made for another approval than ${expected.approvalId}`);
  }
  const expiresAtMs = payload.e * millisecondsPerSecond;
  const expiresAt = new Date(expiresAtMs).toISOString();
  if (expected.now.getTime() >= expiresAtMs) {
    throw new ForbiddenError(`The approval link expired at ${expiresAt}`);
  }
  return { approver: payload.p, expiresAt };
};

interface CachedKeys {
  keys: string[];
  fetchedAtMs: number;
}

/** Per store instance, then per secret name, so that two stores (or two tests) never share keys. */
let keyCache = new WeakMap<SecretStore, Map<string, CachedKeys>>();

/**
 * Forgets every cached link key, as a cold start would.
 *
 * @example
 * afterEach(() => clearLinkKeyCache());
 */
export const clearLinkKeyCache = (): void => {
  keyCache = new WeakMap();
};

const isNotFound = (error: unknown): boolean =>
  error instanceof Error && error.name === "ResourceNotFoundException";

const readKeys = async (secrets: SecretStore, secretName: string): Promise<string[]> => {
  let current: string;
  let previous: string | undefined;
  try {
    current = (await secrets.getSecretValue(secretName)).secretString;
    try {
      previous = (await secrets.getSecretValue(secretName, { versionStage: "AWSPREVIOUS" })).secretString;
    } catch (error) {
      // A key never rotated has no previous version.
      if (!isNotFound(error)) throw error;
    }
  } catch (cause) {
    throw new Error(`The link key ${secretName} could not be read`, { cause });
  }
  if (current === "") throw new Error(`The link key ${secretName} is empty`);
  return [...new Set([current, previous])].filter((key): key is string => key !== undefined && key !== "");
};

export interface LinkKeysOptions {
  /** Enables the cache: keys read less than `linkKeyCacheSeconds` ago by this clock are reused. */
  clock?: Clock;
  /** Reads the store even when cached keys are fresh (after a signature failed: a rotation may have begun). */
  fresh?: boolean;
}

/**
 * The keys link tokens may be signed with: AWSCURRENT first (the one to sign with), then AWSPREVIOUS when the secret
 * was rotated. With a `clock`, keys are cached for `linkKeyCacheSeconds` per store and secret name; without one,
 * every call reads the store. A store failure or an empty current key throws a plain `Error` (a 500, never a 4xx).
 *
 * @example
 * const [signingKey] = await linkKeys(secrets, "switchyard/approval-link-key", { clock });
 */
export const linkKeys = async (
  secrets: SecretStore,
  secretName: string,
  options: LinkKeysOptions = {},
): Promise<string[]> => {
  const { clock, fresh = false } = options;
  if (clock === undefined) return readKeys(secrets, secretName);
  const byName = keyCache.get(secrets) ?? new Map<string, CachedKeys>();
  keyCache.set(secrets, byName);
  const nowMs = clock.now().getTime();
  const cached = byName.get(secretName);
  if (
    !fresh &&
    cached !== undefined &&
    nowMs - cached.fetchedAtMs < linkKeyCacheSeconds * millisecondsPerSecond
  ) {
    return [...cached.keys];
  }
  const keys = await readKeys(secrets, secretName);
  byName.set(secretName, { keys, fetchedAtMs: nowMs });
  return [...keys];
};

/** Whether the secret has a non-empty AWSCURRENT value; false when the secret or its value does not exist. */
const hasCurrentKey = async (secrets: SecretStore, secretName: string): Promise<boolean> => {
  try {
    return (await secrets.getSecretValue(secretName)).secretString !== "";
  } catch (error) {
    if (isNotFound(error)) return false;
    throw error;
  }
};

/**
 * Makes sure the link key secret holds a key: when the secret or its current value does not exist (or is empty),
 * stores `randomHex()` (32 random bytes as hex); an existing key is never replaced. Returns whether it stored one.
 * Of two processes racing to create the secret, the first one's key is kept.
 *
 * @example
 * await ensureLinkKey(secrets, "switchyard/approval-link-key", () => randomBytes(32).toString("hex"));
 */
export const ensureLinkKey = async (
  secrets: SecretStore,
  secretName: string,
  randomHex: () => string,
): Promise<boolean> => {
  if (await hasCurrentKey(secrets, secretName)) return false;
  const key = randomHex();
  if (!linkKeyPattern.test(key)) {
    throw new ValidationError("A link key must be at least 32 random bytes written as hex");
  }
  try {
    await secrets.createSecret({
      name: secretName,
      secretString: key,
      description: "Switchyard: signs approval links sent by e-mail",
    });
    return true;
  } catch (error) {
    if (!(error instanceof Error && error.name === "ResourceExistsException")) throw error;
  }
  if (await hasCurrentKey(secrets, secretName)) return false;
  await secrets.putSecretValue(secretName, key);
  return true;
};
