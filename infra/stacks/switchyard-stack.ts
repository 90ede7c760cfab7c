// The Switchyard stack: checks the registries, then wires buses, functions, workflows, rules and capabilities.

import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Stack, type StackProps } from "aws-cdk-lib";
import * as iam from "aws-cdk-lib/aws-iam";
import type * as lambda from "aws-cdk-lib/aws-lambda";
import type * as sfn from "aws-cdk-lib/aws-stepfunctions";
import { AwsSolutionsChecks, type NagPack, ServerlessChecks } from "cdk-nag";
import type { Construct, IConstruct } from "constructs";
import { compilePattern } from "../../events/pattern.ts";
import { type Rule, rules as registeredRules } from "../../events/rules.ts";
import { type Schedule, schedulesFor, validateSchedule } from "../../events/schedules.ts";
import { ConfigError, SwitchyardError } from "../../functions/core/errors.ts";
import {
  type FunctionDefinition,
  type FunctionName,
  functionArnKeyForId,
  type QueueDefinition,
  functions as registeredFunctions,
  queues as registeredQueues,
} from "../../functions/registry.ts";
import { loadConfig } from "../../functions/wiring/config.ts";
import {
  workflows as registeredWorkflows,
  type WorkflowDefinition,
  type WorkflowName,
} from "../../workflows/registry.ts";
import {
  ApprovalGate,
  type ApprovalGateNeeds,
  approvalGateNeeds,
  validateApprovalSender,
} from "../constructs/approval-gate.ts";
import { pagesMethods, pagesRouteReason } from "../constructs/approval-pages-api.ts";
import {
  DatabaseSnapshots,
  smokeQueryFunction,
  snapshotWorkflowPolicies,
  validateSnapshotSettings,
} from "../constructs/database-snapshots.ts";
import { EventBuses } from "../constructs/event-buses.ts";
import { Functions } from "../constructs/functions.ts";
import { Api, publicRoutes, routeKey } from "../constructs/http-api.ts";
import {
  IncidentEscalation,
  type IncidentNeeds,
  incidentAwaiter,
  incidentNeeds,
  incidentsSendMail,
  validateIncidentSettings,
} from "../constructs/incident-escalation.ts";
import { Promotion } from "../constructs/promotion.ts";
import { fifoSuffix, Queues } from "../constructs/queues.ts";
import { RotationNetwork, type RotationNetworkProps } from "../constructs/rotation-network.ts";
import { pascalCase, Rules } from "../constructs/rules.ts";
import { Schedules } from "../constructs/schedules.ts";
import {
  rotationDeadLetterReason,
  rotationFunction,
  SecretRotation,
  validateRotatedSecrets,
} from "../constructs/secret-rotation.ts";
import { type WorkflowResource, Workflows } from "../constructs/workflows.ts";

/** The repository root; every path in the registries is relative to it. */
export const projectRoot = fileURLToPath(new URL("../../", import.meta.url));

/** What the stack is built from. Tests inject their own; the app uses the registries in the repository. */
export interface Registries {
  rules: readonly Rule[];
  workflows: Readonly<Record<string, WorkflowDefinition>>;
  functions: Readonly<Record<string, FunctionDefinition>>;
  queues: Readonly<Record<string, QueueDefinition>>;
}

/** The registries of `events/`, `workflows/` and `functions/`. */
export const defaultRegistries: Registries = {
  rules: registeredRules,
  workflows: registeredWorkflows,
  functions: registeredFunctions,
  queues: registeredQueues,
};

/** The stack's inputs besides the usual `StackProps` (env, description). */
export interface SwitchyardStackProps extends StackProps {
  /** The configuration file: the stack reads secret names and Argo CD namespaces from it, and ships it in every bundle. */
  configFile: string;
  /** The EKS cluster running Argo CD and the services (CDK context `eksClusterName`). */
  eksClusterName: string;
  /**
   * The VPC the rotation function runs in to reach the databases (CDK context `rotationVpcId`, `rotationSubnetIds`,
   * `rotationSecurityGroupIds`); none: it runs outside any VPC and reaches only publicly accessible databases.
   */
  rotationNetwork?: RotationNetworkProps;
  /** Replaces some or all of the repository's registries. */
  registries?: Partial<Registries>;
  /** Replaces the schedules the configuration yields (`schedulesFor` in events/schedules.ts). */
  schedules?: readonly Schedule[];
}

