// When the local runtime rotates a secret on its own: the schedule counted from the last rotation.

import { describe, expect, it } from "vitest";
import { secretSchema } from "../../functions/core/config.ts";
import type { SecretSummary } from "../../functions/core/ports.ts";
import { nextRotation } from "../../local/rotations.ts";

const secret = (schedule: string) =>
  secretSchema.parse({ name: "orders/db", rotation: { schedule, strategy: "single-user" } });

const summary = (created: string, lastRotated?: string): SecretSummary => ({
  name: "orders/db",
  arn: "arn:aws:secretsmanager:us-east-1:000000000000:secret:orders/db-AbCdEf",
  createdDate: new Date(created),
  versionIdsToStages: {},
  rotationEnabled: lastRotated !== undefined,
  ...(lastRotated ? { lastRotatedDate: new Date(lastRotated) } : {}),
});

describe("nextRotation", () => {
  it.each([
    [
      "rate(30 days) from creation",
      "rate(30 days)",
      summary("2026-11-01T10:00:00Z"),
      "2026-12-01T10:00:00.000Z",
    ],
    [
      "rate(30 days) from the last rotation",
      "rate(30 days)",
      summary("2026-01-01T00:00:00Z", "2026-11-20T08:30:00Z"),
      "2026-12-20T08:30:00.000Z",
    ],
    ["rate(4 hours)", "rate(4 hours)", summary("2026-11-27T10:00:00Z"), "2026-11-27T14:00:00.000Z"],
    [
      "cron: Sundays 04:00 UTC after the last rotation",
      "cron(0 4 ? * SUN *)",
      summary("2026-01-01T00:00:00Z", "2026-11-27T12:00:00Z"),
      "2026-11-29T04:00:00.000Z",
    ],
    [
      "cron: the first of the month",
      "cron(0 0 1 * ? *)",
      summary("2026-11-15T00:00:00Z"),
      "2026-12-01T00:00:00.000Z",
    ],
  ])("%s", (_, schedule, secretSummary, expected) => {
    expect(nextRotation(secret(schedule), secretSummary)?.toISOString()).toBe(expected);
  });
});
