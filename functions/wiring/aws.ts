// Composition root of the Lambda functions: the real AWS adapters, each built once per cold start, on first use.

import { randomUUID } from "node:crypto";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DescribeImagesCommand, ECRClient } from "@aws-sdk/client-ecr";
import { EKSClient } from "@aws-sdk/client-eks";
import { EventBridgeClient } from "@aws-sdk/client-eventbridge";
import { RDSClient } from "@aws-sdk/client-rds";
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { SESv2Client } from "@aws-sdk/client-sesv2";
import { SFNClient } from "@aws-sdk/client-sfn";
import { fromNodeProviderChain } from "@aws-sdk/credential-providers";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { Octokit } from "@octokit/rest";
import type { WorkflowName } from "../../workflows/registry.ts";
import { DynamoDbApprovalStore } from "../adapters/aws/dynamodb-approval-store.ts";
import { DynamoDbFreezeStore } from "../adapters/aws/dynamodb-freeze-store.ts";
import { DynamoDbIdempotencyStore } from "../adapters/aws/dynamodb-idempotency-store.ts";
import { DynamoDbIncidentStore } from "../adapters/aws/dynamodb-incident-store.ts";
import { DynamoDbPromotionStore } from "../adapters/aws/dynamodb-promotion-store.ts";
import { EcrImageRegistry } from "../adapters/aws/ecr-image-registry.ts";
import { eksDeployTarget, eksWorkloadTarget } from "../adapters/aws/eks-deploy-target.ts";
import { EventBridgeEventPublisher } from "../adapters/aws/eventbridge-event-publisher.ts";
import { RdsSnapshotService } from "../adapters/aws/rds-snapshot-service.ts";
import { SecretsManagerSecretStore } from "../adapters/aws/secrets-manager-secret-store.ts";
import { SesMailer } from "../adapters/aws/ses-mailer.ts";
import { StepFunctionsWorkflowCallbacks } from "../adapters/aws/step-functions-callbacks.ts";
import { StepFunctionsWorkflowStarter } from "../adapters/aws/step-functions-workflow-starter.ts";
import { GitHubGitOpsRepository } from "../adapters/github/github-gitops-repository.ts";
import { EventsApiPager } from "../adapters/pagerduty/events-api-pager.ts";
import { PgDatabaseAdmin } from "../adapters/postgres/pg-database-admin.ts";
import { SlackWebApiNotifier } from "../adapters/slack/web-api-notifier.ts";
import type { CommitImagesDeps } from "../core/commit-images.ts";
import type { SwitchyardConfig } from "../core/config.ts";
import type { FinishPromotionDeps } from "../core/finish-promotion.ts";
import { makeAckUrl } from "../core/incident-links.ts";
import type { IncidentDeps } from "../core/incidents.ts";
import type { PlanPromotionDeps } from "../core/plan-promotion.ts";
import type {
  ApprovalStore,
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
  PromotionStore,
  SecretStore,
  SnapshotService,
  WorkflowCallbacks,
  WorkflowStarter,
  WorkloadTarget,
} from "../core/ports.ts";
import { PromotionRecentChanges } from "../core/recent-changes.ts";
import type { ApprovalDeps, RequestApprovalDeps } from "../core/request-approval.ts";
import type { RestoreDrillDeps } from "../core/restore-drill.ts";
import type { RotateSecretDeps } from "../core/rotate-secret.ts";
import type {
  FinishSecretRolloutDeps,
  PlanSecretRolloutDeps,
  RestartDeploymentDeps,
  SyncExternalSecretDeps,
  WatchRolloutDeps,
} from "../core/secret-rollout.ts";
import type { SnapshotRunDeps } from "../core/snapshot-run.ts";
import type { WatchSyncDeps } from "../core/watch-sync.ts";
import { loadConfig } from "./config.ts";
import { envNames, optionalEnv, requireEnv } from "./env.ts";
import { logger } from "./observability.ts";

/**
 * A value built on first call and shared afterwards. Nothing is built at import, so tests and the local runtime
 * can import a handler module for its factory without AWS variables; `coldStart` calls these during INIT in Lambda,
 * so a missing variable still fails the cold start. Every `once(...)` below is marked `@__PURE__` (creating the
 * closure has no effect), so esbuild drops the ones a handler never uses, and their SDK clients with them: a
 * function's bundle carries the adapters it needs, not all of them.
 */
