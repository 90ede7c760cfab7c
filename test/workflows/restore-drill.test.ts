// The restore-drill workflow through the local runner, with faked steps and a faked RDS: every Choice branch and
// every Catch path.

import { beforeEach, describe, expect, it } from "vitest";
import type { DomainEvent } from "../../functions/core/ports.ts";
import {
  finishRestoreDrillInputSchema,
  makeFinishRestoreDrill,
} from "../../functions/handlers/finish-restore-drill.ts";
import { planRestoreDrillsInputSchema } from "../../functions/handlers/plan-restore-drills.ts";
import { runSmokeQueryInputSchema } from "../../functions/handlers/run-smoke-query.ts";
import { startRestoreDrillInputSchema } from "../../functions/handlers/start-restore-drill.ts";
import { testConfig } from "../support/config.ts";
import {
  failing,
  onlyCataloguedEvent,
  type Payload,
  type Step,
  workflowHarness,
} from "../support/workflow-harness.ts";

const input = { database: null, requestedBy: null };
const plannedAt = "2025-02-01T05:00:00.000Z";
const startedAt = "2025-02-01T05:00:01.000Z";
const queriedAt = "2025-02-01T05:12:31.000Z";
const finishedAt = "2025-02-01T05:13:00.000Z";
const smokeQuery = "select count(*) from orders";
const config = testConfig({ snapshots: { drill: { smokeQuery, timeoutMinutes: 30 } } });

const snapshotOf = (database: string) => `switchyard-${database}-20250201030000-scheduled`;
const targetOf = (database: string) => `switchyard-drill-${database}-20250201050001`;
const databaseOf = (target: string) => target.replace(/^switchyard-drill-(.+)-\d{14}$/, "$1");
const drill = (database: string, snapshotId: string | null = snapshotOf(database)) => ({
  database,
  snapshotId,
});

/** What each function's handler would parse: the workflow must send exactly what the schemas accept. */
const inputSchemas = {
  "plan-restore-drills": planRestoreDrillsInputSchema,
  "start-restore-drill": startRestoreDrillInputSchema,
  "run-smoke-query": runSmokeQueryInputSchema,
  "finish-restore-drill": finishRestoreDrillInputSchema,
};
type StepName = keyof typeof inputSchemas;

const plan = (drills: { database: string; snapshotId: string | null }[], overrides: Payload = {}) => ({
  drills,
  count: drills.length,
  maxConcurrency: 2,
  pollIntervalSeconds: 0,
  maxPolls: 5,
  plannedAt,
  ...overrides,
});

