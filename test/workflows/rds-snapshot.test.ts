// The rds-snapshot workflow through the local runner, with faked steps and a faked RDS: every Choice branch and every
// Catch path.

import { beforeEach, describe, expect, it } from "vitest";
import type { DomainEvent } from "../../functions/core/ports.ts";
import { copySnapshotInputSchema } from "../../functions/handlers/copy-snapshot.ts";
import { createSnapshotInputSchema } from "../../functions/handlers/create-snapshot.ts";
import { finishSnapshotInputSchema, makeFinishSnapshot } from "../../functions/handlers/finish-snapshot.ts";
import { planSnapshotsInputSchema } from "../../functions/handlers/plan-snapshots.ts";
import { pruneSnapshotsInputSchema } from "../../functions/handlers/prune-snapshots.ts";
import { testConfig } from "../support/config.ts";
import {
  expectCatalogued,
  type FakeIntegration,
  failing,
  type Payload,
  type Step,
  workflowHarness,
} from "../support/workflow-harness.ts";

const input = { reason: "scheduled", database: null, promotionId: null, note: null, requestedBy: null };
const promotionId = "3f1c2b8e-6a7d-4e5f-9a0b-1c2d3e4f5a6b";
const finishedAt = "2025-01-14T03:40:00.000Z";
const config = testConfig({ snapshots: { waitTimeoutMinutes: 45 } });

const orders = { database: "orders-db", kind: "instance" } as const;
const analytics = { database: "analytics", kind: "cluster" } as const;
const billing = { database: "billing-db", kind: "instance" } as const;
type Planned = { database: string; kind: "instance" | "cluster" };

const snapshotIdOf = (database: string, reason = "scheduled") =>
  `switchyard-${database}-20250114031700-${reason}`;
const databaseOf = (snapshotId: string) => snapshotId.replace(/^switchyard-(.+)-\d{14}-\w+$/, "$1");

/** What each function's handler would parse: the workflow must send exactly what the schemas accept. */
const inputSchemas = {
  "plan-snapshots": planSnapshotsInputSchema,
  "create-snapshot": createSnapshotInputSchema,
  "copy-snapshot": copySnapshotInputSchema,
  "finish-snapshot": finishSnapshotInputSchema,
  "prune-snapshots": pruneSnapshotsInputSchema,
};
type StepName = keyof typeof inputSchemas;
type RdsAction = "describeDBSnapshots" | "describeDBClusterSnapshots";

const plan = (databases: Planned[], overrides: Payload = {}) => ({
  databases,
  count: databases.length,
  refused: null,
  quotaWarning: null,
  maxConcurrency: 2,
  pollIntervalSeconds: 0,
  maxPolls: 5,
  copyTo: null,
  ...overrides,
});

const pruned = (databases: string[]) => ({
  pruned: databases.map((database) => ({ database, deleted: [], keptForMinimum: [], notDeleted: [] })),
  manualSnapshotsInRegion: 12,
});

