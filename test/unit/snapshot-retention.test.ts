// Snapshot retention and the manual-snapshot quota: the age boundary, the minCount floor, whose snapshots are touched.

import { describe, expect, it } from "vitest";
import { ValidationError } from "../../functions/core/errors.ts";
import {
  checkQuota,
  planRetention,
  type QuotaCheck,
  type QuotaInput,
  type RetentionPlan,
  type RetentionSnapshot,
} from "../../functions/core/snapshot-retention.ts";

const now = new Date("2026-05-08T03:00:00.000Z");
const minute = 60_000;
const hour = 60 * minute;
const day = 24 * hour;

const within = "within retention: not older than 7 days";
const automated = "automated: RDS deletes it when the instance's backup retention period ends";
const foreign = "not Switchyard's: no switchyard:created-by=switchyard tag, so someone else owns it";
const floorOf = (database: string, minCount = 3) =>
  `minCount floor: one of the ${minCount} newest available snapshots of ${database}`;

/** A Switchyard snapshot of `orders`, available, taken `ageMs` before `now`; ids name the snapshot in the tables. */
const snap = (id: string, ageMs: number, overrides: Partial<RetentionSnapshot> = {}): RetentionSnapshot => ({
  id,
  database: "orders",
  createdAt: new Date(now.getTime() - ageMs).toISOString(),
  status: "available",
  type: "manual",
  createdBySwitchyard: true,
  ...overrides,
});

interface Case {
  snapshots: RetentionSnapshot[];
  retentionDays?: number;
  minCount?: number;
  /** Ids deleted, newest first. */
  deleted: string[];
  /** [id, reason] kept, newest first. */
  kept: [string, string][];
}

const plan = ({
  snapshots,
  retentionDays = 7,
  minCount = 3,
}: Omit<Case, "deleted" | "kept">): RetentionPlan =>
  planRetention({ snapshots, now, retentionDays, minCount });

const summary = (result: RetentionPlan) => ({
  deleted: result.delete.map((s) => s.id),
  kept: result.keep.map((k): [string, string] => [k.snapshot.id, k.reason]),
});

/** Ten expired snapshots of orders, one a day from 8 days old: e8 is the newest, e17 the oldest. */
const tenExpired = Array.from({ length: 10 }, (_, i) => snap(`e${i + 8}`, (i + 8) * day));

