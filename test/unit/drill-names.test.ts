// Tests of restore-drill scratch names: the one shape both snapshot services create, and delete.

import { describe, expect, it } from "vitest";
import {
  assertDrillScratchName,
  drillScratchName,
  isDrillScratchName,
} from "../../functions/core/drill-names.ts";

const at = new Date("2026-05-01T12:00:00.750Z");

describe("drillScratchName", () => {
  it.each([
    ["orders", "switchyard-drill-orders-20260501120000"],
    ["Orders_DB", "switchyard-drill-orders-db-20260501120000"],
    ["--", "switchyard-drill-db-20260501120000"],
    ["a".repeat(100), `switchyard-drill-${"a".repeat(31)}-20260501120000`],
  ])("names a drill of %s %s, a valid scratch name", (database, expected) => {
    const name = drillScratchName(database, at);

    expect(name).toBe(expected);
    expect(name.length).toBeLessThanOrEqual(63);
    expect(isDrillScratchName(name)).toBe(true);
  });

  it("refuses an invalid time", () => {
    expect(() => drillScratchName("orders", new Date(Number.NaN))).toThrow(/valid time/);
  });
});

describe("isDrillScratchName", () => {
  it.each([
    ["switchyard-drill-orders-20260501120000", true],
    ["orders", false],
    ["switchyard-drill-", false],
    ["switchyard-drill-Orders", false],
    ["switchyard-drill-orders--x", false],
    ["switchyard-drill-orders-", false],
    ["switchyard_drill_orders", false],
    [`switchyard-drill-${"a".repeat(47)}`, false],
  ])("%s → %s", (name, expected) => {
    expect(isDrillScratchName(name)).toBe(expected);
  });

  it("is what assertDrillScratchName enforces, with a ValidationError naming the rule", () => {
    expect(() => assertDrillScratchName("orders")).toThrow(
      expect.objectContaining({
        name: "ValidationError",
        message: expect.stringMatching(/switchyard-drill-/),
      }),
    );
    expect(() => assertDrillScratchName("switchyard-drill-orders-20260501120000")).not.toThrow();
  });
});
