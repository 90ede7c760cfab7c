// Use case: a promotion failed its health gate — quarantine the digest and revert the commit with a new commit.

import { type SwitchyardConfig, valuesFile } from "./config.ts";
import { shortDigest } from "./decide-promotion.ts";
import { NotFoundError, ValidationError } from "./errors.ts";
import type { Clock, GitOpsRepository, PromotionRecord, PromotionStore } from "./ports.ts";
import { readImage, setImage } from "./values-file.ts";

export interface RevertPromotionInput {
  promotionId: string;
  /** Why the health gate failed: the last Argo CD status seen. */
  reason: string;
}

export type RevertPromotionResult =
  | {
      outcome: "reverted";
      reason: string;
      /** The new commit that restores the previous image. */
      revertRevision: string;
      /** The digest production runs again after the revert. */
      digest: string;
    }
  | { outcome: "not-reverted"; reason: string; revertRevision: null; digest: null };

export interface RevertPromotionDeps {
  config: Pick<SwitchyardConfig, "services">;
  store: PromotionStore;
  gitops: GitOpsRepository;
  clock: Clock;
}

/**
 * Push time recorded for a restored image whose own is unknown (deployed before Switchyard recorded push times):
 * the oldest possible, so any later push may replace it, as it would have before the failed promotion.
 */
const unknownPushTime = new Date(0).toISOString();

const describe = (image: { tag?: string; digest: string }): string =>
  image.tag ? `${image.tag} (${shortDigest(image.digest)})` : shortDigest(image.digest);

/** `git revert`'s message shape, with the reason and Switchyard's trailers. */
const revertMessage = (
  promotion: PromotionRecord,
  previous: { tag?: string; digest: string },
  reason: string,
) =>
  [
    `Revert "promote ${promotion.service} to ${promotion.environment}: ${previous.tag ?? "none"} → ${promotion.image.tag ?? promotion.image.digest}"`,
    "",
    `${promotion.environment} did not become healthy on ${describe(promotion.image)}: ${reason}`,
    `Restores ${describe(previous)}; ${promotion.image.digest} is quarantined for ${promotion.service}.`,
    "",
    `This reverts commit ${promotion.revision ?? "(unknown)"}.`,
    "",
    `Switchyard-Promotion-Id: ${promotion.id}`,
    `Switchyard-Event-Id: ${promotion.trigger.eventId}`,
  ].join("\n");

/**
 * Quarantines the promotion's digest for its service (so no automatic promotion brings it back until
 * `DELETE /quarantine/{service}/{digest}`), then restores the previous image in the environment's values file with a
 * new commit — never a force-push, so the history keeps both. It reverts only while the file still pins the failed
 * digest: a newer change made meanwhile is not undone. A first deploy has nothing to revert to. Idempotent: a
 * retried call finds the file already restored and answers with the head.
 *
 * @example
 * const result = await revertPromotion(deps, { promotionId, reason: "Argo CD degraded: health=Degraded" });
 * if (result.outcome === "reverted") await startSync(deps, { service, environment, revision: result.revertRevision });
 */
export const revertPromotion = async (
  deps: RevertPromotionDeps,
  input: RevertPromotionInput,
): Promise<RevertPromotionResult> => {
  const promotion = await deps.store.getPromotion(input.promotionId);
  if (!promotion) throw new NotFoundError(`no promotion ${input.promotionId}`);
  const service = deps.config.services.find((s) => s.name === promotion.service);
  if (!service) throw new ValidationError(`unknown service "${promotion.service}" in switchyard.yaml`);
  const { digest } = promotion.image;
  await deps.store.quarantine(
    promotion.service,
    digest,
    `${promotion.environment} went unhealthy on it (promotion ${promotion.id}): ${input.reason}`.slice(
      0,
      1024,
    ),
  );
  const notReverted = async (why: string): Promise<RevertPromotionResult> => {
    const reason = `${input.reason}; ${why}`;
    await deps.store.updatePromotion(promotion.id, { reason: `not reverted: ${why}` });
    return { outcome: "not-reverted", reason, revertRevision: null, digest: null };
  };
  const previous = promotion.previous;
  if (!previous) {
    return notReverted(
      `nothing to roll back to: this was the first deploy of ${promotion.service} to ${promotion.environment}; ${shortDigest(digest)} is quarantined`,
    );
  }

  const path = valuesFile(service, promotion.environment);
  let pinned: string | undefined;
  const update = await deps.gitops.updateFile({
    path,
    message: revertMessage(promotion, previous, input.reason),
    edit: (content) => {
      if (content === undefined) throw new ValidationError(`${path} does not exist in the GitOps repository`);
      pinned = readImage(content, path).digest;
      if (pinned !== digest) return undefined;
      const restored = setImage(
        content,
        { ...(previous.tag ? { tag: previous.tag } : {}), digest: previous.digest },
        path,
      );
      return restored.changed ? restored.content : undefined;
    },
  });
  if (!update.changed) {
    if (pinned !== previous.digest) {
      return notReverted(
        `${path} pins ${pinned ? shortDigest(pinned) : "no image"} now, not ${shortDigest(digest)}: a newer change is not undone`,
      );
    }
    // A retried call: the revert is already the head's content.
  }
  await deps.store.putDeployment({
    service: promotion.service,
    environment: promotion.environment,
    ...(previous.tag ? { tag: previous.tag } : {}),
    digest: previous.digest,
    pushedAt: previous.pushedAt ?? unknownPushTime,
    revision: update.revision,
    promotionId: promotion.id,
    deployedAt: deps.clock.now().toISOString(),
  });
  await deps.store.updatePromotion(promotion.id, {
    reason: `reverted ${path} to ${describe(previous)} at ${update.revision.slice(0, 12)} and quarantined ${shortDigest(digest)}: ${input.reason}`,
  });
  return {
    outcome: "reverted",
    reason: input.reason,
    revertRevision: update.revision,
    digest: previous.digest,
  };
};
