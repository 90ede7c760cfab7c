// Lambda: a promotion's last step — record the outcome and publish Promotion Succeeded or Promotion Failed.

import { z } from "zod";
import { type FinishPromotionDeps, finishPromotion } from "../core/finish-promotion.ts";
import { finishPromotionDeps } from "../wiring/aws.ts";
import { coldStart, withHandlerStack } from "../wiring/middleware.ts";

export const finishPromotionInputSchema = z.object({
  promotionId: z.uuid(),
  outcome: z.enum(["succeeded", "failed", "errored", "superseded", "rolled-back"]),
  reason: z.string().min(1),
  failedStep: z
    .enum(["freeze", "snapshot", "approval", "commit", "sync", "health-check", "rollback"])
    .optional(),
  revertRevision: z
    .string()
    .regex(/^[0-9a-f]{40}$/, "expected a git commit SHA")
    .optional(),
  /** For rolled-back: whether the revert became healthy; recorded in the reason. */
  rollbackHealthy: z.boolean().optional(),
  /** A caught Step Functions error ({Error, Cause}), when the step failed on one. */
  error: z.object({ Error: z.string(), Cause: z.string().optional() }).nullable().optional(),
});

export const makeFinishPromotion =
  (deps: FinishPromotionDeps) => async (input: z.infer<typeof finishPromotionInputSchema>) =>
    finishPromotion(deps, {
      promotionId: input.promotionId,
      outcome: input.outcome,
      reason: input.reason,
      ...(input.failedStep ? { failedStep: input.failedStep } : {}),
      ...(input.revertRevision ? { revertRevision: input.revertRevision } : {}),
      ...(input.error
        ? { error: { name: input.error.Error, message: input.error.Cause ?? input.error.Error } }
        : {}),
    });

export const handler = coldStart(() =>
  withHandlerStack(makeFinishPromotion(finishPromotionDeps()), finishPromotionInputSchema),
);
