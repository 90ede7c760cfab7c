// The local runtime's Lambda functions: the same handler factories and middleware, invoked in-process.

import { randomUUID } from "node:crypto";
import { SqsSchema } from "@aws-lambda-powertools/parser/schemas";
import type { Context } from "aws-lambda";
import { overlapHoursOf, type SwitchyardConfig } from "../functions/core/config.ts";
import { makeAckUrl } from "../functions/core/incident-links.ts";
import type { IncidentDeps, RecentChanges } from "../functions/core/incidents.ts";
import type {
  ApprovalStore,
  ChatNotifier,
  Clock,
  DatabaseAdmin,
  DeployTarget,
  EventPublisher,
  FreezeStore,
  GitOpsRepository,
  IdempotencyStore,
  IdGenerator,
  ImageRegistry,
  IncidentStore,
  Mailer,
  Pager,
  PromotionStore,
  SecretStore,
  SnapshotService,
  WorkflowCallbacks,
  WorkflowStarter,
  WorkloadTarget,
} from "../functions/core/ports.ts";
import { makeApprovalsApi } from "../functions/handlers/approvals.ts";
import { awaitIncidentInputSchema, makeAwaitIncident } from "../functions/handlers/await-incident.ts";
import { closeIncidentInputSchema, makeCloseIncident } from "../functions/handlers/close-incident.ts";
import { makeCommitImages } from "../functions/handlers/commit-images.ts";
import { copySnapshotInputSchema, makeCopySnapshot } from "../functions/handlers/copy-snapshot.ts";
import { createSnapshotInputSchema, makeCreateSnapshot } from "../functions/handlers/create-snapshot.ts";
import { decidePromotionInputSchema, makeDecidePromotion } from "../functions/handlers/decide-promotion.ts";
import {
  escalateIncidentInputSchema,
  makeEscalateIncident,
} from "../functions/handlers/escalate-incident.ts";
import { expireApprovalInputSchema, makeExpireApproval } from "../functions/handlers/expire-approval.ts";
import { finishPromotionInputSchema, makeFinishPromotion } from "../functions/handlers/finish-promotion.ts";
import {
  finishRestoreDrillInputSchema,
  makeFinishRestoreDrill,
} from "../functions/handlers/finish-restore-drill.ts";
import {
  finishSecretRolloutInputSchema,
  makeFinishSecretRollout,
} from "../functions/handlers/finish-secret-rollout.ts";
import { finishSnapshotInputSchema, makeFinishSnapshot } from "../functions/handlers/finish-snapshot.ts";
import { freezesRequest, makeFreezes } from "../functions/handlers/freezes.ts";
import { gatePromotionInputSchema, makeGatePromotion } from "../functions/handlers/gate-promotion.ts";
import { getPromotionsRequest, makeGetPromotions } from "../functions/handlers/get-promotions.ts";
import { incidentsRequest, makeIncidents } from "../functions/handlers/incidents.ts";
import {
  ingestAlertmanagerWebhookRequest,
  makeIngestAlertmanagerWebhook,
} from "../functions/handlers/ingest-alertmanager-webhook.ts";
import { makeIngestGithubWebhook } from "../functions/handlers/ingest-github-webhook.ts";
import {
  ingestPagerdutyWebhookRequest,
  makeIngestPagerdutyWebhook,
} from "../functions/handlers/ingest-pagerduty-webhook.ts";
import { makeListEnvironments } from "../functions/handlers/list-environments.ts";
import { makeNormalizeAlarm, normalizeAlarmEventSchema } from "../functions/handlers/normalize-alarm.ts";
import {
  makeNormalizeFailure,
  normalizeFailureEventSchema,
} from "../functions/handlers/normalize-failure.ts";
import { makeNotifyIncident, notifyIncidentInputSchema } from "../functions/handlers/notify-incident.ts";
import { makeOpenIncident, openIncidentInputSchema } from "../functions/handlers/open-incident.ts";
import {
  makePlanRestoreDrills,
  planRestoreDrillsInputSchema,
} from "../functions/handlers/plan-restore-drills.ts";
import {
  makePlanSecretRollout,
  planSecretRolloutInputSchema,
} from "../functions/handlers/plan-secret-rollout.ts";
import { makePlanSnapshots, planSnapshotsInputSchema } from "../functions/handlers/plan-snapshots.ts";
import {
  makePromoteFromGithub,
  promoteFromGithubEventSchema,
} from "../functions/handlers/promote-from-github.ts";
import {
  makePromoteNextEnvironment,
  promoteNextEnvironmentEventSchema,
} from "../functions/handlers/promote-next-environment.ts";
import { makePruneSnapshots, pruneSnapshotsInputSchema } from "../functions/handlers/prune-snapshots.ts";
import { makeQuarantine, quarantineRequest } from "../functions/handlers/quarantine.ts";
import { makeRequestApproval, requestApprovalInputSchema } from "../functions/handlers/request-approval.ts";
import { makeResolveServices, resolveServicesInputSchema } from "../functions/handlers/resolve-services.ts";
import {
  makeRestartDeployment,
  restartDeploymentInputSchema,
} from "../functions/handlers/restart-deployment.ts";
import { makeRevertPromotion, revertPromotionInputSchema } from "../functions/handlers/revert-promotion.ts";
import { makeRotateSecret, rotateSecretEventSchema } from "../functions/handlers/rotate-secret.ts";
import { makeRouteAlert, routeAlertEventSchema } from "../functions/handlers/route-alert.ts";
import { makeRunSmokeQuery, runSmokeQueryInputSchema } from "../functions/handlers/run-smoke-query.ts";
import {
  makeSnapshotBeforeChange,
  snapshotBeforeChangeInputSchema,
} from "../functions/handlers/snapshot-before-change.ts";
import { makeSnapshots, snapshotsRequest } from "../functions/handlers/snapshots.ts";
import { makeStartPromotion, startPromotionRequest } from "../functions/handlers/start-promotion.ts";
import {
  makeStartRestoreDrill,
  startRestoreDrillInputSchema,
} from "../functions/handlers/start-restore-drill.ts";
import { makeSyncApplication, syncApplicationInputSchema } from "../functions/handlers/sync-application.ts";
import {
  makeSyncExternalSecret,
  syncExternalSecretInputSchema,
} from "../functions/handlers/sync-external-secret.ts";
import { makeWatchRollout, watchRolloutInputSchema } from "../functions/handlers/watch-rollout.ts";
import { makeWatchSync, watchSyncInputSchema } from "../functions/handlers/watch-sync.ts";
import { type FunctionName, functions } from "../functions/registry.ts";
import { withHttpStack } from "../functions/wiring/http.ts";
import { withHandlerStack } from "../functions/wiring/middleware.ts";
import { logger as functionLogger } from "../functions/wiring/observability.ts";