/** The registries contradict each other or AWS's limits; synth stops with a message naming the entry. */
export class RegistryError extends SwitchyardError {
  readonly retryable = false;
}

/** The cdk-nag packs every synth runs; tests run the same list. */
export const compliancePacks = (scope?: IConstruct): NagPack[] => [
  new AwsSolutionsChecks(scope),
  new ServerlessChecks(scope),
];

const placeholderPattern = /\$\{([^}]+)\}/g;

/** The placeholder of Switchyard's bus name, for workflows that put events with the optimized integration. */
const eventBusNameKey = "EventBusName";

/**
 * A queue's placeholder (`${CommitsQueueUrl}`), formed as `queueUrlKey` in functions/registry.ts forms it, but
 * from the definition, so injected registries work too.
 */
const queueUrlKeyFor = (queue: QueueDefinition): string => `${queue.id}QueueUrl`;

/** What a placeholder other than a function ARN stands for. */
export type ResourceKey = { kind: "bus" } | { kind: "queue"; queue: string };

/**
 * The placeholders any workflow may use besides function ARNs: the bus name and every queue's URL. The local
 * runner provides the same keys (`substitutionKeys` in local/integrations.ts).
 *
 * @example [...resourceSubstitutionKeys(queues).keys()] // ["EventBusName", "CommitsQueueUrl"]
 */
export const resourceSubstitutionKeys = (queues: Registries["queues"]): Map<string, ResourceKey> =>
  new Map<string, ResourceKey>([
    [eventBusNameKey, { kind: "bus" }],
    ...Object.entries(queues).map(
      ([name, queue]) => [queueUrlKeyFor(queue), { kind: "queue", queue: name }] as const,
    ),
  ]);

/** The placeholders a workflow's ASL file uses. */
const placeholdersOf = (workflow: WorkflowDefinition, root: string = projectRoot): Set<string> => {
  const text = readAsl(workflow, root);
  return new Set([...text.matchAll(placeholderPattern)].map((m) => m[1] ?? ""));
};

const waitForTaskTokenSuffix = ".waitForTaskToken";

/**
 * The function a workflow invokes with `.waitForTaskToken` to ask for approval: the token it receives is answered
 * by whichever function records the deciding vote, so `approvalGateNeeds`' answering functions may answer every
 * workflow that waits on it.
 */
const approvalRequester = "request-approval" satisfies FunctionName;

/** Whether a function verifies link tokens: the approval gate's and the incident functions' `linkKey` need. */
const holdsLinkKey = (name: string): boolean =>
  Boolean(
    (approvalGateNeeds as Partial<Record<string, ApprovalGateNeeds>>)[name]?.linkKey ||
      (incidentNeeds as Partial<Record<string, IncidentNeeds>>)[name]?.linkKey,
  );

/**
 * The placeholders a workflow waits on for an answer by task token, at any depth (Map, Parallel): the queue of a
 * Task that sends with `.waitForTaskToken` (`QueueUrl: "${CommitsQueueUrl}"`), whose consumer answers, and the
 * function a Task invokes that way (`FunctionName: "${RequestApprovalFunctionArn}"`), whose task token someone
 * answers later.
 */
const awaitedBy = (workflow: WorkflowDefinition, root: string = projectRoot): Set<string> => {
  const keys = new Set<string>();
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) {
      for (const item of node) visit(item);
      return;
    }
    if (typeof node !== "object" || node === null) return;
    const { Resource, Parameters } = node as {
      Resource?: unknown;
      Parameters?: { QueueUrl?: unknown; FunctionName?: unknown };
    };
    if (typeof Resource === "string" && Resource.endsWith(waitForTaskTokenSuffix)) {
      for (const target of [Parameters?.QueueUrl, Parameters?.FunctionName]) {
        if (typeof target !== "string") continue;
        for (const match of target.matchAll(placeholderPattern)) keys.add(match[1] ?? "");
      }
    }
    for (const value of Object.values(node)) visit(value);
  };
  visit(JSON.parse(readAsl(workflow, root)));
  return keys;
};

const readAsl = (workflow: WorkflowDefinition, root: string): string => {
  try {
    return readFileSync(join(root, workflow.file), "utf8");
  } catch (cause) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    throw new RegistryError(`Workflow ${workflow.id}: cannot read ${workflow.file}: ${reason}`, { cause });
  }
};

/** SQS's limits for a Lambda event source without a batching window, and for redrive and visibility. */
const maxBatchSize = 10;
const maxReceiveCountLimit = 1_000;
const maxVisibilityTimeoutSeconds = 12 * 60 * 60;

