// Lambda behind POST /promotions: starts the promote-image workflow by hand for one service and environment.

import { z } from "zod";
import type { WorkflowName } from "../../workflows/registry.ts";
import type { SwitchyardConfig } from "../core/config.ts";
import { ValidationError } from "../core/errors.ts";
import type { Clock, IdGenerator, WorkflowStarter } from "../core/ports.ts";
import type { ProductionSyncInput, PromoteImageInput } from "../core/promotion-input.ts";
import { awsConfig, clock, ids, workflowStarter } from "../wiring/aws.ts";
import { type HttpRequestFor, type HttpResult, requestedBy, withHttpStack } from "../wiring/http.ts";
import { coldStart } from "../wiring/middleware.ts";

/** The workflow a promotion to an environment without an approval gate runs. */
export const promoteImageWorkflow: WorkflowName = "promote-image";
/** The workflow a promotion to a gated environment (`approval:` in switchyard.yaml) runs. */
export const productionSyncWorkflow: WorkflowName = "production-sync";

/** A Docker tag: letters, digits, `_`, `.`, `-`, not starting with `.` or `-`, at most 128 characters. */
const dockerTagPattern = /^\w[\w.-]{0,127}$/;
const digestPattern = /^sha256:[0-9a-f]{64}$/;

/** The parts of POST /promotions the stack validates before the handler runs. */
export const startPromotionRequest = {
  body: z
    .strictObject({
      service: z.string().min(1, "expected a service name"),
      environment: z.string().min(1, "expected an environment name"),
      tag: z
        .string()
        .regex(dockerTagPattern, "expected a Docker tag (letters, digits, '_', '.', '-'; at most 128)")
        .optional(),
      digest: z
        .string()
        .regex(digestPattern, "expected sha256: followed by 64 lowercase hex digits")
        .optional(),
    })
    .refine((body) => body.tag !== undefined || body.digest !== undefined, {
      message: "expected a tag, a digest, or both",
    }),
} as const;

export type StartPromotionRequest = HttpRequestFor<typeof startPromotionRequest>;

/** What POST /promotions answers (202). */
export interface StartPromotionAnswer {
  promotionId: string;
  executionArn: string;
  status: "Pending";
}

export interface StartPromotionDeps {
  config: Pick<SwitchyardConfig, "services" | "environments">;
  workflows: WorkflowStarter;
  clock: Clock;
  /** Promotion ids: UUIDs, as the workflow's input contract requires. */
  ids: IdGenerator;
  /** Trust `x-switchyard-user` to name the caller: only where no authorizer runs (the local runtime). */
  trustUserHeader?: boolean;
}

const oneOf = (what: string, value: string, allowed: readonly string[]): string | undefined =>
  allowed.includes(value)
    ? undefined
    : `${what} "${value}" is not in switchyard.yaml; expected one of: ${allowed.join(", ")}`;

/** The service's repository, once service and environment are known to the configuration. */
const repositoryOf = (config: StartPromotionDeps["config"], service: string, environment: string): string => {
  const serviceNames = config.services.map((s) => s.name);
  const environmentNames = config.environments.map((e) => e.name);
  const problems = [
    oneOf("service", service, serviceNames),
    oneOf("environment", environment, environmentNames),
  ].filter((problem): problem is string => problem !== undefined);
  const repository = config.services.find((s) => s.name === service)?.repository;
  if (problems.length > 0 || repository === undefined) throw new ValidationError(problems.join("; "));
  return repository;
};

/**
 * POST /promotions `{ service, environment, tag?, digest? }`: starts `promote-image` for that one service and
 * environment, with the promotion id as execution name, and answers 202 `{ promotionId, executionArn, status }`
 * with `Location: /promotions/<id>`. The workflow records the promotion, so GET /promotions/<id> finds it once the
 * execution's first step has run.
 *
 * @example
 * const handler = withHttpStack(makeStartPromotion({ config, workflows, clock, ids }), startPromotionRequest);
 */
export const makeStartPromotion =
  (deps: StartPromotionDeps) =>
  async (request: StartPromotionRequest): Promise<HttpResult<StartPromotionAnswer>> => {
    const { service, environment, tag, digest } = request.body;
    const repository = repositoryOf(deps.config, service, environment);
    const promotionId = deps.ids.next();
    const gated = deps.config.environments.find((e) => e.name === environment)?.approval !== "none";
    const trigger = {
      kind: "api" as const,
      // The request is the triggering event; domain events carry event ids as UUIDs, so it is named by the promotion.
      eventId: promotionId,
      requestedBy: requestedBy(request, { trustUserHeader: deps.trustUserHeader ?? false }),
    };
    const image = {
      repository,
      tag: tag ?? null,
      digest: digest ?? null,
      pushedAt: deps.clock.now().toISOString(),
    };
    if (gated) {
      const input: ProductionSyncInput = { promotionId, service, environment, image, trigger };
      const { executionArn } = await deps.workflows.start(productionSyncWorkflow, input, promotionId);
      return accepted(promotionId, executionArn);
    }
    const input: PromoteImageInput = { promotionId, trigger, environment, services: [service], image };
    const { executionArn } = await deps.workflows.start(promoteImageWorkflow, input, promotionId);
    return accepted(promotionId, executionArn);
  };

const accepted = (promotionId: string, executionArn: string): HttpResult<StartPromotionAnswer> => ({
  statusCode: 202,
  headers: { location: `/promotions/${encodeURIComponent(promotionId)}` },
  body: { promotionId, executionArn, status: "Pending" },
});

export const handler = coldStart(() =>
  withHttpStack(
    makeStartPromotion({ config: awsConfig(), workflows: workflowStarter(), clock, ids }),
    startPromotionRequest,
  ),
);
