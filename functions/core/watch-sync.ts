// Use case: has Argo CD synced the committed revision, and is the application healthy? One look per call.

import { argoApplication, type SwitchyardConfig, valuesFile } from "./config.ts";
import { ValidationError } from "./errors.ts";
import type { ApplicationStatus, Clock, DeployTarget, GitOpsRepository, PromotionStore } from "./ports.ts";
import { readImage } from "./values-file.ts";

export interface WatchSyncInput {
  /** The promotion being watched: a later promotion of the same service supersedes it. */
  promotionId: string;
  service: string;
  environment: string;
  /** The GitOps commit the application must report (or a later one that still pins `digest`). */
  revision: string;
  /** The digest the commit pinned. */
  digest: string;
  committedAt: string;
  deadline: string;
  /** 0 on the first look, which also asks Argo CD to refresh. */
  attempt: number;
}

export type SyncState = "synced" | "degraded" | "waiting" | "timed-out" | "superseded";

export interface WatchSyncResult {
  state: SyncState;
  attempt: number;
  /** The application as last seen, in one line, for the promotion's reasons. */
  observed: string;
  pollIntervalSeconds: number;
}

export interface WatchSyncDeps {
  config: Pick<SwitchyardConfig, "environments" | "promotion" | "services">;
  deployTarget: DeployTarget;
  gitops: Pick<GitOpsRepository, "readFile">;
  store: Pick<PromotionStore, "getDeployment">;
  clock: Clock;
}

/** Argo CD timestamps have second precision; compare the commit time at the same precision. */
const toSecond = (iso: string): number => Math.floor(Date.parse(iso) / 1000);

/**
 * Argo CD reports the branch head it compared, which moves on when another service commits after ours: a later
 * revision counts when the service's values file there still pins the digest we committed.
 */
const pinsDigest = async (deps: WatchSyncDeps, input: WatchSyncInput, revision: string): Promise<boolean> => {
  const service = deps.config.services.find((s) => s.name === input.service);
  if (!service) throw new ValidationError(`unknown service "${input.service}" in switchyard.yaml`);
  const path = valuesFile(service, input.environment);
  const file = await deps.gitops.readFile(path, revision).catch(() => undefined);
  return file !== undefined && readImage(file.content, path).digest === input.digest;
};

/** One line describing what Argo CD reports. */
export const describeStatus = (status: ApplicationStatus): string =>
  [
    `${status.namespace}/${status.name}`,
    `sync=${status.syncStatus}${status.syncRevision ? `@${status.syncRevision.slice(0, 12)}` : ""}`,
    `health=${status.healthStatus}${status.healthMessage ? ` (${status.healthMessage})` : ""}`,
    `reconciledAt=${status.reconciledAt ?? "never"}`,
    ...(status.operation ? [`operation=${status.operation.phase}`] : []),
  ].join(" ");

/**
 * Looks at the application once. It counts as synced only when Argo CD reports Synced at exactly the committed
 * revision, Healthy, and a `reconciledAt` no earlier than the commit — a status from before the commit must not
 * count. Degraded at that revision ends the wait; past the deadline it times out with what was last seen; a later
 * promotion of the same service, committed meanwhile, supersedes it.
 *
 * @example
 * const { state, observed } = await watchSync(deps, { service, environment, revision, committedAt, deadline, attempt: 0 });
 */
export const watchSync = async (deps: WatchSyncDeps, input: WatchSyncInput): Promise<WatchSyncResult> => {
  const environment = deps.config.environments.find((e) => e.name === input.environment);
  if (!environment) throw new ValidationError(`unknown environment "${input.environment}"`);
  const { namespace } = environment.argocd;
  const name = argoApplication(environment, input.service);
  if (input.attempt === 0) await deps.deployTarget.refreshApplication(namespace, name);
  const status = await deps.deployTarget.getApplication(namespace, name);
  const observed = describeStatus(status);
  const reconciledAfterCommit =
    status.reconciledAt !== undefined && toSecond(status.reconciledAt) >= toSecond(input.committedAt);
  const atRevision =
    reconciledAfterCommit &&
    status.syncRevision !== undefined &&
    (status.syncRevision === input.revision || (await pinsDigest(deps, input, status.syncRevision)));
  const result = (state: SyncState): WatchSyncResult => ({
    state,
    attempt: input.attempt + 1,
    observed,
    pollIntervalSeconds: deps.config.promotion.pollIntervalSeconds,
  });
  if (atRevision && status.syncStatus === "Synced" && status.healthStatus === "Healthy")
    return result("synced");
  // Another promotion of this service committed after ours (the writer records each commit as the deployment):
  // Argo CD may never report our revision, and what it reports is that promotion's to watch.
  if (!atRevision) {
    const deployment = await deps.store.getDeployment(input.service, input.environment);
    if (deployment && deployment.promotionId !== input.promotionId && deployment.digest !== input.digest) {
      const by = `superseded by promotion ${deployment.promotionId} (${deployment.tag ?? deployment.digest})`;
      return { ...result("superseded"), observed: `${by}; ${observed}` };
    }
  }
  if (atRevision && status.healthStatus === "Degraded" && status.operation?.phase !== "Running")
    return result("degraded");
  if (deps.clock.now().getTime() >= Date.parse(input.deadline)) return result("timed-out");
  return result("waiting");
};

export interface StartSyncInput {
  service: string;
  environment: string;
  /** The GitOps commit to sync to. */
  revision: string;
}

export interface StartSyncResult {
  /** When the sync was asked for: a status reconciled before it does not count. */
  startedAt: string;
  /** When the wait for Synced + Healthy gives up (`promotion.syncTimeoutMinutes`). */
  deadline: string;
}

const millisecondsPerMinute = 60_000;

/**
 * Starts an Argo CD sync of a service's application to a revision, as `argocd app sync --revision` does: gated
 * environments do not auto-sync, so their promotions and rollbacks sync explicitly.
 *
 * @example
 * const { startedAt, deadline } = await startSync(deps, { service: "checkout", environment: "production", revision });
 */
export const startSync = async (
  deps: Pick<WatchSyncDeps, "config" | "deployTarget" | "clock">,
  input: StartSyncInput,
): Promise<StartSyncResult> => {
  const environment = deps.config.environments.find((e) => e.name === input.environment);
  if (!environment) throw new ValidationError(`unknown environment "${input.environment}"`);
  if (!deps.config.services.some((s) => s.name === input.service)) {
    throw new ValidationError(`unknown service "${input.service}" in switchyard.yaml`);
  }
  const startedAt = deps.clock.now();
  await deps.deployTarget.syncApplication(
    environment.argocd.namespace,
    argoApplication(environment, input.service),
    { revision: input.revision },
  );
  return {
    startedAt: startedAt.toISOString(),
    deadline: new Date(
      startedAt.getTime() + deps.config.promotion.syncTimeoutMinutes * millisecondsPerMinute,
    ).toISOString(),
  };
};
