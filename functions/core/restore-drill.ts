// Use cases of the restore-drill workflow: find what to restore, start the restore, query it, report the drill.

import { z } from "zod";
import {
  restoreDrillFailedDetailSchema,
  restoreDrillPassedDetailSchema,
} from "../../events/schemas/switchyard.ts";
import type { SwitchyardConfig } from "./config.ts";
import { drillScratchName } from "./drill-names.ts";
import { causeMessage } from "./errors.ts";
import type { Clock, EventPublisher, SnapshotService } from "./ports.ts";
import type { RestoreDrillInput } from "./snapshot-inputs.ts";
import { stepErrorSchema } from "./snapshot-run.ts";

export interface RestoreDrillDeps {
  config: Pick<SwitchyardConfig, "snapshots">;
  snapshots: Pick<SnapshotService, "listDatabases" | "listSnapshots" | "restoreForDrill" | "runSmokeQuery">;
  publisher: EventPublisher;
  clock: Clock;
}

export interface PlannedDrill {
  database: string;
  /** The newest available Switchyard snapshot; null when there is none, which fails that drill. */
  snapshotId: string | null;
}

export interface DrillPlan {
  drills: PlannedDrill[];
  count: number;
  maxConcurrency: number;
  pollIntervalSeconds: number;
  /** How many times the restored instance is looked at before the drill times out (`drill.timeoutMinutes`). */
  maxPolls: number;
  /** When the run started looking: a drill that finds no snapshot reports this as its start. */
  plannedAt: string;
}

const maxMessageLength = 1024;
const truncate = (text: string): string =>
  text.length <= maxMessageLength ? text : `${text.slice(0, maxMessageLength - 1)}…`;

/**
 * The drills of a run: every database the selector picks, or the one named (tagged or not: a drill only restores
 * what Switchyard already took), each with its newest available Switchyard snapshot.
 *
 * @example
 * const plan = await planRestoreDrills(deps, { database: "checkout-db", requestedBy: null });
 */
export const planRestoreDrills = async (
  deps: RestoreDrillDeps,
  input: RestoreDrillInput,
): Promise<DrillPlan> => {
  const settings = deps.config.snapshots;
  const databases =
    input.database !== null
      ? [input.database]
      : (await deps.snapshots.listDatabases(settings.selector)).map((db) => db.identifier);
  const drills = await Promise.all(
    databases.map(async (database) => {
      const newest = (await deps.snapshots.listSnapshots({ database })).find((s) => s.status === "available");
      return { database, snapshotId: newest?.id ?? null };
    }),
  );
  const pollIntervalSeconds = settings.pollIntervalSeconds;
  return {
    drills,
    count: drills.length,
    maxConcurrency: settings.maxConcurrency,
    pollIntervalSeconds,
    maxPolls: Math.max(1, Math.ceil((settings.drill.timeoutMinutes * 60) / Math.max(1, pollIntervalSeconds))),
    plannedAt: deps.clock.now().toISOString(),
  };
};

export const startRestoreDrillInputSchema = z.strictObject({
  database: z.string().min(1),
  snapshotId: z.string().min(1),
});

/** Starts restoring the snapshot into a throwaway `switchyard-drill-<db>-<time>` target. */
export const startRestoreDrill = async (
  deps: Pick<RestoreDrillDeps, "snapshots" | "clock">,
  input: z.infer<typeof startRestoreDrillInputSchema>,
): Promise<{ target: string; startedAt: string }> => {
  const now = deps.clock.now();
  const { target } = await deps.snapshots.restoreForDrill(
    input.snapshotId,
    drillScratchName(input.database, now),
  );
  return { target, startedAt: now.toISOString() };
};

export const runSmokeQueryInputSchema = z.strictObject({ target: z.string().min(1) });

/** Runs `snapshots.drill.smokeQuery` on the restored target; the first column of the first row is the result. */
export const runDrillSmokeQuery = async (
  deps: Pick<RestoreDrillDeps, "snapshots" | "clock" | "config">,
  input: z.infer<typeof runSmokeQueryInputSchema>,
): Promise<{ rows: number; value: string | null; queriedAt: string }> => {
  const result = await deps.snapshots.runSmokeQuery(input.target, deps.config.snapshots.drill.smokeQuery);
  return { rows: result.rows, value: result.value ?? null, queriedAt: deps.clock.now().toISOString() };
};

