// Lambda: a promotion's last step — record the outcome and publish Promotion Succeeded or Promotion Failed.

import { z } from "zod";
import { type FinishPromotionDeps, finishPromotion } from "../core/finish-promotion.ts";
import { finishPromotionDeps } from "../wiring/aws.ts";
import { coldStart, withHandlerStack } from "../wiring/middleware.ts";

export const finishPromotionInputSchema = z.object({
  promotionId: z.uuid(),
  outcome: z.enum(["succeeded", "failed", "errored", "superseded"]),
  reason: z.string().min(1),
  failedStep: z.enum(["commit", "sync", "health-check"]).optional(),
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
      ...(input.error
        ? { error: { name: input.error.Error, message: input.error.Cause ?? input.error.Error } }
        : {}),
    });

export const handler = coldStart(() =>
  withHandlerStack(makeFinishPromotion(finishPromotionDeps()), finishPromotionInputSchema),
);
