// Use cases of the secret-rollout workflow: after a rotation, re-sync each consumer's ExternalSecret, then restart its Deployments one by one.

import { z } from "zod";
import {
  secretRolloutFailedDetailSchema,
  secretRotatedDetailSchema,
} from "../../events/schemas/switchyard.ts";
import type { SecretConfig, SwitchyardConfig } from "./config.ts";
import { causeMessage, ValidationError } from "./errors.ts";
import { activeFreezes } from "./gate-promotion.ts";
import type {
  Clock,
  DeploymentStatus,
  EventPublisher,
  FreezeStore,
  SecretStore,
  WorkloadTarget,
} from "./ports.ts";

/**
 * What starts `secret-rollout`: the `secret-rotation-succeeded` rule's input transformer renders a Secrets Manager
 * `RotationSucceeded` event into this shape.
 *
 * @example
 * secretRolloutInputSchema.parse({ secretId: "checkout/prod/postgres", eventId: event.id, rotatedAt: event.time });
 */
export const secretRolloutInputSchema = z.object({
  /** The secret's name or ARN (CloudTrail names it by ARN). */
  secretId: z.string().min(1).max(2048),
  /** The bus event that reported the rotation. */
  eventId: z.string().min(1),
  /** When the rotation finished. */
  rotatedAt: z.iso.datetime({ offset: true }),
});

export type SecretRolloutInput = z.infer<typeof secretRolloutInputSchema>;

const millisecondsPerSecond = 1000;
const millisecondsPerMinute = 60_000;
const millisecondsPerHour = 3_600_000;
/** Longest `reason` a Secret Rollout Failed event carries. */
const maxReasonLength = 1024;

/** Every key present (null when absent): the workflow reads them with JSONPath, and a missing key fails it. */
export interface RolloutConsumer {
  namespace: string;
  externalSecret: string;
  deployments: string[];
  /** The service whose freezes hold the restarts. */
  service: string | null;
}

/** What a rollout is about: the secret's new version and the workloads that must pick it up. */
export interface RolloutSubject {
  secretName: string;
  versionId: string;
  previousVersionId: string | null;
  strategy: SecretConfig["rotation"]["strategy"];
  /** For alternating-users: the database role the new version logs in as (a role name, never a credential). */
  activeUser: string | null;
  consumers: RolloutConsumer[];
}

/** `rollout`: go on with `consumers`; `skip`: nothing to do, `reason` says why (the other fields may be null). */
export type SecretRolloutPlan =
  | ({ action: "rollout"; reason: string } & RolloutSubject)
  | {
      action: "skip";
      reason: string;
      secretName: string;
      versionId: null;
      previousVersionId: null;
      strategy: SecretConfig["rotation"]["strategy"] | null;
      activeUser: null;
      consumers: [];
    };

export interface PlanSecretRolloutDeps {
  config: Pick<SwitchyardConfig, "secrets">;
  secrets: Pick<SecretStore, "describeSecret" | "getSecretValue">;
}

const secretArnPattern = /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:(.+)-[A-Za-z0-9]{6}$/;

/**
 * The secret's name in a secret id: Secrets Manager appends a hyphen and 6 random characters to the name in an ARN.
 *
 * @example secretNameOf("arn:aws:secretsmanager:eu-west-1:123456789012:secret:checkout/prod/postgres-Xa9Qz2") // "checkout/prod/postgres"
 */
export const secretNameOf = (secretId: string): string => secretArnPattern.exec(secretId)?.[1] ?? secretId;

/** The version carrying `stage`, from DescribeSecret's `VersionIdsToStages`. */
const versionWithStage = (versions: Record<string, readonly string[]>, stage: string): string | null =>
  Object.entries(versions).find(([, stages]) => stages.includes(stage))?.[0] ?? null;

/** The `username` of a database secret's JSON; the rest of the value (the password) never leaves this function. */
const usernameOf = (secretString: string): string | undefined => {
  try {
    const parsed: unknown = JSON.parse(secretString);
    const username = (parsed as { username?: unknown } | null)?.username;
    return typeof username === "string" && username.length > 0 ? username : undefined;
  } catch {
    return undefined;
  }
};