const once = <T>(build: () => T): (() => T) => {
  let built: { value: T } | undefined;
  return () => {
    built ??= { value: build() };
    return built.value;
  };
};

/** The system clock; the core never reads time any other way. */
export const clock: Clock = { now: () => new Date() };

/** Random (version 4) UUIDs, the ids the promotion contract expects. */
export const ids: IdGenerator = { next: () => randomUUID() };

/** switchyard.yaml as bundled with the function, validated. */
export const awsConfig = /* @__PURE__ */ once(
  (): SwitchyardConfig => loadConfig(requireEnv(envNames.config)),
);

const documentClient = /* @__PURE__ */ once(() => DynamoDBDocumentClient.from(new DynamoDBClient({})));
const sfnClient = /* @__PURE__ */ once(() => new SFNClient({}));

export const secretStore = /* @__PURE__ */ once(
  (): SecretStore => new SecretsManagerSecretStore(new SecretsManagerClient({})),
);

export const eventPublisher = /* @__PURE__ */ once(
  (): EventPublisher =>
    new EventBridgeEventPublisher(new EventBridgeClient({}), requireEnv(envNames.eventBusName)),
);

export const promotionStore = /* @__PURE__ */ once(
  (): PromotionStore =>
    new DynamoDbPromotionStore({
      client: documentClient(),
      tableName: requireEnv(envNames.promotionTable),
      clock,
    }),
);

export const idempotencyStore = /* @__PURE__ */ once(
  (): IdempotencyStore =>
    new DynamoDbIdempotencyStore({
      client: documentClient(),
      tableName: requireEnv(envNames.idempotencyTable),
      clock,
    }),
);

/** Each workflow's state machine, read only by the functions that start it (the variable is set on those). */
export const workflowStarter = /* @__PURE__ */ once(
  (): WorkflowStarter =>
    new StepFunctionsWorkflowStarter({
      client: sfnClient(),
      // Each starting function gets the ARNs of the workflows it starts, and only those.
      stateMachineArns: Object.fromEntries(
        Object.entries({
          "promote-image": optionalEnv(envNames.promoteImageStateMachineArn),
          "production-sync": optionalEnv(envNames.productionSyncStateMachineArn),
          // Only its EventBridge rule starts it; no function does.
          "secret-rollout": undefined,
          "rds-snapshot": optionalEnv(envNames.rdsSnapshotStateMachineArn),
          "restore-drill": optionalEnv(envNames.restoreDrillStateMachineArn),
          "incident-escalation": optionalEnv(envNames.incidentEscalationStateMachineArn),
        } satisfies Record<WorkflowName, string | undefined>).filter(
          (entry): entry is [string, string] => entry[1] !== undefined,
        ),
      ),
    }),
);

export const workflowCallbacks = /* @__PURE__ */ once(
  (): WorkflowCallbacks => new StepFunctionsWorkflowCallbacks(sfnClient()),
);

/** ECR: names the digest of a tag and the tags of a digest for the Decide step. */
export const imageRegistry = /* @__PURE__ */ once(
  (): ImageRegistry =>
    new EcrImageRegistry({ client: new ECRClient({}), describeImagesCommand: DescribeImagesCommand }),
);

/** Dependencies of the decide-promotion function. */
export const planPromotionDeps = (): PlanPromotionDeps => ({
  config: awsConfig(),
  store: promotionStore(),
  registry: imageRegistry(),
  clock,
});

/** Dependencies of the finish-promotion function. */
export const finishPromotionDeps = (): FinishPromotionDeps => ({
  store: promotionStore(),
  approvals: approvalStore(),
  publisher: eventPublisher(),
  clock,
});

export const approvalStore = /* @__PURE__ */ once(
  (): ApprovalStore =>
    new DynamoDbApprovalStore({ client: documentClient(), tableName: requireEnv(envNames.approvalTable) }),
);

