// Lambda: a promotion failed its health gate — quarantine the digest and revert its commit with a new commit.

import { z } from "zod";
import { type RevertPromotionDeps, revertPromotion } from "../core/revert-promotion.ts";
import { awsConfig, clock, gitopsRepository, promotionStore } from "../wiring/aws.ts";
import { coldStart, withHandlerStack } from "../wiring/middleware.ts";

export const revertPromotionInputSchema = z.object({
  promotionId: z.uuid(),
  reason: z.string().min(1),
});

export const makeRevertPromotion =
  (deps: RevertPromotionDeps) => async (input: z.infer<typeof revertPromotionInputSchema>) =>
    revertPromotion(deps, input);

export const handler = coldStart(() =>
  withHandlerStack(
    makeRevertPromotion({ config: awsConfig(), store: promotionStore(), gitops: gitopsRepository(), clock }),
    revertPromotionInputSchema,
  ),
);
