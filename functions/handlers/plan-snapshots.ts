// Lambda: the first step of rds-snapshot — which databases, and whether the manual snapshot quota allows them.

import { snapshotRunInputSchema } from "../core/snapshot-inputs.ts";
import { planSnapshots, type SnapshotPlan, type SnapshotRunDeps } from "../core/snapshot-run.ts";
import { snapshotRunDeps } from "../wiring/aws.ts";
import { coldStart, withHandlerStack } from "../wiring/middleware.ts";

export const planSnapshotsInputSchema = snapshotRunInputSchema;

export const makePlanSnapshots =
  (deps: SnapshotRunDeps) =>
  async (input: Parameters<typeof planSnapshots>[1]): Promise<SnapshotPlan> =>
    planSnapshots(deps, input);

export const handler = coldStart(() =>
  withHandlerStack(makePlanSnapshots(snapshotRunDeps()), planSnapshotsInputSchema),
);