/**
 * Plans the rollout of a rotated secret: the secret must be in switchyard.yaml with consumers (else `skip`, without
 * asking Secrets Manager about a secret Switchyard does not manage). Reads the AWSCURRENT and AWSPREVIOUS version
 * ids and, for alternating-users, the user the current version logs in as. Never returns a secret value.
 *
 * @example
 * const plan = await planSecretRollout(deps, { secretId: detail.additionalEventData.SecretId });
 * if (plan.action === "rollout") for (const consumer of plan.consumers) await resync(consumer);
 */
export const planSecretRollout = async (
  deps: PlanSecretRolloutDeps,
  input: { secretId: string },
): Promise<SecretRolloutPlan> => {
  const secretName = secretNameOf(input.secretId);
  const secret = deps.config.secrets.find((s) => s.name === secretName);
  const skip = (reason: string): SecretRolloutPlan => ({
    action: "skip",
    reason,
    secretName,
    versionId: null,
    previousVersionId: null,
    strategy: secret?.rotation.strategy ?? null,
    activeUser: null,
    consumers: [],
  });
  if (!secret) return skip(`secret ${secretName} is not in switchyard.yaml's secrets: nothing to roll out`);
  if (secret.consumers.length === 0) return skip(`secret ${secretName} has no consumers in switchyard.yaml`);

  const summary = await deps.secrets.describeSecret(input.secretId);
  const versionId = versionWithStage(summary.versionIdsToStages, "AWSCURRENT");
  if (versionId === null) throw new ValidationError(`secret ${secretName} has no AWSCURRENT version`);
  let activeUser: string | null = null;
  if (secret.rotation.strategy === "alternating-users") {
    const current = await deps.secrets.getSecretValue(input.secretId, { versionId });
    activeUser = usernameOf(current.secretString) ?? null;
    if (activeUser === null) {
      throw new ValidationError(
        `secret ${secretName} version ${versionId} is not JSON with a username (alternating-users needs one)`,
      );
    }
  }
  const consumers = secret.consumers.map((c) => ({
    namespace: c.namespace,
    externalSecret: c.externalSecret,
    deployments: [...c.deployments],
    service: c.service ?? null,
  }));
  const deploymentCount = consumers.reduce((n, c) => n + c.deployments.length, 0);
  return {
    action: "rollout",
    reason: `version ${versionId} of ${secretName} goes to ${consumers.length} ExternalSecret(s) and ${deploymentCount} Deployment(s)`,
    secretName,
    versionId,
    previousVersionId: versionWithStage(summary.versionIdsToStages, "AWSPREVIOUS"),
    strategy: secret.rotation.strategy,
    activeUser,
    consumers,
  };
};

export interface SyncExternalSecretInput {
  /** Unique to this rollout (the execution name): part of the force-sync annotation's value. */
  rolloutId: string;
  namespace: string;
  externalSecret: string;
  /** Null on the first call, which records the Secret's hash and forces the sync. */
  forcedAt: string | null;
  /** The hash of the Secret's data before the sync (null: the Secret did not exist). */
  initialHash: string | null;
  /** Null on the first call, which sets it from `rollout.syncTimeoutMinutes`. */
  deadline: string | null;
}

export interface SyncExternalSecretResult {
  /** `waiting`: look again after `pollIntervalSeconds`. */
  state: "synced" | "waiting" | "timed-out";
  /** The Kubernetes Secret the ExternalSecret writes. */
  targetSecret: string;
  forcedAt: string;
  initialHash: string | null;
  deadline: string;
  /** When the sync was seen done: a Deployment restarted at or after it starts on the new version. */
  syncedAt: string | null;
  pollIntervalSeconds: number;
  reason: string;
}

export interface SyncExternalSecretDeps {
  config: Pick<SwitchyardConfig, "rollout">;
  workloads: Pick<WorkloadTarget, "getExternalSecret" | "forceSyncExternalSecret" | "secretDataHash">;
  clock: Clock;
}

/**
 * The `force-sync` annotation's value: the rollout's id and when it forced, so every force is a change.
 *
 * @example forceSyncValue("6e00790e", "2025-01-14T04:18:02.114Z") // "6e00790e@2025-01-14T04:18:02.114Z"
 */
