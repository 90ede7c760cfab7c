// Lambda: a gated promotion's freeze check — go on, wait for the thaw, or stop.

import { z } from "zod";
import { type GatePromotionDeps, type GateResult, gatePromotion } from "../core/gate-promotion.ts";
import { awsConfig, clock, freezeStore, promotionStore } from "../wiring/aws.ts";
import { coldStart, withHandlerStack } from "../wiring/middleware.ts";

export const gatePromotionInputSchema = z.object({
  promotionId: z.uuid(),
  service: z.string().min(1),
  environment: z.string().min(1),
  deadline: z.iso.datetime({ offset: true }).nullable(),
});

export const makeGatePromotion =
  (deps: GatePromotionDeps) =>
  async (input: z.infer<typeof gatePromotionInputSchema>): Promise<GateResult> =>
    gatePromotion(deps, input);

export const handler = coldStart(() =>
  withHandlerStack(
    makeGatePromotion({ config: awsConfig(), freezes: freezeStore(), store: promotionStore(), clock }),
    gatePromotionInputSchema,
  ),
);