/** A function as the runner and the gateway call it: the event in, the handler's result out. */
export type LocalFunction = (payload: unknown) => Promise<unknown>;

/** Everything the handlers need, built by the local runtime's composition root. */
export interface LocalFunctionDeps {
  config: SwitchyardConfig;
  region: string;
  account: string;
  clock: Clock;
  ids: IdGenerator;
  promotions: PromotionStore;
  gitops: GitOpsRepository;
  deployTarget: DeployTarget;
  publisher: EventPublisher;
  callbacks: WorkflowCallbacks;
  workflows: WorkflowStarter;
  secrets: SecretStore;
  idempotency: IdempotencyStore;
  images: ImageRegistry;
  approvals: ApprovalStore;
  freezes: FreezeStore;
  snapshots: SnapshotService;
  mailer: Mailer;
  incidents: IncidentStore;
  /** PagerDuty for real when its routing key is in the secret store, the outbox otherwise. */
  pager: Pager;
  /** Slack for real when its token is in the secret store, the outbox otherwise. */
  chat: ChatNotifier;
  recentChanges: RecentChanges;
  /** The runtime's own URL, known once it listens: approval links point at it unless approvals.baseUrl is set. */
  baseUrl: () => string;
  /** The approver a local per-approver bearer token belongs to. */
  approverForToken: (token: string) => Promise<string | undefined>;
  /** The real Kubernetes adapter for ExternalSecrets, Secrets and Deployments, on the simulated cluster. */
  workloads: WorkloadTarget;
  /** PostgreSQL as the rotation function reaches it (the embedded server). */
  database: DatabaseAdmin;
}