export const forceSyncValue = (rolloutId: string, forcedAt: string): string => `${rolloutId}@${forcedAt}`;

/** `refreshTime` has whole seconds: a refresh in the second of the force-sync counts as after it. */
const floorToSecond = (iso: string): number =>
  Math.floor(Date.parse(iso) / millisecondsPerSecond) * millisecondsPerSecond;

/**
 * First call: records a hash of the target Secret's data (the value never leaves the adapter) and sets the
 * ExternalSecret's `force-sync` annotation to a value of this rollout (`forceSyncValue`). Later calls: `synced` once the hash changed — or
 * once External Secrets reports a successful refresh after the force-sync, which means the Secret already held the
 * current version (External Secrets had refreshed on its own since the rotation); `timed-out` past the deadline.
 *
 * @example
 * let sync = await syncExternalSecret(deps, { rolloutId, namespace: "checkout", externalSecret: "checkout-db", forcedAt: null, initialHash: null, deadline: null });
 */
export const syncExternalSecret = async (
  deps: SyncExternalSecretDeps,
  input: SyncExternalSecretInput,
): Promise<SyncExternalSecretResult> => {
  const now = deps.clock.now();
  const { pollIntervalSeconds, syncTimeoutMinutes } = deps.config.rollout;
  const what = `ExternalSecret ${input.namespace}/${input.externalSecret}`;
  const status = await deps.workloads.getExternalSecret(input.namespace, input.externalSecret);
  const hash = (await deps.workloads.secretDataHash(input.namespace, status.targetSecret)) ?? null;

  if (input.forcedAt === null) {
    const forcedAt = now.toISOString();
    // A retried first call forces again with a new value: one that repeated the old value would change nothing,
    // and External Secrets would never refresh after this call's forcedAt.
    await deps.workloads.forceSyncExternalSecret(
      input.namespace,
      input.externalSecret,
      forceSyncValue(input.rolloutId, forcedAt),
    );
    return {
      state: "waiting",
      targetSecret: status.targetSecret,
      forcedAt,
      initialHash: hash,
      deadline: new Date(now.getTime() + syncTimeoutMinutes * millisecondsPerMinute).toISOString(),
      syncedAt: null,
      pollIntervalSeconds,
      reason: `${what} asked to re-sync Secret ${status.targetSecret}`,
    };
  }

  const forcedAt = input.forcedAt;
  const deadline =
    input.deadline ??
    new Date(Date.parse(forcedAt) + syncTimeoutMinutes * millisecondsPerMinute).toISOString();
  const result = (state: SyncExternalSecretResult["state"], reason: string): SyncExternalSecretResult => ({
    state,
    targetSecret: status.targetSecret,
    forcedAt,
    initialHash: input.initialHash,
    deadline,
    syncedAt: state === "synced" ? now.toISOString() : null,
    pollIntervalSeconds,
    reason,
  });
  if (hash !== null && hash !== input.initialHash) {
    return result("synced", `${what} wrote the new version into Secret ${status.targetSecret}`);
  }
  const refreshedAfterForce =
    status.ready &&
    status.refreshTime !== undefined &&
    Date.parse(status.refreshTime) >= floorToSecond(forcedAt);
  if (hash !== null && refreshedAfterForce) {
    return result(
      "synced",
      `${what} refreshed at ${status.refreshTime}, after the force-sync; Secret ${status.targetSecret} already held the current version`,
    );
  }
  if (now.getTime() >= Date.parse(deadline)) {
    const condition = status.ready ? "Ready" : `not Ready${status.message ? `: ${status.message}` : ""}`;
    return result(
      "timed-out",
      `${what} did not update Secret ${status.targetSecret} within ${syncTimeoutMinutes} min (rollout.syncTimeoutMinutes); it is ${condition}`,
    );
  }
  return result("waiting", `${what} has not updated Secret ${status.targetSecret} yet`);
};

export interface RestartDeploymentInput {
  namespace: string;
  name: string;
  /** The consumer's service, whose freezes hold the restart; null: nothing holds it. */
  service: string | null;
  /** When the Secret was seen synced: a restart at or after it is this rollout's (a retry finds it done). */
  notBefore: string;
  /** Null until a freeze first holds the restart; then when holding gives up. */
  holdDeadline: string | null;
}

