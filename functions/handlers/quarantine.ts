// Lambda behind /quarantine: digests rollbacks took out of automatic promotion, and lifting one.

import { z } from "zod";
import { NotFoundError } from "../core/errors.ts";
import type { PromotionStore } from "../core/ports.ts";
import { promotionStore } from "../wiring/aws.ts";
import { type HttpRequestFor, type HttpResult, withHttpStack } from "../wiring/http.ts";
import { coldStart } from "../wiring/middleware.ts";

export const quarantineRequest = {
  path: z.strictObject({
    service: z.string().min(1).max(63).optional(),
    digest: z
      .string()
      .regex(/^sha256:[0-9a-f]{64}$/, "expected sha256: followed by 64 lowercase hex digits")
      .optional(),
  }),
} as const;

export interface QuarantineDeps {
  promotions: Pick<PromotionStore, "listQuarantine" | "clearQuarantine">;
}

/**
 * GET /quarantine → every quarantined digest with the rollback's reason; DELETE /quarantine/{service}/{digest} → lifts
 * it (200), so the next push or promotion of the digest is decided by the policy again; 404 when it is not quarantined.
 *
 * @example
 * const handler = withHttpStack(makeQuarantine({ promotions }), quarantineRequest);
 */
export const makeQuarantine =
  (deps: QuarantineDeps) =>
  async (request: HttpRequestFor<typeof quarantineRequest>): Promise<HttpResult> => {
    const { service, digest } = request.path;
    if (service === undefined || digest === undefined) {
      return { statusCode: 200, body: await deps.promotions.listQuarantine() };
    }
    if (!(await deps.promotions.clearQuarantine(service, digest))) {
      throw new NotFoundError(`${digest} is not quarantined for ${service}`);
    }
    return { statusCode: 200, body: { service, digest, cleared: true } };
  };

export const handler = coldStart(() =>
  withHttpStack(makeQuarantine({ promotions: promotionStore() }), quarantineRequest),
);
