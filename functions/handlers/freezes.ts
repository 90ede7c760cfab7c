// Lambda behind /freezes: set, list and lift the freezes that hold a service's gated promotions.

import { z } from "zod";
import type { SwitchyardConfig } from "../core/config.ts";
import { NotFoundError, ValidationError } from "../core/errors.ts";
import { activeFreezes } from "../core/gate-promotion.ts";
import type { Clock, Freeze, FreezeStore } from "../core/ports.ts";
import { awsConfig, clock, freezeStore } from "../wiring/aws.ts";
import { type HttpRequestFor, type HttpResult, requestedBy, withHttpStack } from "../wiring/http.ts";
import { coldStart } from "../wiring/middleware.ts";

/** The id of the freeze PUT /freezes/{service} sets; incidents set freezes under their own ids. */
export const manualFreezeId = "manual";

export const freezesRequest = {
  path: z.strictObject({ service: z.string().min(1).max(63).optional() }),
  query: z.strictObject({ id: z.string().min(1).max(128).optional() }),
} as const;

const putBodySchema = z.strictObject({
  reason: z.string().trim().min(1, "expected a reason").max(1024, "expected at most 1024 characters"),
  until: z.iso.datetime({ offset: true, error: "expected an ISO 8601 time with an offset" }).optional(),
});

export interface FreezesDeps {
  config: Pick<SwitchyardConfig, "services">;
  freezes: FreezeStore;
  clock: Clock;
  /** Trust `x-switchyard-user` to name the caller: only where no authorizer runs (the local runtime). */
  trustUserHeader?: boolean;
}

type FreezesRequest = HttpRequestFor<typeof freezesRequest>;

const withActive = (freezes: readonly Freeze[], now: Date) => {
  const active = new Set(activeFreezes(freezes, now));
  return freezes.map((freeze) => ({ ...freeze, active: active.has(freeze) }));
};

const parseBody = (request: FreezesRequest): z.infer<typeof putBodySchema> => {
  const text = request.rawBody.toString("utf8");
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ValidationError(
      'Request body is not valid JSON; expected {"reason": "...", "until"?: "<ISO time>"}',
    );
  }
  const parsed = putBodySchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.length ? `body.${issue.path.join(".")}` : "body";
    throw new ValidationError(`Invalid request ${where}: ${issue?.message}`);
  }
  return parsed.data;
};

/**
 * GET /freezes → every freeze with whether it is in force; PUT /freezes/{service} `{ reason, until? }` → sets the
 * manual freeze (gated promotions of the service wait or fail, as `promotion.freeze` says); DELETE
 * /freezes/{service}[?id=] → lifts the service's freezes (all of them, or one), `{ lifted: n }`.
 *
 * @example
 * const handler = withHttpStack(makeFreezes({ config, freezes, clock }), freezesRequest);
 */
export const makeFreezes =
  (deps: FreezesDeps) =>
  async (request: FreezesRequest): Promise<HttpResult> => {
    const now = deps.clock.now();
    if (request.routeKey === "GET /freezes") {
      return { statusCode: 200, body: withActive(await deps.freezes.list(), now) };
    }
    const service = request.path.service ?? "";
    if (!deps.config.services.some((s) => s.name === service)) {
      throw new NotFoundError(
        `service "${service}" is not in switchyard.yaml; expected one of: ${deps.config.services.map((s) => s.name).join(", ")}`,
      );
    }
    if (request.routeKey === "DELETE /freezes/{service}") {
      const lifted = await deps.freezes.remove(service, request.query.id);
      return { statusCode: 200, body: { service, lifted } };
    }
    const body = parseBody(request);
    if (body.until !== undefined && Date.parse(body.until) <= now.getTime()) {
      throw new ValidationError(`Invalid request body.until: ${body.until} is not in the future`);
    }
    const freeze: Freeze = {
      service,
      id: manualFreezeId,
      reason: body.reason,
      setBy: requestedBy(request, { trustUserHeader: deps.trustUserHeader ?? false }),
      setAt: now.toISOString(),
      ...(body.until !== undefined ? { until: new Date(body.until).toISOString() } : {}),
      source: "api",
    };
    await deps.freezes.put(freeze);
    return { statusCode: 200, body: { ...freeze, active: true } };
  };

export const handler = coldStart(() =>
  withHttpStack(makeFreezes({ config: awsConfig(), freezes: freezeStore(), clock }), freezesRequest),
);
