// A webhook's shared secret in every version a sender may still use, cached, and compared in constant time.

import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import type { Clock, SecretStore } from "./ports.ts";

const millisecondsPerSecond = 1_000;
const millisecondsPerHour = 3_600_000;

/** Where a webhook's secret is kept and how long its previous version stays good after a rotation. */
export interface WebhookSecretSource {
  secrets: Pick<SecretStore, "getSecretValue">;
  secretName: string;
  /** How long after a rotation AWSPREVIOUS still verifies (`secrets[].rotation.overlapHours`); 0: not at all. */
  overlapHours: number;
  clock: Clock;
  /** What errors call the value, e.g. "webhook token": "The webhook token <name> is empty". */
  label: string;
  /**
   * Trims each value, so one stored with a trailing newline still matches. Off where the stored bytes are the key
   * as the sender has it (GitHub's HMAC key).
   */
  trim?: boolean;
}

/** How long values are trusted before they are read again, and how often a mismatch may re-read them. */
export interface WebhookSecretTiming {
  cacheSeconds: number;
  /** A credential that matches no cached value re-reads the secret, at most this often (a rotation may have begun). */
  refreshIntervalSeconds: number;
}

const isNotFound = (error: unknown): boolean =>
  error instanceof Error && error.name === "ResourceNotFoundException";

/**
 * The values a sender may use: AWSCURRENT; AWSPENDING while a rotation is under way; and AWSPREVIOUS for
 * `overlapHours` after the current version was made, so a rotation refuses neither a request made just before it
 * nor one from a sender not yet given the new value. Empty values are left out, and none at all is an error (an
 * empty key would let anyone in); so is any failure of the store, as a plain `Error` naming only the secret: the
 * failure is ours, a generic 500 the sender retries, never a 4xx.
 *
 * @example
 * await acceptedSecretValues({ secrets, secretName: "switchyard/alertmanager-token", overlapHours: 24, clock, label: "webhook token", trim: true });
 * // ["new-token", "old-token"] within a day of a rotation
 */
export const acceptedSecretValues = async (source: WebhookSecretSource): Promise<string[]> => {
  const { secrets, secretName, clock, label } = source;
  const valueAt = async (stage: "AWSPENDING" | "AWSPREVIOUS") => {
    try {
      return (await secrets.getSecretValue(secretName, { versionStage: stage })).secretString;
    } catch (error) {
      if (!isNotFound(error)) throw error;
      return undefined;
    }
  };
  try {
    const current = await secrets.getSecretValue(secretName);
    const pending = await valueAt("AWSPENDING");
    const overlapMs = source.overlapHours * millisecondsPerHour;
    const inOverlap = overlapMs > 0 && clock.now().getTime() - current.createdDate.getTime() < overlapMs;
    const previous = inOverlap ? await valueAt("AWSPREVIOUS") : undefined;
    const values = [
      ...new Set(
        [current.secretString, pending, previous]
          .map((value) => (source.trim ? value?.trim() : value))
          .filter((value): value is string => value !== undefined && value !== ""),
      ),
    ];
    if (values.length === 0) throw new Error(`The ${label} ${secretName} is empty`);
    return values;
  } catch (cause) {
    throw new Error(`The ${label} ${secretName} could not be read`, { cause });
  }
};

/**
 * Checks credentials against the accepted values (`acceptedSecretValues`, each kept as `prepare` makes it), cached
 * for `cacheSeconds`; a credential that matches none re-reads them at most every `refreshIntervalSeconds`, since
 * the secret may have been rotated meanwhile. Rejects when the values cannot be read.
 */
const cachedVerifier = <T>(
  source: WebhookSecretSource,
  prepare: (value: string) => T,
  timing: WebhookSecretTiming,
) => {
  let cache: { values: readonly T[]; fetchedAtMs: number } | undefined;
  const load = async (): Promise<readonly T[]> => {
    const values = (await acceptedSecretValues(source)).map((value) => prepare(value));
    cache = { values, fetchedAtMs: source.clock.now().getTime() };
    return values;
  };
  const ageMs = (): number => source.clock.now().getTime() - (cache?.fetchedAtMs ?? 0);
  return async (matches: (accepted: readonly T[]) => boolean): Promise<boolean> => {
    const values =
      cache && ageMs() < timing.cacheSeconds * millisecondsPerSecond ? cache.values : await load();
    if (matches(values)) return true;
    return ageMs() >= timing.refreshIntervalSeconds * millisecondsPerSecond && matches(await load());
  };
};

const sha256 = (text: string): Buffer => createHash("sha256").update(text, "utf8").digest();

/**
 * Every expected value against every presented one, each in constant time (all are 32-byte digests), and all of
 * them compared, so the time taken says nothing about which one matched.
 */
const matchesAny = (expected: readonly Buffer[], presented: readonly Buffer[]): boolean =>
  expected.flatMap((value) => presented.map((candidate) => timingSafeEqual(value, candidate))).some(Boolean);

/**
 * A check of bearer tokens against the accepted values of `source` (cached as in `timing`, as SHA-256 digests: no
 * token is kept in memory), comparing digests in constant time whatever the token's length. Resolves to whether the
 * token is one of them; rejects when the secret cannot be read.
 *
 * @example
 * const isValid = bearerTokenVerifier(source, { cacheSeconds: 300, refreshIntervalSeconds: 30 });
 * if (!(await isValid(token))) return unauthorized("The bearer token is not valid");
 */
export const bearerTokenVerifier = (source: WebhookSecretSource, timing: WebhookSecretTiming) => {
  const verify = cachedVerifier(source, sha256, timing);
  return (token: string): Promise<boolean> => {
    const presented = [sha256(token)];
    return verify((digests) => matchesAny(digests, presented));
  };
};

/**
 * A check of HMAC-SHA256 signatures of a body (32 bytes each) against the accepted secrets of `source` (cached as
 * in `timing`): every secret against every signature, in constant time. Resolves to whether any signature is one a
 * secret makes; rejects when the secret cannot be read.
 *
 * @example
 * const isSigned = hmacSignatureVerifier(source, { cacheSeconds: 300, refreshIntervalSeconds: 30 });
 * if (!(await isSigned(request.rawBody, [signature]))) throw new UnauthorizedError("The signature does not match");
 */
export const hmacSignatureVerifier = (source: WebhookSecretSource, timing: WebhookSecretTiming) => {
  const verify = cachedVerifier(source, (secret) => secret, timing);
  return (body: Buffer, signatures: readonly Buffer[]): Promise<boolean> =>
    verify((secrets) =>
      matchesAny(
        secrets.map((secret) => createHmac("sha256", secret).update(body).digest()),
        signatures,
      ),
    );
};
