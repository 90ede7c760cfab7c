// Lambda: a secret rollout's last step — publish Secret Rotated, or Secret Rollout Failed naming where it stopped.

import { z } from "zod";
import { rotationStrategySchema, secretRolloutStepSchema } from "../../events/schemas/switchyard.ts";
import {
  type FinishSecretRolloutDeps,
  type FinishSecretRolloutResult,
  finishSecretRollout,
} from "../core/secret-rollout.ts";
import { finishSecretRolloutDeps } from "../wiring/aws.ts";
import { coldStart, withHandlerStack } from "../wiring/middleware.ts";

/** The plan-secret-rollout step's output, as the workflow carries it. */
const planSchema = z.object({
  secretName: z.string().min(1),
  versionId: z.string().min(1),
  previousVersionId: z.string().min(1).nullable(),
  strategy: rotationStrategySchema,
  activeUser: z.string().min(1).nullable(),
  consumers: z
    .array(
      z.object({
        namespace: z.string().min(1),
        externalSecret: z.string().min(1),
        deployments: z.array(z.string().min(1)).min(1),
        service: z.string().min(1).nullable(),
      }),
    )
    .min(1),
});

const failureSchema = z
  .object({
    step: secretRolloutStepSchema,
    consumerIndex: z.number().int().min(0),
    deploymentIndex: z.number().int().min(0).nullable(),
    /** The step's own reason, when it reported one (timed-out, frozen, failed). */
    reason: z.string().min(1).optional(),
    /** A caught Step Functions error ({Error, Cause}), when the step failed on one. */
    error: z.object({ Error: z.string(), Cause: z.string().optional() }).optional(),
  })
  .refine((f) => f.reason !== undefined || f.error !== undefined, "expected a reason or an error");

export const finishSecretRolloutInputSchema = z.discriminatedUnion("outcome", [
  z.object({
    outcome: z.literal("succeeded"),
    plan: planSchema,
    rotatedAt: z.iso.datetime({ offset: true }),
  }),
  z.object({ outcome: z.literal("failed"), plan: planSchema, failure: failureSchema }),
]);

export const makeFinishSecretRollout =
  (deps: FinishSecretRolloutDeps) =>
  async (input: z.infer<typeof finishSecretRolloutInputSchema>): Promise<FinishSecretRolloutResult> => {
    if (input.outcome === "succeeded") return finishSecretRollout(deps, input);
    const { error, ...failure } = input.failure;
    return finishSecretRollout(deps, {
      outcome: "failed",
      plan: input.plan,
      failure: {
        ...failure,
        ...(error && { error: { name: error.Error, message: error.Cause ?? error.Error } }),
      },
    });
  };

export const handler = coldStart(() =>
  withHandlerStack(makeFinishSecretRollout(finishSecretRolloutDeps()), finishSecretRolloutInputSchema),
);
