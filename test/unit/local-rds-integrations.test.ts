// The AWS SDK integrations for RDS the local runner maps onto the SnapshotService: shapes and error names as on AWS.

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { NotFoundError, TransientError, ValidationError } from "../../functions/core/errors.ts";
import type { DrillStatus, Snapshot } from "../../functions/core/ports.ts";
import { lintDefinition } from "../../local/asl-lint.ts";
import type { LocalEventBus } from "../../local/bus/event-bus.ts";
import { openDatabase, type SqliteDatabase } from "../../local/db.ts";
import {
  localIntegrationResources,
  localIntegrations,
  type RdsIntegrationSnapshots,
} from "../../local/integrations.ts";
import { type IntegrationContext, WorkflowRunner } from "../../local/workflows/index.ts";

const describeDbSnapshots = "arn:aws:states:::aws-sdk:rds:describeDBSnapshots";
const describeDbClusterSnapshots = "arn:aws:states:::aws-sdk:rds:describeDBClusterSnapshots";
const describeDbInstances = "arn:aws:states:::aws-sdk:rds:describeDBInstances";
const deleteDbInstance = "arn:aws:states:::aws-sdk:rds:deleteDBInstance";
const rdsResources = [describeDbSnapshots, describeDbClusterSnapshots, describeDbInstances, deleteDbInstance];

const gib = 1024 ** 3;
const available: Snapshot = {
  id: "switchyard-orders-20240501t020000z-scheduled",
  database: "orders",
  status: "available",
  reason: "scheduled",
  createdAt: "2024-05-01T02:00:00.000Z",
  sizeBytes: 2 * gib + 1,
  tags: { "switchyard:created-by": "switchyard", "switchyard:reason": "scheduled" },
};
const creating: Snapshot = {
  id: "switchyard-orders-20240502t020000z-manual",
  database: "orders",
  status: "creating",
  reason: "manual",
  createdAt: "2024-05-02T02:00:00.000Z",
  tags: {},
};

/** A drill target in each state (local targets are the scratch names with `_` for `-`). */
const drillTargets: Readonly<Record<DrillStatus, string>> = {
  creating: "switchyard_drill_orders_creating",
  available: "switchyard_drill_orders_ready",
  failed: "switchyard_drill_orders_broken",
};

/** The three SnapshotService methods the integrations use, over maps; records what it deleted. */
class FakeSnapshots implements RdsIntegrationSnapshots {
  readonly snapshots = new Map<string, Snapshot>([
    [available.id, available],
    [creating.id, creating],
  ]);
  readonly drills = new Map<string, DrillStatus>();
  /** Targets `deleteDrillTarget` refuses, as the service refuses what is not a drill it made. */
  readonly refused = new Set<string>();
  readonly deleted: string[] = [];
  drillError: Error | undefined;

  async getSnapshot(id: string): Promise<Snapshot | undefined> {
    return this.snapshots.get(id);
  }

  async drillStatus(target: string): Promise<DrillStatus> {
    if (this.drillError) throw this.drillError;
    const status = this.drills.get(target);
    if (status === undefined) throw new NotFoundError(`drill target ${target} does not exist`);
    return status;
  }

  async deleteDrillTarget(target: string): Promise<void> {
    if (this.refused.has(target)) {
      throw new ValidationError(
        `database ${target} is not a drill this service started: Switchyard never drops it`,
      );
    }
    this.deleted.push(target);
    this.drills.delete(target);
  }
}

const ctx: IntegrationContext = {
  executionArn: "arn:aws:states:us-east-1:000000000000:execution:switchyard-restore-drill:run-1",
  stateName: "Rds",
};

let fake: FakeSnapshots;
const integrations = localIntegrations({
  bus: () => {
    throw new Error("no bus in these tests");
  },
  queues: () => new Map(),
  snapshots: () => fake,
});
const call = (resource: string, parameters: unknown): Promise<unknown> => {
  const integration = integrations[resource];
  if (!integration) throw new Error(`no integration for ${resource}`);
  return integration(parameters, ctx);
};

beforeEach(() => {
  fake = new FakeSnapshots();
  for (const [status, target] of Object.entries(drillTargets)) fake.drills.set(target, status as DrillStatus);
});

