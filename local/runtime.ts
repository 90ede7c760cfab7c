// Composition root of the local runtime: config, stores, workflow runner, event bus, scheduler and gateway.

import "./shims/node20.ts";
import type { Server } from "node:http";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { rules as defaultRules, type Rule } from "../events/rules.ts";
import { schedules as defaultSchedules, type Schedule } from "../events/schedules.ts";
import type { SwitchyardConfig } from "../functions/core/config.ts";
import { loadConfig } from "../functions/wiring/config.ts";
import { type Deliver, type EventBusOptions, LocalEventBus } from "./bus/event-bus.ts";
import { openDatabase, type SqliteDatabase } from "./db.ts";
import { localFunctions } from "./functions.ts";
import { localRoutes } from "./http/routes.ts";
import { createHttpServer, listen } from "./http/server.ts";
import { localIntegrations, localSubstitutions } from "./integrations.ts";
import { createLogger, type LocalLogger } from "./log.ts";
import { LocalScheduler } from "./scheduler.ts";
import { ExecutionAlreadyExists, WorkflowRunner } from "./workflows/index.ts";

/** The repository root: workflows/ and events/ are read from here. */
export const repositoryRoot = resolve(fileURLToPath(new URL("..", import.meta.url)));

/** Local account id, the one LocalStack and the SAM CLI use, so ARNs look like AWS's but are clearly local. */
const localAccount = "000000000000";
/** Region of local ARNs when switchyard.yaml names none (the SDKs' and CLI's usual default). */
const localRegion = "us-east-1";

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
  close(): Promise<void>;
}

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
  const region = config.aws.region ?? localRegion;
  const account = config.aws.account ?? localAccount;
  const db = openDatabase(join(options.home, "state.db"));
  let server: Server | undefined;
  try {
    const fns = localFunctions({ config, region, account });
    const runner = new WorkflowRunner({
      db,
      rootDir: repositoryRoot,
      functions: fns,
      integrations: localIntegrations(() => bus),
      substitutions: localSubstitutions,
      region,
      account,
      logger,
    });
    const deliver: Deliver = async (rule, payload, delivery) => {
      if (rule.target.kind === "workflow") {
        const workflow = rule.target.workflow;
        try {
          const started = await runner.startExecution({ workflow, name: delivery.name, input: payload });
          return started.executionArn;
        } catch (error) {
          // The name is derived from (rule, event): an execution that has it — even one that already ended —
          // was started by an earlier attempt of this very delivery, cut short by a crash before it was marked.
          if (!(error instanceof ExecutionAlreadyExists)) throw error;
          return (await runner.describeExecution(`${workflow}:${delivery.name}`)).executionArn;
        }
      }
      await fns[rule.target.function](payload);
      return `function:${rule.target.function}`;
    };
    const bus = new LocalEventBus({
      db,
      rules: options.rules ?? defaultRules,
      deliver,
      region,
      account,
      logger,
      ...options.bus,
    });
    const scheduler = new LocalScheduler({
      schedules: options.schedules ?? defaultSchedules,
      logger,
      fire: async (schedule, scheduledTime) => {
        const name = `${schedule.name}-${scheduledTime.getTime()}`.slice(0, 80);
        await deliver({ ...ruleForSchedule(schedule) }, schedule.input, { eventId: name, name });
      },
    });

    await runner.resume();
    bus.start();
    scheduler.start();
    server = createHttpServer(localRoutes({ bus, runner }), logger);
    const address = await listen(server, options.port, options.host ?? "127.0.0.1");
    const url = `http://${address.address}:${address.port}`;
    logger.info(`switchyard is listening on ${url}`, { home: options.home, config: options.configPath });
    const listening = server;
    return {
      url,
      port: address.port,
      config,
      bus,
      runner,
      db,
      close: async () => {
        await new Promise<void>((done) => {
          listening.close(() => done());
          listening.closeAllConnections();
        });
        await scheduler.stop();
        await bus.stop();
        await runner.close();
        db.close();
      },
    };
  } catch (error) {
    server?.close();
    db.close();
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
