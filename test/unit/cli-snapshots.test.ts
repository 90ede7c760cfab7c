// How `switchyard snapshots create|drill` reports a finished execution: per database, retention, and why it failed.

import { describe, expect, it } from "vitest";
import { describeSnapshotExecution } from "../../local/cli.ts";

const started = {
  startDate: "2026-05-01T12:00:00.000Z",
  stopDate: "2026-05-01T12:00:01.250Z",
};

describe("describeSnapshotExecution", () => {
  it("lists each database's outcome, the quota warning and retention of a succeeded run", () => {
    const text = describeSnapshotExecution(
      {
        workflow: "rds-snapshot",
        name: "snapshot-1",
        status: "SUCCEEDED",
        ...started,
        output: {
          plan: { count: 2, quotaWarning: "82 of 100 manual snapshots in the region" },
          snapshots: [
            {
              database: "orders",
              snapshotId: "switchyard-orders-20260501120000-manual",
              outcome: "created",
              message: "snapshot switchyard-orders-20260501120000-manual of orders is available",
            },
            {
              database: "payments-prod",
              snapshotId: "switchyard-payments-prod-20260501120000-manual",
              outcome: "created",
              message:
                "snapshot switchyard-payments-prod-20260501120000-manual of payments-prod is available",
            },
          ],
          retention: {
            pruned: [
              {
                database: "orders",
                deleted: ["switchyard-orders-20260420030000-scheduled"],
                keptForMinimum: [],
                notDeleted: [],
              },
              { database: "payments-prod", deleted: [], keptForMinimum: [], notDeleted: [] },
            ],
          },
        },
      },
      "rds-snapshot",
    );

    expect(text).toBe(
      [
        "  orders         created  snapshot switchyard-orders-20260501120000-manual of orders is available",
        "  payments-prod  created  snapshot switchyard-payments-prod-20260501120000-manual of payments-prod is available",
        "  warning: 82 of 100 manual snapshots in the region",
        "  retention: deleted switchyard-orders-20260420030000-scheduled (orders, past snapshots.retentionDays)",
        "SUCCEEDED  rds-snapshot:snapshot-1 (1250 ms)",
        "",
      ].join("\n"),
    );
  });

  it("says so when no database carries the selector tag", () => {
    const text = describeSnapshotExecution(
      {
        workflow: "restore-drill",
        name: "drill-1",
        status: "SUCCEEDED",
        ...started,
        output: { database: null, plan: { count: 0, drills: [] } },
      },
      "restore-drill",
    );

    expect(text).toBe(
      "  no database to drill: none carries snapshots.selector's tag\nSUCCEEDED  restore-drill:drill-1 (1250 ms)\n",
    );
  });

  it("reads the outcomes of a failed execution, which has no output, from its last recorded state", () => {
    const drills = [
      {
        database: "orders",
        outcome: "passed",
        message: "restored in 0.4 s; select count(*) from orders → 25",
      },
      {
        database: "ledger",
        outcome: "failed",
        message: "no available Switchyard snapshot of ledger to restore",
      },
    ];
    const text = describeSnapshotExecution(
      {
        workflow: "restore-drill",
        name: "drill-2",
        status: "FAILED",
        ...started,
        error: "RestoreDrillsFailed",
        cause: "At least one restore drill failed: see its Restore Drill Failed event.",
        transitions: [
          { type: "ExecutionStarted", timestamp: started.startDate, input: { database: null } },
          {
            type: "MapStateExited",
            stateName: "DrillEach",
            timestamp: started.startDate,
            output: { drills },
          },
          {
            type: "FailStateEntered",
            stateName: "SomeFailed",
            timestamp: started.stopDate,
            input: { drills, summary: { anyFailed: true } },
          },
          { type: "ExecutionFailed", timestamp: started.stopDate, error: "RestoreDrillsFailed" },
        ],
      },
      "restore-drill",
    );

    expect(text).toBe(
      [
        "  orders  passed   restored in 0.4 s; select count(*) from orders → 25",
        "  ledger  failed   no available Switchyard snapshot of ledger to restore",
        "FAILED     restore-drill:drill-2 (1250 ms): RestoreDrillsFailed — At least one restore drill failed: see its Restore Drill Failed event.",
        "",
      ].join("\n"),
    );
  });

  it("shows the cause of a refused run", () => {
    const text = describeSnapshotExecution(
      {
        workflow: "rds-snapshot",
        name: "snapshot-2",
        status: "FAILED",
        ...started,
        error: "SnapshotRunRefused",
        cause: "refused to snapshot: 100 of 100 manual snapshots in the region",
      },
      "rds-snapshot",
    );

    expect(text).toBe(
      "FAILED     rds-snapshot:snapshot-2 (1250 ms): SnapshotRunRefused — refused to snapshot: 100 of 100 manual snapshots in the region\n",
    );
  });

  it("names the step error behind a generic failure, without the stack of a Lambda's cause", () => {
    const text = describeSnapshotExecution(
      {
        workflow: "rds-snapshot",
        name: "snapshot-3",
        status: "FAILED",
        ...started,
        error: "SnapshotRunErrored",
        cause:
          "The run could not be planned; no snapshot was started. The execution's history has the error.",
        transitions: [
          {
            type: "LambdaFunctionFailed",
            stateName: "Plan",
            timestamp: started.startDate,
            error: "AccessDenied",
            cause: JSON.stringify({
              errorType: "AccessDenied",
              errorMessage: "not authorized to perform rds:DescribeDBInstances",
              trace: ["at plan (plan-snapshots.ts:1)"],
            }),
          },
          { type: "ExecutionFailed", timestamp: started.stopDate, error: "SnapshotRunErrored" },
        ],
      },
      "rds-snapshot",
    );

    expect(text).toContain("  because AccessDenied: not authorized to perform rds:DescribeDBInstances\n");
    expect(text).not.toContain("plan-snapshots.ts");
  });
});
