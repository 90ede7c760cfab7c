// Use case: a promotion's last step — record the outcome and publish Promotion Succeeded or Promotion Failed.

import {
  promotionFailedDetailSchema,
  promotionRolledBackDetailSchema,
  promotionSucceededDetailSchema,
} from "../../events/schemas/switchyard.ts";
import { NotFoundError } from "./errors.ts";
import type { ApprovalStore, Clock, EventPublisher, PromotionRecord, PromotionStore } from "./ports.ts";

export interface FinishPromotionInput {
  promotionId: string;
  /**
   * `superseded`: a later promotion of the service replaced it before Argo CD synced it; recorded, not published.
   * `rolled-back`: it failed its health gate and was reverted (`revertRevision`); publishes Promotion Rolled Back.
   */
  outcome: "succeeded" | "failed" | "errored" | "superseded" | "rolled-back";
  /** What decided it: the last observed Argo CD status, or the error. */
  reason: string;
  /** The step that failed, when it failed. */
  failedStep?: "freeze" | "snapshot" | "approval" | "commit" | "sync" | "health-check" | "rollback";
  /** For `rolled-back`: the commit that restored the previous image. */
  revertRevision?: string;
  /** The Step Functions error caught on the way, when one was. */
  error?: { name: string; message: string };
}

export interface FinishPromotionDeps {
  store: PromotionStore;
  /** Names the approval in Promotion Succeeded for gated environments. */
  approvals?: Pick<ApprovalStore, "findByPromotion">;
  publisher: EventPublisher;
  clock: Clock;
}

/** Step Functions names its own errors `States.*`; the domain event wants an error class name. */
const errorName = (name: string): string => {
  const cleaned = name.replace(/^States\./, "").replace(/[^A-Za-z0-9]/g, "");
  const pascal = cleaned.charAt(0).toUpperCase() + cleaned.slice(1);
  return pascal.endsWith("Error") ? pascal : `${pascal || "Unknown"}Error`;
};

const subject = (promotion: PromotionRecord) => ({
  promotionId: promotion.id,
  service: promotion.service,
  environment: promotion.environment,
  repository: promotion.image.repository,
  ...(promotion.image.tag ? { tag: promotion.image.tag } : {}),
  digest: promotion.image.digest,
  triggeringEventId: promotion.trigger.eventId,
});

/**
 * Marks the promotion Succeeded, Failed (a decision: unhealthy, timed out) or Errored (the world's fault), then
 * publishes the domain event. The event is validated against the catalog before it leaves, and a failed publish
 * fails the step (so the workflow retries it) — never silently.
 *
 * @example
 * await finishPromotion(deps, { promotionId, outcome: "succeeded", reason: "checkout-staging Synced/Healthy" });
 */
export const finishPromotion = async (
  deps: FinishPromotionDeps,
  input: FinishPromotionInput,
): Promise<{ promotionId: string; phase: PromotionRecord["phase"]; service: string }> => {
  const existing = await deps.store.getPromotion(input.promotionId);
  if (!existing) throw new NotFoundError(`no promotion ${input.promotionId}`);
  const phases = {
    succeeded: "Succeeded",
    failed: "Failed",
    errored: "Errored",
    superseded: "Skipped",
    "rolled-back": "RolledBack",
  } as const;
  const phase = phases[input.outcome];
  // A retried step finds the promotion already finished: publish again (at least once), don't re-record.
  const promotion =
    existing.phase === phase
      ? existing
      : await deps.store.updatePromotion(input.promotionId, { phase, reason: input.reason });
  const now = deps.clock.now().toISOString();
  if (phase === "Skipped") return { promotionId: promotion.id, phase, service: promotion.service };
  if (phase === "RolledBack") {
    const detail = promotionRolledBackDetailSchema.parse({
      ...subject(promotion),
      revision: promotion.revision,
      revertRevision: input.revertRevision,
      ...(promotion.previous?.tag ? { rolledBackToTag: promotion.previous.tag } : {}),
      ...(promotion.previous ? { rolledBackToDigest: promotion.previous.digest } : {}),
      reason: input.reason.slice(0, 1024),
      quarantined: await deps.store.isQuarantined(promotion.service, promotion.image.digest),
      rolledBackAt: now,
    });
    await deps.publisher.publish([{ detailType: "Promotion Rolled Back", detail }]);
  } else if (phase === "Succeeded") {
    const approval = await deps.approvals?.findByPromotion(promotion.id);
    const detail = promotionSucceededDetailSchema.parse({
      ...subject(promotion),
      revision: promotion.revision,
      ...(promotion.previous?.tag ? { previousTag: promotion.previous.tag } : {}),
      ...(promotion.previous ? { previousDigest: promotion.previous.digest } : {}),
      ...(approval ? { approvalId: approval.id } : {}),
      startedAt: promotion.createdAt,
      completedAt: now,
    });
    await deps.publisher.publish([{ detailType: "Promotion Succeeded", detail }]);
  } else {
    const detail = promotionFailedDetailSchema.parse({
      ...subject(promotion),
      kind: phase === "Failed" ? "Failed" : "Errored",
      failedStep: input.failedStep ?? "sync",
      error: {
        name: errorName(input.error?.name ?? (phase === "Failed" ? "PromotionFailedError" : "Unknown")),
        message: (input.error?.message ?? input.reason).slice(0, 1024),
      },
      ...(promotion.revision ? { revision: promotion.revision } : {}),
      startedAt: promotion.createdAt,
      failedAt: now,
    });
    await deps.publisher.publish([{ detailType: "Promotion Failed", detail }]);
  }
  return { promotionId: promotion.id, phase, service: promotion.service };
};
