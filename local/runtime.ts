// Composition root of the local runtime: config, stores, GitOps repo, simulated cluster, runner, bus, queues, gateway.

import "./shims/node20.ts";
import { randomBytes, randomUUID } from "node:crypto";
import type { Server } from "node:http";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { compilePattern } from "../events/pattern.ts";
import { rules as defaultRules, type Rule } from "../events/rules.ts";
import { type Schedule, schedulesFor } from "../events/schedules.ts";
import {
  KubernetesDeployTarget,
  kubeConfigFor,
} from "../functions/adapters/kubernetes/kubernetes-deploy-target.ts";
import { KubernetesWorkloadTarget } from "../functions/adapters/kubernetes/kubernetes-workload-target.ts";
import { EventsApiPager } from "../functions/adapters/pagerduty/events-api-pager.ts";
import { PgDatabaseAdmin } from "../functions/adapters/postgres/pg-database-admin.ts";
import { SlackWebApiNotifier } from "../functions/adapters/slack/web-api-notifier.ts";
import { degradedMatches, type SwitchyardConfig, valuesFile } from "../functions/core/config.ts";
import { ensureLinkKey } from "../functions/core/link-token.ts";
import type {
  DeployTarget,
  SecretStore,
  WorkflowCallbacks,
  WorkflowStarter,
} from "../functions/core/ports.ts";
import { type ChangeEvent, EventLogRecentChanges } from "../functions/core/recent-changes.ts";
import { readImage } from "../functions/core/values-file.ts";
import { type QueueName, queues } from "../functions/registry.ts";
import { loadConfig } from "../functions/wiring/config.ts";
import type { WorkflowName } from "../workflows/registry.ts";
import { BusEventPublisher } from "./adapters/bus-event-publisher.ts";
import { GitGitOpsRepository } from "./adapters/git-gitops-repository.ts";
import { LocalSnapshotService } from "./adapters/local-snapshot-service.ts";
import {
  fallbackChatNotifier,
  fallbackPager,
  OutboxChatNotifier,
  OutboxPager,
} from "./adapters/outbox-incident-notifiers.ts";
import { OutboxMailer } from "./adapters/outbox-mailer.ts";
import { SqliteApprovalStore } from "./adapters/sqlite-approval-store.ts";
import { SqliteFreezeStore } from "./adapters/sqlite-freeze-store.ts";
import { SqliteIdempotencyStore } from "./adapters/sqlite-idempotency-store.ts";
import { SqliteImageRegistry } from "./adapters/sqlite-image-registry.ts";
import { SqliteIncidentStore } from "./adapters/sqlite-incident-store.ts";
import { SqlitePromotionStore } from "./adapters/sqlite-promotion-store.ts";
import { approverForToken, ensureApproverTokens } from "./approver-tokens.ts";
import { type Deliver, type EventBusOptions, LocalEventBus } from "./bus/event-bus.ts";
import {
  type SimulatedCluster,
  simulatedApplications,
  simulatedWorkloads,
  startSimulatedCluster,
} from "./cluster/simulated-cluster.ts";
import { openDatabase, type SqliteDatabase } from "./db.ts";
import { localFunctions } from "./functions.ts";
import { seedFiles } from "./gitops-seed.ts";
import { apiGatewayRoutes } from "./http/apigw.ts";
import { localRoutes } from "./http/routes.ts";
import { createHttpServer, listen } from "./http/server.ts";
import { recordImageEvent } from "./image-recorder.ts";
import { localIntegrations, localSubstitutions } from "./integrations.ts";
import { createLogger, type LocalLogger } from "./log.ts";
import { LocalFifoQueue } from "./queue/fifo-queue.ts";
import { LocalRotations } from "./rotations.ts";
import { startSampleDatabases } from "./sample-databases.ts";
import { LocalScheduler } from "./scheduler.ts";
import { openLocalSecretStore } from "./secrets.ts";
import { ExecutionAlreadyExists, WorkflowRunner } from "./workflows/index.ts";

/** The repository root: workflows/ and events/ are read from here. */
export const repositoryRoot = resolve(fileURLToPath(new URL("..", import.meta.url)));

/** Local account id, the one LocalStack and the SAM CLI use, so ARNs look like AWS's but are clearly local. */
const localAccount = "000000000000";
/** Region of local ARNs when switchyard.yaml names none (the SDKs' and CLI's usual default). */
const localRegion = "us-east-1";
const millisecondsPerSecond = 1000;
/** Bytes of randomness in a webhook secret generated for a fresh local home. */
const generatedSecretBytes = 32;

