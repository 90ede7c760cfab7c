// Tests of snapshot names and tags: every database name yields an identifier RDS accepts, and tags read back.

import { describe, expect, it } from "vitest";
import {
  isSnapshotIdentifier,
  readSnapshotTags,
  snapshotName,
  snapshotNameTime,
  snapshotTags,
} from "../../functions/core/snapshot-names.ts";

const at = new Date("2026-05-01T12:34:56.789Z");

describe("snapshotName", () => {
  it.each([
    ["orders", "scheduled", "switchyard-orders-20260501123456-scheduled"],
    ["orders", "pre-change", "switchyard-orders-20260501123456-pre-change"],
    ["orders", "manual", "switchyard-orders-20260501123456-manual"],
    ["Orders_DB", "manual", "switchyard-orders-db-20260501123456-manual"],
    ["payments--ledger", "manual", "switchyard-payments-ledger-20260501123456-manual"],
    ["-edge.case-", "manual", "switchyard-edge-case-20260501123456-manual"],
    ["db/with spaces & ünïcode", "manual", "switchyard-db-with-spaces-n-code-20260501123456-manual"],
    ["42", "manual", "switchyard-42-20260501123456-manual"],
    ["___", "scheduled", "switchyard-20260501123456-scheduled"],
  ] as const)("names %s (%s) %s", (database, reason, expected) => {
    expect(snapshotName(database, reason, at)).toBe(expected);
  });

  it("writes the time in UTC whatever the time zone it was given in", () => {
    expect(snapshotName("orders", "manual", new Date("2026-05-01T23:59:59+02:00"))).toBe(
      "switchyard-orders-20260501215959-manual",
    );
  });

  it("shortens a long database name to keep within RDS's 255 characters, never ending on a hyphen", () => {
    const name = snapshotName(`${"a".repeat(217)}-${"b".repeat(100)}`, "pre-change", at);

    expect(name.length).toBeLessThanOrEqual(255);
    expect(name).toMatch(/^switchyard-a+-20260501123456-pre-change$/);
    expect(isSnapshotIdentifier(name)).toBe(true);
  });

  it.each(["orders", "Orders_DB", "x".repeat(400), "--", "a-".repeat(200), "ÄÖÜ", ""])(
    "always yields a valid RDS snapshot identifier (%s)",
    (database) => {
      for (const reason of ["scheduled", "pre-change", "manual"] as const) {
        expect(isSnapshotIdentifier(snapshotName(database, reason, at))).toBe(true);
      }
    },
  );

  it("refuses an invalid time with a ValidationError", () => {
    expect(() => snapshotName("orders", "manual", new Date(Number.NaN))).toThrow(
      expect.objectContaining({ name: "ValidationError" }),
    );
  });
});

describe("isSnapshotIdentifier", () => {
  it.each([
    ["switchyard-orders-20260501123456-manual", true],
    ["a", true],
    ["a".repeat(255), true],
    ["a".repeat(256), false],
    ["", false],
    ["1abc", false],
    ["-abc", false],
    ["abc-", false],
    ["ab--c", false],
    ["Abc", false],
    ["ab_c", false],
    ["rds:orders-2026-05-01-03-00", false],
  ])("%s → %s", (id, expected) => {
    expect(isSnapshotIdentifier(id)).toBe(expected);
  });
});

describe("snapshotNameTime", () => {
  it("reads the UTC time a Switchyard snapshot name carries", () => {
    expect(snapshotNameTime(snapshotName("orders-2024", "pre-change", at))).toEqual(
      new Date("2026-05-01T12:34:56.000Z"),
    );
  });

  it.each([
    "orders-before-migration",
    "switchyard-orders-20261399123456-manual",
    "switchyard-orders-20260501123456-nightly",
  ])("answers undefined for %s", (id) => {
    expect(snapshotNameTime(id)).toBeUndefined();
  });
});

describe("snapshotTags", () => {
  it.each([
    [
      { reason: "scheduled" } as const,
      { "switchyard:created-by": "switchyard", "switchyard:reason": "scheduled" },
    ],
    [{ reason: "manual" } as const, { "switchyard:created-by": "switchyard", "switchyard:reason": "manual" }],
    [
      { reason: "pre-change", promotionId: "3f2b8c1e-7d4a-4e9b-a1c2-5d6e7f8a9b0c" } as const,
      {
        "switchyard:created-by": "switchyard",
        "switchyard:reason": "pre-change:3f2b8c1e-7d4a-4e9b-a1c2-5d6e7f8a9b0c",
        "switchyard:promotion-id": "3f2b8c1e-7d4a-4e9b-a1c2-5d6e7f8a9b0c",
      },
    ],
  ])("tags %j as %j", (input, expected) => {
    expect(snapshotTags(input)).toEqual(expected);
  });

  it.each([
    ["a pre-change snapshot without a promotion", { reason: "pre-change" } as const],
    ["a pre-change snapshot with an empty promotion id", { reason: "pre-change", promotionId: "" } as const],
    ["a promotion id RDS cannot carry in a tag", { reason: "pre-change", promotionId: "a,b" } as const],
    ["a promotion id too long for a tag", { reason: "pre-change", promotionId: "p".repeat(246) } as const],
  ])("refuses %s with a ValidationError", (_, input) => {
    expect(() => snapshotTags(input)).toThrow(expect.objectContaining({ name: "ValidationError" }));
  });
});

describe("readSnapshotTags", () => {
  it.each([
    { reason: "scheduled" } as const,
    { reason: "manual" } as const,
    { reason: "pre-change", promotionId: "3f2b8c1e" } as const,
  ])("reads back what snapshotTags wrote for %j", (input) => {
    expect(readSnapshotTags(snapshotTags(input))).toEqual(input);
  });

  it("reads the promotion from the reason when the promotion-id tag was removed", () => {
    expect(
      readSnapshotTags({ "switchyard:created-by": "switchyard", "switchyard:reason": "pre-change:3f2b8c1e" }),
    ).toEqual({ reason: "pre-change", promotionId: "3f2b8c1e" });
  });

  it.each([
    ["no tags", {}],
    ["tags of another tool", { owner: "dba", "switchyard:reason": "manual" }],
    ["another creator", { "switchyard:created-by": "someone", "switchyard:reason": "manual" }],
    [
      "a reason Switchyard never writes",
      { "switchyard:created-by": "switchyard", "switchyard:reason": "nightly" },
    ],
    ["no reason", { "switchyard:created-by": "switchyard" }],
  ])("answers undefined for %s", (_, tags) => {
    expect(readSnapshotTags(tags)).toBeUndefined();
  });
});
