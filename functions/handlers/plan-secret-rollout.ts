// Lambda: plans a rotated secret's rollout — its new version and, from switchyard.yaml, the workloads that use it.

import { z } from "zod";
import {
  type PlanSecretRolloutDeps,
  planSecretRollout,
  type SecretRolloutPlan,
} from "../core/secret-rollout.ts";
import { planSecretRolloutDeps } from "../wiring/aws.ts";
import { coldStart, withHandlerStack } from "../wiring/middleware.ts";

export const planSecretRolloutInputSchema = z.object({
  /** The secret's name or ARN. */
  secretId: z.string().min(1).max(2048),
});

export const makePlanSecretRollout =
  (deps: PlanSecretRolloutDeps) =>
  async (input: z.infer<typeof planSecretRolloutInputSchema>): Promise<SecretRolloutPlan> =>
    planSecretRollout(deps, input);

export const handler = coldStart(() =>
  withHandlerStack(makePlanSecretRollout(planSecretRolloutDeps()), planSecretRolloutInputSchema),
);