export interface RestartDeploymentResult {
  /** `held`: a freeze is in force, ask again after `pollIntervalSeconds`; `frozen`: it outlasted the hold. */
  state: "restarted" | "held" | "frozen";
  /** The `kubectl.kubernetes.io/restartedAt` this rollout set (null unless restarted). */
  restartedAt: string | null;
  holdDeadline: string | null;
  /** When the rollout of the restart must be Ready (null unless restarted). */
  deadline: string | null;
  pollIntervalSeconds: number;
  reason: string;
}

export interface RestartDeploymentDeps {
  config: Pick<SwitchyardConfig, "rollout" | "promotion">;
  workloads: Pick<WorkloadTarget, "getDeployment" | "restartDeployment">;
  freezes: Pick<FreezeStore, "list">;
  clock: Clock;
}

/**
 * `kubectl rollout restart`, once: a Deployment whose `restartedAt` is already at or after `notBefore` was
 * restarted by this rollout (a retried call), and is not restarted again. A freeze in force on the consumer's
 * service holds the restart, for at most `promotion.freeze.maxWaitHours`, looking every
 * `promotion.freeze.pollIntervalSeconds`.
 *
 * @example
 * const restart = await restartDeployment(deps, { namespace: "checkout", name: "checkout", service: "checkout", notBefore: sync.syncedAt, holdDeadline: null });
 */
export const restartDeployment = async (
  deps: RestartDeploymentDeps,
  input: RestartDeploymentInput,
): Promise<RestartDeploymentResult> => {
  const now = deps.clock.now();
  const what = `Deployment ${input.namespace}/${input.name}`;
  const restarted = (restartedAt: string, reason: string): RestartDeploymentResult => ({
    state: "restarted",
    restartedAt,
    holdDeadline: input.holdDeadline,
    deadline: new Date(
      Date.parse(restartedAt) + deps.config.rollout.rolloutTimeoutMinutes * millisecondsPerMinute,
    ).toISOString(),
    pollIntervalSeconds: deps.config.rollout.pollIntervalSeconds,
    reason,
  });

  const current = await deps.workloads.getDeployment(input.namespace, input.name);
  if (current.restartedAt !== undefined && Date.parse(current.restartedAt) >= Date.parse(input.notBefore)) {
    return restarted(current.restartedAt, `${what} was already restarted at ${current.restartedAt}`);
  }

  const freeze = deps.config.promotion.freeze;
  const inForce = input.service === null ? [] : activeFreezes(await deps.freezes.list(input.service), now);
  if (inForce.length > 0) {
    const holdDeadline =
      input.holdDeadline ?? new Date(now.getTime() + freeze.maxWaitHours * millisecondsPerHour).toISOString();
    const why = `${input.service} is frozen: ${inForce.map((f) => `${f.reason} (set by ${f.setBy})`).join("; ")}`;
    const frozen = now.getTime() >= Date.parse(holdDeadline);
    return {
      state: frozen ? "frozen" : "held",
      restartedAt: null,
      holdDeadline,
      deadline: null,
      pollIntervalSeconds: freeze.pollIntervalSeconds,
      reason: frozen
        ? `${what} not restarted: ${why}; still frozen after ${freeze.maxWaitHours} h (promotion.freeze.maxWaitHours)`
        : `${what} held: ${why}`,
    };
  }

  const restartedAt = now.toISOString();
  await deps.workloads.restartDeployment(input.namespace, input.name, restartedAt);
  return restarted(restartedAt, `${what} restarted at ${restartedAt}`);
};

/**
 * Whether a Deployment's rollout is complete, as `kubectl rollout status` judges it: the controller saw the latest
 * spec, and every replica is updated, ready and available.
 *
 * @example rolloutComplete({ generation: 4, observedGeneration: 4, replicas: 3, updatedReplicas: 3, readyReplicas: 3, availableReplicas: 3, ... }) // true
 */
export const rolloutComplete = (status: DeploymentStatus): boolean =>
  status.observedGeneration >= status.generation &&
  status.updatedReplicas === status.replicas &&
  status.readyReplicas === status.replicas &&
  status.availableReplicas === status.replicas;

