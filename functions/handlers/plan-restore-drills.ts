// Lambda: the first step of restore-drill — each database's newest available Switchyard snapshot.

import { type DrillPlan, planRestoreDrills, type RestoreDrillDeps } from "../core/restore-drill.ts";
import { type RestoreDrillInput, restoreDrillInputSchema } from "../core/snapshot-inputs.ts";
import { restoreDrillDeps } from "../wiring/aws.ts";
import { coldStart, withHandlerStack } from "../wiring/middleware.ts";

export const planRestoreDrillsInputSchema = restoreDrillInputSchema;

export const makePlanRestoreDrills =
  (deps: RestoreDrillDeps) =>
  async (input: RestoreDrillInput): Promise<DrillPlan> =>
    planRestoreDrills(deps, input);

export const handler = coldStart(() =>
  withHandlerStack(makePlanRestoreDrills(restoreDrillDeps()), planRestoreDrillsInputSchema),
);
