// Use cases of the rds-snapshot workflow: plan a run, start one database's snapshot, copy it, report it, prune.

import { z } from "zod";
import {
  snapshotCreatedDetailSchema,
  snapshotFailedDetailSchema,
  snapshotsPrunedDetailSchema,
} from "../../events/schemas/switchyard.ts";
import type { SwitchyardConfig } from "./config.ts";
import { causeMessage } from "./errors.ts";
import type { Clock, DomainEvent, EventPublisher, SnapshotService } from "./ports.ts";
import type { SnapshotRunInput } from "./snapshot-inputs.ts";
import { checkQuota, planRetention } from "./snapshot-retention.ts";

/** Where a run reports what is not an event: the quota warning. */
export interface SnapshotRunLogger {
  warn(message: string, attributes: Record<string, unknown>): void;
}

export interface SnapshotRunDeps {
  config: Pick<SwitchyardConfig, "snapshots">;
  snapshots: SnapshotService;
  publisher: EventPublisher;
  clock: Clock;
  logger?: SnapshotRunLogger;
}

/** One database of a run, as the Map state iterates over them. */
export interface PlannedSnapshot {
  database: string;
  kind: "instance" | "cluster";
}

export interface SnapshotPlan {
  databases: PlannedSnapshot[];
  count: number;
  /** Why nothing is snapshotted (the quota, a database that is not tagged); null when the run goes ahead. */
  refused: string | null;
  /** The quota warning, when the count reaches `quota.warnAtPercent`. */
  quotaWarning: string | null;
  maxConcurrency: number;
  pollIntervalSeconds: number;
  /** How many times a snapshot is looked at before it counts as timed out (`waitTimeoutMinutes`). */
  maxPolls: number;
  copyTo: { region: string; kmsKeyArn: string | null } | null;
}

/**
 * Step Functions keeps at most 25,000 history events per execution; one poll of one snapshot costs about eight
 * (Wait, Task, Pass, Choice, entered and exited). The plan spaces the polls out so a whole run stays within this.
 */
const historyBudgetForPolls = 20_000;
const eventsPerPoll = 8;
const maxMessageLength = 1024;

const truncate = (text: string): string =>
  text.length <= maxMessageLength ? text : `${text.slice(0, maxMessageLength - 1)}…`;

const reasonOf = (input: Pick<SnapshotRunInput, "reason" | "promotionId">) => ({
  reason: input.reason,
  ...(input.promotionId !== null && { promotionId: input.promotionId }),
});

/**
 * Picks the databases of a run: every database carrying `snapshots.selector`'s tag, or the one the input names (it
 * must carry the tag too: the IAM policy allows snapshots of tagged databases only). Then checks RDS's manual
 * snapshot quota for that many more: past it the run is refused and each database gets a `Snapshot Failed`
 * (`quota-exceeded`); at `warnAtPercent` it warns and goes ahead. The poll interval is stretched when a large run
 * would otherwise outgrow Step Functions' execution history.
 *
 * @example
 * const plan = await planSnapshots(deps, { reason: "scheduled", database: null, promotionId: null, note: null, requestedBy: null });
 */
export const planSnapshots = async (
  deps: SnapshotRunDeps,
  input: SnapshotRunInput,
): Promise<SnapshotPlan> => {
  const { snapshots: settings } = deps.config;
  const { tagKey, tagValue } = settings.selector;
  const tagged = await deps.snapshots.listDatabases(settings.selector);
  const picked = input.database === null ? tagged : tagged.filter((db) => db.identifier === input.database);
  const databases = picked.map((db) => ({ database: db.identifier, kind: db.kind }));

  const pollsPerDatabase = (interval: number) =>
    Math.max(1, Math.ceil((settings.waitTimeoutMinutes * 60) / Math.max(1, interval)));
  // Polls run maxConcurrency at a time but all count toward the one history.
  const budget = Math.floor(historyBudgetForPolls / eventsPerPoll / Math.max(1, databases.length));
  let pollIntervalSeconds = settings.pollIntervalSeconds;
  if (pollsPerDatabase(pollIntervalSeconds) > budget && pollIntervalSeconds > 0) {
    pollIntervalSeconds = Math.ceil((settings.waitTimeoutMinutes * 60) / Math.max(1, budget));
  }
  const plan: SnapshotPlan = {
    databases,
    count: databases.length,
    refused: null,
    quotaWarning: null,
    maxConcurrency: settings.maxConcurrency,
    pollIntervalSeconds,
    maxPolls: pollsPerDatabase(pollIntervalSeconds),
    copyTo: settings.copyTo
      ? { region: settings.copyTo.region, kmsKeyArn: settings.copyTo.kmsKeyArn ?? null }
      : null,
  };

  const refuse = async (message: string, targets: readonly string[]): Promise<SnapshotPlan> => {
    const failedAt = deps.clock.now().toISOString();
    const events: DomainEvent[] = targets.map((database) => ({
      detailType: "Snapshot Failed",
      detail: snapshotFailedDetailSchema.parse({
        dbInstanceIdentifier: database,
        ...reasonOf(input),
        failure: input.database !== null && picked.length === 0 ? "create-failed" : "quota-exceeded",
        message: truncate(message),
        failedAt,
      }),
    }));
    if (events.length > 0) await deps.publisher.publish(events);
    return { ...plan, databases: [], count: 0, refused: message };
  };

  if (input.database !== null && picked.length === 0) {
    const carriers = tagged.map((db) => db.identifier).join(", ") || "none";
    return refuse(
      `database "${input.database}" does not carry the tag ${tagKey}=${tagValue} (databases that do: ${carriers})`,
      [input.database],
    );
  }
  if (databases.length === 0) return plan;

  const quota = checkQuota({
    manualSnapshotCount: (await deps.snapshots.listManualSnapshots()).length,
    creating: databases.length,
    limit: settings.quota.limit,
    warnAtPercent: settings.quota.warnAtPercent,
  });
  if (quota.state === "refuse") {
    return refuse(
      `refused to snapshot: ${quota.message}`,
      databases.map((db) => db.database),
    );
  }
  if (quota.state === "warn") {
    deps.logger?.warn("manual snapshot quota", { message: quota.message });
    return { ...plan, quotaWarning: quota.message };
  }
  return plan;
};

