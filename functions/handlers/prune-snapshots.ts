// Lambda: applies retention to the databases of an rds-snapshot run.

import type { z } from "zod";
import { pruneSnapshots, pruneSnapshotsInputSchema, type SnapshotRunDeps } from "../core/snapshot-run.ts";
import { snapshotRunDeps } from "../wiring/aws.ts";
import { coldStart, withHandlerStack } from "../wiring/middleware.ts";

export { pruneSnapshotsInputSchema };

export const makePruneSnapshots =
  (deps: SnapshotRunDeps) => async (input: z.infer<typeof pruneSnapshotsInputSchema>) =>
    pruneSnapshots(deps, input);

export const handler = coldStart(() =>
  withHandlerStack(makePruneSnapshots(snapshotRunDeps()), pruneSnapshotsInputSchema),
);
