// Approval link tokens: only the approver a link was made for can use it, for that approval, until it expires.

import { createHmac } from "node:crypto";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ValidationError } from "../../functions/core/errors.ts";
import { ForbiddenError } from "../../functions/core/http-errors.ts";
import {
  clearLinkKeyCache,
  ensureLinkKey,
  linkKeyCacheSeconds,
  linkKeys,
  maxLinkTokenLength,
  signLinkToken,
  verifyLinkToken,
} from "../../functions/core/link-token.ts";
import type { Clock } from "../../functions/core/ports.ts";
import { SqliteSecretStore } from "../../local/adapters/sqlite-secret-store.ts";
import { openDatabase } from "../../local/db.ts";

const currentKey = "a".repeat(64);
const previousKey = "b".repeat(64);
const approvalId = "5e0c3c2a-8d4b-5f1e-9a7b-0c1d2e3f4a5b";
const otherApprovalId = "0f9e8d7c-6b5a-5493-8271-605f4e3d2c1b";
const expiresAt = "2026-11-28T09:00:00.000Z";
const before = new Date("2026-11-28T08:00:00.000Z");
const claims = { approvalId, approver: "Ana@Example.com", expiresAt };

const encode = (value: unknown): string => Buffer.from(JSON.stringify(value), "utf8").toString("base64url");
const signPart = (key: string, payloadPart: string): string =>
  createHmac("sha256", key).update(payloadPart).digest("base64url");

/** Runs `verify` and returns the ForbiddenError it throws, failing the test if it throws anything else. */
const refusal = (verify: () => unknown): ForbiddenError => {
  try {
    verify();
  } catch (error) {
    expect(error).toBeInstanceOf(ForbiddenError);
    return error as ForbiddenError;
  }
  throw new Error("expected verifyLinkToken to refuse the token");
};