export const freezeStore = /* @__PURE__ */ once(
  (): FreezeStore =>
    new DynamoDbFreezeStore({ client: documentClient(), tableName: requireEnv(envNames.freezeTable) }),
);

/** Approval e-mails through SES v2, from the verified sender switchyard.yaml names. */
export const mailer = /* @__PURE__ */ once(
  (): Mailer => new SesMailer({ client: new SESv2Client({}), from: awsConfig().approvals.sender }),
);

export const snapshotService = /* @__PURE__ */ once((): SnapshotService => {
  const { drill } = awsConfig().snapshots;
  return new RdsSnapshotService({
    client: new RDSClient({}),
    clock,
    drill: {
      masterSecrets: drill.masterSecrets,
      ...(drill.instanceClass !== undefined && { instanceClass: drill.instanceClass }),
      ...(drill.subnetGroupName !== undefined && { subnetGroupName: drill.subnetGroupName }),
      ...(drill.securityGroupIds !== undefined && { securityGroupIds: drill.securityGroupIds }),
    },
    secrets: secretStore(),
  });
});

/** Dependencies of the rds-snapshot workflow's functions. */
export const snapshotRunDeps = (): SnapshotRunDeps => ({
  config: awsConfig(),
  snapshots: snapshotService(),
  publisher: eventPublisher(),
  clock,
  logger: { warn: (message, attributes) => logger.warn(message, attributes) },
});

/** Dependencies of the restore-drill workflow's functions. */
export const restoreDrillDeps = (): RestoreDrillDeps => ({
  config: awsConfig(),
  snapshots: snapshotService(),
  publisher: eventPublisher(),
  clock,
});

/** Where e-mailed approval links point: switchyard.yaml's approvals.baseUrl, else the approval pages API. */
export const approvalBaseUrl = (): string =>
  awsConfig().approvals.baseUrl ?? requireEnv(envNames.approvalPagesUrl);

/** Dependencies of the approval functions: recording votes and closing requests. */
export const approvalDeps = (): ApprovalDeps => ({
  config: awsConfig(),
  approvals: approvalStore(),
  promotions: promotionStore(),
  callbacks: workflowCallbacks(),
  publisher: eventPublisher(),
  clock,
});

/** Dependencies of the request-approval function. */
export const requestApprovalDeps = (): RequestApprovalDeps => ({
  ...approvalDeps(),
  gitops: gitopsRepository(),
  mailer: mailer(),
  secrets: secretStore(),
  baseUrl: approvalBaseUrl,
});

/** How long a GitHub token read from Secrets Manager is reused: a rotated token is picked up within this time. */
const githubTokenCacheMs = 5 * 60 * 1000;

/** The GitHub token the GitOps writer commits with, from the secret switchyard.yaml names; never logged. */
const githubToken = /* @__PURE__ */ (() => {
  let cached: { value: Promise<string>; atMs: number } | undefined;
  return (): Promise<string> => {
    if (!cached || Date.now() - cached.atMs > githubTokenCacheMs) {
      const value = secretStore()
        .getSecretValue(awsConfig().github.tokenSecret)
        .then((secret) => secret.secretString);
      value.catch(() => {
        cached = undefined;
      });
      cached = { value, atMs: Date.now() };
    }
    return cached.value;
  };
})();

/** The GitOps repository on GitHub, written through the Git Data API. */
export const gitopsRepository = /* @__PURE__ */ once((): GitOpsRepository => {
  const { repository, branch } = awsConfig().gitops;
  const [owner = "", repo = ""] = repository.split("/");
  const octokit = new Octokit({
    // Octokit logs every failed request (expected 404s included) to the console; route it to the structured log.
    log: {
      debug: () => {},
      info: () => {},
      warn: (m: string) => logger.warn(m),
      error: (m: string) => logger.error(m),
    },
  });
  octokit.hook.before("request", async (options) => {
    options.headers.authorization = `token ${await githubToken()}`;
  });
  return new GitHubGitOpsRepository({ octokit, owner, repo, branch });
});

/** Argo CD on the platform's EKS cluster. */
export const deployTarget = /* @__PURE__ */ once(
  (): DeployTarget =>
    eksDeployTarget({
      eks: new EKSClient({}),
      clusterName: requireEnv(envNames.eksClusterName),
      region: requireEnv(envNames.awsRegion),
      credentials: fromNodeProviderChain(),
    }),
);