export const plannedSnapshotSchema = z.strictObject({
  database: z.string().min(1),
  kind: z.enum(["instance", "cluster"]),
  reason: z.enum(["scheduled", "manual", "pre-change"]),
  promotionId: z.uuid().nullable(),
  note: z.string().min(1).nullable(),
});

export type CreateRunSnapshotInput = z.infer<typeof plannedSnapshotSchema>;

export interface CreatedRunSnapshot {
  snapshotId: string;
  status: string;
}

/**
 * Starts one database's snapshot, named `switchyard-<db>-<UTC timestamp>-<reason>` and tagged as Switchyard's.
 * Errors pass through by name for the workflow: `ConflictError` (the same second's name is taken) and
 * `TransientError` are retried, anything else fails that database.
 */
export const createRunSnapshot = async (
  deps: Pick<SnapshotRunDeps, "snapshots">,
  input: CreateRunSnapshotInput,
): Promise<CreatedRunSnapshot> => {
  const snapshot = await deps.snapshots.createSnapshot({
    database: input.database,
    ...reasonOf(input),
    ...(input.note !== null && { note: input.note }),
  });
  return { snapshotId: snapshot.id, status: snapshot.status };
};

export const copyRunSnapshotInputSchema = z.strictObject({
  snapshotId: z.string().min(1),
  region: z.string().min(1),
  kmsKeyArn: z.string().min(1).nullable(),
});

/** Starts the disaster-recovery copy of an available snapshot; a repeat returns the copy already there. */
export const copyRunSnapshot = async (
  deps: Pick<SnapshotRunDeps, "snapshots">,
  input: z.infer<typeof copyRunSnapshotInputSchema>,
): Promise<{ region: string; snapshotId: string; status: string }> => {
  const copy = await deps.snapshots.copySnapshot(input.snapshotId, {
    region: input.region,
    ...(input.kmsKeyArn !== null && { kmsKeyArn: input.kmsKeyArn }),
  });
  return { region: copy.region, snapshotId: copy.id, status: copy.status };
};

/** A step error as Step Functions' Catch hands it over. */
export const stepErrorSchema = z.object({ Error: z.string(), Cause: z.string().optional() });

export const finishSnapshotInputSchema = z.strictObject({
  database: z.string().min(1),
  reason: z.enum(["scheduled", "manual", "pre-change"]),
  promotionId: z.uuid().nullable(),
  snapshotId: z.string().min(1).nullable(),
  /** null: the snapshot is available (and copied, when a copy was asked for). */
  failure: z.enum(["create-failed", "timed-out", "copy-failed"]).nullable(),
  /** What the workflow caught, for `create-failed` and `copy-failed`. */
  error: stepErrorSchema.nullable(),
  /** The snapshot's last status, for `create-failed` without an error (RDS reported `failed`). */
  status: z.string().nullable(),
  copy: z.strictObject({ region: z.string(), snapshotId: z.string() }).nullable(),
});

export type FinishSnapshotInput = z.infer<typeof finishSnapshotInputSchema>;

export interface FinishedSnapshot {
  database: string;
  snapshotId: string | null;
  outcome: "created" | "failed";
  message: string;
}

const failureMessage = (input: FinishSnapshotInput, waitTimeoutMinutes: number): string => {
  const subject = input.snapshotId ?? `the snapshot of ${input.database}`;
  if (input.error) {
    const message = causeMessage(input.error.Cause ?? input.error.Error);
    const what = input.failure === "copy-failed" ? `copying ${subject}` : `snapshot of ${input.database}`;
    return truncate(
      `${what} failed: ${message === input.error.Error ? message : `${input.error.Error}: ${message}`}`,
    );
  }
  if (input.failure === "timed-out") {
    return truncate(
      `${subject} was not available within ${waitTimeoutMinutes} min (still ${input.status ?? "creating"})`,
    );
  }
  return truncate(`${subject} is ${input.status ?? "failed"}`);
};

