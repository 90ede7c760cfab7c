// Lambda: a promotion's Decide step — record it and apply the service's tag policy.

import { z } from "zod";
import { type PlanPromotionDeps, type PromotionPlan, planPromotion } from "../core/plan-promotion.ts";
import { imageInputSchema, triggerSchema } from "../core/promotion-input.ts";
import { planPromotionDeps } from "../wiring/aws.ts";
import { coldStart, withHandlerStack } from "../wiring/middleware.ts";

export const decidePromotionInputSchema = z.object({
  promotionId: z.uuid().nullable(),
  executionName: z.string().min(1),
  service: z.string().min(1),
  environment: z.string().min(1),
  image: imageInputSchema,
  trigger: triggerSchema,
});

export const makeDecidePromotion =
  (deps: PlanPromotionDeps) =>
  async (input: z.infer<typeof decidePromotionInputSchema>): Promise<PromotionPlan> =>
    planPromotion(deps, input);

export const handler = coldStart(() =>
  withHandlerStack(makeDecidePromotion(planPromotionDeps()), decidePromotionInputSchema),
);
