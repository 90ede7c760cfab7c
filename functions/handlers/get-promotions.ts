// Lambda behind GET /promotions and GET /promotions/{id}: promotions and the reasons for their decisions.

import { z } from "zod";
import { NotFoundError } from "../core/errors.ts";
import type { PromotionRecord, PromotionStore } from "../core/ports.ts";
import { promotionStore } from "../wiring/aws.ts";
import { type HttpRequestFor, type HttpResult, withHttpStack } from "../wiring/http.ts";
import { coldStart } from "../wiring/middleware.ts";

export const maxPromotionListLimit = 100;
export const defaultPromotionListLimit = 20;
/** Longer than any id Switchyard mints (UUIDs), short enough that an echoed id stays readable. */
const maxPromotionIdLength = 128;
/** Service and environment names are DNS labels (switchyard.yaml's schema). */
const namePattern = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

const limitMessage = `expected a whole number from 1 to ${maxPromotionListLimit}`;

/** The parts of both routes the stack validates before the handler runs. */
export const getPromotionsRequest = {
  query: z.strictObject({
    // Not checked against switchyard.yaml: promotions of a service since removed stay listable.
    service: z.string().regex(namePattern, "expected a service name").optional(),
    environment: z.string().regex(namePattern, "expected an environment name").optional(),
    limit: z
      .string()
      .regex(/^\d+$/, limitMessage)
      .transform(Number)
      .pipe(z.number().int().min(1, limitMessage).max(maxPromotionListLimit, limitMessage))
      .optional(),
  }),
  path: z.strictObject({
    id: z.string().min(1).max(maxPromotionIdLength, `expected a promotion id`).optional(),
  }),
} as const;

export type GetPromotionsRequest = HttpRequestFor<typeof getPromotionsRequest>;

export interface GetPromotionsDeps {
  promotions: Pick<PromotionStore, "getPromotion" | "listPromotions">;
}

/**
 * GET /promotions?service=&environment=&limit= → 200 `{ promotions: [...] }`, newest first (limit 1–100,
 * default 20); GET /promotions/{id} → 200 with the promotion and its `reasons`, or 404.
 *
 * @example
 * const handler = withHttpStack(makeGetPromotions({ promotions: store }), getPromotionsRequest);
 */
export const makeGetPromotions =
  (deps: GetPromotionsDeps) =>
  async (
    request: GetPromotionsRequest,
  ): Promise<HttpResult<PromotionRecord | { promotions: PromotionRecord[] }>> => {
    const { id } = request.path;
    if (id !== undefined) {
      const promotion = await deps.promotions.getPromotion(id);
      if (!promotion) throw new NotFoundError(`No promotion with id ${id}`);
      return { statusCode: 200, body: promotion };
    }
    const { service, environment, limit } = request.query;
    const promotions = await deps.promotions.listPromotions({
      ...(service !== undefined && { service }),
      ...(environment !== undefined && { environment }),
      limit: limit ?? defaultPromotionListLimit,
    });
    return { statusCode: 200, body: { promotions } };
  };

export const handler = coldStart(() =>
  withHttpStack(makeGetPromotions({ promotions: promotionStore() }), getPromotionsRequest),
);