export interface RuntimeOptions {
  home: string;
  /** 0 picks a free port. */
  port: number;
  configPath: string;
  host?: string;
  logger?: LocalLogger;
  rules?: readonly Rule[];
  schedules?: readonly Schedule[];
  bus?: Pick<EventBusOptions, "baseBackoffMs" | "maxBackoffMs" | "concurrency">;
}

export interface Runtime {
  url: string;
  port: number;
  config: SwitchyardConfig;
  bus: LocalEventBus;
  runner: WorkflowRunner;
  db: SqliteDatabase;
  /** The real Kubernetes adapter, pointed at the simulated cluster. */
  deployTarget: DeployTarget;
  cluster: SimulatedCluster;
  secrets: SecretStore;
  close(): Promise<void>;
}

/** Where the local SnapshotService keeps its pg_dump files, under $SWITCHYARD_HOME. */
export const snapshotsDirectory = "snapshots";

/** Where the local Mailer writes approval e-mails, under $SWITCHYARD_HOME. */
export const outboxDirectory = "outbox";

const systemClock = { now: () => new Date() };
const uuids = { next: () => randomUUID() };
/** How many of the newest events an incident's "recent changes" look through. */
const recentEventsRead = 1000;

/** Everyone who approves a gated environment in switchyard.yaml. */
const gatedApprovers = (config: SwitchyardConfig): string[] =>
  config.environments.flatMap((e) => (e.approval === "none" ? [] : e.approval.approvers));

/** A fresh home gets a random webhook secret, so signature checks work from the first start. */
const ensureWebhookSecret = async (
  secrets: SecretStore,
  name: string,
  logger: LocalLogger,
): Promise<void> => {
  if ((await secrets.listSecrets()).some((s) => s.name === name)) return;
  await secrets.createSecret({ name, secretString: randomBytes(generatedSecretBytes).toString("hex") });
  logger.info(
    `created the GitHub webhook secret ${name}; set your own with: switchyard secrets put ${name} -`,
  );
};

/**
 * Starts the local control plane and resolves once `GET /healthz` would answer 200. Throws `ConfigError`
 * for an invalid configuration and `InvalidEventPatternError` for an invalid rule, before anything listens.
 *
 * @example
 * const runtime = await startRuntime({ home: ".switchyard", port: 3000, configPath: "switchyard.yaml" });
 */