describe("rds-snapshot workflow", () => {
  let steps: Record<StepName, Step>;
  /** RDS's answer to a describe call: the snapshot's status, or a thrown error. */
  let rds: (action: RdsAction, snapshotId: string) => Promise<string>;
  const published: DomainEvent[] = [];

  // Step Functions' SDK integrations answer in the SDK's shapes, which spell DB "Db".
  const describeSnapshot = (action: RdsAction): FakeIntegration => ({
    resource: `arn:aws:states:::aws-sdk:rds:${action}`,
    answer: async (payload) => {
      const cluster = action === "describeDBClusterSnapshots";
      const id = String(payload[cluster ? "DbClusterSnapshotIdentifier" : "DbSnapshotIdentifier"]);
      const status = await rds(action, id);
      return cluster
        ? {
            DbClusterSnapshots: [
              { DbClusterSnapshotIdentifier: id, Status: status, Engine: "aurora-postgresql" },
            ],
          }
        : { DbSnapshots: [{ DbSnapshotIdentifier: id, Status: status, SnapshotType: "manual" }] };
    },
  });
  const { calls, run, payloads, ran } = workflowHarness({
    workflow: "rds-snapshot",
    input,
    inputSchemas,
    steps: () => steps,
    integrations: {
      describeDBSnapshots: describeSnapshot("describeDBSnapshots"),
      describeDBClusterSnapshots: describeSnapshot("describeDBClusterSnapshots"),
    },
  });

  beforeEach(() => {
    published.length = 0;
    // The real finish step, publishing to a list: the events are what each database's outcome must get right.
    const finish = makeFinishSnapshot({
      publisher: { publish: async (events) => void published.push(...events) },
      clock: { now: () => new Date(finishedAt) },
      config,
    });
    rds = async () => "available";
    steps = {
      "plan-snapshots": async () => plan([orders, analytics]),
      "create-snapshot": async (payload) => ({
        snapshotId: snapshotIdOf(String(payload.database), String(payload.reason)),
        status: "creating",
      }),
      "copy-snapshot": async (payload) => ({
        region: payload.region,
        snapshotId: `${String(payload.snapshotId)}-dr`,
        status: "pending",
      }),
      "finish-snapshot": async (payload) => finish(finishSnapshotInputSchema.parse(payload)),
      "prune-snapshots": async (payload) => pruned(payload.databases as string[]),
    };
  });

  const finished = () => payloads("finish-snapshot");
  const events = () => {
    for (const event of published) expectCatalogued(event, "2025-01-14T03:40:00Z");
    return published.map((e) => e.detailType);
  };
  /** The finish step's payload for one database, with everything a success leaves null. */
  const report = (database: string, overrides: Payload = {}) => ({
    database,
    reason: "scheduled",
    promotionId: null,
    snapshotId: snapshotIdOf(database),
    failure: null,
    error: null,
    status: "available",
    copy: null,
    ...overrides,
  });

  describe("Plan, Refused and AnyDatabases", () => {
    it("Plan gets the run's input as it is", async () => {
      const manual = {
        reason: "manual",
        database: "orders-db",
        promotionId: null,
        note: "before the orders migration",
        requestedBy: "arn:aws:iam::123456789012:user/ana",
      };
      steps["plan-snapshots"] = async () => plan([orders]);
      const { done } = await run(manual);
      expect(done.status).toBe("SUCCEEDED");
      expect(payloads("plan-snapshots")).toEqual([manual]);
      expect(payloads("create-snapshot")).toEqual([
        {
          database: "orders-db",
          kind: "instance",
          reason: "manual",
          promotionId: null,
          note: "before the orders migration",
        },
      ]);
    });

    it("AnyDatabases → NoDatabases when nothing carries the tag: no Map, no retention", async () => {
      steps["plan-snapshots"] = async () => plan([]);
      const { done, entered } = await run();
      expect(done).toMatchObject({ status: "SUCCEEDED", output: { plan: { count: 0 } } });
      expect(entered).toEqual(["Plan", "Refused", "AnyDatabases", "NoDatabases"]);
      expect(calls.map((c) => c.step)).toEqual(["plan-snapshots"]);
      expect(published).toEqual([]);
    });

    it("Refused → RunRefused: the execution fails SnapshotRunRefused with the plan's reason as its cause", async () => {
      const refused =
        "refused to snapshot: 99 manual snapshots in the region and 2 more would pass RDS's quota of 100";
      steps["plan-snapshots"] = async () => ({ ...plan([]), refused });
      const { done, entered } = await run();
      expect(done).toMatchObject({ status: "FAILED", error: "SnapshotRunRefused", cause: refused });
      expect(entered).toEqual(["Plan", "Refused", "RunRefused"]);
      expect(calls.map((c) => c.step)).toEqual(["plan-snapshots"]);
    });

    it("Plan's Catch → PlanErrored: nothing is snapshotted", async () => {
      steps["plan-snapshots"] = failing("ValidationError");
      const { done, entered } = await run();
      expect(done).toMatchObject({ status: "FAILED", error: "SnapshotRunErrored" });
      expect(entered).toEqual(["Plan", "PlanErrored"]);
      expect(calls.map((c) => c.step)).toEqual(["plan-snapshots"]);
    });
  });

  describe("success", () => {
    it("two databases: an instance and a cluster, each described by its own RDS call, reported, then pruned", async () => {
      const { done, entered } = await run();
      expect(done.status).toBe("SUCCEEDED");
      expect(entered.slice(0, 4)).toEqual(["Plan", "Refused", "AnyDatabases", "SnapshotEach"]);
      expect(entered.slice(-4)).toEqual(["Prune", "Summarize", "AnyFailed", "Done"]);
      expect(entered).not.toContain("CopySnapshot");
      expect(payloads("create-snapshot")).toEqual([
        { database: "orders-db", kind: "instance", reason: "scheduled", promotionId: null, note: null },
        { database: "analytics", kind: "cluster", reason: "scheduled", promotionId: null, note: null },
      ]);
      expect(payloads("describeDBSnapshots")).toEqual([{ DbSnapshotIdentifier: snapshotIdOf("orders-db") }]);
      expect(payloads("describeDBClusterSnapshots")).toEqual([
        { DbClusterSnapshotIdentifier: snapshotIdOf("analytics") },
      ]);
      expect(ran("copy-snapshot")).toBe(0);
      expect(finished()).toEqual(expect.arrayContaining([report("orders-db"), report("analytics")]));
      expect(finished()).toHaveLength(2);
      expect(payloads("prune-snapshots")).toEqual([{ databases: ["orders-db", "analytics"] }]);
      // Retention runs once every snapshot is reported.
      expect(calls.at(-1)?.step).toBe("prune-snapshots");
      expect(events()).toEqual(["Snapshot Created", "Snapshot Created"]);
      expect(published.map((e) => e.detail)).toEqual(
        expect.arrayContaining([
          {
            snapshotId: snapshotIdOf("orders-db"),
            dbInstanceIdentifier: "orders-db",
            reason: "scheduled",
            createdAt: finishedAt,
          },
        ]),
      );
      expect(done.output).toMatchObject({
        snapshots: [
          {
            database: "orders-db",
            snapshotId: snapshotIdOf("orders-db"),
            outcome: "created",
            message: `snapshot ${snapshotIdOf("orders-db")} of orders-db is available`,
          },
          { database: "analytics", snapshotId: snapshotIdOf("analytics"), outcome: "created" },
        ],
        retention: pruned(["orders-db", "analytics"]),
        summary: { anyFailed: false },
      });
    });

    it("one database before a change: the promotion goes to the snapshot, its event and retention", async () => {
      steps["plan-snapshots"] = async () => plan([orders]);
      const { done } = await run({ ...input, reason: "pre-change", database: "orders-db", promotionId });
      expect(done.status).toBe("SUCCEEDED");
      expect(payloads("create-snapshot")).toEqual([
        { database: "orders-db", kind: "instance", reason: "pre-change", promotionId, note: null },
      ]);
      expect(finished()).toEqual([
        report("orders-db", {
          reason: "pre-change",
          promotionId,
          snapshotId: snapshotIdOf("orders-db", "pre-change"),
        }),
      ]);
      expect(payloads("prune-snapshots")).toEqual([{ databases: ["orders-db"] }]);
      expect(events()).toEqual(["Snapshot Created"]);
      expect(published[0]?.detail).toMatchObject({ reason: "pre-change", promotionId });
      expect(done.output).toMatchObject({ summary: { anyFailed: false } });
    });

    it.each(["creating", "copying"])(
      "IsAvailable %s → TimeLeft → WaitForSnapshot → describe again until available",
      async (status) => {
        steps["plan-snapshots"] = async () => plan([orders]);
        let looks = 0;
        rds = async () => {
          looks += 1;
          return looks < 3 ? status : "available";
        };
        const { done, entered } = await run();
        expect(done.status).toBe("SUCCEEDED");
        // One Wait before the first look, then one per look that was not available.
        expect(entered.filter((s) => s === "WaitForSnapshot")).toHaveLength(3);
        expect(entered.filter((s) => s === "TimeLeft")).toHaveLength(2);
        expect(payloads("describeDBSnapshots")).toEqual(
          Array(3).fill({ DbSnapshotIdentifier: snapshotIdOf("orders-db") }),
        );
        expect(finished()).toEqual([report("orders-db")]);
      },
    );

    it("CreateSnapshot retries a ConflictError (the same second's name is taken), then goes on", async () => {
      steps["plan-snapshots"] = async () => plan([orders]);
      let attempts = 0;
      steps["create-snapshot"] = async (payload) => {
        attempts += 1;
        if (attempts === 1) return failing("ConflictError", "snapshot name taken")();
        return { snapshotId: snapshotIdOf(String(payload.database)), status: "creating" };
      };
      const { done, history } = await run();
      expect(done.status).toBe("SUCCEEDED");
      expect(ran("create-snapshot")).toBe(2);
      expect(
        history
          .filter((e) => e.type === "TaskScheduled" && e.stateName === "CreateSnapshot")
          .map((e) => e.retryCount),
      ).toEqual([0, 1]);
      expect(finished()).toEqual([report("orders-db")]);
    });
  });

  describe("a database that fails (the run goes on, prunes, and fails at the end)", () => {
    it("IsAvailable → SnapshotFailed when RDS reports failed: Snapshot Failed with the status", async () => {
      steps["plan-snapshots"] = async () => plan([orders]);
      rds = async () => "failed";
      const { done, entered } = await run();
      expect(done).toMatchObject({ status: "FAILED", error: "SnapshotsFailed" });
      expect(entered).toEqual(
        expect.arrayContaining(["SnapshotFailed", "ReportFailure", "Prune", "SomeFailed"]),
      );
      expect(finished()).toEqual([report("orders-db", { failure: "create-failed", status: "failed" })]);
      expect(events()).toEqual(["Snapshot Failed"]);
      expect(published[0]?.detail).toEqual({
        dbInstanceIdentifier: "orders-db",
        snapshotId: snapshotIdOf("orders-db"),
        reason: "scheduled",
        failure: "create-failed",
        message: `${snapshotIdOf("orders-db")} is failed`,
        failedAt: finishedAt,
      });
      expect(payloads("prune-snapshots")).toEqual([{ databases: ["orders-db"] }]);
    });

    it("CreateSnapshot's Catch → CreateFailed: reported with the error, nothing described", async () => {
      steps["plan-snapshots"] = async () => plan([orders]);
      steps["create-snapshot"] = failing("ValidationError", "orders-db is not in an available state");
      const { done, entered } = await run();
      expect(done).toMatchObject({ status: "FAILED", error: "SnapshotsFailed" });
      expect(entered).toEqual(expect.arrayContaining(["CreateFailed", "ReportFailure"]));
      expect(entered).not.toContain("WaitForSnapshot");
      expect(ran("create-snapshot")).toBe(1);
      expect(ran("describeDBSnapshots")).toBe(0);
      expect(finished()).toEqual([
        report("orders-db", {
          snapshotId: null,
          failure: "create-failed",
          status: null,
          error: {
            Error: "ValidationError",
            Cause: expect.stringContaining("orders-db is not in an available state"),
          },
        }),
      ]);
      expect(events()).toEqual(["Snapshot Failed"]);
      expect(published[0]?.detail).toEqual({
        dbInstanceIdentifier: "orders-db",
        reason: "scheduled",
        failure: "create-failed",
        message: "snapshot of orders-db failed: ValidationError: orders-db is not in an available state",
        failedAt: finishedAt,
      });
    });

    it("DescribeClusterSnapshot's Catch → DescribeFailed: reported with RDS's error", async () => {
      steps["plan-snapshots"] = async () => plan([analytics]);
      rds = failing("Rds.DbClusterSnapshotNotFoundException", "DBClusterSnapshot not found.");
      const { done, entered } = await run();
      expect(done).toMatchObject({ status: "FAILED", error: "SnapshotsFailed" });
      expect(entered).toEqual(expect.arrayContaining(["DescribeClusterSnapshot", "DescribeFailed"]));
      expect(ran("describeDBClusterSnapshots")).toBe(1);
      expect(finished()).toEqual([
        report("analytics", {
          failure: "create-failed",
          status: null,
          error: { Error: "Rds.DbClusterSnapshotNotFoundException", Cause: "DBClusterSnapshot not found." },
        }),
      ]);
      expect(events()).toEqual(["Snapshot Failed"]);
      expect(published[0]?.detail).toMatchObject({
        snapshotId: snapshotIdOf("analytics"),
        message:
          "snapshot of analytics failed: Rds.DbClusterSnapshotNotFoundException: DBClusterSnapshot not found.",
      });
    });

    it("TimeLeft → TimedOut after maxPolls looks: reported timed-out with the last status", async () => {
      steps["plan-snapshots"] = async () => plan([orders], { maxPolls: 3 });
      rds = async () => "creating";
      const { done, entered } = await run();
      expect(done).toMatchObject({ status: "FAILED", error: "SnapshotsFailed" });
      expect(entered).toEqual(expect.arrayContaining(["TimedOut", "ReportFailure"]));
      expect(ran("describeDBSnapshots")).toBe(3);
      expect(finished()).toEqual([report("orders-db", { failure: "timed-out", status: "creating" })]);
      expect(events()).toEqual(["Snapshot Failed"]);
      expect(published[0]?.detail).toMatchObject({
        failure: "timed-out",
        message: `${snapshotIdOf("orders-db")} was not available within 45 min (still creating)`,
      });
    });

    it("SomeFailed: one failed database fails the run, after every database was reported and all were pruned", async () => {
      steps["plan-snapshots"] = async () => plan([orders, analytics, billing]);
      rds = async (_, snapshotId) => (databaseOf(snapshotId) === "analytics" ? "failed" : "available");
      const { done, entered, history } = await run();
      expect(done).toMatchObject({
        status: "FAILED",
        error: "SnapshotsFailed",
        cause: "At least one database's snapshot failed: see its Snapshot Failed event.",
      });
      expect(finished().map((p) => [p.database, p.failure])).toEqual(
        expect.arrayContaining([
          ["orders-db", null],
          ["analytics", "create-failed"],
          ["billing-db", null],
        ]),
      );
      expect(payloads("prune-snapshots")).toEqual([{ databases: ["orders-db", "analytics", "billing-db"] }]);
      expect(entered.slice(-4)).toEqual(["Prune", "Summarize", "AnyFailed", "SomeFailed"]);
      const summary = history.find((e) => e.type === "PassStateExited" && e.stateName === "Summarize");
      expect(summary?.output).toMatchObject({ summary: { anyFailed: true } });
      expect(events().sort()).toEqual(["Snapshot Created", "Snapshot Created", "Snapshot Failed"]);
    });
  });

  describe("the disaster-recovery copy", () => {
    it("CopyWanted → CopySnapshot when copyTo is set: Snapshot Created names the copy", async () => {
      const kmsKeyArn = "arn:aws:kms:eu-central-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
      steps["plan-snapshots"] = async () =>
        plan([orders, analytics], { copyTo: { region: "eu-central-1", kmsKeyArn } });
      const { done, entered } = await run();
      expect(done.status).toBe("SUCCEEDED");
      expect(entered).toEqual(expect.arrayContaining(["CopySnapshot", "ReportCopied"]));
      expect(entered).not.toContain("ReportCreated");
      expect(payloads("copy-snapshot")).toEqual(
        expect.arrayContaining([
          { snapshotId: snapshotIdOf("orders-db"), region: "eu-central-1", kmsKeyArn },
          { snapshotId: snapshotIdOf("analytics"), region: "eu-central-1", kmsKeyArn },
        ]),
      );
      // The copy starts once its source is available.
      const firstCopy = calls.findIndex((c) => c.step === "copy-snapshot");
      expect(calls.slice(0, firstCopy).some((c) => c.step.startsWith("describe"))).toBe(true);
      expect(finished()).toEqual(
        expect.arrayContaining([
          report("orders-db", {
            copy: { region: "eu-central-1", snapshotId: `${snapshotIdOf("orders-db")}-dr` },
          }),
        ]),
      );
      expect(events()).toEqual(["Snapshot Created", "Snapshot Created"]);
      expect(published.map((e) => e.detail)).toEqual(
        expect.arrayContaining([
          expect.objectContaining({
            dbInstanceIdentifier: "orders-db",
            drCopy: { region: "eu-central-1", snapshotId: `${snapshotIdOf("orders-db")}-dr` },
          }),
        ]),
      );
    });

    it("an unencrypted source's copy is asked for without a KMS key", async () => {
      steps["plan-snapshots"] = async () =>
        plan([orders], { copyTo: { region: "eu-central-1", kmsKeyArn: null } });
      const { done } = await run();
      expect(done.status).toBe("SUCCEEDED");
      expect(payloads("copy-snapshot")).toEqual([
        { snapshotId: snapshotIdOf("orders-db"), region: "eu-central-1", kmsKeyArn: null },
      ]);
    });

    it("CopySnapshot's Catch → CopyFailed: the snapshot is reported created and the copy failed", async () => {
      steps["plan-snapshots"] = async () =>
        plan([orders], { copyTo: { region: "eu-central-1", kmsKeyArn: null } });
      steps["copy-snapshot"] = failing(
        "ValidationError",
        "the source is encrypted: snapshots.copyTo.kmsKeyArn is needed",
      );
      const { done, entered } = await run();
      expect(done).toMatchObject({ status: "FAILED", error: "SnapshotsFailed" });
      expect(entered).toEqual(expect.arrayContaining(["CopyFailed", "ReportFailure", "Prune"]));
      expect(finished()).toEqual([
        report("orders-db", {
          failure: "copy-failed",
          error: { Error: "ValidationError", Cause: expect.stringContaining("kmsKeyArn is needed") },
        }),
      ]);
      expect(events()).toEqual(["Snapshot Created", "Snapshot Failed"]);
      expect(published[1]?.detail).toMatchObject({
        failure: "copy-failed",
        snapshotId: snapshotIdOf("orders-db"),
        message: `copying ${snapshotIdOf("orders-db")} failed: ValidationError: the source is encrypted: snapshots.copyTo.kmsKeyArn is needed`,
      });
    });
  });

  describe("concurrency", () => {
    /** Each create takes a moment, so iterations allowed to run together do overlap. */
    const slowCreates = () => {
      let active = 0;
      const peaks: number[] = [];
      steps["create-snapshot"] = async (payload) => {
        active += 1;
        peaks.push(active);
        await new Promise((resolve) => setTimeout(resolve, 30));
        active -= 1;
        return { snapshotId: snapshotIdOf(String(payload.database)), status: "creating" };
      };
      return peaks;
    };

    it("MaxConcurrencyPath 1: one database at a time, each finished before the next is created", async () => {
      steps["plan-snapshots"] = async () => plan([orders, analytics, billing], { maxConcurrency: 1 });
      const peaks = slowCreates();
      const { done } = await run();
      expect(done.status).toBe("SUCCEEDED");
      expect(Math.max(...peaks)).toBe(1);
      expect(calls.map((c) => c.step).slice(1, -1)).toEqual(
        Array(3)
          .fill(["create-snapshot", expect.stringMatching(/^describe/), "finish-snapshot"])
          .flat(),
      );
      expect(payloads("create-snapshot").map((p) => p.database)).toEqual([
        "orders-db",
        "analytics",
        "billing-db",
      ]);
    });

    it("MaxConcurrencyPath 2: two databases at a time, the third once one is done", async () => {
      steps["plan-snapshots"] = async () => plan([orders, analytics, billing], { maxConcurrency: 2 });
      const peaks = slowCreates();
      const { done } = await run();
      expect(done.status).toBe("SUCCEEDED");
      expect(Math.max(...peaks)).toBe(2);
      const order = calls.map((c) => c.step);
      expect(order.indexOf("finish-snapshot")).toBeLessThan(order.lastIndexOf("create-snapshot"));
      expect(order.slice(1, 3)).toEqual(["create-snapshot", "create-snapshot"]);
    });
  });

  describe("errors the run cannot report", () => {
    it("a finish step that fails → SnapshotsErrored: the run fails and retention does not run", async () => {
      steps["finish-snapshot"] = failing("ValidationError", "publishing failed");
      const { done, entered } = await run();
      expect(done).toMatchObject({ status: "FAILED", error: "SnapshotRunErrored" });
      expect(entered).toContain("SnapshotsErrored");
      expect(entered).not.toContain("Prune");
      expect(ran("prune-snapshots")).toBe(0);
    });

    it("a finish step that fails with databases still queued: none of them is snapshotted after the run failed", async () => {
      steps["plan-snapshots"] = async () => plan([orders, analytics, billing], { maxConcurrency: 1 });
      steps["finish-snapshot"] = failing("ValidationError", "publishing failed");
      const { done } = await run();
      expect(done).toMatchObject({ status: "FAILED", error: "SnapshotRunErrored" });
      // Give a queued iteration time to get as far as RDS.
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(payloads("create-snapshot").map((p) => p.database)).toEqual(["orders-db"]);
      expect(ran("prune-snapshots")).toBe(0);
    });

    it("Prune's Catch → PruneErrored: the snapshots were reported, retention failed", async () => {
      steps["prune-snapshots"] = failing("ValidationError");
      const { done, entered } = await run();
      expect(done).toMatchObject({ status: "FAILED", error: "SnapshotRetentionErrored" });
      expect(entered.slice(-2)).toEqual(["Prune", "PruneErrored"]);
      expect(events()).toEqual(["Snapshot Created", "Snapshot Created"]);
    });
  });
});
