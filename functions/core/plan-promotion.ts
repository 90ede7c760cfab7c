// Use case: the Decide step of a promotion — record it and decide, by the service's policy, whether it goes ahead.

import type { ServiceConfig, SwitchyardConfig } from "./config.ts";
import { decidePromotion, pickNewest } from "./decide-promotion.ts";
import { ValidationError } from "./errors.ts";
import { nameBasedUuid } from "./ids.ts";
import type {
  Clock,
  ImageRef,
  ImageRegistry,
  PromotionRecord,
  PromotionStore,
  RegistryImage,
} from "./ports.ts";
import type { ImageInput, Trigger } from "./promotion-input.ts";

export interface PlanPromotionInput {
  /** Set when the caller (POST /promotions) already named the promotion. */
  promotionId: string | null;
  /** The workflow execution's name: with service and environment it names the promotion deterministically. */
  executionName: string;
  service: string;
  environment: string;
  image: ImageInput;
  trigger: Trigger;
}

export interface PromotionPlan {
  promotionId: string;
  action: "promote" | "skip";
  reason: string;
  /** The FIFO message group of the GitOps writer: one per repository branch. */
  commitGroup: string;
  /**
   * The image the decision is about, completed from the registry when the trigger named only a tag or only a
   * digest: the later steps must commit and watch this one, not the trigger's. `digest` is null only in a skip.
   */
  image: ImageInput;
}

export interface PlanPromotionDeps {
  config: Pick<SwitchyardConfig, "services" | "gitops">;
  store: PromotionStore;
  clock: Clock;
  /**
   * Names the digest of a bare tag (GitHub triggers, `POST /promotions {tag}`) and the tags of a bare digest.
   * Without it a promotion that names no digest is skipped, and a digest-only one goes ahead untagged.
   */
  registry?: ImageRegistry;
}

/** The digest a skipped promotion records when no image could be named. */
const unknownDigest = "unknown";

/** The image as the workflow passes it on: every key present, null when unknown. */
const toImageInput = (image: ImageRef): ImageInput => ({
  repository: image.repository,
  tag: image.tag ?? null,
  digest: image.digest === unknownDigest ? null : image.digest,
  pushedAt: image.pushedAt,
});

/** The image a promotion is about, or why there is none to decide on (with what is known of it). */
type Candidate = { image: ImageRef; skip?: undefined } | { image: ImageRef; skip: string };

/**
 * Of an image's tags, the one the service's policy ranks first (the highest version for `semver`, the followed tag
 * for `tag`, a matching one for `pattern`), so a promotion by digest is decided on the tag that makes it eligible.
 */
const tagForPolicy = (
  service: Pick<ServiceConfig, "name" | "policy">,
  image: RegistryImage,
): string | undefined => {
  if (image.tags.length <= 1) return image.tags[0];
  const { repository, digest, pushedAt } = image;
  const { winner } = pickNewest(
    service,
    image.tags.map((tag) => ({ repository, tag, digest, pushedAt })),
  );
  return winner?.image.tag ?? image.tags[0];
};

/**
 * Completes the trigger's image: a tag alone gets its digest (and push time) from the registry, a digest alone
 * its tags. When the registry is consulted, its push time replaces the trigger's: it is when the image was pushed,
 * which is what the policies order by.
 */
const resolveCandidate = async (
  registry: ImageRegistry | undefined,
  service: Pick<ServiceConfig, "name" | "policy">,
  image: ImageInput,
): Promise<Candidate> => {
  const { repository, tag, digest, pushedAt } = image;
  if (tag !== null && digest !== null) return { image: { repository, tag, digest, pushedAt } };
  const named =
    tag !== null ? `${repository}:${tag}` : digest !== null ? `${repository}@${digest}` : repository;
  const skip = (why: string, known: Partial<ImageRef> = {}): Candidate => ({
    image: { repository, ...(tag !== null && { tag }), digest: unknownDigest, pushedAt, ...known },
    skip: `${service.name}: skip ${named}: ${why}`,
  });
  if (digest !== null) {
    // Without a registry a digest-only promotion is still well defined: untagged, as POST /promotions allows.
    if (registry === undefined) return { image: { repository, digest, pushedAt } };
    const found = await registry.findImage(repository, { digest });
    if (found === undefined) return skip("no such image in the registry", { digest });
    const learned = tagForPolicy(service, found);
    return {
      image: { repository, ...(learned !== undefined && { tag: learned }), digest, pushedAt: found.pushedAt },
    };
  }
  if (tag === null) return skip("neither a tag nor a digest given");
  if (registry === undefined) return skip("no digest given and no registry to look it up; name the digest");
  const found = await registry.findImage(repository, { tag });
  if (found === undefined) return skip("no such image in the registry");
  return { image: { repository, tag, digest: found.digest, pushedAt: found.pushedAt } };
};

