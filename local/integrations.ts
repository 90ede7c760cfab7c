// Step Functions service integrations the local runner maps, and the extra ASL substitutions it provides.

import { NotFoundError, ValidationError } from "../functions/core/errors.ts";
import type { DrillStatus, Snapshot, SnapshotService } from "../functions/core/ports.ts";
import { type QueueName, queues, queueUrlKey } from "../functions/registry.ts";
import type { LocalEventBus } from "./bus/event-bus.ts";
import type { LocalFifoQueue } from "./queue/fifo-queue.ts";
import { type IntegrationContext, type LocalIntegration, StatesError } from "./workflows/index.ts";

const putEventsResource = "arn:aws:states:::events:putEvents";
const sendMessageResource = "arn:aws:states:::sqs:sendMessage";
const describeDbSnapshotsResource = "arn:aws:states:::aws-sdk:rds:describeDBSnapshots";
const describeDbClusterSnapshotsResource = "arn:aws:states:::aws-sdk:rds:describeDBClusterSnapshots";
const describeDbInstancesResource = "arn:aws:states:::aws-sdk:rds:describeDBInstances";
const deleteDbInstanceResource = "arn:aws:states:::aws-sdk:rds:deleteDBInstance";

/** `${Key}` names a workflow can use besides function ARNs; infra provides the same keys. */
export const substitutionKeys: readonly string[] = [
  "EventBusName",
  ...(Object.keys(queues) as QueueName[]).map(queueUrlKey),
];

/** The values of those keys in the local runtime. */
export const localSubstitutions = (
  queueUrls: Readonly<Record<QueueName, string>>,
): Record<string, string> => ({
  EventBusName: "switchyard",
  ...Object.fromEntries(
    (Object.keys(queues) as QueueName[]).map((name) => [queueUrlKey(name), queueUrls[name]]),
  ),
});

/**
 * The integration resources mapped locally (the ASL lint accepts exactly these, plain or `.waitForTaskToken`):
 * the optimized `events:putEvents` and `sqs:sendMessage`, and the AWS SDK integrations `rds:describeDBSnapshots`,
 * `rds:describeDBClusterSnapshots`, `rds:describeDBInstances` and `rds:deleteDBInstance` over the SnapshotService.
 */
export const localIntegrationResources: ReadonlySet<string> = new Set([
  putEventsResource,
  sendMessageResource,
  describeDbSnapshotsResource,
  describeDbClusterSnapshotsResource,
  describeDbInstancesResource,
  deleteDbInstanceResource,
]);

/** A Task failure named like the AWS integration's, so `Retry`/`Catch` behave the same. */
class IntegrationError extends Error {
  constructor(name: string, message: string) {
    super(message);
    this.name = name;
  }
}

/**
 * A Task failure for Parameters the integration cannot run with: `States.Runtime`, which on Step Functions no `Retry`
 * or `Catch` matches (`States.ALL` included), so it must be marked terminal for the local engine too.
 */
const runtimeError = (message: string): StatesError =>
  new StatesError("States.Runtime", message, { terminal: true });

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/**
 * `events:putEvents` as Step Functions' optimized integration: `Detail` may be an object (it is serialised),
 * the execution and state machine ARNs are appended to each entry's `Resources`, and a non-zero
 * `FailedEntryCount` fails the Task with `EventBridge.FailedEntry`.
 */
const putEvents =
  (bus: () => LocalEventBus): LocalIntegration =>
  async (parameters: unknown, ctx: IntegrationContext) => {
    const entries =
      isRecord(parameters) && Array.isArray(parameters.Entries) ? parameters.Entries : undefined;
    if (!entries) throw runtimeError("events:putEvents needs Parameters.Entries (an array)");
    const stateMachineArn = ctx.executionArn.replace(/:execution:([^:]+):[^:]+$/, ":stateMachine:$1");
    const request = {
      Entries: entries.map((entry) =>
        isRecord(entry)
          ? {
              ...entry,
              Detail: typeof entry.Detail === "string" ? entry.Detail : JSON.stringify(entry.Detail ?? {}),
              Resources: [
                ...(Array.isArray(entry.Resources) ? entry.Resources : []),
                ctx.executionArn,
                stateMachineArn,
              ],
            }
          : entry,
      ),
    };
    const response = bus().putEvents(request);
    if (response.FailedEntryCount > 0) {
      const first = response.Entries.find((e) => e.ErrorCode);
      throw new IntegrationError("EventBridge.FailedEntry", `${first?.ErrorCode}: ${first?.ErrorMessage}`);
    }
    return response;
  };

