// Lambda: runs the configured smoke query on a restored drill target.

import type { z } from "zod";
import {
  type RestoreDrillDeps,
  runDrillSmokeQuery,
  runSmokeQueryInputSchema,
} from "../core/restore-drill.ts";
import { restoreDrillDeps } from "../wiring/aws.ts";
import { coldStart, withHandlerStack } from "../wiring/middleware.ts";

export { runSmokeQueryInputSchema };

export const makeRunSmokeQuery =
  (deps: Pick<RestoreDrillDeps, "snapshots" | "clock" | "config">) =>
  async (input: z.infer<typeof runSmokeQueryInputSchema>) =>
    runDrillSmokeQuery(deps, input);

export const handler = coldStart(() =>
  withHandlerStack(makeRunSmokeQuery(restoreDrillDeps()), runSmokeQueryInputSchema),
);