describe("local RDS integrations", () => {
  it("maps every resource the ASL lint accepts, and nothing else", () => {
    expect(Object.keys(integrations).sort()).toEqual([...localIntegrationResources].sort());
    for (const resource of rdsResources) expect(localIntegrationResources.has(resource)).toBe(true);
  });

  it.each<[name: string, resource: string, parameters: unknown, expected: unknown]>([
    [
      "describeDBSnapshots of an available snapshot",
      describeDbSnapshots,
      { DbSnapshotIdentifier: available.id },
      {
        DbSnapshots: [
          {
            DbSnapshotIdentifier: available.id,
            DbInstanceIdentifier: "orders",
            SnapshotCreateTime: "2024-05-01T02:00:00.000Z",
            Status: "available",
            AllocatedStorage: 3,
            SnapshotType: "manual",
            TagList: [
              { Key: "switchyard:created-by", Value: "switchyard" },
              { Key: "switchyard:reason", Value: "scheduled" },
            ],
          },
        ],
      },
    ],
    [
      "describeDBSnapshots of a snapshot being taken (no create time, no size yet)",
      describeDbSnapshots,
      { DbSnapshotIdentifier: creating.id },
      {
        DbSnapshots: [
          {
            DbSnapshotIdentifier: creating.id,
            DbInstanceIdentifier: "orders",
            Status: "creating",
            SnapshotType: "manual",
            TagList: [],
          },
        ],
      },
    ],
    ...(Object.entries(drillTargets) as [DrillStatus, string][]).map(
      ([status, target]) =>
        [
          `describeDBInstances of a ${status} drill target`,
          describeDbInstances,
          { DbInstanceIdentifier: target },
          { DbInstances: [{ DbInstanceIdentifier: target, DbInstanceStatus: status }] },
        ] satisfies [string, string, unknown, unknown],
    ),
    [
      "deleteDBInstance skipping the final snapshot",
      deleteDbInstance,
      { DbInstanceIdentifier: "switchyard_drill_orders_ready", SkipFinalSnapshot: true },
      { DbInstance: { DbInstanceIdentifier: "switchyard_drill_orders_ready", DbInstanceStatus: "deleting" } },
    ],
    [
      "deleteDBInstance of a target still being restored, deleting automated backups",
      deleteDbInstance,
      {
        DbInstanceIdentifier: "switchyard_drill_orders_creating",
        SkipFinalSnapshot: true,
        DeleteAutomatedBackups: true,
      },
      {
        DbInstance: {
          DbInstanceIdentifier: "switchyard_drill_orders_creating",
          DbInstanceStatus: "deleting",
        },
      },
    ],
  ])("answers %s", async (_name, resource, parameters, expected) => {
    expect(await call(resource, parameters)).toEqual(expected);
  });

  it("deletes the drill target through the service, and then no longer finds it", async () => {
    const parameters = { DbInstanceIdentifier: "switchyard_drill_orders_ready", SkipFinalSnapshot: true };
    await call(deleteDbInstance, parameters);
    expect(fake.deleted).toEqual(["switchyard_drill_orders_ready"]);
    await expect(call(deleteDbInstance, parameters)).rejects.toMatchObject({
      name: "Rds.DbInstanceNotFoundException",
    });
    expect(fake.deleted).toHaveLength(1);
  });

  it.each<[name: string, resource: string, parameters: unknown, error: string, message: string]>([
    [
      "an unknown snapshot",
      describeDbSnapshots,
      { DbSnapshotIdentifier: "nope" },
      "Rds.DbSnapshotNotFoundException",
      "DBSnapshot nope not found.",
    ],
    [
      "an unknown cluster snapshot",
      describeDbClusterSnapshots,
      { DbClusterSnapshotIdentifier: "nope" },
      "Rds.DbClusterSnapshotNotFoundException",
      "DBClusterSnapshot nope not found.",
    ],
    [
      "an instance snapshot asked for as a cluster snapshot",
      describeDbClusterSnapshots,
      { DbClusterSnapshotIdentifier: available.id },
      "Rds.DbClusterSnapshotNotFoundException",
      `DBClusterSnapshot ${available.id} not found.`,
    ],
    [
      "describing an unknown instance",
      describeDbInstances,
      { DbInstanceIdentifier: "orders" },
      "Rds.DbInstanceNotFoundException",
      "DBInstance orders not found.",
    ],
    [
      "deleting an unknown instance",
      deleteDbInstance,
      { DbInstanceIdentifier: "switchyard_drill_gone", SkipFinalSnapshot: true },
      "Rds.DbInstanceNotFoundException",
      "DBInstance switchyard_drill_gone not found.",
    ],
    [
      "deleting without SkipFinalSnapshot or a final snapshot",
      deleteDbInstance,
      { DbInstanceIdentifier: "switchyard_drill_orders_ready" },
      "Rds.InvalidParameterCombinationException",
      "FinalDBSnapshotIdentifier is required unless SkipFinalSnapshot is specified.",
    ],
    [
      "deleting with SkipFinalSnapshot false and no final snapshot",
      deleteDbInstance,
      { DbInstanceIdentifier: "switchyard_drill_orders_ready", SkipFinalSnapshot: false },
      "Rds.InvalidParameterCombinationException",
      "FinalDBSnapshotIdentifier is required unless SkipFinalSnapshot is specified.",
    ],
    [
      "deleting with both SkipFinalSnapshot and a final snapshot",
      deleteDbInstance,
      {
        DbInstanceIdentifier: "switchyard_drill_orders_ready",
        SkipFinalSnapshot: true,
        FinalDbSnapshotIdentifier: "final",
      },
      "Rds.InvalidParameterCombinationException",
      "You cannot specify both FinalDBSnapshotIdentifier and SkipFinalSnapshot.",
    ],
    [
      "deleting with a final snapshot (the local service cannot take one)",
      deleteDbInstance,
      { DbInstanceIdentifier: "switchyard_drill_orders_ready", FinalDbSnapshotIdentifier: "final" },
      "States.Runtime",
      "cannot take a final snapshot",
    ],
    [
      "missing Parameters",
      describeDbSnapshots,
      undefined,
      "States.Runtime",
      "rds:describeDBSnapshots needs Parameters (an object)",
    ],
    [
      "a missing identifier",
      describeDbInstances,
      {},
      "States.Runtime",
      "rds:describeDBInstances needs Parameters.DbInstanceIdentifier (a non-empty string)",
    ],
    [
      "an identifier that is not a string",
      describeDbSnapshots,
      { DbSnapshotIdentifier: 42 },
      "States.Runtime",
      "needs Parameters.DbSnapshotIdentifier",
    ],
    [
      "an empty identifier",
      deleteDbInstance,
      { DbInstanceIdentifier: "", SkipFinalSnapshot: true },
      "States.Runtime",
      "needs Parameters.DbInstanceIdentifier",
    ],
    [
      "the API's DB spelling",
      describeDbSnapshots,
      { DBSnapshotIdentifier: available.id },
      "States.Runtime",
      'spell DB as "Db" (DbSnapshotIdentifier)',
    ],
    [
      "a parameter the local integration does not take",
      describeDbInstances,
      { DbInstanceIdentifier: "switchyard_drill_orders_ready", Filters: [] },
      "States.Runtime",
      "takes no parameter Filters (only DbInstanceIdentifier)",
    ],
    [
      "SkipFinalSnapshot as a string",
      deleteDbInstance,
      { DbInstanceIdentifier: "switchyard_drill_orders_ready", SkipFinalSnapshot: "true" },
      "States.Runtime",
      "Parameters.SkipFinalSnapshot must be a boolean",
    ],
    [
      "DeleteAutomatedBackups as a string",
      deleteDbInstance,
      {
        DbInstanceIdentifier: "switchyard_drill_orders_ready",
        SkipFinalSnapshot: true,
        DeleteAutomatedBackups: "yes",
      },
      "States.Runtime",
      "Parameters.DeleteAutomatedBackups must be a boolean",
    ],
  ])("fails %s", async (_name, resource, parameters, name, message) => {
    const failure = call(resource, parameters);
    await expect(failure).rejects.toMatchObject({ name });
    await expect(failure).rejects.toThrow(message);
    expect(fake.deleted).toEqual([]);
  });

  it("answers a target the service refuses to drop with Rds.RdsException, as IAM's denial reads", async () => {
    fake.refused.add("switchyard_drill_orders_ready");
    const failure = call(deleteDbInstance, {
      DbInstanceIdentifier: "switchyard_drill_orders_ready",
      SkipFinalSnapshot: true,
    });
    await expect(failure).rejects.toMatchObject({ name: "Rds.RdsException" });
    await expect(failure).rejects.toThrow(
      "DBInstance switchyard_drill_orders_ready cannot be deleted: database switchyard_drill_orders_ready is not a drill",
    );
  });

  it("passes on other service errors under their own names", async () => {
    fake.drillError = new TransientError("the local snapshot service is shutting down");
    for (const [resource, parameters] of [
      [describeDbInstances, { DbInstanceIdentifier: "switchyard_drill_orders_ready" }],
      [deleteDbInstance, { DbInstanceIdentifier: "switchyard_drill_orders_ready", SkipFinalSnapshot: true }],
    ] as const) {
      await expect(call(resource, parameters)).rejects.toMatchObject({ name: "TransientError" });
    }
    expect(fake.deleted).toEqual([]);
  });
});