/** A workflow's substitution keys mapped to the registry names of the functions they stand for. */
const substitutionKeys = (workflow: WorkflowDefinition, fns: Registries["functions"]): Map<string, string> =>
  new Map(
    workflow.functions.map((fnName) => {
      const fn = fns[fnName];
      if (!fn)
        throw new RegistryError(`Workflow ${workflow.id} uses function "${fnName}", which is not registered`);
      return [functionArnKeyForId(fn.id), fnName] as const;
    }),
  );

const duplicates = (values: readonly string[]): string[] => [
  ...new Set(values.filter((v, i) => values.indexOf(v) !== i)),
];

/** A queue SQS or Lambda would refuse, or one that would redeliver messages its consumer is still working on. */
const validateQueue = (name: string, queue: QueueDefinition, functions: Registries["functions"]): void => {
  const consumer = functions[queue.consumer];
  if (!consumer) {
    throw new RegistryError(`Queue "${name}" is consumed by "${queue.consumer}", which is not registered`);
  }
  if (queue.fifo !== queue.name.endsWith(fifoSuffix)) {
    throw new RegistryError(
      `Queue "${name}" is named ${queue.name}: a ${queue.fifo ? "FIFO queue's name must" : "standard queue's name must not"} end in ${fifoSuffix}`,
    );
  }
  if (!Number.isInteger(queue.batchSize) || queue.batchSize < 1 || queue.batchSize > maxBatchSize) {
    throw new RegistryError(
      `Queue "${name}" has batchSize ${queue.batchSize}; allowed are 1 to ${maxBatchSize}`,
    );
  }
  if (queue.visibilityTimeoutSeconds < consumer.timeoutSeconds) {
    throw new RegistryError(
      `Queue "${name}" has visibilityTimeoutSeconds ${queue.visibilityTimeoutSeconds}, below the ${consumer.timeoutSeconds} s timeout of its consumer "${queue.consumer}": a message would be redelivered while still being processed`,
    );
  }
  if (queue.visibilityTimeoutSeconds > maxVisibilityTimeoutSeconds) {
    throw new RegistryError(
      `Queue "${name}" has visibilityTimeoutSeconds ${queue.visibilityTimeoutSeconds}; SQS allows at most ${maxVisibilityTimeoutSeconds}`,
    );
  }
  if (
    !Number.isInteger(queue.maxReceiveCount) ||
    queue.maxReceiveCount < 1 ||
    queue.maxReceiveCount > maxReceiveCountLimit
  ) {
    throw new RegistryError(
      `Queue "${name}" has maxReceiveCount ${queue.maxReceiveCount}; allowed are 1 to ${maxReceiveCountLimit}`,
    );
  }
};

/**
 * Everything CloudFormation, SQS or Step Functions would only reject at deploy time (or never), checked at synth:
 * patterns compile, targets exist, queues fit SQS and their consumers, public routes exist, every ASL placeholder
 * has a function or resource and every listed function is used.
 */