describe("signLinkToken / verifyLinkToken", () => {
  it("round-trips the approver, lower-cased, and the expiry", () => {
    const token = signLinkToken(currentKey, claims);
    expect(verifyLinkToken([currentKey], token, { approvalId, now: before })).toEqual({
      approver: "ana@example.com",
      expiresAt,
    });
  });

  it("makes URL-safe tokens of two base64url parts", () => {
    expect(signLinkToken(currentKey, claims)).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
  });

  it("refuses a token signed with another key", () => {
    const forged = signLinkToken("f".repeat(64), claims);
    expect(refusal(() => verifyLinkToken([currentKey], forged, { approvalId, now: before })).message).toMatch(
      /signature is not valid/,
    );
  });

  it("refuses a token whose signature was altered", () => {
    const [payload, signature] = signLinkToken(currentKey, claims).split(".") as [string, string];
    const flipped = `${signature.slice(0, -2)}${signature.endsWith("AA") ? "AE" : "AA"}`;
    expect(() => verifyLinkToken([currentKey], `${payload}.${flipped}`, { approvalId, now: before })).toThrow(
      ForbiddenError,
    );
  });

  it("refuses a token made for another approval", () => {
    const token = signLinkToken(currentKey, { ...claims, approvalId: otherApprovalId });
    const error = refusal(() => verifyLinkToken([currentKey], token, { approvalId, now: before }));
    expect(error.message).toMatch(/another approval/);
  });

  it("cannot turn another approver's token into yours: changing the payload breaks the signature", () => {
    const [, signature] = signLinkToken(currentKey, { ...claims, approver: "bob@example.com" }).split(".");
    const rewritten = encode({ v: 1, a: approvalId, p: "ana@example.com", e: Date.parse(expiresAt) / 1_000 });
    const error = refusal(() =>
      verifyLinkToken([currentKey], `${rewritten}.${signature}`, { approvalId, now: before }),
    );
    expect(error.message).toMatch(/signature is not valid/);
  });

  it("cannot extend its own expiry: changing the payload breaks the signature", () => {
    const [, signature] = signLinkToken(currentKey, claims).split(".");
    const extended = encode({
      v: 1,
      a: approvalId,
      p: "ana@example.com",
      e: Date.parse(expiresAt) / 1_000 + 86_400,
    });
    expect(() =>
      verifyLinkToken([currentKey], `${extended}.${signature}`, { approvalId, now: new Date(expiresAt) }),
    ).toThrow(/signature is not valid/);
  });

  it.each([
    ["at the expiry", new Date(expiresAt)],
    ["after the expiry", new Date("2026-11-29T00:00:00.000Z")],
  ])("refuses a token %s", (_, now) => {
    const token = signLinkToken(currentKey, claims);
    expect(refusal(() => verifyLinkToken([currentKey], token, { approvalId, now })).message).toBe(
      `The approval link expired at ${expiresAt}`,
    );
  });

  it("accepts a token until the second before it expires", () => {
    const token = signLinkToken(currentKey, claims);
    const now = new Date(Date.parse(expiresAt) - 1);
    expect(verifyLinkToken([currentKey], token, { approvalId, now }).approver).toBe("ana@example.com");
  });

  describe("key rotation", () => {
    const signedWithPrevious = signLinkToken(previousKey, claims);

    it("verifies a token signed with the previous key when both keys are given", () => {
      expect(
        verifyLinkToken([currentKey, previousKey], signedWithPrevious, { approvalId, now: before }).approver,
      ).toBe("ana@example.com");
    });

    it("refuses it once only the current key is left", () => {
      expect(() => verifyLinkToken([currentKey], signedWithPrevious, { approvalId, now: before })).toThrow(
        /signature is not valid/,
      );
    });
  });

  const validPayload = encode({
    v: 1,
    a: approvalId,
    p: "ana@example.com",
    e: Date.parse(expiresAt) / 1_000,
  });
  const signedAs = (payloadPart: string): string => `${payloadPart}.${signPart(currentKey, payloadPart)}`;

  it.each([
    ["an empty string", ""],
    ["no dot", "abcdef"],
    ["three parts", `${validPayload}.${signPart(currentKey, validPayload)}.extra`],
    ["characters outside base64url", `${validPayload}.${"+/".repeat(22)}`],
    ["a short signature", `${validPayload}.${Buffer.alloc(16).toString("base64url")}`],
    [
      "a non-canonical base64url signature",
      `${validPayload}.${signPart(currentKey, validPayload).slice(0, -1)}B`,
    ],
    ["an empty payload", `.${signPart(currentKey, "")}`],
    ["a token longer than the limit", `${"A".repeat(maxLinkTokenLength)}.${signPart(currentKey, "x")}`],
    ["a signed payload that is not JSON", signedAs(Buffer.from("not json").toString("base64url"))],
    ["a signed payload of another version", signedAs(encode({ v: 2, a: approvalId, p: "a@b.c", e: 2e9 }))],
    ["a signed payload without an approver", signedAs(encode({ v: 1, a: approvalId, p: "", e: 2e9 }))],
    [
      "a signed payload with a fractional expiry",
      signedAs(encode({ v: 1, a: approvalId, p: "a@b.c", e: 1.5 })),
    ],
    ["a signed JSON null", signedAs(encode(null))],
  ])("refuses %s as malformed or unsigned", (_, token) => {
    const error = refusal(() => verifyLinkToken([currentKey], token, { approvalId, now: before }));
    expect(error.message).toMatch(/malformed|signature is not valid/);
  });

  it("never puts the token or a key in its messages", () => {
    const token = signLinkToken(currentKey, claims);
    const [payload, signature] = token.split(".") as [string, string];
    const attempts = [
      () => verifyLinkToken([previousKey], token, { approvalId, now: before }),
      () => verifyLinkToken([currentKey], token, { approvalId: otherApprovalId, now: before }),
      () => verifyLinkToken([currentKey], token, { approvalId, now: new Date(expiresAt) }),
      () => verifyLinkToken([currentKey], `${token}.x`, { approvalId, now: before }),
    ];
    for (const attempt of attempts) {
      const { message } = refusal(attempt);
      for (const secret of [token, payload, signature, currentKey, previousKey]) {
        expect(message).not.toContain(secret);
      }
    }
  });

  it("refuses to verify without a key, or with an empty one, rather than accept forgeries", () => {
    const token = signLinkToken(currentKey, claims);
    expect(() => verifyLinkToken([], token, { approvalId, now: before })).toThrow(/no link key/);
    expect(() => verifyLinkToken([currentKey, ""], token, { approvalId, now: before })).toThrow(
      /no link key/,
    );
  });

  it.each([
    ["an empty key", "", claims],
    ["an expiry that is not a time", currentKey, { ...claims, expiresAt: "tomorrow" }],
    ["a blank approver", currentKey, { ...claims, approver: "  " }],
  ])("refuses to sign with %s", (_, key, input) => {
    expect(() => signLinkToken(key, input)).toThrow(ValidationError);
  });
});