describe("planRetention", () => {
  it.each<[string, Case]>([
    ["an empty list", { snapshots: [], deleted: [], kept: [] }],
    [
      "6d23h59m old: kept",
      { snapshots: [snap("a", 7 * day - minute)], minCount: 0, deleted: [], kept: [["a", within]] },
    ],
    [
      "exactly 7 days old: kept (expired means strictly older than retentionDays)",
      { snapshots: [snap("a", 7 * day)], minCount: 0, deleted: [], kept: [["a", within]] },
    ],
    [
      "7 days and 1 ms old: deleted",
      { snapshots: [snap("a", 7 * day + 1)], minCount: 0, deleted: ["a"], kept: [] },
    ],
    [
      "a snapshot from the future (clock skew): within retention",
      { snapshots: [snap("a", -hour)], minCount: 0, deleted: [], kept: [["a", within]] },
    ],
    [
      "10 expired with minCount 3: the 3 newest are kept",
      {
        snapshots: tenExpired,
        deleted: ["e11", "e12", "e13", "e14", "e15", "e16", "e17"],
        kept: [
          ["e8", floorOf("orders")],
          ["e9", floorOf("orders")],
          ["e10", floorOf("orders")],
        ],
      },
    ],
    [
      "10 expired in reverse order: the same plan, newest first",
      {
        snapshots: [...tenExpired].reverse(),
        deleted: ["e11", "e12", "e13", "e14", "e15", "e16", "e17"],
        kept: [
          ["e8", floorOf("orders")],
          ["e9", floorOf("orders")],
          ["e10", floorOf("orders")],
        ],
      },
    ],
    [
      "recent snapshots count toward the floor: 2 within retention, so only 1 expired is kept",
      {
        snapshots: [snap("r1", day), snap("r2", 2 * day), ...tenExpired.slice(0, 3)],
        deleted: ["e9", "e10"],
        kept: [
          ["r1", within],
          ["r2", within],
          ["e8", floorOf("orders")],
        ],
      },
    ],
    [
      "more recent snapshots than minCount: every expired one is deleted",
      {
        snapshots: [
          snap("r1", day),
          snap("r2", 2 * day),
          snap("r3", 3 * day),
          snap("r4", 4 * day),
          snap("old", 30 * day),
        ],
        deleted: ["old"],
        kept: [
          ["r1", within],
          ["r2", within],
          ["r3", within],
          ["r4", within],
        ],
      },
    ],
    [
      "minCount 1 names the newest",
      {
        snapshots: [snap("a", 8 * day), snap("b", 9 * day)],
        minCount: 1,
        deleted: ["b"],
        kept: [["a", "minCount floor: the newest available snapshot of orders"]],
      },
    ],
    [
      "minCount 0: every expired snapshot is deleted",
      { snapshots: tenExpired.slice(0, 3), minCount: 0, deleted: ["e8", "e9", "e10"], kept: [] },
    ],
    [
      "foreign and automated snapshots are untouched even when ancient",
      {
        snapshots: [
          snap("theirs", 400 * day, { createdBySwitchyard: false }),
          snap("rds:orders-2025-04-03-03-00", 400 * day, { type: "automated", createdBySwitchyard: false }),
          snap("automated-but-tagged", 500 * day, { type: "automated" }),
        ],
        minCount: 0,
        deleted: [],
        kept: [
          ["rds:orders-2025-04-03-03-00", automated],
          ["theirs", foreign],
          ["automated-but-tagged", automated],
        ],
      },
    ],
    [
      "foreign and automated snapshots do not count toward the floor",
      {
        snapshots: [
          snap("theirs", day, { createdBySwitchyard: false }),
          snap("rds:orders-auto", day, { type: "automated", createdBySwitchyard: false }),
          snap("a", 8 * day),
          snap("b", 9 * day),
        ],
        minCount: 1,
        deleted: ["b"],
        kept: [
          ["rds:orders-auto", automated],
          ["theirs", foreign],
          ["a", "minCount floor: the newest available snapshot of orders"],
        ],
      },
    ],
    [
      "several databases: each keeps its own floor, and the output interleaves them newest first",
      {
        snapshots: [
          snap("o1", 8 * day),
          snap("o2", 10 * day),
          snap("o3", 12 * day),
          snap("p1", 9 * day, { database: "payments" }),
          snap("p2", 11 * day, { database: "payments" }),
          snap("p3", 13 * day, { database: "payments" }),
          snap("p-recent", day, { database: "payments" }),
        ],
        minCount: 2,
        deleted: ["p2", "o3", "p3"],
        kept: [
          ["p-recent", within],
          ["o1", floorOf("orders", 2)],
          ["p1", floorOf("payments", 2)],
          ["o2", floorOf("orders", 2)],
        ],
      },
    ],
    [
      "snapshots taken in the same second: ordered by database, then id",
      {
        snapshots: [snap("z", 8 * day, { database: "payments" }), snap("b", 8 * day), snap("a", 8 * day)],
        minCount: 0,
        deleted: ["a", "b", "z"],
        kept: [],
      },
    ],
    [
      "creating and failed snapshots never count toward the floor; an expired failed one is deleted",
      {
        snapshots: [
          snap("creating", 8 * day, { status: "creating" }),
          snap("failed-old", 9 * day, { status: "failed" }),
          snap("a", 10 * day),
          snap("b", 11 * day),
          snap("c", 12 * day),
        ],
        minCount: 2,
        deleted: ["failed-old", "c"],
        kept: [
          ["creating", "status creating: only available and failed snapshots are deleted"],
          ["a", floorOf("orders", 2)],
          ["b", floorOf("orders", 2)],
        ],
      },
    ],
    [
      "a failed snapshot within retention is kept, still not counting toward the floor",
      {
        snapshots: [snap("failed-new", day, { status: "failed" }), snap("a", 8 * day), snap("b", 9 * day)],
        minCount: 1,
        deleted: ["b"],
        kept: [
          ["failed-new", within],
          ["a", "minCount floor: the newest available snapshot of orders"],
        ],
      },
    ],
    [
      "an ancient snapshot RDS cannot delete (creating, deleting) is left alone",
      {
        snapshots: [
          snap("stuck", 90 * day, { status: "creating" }),
          snap("going", 91 * day, { status: "deleting" }),
        ],
        minCount: 0,
        deleted: [],
        kept: [
          ["stuck", "status creating: only available and failed snapshots are deleted"],
          ["going", "status deleting: only available and failed snapshots are deleted"],
        ],
      },
    ],
    [
      "a shorter retention",
      {
        snapshots: [snap("a", day - 1), snap("b", day + 1)],
        retentionDays: 1,
        minCount: 0,
        deleted: ["b"],
        kept: [["a", "within retention: not older than 1 day"]],
      },
    ],
  ])("%s", (_name, { deleted, kept, ...input }) => {
    expect(summary(plan(input))).toEqual({ deleted, kept });
  });

  it("returns the snapshots it was given, not copies with other fields", () => {
    const theirs = snap("theirs", 400 * day, { createdBySwitchyard: false });
    const old = snap("old", 30 * day);
    const result = plan({ snapshots: [theirs, old], minCount: 0 });
    expect(result.delete).toEqual([old]);
    expect(result.keep[0]?.snapshot).toBe(theirs);
  });

  it("sorts others' snapshots without a readable time last rather than failing the run", () => {
    const result = plan({
      snapshots: [snap("theirs", 0, { createdBySwitchyard: false, createdAt: "" }), snap("a", day)],
    });
    expect(summary(result).kept.map(([id]) => id)).toEqual(["a", "theirs"]);
  });

  it.each<[string, Partial<Parameters<typeof planRetention>[0]>, RegExp]>([
    [
      "a Switchyard snapshot without a readable time",
      { snapshots: [snap("a", 0, { createdAt: "yesterday" })] },
      /snapshot a has createdAt "yesterday"/,
    ],
    ["an invalid now", { now: new Date(Number.NaN) }, /valid time/],
    ["a negative minCount", { minCount: -1 }, /minCount must be a whole number of at least 0, not -1/],
    ["a fractional minCount", { minCount: 1.5 }, /minCount/],
    ["a negative retention", { retentionDays: -1 }, /retentionDays/],
  ])("refuses %s", (_name, overrides, message) => {
    const input = { snapshots: [], now, retentionDays: 7, minCount: 3, ...overrides };
    expect(() => planRetention(input)).toThrow(ValidationError);
    expect(() => planRetention(input)).toThrow(message);
  });
});