export const validateRegistries = (registries: Registries, root: string = projectRoot): void => {
  const { rules, workflows, functions, queues } = registries;
  const routes = Object.values(functions).flatMap((f) => (f.http ?? []).map(routeKey));
  for (const [kind, ids] of [
    ["rule name", rules.map((r) => r.name)],
    ["rule construct id", rules.map((r) => pascalCase(r.name))],
    ["workflow id", Object.values(workflows).map((w) => w.id)],
    ["function id", Object.values(functions).map((f) => f.id)],
    ["queue id", Object.values(queues).map((q) => q.id)],
    ["queue name", Object.values(queues).map((q) => q.name)],
    ["HTTP route", routes],
  ] as const) {
    for (const dup of duplicates(ids)) throw new RegistryError(`Duplicate ${kind} "${dup}"`);
  }

  for (const [name, fn] of Object.entries(functions)) {
    for (const route of fn.http ?? []) {
      if (!route.path.startsWith("/")) {
        throw new RegistryError(`Function "${name}" has route "${routeKey(route)}"; a path starts with "/"`);
      }
    }
  }
  for (const [name, fn] of Object.entries(functions)) {
    for (const route of (fn.http ?? []).filter((r) => r.pages)) {
      // A pages route has no IAM in front of it: only a function that can verify link tokens may serve one.
      if (!holdsLinkKey(name)) {
        throw new RegistryError(
          `Function "${name}" serves "${routeKey(route)}" as an approval page, but it has no link key to check ` +
            "the link token with (approvalGateNeeds in infra/constructs/approval-gate.ts, incidentNeeds in " +
            "infra/constructs/incident-escalation.ts)",
        );
      }
      if (pagesRouteReason(name, route) === undefined) {
        throw new RegistryError(
          `Function "${name}" serves "${routeKey(route)}" as an approval page, but nothing says why it may skip ` +
            "IAM (pagesRouteReasons in infra/constructs/approval-pages-api.ts)",
        );
      }
      if (!pagesMethods.includes(route.method)) {
        throw new RegistryError(
          `Function "${name}" serves "${routeKey(route)}" as an approval page; a browser form can only ${pagesMethods.join(" or ")}`,
        );
      }
    }
  }
  for (const key of publicRoutes.keys()) {
    // A renamed webhook route would otherwise silently require IAM, and GitHub's deliveries would all fail.
    if (!routes.includes(key)) {
      throw new RegistryError(
        `infra/constructs/http-api.ts makes "${key}" public, but no function serves it`,
      );
    }
  }

  for (const [name, queue] of Object.entries(queues)) {
    validateQueue(name, queue, functions);
  }

  for (const rule of rules) {
    try {
      compilePattern(rule.pattern);
    } catch (cause) {
      const reason = cause instanceof Error ? cause.message : String(cause);
      throw new RegistryError(`Rule "${rule.name}" has an invalid event pattern: ${reason}`, { cause });
    }
    const target = rule.target;
    if (target.kind === "workflow" && !workflows[target.workflow]) {
      throw new RegistryError(
        `Rule "${rule.name}" targets workflow "${target.workflow}", which is not registered`,
      );
    }
    if (target.kind === "function" && !functions[target.function]) {
      throw new RegistryError(
        `Rule "${rule.name}" targets function "${target.function}", which is not registered`,
      );
    }
  }

  const resourceKeys = resourceSubstitutionKeys(queues);
  for (const workflow of Object.values(workflows)) {
    const keys = substitutionKeys(workflow, functions);
    const text = readAsl(workflow, root);
    let definition: { TimeoutSeconds?: unknown };
    try {
      definition = JSON.parse(text) as { TimeoutSeconds?: unknown };
    } catch (cause) {
      const reason = cause instanceof Error ? cause.message : String(cause);
      throw new RegistryError(`Workflow ${workflow.id}: ${workflow.file} is not valid JSON: ${reason}`, {
        cause,
      });
    }
    const used = new Set([...text.matchAll(placeholderPattern)].map((m) => m[1] ?? ""));
    const missing = [...used].filter((key) => !keys.has(key) && !resourceKeys.has(key));
    if (missing.length > 0) {
      throw new RegistryError(
        `${workflow.file} uses ${missing.map((k) => `\${${k}}`).join(", ")} but workflows/registry.ts does not list the function ` +
          `(and it is neither ${[...resourceKeys.keys()].map((k) => `\${${k}}`).join(" nor ")})`,
      );
    }
    // A listed but unused function would still be granted lambda:InvokeFunction.
    const unused = [...keys.keys()].filter((key) => !used.has(key));
    if (unused.length > 0) {
      throw new RegistryError(
        `Workflow ${workflow.id} lists ${unused.map((k) => keys.get(k)).join(", ")} but ${workflow.file} never uses ${unused.map((k) => `\${${k}}`).join(", ")}`,
      );
    }
    if (definition.TimeoutSeconds !== workflow.timeoutSeconds) {
      throw new RegistryError(
        `${workflow.file} has TimeoutSeconds ${String(definition.TimeoutSeconds)} but workflows/registry.ts says ${workflow.timeoutSeconds}`,
      );
    }
  }
};

/**
 * Everything about the configuration's schedules that CreateSchedule or the stack would only refuse later: a name or
 * expression Scheduler refuses, two schedules with one name, a target that is not a registered workflow. Only
 * workflows are deployed as targets: a scheduled function should be a workflow's step, where retries and failures
 * are visible.
 */