describe("linkKeys", () => {
  const secretName = "switchyard/approval-link-key";
  let nowMs = Date.parse("2026-11-28T08:00:00.000Z");
  const clock: Clock = { now: () => new Date(nowMs) };
  let store: SqliteSecretStore;

  beforeEach(() => {
    nowMs = Date.parse("2026-11-28T08:00:00.000Z");
    store = new SqliteSecretStore({ db: openDatabase(":memory:") });
  });

  afterEach(() => {
    clearLinkKeyCache();
    store.close();
  });

  it("returns the current key alone when the secret was never rotated", async () => {
    await store.createSecret({ name: secretName, secretString: currentKey });
    expect(await linkKeys(store, secretName)).toEqual([currentKey]);
  });

  it("returns the current key, then the previous one, after a rotation", async () => {
    await store.createSecret({ name: secretName, secretString: previousKey });
    await store.putSecretValue(secretName, currentKey);
    expect(await linkKeys(store, secretName)).toEqual([currentKey, previousKey]);
  });

  it("fails with a message naming the secret, not a 4xx, when the secret is missing", async () => {
    const error = await linkKeys(store, secretName).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect(error).not.toBeInstanceOf(ForbiddenError);
    expect((error as Error).message).toBe(`The link key ${secretName} could not be read`);
  });

  it("refuses an empty current key", async () => {
    await store.createSecret({ name: secretName, secretString: "" });
    await expect(linkKeys(store, secretName)).rejects.toThrow(/is empty/);
  });

  it("caches per store and secret name for linkKeyCacheSeconds when given a clock", async () => {
    await store.createSecret({ name: secretName, secretString: previousKey });
    const read = vi.spyOn(store, "getSecretValue");
    expect(await linkKeys(store, secretName, { clock })).toEqual([previousKey]);
    await store.putSecretValue(secretName, currentKey);
    const readsAfterFirstCall = read.mock.calls.length;

    nowMs += (linkKeyCacheSeconds - 1) * 1_000;
    expect(await linkKeys(store, secretName, { clock })).toEqual([previousKey]);
    expect(read.mock.calls.length).toBe(readsAfterFirstCall);

    nowMs += 1_000;
    expect(await linkKeys(store, secretName, { clock })).toEqual([currentKey, previousKey]);
  });

  it("reads again when asked for fresh keys, or after the cache is cleared", async () => {
    await store.createSecret({ name: secretName, secretString: previousKey });
    await linkKeys(store, secretName, { clock });
    await store.putSecretValue(secretName, currentKey);
    expect(await linkKeys(store, secretName, { clock, fresh: true })).toEqual([currentKey, previousKey]);

    await store.putSecretValue(secretName, "c".repeat(64));
    clearLinkKeyCache();
    expect(await linkKeys(store, secretName, { clock })).toEqual(["c".repeat(64), currentKey]);
  });

  it("reads every time without a clock", async () => {
    await store.createSecret({ name: secretName, secretString: previousKey });
    await linkKeys(store, secretName);
    await store.putSecretValue(secretName, currentKey);
    expect(await linkKeys(store, secretName)).toEqual([currentKey, previousKey]);
  });
});

describe("ensureLinkKey", () => {
  const secretName = "switchyard/approval-link-key";
  let store: SqliteSecretStore;

  beforeEach(() => {
    store = new SqliteSecretStore({ db: openDatabase(":memory:") });
  });

  afterEach(() => store.close());

  it("creates the secret with the random key when it does not exist", async () => {
    expect(await ensureLinkKey(store, secretName, () => currentKey)).toBe(true);
    expect((await store.getSecretValue(secretName)).secretString).toBe(currentKey);
  });

  it("leaves an existing key alone", async () => {
    await store.createSecret({ name: secretName, secretString: previousKey });
    const randomHex = vi.fn(() => currentKey);
    expect(await ensureLinkKey(store, secretName, randomHex)).toBe(false);
    expect(randomHex).not.toHaveBeenCalled();
    expect((await store.getSecretValue(secretName)).secretString).toBe(previousKey);
  });

  it("stores a key in a secret that exists without a value", async () => {
    await store.createSecret({ name: secretName });
    expect(await ensureLinkKey(store, secretName, () => currentKey)).toBe(true);
    expect(await linkKeys(store, secretName)).toEqual([currentKey]);
  });

  it("refuses a key shorter than 32 bytes of hex", async () => {
    await expect(ensureLinkKey(store, secretName, () => "abc123")).rejects.toThrow(ValidationError);
  });

  it("makes keys that sign and verify tokens", async () => {
    await ensureLinkKey(store, secretName, () => currentKey);
    const [key] = await linkKeys(store, secretName);
    const token = signLinkToken(key!, claims);
    expect(
      verifyLinkToken(await linkKeys(store, secretName), token, { approvalId, now: before }).approver,
    ).toBe("ana@example.com");
  });
});