/**
 * `sqs:sendMessage` as Step Functions' optimized integration: `MessageBody` may be JSON (it is serialised); FIFO
 * queues need `MessageGroupId`. With `.waitForTaskToken` the body carries the token to the consumer.
 */
const sendMessage =
  (queuesByUrl: () => ReadonlyMap<string, LocalFifoQueue>): LocalIntegration =>
  async (parameters: unknown) => {
    if (!isRecord(parameters) || typeof parameters.QueueUrl !== "string") {
      throw runtimeError("sqs:sendMessage needs Parameters.QueueUrl");
    }
    const queue = queuesByUrl().get(parameters.QueueUrl);
    if (!queue) {
      throw new IntegrationError(
        "SQS.QueueDoesNotExistException",
        `The queue ${parameters.QueueUrl} does not exist`,
      );
    }
    if (typeof parameters.MessageGroupId !== "string" || parameters.MessageGroupId === "") {
      throw new IntegrationError(
        "SQS.SqsException",
        "The request must contain the parameter MessageGroupId.",
      );
    }
    const body =
      typeof parameters.MessageBody === "string"
        ? parameters.MessageBody
        : JSON.stringify(parameters.MessageBody);
    return queue.send({
      body,
      groupId: parameters.MessageGroupId,
      ...(typeof parameters.MessageDeduplicationId === "string"
        ? { deduplicationId: parameters.MessageDeduplicationId }
        : {}),
    });
  };

// --- AWS SDK integrations for RDS -------------------------------------------------------------------------------
//
// Step Functions' SDK integrations take and answer the SDK's shapes, which spell the acronym "Db"
// (`DbSnapshotIdentifier`, `DbInstances`), and name a service error `Rds.<Exception>` (`Rds.DbInstanceNotFoundException`
// for RDS's `DBInstanceNotFound` fault). Locally they run over the SnapshotService, so they only see what it holds:
// Switchyard's snapshots (all of DB instances; there are no Aurora clusters locally) and restore-drill targets as the
// only DB instances. Parameters they cannot honour fail the Task with `States.Runtime`, which no Retry or Catch matches,
// like those of the integrations above; errors from the service other than the ones mapped below keep their names.

/** The SnapshotService methods the RDS integrations use. */
export type RdsIntegrationSnapshots = Pick<
  SnapshotService,
  "getSnapshot" | "drillStatus" | "deleteDrillTarget"
>;

const bytesPerGiB = 1024 ** 3;

/** RDS's DB instance status for each drill status (all three are RDS statuses as they are). */
const dbInstanceStatus: Readonly<Record<DrillStatus, string>> = {
  creating: "creating",
  available: "available",
  failed: "failed",
};

/**
 * The evaluated Parameters, refused unless an object of only `accepted` keys: a misspelt optional parameter must not
 * pass silently (Step Functions refuses an unknown one when the state machine is created).
 */
const rdsParameters = (
  action: string,
  parameters: unknown,
  accepted: readonly string[],
): Record<string, unknown> => {
  if (!isRecord(parameters)) {
    throw runtimeError(`rds:${action} needs Parameters (an object)`);
  }
  for (const key of Object.keys(parameters)) {
    if (accepted.includes(key)) continue;
    const hint = key.includes("DB")
      ? `; Step Functions' SDK integrations spell DB as "Db" (${key.replaceAll("DB", "Db")})`
      : "";
    throw runtimeError(
      `rds:${action} locally takes no parameter ${key} (only ${accepted.join(", ")})${hint}`,
    );
  }
  return parameters;
};

const requiredString = (action: string, parameters: Record<string, unknown>, key: string): string => {
  const value = parameters[key];
  if (typeof value !== "string" || value === "") {
    throw runtimeError(`rds:${action} needs Parameters.${key} (a non-empty string)`);
  }
  return value;
};