describe("local RDS integrations in a workflow", () => {
  const workflow = {
    StartAt: "Describe",
    States: {
      Describe: {
        Type: "Task",
        Resource: describeDbSnapshots,
        Parameters: { "DbSnapshotIdentifier.$": "$.id" },
        ResultSelector: { "status.$": "$.DbSnapshots[0].Status" },
        Catch: [
          { ErrorEquals: ["Rds.DbSnapshotNotFoundException"], ResultPath: "$.error", Next: "Missing" },
          { ErrorEquals: ["States.ALL"], ResultPath: "$.error", Next: "Other" },
        ],
        End: true,
      },
      Missing: { Type: "Pass", Result: "missing", End: true },
      Other: { Type: "Pass", Result: "other", End: true },
    },
  };
  let rootDir: string;
  let db: SqliteDatabase;
  let runner: WorkflowRunner<"describe">;

  beforeAll(() => {
    rootDir = mkdtempSync(join(tmpdir(), "switchyard-rds-integrations-"));
    mkdirSync(join(rootDir, "workflows"));
    writeFileSync(join(rootDir, "workflows/describe.asl.json"), JSON.stringify(workflow));
    db = openDatabase(":memory:");
    runner = new WorkflowRunner<"describe">({
      db,
      rootDir,
      workflows: { describe: { file: "workflows/describe.asl.json", functions: [] } },
      functions: {},
      integrations: localIntegrations({
        bus: () => ({}) as LocalEventBus,
        queues: () => new Map(),
        snapshots: () => fake,
      }),
    });
  });

  afterAll(async () => {
    await runner.close();
    db.close();
    rmSync(rootDir, { recursive: true, force: true });
  });

  it.each([
    ["a known snapshot", { id: available.id }, { status: "SUCCEEDED", output: { status: "available" } }],
    ["an unknown snapshot, caught by name", { id: "nope" }, { status: "SUCCEEDED", output: "missing" }],
    [
      "an ill-typed parameter, which no Catch catches",
      { id: 42 },
      { status: "FAILED", error: "States.Runtime" },
    ],
  ])("runs a Task over %s", async (_name, input, expected) => {
    const { executionArn } = await runner.startExecution({ workflow: "describe", input });
    expect(await runner.waitForExecution(executionArn, 2_000)).toMatchObject(expected);
  });
});

describe("ASL lint of the RDS integrations", () => {
  const options = { substitutions: new Set<string>(), integrations: localIntegrationResources };
  const withTask = (resource: string) => ({
    StartAt: "Rds",
    States: {
      Rds: { Type: "Task", Resource: resource, Parameters: { DbInstanceIdentifier: "x" }, End: true },
    },
  });

  it.each([...rdsResources, `${describeDbInstances}.waitForTaskToken`])("accepts %s", (resource) => {
    expect(lintDefinition(withTask(resource), "workflows/x.asl.json", options)).toEqual([]);
  });

  it.each([
    [
      "an RDS action the local runner does not map",
      "arn:aws:states:::aws-sdk:rds:createDBSnapshot",
      "is not mapped",
    ],
    ["a .sync variant", `${describeDbSnapshots}.sync`, "runs no .sync integration"],
    ["a .sync:2 variant", `${deleteDbInstance}.sync:2`, "runs no .sync integration"],
  ])("rejects %s", (_name, resource, expected) => {
    expect(lintDefinition(withTask(resource), "workflows/x.asl.json", options).join("\n")).toContain(
      expected,
    );
  });
});