const describeRollout = (s: DeploymentStatus): string =>
  `${s.updatedReplicas}/${s.replicas} updated, ${s.readyReplicas} ready, ${s.availableReplicas} available, generation ${s.observedGeneration}/${s.generation}`;

export interface WatchRolloutInput {
  namespace: string;
  name: string;
  /** The `restartedAt` this rollout set. */
  restartedAt: string;
  deadline: string;
}

export interface WatchRolloutResult {
  /** `failed`: the restart was undone (the pod template lost this rollout's `restartedAt`). */
  state: "ready" | "waiting" | "timed-out" | "failed";
  /** The replica counts as last read. */
  observed: string;
  pollIntervalSeconds: number;
  reason: string;
}

export interface WatchRolloutDeps {
  config: Pick<SwitchyardConfig, "rollout">;
  workloads: Pick<WorkloadTarget, "getDeployment">;
  clock: Clock;
}

/**
 * One look at a restarted Deployment: `ready` when its rollout is complete, `waiting` meanwhile, `timed-out` past the
 * deadline. A pod template whose `restartedAt` went back (Argo CD self-heal reverting the annotation, say) is
 * `failed`: its pods would never restart. A later restart by someone else is as good as ours.
 *
 * @example
 * const look = await watchRollout(deps, { namespace: "checkout", name: "checkout", restartedAt, deadline });
 */
export const watchRollout = async (
  deps: WatchRolloutDeps,
  input: WatchRolloutInput,
): Promise<WatchRolloutResult> => {
  const now = deps.clock.now();
  const what = `Deployment ${input.namespace}/${input.name}`;
  const status = await deps.workloads.getDeployment(input.namespace, input.name);
  const observed = describeRollout(status);
  const result = (state: WatchRolloutResult["state"], reason: string): WatchRolloutResult => ({
    state,
    observed,
    pollIntervalSeconds: deps.config.rollout.pollIntervalSeconds,
    reason,
  });
  const undone =
    status.restartedAt === undefined || Date.parse(status.restartedAt) < Date.parse(input.restartedAt);
  if (undone) {
    return result(
      "failed",
      `${what} no longer carries the restart of ${input.restartedAt} (restartedAt is ${status.restartedAt ?? "unset"}): something reverted it`,
    );
  }
  if (rolloutComplete(status)) return result("ready", `${what} is Ready: ${observed}`);
  if (now.getTime() >= Date.parse(input.deadline)) {
    return result(
      "timed-out",
      `${what} was not Ready within ${deps.config.rollout.rolloutTimeoutMinutes} min of its restart (rollout.rolloutTimeoutMinutes): ${observed}`,
    );
  }
  return result("waiting", `${what} is rolling out: ${observed}`);
};

/** A Deployment, as the domain events name it. */
export interface DeploymentRef {
  namespace: string;
  name: string;
}

/** Where a rollout stopped, by position in the plan's consumers (the workflow knows positions, not history). */
export interface RolloutFailure {
  step: "sync-external-secret" | "restart" | "rollout";
  consumerIndex: number;
  /** Null for sync-external-secret, which comes before any Deployment of the consumer. */
  deploymentIndex: number | null;
  /** Why: the step's own reason, or the error it failed on. */
  reason?: string;
  error?: { name: string; message: string };
}

export type FinishSecretRolloutInput =
  | { outcome: "succeeded"; plan: RolloutSubject; rotatedAt: string }
  | { outcome: "failed"; plan: RolloutSubject; failure: RolloutFailure };

export interface FinishSecretRolloutResult {
  detailType: "Secret Rotated" | "Secret Rollout Failed";
  restartedDeployments: DeploymentRef[];
  remainingDeployments: DeploymentRef[];
}

export interface FinishSecretRolloutDeps {
  publisher: EventPublisher;
  clock: Clock;
}

const truncate = (text: string): string =>
  text.length <= maxReasonLength ? text : `${text.slice(0, maxReasonLength - 1)}…`;

const failureReason = (failure: RolloutFailure): string => {
  if (failure.error) {
    const message = causeMessage(failure.error.message);
    return truncate(message === failure.error.name ? message : `${failure.error.name}: ${message}`);
  }
  return truncate(failure.reason ?? `${failure.step} failed`);
};

