// Use case: a promotion succeeded — carry the same image on to the next environment of switchyard.yaml.

import type { WorkflowName } from "../../workflows/registry.ts";
import type { SwitchyardConfig } from "./config.ts";
import { nameBasedUuid } from "./ids.ts";
import type { PromotionStore, WorkflowStarter } from "./ports.ts";
import type { ProductionSyncInput, PromoteImageInput } from "./promotion-input.ts";

export interface PromoteNextEnvironmentDeps {
  config: Pick<SwitchyardConfig, "environments" | "services">;
  promotions: Pick<PromotionStore, "getPromotion">;
  workflows: WorkflowStarter;
}

/** The `Promotion Succeeded` event as this step reads it. */
export interface PromotionSucceededEvent {
  id: string;
  detail: {
    promotionId: string;
    service: string;
    environment: string;
    repository: string;
    tag?: string;
    digest: string;
  };
}

export type PromoteNextResult =
  | { started: true; workflow: WorkflowName; environment: string; promotionId: string; executionArn: string }
  | { started: false; reason: string };

/**
 * The environment after `environment` in switchyard.yaml's order, if any.
 *
 * @example nextEnvironment(config, "staging")?.name // "production"
 */
export const nextEnvironment = (
  config: Pick<SwitchyardConfig, "environments">,
  environment: string,
): SwitchyardConfig["environments"][number] | undefined => {
  const index = config.environments.findIndex((e) => e.name === environment);
  return index < 0 ? undefined : config.environments[index + 1];
};

/**
 * Starts the promotion of the same image (by digest) to the next environment: `production-sync` when that one has an
 * `approval:` gate, `promote-image` otherwise. The new promotion's id and execution name derive from the one that
 * succeeded, so a redelivered event starts nothing twice. The person who asked for the first promotion stays its
 * requester, so they cannot approve it further on (four eyes).
 *
 * @example
 * await promoteNextEnvironment(deps, event); // staging succeeded → production-sync for production
 */
export const promoteNextEnvironment = async (
  deps: PromoteNextEnvironmentDeps,
  event: PromotionSucceededEvent,
): Promise<PromoteNextResult> => {
  const { detail } = event;
  const next = nextEnvironment(deps.config, detail.environment);
  if (!next) return { started: false, reason: `${detail.environment} is the last environment` };
  if (!deps.config.services.some((s) => s.name === detail.service)) {
    return { started: false, reason: `service "${detail.service}" is no longer in switchyard.yaml` };
  }
  const source = await deps.promotions.getPromotion(detail.promotionId);
  const promotionId = nameBasedUuid(`${detail.promotionId}/${next.name}`);
  const image = {
    repository: detail.repository,
    tag: detail.tag ?? null,
    digest: detail.digest,
    pushedAt: source?.image.pushedAt ?? new Date(0).toISOString(),
  };
  const trigger = {
    kind: "promotion" as const,
    eventId: event.id,
    ...(source?.trigger.requestedBy ? { requestedBy: source.trigger.requestedBy } : {}),
  };
  if (next.approval !== "none") {
    const input: ProductionSyncInput = {
      promotionId,
      service: detail.service,
      environment: next.name,
      image,
      trigger,
    };
    const { executionArn } = await deps.workflows.start("production-sync", input, promotionId);
    return { started: true, workflow: "production-sync", environment: next.name, promotionId, executionArn };
  }
  const input: PromoteImageInput = {
    promotionId,
    trigger,
    environment: next.name,
    services: [detail.service],
    image,
  };
  const { executionArn } = await deps.workflows.start("promote-image", input, promotionId);
  return { started: true, workflow: "promote-image", environment: next.name, promotionId, executionArn };
};