export const validateSchedules = (
  schedules: readonly Schedule[],
  workflows: Registries["workflows"],
): void => {
  for (const dup of duplicates(schedules.map((s) => s.name))) {
    throw new RegistryError(`Duplicate schedule name "${dup}"`);
  }
  for (const dup of duplicates(schedules.map((s) => pascalCase(s.name)))) {
    throw new RegistryError(`Duplicate schedule construct id "${dup}"`);
  }
  for (const schedule of schedules) {
    validateSchedule(schedule);
    const target = schedule.target;
    if (target.kind !== "workflow") {
      throw new RegistryError(
        `Schedule "${schedule.name}" targets function "${target.function}"; the stack deploys schedules of ` +
          "workflows only: make the function a step of a workflow and schedule that",
      );
    }
    if (!workflows[target.workflow]) {
      throw new RegistryError(
        `Schedule "${schedule.name}" targets workflow "${target.workflow}", which is not registered`,
      );
    }
  }
};

/**
 * The whole control plane in one stack, built from the registries so the cloud runs what the local runtime runs.
 *
 * @example
 * const app = new App();
 * new SwitchyardStack(app, "Switchyard", {
 *   configFile: "switchyard.yaml",
 *   eksClusterName: "platform",
 *   env: { region: "eu-west-1" },
 * });
 */
export class SwitchyardStack extends Stack {
  readonly buses: EventBuses;
  readonly functions: Functions;
  readonly queues: Queues;
  readonly workflows: Workflows;
  readonly rules: Rules;
  readonly promotion: Promotion;
  readonly approvalGate: ApprovalGate;
  readonly incidents: IncidentEscalation;
  readonly secretRotation: SecretRotation;
  readonly databaseSnapshots: DatabaseSnapshots;
  readonly schedules: Schedules;
  readonly api: Api;

