// Lambda: reports one restore drill (Restore Drill Passed / Restore Drill Failed).

import {
  type FinishRestoreDrillInput,
  finishRestoreDrill,
  finishRestoreDrillInputSchema,
  type RestoreDrillDeps,
} from "../core/restore-drill.ts";
import { restoreDrillDeps } from "../wiring/aws.ts";
import { coldStart, withHandlerStack } from "../wiring/middleware.ts";

export { finishRestoreDrillInputSchema };

export const makeFinishRestoreDrill =
  (deps: Pick<RestoreDrillDeps, "publisher" | "clock" | "config">) =>
  async (input: FinishRestoreDrillInput) =>
    finishRestoreDrill(deps, input);

export const handler = coldStart(() =>
  withHandlerStack(makeFinishRestoreDrill(restoreDrillDeps()), finishRestoreDrillInputSchema),
);
