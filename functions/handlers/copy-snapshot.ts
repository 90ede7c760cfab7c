// Lambda: copies an available snapshot to the disaster-recovery region.

import type { z } from "zod";
import { copyRunSnapshot, copyRunSnapshotInputSchema, type SnapshotRunDeps } from "../core/snapshot-run.ts";
import { snapshotRunDeps } from "../wiring/aws.ts";
import { coldStart, withHandlerStack } from "../wiring/middleware.ts";

export const copySnapshotInputSchema = copyRunSnapshotInputSchema;

export const makeCopySnapshot =
  (deps: Pick<SnapshotRunDeps, "snapshots">) => async (input: z.infer<typeof copySnapshotInputSchema>) =>
    copyRunSnapshot(deps, input);

export const handler = coldStart(() =>
  withHandlerStack(makeCopySnapshot(snapshotRunDeps()), copySnapshotInputSchema),
);