export const finishRestoreDrillInputSchema = z.strictObject({
  database: z.string().min(1),
  snapshotId: z.string().min(1).nullable(),
  target: z.string().min(1).nullable(),
  /** When the restore started; null when it never did. */
  startedAt: z.iso.datetime({ offset: true }).nullable(),
  plannedAt: z.iso.datetime({ offset: true }),
  smoke: z
    .strictObject({
      rows: z.number().int().min(0),
      value: z.string().nullable(),
      queriedAt: z.iso.datetime({ offset: true }),
    })
    .nullable(),
  /** null when every step passed; `cleanup` is also reported after a passing query. */
  failedStep: z.enum(["find-snapshot", "restore", "smoke-query", "cleanup"]).nullable(),
  error: stepErrorSchema.nullable(),
  /** The restored instance's last status, for a restore that failed or timed out. */
  status: z.string().nullable(),
});

export type FinishRestoreDrillInput = z.infer<typeof finishRestoreDrillInputSchema>;

const drillFailureMessage = (input: FinishRestoreDrillInput, timeoutMinutes: number): string => {
  if (input.error) {
    const message = causeMessage(input.error.Cause ?? input.error.Error);
    const step = input.failedStep ?? "drill";
    return truncate(
      `${step} failed: ${message === input.error.Error ? message : `${input.error.Error}: ${message}`}`,
    );
  }
  switch (input.failedStep) {
    case "find-snapshot":
      return `no available Switchyard snapshot of ${input.database} to restore`;
    case "restore":
      return input.status === null || input.status === "creating" || input.status === "available"
        ? `${input.target} was not available within ${timeoutMinutes} min (still ${input.status ?? "creating"})`
        : `restoring ${input.snapshotId} into ${input.target} ended ${input.status}`;
    case "smoke-query":
      return "the smoke query returned no row";
    default:
      return "the drill failed";
  }
};

/**
 * Reports one drill: `Restore Drill Passed` with the query's result and the time from the start of the restore to
 * the answer, or `Restore Drill Failed` with the step that failed. A drill whose throwaway instance could not be
 * deleted fails too (`cleanup`): the restore worked, but an instance is left running for someone to remove.
 */
export const finishRestoreDrill = async (
  deps: Pick<RestoreDrillDeps, "publisher" | "clock" | "config">,
  input: FinishRestoreDrillInput,
): Promise<{ database: string; outcome: "passed" | "failed"; message: string }> => {
  const at = deps.clock.now().toISOString();
  const { smokeQuery, timeoutMinutes } = deps.config.snapshots.drill;
  const subject = {
    dbInstanceIdentifier: input.database,
    ...(input.snapshotId !== null && { snapshotId: input.snapshotId }),
    ...(input.target !== null && { drillTarget: input.target }),
    smokeQuery,
    startedAt: input.startedAt ?? input.plannedAt,
  };
  const passed = input.failedStep === null && input.smoke !== null && input.smoke.rows > 0;
  if (passed && input.smoke !== null && input.startedAt !== null) {
    const restoreSeconds = Math.max(
      0,
      (Date.parse(input.smoke.queriedAt) - Date.parse(input.startedAt)) / 1000,
    );
    const result = input.smoke.value ?? "";
    await deps.publisher.publish([
      {
        detailType: "Restore Drill Passed",
        detail: restoreDrillPassedDetailSchema.parse({
          ...subject,
          result: truncate(result),
          restoreSeconds,
          completedAt: at,
        }),
      },
    ]);
    return {
      database: input.database,
      outcome: "passed",
      message: `${input.snapshotId} restored in ${restoreSeconds.toFixed(1)} s; ${smokeQuery} → ${result}`,
    };
  }
  const failedStep = input.failedStep ?? "smoke-query";
  const message = drillFailureMessage({ ...input, failedStep }, timeoutMinutes);
  await deps.publisher.publish([
    {
      detailType: "Restore Drill Failed",
      detail: restoreDrillFailedDetailSchema.parse({ ...subject, failedStep, message, failedAt: at }),
    },
  ]);
  return { database: input.database, outcome: "failed", message };
};
