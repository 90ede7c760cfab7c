// The rds-snapshot and restore-drill steps: planning, quota, reporting, pruning and drills, over a fake RDS.

import { beforeEach, describe, expect, it } from "vitest";
import { findCatalogEntry } from "../../events/catalog.ts";
import { NotFoundError, TransientError, ValidationError } from "../../functions/core/errors.ts";
import type {
  Clock,
  DatabaseTarget,
  DomainEvent,
  ManualSnapshot,
  Snapshot,
  SnapshotService,
} from "../../functions/core/ports.ts";
import {
  finishRestoreDrill,
  planRestoreDrills,
  runDrillSmokeQuery,
  startRestoreDrill,
} from "../../functions/core/restore-drill.ts";
import type { SnapshotRunInput } from "../../functions/core/snapshot-inputs.ts";
import { snapshotTags } from "../../functions/core/snapshot-names.ts";
import {
  createRunSnapshot,
  finishSnapshot,
  planSnapshots,
  pruneSnapshots,
  type SnapshotRunDeps,
} from "../../functions/core/snapshot-run.ts";
import { type ConfigOverrides, testConfig } from "../support/config.ts";

const now = new Date("2026-11-28T03:00:00.000Z");
const dayMs = 24 * 60 * 60 * 1000;
const promotionId = "0b8f8f3e-2f7c-4b55-9e58-52b0b3a8f0e1";

const database = (identifier: string, kind: DatabaseTarget["kind"] = "instance"): DatabaseTarget => ({
  identifier,
  kind,
  engine: kind === "cluster" ? "aurora-postgresql" : "postgres",
  encrypted: true,
});

const manual = (
  id: string,
  db: string,
  ageDays: number,
  extra: Partial<ManualSnapshot> = {},
): ManualSnapshot => ({
  id,
  database: db,
  createdAt: new Date(now.getTime() - ageDays * dayMs).toISOString(),
  status: "available",
  type: "manual",
  createdBySwitchyard: true,
  ...extra,
});

/** RDS as the steps see it: tagged databases, manual snapshots, and what was asked of it. */
class FakeRds {
  databases: DatabaseTarget[] = [database("checkout-db"), database("orders", "cluster")];
  manual: ManualSnapshot[] = [];
  snapshots: Snapshot[] = [];
  deleted: string[] = [];
  refuseDelete = new Set<string>();
  created: Parameters<SnapshotService["createSnapshot"]>[0][] = [];
  restores: { snapshotId: string; scratchName: string }[] = [];
  smoke: { rows: number; value?: string } = { rows: 1, value: "25" };

  service(): SnapshotService {
    const unused = async (): Promise<never> => {
      throw new Error("not used by these steps");
    };
    return {
      listDatabases: async () => this.databases,
      listManualSnapshots: async () => this.manual,
      listSnapshots: async (filter) => this.snapshots.filter((s) => s.database === filter?.database),
      createSnapshot: async (input) => {
        this.created.push(input);
        return {
          id: `switchyard-${input.database}-20261128030000-${input.reason}`,
          database: input.database,
          status: "creating",
          reason: input.reason,
          createdAt: now.toISOString(),
          tags: { ...snapshotTags(input) },
        };
      },
      deleteSnapshot: async (id) => {
        if (this.refuseDelete.has(id)) throw new TransientError(`snapshot ${id} is being copied`);
        this.deleted.push(id);
      },
      restoreForDrill: async (snapshotId, scratchName) => {
        this.restores.push({ snapshotId, scratchName });
        return { target: scratchName };
      },
      runSmokeQuery: async () => this.smoke,
      getSnapshot: unused,
      copySnapshot: unused,
      drillStatus: unused,
      deleteDrillTarget: unused,
    };
  }
}

const run = (overrides: Partial<SnapshotRunInput> = {}): SnapshotRunInput => ({
  reason: "scheduled",
  database: null,
  promotionId: null,
  note: null,
  requestedBy: null,
  ...overrides,
});

/** Every published event must be one the catalog lists, as the bus requires. */
const checked = (events: DomainEvent[]) =>
  events.map((event) => {
    expect(findCatalogEntry("switchyard", event.detailType), event.detailType).toBeDefined();
    return event;
  });

