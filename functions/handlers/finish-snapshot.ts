// Lambda: reports one database of an rds-snapshot run (Snapshot Created / Snapshot Failed).

import {
  type FinishedSnapshot,
  type FinishSnapshotInput,
  finishSnapshot,
  finishSnapshotInputSchema,
  type SnapshotRunDeps,
} from "../core/snapshot-run.ts";
import { snapshotRunDeps } from "../wiring/aws.ts";
import { coldStart, withHandlerStack } from "../wiring/middleware.ts";

export { finishSnapshotInputSchema };

export const makeFinishSnapshot =
  (deps: Pick<SnapshotRunDeps, "publisher" | "clock" | "config">) =>
  async (input: FinishSnapshotInput): Promise<FinishedSnapshot> =>
    finishSnapshot(deps, input);

export const handler = coldStart(() =>
  withHandlerStack(makeFinishSnapshot(snapshotRunDeps()), finishSnapshotInputSchema),
);
