// Use case: the GitOps writer — commit decided images to their values files, one branch's batch at a time.

import { type SwitchyardConfig, valuesFile } from "./config.ts";
import { type CurrentImage, decidePromotion, pickNewest, shortDigest } from "./decide-promotion.ts";
import { type SwitchyardError, ValidationError } from "./errors.ts";
import type {
  Clock,
  GitOpsRepository,
  ImageRef,
  PromotionRecord,
  PromotionStore,
  WorkflowCallbacks,
} from "./ports.ts";
import { setImage } from "./values-file.ts";

/** One queued request to commit an image: a promotion's Commit step waiting on its task token. */
export interface CommitRequest {
  messageId: string;
  taskToken: string;
  promotionId: string;
  service: string;
  environment: string;
  image: ImageRef;
  /** The event that started the promotion, for the commit's trailer. */
  eventId: string;
}

/** What the Commit step's task token is answered with. */
export type CommitOutcome =
  | {
      outcome: "committed";
      revision: string;
      committedAt: string;
      /** When the wait for Argo CD gives up. */
      deadline: string;
      pollIntervalSeconds: number;
      previous?: { tag?: string; digest?: string };
    }
  | { outcome: "unchanged" | "superseded" | "skipped"; reason: string; revision?: string };

export interface CommitImagesDeps {
  config: Pick<SwitchyardConfig, "services" | "promotion">;
  store: PromotionStore;
  gitops: GitOpsRepository;
  callbacks: WorkflowCallbacks;
  clock: Clock;
}

const millisecondsPerMinute = 60_000;

/** Phases of a promotion whose commit is still to be made: decided, or approved after waiting for approval. */
const awaitingCommit: readonly PromotionRecord["phase"][] = ["Pending", "WaitingForApproval"];

const describe = (image: { tag?: string; digest?: string }): string =>
  image.tag ? `${image.tag} (${shortDigest(image.digest ?? "")})` : shortDigest(image.digest ?? "none");

/** The commit message: service, environment, old → new tag, digest, and trailers that trace it back. */
export const commitMessage = (request: CommitRequest, previous: { tag?: string; digest?: string }): string =>
  [
    `promote ${request.service} to ${request.environment}: ${previous.tag ?? "none"} → ${request.image.tag ?? request.image.digest}`,
    "",
    `Service:     ${request.service}`,
    `Environment: ${request.environment}`,
    `Tag:         ${previous.tag ?? "none"} → ${request.image.tag ?? "(untagged)"}`,
    `Image:       ${request.image.repository}@${request.image.digest}`,
    `Pushed at:   ${request.image.pushedAt}`,
    "",
    `Switchyard-Promotion-Id: ${request.promotionId}`,
    `Switchyard-Event-Id: ${request.eventId}`,
  ].join("\n");

/**
 * Commits one batch of requests from the branch's FIFO queue. Requests for the same service and environment are
 * coalesced: the newest allowed image is committed once, the others answered "superseded". The decision is taken
 * again against what runs now — and, for versions, against the values file itself at the branch head — so a
 * burst that arrives out of order can never downgrade. Every request's task token is answered; a failure is
 * sent as the task's error (its `name` is what the workflow's Retry/Catch match). Returns the message ids whose
 * answer could not be delivered, for the queue to redeliver.
 *
 * @example
 * const { failedMessageIds } = await commitImages(deps, requests);
 */
export const commitImages = async (
  deps: CommitImagesDeps,
  requests: readonly CommitRequest[],
): Promise<{ failedMessageIds: string[] }> => {
  const failedMessageIds: string[] = [];
  const answer = async (request: CommitRequest, outcome: CommitOutcome | SwitchyardError | Error) => {
    try {
      if (outcome instanceof Error)
        await deps.callbacks.sendTaskFailure(request.taskToken, outcome.name, outcome.message);
      else await deps.callbacks.sendTaskSuccess(request.taskToken, outcome);
    } catch (error) {
      // The task already ended (timed out, answered on an earlier delivery): nothing is waiting for this answer.
      const name = error instanceof Error ? error.name : "";
      if (!["TaskTimedOut", "TaskDoesNotExist", "InvalidToken"].includes(name))
        failedMessageIds.push(request.messageId);
    }
  };

  const groups = new Map<string, CommitRequest[]>();
  for (const request of requests) {
    const key = `${request.service}\u0000${request.environment}`;
    groups.set(key, [...(groups.get(key) ?? []), request]);
  }

  for (const group of groups.values()) {
    const [first] = group;
    if (!first) continue;
    try {
      const results = await commitGroup(deps, first.service, first.environment, group);
      for (const [request, outcome] of results) await answer(request, outcome);
    } catch (error) {
      const failure = error instanceof Error ? error : new Error(String(error));
      for (const request of group) {
        await deps.store
          .updatePromotion(request.promotionId, {
            phase: "Errored",
            reason: `commit failed: ${failure.message}`,
          })
          .catch(() => undefined);
        await answer(request, failure);
      }
    }
  }
  return { failedMessageIds };
};