/** Dependencies of the commit-images function (the GitOps writer). */
export const commitImagesDeps = (): CommitImagesDeps => ({
  config: awsConfig(),
  store: promotionStore(),
  gitops: gitopsRepository(),
  callbacks: workflowCallbacks(),
  clock,
});

/** Dependencies of the watch-sync function. */
export const watchSyncDeps = (): WatchSyncDeps => ({
  config: awsConfig(),
  deployTarget: deployTarget(),
  gitops: gitopsRepository(),
  store: promotionStore(),
  clock,
});

/** PostgreSQL for secret rotation: TLS with a verified certificate to every non-loopback host. */
export const databaseAdmin = /* @__PURE__ */ once((): DatabaseAdmin => new PgDatabaseAdmin({ ssl: true }));

/** Dependencies of the rotate-secret function (Secrets Manager's rotation function). */
export const rotateSecretDeps = (): RotateSecretDeps => ({
  config: awsConfig(),
  secrets: secretStore(),
  database: databaseAdmin(),
  clock,
});

/** ExternalSecrets, Secrets and Deployments on the platform's EKS cluster. */
export const workloadTarget = /* @__PURE__ */ once(
  (): WorkloadTarget =>
    eksWorkloadTarget({
      eks: new EKSClient({}),
      clusterName: requireEnv(envNames.eksClusterName),
      region: requireEnv(envNames.awsRegion),
      credentials: fromNodeProviderChain(),
    }),
);

/** Dependencies of the plan-secret-rollout function. */
export const planSecretRolloutDeps = (): PlanSecretRolloutDeps => ({
  config: awsConfig(),
  secrets: secretStore(),
});

/** Dependencies of the sync-external-secret function. */
export const syncExternalSecretDeps = (): SyncExternalSecretDeps => ({
  config: awsConfig(),
  workloads: workloadTarget(),
  clock,
});

/** Dependencies of the restart-deployment function: freezes of the consumer's service hold a restart. */
export const restartDeploymentDeps = (): RestartDeploymentDeps => ({
  config: awsConfig(),
  workloads: workloadTarget(),
  freezes: freezeStore(),
  clock,
});

/** Dependencies of the watch-rollout function. */
export const watchRolloutDeps = (): WatchRolloutDeps => ({
  config: awsConfig(),
  workloads: workloadTarget(),
  clock,
});

/** Dependencies of the finish-secret-rollout function. */
export const finishSecretRolloutDeps = (): FinishSecretRolloutDeps => ({
  publisher: eventPublisher(),
  clock,
});

export const incidentStore = /* @__PURE__ */ once(
  (): IncidentStore =>
    new DynamoDbIncidentStore({
      client: documentClient(),
      tableName: requireEnv(envNames.incidentTable),
      clock,
    }),
);

/** Dependencies of the incident functions: PagerDuty and Slack through their APIs, keys from Secrets Manager. */
export const incidentDeps = /* @__PURE__ */ once((): IncidentDeps => {
  const config = awsConfig();
  return {
    config,
    incidents: incidentStore(),
    freezes: freezeStore(),
    pager: new EventsApiPager({ eventsUrl: config.incidents.pagerduty.eventsUrl, secrets: secretStore() }),
    chat: new SlackWebApiNotifier({
      apiUrl: config.incidents.slack.apiUrl,
      tokenSecret: config.incidents.slack.token.secret,
      secrets: secretStore(),
    }),
    mailer: mailer(),
    callbacks: workflowCallbacks(),
    workflows: workflowStarter(),
    publisher: eventPublisher(),
    clock,
    ids,
    recentChanges: new PromotionRecentChanges(promotionStore()),
    ackUrl: makeAckUrl({
      config,
      secrets: secretStore(),
      baseUrl: () => config.incidents.baseUrl ?? requireEnv(envNames.approvalPagesUrl),
      clock,
      onSignFailure: (error) =>
        logger.warn("acknowledge links are unsigned: the link key could not be read", {
          error: error instanceof Error ? error.message : String(error),
        }),
    }),
  };
});