const optionalOf = <T>(
  action: string,
  parameters: Record<string, unknown>,
  key: string,
  type: "string" | "boolean",
): T | undefined => {
  const value = parameters[key];
  if (value === undefined) return undefined;
  if (typeof value !== type) {
    throw runtimeError(`rds:${action}: Parameters.${key} must be a ${type}`);
  }
  return value as T;
};

const dbInstanceNotFound = (id: string): IntegrationError =>
  new IntegrationError("Rds.DbInstanceNotFoundException", `DBInstance ${id} not found.`);

/** A drill target's RDS status; `Rds.DbInstanceNotFoundException` for anything else. */
const instanceStatusOf = async (snapshots: RdsIntegrationSnapshots, id: string): Promise<string> => {
  try {
    return dbInstanceStatus[await snapshots.drillStatus(id)];
  } catch (error) {
    if (error instanceof NotFoundError) throw dbInstanceNotFound(id);
    throw error;
  }
};

/** A snapshot as the SDK's `DBSnapshot`, reduced to what the SnapshotService knows. */
const dbSnapshot = (snapshot: Snapshot): Record<string, unknown> => {
  const created = new Date(snapshot.createdAt);
  return {
    DbSnapshotIdentifier: snapshot.id,
    DbInstanceIdentifier: snapshot.database,
    // RDS fills SnapshotCreateTime in only once the snapshot is taken.
    ...(snapshot.status !== "creating" && !Number.isNaN(created.getTime())
      ? { SnapshotCreateTime: created.toISOString() }
      : {}),
    Status: snapshot.status,
    // The SnapshotService knows a dump's size, not the instance's storage: the nearest whole GiB above it.
    ...(snapshot.sizeBytes === undefined
      ? {}
      : { AllocatedStorage: Math.ceil(snapshot.sizeBytes / bytesPerGiB) }),
    SnapshotType: "manual",
    TagList: Object.entries(snapshot.tags).map(([Key, Value]) => ({ Key, Value })),
  };
};

/** `rds:describeDBSnapshots` for one `DbSnapshotIdentifier`; `Rds.DbSnapshotNotFoundException` when there is none. */
const describeDbSnapshots =
  (snapshots: () => RdsIntegrationSnapshots): LocalIntegration =>
  async (parameters: unknown) => {
    const action = "describeDBSnapshots";
    const id = requiredString(
      action,
      rdsParameters(action, parameters, ["DbSnapshotIdentifier"]),
      "DbSnapshotIdentifier",
    );
    const snapshot = await snapshots().getSnapshot(id);
    if (!snapshot)
      throw new IntegrationError("Rds.DbSnapshotNotFoundException", `DBSnapshot ${id} not found.`);
    return { DbSnapshots: [dbSnapshot(snapshot)] };
  };

/**
 * `rds:describeDBClusterSnapshots` for one `DbClusterSnapshotIdentifier`. Every local snapshot is of a DB instance,
 * and RDS does not answer an instance snapshot as a cluster snapshot, so this is always
 * `Rds.DbClusterSnapshotNotFoundException`.
 */
const describeDbClusterSnapshots = (): LocalIntegration => async (parameters: unknown) => {
  const action = "describeDBClusterSnapshots";
  const id = requiredString(
    action,
    rdsParameters(action, parameters, ["DbClusterSnapshotIdentifier"]),
    "DbClusterSnapshotIdentifier",
  );
  throw new IntegrationError("Rds.DbClusterSnapshotNotFoundException", `DBClusterSnapshot ${id} not found.`);
};

/**
 * `rds:describeDBInstances` for one `DbInstanceIdentifier`. The local DB instances are restore-drill targets (the
 * databases Switchyard snapshots are not instances here); any other identifier is `Rds.DbInstanceNotFoundException`.
 */