/**
 * Reports one database of a run: `Snapshot Created` when its snapshot is available (with its disaster-recovery
 * copy), `Snapshot Failed` otherwise. The snapshot of a database whose copy failed is still there and usable, so it
 * gets both events.
 */
export const finishSnapshot = async (
  deps: Pick<SnapshotRunDeps, "publisher" | "clock" | "config">,
  input: FinishSnapshotInput,
): Promise<FinishedSnapshot> => {
  const at = deps.clock.now().toISOString();
  const events: DomainEvent[] = [];
  const available = input.failure === null || input.failure === "copy-failed";
  if (available && input.snapshotId !== null) {
    events.push({
      detailType: "Snapshot Created",
      detail: snapshotCreatedDetailSchema.parse({
        snapshotId: input.snapshotId,
        dbInstanceIdentifier: input.database,
        ...reasonOf(input),
        ...(input.copy !== null && { drCopy: input.copy }),
        createdAt: at,
      }),
    });
  }
  let message = `snapshot ${input.snapshotId} of ${input.database} is available`;
  if (input.failure !== null) {
    message = failureMessage(input, deps.config.snapshots.waitTimeoutMinutes);
    events.push({
      detailType: "Snapshot Failed",
      detail: snapshotFailedDetailSchema.parse({
        dbInstanceIdentifier: input.database,
        ...(input.snapshotId !== null && { snapshotId: input.snapshotId }),
        ...reasonOf(input),
        failure: input.failure,
        message,
        failedAt: at,
      }),
    });
  }
  await deps.publisher.publish(events);
  return {
    database: input.database,
    snapshotId: input.snapshotId,
    outcome: input.failure === null ? "created" : "failed",
    message,
  };
};

export const pruneSnapshotsInputSchema = z.strictObject({
  databases: z.array(z.string().min(1)),
});

export interface PrunedDatabase {
  database: string;
  deleted: string[];
  keptForMinimum: string[];
  /** Snapshots retention chose but RDS would not delete now (being copied, say); the next run tries again. */
  notDeleted: { snapshotId: string; message: string }[];
}

/**
 * Retention for the databases of a run: deletes Switchyard's snapshots strictly older than `retentionDays`, never
 * below `minCount` available per database, never automated snapshots nor anyone else's (`planRetention`), and
 * publishes `Snapshots Pruned` per database that lost any. A snapshot RDS refuses to delete right now is left for
 * the next run rather than failing this one.
 */
export const pruneSnapshots = async (
  deps: SnapshotRunDeps,
  input: z.infer<typeof pruneSnapshotsInputSchema>,
): Promise<{ pruned: PrunedDatabase[]; manualSnapshotsInRegion: number }> => {
  const { retentionDays, minCount } = deps.config.snapshots;
  const wanted = new Set(input.databases);
  const manual = await deps.snapshots.listManualSnapshots();
  const plan = planRetention({
    snapshots: manual.filter((s) => wanted.has(s.database)),
    now: deps.clock.now(),
    retentionDays,
    minCount,
  });
  const results = new Map<string, PrunedDatabase>(
    input.databases.map((database) => [
      database,
      { database, deleted: [], keptForMinimum: [], notDeleted: [] },
    ]),
  );
  for (const kept of plan.keep) {
    if (kept.reason.startsWith("minCount floor"))
      results.get(kept.snapshot.database)?.keptForMinimum.push(kept.snapshot.id);
  }
  for (const snapshot of plan.delete) {
    const result = results.get(snapshot.database);
    try {
      await deps.snapshots.deleteSnapshot(snapshot.id);
      result?.deleted.push(snapshot.id);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      result?.notDeleted.push({ snapshotId: snapshot.id, message });
      deps.logger?.warn("snapshot not deleted", { snapshotId: snapshot.id, message });
    }
  }
  const manualSnapshotsInRegion =
    manual.length - [...results.values()].reduce((n, r) => n + r.deleted.length, 0);
  const prunedAt = deps.clock.now().toISOString();
  const events: DomainEvent[] = [...results.values()]
    .filter((result) => result.deleted.length > 0)
    .map((result) => ({
      detailType: "Snapshots Pruned",
      detail: snapshotsPrunedDetailSchema.parse({
        dbInstanceIdentifier: result.database,
        deleted: result.deleted,
        keptForMinimum: result.keptForMinimum,
        retentionDays,
        minCount,
        manualSnapshotsInRegion,
        prunedAt,
      }),
    }));
  if (events.length > 0) await deps.publisher.publish(events);
  return { pruned: [...results.values()], manualSnapshotsInRegion };
};