/** The message group that serialises every write to the GitOps branch. */
export const commitGroupFor = (gitops: SwitchyardConfig["gitops"]): string =>
  `${gitops.repository}@${gitops.branch}`;

/**
 * Records the promotion (Pending, or Skipped with the reason) and returns the decision. Repeating the call for
 * the same promotion returns the decision already recorded, so a retried step never records twice.
 *
 * With a `registry`, a promotion that names only a tag is decided on the digest the registry has for it, and one
 * that names only a digest on the image's tag the policy ranks first (untagged when it has none); an image the
 * registry does not have is skipped ("checkout: skip checkout:1.4.2: no such image in the registry"). Registry
 * failures propagate (`TransientError` is retried by the workflow).
 *
 * @example
 * const plan = await planPromotion(deps, { promotionId: null, executionName, service: "checkout", ... });
 * if (plan.action === "promote") enqueueCommit(plan);
 */
export const planPromotion = async (
  deps: PlanPromotionDeps,
  input: PlanPromotionInput,
): Promise<PromotionPlan> => {
  const service = deps.config.services.find((s) => s.name === input.service);
  if (!service) throw new ValidationError(`unknown service "${input.service}" in switchyard.yaml`);
  const promotionId =
    input.promotionId ?? nameBasedUuid(`${input.executionName}/${input.service}/${input.environment}`);
  const commitGroup = commitGroupFor(deps.config.gitops);

  const existing = await deps.store.getPromotion(promotionId);
  if (existing) {
    return {
      promotionId,
      action: existing.phase === "Skipped" ? "skip" : "promote",
      reason: existing.reasons[0] ?? "",
      commitGroup,
      image: toImageInput(existing.image),
    };
  }

  const current = await deps.store.getDeployment(input.service, input.environment);
  const now = deps.clock.now().toISOString();
  const record = (phase: PromotionRecord["phase"], reason: string, image: ImageRef): PromotionRecord => ({
    id: promotionId,
    service: input.service,
    environment: input.environment,
    image,
    phase,
    reasons: [reason],
    trigger: input.trigger,
    ...(current
      ? {
          previous: {
            ...(current.tag ? { tag: current.tag } : {}),
            digest: current.digest,
            pushedAt: current.pushedAt,
          },
        }
      : {}),
    createdAt: now,
    updatedAt: now,
  });

  const resolved = await resolveCandidate(deps.registry, service, input.image);
  if (resolved.skip !== undefined) {
    await deps.store.createPromotion(record("Skipped", resolved.skip, resolved.image));
    return {
      promotionId,
      action: "skip",
      reason: resolved.skip,
      commitGroup,
      image: toImageInput(resolved.image),
    };
  }

  const candidate = resolved.image;
  const decision = decidePromotion({
    service,
    candidate,
    ...(current
      ? {
          current: {
            ...(current.tag ? { tag: current.tag } : {}),
            digest: current.digest,
            pushedAt: current.pushedAt,
          },
        }
      : {}),
    quarantined: await deps.store.isQuarantined(input.service, candidate.digest),
  });
  const phase = decision.action === "promote" ? "Pending" : "Skipped";
  await deps.store.createPromotion(record(phase, decision.reason, candidate));
  return {
    promotionId,
    action: decision.action,
    reason: decision.reason,
    commitGroup,
    image: toImageInput(candidate),
  };
};