export const startRuntime = async (options: RuntimeOptions): Promise<Runtime> => {
  const logger = options.logger ?? createLogger();
  const config = loadConfig(options.configPath);
  // A bad rule is refused before anything starts (the embedded PostgreSQL, the cluster, the listener).
  for (const rule of options.rules ?? defaultRules) compilePattern(rule.pattern);
  const region = config.aws.region ?? localRegion;
  const account = config.aws.account ?? localAccount;
  const db = openDatabase(join(options.home, "state.db"));
  const secrets = openLocalSecretStore(options.home, { region, account });
  const closers: (() => Promise<void> | void)[] = [() => db.close(), () => secrets.close()];
  const closeAll = async () => {
    for (const close of closers.splice(0).reverse()) await close();
  };
  try {
    await ensureWebhookSecret(secrets, config.github.webhookSecret, logger);
    await ensureLinkKey(secrets, config.approvals.linkKeySecret, () =>
      randomBytes(generatedSecretBytes).toString("hex"),
    );
    await ensureApproverTokens(secrets, gatedApprovers(config));
    const gitops = await GitGitOpsRepository.init(join(options.home, "gitops"), {
      files: seedFiles(config),
      branch: config.gitops.branch,
    });
    const database = new PgDatabaseAdmin({ ssl: true });
    const localInstances = new Set(config.local.postgres.databases.map((d) => d.instance));
    for (const service of config.services) {
      if (service.database && !localInstances.has(service.database)) {
        logger.warn(
          "a service's database has no local stand-in: its gated promotions cannot take the pre-change snapshot here",
          {
            service: service.name,
            database: service.database,
            fix: "add it to local.postgres.databases with instance set to this identifier",
          },
        );
      }
    }
    const postgres = await startSampleDatabases({ home: options.home, config, secrets, database, logger });
    if (postgres) closers.push(() => postgres.stop());
    const cluster = await startSimulatedCluster({
      applications: simulatedApplications(config),
      workloads: simulatedWorkloads(
        config,
        async ({ key }) => (await secrets.getSecretValue(key)).secretString,
        { rolloutDelayMs: config.local.argo.syncDelaySeconds * millisecondsPerSecond },
      ),
      resolveRevision: () => gitops.head(),
      syncDelayMs: config.local.argo.syncDelaySeconds * millisecondsPerSecond,
      degraded: async ({ service, environment }, revision) => {
        const rules = config.local.argo.degraded;
        if (!rules.some((rule) => (typeof rule === "string" ? rule : rule.service) === service)) return false;
        const serviceConfig = config.services.find((s) => s.name === service);
        const path = serviceConfig ? valuesFile(serviceConfig, environment) : undefined;
        const file = path ? await gitops.readFile(path, revision).catch(() => undefined) : undefined;
        const image = file && path ? readImage(file.content, path) : undefined;
        return degradedMatches(rules, { service, environment, ...(image ? { image } : {}) });
      },
    });
    closers.push(() => cluster.close());
    const deployTarget = new KubernetesDeployTarget(kubeConfigFor(cluster.access));
    const workloads = new KubernetesWorkloadTarget(kubeConfigFor(cluster.access));

    // The runner, the bus and the queues refer to each other; these late-bound ports break the cycle.
    let runner: WorkflowRunner | undefined;
    let bus: LocalEventBus | undefined;
    const queuesByUrl = new Map<string, LocalFifoQueue>();
    const callbacks: WorkflowCallbacks = {
      sendTaskSuccess: (token, output) => runner!.sendTaskSuccess(token, output),
      sendTaskFailure: (token, error, cause) => runner!.sendTaskFailure(token, error, cause),
    };
    const workflows: WorkflowStarter = {
      start: async (workflow, input, name) => {
        try {
          return await runner!.startExecution({
            workflow: workflow as WorkflowName,
            input,
            ...(name ? { name } : {}),
          });
        } catch (error) {
          // As StartExecution: a repeated start with the same name answers with the execution that has it.
          if (!(error instanceof ExecutionAlreadyExists) || !name) throw error;
          return runner!.describeExecution(`${workflow}:${name}`);
        }
      },
    };
    const images = new SqliteImageRegistry({ db });
    const snapshots = new LocalSnapshotService({
      db,
      clock: systemClock,
      dir: join(options.home, snapshotsDirectory),
      superuser: postgres?.superuser,
      databases: config.local.postgres.databases.map((d) => ({
        instance: d.instance,
        name: d.name,
        tags: d.tags,
      })),
    });
    // Closed before the PostgreSQL it dumps from (closers run in reverse).
    closers.push(() => snapshots.close());
    // Known once the gateway listens; approval e-mails are only sent after that.
    let runtimeUrl = `http://${options.host ?? "127.0.0.1"}:${options.port}`;
    const fns = localFunctions({
      config,
      region,
      account,
      clock: { now: () => new Date() },
      ids: { next: () => randomUUID() },
      promotions: new SqlitePromotionStore({ db }),
      gitops,
      deployTarget,
      publisher: new BusEventPublisher({ putEvents: (body) => bus!.putEvents(body) }),
      callbacks,
      workflows,
      secrets,
      idempotency: new SqliteIdempotencyStore({ db }),
      images,
      approvals: new SqliteApprovalStore({ db }),
      freezes: new SqliteFreezeStore({ db }),
      snapshots,
      mailer: new OutboxMailer({
        dir: join(options.home, outboxDirectory),
        from: config.approvals.sender,
        clock: systemClock,
        ids: { next: () => randomUUID() },
      }),
      incidents: new SqliteIncidentStore({ db }),
      pager: fallbackPager(
        new EventsApiPager({ eventsUrl: config.incidents.pagerduty.eventsUrl, secrets }),
        new OutboxPager({ dir: join(options.home, outboxDirectory), clock: systemClock, ids: uuids }),
        secrets,
      ),
      chat: fallbackChatNotifier(
        new SlackWebApiNotifier({
          apiUrl: config.incidents.slack.apiUrl,
          tokenSecret: config.incidents.slack.token.secret,
          secrets,
        }),
        new OutboxChatNotifier({ dir: join(options.home, outboxDirectory), clock: systemClock, ids: uuids }),
        secrets,
        config.incidents.slack.token.secret,
      ),
      recentChanges: new EventLogRecentChanges(config, async () =>
        bus!.listEvents({ limit: recentEventsRead }).map((stored) => stored.event as unknown as ChangeEvent),
      ),
      baseUrl: () => runtimeUrl,
      approverForToken: approverForToken(secrets, () => gatedApprovers(config)),
      workloads,
      database,
    });

    const queueList = (Object.keys(queues) as QueueName[]).map((name) => {
      const definition = queues[name];
      const queue = new LocalFifoQueue({
        db,
        name: definition.name,
        region,
        account,
        consumer: (event) => fns[definition.consumer](event) as never,
        batchSize: definition.batchSize,
        maxReceiveCount: definition.maxReceiveCount,
        logger,
      });
      queuesByUrl.set(queue.url, queue);
      return [name, queue] as const;
    });
    const queueUrls = Object.fromEntries(queueList.map(([name, queue]) => [name, queue.url])) as Record<
      QueueName,
      string
    >;

    runner = new WorkflowRunner({
      db,
      rootDir: repositoryRoot,
      functions: fns,
      integrations: localIntegrations({
        bus: () => bus!,
        queues: () => queuesByUrl,
        snapshots: () => snapshots,
      }),
      substitutions: localSubstitutions(queueUrls),
      region,
      account,
      logger,
    });
    const started = runner;
    closers.push(() => started.close());
    const deliver: Deliver = async (rule, payload, delivery) => {
      if (rule.target.kind === "workflow") {
        const workflow = rule.target.workflow;
        try {
          const execution = await started.startExecution({ workflow, name: delivery.name, input: payload });
          return execution.executionArn;
        } catch (error) {
          // The name is derived from (rule, event): an execution that has it — even one that already ended —
          // was started by an earlier attempt of this very delivery, cut short by a crash before it was marked.
          if (!(error instanceof ExecutionAlreadyExists)) throw error;
          return (await started.describeExecution(`${workflow}:${delivery.name}`)).executionArn;
        }
      }
      await fns[rule.target.function](payload);
      return `function:${rule.target.function}`;
    };
    bus = new LocalEventBus({
      db,
      rules: options.rules ?? defaultRules,
      deliver,
      region,
      account,
      logger,
      // The local runtime plays ECR: an image pushed on the bus is an image the registry has.
      onAccepted: (event) => recordImageEvent(images, event),
      ...options.bus,
    });
    const eventBus = bus;
    closers.push(() => eventBus.stop());
    const rotations = new LocalRotations({
      config,
      secrets,
      database,
      putEvents: (request) => eventBus.putEvents(request),
      account,
      region,
      logger,
    });
    closers.push(() => rotations.stop());
    const scheduler = new LocalScheduler({
      schedules: options.schedules ?? schedulesFor(config),
      logger,
      fire: async (schedule, scheduledTime) => {
        const name = `${schedule.name}-${scheduledTime.getTime()}`.slice(0, 80);
        await deliver({ ...ruleForSchedule(schedule) }, schedule.input, { eventId: name, name });
      },
    });

    await started.resume();
    for (const [, queue] of queueList) {
      queue.start();
      closers.push(() => queue.stop());
    }
    eventBus.start();
    scheduler.start();
    rotations.start();
    closers.push(() => scheduler.stop());

    const server: Server = createHttpServer(
      [
        ...localRoutes({ bus: eventBus, runner: started, rotations }),
        ...apiGatewayRoutes(fns, { accountId: account, region, logger }),
      ],
      logger,
    );
    const address = await listen(server, options.port, options.host ?? "127.0.0.1");
    closers.push(
      () =>
        new Promise<void>((done) => {
          server.close(() => done());
          server.closeAllConnections();
        }),
    );
    const url = `http://${address.address}:${address.port}`;
    runtimeUrl = url;
    logger.info(`switchyard is listening on ${url}`, {
      home: options.home,
      config: options.configPath,
      gitops: gitops.dir,
      cluster: cluster.url,
    });
    return {
      url,
      port: address.port,
      config,
      bus: eventBus,
      runner: started,
      db,
      deployTarget,
      cluster,
      secrets,
      close: closeAll,
    };
  } catch (error) {
    await closeAll();
    throw error;
  }
};

/** A schedule delivers like a rule would, to the same kinds of target. */
const ruleForSchedule = (schedule: Schedule): Rule => ({
  name: schedule.name,
  description: schedule.description,
  bus: "default",
  pattern: {},
  target: schedule.target,
  retryPolicy: { maximumRetryAttempts: 0, maximumEventAgeSeconds: 60 },
  deadLetterQueue: true,
});