describe("checkQuota", () => {
  const quota = (
    manualSnapshotCount: number,
    creating: number,
    limit = 100,
    warnAtPercent = 80,
  ): QuotaInput => ({
    manualSnapshotCount,
    creating,
    limit,
    warnAtPercent,
  });

  it.each<[string, QuotaInput, QuotaCheck]>([
    [
      "well below the warning level",
      quota(10, 1),
      { state: "ok", message: "RDS allows 100 manual snapshots per region; 11 after this run (11 %)" },
    ],
    [
      "just below 80 %",
      quota(78, 1),
      { state: "ok", message: "RDS allows 100 manual snapshots per region; 79 after this run (79 %)" },
    ],
    [
      "reaching 80 % with the new snapshot",
      quota(79, 1),
      {
        state: "warn",
        message:
          "RDS allows 100 manual snapshots per region; 80 after this run (80 %), at or past the 80 % warning level",
      },
    ],
    [
      "already past 80 %, creating nothing",
      quota(90, 0),
      {
        state: "warn",
        message:
          "RDS allows 100 manual snapshots per region; 90 after this run (90 %), at or past the 80 % warning level",
      },
    ],
    [
      "exactly at the limit: a warning, not a refusal",
      quota(97, 3),
      {
        state: "warn",
        message:
          "RDS allows 100 manual snapshots per region; 100 after this run (100 %), at or past the 80 % warning level",
      },
    ],
    [
      "past the limit",
      quota(98, 3),
      {
        state: "refuse",
        message: "RDS allows 100 manual snapshots per region; 98 exist and 3 more were asked for",
      },
    ],
    [
      "at the limit, asking for one more",
      quota(100, 1),
      {
        state: "refuse",
        message: "RDS allows 100 manual snapshots per region; 100 exist and 1 more was asked for",
      },
    ],
    [
      "a raised limit",
      quota(150, 10, 200),
      {
        state: "warn",
        message:
          "RDS allows 200 manual snapshots per region; 160 after this run (80 %), at or past the 80 % warning level",
      },
    ],
    [
      "a warning level that is not a round share (33 % of 10 is 3.3)",
      quota(3, 0, 10, 33),
      { state: "ok", message: "RDS allows 10 manual snapshots per region; 3 after this run (30 %)" },
    ],
    [
      "one existing snapshot in a quota of one",
      quota(1, 1, 1),
      {
        state: "refuse",
        message: "RDS allows 1 manual snapshot per region; 1 exists and 1 more was asked for",
      },
    ],
  ])("%s", (_name, input, expected) => {
    expect(checkQuota(input)).toEqual(expected);
  });

  it.each<[string, QuotaInput]>([
    ["a negative count", quota(-1, 0)],
    ["a fractional creating", quota(1, 0.5)],
    ["a limit of 0", quota(0, 0, 0)],
    ["a warning level of 0", quota(1, 0, 100, 0)],
    ["a warning level past 100", quota(1, 0, 100, 101)],
  ])("refuses %s", (_name, input) => {
    expect(() => checkQuota(input)).toThrow(ValidationError);
  });
});
