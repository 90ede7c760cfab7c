// Incident acknowledge links: signed for one incident, valid a week, never usable as an approval link or the reverse.

import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ForbiddenError } from "../../functions/core/http-errors.ts";
import {
  ackLinkHolder,
  ackLinkValidityDays,
  incidentAckUrl,
  incidentPageUrl,
  makeAckUrl,
  signAckToken,
  verifyAckLink,
  verifyAckToken,
} from "../../functions/core/incident-links.ts";
import { clearLinkKeyCache, signLinkToken, verifyLinkToken } from "../../functions/core/link-token.ts";
import type { Clock } from "../../functions/core/ports.ts";
import type { SqliteSecretStore } from "../../local/adapters/sqlite-secret-store.ts";
import { openDatabase, type SqliteDatabase } from "../../local/db.ts";
import { testConfig } from "../support/config.ts";
import { storedSecrets } from "../support/fakes.ts";

const currentKey = "a".repeat(64);
const previousKey = "b".repeat(64);
const rotatedKey = "c".repeat(64);
const incidentId = "7d7c1a52-0b3e-4f5a-9c21-3e4d5f6a7b8c";
const otherIncidentId = "11111111-2222-4333-8444-555555555555";
const now = new Date("2026-11-28T08:00:00.000Z");
const dayMs = 24 * 60 * 60 * 1_000;
const linkKeySecret = "switchyard/approval-link-key";

const config = testConfig();

const refusal = (verify: () => unknown): ForbiddenError => {
  try {
    verify();
  } catch (error) {
    expect(error).toBeInstanceOf(ForbiddenError);
    return error as ForbiddenError;
  }
  throw new Error("expected the acknowledge link to be refused");
};

const tokenOf = (url: string): string => new URL(url).searchParams.get("token") ?? "";

describe("signAckToken / verifyAckToken", () => {
  const expiresAt = new Date(now.getTime() + dayMs);

  it("accepts a token for its incident until it expires", () => {
    const token = signAckToken(currentKey, incidentId, expiresAt);
    expect(verifyAckToken([currentKey], token, { incidentId, now })).toEqual({
      expiresAt: expiresAt.toISOString(),
    });
  });

  it("accepts a token signed with the previous key", () => {
    const token = signAckToken(previousKey, incidentId, expiresAt);
    expect(() => verifyAckToken([currentKey, previousKey], token, { incidentId, now })).not.toThrow();
  });

  it.each([
    [
      "forged (another key)",
      () => signAckToken("f".repeat(64), incidentId, expiresAt),
      /signature is not valid/,
    ],
    [
      "made for another incident",
      () => signAckToken(currentKey, otherIncidentId, expiresAt),
      new RegExp(`another incident than ${incidentId}`),
    ],
    ["malformed", () => "not-a-token", /malformed/],
    [
      "with a tampered payload",
      () => {
        const [, signature] = signAckToken(currentKey, incidentId, expiresAt).split(".");
        const payload = Buffer.from(
          JSON.stringify({ v: 1, a: `incident:${incidentId}`, p: ackLinkHolder, e: 4_102_444_800 }),
        ).toString("base64url");
        return `${payload}.${signature}`;
      },
      /signature is not valid/,
    ],
  ])("refuses a token %s, saying so as an acknowledge link", (_, token, message) => {
    const error = refusal(() => verifyAckToken([currentKey], token(), { incidentId, now }));
    expect(error.message).toMatch(message);
    expect(error.message).toMatch(/^The acknowledge link/);
    expect(error.message).not.toContain(currentKey);
  });

  it("refuses an expired token from the second it expires", () => {
    const token = signAckToken(currentKey, incidentId, expiresAt);
    expect(refusal(() => verifyAckToken([currentKey], token, { incidentId, now: expiresAt })).message).toBe(
      `The acknowledge link expired at ${expiresAt.toISOString()}`,
    );
    expect(() =>
      verifyAckToken([currentKey], token, { incidentId, now: new Date(expiresAt.getTime() - 1_000) }),
    ).not.toThrow();
  });

  it("refuses an approval's link token, even one signed for the incident's id", () => {
    const approvalToken = signLinkToken(currentKey, {
      approvalId: incidentId,
      approver: "ana@example.com",
      expiresAt: expiresAt.toISOString(),
    });
    expect(refusal(() => verifyAckToken([currentKey], approvalToken, { incidentId, now })).message).toMatch(
      /another incident/,
    );
  });

  it("refuses a token for the incident's subject that names someone other than the link holder", () => {
    const personal = signLinkToken(currentKey, {
      approvalId: `incident:${incidentId}`,
      approver: "ana@example.com",
      expiresAt: expiresAt.toISOString(),
    });
    expect(refusal(() => verifyAckToken([currentKey], personal, { incidentId, now })).message).toMatch(
      /another incident/,
    );
  });

  it("is never accepted as an approval's link token", () => {
    const token = signAckToken(currentKey, incidentId, expiresAt);
    expect(() => verifyLinkToken([currentKey], token, { approvalId: incidentId, now })).toThrow(
      ForbiddenError,
    );
  });
});