  constructor(scope: Construct, id: string, props: SwitchyardStackProps) {
    super(scope, id, props);
    const registries: Registries = { ...defaultRegistries, ...props.registries };
    validateRegistries(registries);
    validateClusterName(props.eksClusterName);
    const config = loadConfig(props.configFile);
    validateApprovalSender(config, props.configFile);
    // Before the rotation checks: a misplaced incident secret is explained by what it is, not by its rotation.
    validateIncidentSettings(config, props.configFile);
    validateRotatedSecrets(config, props.configFile);
    validateSnapshotSettings(config, props.configFile);
    const schedules = props.schedules ?? schedulesFor(config);
    validateSchedules(schedules, registries.workflows);

    const asyncInvoked = new Set(
      registries.rules.flatMap((rule) => (rule.target.kind === "function" ? [rule.target.function] : [])),
    );
    const queueConsumers = new Set(Object.values(registries.queues).map((queue) => queue.consumer as string));

    this.buses = new EventBuses(this, "Buses");
    const rotationNetwork =
      props.rotationNetwork && new RotationNetwork(this, "RotationNetwork", props.rotationNetwork);
    this.functions = new Functions(this, "Functions", {
      definitions: registries.functions,
      projectRoot,
      configFile: resolve(props.configFile),
      asyncInvoked,
      queueConsumers,
      // The functions that log in to databases: the rotation function and the restore drill's smoke query.
      vpcFor: (name) =>
        name === rotationFunction || name === smokeQueryFunction ? rotationNetwork?.placement : undefined,
      deadLetterReasons: new Map([[rotationFunction, rotationDeadLetterReason]]),
    });
    for (const [name, fn] of this.functions.entries()) {
      if (registries.functions[name]?.publishesEvents) this.buses.grantPublish(fn);
    }
    this.queues = new Queues(this, "Queues", {
      definitions: registries.queues,
      consumer: (name) => this.functions.get(name),
    });

    const resourceKeys = resourceSubstitutionKeys(registries.queues);
    const resource = (key: ResourceKey): WorkflowResource =>
      key.kind === "bus"
        ? {
            value: this.buses.switchyard.eventBusName,
            grantTo: (machine) => this.buses.switchyard.grantPutEventsTo(machine),
          }
        : this.queues.sendFrom(key.queue);
    this.workflows = new Workflows(this, "Workflows", {
      definitions: registries.workflows,
      projectRoot,
      substitutions: (name) => {
        const workflow = registries.workflows[name]!;
        return new Map<string, lambda.IFunction>(
          [...substitutionKeys(workflow, registries.functions)].map(([key, fn]) => [
            key,
            this.functions.get(fn),
          ]),
        );
      },
      resources: (name) => {
        const used = placeholdersOf(registries.workflows[name]!);
        return new Map(
          [...resourceKeys]
            .filter(([key]) => used.has(key))
            .map(([key, ref]) => [key, resource(ref)] as const),
        );
      },
      policies: (name) => snapshotWorkflowPolicies(this, name),
    });
    const awaitedFunctions = new Map<string, sfn.StateMachine[]>();
    for (const [name, workflow] of Object.entries(registries.workflows)) {
      const functionKeys = substitutionKeys(workflow, registries.functions);
      for (const key of awaitedBy(workflow)) {
        const ref = resourceKeys.get(key);
        if (ref?.kind === "queue") this.grantCallbacks(ref.queue, this.workflows.get(name));
        const fn = functionKeys.get(key);
        if (fn) awaitedFunctions.set(fn, [...(awaitedFunctions.get(fn) ?? []), this.workflows.get(name)]);
      }
    }

    this.rules = new Rules(this, "Rules", {
      rules: registries.rules,
      buses: this.buses,
      targets: { workflow: (name) => this.workflows.get(name), function: (name) => this.functions.get(name) },
    });
    this.promotion = new Promotion(this, "Promotion", {
      config,
      eksClusterName: props.eksClusterName,
      definitions: registries.functions,
      function: (name) => this.functions.get(name),
      workflow: (name: WorkflowName) => this.workflows.get(name),
    });
    this.approvalGate = new ApprovalGate(this, "ApprovalGate", {
      config,
      configFile: props.configFile,
      definitions: registries.functions,
      function: (name) => this.functions.get(name),
      approvalWorkflows: awaitedFunctions.get(approvalRequester) ?? [],
      incidentMail: incidentsSendMail(config),
    });
    this.incidents = new IncidentEscalation(this, "IncidentEscalation", {
      config,
      configFile: props.configFile,
      definitions: registries.functions,
      function: (name) => this.functions.get(name),
      workflow: (name: WorkflowName) => this.workflows.get(name),
      incidentWorkflows: awaitedFunctions.get(incidentAwaiter) ?? [],
      linkKey: this.approvalGate.linkKey,
      sender: this.approvalGate.sender,
      pagesUrl: this.approvalGate.pages.stage.url,
      freezes: this.approvalGate.tables,
      promotions: this.promotion.tables,
      buses: this.buses,
    });
    this.secretRotation = new SecretRotation(this, "SecretRotation", {
      config,
      configFile: props.configFile,
      definitions: registries.functions,
      function: (name) => this.functions.get(name),
      signingKeys: new Map([
        [config.github.webhookSecret, this.promotion.secrets.webhookSecret],
        [config.approvals.linkKeySecret, this.approvalGate.linkKey],
        [config.incidents.webhookToken.secret, this.incidents.secrets.webhookToken],
      ]),
      cluster: this.promotion.cluster,
      tables: this.approvalGate.tables,
      ...(rotationNetwork && { network: rotationNetwork }),
    });
    this.databaseSnapshots = new DatabaseSnapshots(this, "DatabaseSnapshots", {
      config,
      configFile: props.configFile,
      definitions: registries.functions,
      function: (name) => this.functions.get(name),
      workflow: (name: WorkflowName) => this.workflows.get(name),
    });
    this.schedules = new Schedules(this, "Schedules", {
      schedules,
      workflow: (name) => this.workflows.get(name),
    });
    this.api = new Api(this, "Api", {
      definitions: registries.functions,
      function: (name) => this.functions.get(name),
    });
  }

  /**
   * A workflow that sends to a queue with `.waitForTaskToken` waits for the consumer to answer on the token, so the
   * consumer may report success or failure to that state machine (and only then: a plain send needs no answer). The Service Authorization Reference lists no
   * resource type for these actions, yet IAM evaluates them against the state machine whose task issued the token
   * (an AccessDenied names that ARN), so scoping them to it works and keeps `Resource: *` out.
   */
  private grantCallbacks(queue: string, machine: sfn.StateMachine): void {
    this.queues.get(queue).consumer.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ["states:SendTaskSuccess", "states:SendTaskFailure"],
        resources: [machine.stateMachineArn],
      }),
    );
  }
}

/** EKS cluster names: 1–100 characters, a letter or digit first, then letters, digits, `-` and `_`. */
const clusterNamePattern = /^[0-9A-Za-z][A-Za-z0-9_-]{0,99}$/;

const validateClusterName = (name: string): void => {
  if (!clusterNamePattern.test(name)) {
    throw new ConfigError(
      `The EKS cluster name "${name}" (CDK context eksClusterName) is not valid: expected 1-100 letters, digits, "-" or "_", starting with a letter or digit`,
    );
  }
};