describe("snapshot run steps", () => {
  let rds: FakeRds;
  let published: DomainEvent[];
  let warnings: string[];
  const clock: Clock = { now: () => now };
  const deps = (snapshots: ConfigOverrides["snapshots"] = {}): SnapshotRunDeps => ({
    config: testConfig({ snapshots }),
    snapshots: rds.service(),
    publisher: { publish: async (events) => void published.push(...checked([...events])) },
    clock,
    logger: { warn: (message, attributes) => void warnings.push(`${message}: ${attributes.message}`) },
  });

  beforeEach(() => {
    rds = new FakeRds();
    published = [];
    warnings = [];
  });

  describe("planSnapshots", () => {
    it("plans every tagged database with its kind and the configured pacing", async () => {
      const plan = await planSnapshots(deps({ maxConcurrency: 3, pollIntervalSeconds: 30 }), run());

      expect(plan).toEqual({
        databases: [
          { database: "checkout-db", kind: "instance" },
          { database: "orders", kind: "cluster" },
        ],
        count: 2,
        refused: null,
        quotaWarning: null,
        maxConcurrency: 3,
        pollIntervalSeconds: 30,
        maxPolls: 120,
        copyTo: null,
      });
      expect(published).toEqual([]);
    });

    it("plans only the database asked for", async () => {
      const plan = await planSnapshots(deps(), run({ reason: "manual", database: "orders" }));

      expect(plan.databases).toEqual([{ database: "orders", kind: "cluster" }]);
    });

    it("refuses a database without the selector tag, naming the tag and the databases that carry it", async () => {
      const plan = await planSnapshots(deps(), run({ reason: "manual", database: "billing" }));

      expect(plan.count).toBe(0);
      expect(plan.refused).toBe(
        'database "billing" does not carry the tag switchyard:backup=true (databases that do: checkout-db, orders)',
      );
      expect(published.map((e) => [e.detailType, e.detail.failure])).toEqual([
        ["Snapshot Failed", "create-failed"],
      ]);
    });

    it("plans nothing, and publishes nothing, when no database is tagged", async () => {
      rds.databases = [];
      const plan = await planSnapshots(deps(), run());

      expect([plan.count, plan.refused]).toEqual([0, null]);
      expect(published).toEqual([]);
    });

    it("warns at the quota's warning level and goes ahead", async () => {
      rds.manual = Array.from({ length: 78 }, (_, i) =>
        manual(`other-${i}`, "legacy", 1, { createdBySwitchyard: false }),
      );
      const plan = await planSnapshots(deps(), run());

      expect(plan.refused).toBeNull();
      expect(plan.quotaWarning).toBe(
        "RDS allows 100 manual snapshots per region; 80 after this run (80 %), at or past the 80 % warning level",
      );
      expect(warnings).toHaveLength(1);
    });

    it("refuses past the quota with a Snapshot Failed (quota-exceeded) per database and starts nothing", async () => {
      rds.manual = Array.from({ length: 99 }, (_, i) => manual(`other-${i}`, "legacy", 1));
      const plan = await planSnapshots(deps(), run());

      expect(plan.count).toBe(0);
      expect(plan.refused).toBe(
        "refused to snapshot: RDS allows 100 manual snapshots per region; 99 exist and 2 more were asked for",
      );
      expect(published.map((e) => [e.detail.dbInstanceIdentifier, e.detail.failure])).toEqual([
        ["checkout-db", "quota-exceeded"],
        ["orders", "quota-exceeded"],
      ]);
    });

    it("spaces the polls out so a large run stays within Step Functions' execution history", async () => {
      rds.databases = Array.from({ length: 40 }, (_, i) => database(`db-${i}`));
      const plan = await planSnapshots(deps({ pollIntervalSeconds: 30, waitTimeoutMinutes: 60 }), run());

      expect(plan.pollIntervalSeconds).toBeGreaterThan(30);
      expect(plan.maxPolls * plan.count * 8).toBeLessThanOrEqual(20_000);
      expect(plan.maxPolls * plan.pollIntervalSeconds).toBeGreaterThanOrEqual(60 * 60);
    });

    it("carries the copy target, with or without a KMS key", async () => {
      const kmsKeyArn = "arn:aws:kms:eu-central-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
      const withKey = await planSnapshots(deps({ copyTo: { region: "eu-central-1", kmsKeyArn } }), run());
      const withoutKey = await planSnapshots(deps({ copyTo: { region: "eu-central-1" } }), run());

      expect(withKey.copyTo).toEqual({ region: "eu-central-1", kmsKeyArn });
      expect(withoutKey.copyTo).toEqual({ region: "eu-central-1", kmsKeyArn: null });
    });
  });

  describe("createRunSnapshot", () => {
    it("starts the snapshot with the reason, the promotion and the note as tags", async () => {
      const created = await createRunSnapshot(deps(), {
        database: "checkout-db",
        kind: "instance",
        reason: "manual",
        promotionId: null,
        note: "before the orders migration",
      });

      expect(created).toEqual({
        snapshotId: "switchyard-checkout-db-20261128030000-manual",
        status: "creating",
      });
      expect(rds.created).toEqual([
        { database: "checkout-db", reason: "manual", note: "before the orders migration" },
      ]);
    });

    it("passes a pre-change snapshot's promotion on", async () => {
      await createRunSnapshot(deps(), {
        database: "checkout-db",
        kind: "instance",
        reason: "pre-change",
        promotionId,
        note: null,
      });

      expect(rds.created).toEqual([{ database: "checkout-db", reason: "pre-change", promotionId }]);
    });
  });

  describe("finishSnapshot", () => {
    const base = {
      database: "checkout-db",
      reason: "scheduled" as const,
      promotionId: null,
      snapshotId: "switchyard-checkout-db-20261128030000-scheduled",
      failure: null,
      error: null,
      status: "available",
      copy: null,
    };

    it("publishes Snapshot Created, with the DR copy when there is one", async () => {
      const copy = { region: "eu-central-1", snapshotId: base.snapshotId };
      const finished = await finishSnapshot(deps(), { ...base, copy });

      expect(finished.outcome).toBe("created");
      expect(published).toEqual([
        {
          detailType: "Snapshot Created",
          detail: {
            snapshotId: base.snapshotId,
            dbInstanceIdentifier: "checkout-db",
            reason: "scheduled",
            drCopy: copy,
            createdAt: now.toISOString(),
          },
        },
      ]);
    });

    it("publishes Snapshot Failed with the error message, never the stack", async () => {
      const cause = JSON.stringify({
        errorType: "ValidationError",
        errorMessage: "DB instance checkout-db is not available",
        trace: ["at secret/place.ts:1"],
      });
      const finished = await finishSnapshot(deps(), {
        ...base,
        snapshotId: null,
        failure: "create-failed",
        error: { Error: "ValidationError", Cause: cause },
        status: null,
      });

      expect(finished).toMatchObject({ outcome: "failed", snapshotId: null });
      expect(published.map((e) => e.detailType)).toEqual(["Snapshot Failed"]);
      expect(published[0]?.detail.message).toBe(
        "snapshot of checkout-db failed: ValidationError: DB instance checkout-db is not available",
      );
      expect(JSON.stringify(published)).not.toContain("secret/place.ts");
    });

    it("reports a timeout with the configured wait and the last status", async () => {
      await finishSnapshot(deps({ waitTimeoutMinutes: 45 }), {
        ...base,
        failure: "timed-out",
        status: "creating",
      });

      expect(published[0]?.detail).toMatchObject({
        failure: "timed-out",
        message: `${base.snapshotId} was not available within 45 min (still creating)`,
      });
    });

    it("reports a snapshot RDS marked failed", async () => {
      await finishSnapshot(deps(), { ...base, failure: "create-failed", status: "failed" });

      expect(published[0]?.detail.message).toBe(`${base.snapshotId} is failed`);
    });

    it("publishes both events when only the copy failed: the snapshot itself is usable", async () => {
      const finished = await finishSnapshot(deps(), {
        ...base,
        failure: "copy-failed",
        error: {
          Error: "ValidationError",
          Cause: "the snapshot is encrypted: a KMS key in eu-central-1 is needed",
        },
      });

      expect(finished.outcome).toBe("failed");
      expect(published.map((e) => [e.detailType, e.detail.failure])).toEqual([
        ["Snapshot Created", undefined],
        ["Snapshot Failed", "copy-failed"],
      ]);
    });
  });

  describe("pruneSnapshots", () => {
    it("deletes only expired Switchyard snapshots of the run's databases, keeping minCount available", async () => {
      rds.manual = [
        manual("switchyard-checkout-db-a", "checkout-db", 1),
        manual("switchyard-checkout-db-b", "checkout-db", 8),
        manual("switchyard-checkout-db-c", "checkout-db", 9),
        manual("switchyard-checkout-db-d", "checkout-db", 10),
        manual("switchyard-checkout-db-e", "checkout-db", 11),
        manual("hand-made", "checkout-db", 30, { createdBySwitchyard: false }),
        manual("switchyard-orders-a", "orders", 30),
      ];
      const result = await pruneSnapshots(deps({ minCount: 3, retentionDays: 7 }), {
        databases: ["checkout-db"],
      });

      expect(rds.deleted).toEqual(["switchyard-checkout-db-d", "switchyard-checkout-db-e"]);
      expect(result.pruned).toEqual([
        {
          database: "checkout-db",
          deleted: ["switchyard-checkout-db-d", "switchyard-checkout-db-e"],
          keptForMinimum: ["switchyard-checkout-db-b", "switchyard-checkout-db-c"],
          notDeleted: [],
        },
      ]);
      expect(result.manualSnapshotsInRegion).toBe(5);
      expect(published).toEqual([
        {
          detailType: "Snapshots Pruned",
          detail: {
            dbInstanceIdentifier: "checkout-db",
            deleted: ["switchyard-checkout-db-d", "switchyard-checkout-db-e"],
            keptForMinimum: ["switchyard-checkout-db-b", "switchyard-checkout-db-c"],
            retentionDays: 7,
            minCount: 3,
            manualSnapshotsInRegion: 5,
            prunedAt: now.toISOString(),
          },
        },
      ]);
    });

    it("leaves a snapshot RDS will not delete now for the next run, and deletes the rest", async () => {
      rds.manual = [
        manual("switchyard-checkout-db-x", "checkout-db", 20),
        manual("switchyard-checkout-db-y", "checkout-db", 21),
      ];
      rds.refuseDelete.add("switchyard-checkout-db-x");
      const result = await pruneSnapshots(deps({ minCount: 0 }), { databases: ["checkout-db"] });

      expect(rds.deleted).toEqual(["switchyard-checkout-db-y"]);
      expect(result.pruned[0]?.notDeleted).toEqual([
        {
          snapshotId: "switchyard-checkout-db-x",
          message: "snapshot switchyard-checkout-db-x is being copied",
        },
      ]);
      expect(warnings).toHaveLength(1);
    });

    it("publishes nothing when nothing expired", async () => {
      rds.manual = [manual("switchyard-checkout-db-a", "checkout-db", 1)];
      await pruneSnapshots(deps(), { databases: ["checkout-db", "orders"] });

      expect(rds.deleted).toEqual([]);
      expect(published).toEqual([]);
    });
  });

  describe("restore drills", () => {
    const snapshot = (id: string, status: Snapshot["status"]): Snapshot => ({
      id,
      database: "checkout-db",
      status,
      reason: "scheduled",
      createdAt: now.toISOString(),
      tags: {},
    });
    const drillDeps = (snapshots: Record<string, unknown> = {}) => ({ ...deps(snapshots) });

    it("plans each tagged database's newest available snapshot, or none", async () => {
      rds.snapshots = [
        snapshot("switchyard-checkout-db-3-scheduled", "creating"),
        snapshot("switchyard-checkout-db-2-scheduled", "available"),
        snapshot("switchyard-checkout-db-1-scheduled", "available"),
      ];
      const plan = await planRestoreDrills(
        drillDeps({ pollIntervalSeconds: 30, drill: { timeoutMinutes: 90 } }),
        {
          database: null,
          requestedBy: null,
        },
      );

      expect(plan).toEqual({
        drills: [
          { database: "checkout-db", snapshotId: "switchyard-checkout-db-2-scheduled" },
          { database: "orders", snapshotId: null },
        ],
        count: 2,
        maxConcurrency: 2,
        pollIntervalSeconds: 30,
        maxPolls: 180,
        plannedAt: now.toISOString(),
      });
    });

    it("restores into a switchyard-drill- target and runs the configured smoke query", async () => {
      const started = await startRestoreDrill(drillDeps(), {
        database: "checkout-db",
        snapshotId: "switchyard-checkout-db-2-scheduled",
      });
      const smoke = await runDrillSmokeQuery(drillDeps(), { target: started.target });

      expect(started).toEqual({
        target: "switchyard-drill-checkout-db-20261128030000",
        startedAt: now.toISOString(),
      });
      expect(smoke).toEqual({ rows: 1, value: "25", queriedAt: now.toISOString() });
    });

    const finished = {
      database: "checkout-db",
      snapshotId: "switchyard-checkout-db-2-scheduled",
      target: "switchyard-drill-checkout-db-20261128030000",
      startedAt: new Date(now.getTime() - 95_000).toISOString(),
      plannedAt: new Date(now.getTime() - 96_000).toISOString(),
      smoke: { rows: 1, value: "25", queriedAt: now.toISOString() },
      failedStep: null,
      error: null,
      status: "available",
    };

    it("passes with the result and the time to restore", async () => {
      const result = await finishRestoreDrill(drillDeps(), finished);

      expect(result.outcome).toBe("passed");
      expect(published).toEqual([
        {
          detailType: "Restore Drill Passed",
          detail: {
            dbInstanceIdentifier: "checkout-db",
            snapshotId: finished.snapshotId,
            drillTarget: finished.target,
            smokeQuery: "select count(*) from orders",
            startedAt: finished.startedAt,
            result: "25",
            restoreSeconds: 95,
            completedAt: now.toISOString(),
          },
        },
      ]);
    });

    it.each([
      [
        "no snapshot",
        {
          snapshotId: null,
          target: null,
          startedAt: null,
          smoke: null,
          failedStep: "find-snapshot" as const,
          status: null,
        },
        "find-snapshot",
        "no available Switchyard snapshot of checkout-db to restore",
      ],
      [
        "a restore RDS gave up on",
        { smoke: null, failedStep: "restore" as const, status: "incompatible-restore" },
        "restore",
        `restoring ${finished.snapshotId} into ${finished.target} ended incompatible-restore`,
      ],
      [
        "a restore past the timeout",
        { smoke: null, failedStep: "restore" as const, status: "creating" },
        "restore",
        `${finished.target} was not available within 60 min (still creating)`,
      ],
      [
        "a failing smoke query",
        {
          smoke: null,
          failedStep: "smoke-query" as const,
          error: {
            Error: "ValidationError",
            Cause: '{"errorMessage":"relation \\"orders\\" does not exist"}',
          },
        },
        "smoke-query",
        'smoke-query failed: ValidationError: relation "orders" does not exist',
      ],
      [
        "a drill instance that could not be deleted",
        { failedStep: "cleanup" as const, error: { Error: "Rds.RdsException", Cause: "Access denied" } },
        "cleanup",
        "cleanup failed: Rds.RdsException: Access denied",
      ],
    ])("fails on %s", async (_, overrides, failedStep, message) => {
      const result = await finishRestoreDrill(drillDeps(), { ...finished, ...overrides });

      expect(result).toMatchObject({ outcome: "failed", message });
      expect(published.map((e) => [e.detailType, e.detail.failedStep, e.detail.message])).toEqual([
        ["Restore Drill Failed", failedStep, message],
      ]);
    });
  });

  it("lets the service's errors through by name for the workflow's Retry and Catch", async () => {
    const service = rds.service();
    const failing = {
      ...deps(),
      snapshots: {
        ...service,
        createSnapshot: async () => {
          throw new NotFoundError("database checkout-db does not exist");
        },
        listDatabases: async () => {
          throw new TransientError("Throttling: Rate exceeded");
        },
      },
    };

    await expect(
      createRunSnapshot(failing, {
        database: "checkout-db",
        kind: "instance",
        reason: "manual",
        promotionId: null,
        note: null,
      }),
    ).rejects.toBeInstanceOf(NotFoundError);
    await expect(planSnapshots(failing, run())).rejects.toBeInstanceOf(TransientError);
    await expect(
      createRunSnapshot(deps(), {
        database: "checkout-db",
        kind: "instance",
        reason: "manual",
        promotionId: null,
        note: "x".repeat(300),
      }),
    ).rejects.toBeInstanceOf(ValidationError);
  });
});