describe("incidentAckUrl", () => {
  it(`points at the incident's page with a token valid ${ackLinkValidityDays} days`, () => {
    const url = incidentAckUrl("https://pages.example.com/", { id: incidentId }, currentKey, now);
    expect(url).toMatch(
      new RegExp(`^https://pages\\.example\\.com/incidents/${incidentId}\\?token=[\\w.-]+$`),
    );
    const token = tokenOf(url);
    const expiry = new Date(now.getTime() + ackLinkValidityDays * dayMs);
    expect(verifyAckToken([currentKey], token, { incidentId, now })).toEqual({
      expiresAt: expiry.toISOString(),
    });
    expect(() =>
      verifyAckToken([currentKey], token, { incidentId, now: new Date(expiry.getTime() - 1_000) }),
    ).not.toThrow();
    expect(() => verifyAckToken([currentKey], token, { incidentId, now: expiry })).toThrow(ForbiddenError);
  });

  it("encodes the id in the page path", () => {
    expect(incidentPageUrl("http://127.0.0.1:4000", "a/b")).toBe("http://127.0.0.1:4000/incidents/a%2Fb");
  });
});

describe("makeAckUrl / verifyAckLink", () => {
  let db: SqliteDatabase;
  let secrets: SqliteSecretStore;
  let clockNow: Date;
  const clock: Clock = { now: () => clockNow };

  beforeEach(async () => {
    clearLinkKeyCache();
    clockNow = now;
    db = openDatabase(":memory:");
    secrets = await storedSecrets(db, { [linkKeySecret]: currentKey }, clock);
  });

  afterEach(() => {
    clearLinkKeyCache();
    db.close();
  });

  it("signs with the current link key, and the link verifies", async () => {
    const ackUrl = makeAckUrl({ config, secrets, clock, baseUrl: () => "http://127.0.0.1:4000" });
    const url = await ackUrl({ id: incidentId });
    expect(url.startsWith(`http://127.0.0.1:4000/incidents/${incidentId}?token=`)).toBe(true);
    expect(() => verifyAckToken([currentKey], tokenOf(url), { incidentId, now })).not.toThrow();
    await expect(verifyAckLink({ config, secrets, clock }, tokenOf(url), incidentId)).resolves.toEqual({
      expiresAt: new Date(now.getTime() + ackLinkValidityDays * dayMs).toISOString(),
    });
  });

  it("keeps verifying links signed before the link key was rotated, even while the old keys are cached", async () => {
    const ackUrl = makeAckUrl({ config, secrets, clock, baseUrl: () => "http://localhost" });
    const before = tokenOf(await ackUrl({ id: incidentId }));
    await secrets.putSecretValue(linkKeySecret, rotatedKey);
    await expect(verifyAckLink({ config, secrets, clock }, before, incidentId)).resolves.toBeDefined();
    // A link signed with the new key verifies although the cache still holds only the old one.
    const after = signAckToken(rotatedKey, incidentId, new Date(now.getTime() + dayMs));
    await expect(verifyAckLink({ config, secrets, clock }, after, incidentId)).resolves.toBeDefined();
  });

  it("refuses a forged link", async () => {
    const forged = signAckToken("f".repeat(64), incidentId, new Date(now.getTime() + dayMs));
    await expect(verifyAckLink({ config, secrets, clock }, forged, incidentId)).rejects.toThrow(
      ForbiddenError,
    );
  });

  it("falls back to the plain page and says why when the link key cannot be read", async () => {
    const failures: unknown[] = [];
    const ackUrl = makeAckUrl({
      config: { approvals: { ...config.approvals, linkKeySecret: "switchyard/missing-key" } },
      secrets,
      clock,
      baseUrl: () => "http://localhost/",
      onSignFailure: (error) => failures.push(error),
    });
    await expect(ackUrl({ id: incidentId })).resolves.toBe(`http://localhost/incidents/${incidentId}`);
    expect(failures).toHaveLength(1);
    expect(String(failures[0])).toMatch(/switchyard\/missing-key could not be read/);
  });
});