/** A Lambda context for an in-process invocation, with the function's configured timeout. */
export const lambdaContext = (
  name: FunctionName,
  deps: Pick<LocalFunctionDeps, "region" | "account">,
): Context => {
  const functionName = `switchyard-${name}`;
  const deadline = Date.now() + functions[name].timeoutSeconds * 1000;
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: "$LATEST",
    invokedFunctionArn: `arn:aws:lambda:${deps.region}:${deps.account}:function:${functionName}`,
    memoryLimitInMB: String(functions[name].memoryMb),
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: "local",
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
};

/**
 * Every function of `functions/registry.ts`, wired with local dependencies and wrapped in the same middleware
 * as in Lambda.
 *
 * @example
 * const fns = localFunctions(deps);
 * await fns["resolve-services"]({ repository: "checkout", environment: null, services: null, promotionId: null });
 */
export const localFunctions = (deps: LocalFunctionDeps): Record<FunctionName, LocalFunction> => {
  const { config, clock } = deps;
  const approvalDeps = {
    config,
    approvals: deps.approvals,
    promotions: deps.promotions,
    callbacks: deps.callbacks,
    publisher: deps.publisher,
    clock,
  };
  const snapshotRun = {
    config,
    snapshots: deps.snapshots,
    publisher: deps.publisher,
    clock: deps.clock,
    // The functions' own Powertools logger, as on Lambda.
    logger: {
      warn: (message: string, attributes: Record<string, unknown>) =>
        functionLogger.warn(message, attributes),
    },
  };
  const incident: IncidentDeps = {
    config,
    incidents: deps.incidents,
    freezes: deps.freezes,
    pager: deps.pager,
    chat: deps.chat,
    mailer: deps.mailer,
    callbacks: deps.callbacks,
    workflows: deps.workflows,
    publisher: deps.publisher,
    clock: deps.clock,
    ids: deps.ids,
    recentChanges: deps.recentChanges,
    ackUrl: makeAckUrl({
      config,
      secrets: deps.secrets,
      baseUrl: () => config.incidents.baseUrl ?? deps.baseUrl(),
      clock: deps.clock,
      onSignFailure: (error) =>
        functionLogger.warn("acknowledge links are unsigned: the link key could not be read", {
          error: error instanceof Error ? error.message : String(error),
        }),
    }),
  };
  const handlers = {
    "resolve-services": withHandlerStack(makeResolveServices({ config }), resolveServicesInputSchema),
    "decide-promotion": withHandlerStack(
      makeDecidePromotion({ config, store: deps.promotions, registry: deps.images, clock }),
      decidePromotionInputSchema,
    ),
    "commit-images": withHandlerStack(
      makeCommitImages({
        config,
        store: deps.promotions,
        gitops: deps.gitops,
        callbacks: deps.callbacks,
        clock,
      }),
      SqsSchema,
    ),
    "watch-sync": withHandlerStack(
      makeWatchSync({
        config,
        deployTarget: deps.deployTarget,
        gitops: deps.gitops,
        store: deps.promotions,
        clock,
      }),
      watchSyncInputSchema,
    ),
    "finish-promotion": withHandlerStack(
      makeFinishPromotion({
        store: deps.promotions,
        approvals: deps.approvals,
        publisher: deps.publisher,
        clock,
      }),
      finishPromotionInputSchema,
    ),
    "promote-next-environment": withHandlerStack(
      makePromoteNextEnvironment({ config, promotions: deps.promotions, workflows: deps.workflows }),
      promoteNextEnvironmentEventSchema,
    ),
    "gate-promotion": withHandlerStack(
      makeGatePromotion({ config, freezes: deps.freezes, store: deps.promotions, clock }),
      gatePromotionInputSchema,
    ),
    "snapshot-before-change": withHandlerStack(
      makeSnapshotBeforeChange({
        config,
        snapshots: deps.snapshots,
        store: deps.promotions,
        publisher: deps.publisher,
        clock,
      }),
      snapshotBeforeChangeInputSchema,
    ),
    "request-approval": withHandlerStack(
      makeRequestApproval({
        ...approvalDeps,
        gitops: deps.gitops,
        mailer: deps.mailer,
        secrets: deps.secrets,
        baseUrl: () => config.approvals.baseUrl ?? deps.baseUrl(),
      }),
      requestApprovalInputSchema,
    ),
    "expire-approval": withHandlerStack(makeExpireApproval(approvalDeps), expireApprovalInputSchema),
    "sync-application": withHandlerStack(
      makeSyncApplication({ config, deployTarget: deps.deployTarget, clock }),
      syncApplicationInputSchema,
    ),
    "revert-promotion": withHandlerStack(
      makeRevertPromotion({ config, store: deps.promotions, gitops: deps.gitops, clock }),
      revertPromotionInputSchema,
    ),
    approvals: withHttpStack(
      makeApprovalsApi({
        ...approvalDeps,
        secrets: deps.secrets,
        // Locally there is no IAM: reading is open on the loopback, deciding needs a link or an approver token.
        anonymousCanRead: true,
        approverForToken: deps.approverForToken,
      }),
    ),
    freezes: withHttpStack(
      makeFreezes({ config, freezes: deps.freezes, clock, trustUserHeader: true }),
      freezesRequest,
    ),
    quarantine: withHttpStack(makeQuarantine({ promotions: deps.promotions }), quarantineRequest),
    "rotate-secret": withHandlerStack(
      makeRotateSecret({ config, secrets: deps.secrets, database: deps.database, clock }),
      rotateSecretEventSchema,
    ),
    "plan-secret-rollout": withHandlerStack(
      makePlanSecretRollout({ config, secrets: deps.secrets }),
      planSecretRolloutInputSchema,
    ),
    "sync-external-secret": withHandlerStack(
      makeSyncExternalSecret({ config, workloads: deps.workloads, clock }),
      syncExternalSecretInputSchema,
    ),
    "restart-deployment": withHandlerStack(
      makeRestartDeployment({ config, workloads: deps.workloads, freezes: deps.freezes, clock }),
      restartDeploymentInputSchema,
    ),
    "watch-rollout": withHandlerStack(
      makeWatchRollout({ config, workloads: deps.workloads, clock }),
      watchRolloutInputSchema,
    ),
    "finish-secret-rollout": withHandlerStack(
      makeFinishSecretRollout({ publisher: deps.publisher, clock }),
      finishSecretRolloutInputSchema,
    ),
    "promote-from-github": withHandlerStack(
      makePromoteFromGithub({ config, workflows: deps.workflows }),
      promoteFromGithubEventSchema,
    ),
    "ingest-github-webhook": withHttpStack(
      makeIngestGithubWebhook({
        secrets: deps.secrets,
        secretName: config.github.webhookSecret,
        overlapHours: overlapHoursOf(config, config.github.webhookSecret),
        idempotency: deps.idempotency,
        publisher: deps.publisher,
        clock,
      }),
    ),
    "start-promotion": withHttpStack(
      // Locally no authorizer runs, so the caller names themselves with x-switchyard-user.
      makeStartPromotion({ config, workflows: deps.workflows, clock, ids: deps.ids, trustUserHeader: true }),
      startPromotionRequest,
    ),
    "get-promotions": withHttpStack(makeGetPromotions({ promotions: deps.promotions }), getPromotionsRequest),
    "list-environments": withHttpStack(makeListEnvironments({ config, promotions: deps.promotions })),
    "plan-snapshots": withHandlerStack(makePlanSnapshots(snapshotRun), planSnapshotsInputSchema),
    "create-snapshot": withHandlerStack(makeCreateSnapshot(snapshotRun), createSnapshotInputSchema),
    "copy-snapshot": withHandlerStack(makeCopySnapshot(snapshotRun), copySnapshotInputSchema),
    "finish-snapshot": withHandlerStack(makeFinishSnapshot(snapshotRun), finishSnapshotInputSchema),
    "prune-snapshots": withHandlerStack(makePruneSnapshots(snapshotRun), pruneSnapshotsInputSchema),
    "plan-restore-drills": withHandlerStack(makePlanRestoreDrills(snapshotRun), planRestoreDrillsInputSchema),
    "start-restore-drill": withHandlerStack(makeStartRestoreDrill(snapshotRun), startRestoreDrillInputSchema),
    "run-smoke-query": withHandlerStack(makeRunSmokeQuery(snapshotRun), runSmokeQueryInputSchema),
    "finish-restore-drill": withHandlerStack(
      makeFinishRestoreDrill(snapshotRun),
      finishRestoreDrillInputSchema,
    ),
    snapshots: withHttpStack(
      makeSnapshots({
        config,
        snapshots: deps.snapshots,
        workflows: deps.workflows,
        ids: deps.ids,
        trustUserHeader: true,
      }),
      snapshotsRequest,
    ),
    "ingest-alertmanager-webhook": withHttpStack(
      makeIngestAlertmanagerWebhook({ config, secrets: deps.secrets, publisher: deps.publisher, clock }),
      ingestAlertmanagerWebhookRequest,
    ),
    "normalize-alarm": withHandlerStack(
      makeNormalizeAlarm({ config, publisher: deps.publisher }),
      normalizeAlarmEventSchema,
    ),
    "normalize-failure": withHandlerStack(
      makeNormalizeFailure({ config, publisher: deps.publisher, incidents: deps.incidents }),
      normalizeFailureEventSchema,
    ),
    incidents: withHttpStack(
      makeIncidents({
        config,
        incidents: deps.incidents,
        callbacks: deps.callbacks,
        publisher: deps.publisher,
        clock,
        secrets: deps.secrets,
        anonymousCanRead: true,
        trustUserHeader: true,
      }),
      incidentsRequest,
    ),
    "ingest-pagerduty-webhook": withHttpStack(
      makeIngestPagerdutyWebhook({
        config,
        secrets: deps.secrets,
        incidents: deps.incidents,
        callbacks: deps.callbacks,
        publisher: deps.publisher,
        clock,
      }),
      ingestPagerdutyWebhookRequest,
    ),
    "route-alert": withHandlerStack(makeRouteAlert(incident), routeAlertEventSchema),
    "open-incident": withHandlerStack(makeOpenIncident(incident), openIncidentInputSchema),
    "notify-incident": withHandlerStack(makeNotifyIncident(incident), notifyIncidentInputSchema),
    "await-incident": withHandlerStack(makeAwaitIncident(incident), awaitIncidentInputSchema),
    "escalate-incident": withHandlerStack(makeEscalateIncident(incident), escalateIncidentInputSchema),
    "close-incident": withHandlerStack(makeCloseIncident(incident), closeIncidentInputSchema),
  } satisfies Record<FunctionName, unknown>;
  return Object.fromEntries(
    Object.entries(handlers).map(([name, handler]) => [
      name,
      (payload: unknown) =>
        (handler as (event: never, context: Context) => Promise<unknown>)(
          payload as never,
          lambdaContext(name as FunctionName, deps),
        ),
    ]),
  ) as Record<FunctionName, LocalFunction>;
};
