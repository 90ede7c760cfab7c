// Lambda: starts one database's snapshot in an rds-snapshot run.

import {
  type CreatedRunSnapshot,
  type CreateRunSnapshotInput,
  createRunSnapshot,
  plannedSnapshotSchema,
  type SnapshotRunDeps,
} from "../core/snapshot-run.ts";
import { snapshotRunDeps } from "../wiring/aws.ts";
import { coldStart, withHandlerStack } from "../wiring/middleware.ts";

export const createSnapshotInputSchema = plannedSnapshotSchema;

export const makeCreateSnapshot =
  (deps: Pick<SnapshotRunDeps, "snapshots">) =>
  async (input: CreateRunSnapshotInput): Promise<CreatedRunSnapshot> =>
    createRunSnapshot(deps, input);

export const handler = coldStart(() =>
  withHandlerStack(makeCreateSnapshot(snapshotRunDeps()), createSnapshotInputSchema),
);
