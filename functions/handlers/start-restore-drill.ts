// Lambda: starts restoring a snapshot into a throwaway drill target.

import type { z } from "zod";
import {
  type RestoreDrillDeps,
  startRestoreDrill,
  startRestoreDrillInputSchema,
} from "../core/restore-drill.ts";
import { restoreDrillDeps } from "../wiring/aws.ts";
import { coldStart, withHandlerStack } from "../wiring/middleware.ts";

export { startRestoreDrillInputSchema };

export const makeStartRestoreDrill =
  (deps: Pick<RestoreDrillDeps, "snapshots" | "clock">) =>
  async (input: z.infer<typeof startRestoreDrillInputSchema>) =>
    startRestoreDrill(deps, input);

export const handler = coldStart(() =>
  withHandlerStack(makeStartRestoreDrill(restoreDrillDeps()), startRestoreDrillInputSchema),
);