const describeDbInstances =
  (snapshots: () => RdsIntegrationSnapshots): LocalIntegration =>
  async (parameters: unknown) => {
    const action = "describeDBInstances";
    const id = requiredString(
      action,
      rdsParameters(action, parameters, ["DbInstanceIdentifier"]),
      "DbInstanceIdentifier",
    );
    return {
      DbInstances: [{ DbInstanceIdentifier: id, DbInstanceStatus: await instanceStatusOf(snapshots(), id) }],
    };
  };

/**
 * `rds:deleteDBInstance` of a restore-drill target, checked as RDS checks it: without `SkipFinalSnapshot: true` a
 * `FinalDbSnapshotIdentifier` is required, and both together are refused (`Rds.InvalidParameterCombinationException`);
 * an unknown instance is `Rds.DbInstanceNotFoundException`. The local service cannot take a final snapshot, so asking
 * for one is `States.Runtime`. A target the service refuses to drop (its `ValidationError`: not a drill target it
 * made) is `Rds.RdsException`, what Step Functions names RDS's access-denied answer, which is what IAM gives
 * there on AWS (the policy allows deleting drill instances only); not InvalidDBInstanceState, which the workflow
 * retries for minutes as RDS's "busy, try later". There are no automated backups locally: `DeleteAutomatedBackups` is
 * checked and otherwise ignored.
 */
const deleteDbInstance =
  (snapshots: () => RdsIntegrationSnapshots): LocalIntegration =>
  async (parameters: unknown) => {
    const action = "deleteDBInstance";
    const checked = rdsParameters(action, parameters, [
      "DbInstanceIdentifier",
      "SkipFinalSnapshot",
      "FinalDbSnapshotIdentifier",
      "DeleteAutomatedBackups",
    ]);
    const id = requiredString(action, checked, "DbInstanceIdentifier");
    const skipFinalSnapshot = optionalOf<boolean>(action, checked, "SkipFinalSnapshot", "boolean") === true;
    const finalSnapshot = optionalOf<string>(action, checked, "FinalDbSnapshotIdentifier", "string");
    optionalOf<boolean>(action, checked, "DeleteAutomatedBackups", "boolean");
    if (!skipFinalSnapshot && finalSnapshot === undefined) {
      throw new IntegrationError(
        "Rds.InvalidParameterCombinationException",
        "FinalDBSnapshotIdentifier is required unless SkipFinalSnapshot is specified.",
      );
    }
    if (skipFinalSnapshot && finalSnapshot !== undefined) {
      throw new IntegrationError(
        "Rds.InvalidParameterCombinationException",
        "You cannot specify both FinalDBSnapshotIdentifier and SkipFinalSnapshot.",
      );
    }
    if (!skipFinalSnapshot) {
      throw runtimeError(
        "rds:deleteDBInstance: the local runner cannot take a final snapshot; delete with SkipFinalSnapshot: true",
      );
    }
    const service = snapshots();
    await instanceStatusOf(service, id);
    try {
      await service.deleteDrillTarget(id);
    } catch (error) {
      if (error instanceof ValidationError) {
        throw new IntegrationError(
          "Rds.RdsException",
          `DBInstance ${id} cannot be deleted: ${error.message}`,
        );
      }
      throw error;
    }
    return { DbInstance: { DbInstanceIdentifier: id, DbInstanceStatus: "deleting" } };
  };

/**
 * The integrations for a runner; the bus, queues and snapshot service are read lazily because they are built after
 * the runner.
 *
 * @example
 * new WorkflowRunner({ ..., integrations: localIntegrations({
 *   bus: () => bus, queues: () => queuesByUrl, snapshots: () => snapshots }) });
 */
export const localIntegrations = (targets: {
  bus: () => LocalEventBus;
  queues: () => ReadonlyMap<string, LocalFifoQueue>;
  snapshots: () => RdsIntegrationSnapshots;
}): Record<string, LocalIntegration> => ({
  [putEventsResource]: putEvents(targets.bus),
  [sendMessageResource]: sendMessage(targets.queues),
  [describeDbSnapshotsResource]: describeDbSnapshots(targets.snapshots),
  [describeDbClusterSnapshotsResource]: describeDbClusterSnapshots(),
  [describeDbInstancesResource]: describeDbInstances(targets.snapshots),
  [deleteDbInstanceResource]: deleteDbInstance(targets.snapshots),
});