describe("restore-drill workflow", () => {
  let steps: Record<StepName, Step>;
  /** RDS: the drill instance's status on each look, and what deleting it answers (or throws). */
  let rds: {
    status: (target: string, look: number) => Promise<string>;
    remove: (target: string) => Promise<void>;
  };
  const published: DomainEvent[] = [];
  /** Looks at each drill instance so far (targets are named after their database, so per test). */
  const looks = new Map<string, number>();

  // Step Functions' SDK integrations answer in the SDK's shapes, which spell DB "Db".
  const { calls, run, payloads, ran } = workflowHarness({
    workflow: "restore-drill",
    input,
    inputSchemas,
    steps: () => steps,
    integrations: {
      describeDBInstances: {
        resource: "arn:aws:states:::aws-sdk:rds:describeDBInstances",
        answer: async (payload) => {
          const id = String(payload.DbInstanceIdentifier);
          const look = (looks.get(id) ?? 0) + 1;
          looks.set(id, look);
          const status = await rds.status(id, look);
          return {
            DbInstances: [{ DbInstanceIdentifier: id, DbInstanceStatus: status, Engine: "postgres" }],
          };
        },
      },
      deleteDBInstance: {
        resource: "arn:aws:states:::aws-sdk:rds:deleteDBInstance",
        answer: async (payload) => {
          const id = String(payload.DbInstanceIdentifier);
          await rds.remove(id);
          return { DbInstance: { DbInstanceIdentifier: id, DbInstanceStatus: "deleting" } };
        },
      },
    },
  });

  beforeEach(() => {
    published.length = 0;
    looks.clear();
    // The real finish step, publishing to a list: the events are what each drill's outcome must get right.
    const finish = makeFinishRestoreDrill({
      publisher: { publish: async (events) => void published.push(...events) },
      clock: { now: () => new Date(finishedAt) },
      config,
    });
    rds = {
      status: async (_, look) => (look === 1 ? "creating" : "available"),
      remove: async () => {},
    };
    steps = {
      "plan-restore-drills": async () => plan([drill("orders-db")]),
      "start-restore-drill": async (payload) => ({ target: targetOf(String(payload.database)), startedAt }),
      "run-smoke-query": async () => ({ rows: 1, value: "1234", queriedAt }),
      "finish-restore-drill": async (payload) => finish(finishRestoreDrillInputSchema.parse(payload)),
    };
  });

  const reported = () => payloads("finish-restore-drill");
  const onlyEvent = () => onlyCataloguedEvent(published, "2025-02-01T05:13:00Z");
  const deleted = (database = "orders-db") => ({
    DbInstanceIdentifier: targetOf(database),
    SkipFinalSnapshot: true,
    DeleteAutomatedBackups: true,
  });
  /** The finish step's payload for one drill: what a drill that passed sends. */
  const report = (database = "orders-db", overrides: Payload = {}) => ({
    database,
    snapshotId: snapshotOf(database),
    target: targetOf(database),
    startedAt,
    plannedAt,
    smoke: { rows: 1, value: "1234", queriedAt },
    failedStep: null,
    error: null,
    status: "available",
    ...overrides,
  });

  describe("Plan and AnyDatabases", () => {
    it("Plan gets the run's input as it is", async () => {
      const one = { database: "orders-db", requestedBy: "arn:aws:iam::123456789012:user/ana" };
      const { done } = await run(one);
      expect(done.status).toBe("SUCCEEDED");
      expect(payloads("plan-restore-drills")).toEqual([one]);
    });

    it("AnyDatabases → NoDatabases: nothing is restored", async () => {
      steps["plan-restore-drills"] = async () => plan([]);
      const { done, entered } = await run();
      expect(done).toMatchObject({ status: "SUCCEEDED", output: { plan: { count: 0 } } });
      expect(entered).toEqual(["Plan", "AnyDatabases", "NoDatabases"]);
      expect(calls.map((c) => c.step)).toEqual(["plan-restore-drills"]);
      expect(published).toEqual([]);
    });

    it("Plan's Catch → PlanErrored", async () => {
      steps["plan-restore-drills"] = failing("ValidationError");
      const { done, entered } = await run();
      expect(done).toMatchObject({ status: "FAILED", error: "RestoreDrillErrored" });
      expect(entered).toEqual(["Plan", "PlanErrored"]);
      expect(calls.map((c) => c.step)).toEqual(["plan-restore-drills"]);
    });
  });

  describe("a drill that passes", () => {
    it("restore → creating → WaitForRestore → available → smoke query → delete → Restore Drill Passed", async () => {
      const { done, entered } = await run();
      expect(done.status).toBe("SUCCEEDED");
      expect(entered).toEqual([
        "Plan",
        "AnyDatabases",
        "DrillEach",
        "HasSnapshot",
        "StartRestore",
        "WaitForRestore",
        "CountPoll",
        "DescribeTarget",
        "IsRestored",
        "RestoreTimeLeft",
        "WaitForRestore",
        "CountPoll",
        "DescribeTarget",
        "IsRestored",
        "SmokeQuery",
        "Cleanup",
        "Report",
        "Summarize",
        "AnyFailed",
        "Done",
      ]);
      expect(calls.map((c) => c.step)).toEqual([
        "plan-restore-drills",
        "start-restore-drill",
        "describeDBInstances",
        "describeDBInstances",
        "run-smoke-query",
        "deleteDBInstance",
        "finish-restore-drill",
      ]);
      expect(payloads("start-restore-drill")).toEqual([
        { database: "orders-db", snapshotId: snapshotOf("orders-db") },
      ]);
      expect(payloads("describeDBInstances")).toEqual(
        Array(2).fill({ DbInstanceIdentifier: targetOf("orders-db") }),
      );
      expect(payloads("run-smoke-query")).toEqual([{ target: targetOf("orders-db") }]);
      expect(payloads("deleteDBInstance")).toEqual([deleted()]);
      expect(reported()).toEqual([report()]);
      expect(onlyEvent()).toEqual({
        detailType: "Restore Drill Passed",
        detail: {
          dbInstanceIdentifier: "orders-db",
          snapshotId: snapshotOf("orders-db"),
          drillTarget: targetOf("orders-db"),
          smokeQuery,
          startedAt,
          result: "1234",
          restoreSeconds: 750,
          completedAt: finishedAt,
        },
      });
      expect(done.output).toMatchObject({
        drills: [
          {
            database: "orders-db",
            outcome: "passed",
            message: `${snapshotOf("orders-db")} restored in 750.0 s; ${smokeQuery} → 1234`,
          },
        ],
        summary: { anyFailed: false },
      });
    });

    it("Cleanup's Catch Rds.DbInstanceNotFoundException: an instance already gone counts as deleted", async () => {
      rds.remove = failing(
        "Rds.DbInstanceNotFoundException",
        `DBInstance ${targetOf("orders-db")} not found.`,
      );
      const { done, entered } = await run();
      expect(done.status).toBe("SUCCEEDED");
      expect(entered).not.toContain("CleanupFailed");
      expect(ran("deleteDBInstance")).toBe(1);
      expect(reported()).toEqual([report()]);
      expect(onlyEvent().detailType).toBe("Restore Drill Passed");
    });

    it("MaxConcurrencyPath 1: one drill at a time, each deleted and reported before the next restore", async () => {
      steps["plan-restore-drills"] = async () =>
        plan([drill("orders-db"), drill("billing-db"), drill("users-db")], { maxConcurrency: 1 });
      const { done } = await run();
      expect(done.status).toBe("SUCCEEDED");
      const perDrill = [
        "start-restore-drill",
        "describeDBInstances",
        "describeDBInstances",
        "run-smoke-query",
        "deleteDBInstance",
        "finish-restore-drill",
      ];
      expect(calls.map((c) => c.step).slice(1)).toEqual([...perDrill, ...perDrill, ...perDrill]);
      expect(payloads("start-restore-drill").map((p) => p.database)).toEqual([
        "orders-db",
        "billing-db",
        "users-db",
      ]);
    });
  });

  describe("a drill that fails (reported; the run fails at the end)", () => {
    it("HasSnapshot → NoSnapshot: find-snapshot, nothing restored or deleted", async () => {
      steps["plan-restore-drills"] = async () => plan([drill("orders-db", null)]);
      const { done, entered } = await run();
      expect(done).toMatchObject({ status: "FAILED", error: "RestoreDrillsFailed" });
      expect(entered).toEqual(expect.arrayContaining(["HasSnapshot", "NoSnapshot", "Report", "SomeFailed"]));
      expect(ran("start-restore-drill")).toBe(0);
      expect(ran("describeDBInstances")).toBe(0);
      expect(ran("deleteDBInstance")).toBe(0);
      expect(reported()).toEqual([
        report("orders-db", {
          snapshotId: null,
          target: null,
          startedAt: null,
          smoke: null,
          failedStep: "find-snapshot",
          status: null,
        }),
      ]);
      expect(onlyEvent()).toEqual({
        detailType: "Restore Drill Failed",
        detail: {
          dbInstanceIdentifier: "orders-db",
          smokeQuery,
          startedAt: plannedAt,
          failedStep: "find-snapshot",
          message: "no available Switchyard snapshot of orders-db to restore",
          failedAt: finishedAt,
        },
      });
    });

    it("StartRestore's Catch → RestoreNotStarted: restore, with the error, nothing to delete", async () => {
      steps["start-restore-drill"] = failing("ValidationError", "DBInstanceQuotaExceeded: no more instances");
      const { done, entered } = await run();
      expect(done).toMatchObject({ status: "FAILED", error: "RestoreDrillsFailed" });
      expect(entered).toEqual(expect.arrayContaining(["RestoreNotStarted", "Report"]));
      expect(ran("start-restore-drill")).toBe(1);
      expect(ran("describeDBInstances")).toBe(0);
      expect(ran("deleteDBInstance")).toBe(0);
      expect(reported()).toEqual([
        report("orders-db", {
          target: null,
          startedAt: null,
          smoke: null,
          failedStep: "restore",
          status: null,
          error: { Error: "ValidationError", Cause: expect.stringContaining("no more instances") },
        }),
      ]);
      expect(onlyEvent().detail).toEqual({
        dbInstanceIdentifier: "orders-db",
        snapshotId: snapshotOf("orders-db"),
        smokeQuery,
        startedAt: plannedAt,
        failedStep: "restore",
        message: "restore failed: ValidationError: DBInstanceQuotaExceeded: no more instances",
        failedAt: finishedAt,
      });
    });

    it.each(["incompatible-restore", "failed", "storage-full", "inaccessible-encryption-credentials"])(
      "IsRestored %s → RestoreBroken → Cleanup: restore, with the status",
      async (status) => {
        rds.status = async (_, look) => (look === 1 ? "creating" : status);
        const { done, entered } = await run();
        expect(done).toMatchObject({ status: "FAILED", error: "RestoreDrillsFailed" });
        expect(entered).toEqual(expect.arrayContaining(["RestoreBroken", "Cleanup", "Report"]));
        expect(ran("run-smoke-query")).toBe(0);
        expect(payloads("deleteDBInstance")).toEqual([deleted()]);
        expect(reported()).toEqual([report("orders-db", { smoke: null, failedStep: "restore", status })]);
        expect(onlyEvent().detail).toMatchObject({
          drillTarget: targetOf("orders-db"),
          startedAt,
          failedStep: "restore",
          message: `restoring ${snapshotOf("orders-db")} into ${targetOf("orders-db")} ended ${status}`,
        });
      },
    );

    it("RestoreTimeLeft → RestoreTimedOut after maxPolls looks → Cleanup: restore, still creating", async () => {
      steps["plan-restore-drills"] = async () => plan([drill("orders-db")], { maxPolls: 3 });
      rds.status = async () => "creating";
      const { done, entered } = await run();
      expect(done).toMatchObject({ status: "FAILED", error: "RestoreDrillsFailed" });
      expect(entered).toEqual(expect.arrayContaining(["RestoreTimedOut", "Cleanup", "Report"]));
      expect(ran("describeDBInstances")).toBe(3);
      expect(ran("run-smoke-query")).toBe(0);
      expect(payloads("deleteDBInstance")).toEqual([deleted()]);
      expect(reported()).toEqual([
        report("orders-db", { smoke: null, failedStep: "restore", status: "creating" }),
      ]);
      expect(onlyEvent().detail).toMatchObject({
        failedStep: "restore",
        message: `${targetOf("orders-db")} was not available within 30 min (still creating)`,
      });
    });

    it("DescribeTarget's Catch → RestoreLost → Cleanup: restore, with RDS's error", async () => {
      const notFound = failing(
        "Rds.DbInstanceNotFoundException",
        `DBInstance ${targetOf("orders-db")} not found.`,
      );
      rds = { status: notFound, remove: notFound };
      const { done, entered } = await run();
      expect(done).toMatchObject({ status: "FAILED", error: "RestoreDrillsFailed" });
      expect(entered).toEqual(expect.arrayContaining(["RestoreLost", "Cleanup", "Report"]));
      expect(entered).not.toContain("CleanupFailed");
      expect(payloads("deleteDBInstance")).toEqual([deleted()]);
      expect(reported()).toEqual([
        report("orders-db", {
          smoke: null,
          failedStep: "restore",
          status: null,
          error: {
            Error: "Rds.DbInstanceNotFoundException",
            Cause: `DBInstance ${targetOf("orders-db")} not found.`,
          },
        }),
      ]);
    });

    it("SmokeQuery's Catch → SmokeQueryFailed: the instance is still deleted, smoke-query with the error", async () => {
      steps["run-smoke-query"] = failing("ValidationError", 'relation "orders" does not exist');
      const { done, entered } = await run();
      expect(done).toMatchObject({ status: "FAILED", error: "RestoreDrillsFailed" });
      expect(entered).toEqual(expect.arrayContaining(["SmokeQueryFailed", "Cleanup", "Report"]));
      expect(calls.map((c) => c.step).slice(-3)).toEqual([
        "run-smoke-query",
        "deleteDBInstance",
        "finish-restore-drill",
      ]);
      expect(payloads("deleteDBInstance")).toEqual([deleted()]);
      expect(reported()).toEqual([
        report("orders-db", {
          smoke: null,
          failedStep: "smoke-query",
          error: {
            Error: "ValidationError",
            Cause: expect.stringContaining('relation \\"orders\\" does not exist'),
          },
        }),
      ]);
      expect(onlyEvent().detail).toMatchObject({
        failedStep: "smoke-query",
        message: 'smoke-query failed: ValidationError: relation "orders" does not exist',
      });
    });

    it("a smoke query that returns no row fails the drill (smoke-query)", async () => {
      steps["run-smoke-query"] = async () => ({ rows: 0, value: null, queriedAt });
      const { done } = await run();
      expect(done).toMatchObject({ status: "FAILED", error: "RestoreDrillsFailed" });
      expect(reported()).toEqual([report("orders-db", { smoke: { rows: 0, value: null, queriedAt } })]);
      expect(onlyEvent().detail).toMatchObject({
        failedStep: "smoke-query",
        message: "the smoke query returned no row",
      });
    });

    it("Cleanup's Catch → CleanupFailed: the drill fails (cleanup) although the query passed", async () => {
      rds.remove = failing(
        "Rds.InvalidParameterCombinationException",
        "Cannot delete protected DB Instance, please disable deletion protection and try again.",
      );
      const { done, entered } = await run();
      expect(done).toMatchObject({ status: "FAILED", error: "RestoreDrillsFailed" });
      expect(entered).toEqual(expect.arrayContaining(["SmokeQuery", "Cleanup", "CleanupFailed", "Report"]));
      expect(reported()).toEqual([
        report("orders-db", {
          failedStep: "cleanup",
          error: {
            Error: "Rds.InvalidParameterCombinationException",
            Cause: "Cannot delete protected DB Instance, please disable deletion protection and try again.",
          },
        }),
      ]);
      expect(onlyEvent()).toMatchObject({
        detailType: "Restore Drill Failed",
        detail: {
          failedStep: "cleanup",
          drillTarget: targetOf("orders-db"),
          message:
            "cleanup failed: Rds.InvalidParameterCombinationException: Cannot delete protected DB Instance, please disable deletion protection and try again.",
        },
      });
    });

    it("SomeFailed: one failed drill fails the run, after every drill was reported", async () => {
      steps["plan-restore-drills"] = async () =>
        plan([drill("orders-db"), drill("billing-db", null), drill("users-db")]);
      rds.status = async (target, look) =>
        databaseOf(target) === "users-db" && look > 1
          ? "incompatible-parameters"
          : look === 1
            ? "creating"
            : "available";
      const { done, entered, history } = await run();
      expect(done).toMatchObject({
        status: "FAILED",
        error: "RestoreDrillsFailed",
        cause: "At least one restore drill failed: see its Restore Drill Failed event.",
      });
      expect(reported().map((p) => [p.database, p.failedStep])).toEqual(
        expect.arrayContaining([
          ["orders-db", null],
          ["billing-db", "find-snapshot"],
          ["users-db", "restore"],
        ]),
      );
      expect(payloads("deleteDBInstance")).toEqual(
        expect.arrayContaining([deleted("orders-db"), deleted("users-db")]),
      );
      expect(ran("deleteDBInstance")).toBe(2);
      expect(entered.slice(-3)).toEqual(["Summarize", "AnyFailed", "SomeFailed"]);
      const summary = history.find((e) => e.type === "PassStateExited" && e.stateName === "Summarize");
      expect(summary?.output).toMatchObject({ summary: { anyFailed: true } });
      expect(published.map((e) => e.detailType).sort()).toEqual([
        "Restore Drill Failed",
        "Restore Drill Failed",
        "Restore Drill Passed",
      ]);
    });
  });

  describe("errors the run cannot report", () => {
    it("a report step that fails → DrillsErrored", async () => {
      steps["finish-restore-drill"] = failing("ValidationError", "publishing failed");
      const { done, entered } = await run();
      expect(done).toMatchObject({ status: "FAILED", error: "RestoreDrillErrored" });
      expect(entered).toContain("DrillsErrored");
      expect(entered).not.toContain("Summarize");
      // The drill instance was deleted before the report was attempted.
      expect(ran("deleteDBInstance")).toBe(1);
    });
  });
});