const commitGroup = async (
  deps: CommitImagesDeps,
  serviceName: string,
  environment: string,
  requests: readonly CommitRequest[],
): Promise<[CommitRequest, CommitOutcome][]> => {
  const service = deps.config.services.find((s) => s.name === serviceName);
  if (!service) throw new ValidationError(`unknown service "${serviceName}" in switchyard.yaml`);
  const results: [CommitRequest, CommitOutcome][] = [];

  // A request whose promotion already ended (a redelivered message) is answered with what happened.
  const live: CommitRequest[] = [];
  for (const request of requests) {
    const promotion = await deps.store.getPromotion(request.promotionId);
    if (promotion && !awaitingCommit.includes(promotion.phase)) {
      results.push([
        request,
        promotion.revision && promotion.phase !== "Skipped"
          ? committedOutcome(deps, promotion.revision, promotion.updatedAt, promotion.previous)
          : { outcome: "skipped", reason: promotion.reasons.at(-1) ?? "already decided" },
      ]);
    } else live.push(request);
  }
  if (live.length === 0) return results;

  const deployment = await deps.store.getDeployment(serviceName, environment);
  const current: CurrentImage | undefined = deployment
    ? {
        ...(deployment.tag ? { tag: deployment.tag } : {}),
        digest: deployment.digest,
        pushedAt: deployment.pushedAt,
      }
    : undefined;
  const quarantined = new Set<string>();
  for (const request of live) {
    if (await deps.store.isQuarantined(serviceName, request.image.digest))
      quarantined.add(request.image.digest);
  }
  const pick = pickNewest(
    service,
    live.map((r) => r.image),
    current,
    quarantined,
  );
  const winner = pick.winner ? live.find((r) => r.image === pick.winner?.image) : undefined;

  for (const request of live) {
    if (request === winner) continue;
    const reason = pick.passedOver.find((p) => p.image === request.image)?.reason ?? "passed over";
    await deps.store.updatePromotion(request.promotionId, { phase: "Skipped", reason });
    results.push([request, { outcome: winner ? "superseded" : "skipped", reason }]);
  }
  if (!winner) return results;

  await deps.store.updatePromotion(winner.promotionId, { phase: "Committing" });
  const path = valuesFile(service, environment);
  let skipReason: string | undefined;
  let previous: { tag?: string; digest?: string } = {};
  const update = await deps.gitops.updateFile({
    path,
    message: () => commitMessage(winner, previous),
    edit: (content) => {
      if (content === undefined) throw new ValidationError(`${path} does not exist in the GitOps repository`);
      const edited = setImage(
        content,
        { ...(winner.image.tag ? { tag: winner.image.tag } : {}), digest: winner.image.digest },
        path,
      );
      previous = edited.previous;
      // Decide again against the file itself: someone may have changed it outside Switchyard.
      const again = decidePromotion({
        service,
        candidate: winner.image,
        ...(edited.previous.digest
          ? {
              current: {
                ...(edited.previous.tag ? { tag: edited.previous.tag } : {}),
                digest: edited.previous.digest,
                ...(current?.pushedAt && current.digest === edited.previous.digest
                  ? { pushedAt: current.pushedAt }
                  : {}),
              },
            }
          : {}),
        quarantined: false,
      });
      skipReason = again.action === "skip" ? again.reason : undefined;
      return again.action === "promote" && edited.changed ? edited.content : undefined;
    },
  });

  if (!update.changed) {
    const reason =
      skipReason ?? `${path} already pins ${describe(winner.image)} at ${update.revision.slice(0, 12)}`;
    await deps.store.updatePromotion(winner.promotionId, { phase: "Skipped", reason });
    results.push([winner, { outcome: "unchanged", reason, revision: update.revision }]);
    return results;
  }

  const committedAt = deps.clock.now().toISOString();
  await deps.store.putDeployment({
    service: serviceName,
    environment,
    ...(winner.image.tag ? { tag: winner.image.tag } : {}),
    digest: winner.image.digest,
    pushedAt: winner.image.pushedAt,
    revision: update.revision,
    promotionId: winner.promotionId,
    deployedAt: committedAt,
  });
  const previousImage = previous.digest
    ? {
        ...(previous.tag ? { tag: previous.tag } : {}),
        digest: previous.digest,
        // A rollback restores this image: the deployment it writes back needs the push time the policies order by.
        ...(current?.digest === previous.digest ? { pushedAt: current.pushedAt } : {}),
      }
    : undefined;
  await deps.store.updatePromotion(winner.promotionId, {
    phase: "Syncing",
    revision: update.revision,
    ...(previousImage ? { previous: previousImage } : {}),
    reason: `committed ${describe(winner.image)} to ${path} at ${update.revision.slice(0, 12)} (was ${describe(previous)})`,
  });
  results.push([winner, committedOutcome(deps, update.revision, committedAt, previous)]);
  return results;
};

const committedOutcome = (
  deps: Pick<CommitImagesDeps, "config">,
  revision: string,
  committedAt: string,
  previous?: { tag?: string; digest?: string },
): CommitOutcome => ({
  outcome: "committed",
  revision,
  committedAt,
  deadline: new Date(
    Date.parse(committedAt) + deps.config.promotion.syncTimeoutMinutes * millisecondsPerMinute,
  ).toISOString(),
  pollIntervalSeconds: deps.config.promotion.pollIntervalSeconds,
  ...(previous ? { previous } : {}),
});