/**
 * Splits the plan's Deployments at the failure: those restarted before it (the failing one too when it was
 * restarted but not Ready), and those never touched. Rollouts go one at a time and stop at the first failure, so
 * the position says it all.
 *
 * @example splitAtFailure(consumers, { step: "sync-external-secret", consumerIndex: 1, deploymentIndex: null })
 */
export const splitAtFailure = (
  consumers: readonly RolloutConsumer[],
  failure: Pick<RolloutFailure, "step" | "consumerIndex" | "deploymentIndex">,
): { restarted: DeploymentRef[]; remaining: DeploymentRef[] } => {
  const restarted: DeploymentRef[] = [];
  const remaining: DeploymentRef[] = [];
  consumers.forEach((consumer, c) => {
    consumer.deployments.forEach((name, d) => {
      const ref = { namespace: consumer.namespace, name };
      const failingOne = c === failure.consumerIndex && d === failure.deploymentIndex;
      const before =
        c < failure.consumerIndex ||
        (c === failure.consumerIndex && failure.deploymentIndex !== null && d < failure.deploymentIndex);
      if (before || (failingOne && failure.step === "rollout")) restarted.push(ref);
      // A restart that failed may or may not have reached the API server: neither restarted nor untouched.
      else if (!failingOne) remaining.push(ref);
    });
  });
  return { restarted, remaining };
};

/**
 * Publishes how the rollout ended: `Secret Rotated` when every consumer runs on the new version, `Secret Rollout
 * Failed` naming where it stopped. Both are validated against the catalog's schemas before they leave, carry names
 * and versions only, and a failed publish fails the step (the workflow retries it).
 *
 * @example
 * await finishSecretRollout(deps, { outcome: "succeeded", plan, rotatedAt: "2025-01-14T04:17:53Z" });
 */
export const finishSecretRollout = async (
  deps: FinishSecretRolloutDeps,
  input: FinishSecretRolloutInput,
): Promise<FinishSecretRolloutResult> => {
  const { plan } = input;
  if (input.outcome === "succeeded") {
    const restartedDeployments = plan.consumers.flatMap((c) =>
      c.deployments.map((name) => ({ namespace: c.namespace, name })),
    );
    const detail = secretRotatedDetailSchema.parse({
      secretId: plan.secretName,
      versionId: plan.versionId,
      ...(plan.previousVersionId !== null && { previousVersionId: plan.previousVersionId }),
      strategy: plan.strategy,
      ...(plan.activeUser !== null && { activeUser: plan.activeUser }),
      restartedDeployments,
      rotatedAt: new Date(input.rotatedAt).toISOString(),
    });
    await deps.publisher.publish([{ detailType: "Secret Rotated", detail }]);
    return { detailType: "Secret Rotated", restartedDeployments, remainingDeployments: [] };
  }

  const { failure } = input;
  const consumer = plan.consumers[failure.consumerIndex];
  if (!consumer) {
    throw new ValidationError(`consumer ${failure.consumerIndex} is not in the plan of ${plan.secretName}`);
  }
  const deployment =
    failure.deploymentIndex === null ? undefined : consumer.deployments[failure.deploymentIndex];
  if (failure.step !== "sync-external-secret" && deployment === undefined) {
    throw new ValidationError(
      `Deployment ${failure.deploymentIndex} of consumer ${failure.consumerIndex} is not in the plan of ${plan.secretName}`,
    );
  }
  const { restarted, remaining } = splitAtFailure(plan.consumers, failure);
  const detail = secretRolloutFailedDetailSchema.parse({
    secretId: plan.secretName,
    versionId: plan.versionId,
    failedStep: failure.step,
    namespace: consumer.namespace,
    name: failure.step === "sync-external-secret" ? consumer.externalSecret : deployment,
    reason: failureReason(failure),
    restartedDeployments: restarted,
    remainingDeployments: remaining,
    failedAt: deps.clock.now().toISOString(),
  });
  await deps.publisher.publish([{ detailType: "Secret Rollout Failed", detail }]);
  return {
    detailType: "Secret Rollout Failed",
    restartedDeployments: restarted,
    remainingDeployments: remaining,
  };
};
