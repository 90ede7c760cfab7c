// Lambda (rule target): a promotion succeeded — start the same image's promotion to the next environment.

import type { z } from "zod";
import { promotionSucceededEventSchema } from "../../events/schemas/switchyard.ts";
import {
  type PromoteNextEnvironmentDeps,
  type PromoteNextResult,
  promoteNextEnvironment,
} from "../core/promote-next-environment.ts";
import { awsConfig, promotionStore, workflowStarter } from "../wiring/aws.ts";
import { coldStart, withHandlerStack } from "../wiring/middleware.ts";

/** The `Promotion Succeeded` event as the rule delivers it, validated against the catalog's schema. */
export const promoteNextEnvironmentEventSchema = promotionSucceededEventSchema;

export const makePromoteNextEnvironment =
  (deps: PromoteNextEnvironmentDeps) =>
  async (event: z.infer<typeof promoteNextEnvironmentEventSchema>): Promise<PromoteNextResult> =>
    promoteNextEnvironment(deps, event);

export const handler = coldStart(() =>
  withHandlerStack(
    makePromoteNextEnvironment({
      config: awsConfig(),
      promotions: promotionStore(),
      workflows: workflowStarter(),
    }),
    promoteNextEnvironmentEventSchema,
  ),
);
