// The Switchyard stack's template: buses, rules, queues, workflows, functions, the API, tables, secrets and IAM.

import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative, resolve } from "node:path";
import type { RDSClient } from "@aws-sdk/client-rds";
import { App, type CfnElement, type Stack, Validations } from "aws-cdk-lib";
import { Annotations, Match, Template } from "aws-cdk-lib/assertions";
import type * as iam from "aws-cdk-lib/aws-iam";
import { describe, expect, it } from "vitest";
import { parse as parseYaml, stringify as stringifyYaml } from "yaml";
import { InvalidEventPatternError } from "../../events/pattern.ts";
import { type Rule, rules } from "../../events/rules.ts";
import type { Schedule } from "../../events/schedules.ts";
import { approvalTableKeys } from "../../functions/adapters/aws/dynamodb-approval-store.ts";
import { freezeTableKeys } from "../../functions/adapters/aws/dynamodb-freeze-store.ts";
import { idempotencyTableKeys } from "../../functions/adapters/aws/dynamodb-idempotency-store.ts";
import { incidentTableKeys } from "../../functions/adapters/aws/dynamodb-incident-store.ts";
import { promotionTableKeys } from "../../functions/adapters/aws/dynamodb-promotion-store.ts";
import { RdsSnapshotService } from "../../functions/adapters/aws/rds-snapshot-service.ts";
import { drillScratchName } from "../../functions/core/drill-names.ts";
import { ConfigError, ValidationError } from "../../functions/core/errors.ts";
import {
  snapshotCreator,
  snapshotName,
  snapshotTagKeys,
  snapshotTags,
} from "../../functions/core/snapshot-names.ts";
import {
  type FunctionDefinition,
  type FunctionName,
  functions,
  type QueueName,
  queues,
  queueUrlKey,
} from "../../functions/registry.ts";
import { loadConfig } from "../../functions/wiring/config.ts";
import { envNames } from "../../functions/wiring/env.ts";
import { type ApprovalGateNeeds, approvalGateNeeds } from "../../infra/constructs/approval-gate.ts";
import {
  pagesRouteReason,
  pagesRouteReasons,
  pagesThrottleBurstLimit,
  pagesThrottleRateLimitPerSecond,
} from "../../infra/constructs/approval-pages-api.ts";
import { approvalTableActions, freezeTableActions } from "../../infra/constructs/approval-tables.ts";
import {
  argoCdAccessGroup,
  rbacManifest,
  rbacYaml,
  secretRolloutAccessGroup,
} from "../../infra/constructs/cluster-access.ts";
import {
  backupOptInTag,
  copyKeyActions,
  drillInstancePattern,
  drillPurpose,
  drillTagKeys,
  type SnapshotNeeds,
  smokeQueryFunction,
  snapshotActions,
  snapshotNamePattern,
  snapshotNeeds,
} from "../../infra/constructs/database-snapshots.ts";
import { deadLetterRetentionDays } from "../../infra/constructs/dead-letter-queue.ts";
import { archiveRetentionDays, switchyardBusName } from "../../infra/constructs/event-buses.ts";
import {
  bundledConfigFileName,
  lambdaRuntime,
  powertoolsEnvironment,
  vpcNetworkInterfaceActions,
} from "../../infra/constructs/functions.ts";
import {
  publicRoutes,
  routeKey,
  throttleBurstLimit,
  throttleRateLimitPerSecond,
} from "../../infra/constructs/http-api.ts";
import {
  alarmedIncidentFunctions,
  type IncidentNeeds,
  incidentAwaiter,
  incidentNeeds,
} from "../../infra/constructs/incident-escalation.ts";
import { incidentTableActions } from "../../infra/constructs/incident-table.ts";
import { type PromotionNeeds, promotionNeeds } from "../../infra/constructs/promotion.ts";
import { idempotencyTableActions, promotionTableActions } from "../../infra/constructs/promotion-tables.ts";
import {
  postgresPort,
  type RotationNetworkProps,
  rotationNetworkFromContext,
} from "../../infra/constructs/rotation-network.ts";
import {
  defaultScheduleTimezone,
  scheduleMaxEventAgeMinutes,
  scheduleRetryAttempts,
} from "../../infra/constructs/schedules.ts";
import {
  rdsCaBundlePath,
  rotationFunction,
  rotationScheduleExpression,
  type SecretRotationNeeds,
  secretRotationNeeds,
} from "../../infra/constructs/secret-rotation.ts";
import { stateMachineArnEnv } from "../../infra/constructs/workflow-starts.ts";
import {
  compliancePacks,
  projectRoot,
  type Registries,
  RegistryError,
  resourceSubstitutionKeys,
  SwitchyardStack,
} from "../../infra/stacks/switchyard-stack.ts";
import { substitutionKeys as localSubstitutionKeys } from "../../local/integrations.ts";
import { type WorkflowName, workflowFunctionSubstitutions, workflows } from "../../workflows/registry.ts";

/** The approval sender the tests deploy with: switchyard.yaml may still carry the local default, which SES refuses. */
const testSender = "approvals@example.com";

/** switchyard.yaml as the repository has it, edited and written to a temporary file. */
const writeConfig = (edit: (document: Record<string, unknown>) => void): string => {
  const document = parseYaml(readFileSync(join(projectRoot, "switchyard.yaml"), "utf8")) as Record<
    string,
    unknown
  >;
  edit(document);
  const file = join(mkdtempSync(join(tmpdir(), "switchyard-config-")), "switchyard.yaml");
  writeFileSync(file, stringifyYaml(document));
  return file;
};
const withSender =
  (sender: string | undefined) =>
  (document: Record<string, unknown>): void => {
    const { sender: _repository, ...approvals } = (document.approvals ?? {}) as Record<string, unknown>;
    document.approvals = sender === undefined ? approvals : { ...approvals, sender };
  };

const configFile = writeConfig(withSender(testSender));
const config = loadConfig(configFile);
const eksClusterName = "platform";
const ninetyDays = 90;
const fourteenDaysSeconds = 14 * 24 * 60 * 60;

/**
 * A stack synthesized without bundling, which costs seconds and is covered by the one full `cdk synth`. With
 * `nag`, the cdk-nag packs are registered as the app registers them, so a finding fails the synthesis.
 */
const buildStack = (
  registries?: Partial<Registries>,
  {
    nag = false,
    clusterName = eksClusterName,
    configFile: file = configFile,
    rotationNetwork,
    schedules,
  }: {
    nag?: boolean;
    clusterName?: string;
    configFile?: string;
    rotationNetwork?: RotationNetworkProps;
    schedules?: readonly Schedule[];
  } = {},
) => {
  const app = new App({ context: { "aws:cdk:bundling-stacks": [] } });
  if (nag) Validations.of(app).addPlugins(...compliancePacks(app));
  const stack = new SwitchyardStack(app, "Switchyard", {
    configFile: file,
    eksClusterName: clusterName,
    env: { account: "123456789012", region: "eu-west-1" },
    ...(registries && { registries }),
    ...(rotationNetwork && { rotationNetwork }),
    ...(schedules && { schedules }),
  });
  return { stack, template: Template.fromStack(stack) };
};

const logicalId = (stack: Stack, construct: { node: { defaultChild?: unknown } }): string =>
  stack.getLogicalId(construct.node.defaultChild as CfnElement);

/** The single resource of `type` whose properties match; fails loudly on none or several. */
const only = (template: Template, type: string, properties: unknown) => {
  const found = Object.entries(template.findResources(type, { Properties: properties }));
  expect(found, `exactly one ${type} matching ${JSON.stringify(properties)}`).toHaveLength(1);
  const [id, resource] = found[0]!;
  return { id, properties: (resource as { Properties: Record<string, unknown> }).Properties };
};

type Statement = { Action: string | string[]; Resource: unknown; Effect: string };
const statementsOf = (template: Template, roleId: string): Statement[] =>
  Object.values(
    template.findResources("AWS::IAM::Policy", { Properties: { Roles: [{ Ref: roleId }] } }),
  ).flatMap(
    (policy) =>
      (policy as { Properties: { PolicyDocument: { Statement: Statement[] } } }).Properties.PolicyDocument
        .Statement,
  );
const actionsOf = (statement: Statement): string[] =>
  Array.isArray(statement.Action) ? statement.Action : [statement.Action];
const resourcesOf = (statement: Statement): unknown[] =>
  Array.isArray(statement.Resource) ? statement.Resource : [statement.Resource];

const main = buildStack();

const fnLogicalId = (name: string): string => logicalId(main.stack, main.stack.functions.get(name));
const fnArn = (name: string) => ({ "Fn::GetAtt": [fnLogicalId(name), "Arn"] });
const fnProperties = (name: string): Record<string, unknown> =>
  main.template.toJSON().Resources[fnLogicalId(name)].Properties;
const fnVariables = (name: string): Record<string, unknown> =>
  (fnProperties(name).Environment as { Variables: Record<string, unknown> }).Variables;
const fnRoleId = (name: string): string =>
  (fnProperties(name).Role as { "Fn::GetAtt": [string, string] })["Fn::GetAtt"][0];
const fnStatements = (name: string): Statement[] => statementsOf(main.template, fnRoleId(name));
/** The statements of a function's role that grant any action with this prefix (`dynamodb:`). */
const fnStatementsFor = (name: string, prefix: string): Statement[] =>
  fnStatements(name).filter((s) => actionsOf(s).some((a) => a.startsWith(prefix)));
const needsOf = (name: FunctionName): PromotionNeeds =>
  (promotionNeeds as Partial<Record<FunctionName, PromotionNeeds>>)[name] ?? {};
const gateNeedsOf = (name: FunctionName): ApprovalGateNeeds =>
  (approvalGateNeeds as Partial<Record<FunctionName, ApprovalGateNeeds>>)[name] ?? {};
const rotationNeedsOf = (name: FunctionName): SecretRotationNeeds =>
  (secretRotationNeeds as Partial<Record<FunctionName, SecretRotationNeeds>>)[name] ?? {};
const snapshotNeedsOf = (name: FunctionName): SnapshotNeeds =>
  (snapshotNeeds as Partial<Record<FunctionName, SnapshotNeeds>>)[name] ?? {};
const incidentNeedsOf = (name: FunctionName): IncidentNeeds =>
  (incidentNeeds as Partial<Record<FunctionName, IncidentNeeds>>)[name] ?? {};
/** Whether a function gets a resource's variable only because `incidentDeps()` builds its adapter at cold start. */
const namedOnly = (name: FunctionName, resource: NonNullable<IncidentNeeds["variablesOnly"]>[number]) =>
  incidentNeedsOf(name).variablesOnly?.includes(resource) ?? false;
/** The workflows a function may start, whichever capability grants it. */
const startsOf = (name: FunctionName): readonly string[] => [
  ...(needsOf(name).startsWorkflows ?? []),
  ...(snapshotNeedsOf(name).startsWorkflows ?? []),
  ...(incidentNeedsOf(name).startsWorkflows ?? []),
];
const machineRef = (name: WorkflowName) => ({ Ref: logicalId(main.stack, main.stack.workflows.get(name)) });
const functionNames = Object.keys(functions) as FunctionName[];
const queueNames = Object.keys(queues) as QueueName[];

describe("event buses", () => {
  it("creates the switchyard bus and archives every event on it", () => {
    const bus = only(main.template, "AWS::Events::EventBus", { Name: switchyardBusName });
    only(main.template, "AWS::Events::Archive", {
      SourceArn: { "Fn::GetAtt": [bus.id, "Arn"] },
      RetentionDays: archiveRetentionDays,
      EventPattern: { account: ["123456789012"] },
    });
  });
});

describe("rules", () => {
  it.each(rules.map((rule) => [rule.name, rule] as const))(
    "%s deploys exactly as registered",
    (_name, rule) => {
      const { stack, template } = main;
      const { properties } = only(template, "AWS::Events::Rule", { Name: rule.name });
      expect(properties.EventPattern).toEqual(rule.pattern);
      expect(properties.EventBusName).toEqual(
        rule.bus === "default" ? "default" : { Ref: logicalId(stack, stack.buses.switchyard) },
      );
      const targetArn =
        rule.target.kind === "workflow"
          ? { Ref: logicalId(stack, stack.workflows.get(rule.target.workflow)) }
          : { "Fn::GetAtt": [logicalId(stack, stack.functions.get(rule.target.function)), "Arn"] };
      const queue = logicalId(stack, stack.rules.deadLetterQueue(rule.name));
      expect(properties.Targets).toEqual([
        expect.objectContaining({
          Arn: targetArn,
          RetryPolicy: {
            MaximumRetryAttempts: rule.retryPolicy.maximumRetryAttempts,
            MaximumEventAgeInSeconds: rule.retryPolicy.maximumEventAgeSeconds,
          },
          DeadLetterConfig: { Arn: { "Fn::GetAtt": [queue, "Arn"] } },
        }),
      ]);
      const [target] = properties.Targets as Record<string, unknown>[];
      const inputKeys = ["Input", "InputPath", "InputTransformer"].filter((key) => key in target!);
      expect(inputKeys).toEqual(
        rule.input ? [rule.input.kind === "path" ? "InputPath" : "InputTransformer"] : [],
      );
    },
  );

  it("gives each target's dead-letter queue encryption, 14 days and TLS only", () => {
    const ids = rules.map((rule) => logicalId(main.stack, main.stack.rules.deadLetterQueue(rule.name)));
    expect(ids).not.toHaveLength(0);
    const resources = main.template.toJSON().Resources;
    for (const id of ids) {
      expect(resources[id].Properties).toEqual({
        SqsManagedSseEnabled: true,
        MessageRetentionPeriod: fourteenDaysSeconds,
      });
      main.template.hasResourceProperties("AWS::SQS::QueuePolicy", {
        Queues: [{ Ref: id }],
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({ Effect: "Deny", Condition: { Bool: { "aws:SecureTransport": "false" } } }),
            Match.objectLike({
              Effect: "Allow",
              Action: "sqs:SendMessage",
              Principal: { Service: "events.amazonaws.com" },
            }),
          ]),
        },
      });
    }
  });
});

describe("rules with content filters, inputs and function targets", () => {
  const notify = "notify" as FunctionName;
  const injectedFunctions: Record<string, FunctionDefinition> = {
    ...functions,
    [notify]: {
      entry: "functions/handlers/resolve-services.ts",
      id: "Notify",
      description: "A function EventBridge invokes asynchronously and that publishes events",
      timeoutSeconds: 5,
      memoryMb: 128,
      publishesEvents: true,
    },
  };
  const filtered: Rule = {
    name: "promotion-outside-staging",
    description: "Operators of every kind must reach the template untouched",
    bus: "switchyard",
    pattern: {
      source: ["switchyard"],
      "detail-type": [{ prefix: "Promotion " }],
      detail: {
        environment: [{ "anything-but": ["staging"] }],
        $or: [{ digest: [{ exists: true }] }, { attempt: [{ numeric: [">", 2] }] }],
      },
    },
    target: { kind: "function", function: notify },
    input: {
      kind: "transformer",
      inputPathsMap: { digest: "$.detail.digest" },
      inputTemplate: '{"digest": <digest>}',
    },
    retryPolicy: { maximumRetryAttempts: 2, maximumEventAgeSeconds: 600 },
    deadLetterQueue: true,
  };
  const byPath: Rule = {
    name: "promotion-requested",
    description: "A workflow target that receives only the detail",
    bus: "switchyard",
    pattern: { source: ["switchyard"], "detail-type": ["Promotion Requested"] },
    target: { kind: "workflow", workflow: "promote-image" },
    input: { kind: "path", path: "$.detail" },
    retryPolicy: { maximumRetryAttempts: 0, maximumEventAgeSeconds: 60 },
    deadLetterQueue: true,
  };
  const injected = buildStack({ rules: [...rules, filtered, byPath], functions: injectedFunctions });
  const fnId = logicalId(injected.stack, injected.stack.functions.get(notify));
  const busRef = { Ref: logicalId(injected.stack, injected.stack.buses.switchyard) };

  it("keeps prefix, anything-but, exists, numeric and $or exactly and applies the input transformer", () => {
    const { properties } = only(injected.template, "AWS::Events::Rule", { Name: filtered.name });
    expect(properties.EventPattern).toEqual(filtered.pattern);
    expect(properties.EventBusName).toEqual(busRef);
    expect(properties.Targets).toEqual([
      expect.objectContaining({
        Arn: { "Fn::GetAtt": [fnId, "Arn"] },
        InputTransformer: {
          InputPathsMap: { digest: "$.detail.digest" },
          InputTemplate: '{"digest": <digest>}',
        },
        RetryPolicy: { MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: 600 },
      }),
    ]);
    injected.template.hasResourceProperties("AWS::Lambda::Permission", {
      Action: "lambda:InvokeFunction",
      FunctionName: { "Fn::GetAtt": [fnId, "Arn"] },
      Principal: "events.amazonaws.com",
    });
  });

  it("passes an input path", () => {
    const { properties } = only(injected.template, "AWS::Events::Rule", { Name: byPath.name });
    expect(properties.Targets).toEqual([expect.objectContaining({ InputPath: "$.detail" })]);
  });

  it("sends an asynchronously invoked function's failures to an on-failure queue", () => {
    const { properties } = only(injected.template, "AWS::Lambda::EventInvokeConfig", {
      FunctionName: { Ref: fnId },
    });
    expect(properties).toMatchObject({
      MaximumRetryAttempts: 2,
      DestinationConfig: { OnFailure: { Destination: { "Fn::GetAtt": [expect.any(String), "Arn"] } } },
    });
  });

  it("grants a publishing function PutEvents on the switchyard bus and names the bus in its environment", () => {
    const properties = injected.template.toJSON().Resources[fnId].Properties;
    expect(
      (properties.Environment as { Variables: Record<string, unknown> }).Variables[envNames.eventBusName],
    ).toEqual(busRef);
    const role = (properties.Role as { "Fn::GetAtt": [string, string] })["Fn::GetAtt"][0];
    expect(statementsOf(injected.template, role)).toContainEqual(
      expect.objectContaining({
        Action: "events:PutEvents",
        Resource: { "Fn::GetAtt": [busRef.Ref, "Arn"] },
      }),
    );
  });

  it("passes cdk-nag with the extra resources too", () => {
    for (const pack of compliancePacks()) expect(pack.validateScope(injected.stack).violations).toEqual([]);
  });
});

describe("workflows", () => {
  it.each(Object.keys(workflows) as WorkflowName[])(
    "%s runs its ASL file with function ARNs and queue URLs substituted",
    (name) => {
      const { stack, template } = main;
      const workflow = workflows[name];
      const asl = readFileSync(join(projectRoot, workflow.file), "utf8");
      const properties = template.toJSON().Resources[logicalId(stack, stack.workflows.get(name))].Properties;
      expect(properties).toMatchObject({
        DefinitionS3Location: { Key: expect.stringMatching(/\.json$/) },
        StateMachineType: "STANDARD",
        TracingConfiguration: { Enabled: true },
        LoggingConfiguration: { Level: "ALL", IncludeExecutionData: false },
      });

      const expected = Object.fromEntries([
        ...Object.entries(workflowFunctionSubstitutions(name)).map(([key, fn]) => [
          key,
          { "Fn::GetAtt": [logicalId(stack, stack.functions.get(fn)), "Arn"] },
        ]),
        ...queueNames
          .filter((queue) => asl.includes(`\${${queueUrlKey(queue)}}`))
          .map((queue) => [queueUrlKey(queue), { Ref: logicalId(stack, stack.queues.get(queue).queue) }]),
      ]);
      expect(properties.DefinitionSubstitutions).toEqual(expected);

      // What Step Functions receives: the file with CloudFormation's substitutions applied (marked, not resolved).
      const substitutions = properties.DefinitionSubstitutions as Record<
        string,
        { "Fn::GetAtt": [string, string] } | { Ref: string }
      >;
      const deployed = asl.replace(/\$\{([^}]+)\}/g, (placeholder, key: string) => {
        const value = substitutions[key];
        if (!value) return placeholder;
        return "Ref" in value ? `<Ref ${value.Ref}>` : `<GetAtt ${value["Fn::GetAtt"].join(".")}>`;
      });
      expect(deployed).not.toMatch(/\$\{[^}]*\}/);
      for (const fn of workflow.functions) {
        expect(deployed).toContain(`<GetAtt ${logicalId(stack, stack.functions.get(fn))}.Arn>`);
      }
    },
  );

  it.each(Object.keys(workflows) as WorkflowName[])("%s may invoke exactly its own functions", (name) => {
    const { stack, template } = main;
    const machine = stack.workflows.get(name);
    const roleId = logicalId(stack, machine.role);
    const statements = statementsOf(template, roleId);
    const lambdaStatements = statements.filter((s) => actionsOf(s).some((a) => a.startsWith("lambda:")));
    expect(lambdaStatements).toHaveLength(1);
    expect(actionsOf(lambdaStatements[0]!)).toEqual(["lambda:InvokeFunction"]);
    expect(resourcesOf(lambdaStatements[0]!)).toEqual(
      workflows[name].functions.map((fn) => ({
        "Fn::GetAtt": [logicalId(stack, stack.functions.get(fn)), "Arn"],
      })),
    );
    for (const statement of statements.filter((s) => resourcesOf(s).includes("*"))) {
      for (const action of actionsOf(statement)) expect(action).toMatch(/^(xray|logs):/);
    }
  });

  it("logs to a vended-logs group kept for 90 days", () => {
    const { stack, template } = main;
    const machine = template.toJSON().Resources[logicalId(stack, stack.workflows.get("promote-image"))];
    const logGroupId = machine.Properties.LoggingConfiguration.Destinations[0].CloudWatchLogsLogGroup
      .LogGroupArn["Fn::GetAtt"][0] as string;
    expect(template.toJSON().Resources[logGroupId].Properties).toEqual({
      LogGroupName: "/aws/vendedlogs/states/Switchyard-PromoteImage",
      RetentionInDays: ninetyDays,
    });
  });
});

describe("functions", () => {
  it.each(Object.keys(functions) as FunctionName[])(
    "%s runs on arm64 Node with tracing and its config",
    (name) => {
      const { stack, template } = main;
      const definition = functions[name];
      const fnId = logicalId(stack, stack.functions.get(name));
      const properties = template.toJSON().Resources[fnId].Properties;
      expect(properties).toMatchObject({
        Runtime: lambdaRuntime.name,
        Architectures: ["arm64"],
        TracingConfig: { Mode: "Active" },
        Handler: "index.handler",
        MemorySize: definition.memoryMb,
        Timeout: definition.timeoutSeconds,
        Environment: {
          Variables: {
            [envNames.config]: `/var/task/${bundledConfigFileName}`,
            ...powertoolsEnvironment,
            NODE_OPTIONS: "--enable-source-maps",
          },
        },
      });
      const logGroupId = properties.LoggingConfig.LogGroup.Ref as string;
      expect(template.toJSON().Resources[logGroupId].Properties).toEqual({ RetentionInDays: ninetyDays });
    },
  );

  it.each(Object.keys(functions) as FunctionName[])(
    "%s has its own role: no managed policy, logs only to its group",
    (name) => {
      const { stack, template } = main;
      const fnId = logicalId(stack, stack.functions.get(name));
      const properties = template.toJSON().Resources[fnId].Properties;
      const roleId = properties.Role["Fn::GetAtt"][0] as string;
      expect(template.toJSON().Resources[roleId].Properties.ManagedPolicyArns).toBeUndefined();
      const statements = statementsOf(template, roleId);
      expect(statements).toContainEqual(
        expect.objectContaining({
          Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
          Resource: { "Fn::GetAtt": [properties.LoggingConfig.LogGroup.Ref, "Arn"] },
        }),
      );
      const snapshot = snapshotNeedsOf(name);
      const unscoped = [
        ...(gateNeedsOf(name).databaseSnapshots || snapshot.creates || snapshot.listsSnapshots
          ? snapshotActions.describe
          : []),
        ...(snapshot.listsDatabases ? snapshotActions.describeDatabases : []),
        ...(rotationNeedsOf(name).rotates ? ["secretsmanager:GetRandomPassword"] : []),
      ] as string[];
      for (const statement of statements.filter((s) => resourcesOf(s).includes("*"))) {
        for (const action of actionsOf(statement)) {
          if (unscoped.includes(action)) continue;
          expect(action).toMatch(/^xray:/);
        }
      }
      // Outside a VPC unless the rotation network is given (see "secret rotation" and "database snapshots").
      expect(properties).not.toHaveProperty("VpcConfig");
    },
  );
});

describe("workflows using the bus and a queue without waiting", () => {
  const dir = mkdtempSync(join(tmpdir(), "switchyard-asl-"));
  const file = join(dir, "announce.asl.json");
  const timeoutSeconds = 60;
  writeFileSync(
    file,
    JSON.stringify({
      StartAt: "Announce",
      TimeoutSeconds: timeoutSeconds,
      States: {
        Announce: {
          Type: "Task",
          Resource: "arn:aws:states:::events:putEvents",
          Parameters: {
            Entries: [
              { EventBusName: "${EventBusName}", Source: "switchyard", DetailType: "Noted", Detail: {} },
            ],
          },
          Next: "Enqueue",
        },
        Enqueue: {
          Type: "Task",
          Resource: "arn:aws:states:::sqs:sendMessage",
          Parameters: { QueueUrl: "${CommitsQueueUrl}", MessageGroupId: "g", MessageBody: { note: true } },
          End: true,
        },
      },
    }),
  );
  const announce = {
    file: relative(projectRoot, file),
    id: "Announce",
    description: "Puts an event on the switchyard bus and sends to a queue without waiting",
    functions: [],
    timeoutSeconds,
  };
  const injected = buildStack({ workflows: { ...workflows, announce } });
  const machine = injected.stack.workflows.get("announce");
  const machineId = logicalId(injected.stack, machine);
  const busId = logicalId(injected.stack, injected.stack.buses.switchyard);
  const queueId = logicalId(injected.stack, injected.stack.queues.get("commits").queue);

  it("substitutes the bus name and the queue URL, and nothing it does not use", () => {
    expect(injected.template.toJSON().Resources[machineId].Properties.DefinitionSubstitutions).toEqual({
      EventBusName: { Ref: busId },
      CommitsQueueUrl: { Ref: queueId },
    });
  });

  it("may put events on the switchyard bus and send to the queue", () => {
    const statements = statementsOf(injected.template, logicalId(injected.stack, machine.role));
    expect(statements).toContainEqual(
      expect.objectContaining({ Action: "events:PutEvents", Resource: { "Fn::GetAtt": [busId, "Arn"] } }),
    );
    expect(statements).toContainEqual(
      expect.objectContaining({ Action: "sqs:SendMessage", Resource: { "Fn::GetAtt": [queueId, "Arn"] } }),
    );
  });

  it("lets the consumer answer only the workflows that wait, not one that sends without waiting", () => {
    const consumerRole = (
      injected.template.toJSON().Resources[
        logicalId(injected.stack, injected.stack.functions.get(queues.commits.consumer))
      ].Properties.Role as { "Fn::GetAtt": [string, string] }
    )["Fn::GetAtt"][0];
    const answers = statementsOf(injected.template, consumerRole).filter((s) =>
      actionsOf(s).includes("states:SendTaskSuccess"),
    );
    expect(answers.map((s) => s.Resource)).toEqual(
      (["promote-image", "production-sync"] as const).map((wf) => ({
        Ref: logicalId(injected.stack, injected.stack.workflows.get(wf)),
      })),
    );
  });

  it("passes cdk-nag", () => {
    for (const pack of compliancePacks()) expect(pack.validateScope(injected.stack).violations).toEqual([]);
  });
});

describe("queues", () => {
  it.each(queueNames)(
    "%s is FIFO with content deduplication, its registry timeout and a FIFO DLQ",
    (name) => {
      const definition = queues[name];
      const { queue, deadLetterQueue } = main.stack.queues.get(name);
      const resources = main.template.toJSON().Resources;
      const dlqId = logicalId(main.stack, deadLetterQueue.queue);
      expect(resources[logicalId(main.stack, queue)].Properties).toEqual({
        QueueName: definition.name,
        FifoQueue: true,
        ContentBasedDeduplication: true,
        SqsManagedSseEnabled: true,
        VisibilityTimeout: definition.visibilityTimeoutSeconds,
        RedrivePolicy: {
          deadLetterTargetArn: { "Fn::GetAtt": [dlqId, "Arn"] },
          maxReceiveCount: definition.maxReceiveCount,
        },
      });
      expect(resources[dlqId].Properties).toEqual({
        QueueName: definition.name.replace(/\.fifo$/, "-dlq.fifo"),
        FifoQueue: true,
        SqsManagedSseEnabled: true,
        MessageRetentionPeriod: deadLetterRetentionDays * 24 * 60 * 60,
      });
      for (const id of [logicalId(main.stack, queue), dlqId]) {
        main.template.hasResourceProperties("AWS::SQS::QueuePolicy", {
          Queues: [{ Ref: id }],
          PolicyDocument: {
            Statement: Match.arrayWith([
              Match.objectLike({ Effect: "Deny", Condition: { Bool: { "aws:SecureTransport": "false" } } }),
            ]),
          },
        });
      }
    },
  );

  it.each(queueNames)("%s feeds its consumer in batches with partial batch responses", (name) => {
    const definition = queues[name];
    const { properties } = only(main.template, "AWS::Lambda::EventSourceMapping", {
      EventSourceArn: { "Fn::GetAtt": [logicalId(main.stack, main.stack.queues.get(name).queue), "Arn"] },
    });
    expect(properties).toEqual({
      EventSourceArn: expect.anything(),
      FunctionName: { Ref: fnLogicalId(definition.consumer) },
      BatchSize: definition.batchSize,
      FunctionResponseTypes: ["ReportBatchItemFailures"],
    });
  });

  it.each(queueNames)(
    "%s: the state machine may send to exactly this queue, its consumer may answer",
    (name) => {
      const { queue, consumer } = main.stack.queues.get(name);
      const queueArn = { "Fn::GetAtt": [logicalId(main.stack, queue), "Arn"] };
      const senders = (Object.keys(workflows) as WorkflowName[]).filter((wf) =>
        readFileSync(join(projectRoot, workflows[wf].file), "utf8").includes(`\${${queueUrlKey(name)}}`),
      );
      expect(senders).not.toHaveLength(0);
      for (const workflow of senders) {
        const machine = main.stack.workflows.get(workflow);
        const sqsStatements = statementsOf(main.template, logicalId(main.stack, machine.role)).filter((s) =>
          actionsOf(s).some((a) => a.startsWith("sqs:")),
        );
        expect(sqsStatements).toEqual([
          expect.objectContaining({ Action: "sqs:SendMessage", Resource: queueArn }),
        ]);
      }
      // Every sender here waits for the consumer's answer (`sqs:sendMessage.waitForTaskToken`).
      expect(fnStatementsFor(queues[name].consumer, "states:")).toEqual(
        senders.map((workflow) =>
          expect.objectContaining({
            Action: ["states:SendTaskSuccess", "states:SendTaskFailure"],
            Resource: machineRef(workflow),
          }),
        ),
      );
      expect(consumer).toBe(main.stack.functions.get(queues[name].consumer));
    },
  );

  it("provides the same placeholders as the local runner", () => {
    expect([...resourceSubstitutionKeys(queues).keys()].sort()).toEqual([...localSubstitutionKeys].sort());
  });
});

describe("promotion tables", () => {
  const resources = main.template.toJSON().Resources;
  const tableOf = (table: { node: { defaultChild?: unknown } }) => resources[logicalId(main.stack, table)];
  const common = {
    BillingMode: "PAY_PER_REQUEST",
    PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
    SSESpecification: { SSEEnabled: true },
  };
  const stringAttributes = (...names: string[]) =>
    names.map((AttributeName) => ({ AttributeName, AttributeType: "S" }));
  const keySchema = (hash: string, range?: string) => [
    { AttributeName: hash, KeyType: "HASH" },
    ...(range ? [{ AttributeName: range, KeyType: "RANGE" }] : []),
  ];

  it("keys the promotion table as the store expects, with both GSIs projecting ALL", () => {
    const keys = promotionTableKeys;
    const table = tableOf(main.stack.promotion.tables.promotions);
    expect(table.Properties).toMatchObject(common);
    expect(table.Properties.KeySchema).toEqual(keySchema(keys.partitionKey, keys.sortKey));
    expect(table.Properties.GlobalSecondaryIndexes).toEqual(
      [keys.byServiceIndex, keys.byTypeIndex].map((index) => ({
        IndexName: index.indexName,
        KeySchema: keySchema(index.partitionKey, index.sortKey),
        Projection: { ProjectionType: "ALL" },
      })),
    );
    expect(table.Properties.AttributeDefinitions).toEqual(
      expect.arrayContaining(
        stringAttributes(
          keys.partitionKey,
          keys.sortKey,
          ...[keys.byServiceIndex, keys.byTypeIndex].flatMap((i) => [i.partitionKey, i.sortKey]),
        ),
      ),
    );
  });

  it("keys the idempotency table on pk and expires items by expiresAt", () => {
    const table = tableOf(main.stack.promotion.tables.idempotency);
    expect(table.Properties).toEqual({
      ...common,
      KeySchema: keySchema(idempotencyTableKeys.partitionKey),
      AttributeDefinitions: stringAttributes(idempotencyTableKeys.partitionKey),
      TimeToLiveSpecification: { AttributeName: idempotencyTableKeys.timeToLive, Enabled: true },
    });
  });

  it("retains both tables when the stack or the resource goes", () => {
    for (const table of [main.stack.promotion.tables.promotions, main.stack.promotion.tables.idempotency]) {
      expect(tableOf(table)).toMatchObject({ DeletionPolicy: "Retain", UpdateReplacePolicy: "Retain" });
    }
  });

  it.each([
    [
      "promotion",
      "dynamodb-promotion-store.ts",
      [...promotionTableActions.read, ...promotionTableActions.write],
    ],
    ["idempotency", "dynamodb-idempotency-store.ts", [...idempotencyTableActions]],
    ["approval", "dynamodb-approval-store.ts", [...approvalTableActions.read, ...approvalTableActions.write]],
    ["freeze", "dynamodb-freeze-store.ts", [...freezeTableActions.read, ...freezeTableActions.write]],
  ])("grants every DynamoDB action the %s store's commands need", (_store, file, granted) => {
    const source = readFileSync(join(projectRoot, "functions/adapters/aws", file), "utf8");
    const commands = [...new Set([...source.matchAll(/new (\w+)Command\(/g)].map((m) => m[1]!))];
    expect(commands).not.toHaveLength(0);
    const actionFor: Record<string, string> = {
      Get: "dynamodb:GetItem",
      Put: "dynamodb:PutItem",
      Update: "dynamodb:UpdateItem",
      Delete: "dynamodb:DeleteItem",
      Query: "dynamodb:Query",
      Scan: "dynamodb:Scan",
    };
    for (const command of commands) expect(granted).toContain(actionFor[command] ?? `unmapped ${command}`);
  });

  const promotionsArn = () => ({
    "Fn::GetAtt": [logicalId(main.stack, main.stack.promotion.tables.promotions), "Arn"],
  });
  const indexArn = (index: string) => ({ "Fn::Join": ["", [promotionsArn(), `/index/${index}`]] });

  it.each(functionNames)("%s gets exactly its promotion-table access and the table's name", (name) => {
    const access = needsOf(name).promotionTable ?? incidentNeedsOf(name).promotionTable;
    const statements = fnStatementsFor(name, "dynamodb:").filter((s) =>
      JSON.stringify(s.Resource).includes(logicalId(main.stack, main.stack.promotion.tables.promotions)),
    );
    const read = expect.objectContaining({
      Action: [...promotionTableActions.read],
      Resource: [
        promotionsArn(),
        indexArn(promotionTableKeys.byServiceIndex.indexName),
        indexArn(promotionTableKeys.byTypeIndex.indexName),
      ],
    });
    const write = expect.objectContaining({
      Action: [...promotionTableActions.write],
      Resource: promotionsArn(),
    });
    expect(statements).toEqual(access === undefined ? [] : access === "read" ? [read] : [read, write]);
    const tableRef = { Ref: logicalId(main.stack, main.stack.promotion.tables.promotions) };
    expect(fnVariables(name)[envNames.promotionTable]).toEqual(
      access || namedOnly(name, "promotionTable") ? tableRef : undefined,
    );
  });

  it.each(functionNames)("%s gets the idempotency table only if it claims keys", (name) => {
    const table = main.stack.promotion.tables.idempotency;
    const statements = fnStatementsFor(name, "dynamodb:").filter((s) =>
      JSON.stringify(s.Resource).includes(logicalId(main.stack, table)),
    );
    const claims = needsOf(name).idempotencyTable === true;
    expect(statements).toEqual(
      claims
        ? [
            expect.objectContaining({
              Action: [...idempotencyTableActions],
              Resource: { "Fn::GetAtt": [logicalId(main.stack, table), "Arn"] },
            }),
          ]
        : [],
    );
    expect(fnVariables(name)[envNames.idempotencyTable]).toEqual(
      claims ? { Ref: logicalId(main.stack, table) } : undefined,
    );
  });
});

describe("GitHub secrets", () => {
  const secrets = () => main.stack.promotion.secrets;
  const cases = [
    ["webhook secret", () => secrets().webhookSecret, config.github.webhookSecret, "webhookSecret"],
    ["token", () => secrets().token, config.github.tokenSecret, "githubToken"],
  ] as const;

  it.each(cases)("creates the %s under its configured name with a generated value", (_what, secret, name) => {
    const { id, properties } = only(main.template, "AWS::SecretsManager::Secret", { Name: name });
    expect(id).toBe(logicalId(main.stack, secret()));
    expect(properties.GenerateSecretString).toEqual({ PasswordLength: 64, ExcludePunctuation: true });
    expect(properties).not.toHaveProperty("SecretString");
  });

  it.each(cases)("lets only the functions that need it read the %s", (_what, secret, _name, need) => {
    const ref = { Ref: logicalId(main.stack, secret()) };
    for (const name of functionNames) {
      const reads = fnStatementsFor(name, "secretsmanager:").filter(
        (s) => JSON.stringify(s.Resource) === JSON.stringify(ref),
      );
      expect(reads, name).toEqual(
        needsOf(name)[need]
          ? [
              expect.objectContaining({
                Action: ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
                Resource: ref,
              }),
            ]
          : [],
      );
    }
  });

  it("tells the operator how to set the real token", () => {
    const outputs = main.template.findOutputs("*", { Value: config.github.tokenSecret });
    expect(Object.values(outputs)).toEqual([
      expect.objectContaining({
        Description: expect.stringContaining("aws secretsmanager put-secret-value"),
      }),
    ]);
  });
});

describe("cluster access", () => {
  const clusterArn = {
    "Fn::Join": [
      "",
      ["arn:", { Ref: "AWS::Partition" }, `:eks:eu-west-1:123456789012:cluster/${eksClusterName}`],
    ],
  };

  const groupsOf = (name: FunctionName): string[] => [
    ...(needsOf(name).cluster ? [argoCdAccessGroup] : []),
    ...(rotationNeedsOf(name).workloads ? [secretRolloutAccessGroup] : []),
  ];

  it.each(functionNames)(
    "%s may describe the cluster and enter it only if it talks to the cluster",
    (name) => {
      const groups = groupsOf(name);
      const cluster = groups.length > 0;
      expect(fnStatementsFor(name, "eks:")).toEqual(
        cluster ? [expect.objectContaining({ Action: "eks:DescribeCluster", Resource: clusterArn })] : [],
      );
      expect(fnVariables(name)[envNames.eksClusterName]).toEqual(cluster ? eksClusterName : undefined);
      const entries = main.template.findResources("AWS::EKS::AccessEntry", {
        Properties: { PrincipalArn: { "Fn::GetAtt": [fnRoleId(name), "Arn"] } },
      });
      expect(Object.values(entries).map((e) => (e as { Properties: unknown }).Properties)).toEqual(
        cluster
          ? [
              {
                ClusterName: eksClusterName,
                PrincipalArn: { "Fn::GetAtt": [fnRoleId(name), "Arn"] },
                Type: "STANDARD",
                KubernetesGroups: groups,
              },
            ]
          : [],
      );
    },
  );

  it("names the secret-rollout group and the consumers' namespaces its RoleBindings must cover", () => {
    const outputs = Object.values(main.template.findOutputs("*", { Value: secretRolloutAccessGroup }));
    const namespaces = [...new Set(config.secrets.flatMap((s) => s.consumers.map((c) => c.namespace)))];
    expect(namespaces).not.toHaveLength(0);
    expect(outputs).toEqual([
      expect.objectContaining({
        Description: expect.stringContaining(`namespace(s) ${namespaces.sort().join(", ")}`),
      }),
    ]);
  });

  it("generates a Role per consumer namespace naming exactly the consumers' objects", () => {
    const manifest = rbacManifest({
      argoCdNamespaces: ["argocd"],
      secretConsumers: [
        {
          namespace: "checkout",
          externalSecret: "checkout-db",
          deployments: ["checkout-worker", "checkout-api"],
        },
        { namespace: "checkout", externalSecret: "checkout-cache", deployments: ["checkout-api"] },
        { namespace: "payments", externalSecret: "payments-db", deployments: ["payments-worker"] },
      ],
    });
    const role = (namespace: string) =>
      manifest.find(
        (o) =>
          o.kind === "Role" &&
          (o.metadata as { namespace: string }).namespace === namespace &&
          (o.metadata as { name: string }).name === "switchyard-secret-rollout",
      );
    expect(role("checkout")?.rules).toEqual([
      {
        apiGroups: ["external-secrets.io"],
        resources: ["externalsecrets"],
        resourceNames: ["checkout-cache", "checkout-db"],
        verbs: ["get", "patch"],
      },
      {
        apiGroups: [""],
        resources: ["secrets"],
        resourceNames: ["checkout-cache", "checkout-db"],
        verbs: ["get"],
      },
      {
        apiGroups: ["apps"],
        resources: ["deployments"],
        resourceNames: ["checkout-api", "checkout-worker"],
        verbs: ["get", "patch"],
      },
    ]);
    expect(role("payments")).toBeDefined();
    expect(role("argocd")).toBeUndefined();
    // Plain YAML, no anchors: the same names in two rules must not become an alias in the GitOps repository.
    expect(
      rbacYaml({ argoCdNamespaces: ["argocd"], secretConsumers: config.secrets.flatMap((x) => x.consumers) }),
    ).not.toMatch(/[&*]a\d/);
    const bindings = manifest.filter((o) => o.kind === "RoleBinding").map((o) => o.subjects);
    expect(bindings).toEqual([
      [{ apiGroup: "rbac.authorization.k8s.io", kind: "Group", name: argoCdAccessGroup }],
      [{ apiGroup: "rbac.authorization.k8s.io", kind: "Group", name: secretRolloutAccessGroup }],
      [{ apiGroup: "rbac.authorization.k8s.io", kind: "Group", name: secretRolloutAccessGroup }],
    ]);
  });

  it("names the group and the Argo CD namespaces the RoleBinding must cover", () => {
    const outputs = Object.values(main.template.findOutputs("*", { Value: argoCdAccessGroup }));
    const namespaces = [...new Set(config.environments.map((env) => env.argocd.namespace))];
    expect(outputs).toEqual([
      expect.objectContaining({
        Description: expect.stringContaining(`namespace(s) ${namespaces.join(", ")}`),
      }),
    ]);
  });

  it("takes the cluster name from the stack's input", () => {
    const other = buildStack(undefined, { clusterName: "tools-eu" });
    other.template.hasResourceProperties("AWS::EKS::AccessEntry", { ClusterName: "tools-eu" });
  });

  it("refuses a cluster name EKS would refuse", () => {
    expect(() => buildStack(undefined, { clusterName: "-platform" })).toThrow(
      /EKS cluster name "-platform" \(CDK context eksClusterName\) is not valid/,
    );
  });
});

describe("starting workflows", () => {
  it.each(functionNames)("%s may start exactly the workflows it starts, and knows their ARNs", (name) => {
    const starts = startsOf(name);
    const statements = fnStatementsFor(name, "states:").filter((s) =>
      actionsOf(s).some((a) => a === "states:StartExecution" || a === "states:DescribeExecution"),
    );
    const expected = starts.flatMap((workflow) => {
      const machine = logicalId(main.stack, main.stack.workflows.get(workflow));
      return [
        expect.objectContaining({ Action: "states:StartExecution", Resource: { Ref: machine } }),
        expect.objectContaining({
          Action: "states:DescribeExecution",
          Resource: {
            "Fn::Join": [
              "",
              [
                "arn:",
                { Ref: "AWS::Partition" },
                ":states:eu-west-1:123456789012:execution:",
                { "Fn::GetAtt": [machine, "Name"] },
                ":*",
              ],
            ],
          },
        }),
      ];
    });
    expect(statements).toEqual(expected);
    for (const [workflow, variable] of Object.entries(stateMachineArnEnv)) {
      const machine = logicalId(main.stack, main.stack.workflows.get(workflow));
      expect(fnVariables(name)[variable]).toEqual(
        (starts as readonly string[]).includes(workflow) ? { Ref: machine } : undefined,
      );
    }
  });
});

describe("starting both workflows", () => {
  it.each(["start-promotion", "promote-next-environment"] as const)(
    "%s may start promote-image and production-sync, and knows both ARNs",
    (name) => {
      const starts = fnStatementsFor(name, "states:").filter((s) =>
        actionsOf(s).includes("states:StartExecution"),
      );
      expect(starts.map((s) => s.Resource)).toEqual([
        machineRef("promote-image"),
        machineRef("production-sync"),
      ]);
      expect(fnVariables(name)).toMatchObject({
        [envNames.promoteImageStateMachineArn]: machineRef("promote-image"),
        [envNames.productionSyncStateMachineArn]: machineRef("production-sync"),
      });
    },
  );
});

describe("HTTP API", () => {
  const routes = functionNames.flatMap(
    (name) =>
      (functions[name] as FunctionDefinition).http?.map((route) => [routeKey(route), name] as const) ?? [],
  );
  const apiRef = () => ({ Ref: logicalId(main.stack, main.stack.api.api) });

  it("serves every registry route", () => {
    expect(routes.length).toBeGreaterThan(0);
    const deployed = Object.values(
      main.template.findResources("AWS::ApiGatewayV2::Route", { Properties: { ApiId: apiRef() } }),
    ).map((r) => (r as { Properties: { RouteKey: string } }).Properties.RouteKey);
    expect(deployed.sort()).toEqual(routes.map(([key]) => key).sort());
  });

  it.each(routes)(
    "%s reaches %s through a payload 2.0 proxy integration with the right authorization",
    (key, fn) => {
      const { properties } = only(main.template, "AWS::ApiGatewayV2::Route", {
        RouteKey: key,
        ApiId: apiRef(),
      });
      expect(properties.AuthorizationType).toBe(publicRoutes.has(key) ? "NONE" : "AWS_IAM");
      const integrationId = (properties.Target as { "Fn::Join": [string, [string, { Ref: string }]] })[
        "Fn::Join"
      ][1][1].Ref;
      expect(main.template.toJSON().Resources[integrationId].Properties).toEqual({
        ApiId: apiRef(),
        IntegrationType: "AWS_PROXY",
        IntegrationUri: fnArn(fn),
        PayloadFormatVersion: "2.0",
      });
      main.template.hasResourceProperties("AWS::Lambda::Permission", {
        Action: "lambda:InvokeFunction",
        FunctionName: fnArn(fn),
        Principal: "apigateway.amazonaws.com",
        SourceArn: {
          "Fn::Join": ["", Match.arrayWith([apiRef(), `/*/*${key.split(" ")[1]}`])],
        },
      });
    },
  );

  it("leaves only the GitHub, Alertmanager and PagerDuty webhooks unauthenticated", () => {
    expect([...publicRoutes.keys()]).toEqual([
      "POST /webhooks/github",
      "POST /webhooks/alertmanager",
      "POST /webhooks/pagerduty",
    ]);
  });

  it("auto-deploys the $default stage with throttling and JSON access logs naming the caller", () => {
    const { properties } = only(main.template, "AWS::ApiGatewayV2::Stage", { ApiId: apiRef() });
    expect(properties).toMatchObject({
      StageName: "$default",
      AutoDeploy: true,
      DefaultRouteSettings: {
        ThrottlingRateLimit: throttleRateLimitPerSecond,
        ThrottlingBurstLimit: throttleBurstLimit,
      },
    });
    const logs = properties.AccessLogSettings as {
      DestinationArn: { "Fn::GetAtt": [string, string] };
      Format: string;
    };
    expect(JSON.parse(logs.Format)).toMatchObject({
      requestId: "$context.requestId",
      routeKey: "$context.routeKey",
      status: "$context.status",
      callerArn: "$context.identity.userArn",
    });
    expect(main.template.toJSON().Resources[logs.DestinationArn["Fn::GetAtt"][0]].Properties).toEqual({
      RetentionInDays: ninetyDays,
    });
  });

  it("outputs the API's URL", () => {
    const outputs = Object.values(main.template.findOutputs("*")).filter((o) =>
      JSON.stringify(o).includes(JSON.stringify(apiRef())),
    );
    expect(outputs).toEqual([
      expect.objectContaining({
        Value: {
          "Fn::Join": ["", ["https://", apiRef(), ".execute-api.eu-west-1.", { Ref: "AWS::URLSuffix" }, "/"]],
        },
      }),
    ]);
  });
});

describe("environment variables", () => {
  it.each(functionNames)("%s has a variable for each resource it reads and none for the rest", (name) => {
    const needs = needsOf(name);
    const gate = gateNeedsOf(name);
    const rotation = rotationNeedsOf(name);
    const incident = incidentNeedsOf(name);
    const expected = new Set<string>([
      ...(needs.promotionTable || incident.promotionTable || namedOnly(name, "promotionTable")
        ? [envNames.promotionTable]
        : []),
      ...(needs.idempotencyTable ? [envNames.idempotencyTable] : []),
      ...(needs.cluster || rotation.workloads ? [envNames.eksClusterName] : []),
      ...startsOf(name).map((wf) => stateMachineArnEnv[wf as keyof typeof stateMachineArnEnv]),
      ...(gate.approvalTable ? [envNames.approvalTable] : []),
      ...(gate.freezeTable || rotation.freezeTable || incident.freezeTable || namedOnly(name, "freezeTable")
        ? [envNames.freezeTable]
        : []),
      ...(gate.approvalPagesUrl || incident.approvalPagesUrl ? [envNames.approvalPagesUrl] : []),
      ...((functions[name] as FunctionDefinition).publishesEvents || namedOnly(name, "eventBus")
        ? [envNames.eventBusName]
        : []),
      ...(incident.incidentTable ? [envNames.incidentTable] : []),
    ]);
    const switchyardVariables = Object.keys(fnVariables(name)).filter(
      (v) => v.startsWith("SWITCHYARD_") && v !== envNames.config,
    );
    expect(new Set(switchyardVariables)).toEqual(expected);
    // Lambda sets the region itself and rejects a function that tries to.
    expect(fnVariables(name)).not.toHaveProperty(envNames.awsRegion);
  });
});

describe("alarms", () => {
  const alarmOn = (metric: string, dimension: Record<string, unknown>) =>
    Object.values(
      main.template.findResources("AWS::CloudWatch::Alarm", {
        Properties: { MetricName: metric, Dimensions: [dimension] },
      }),
    ).map((a) => (a as { Properties: Record<string, unknown> }).Properties);

  it.each([
    ...rules.map((rule) => [`rule ${rule.name}`, () => main.stack.rules.deadLetterQueue(rule.name)] as const),
    ...queueNames.map(
      (name) => [`queue ${name}`, () => main.stack.queues.get(name).deadLetterQueue.queue] as const,
    ),
  ])("alarms as soon as the dead-letter queue of %s holds a message", (_what, queue) => {
    const dimension = {
      Name: "QueueName",
      Value: { "Fn::GetAtt": [logicalId(main.stack, queue()), "QueueName"] },
    };
    expect(alarmOn("ApproximateNumberOfMessagesVisible", dimension)).toEqual([
      expect.objectContaining({
        Namespace: "AWS/SQS",
        Statistic: "Maximum",
        ComparisonOperator: "GreaterThanThreshold",
        Threshold: 0,
        EvaluationPeriods: 1,
        TreatMissingData: "notBreaching",
      }),
    ]);
  });

  it.each(
    (Object.keys(workflows) as WorkflowName[]).flatMap((name) =>
      ["ExecutionsFailed", "ExecutionsTimedOut", "ExecutionsAborted"].map(
        (metric) => [name, metric] as const,
      ),
    ),
  )("alarms on %s's %s at the first one in five minutes, with no action of its own", (name, metric) => {
    const dimension = { Name: "StateMachineArn", Value: machineRef(name) };
    const alarms = alarmOn(metric, dimension);
    expect(alarms).toEqual([
      expect.objectContaining({
        AlarmName: `Switchyard-${workflows[name].id}-${metric}`,
        AlarmDescription: expect.stringContaining(`An execution of the ${workflows[name].id} workflow`),
        Namespace: "AWS/States",
        Statistic: "Sum",
        Period: 300,
        ComparisonOperator: "GreaterThanThreshold",
        Threshold: 0,
        EvaluationPeriods: 1,
        DatapointsToAlarm: 1,
        TreatMissingData: "notBreaching",
      }),
    ]);
    // Incident escalation takes CloudWatch's "Alarm State Change" events from EventBridge instead.
    expect(alarms[0]).not.toHaveProperty("AlarmActions");
  });

  it.each([
    ["ExecutionsFailed", "failed"],
    ["ExecutionsTimedOut", "TimeoutSeconds"],
    ["ExecutionsAborted", "StopExecution"],
  ])("says what production-sync's %s alarm means", (metric, words) => {
    const [alarm] = alarmOn(metric, { Name: "StateMachineArn", Value: machineRef("production-sync") });
    expect(alarm?.AlarmDescription).toEqual(expect.stringContaining(words));
    expect(alarm?.AlarmDescription).toEqual(
      expect.stringContaining(workflows["production-sync"].description),
    );
  });
});

describe("approval gate", () => {
  const gate = () => main.stack.approvalGate;
  const resources = main.template.toJSON().Resources;
  const tableOf = (table: { node: { defaultChild?: unknown } }) => resources[logicalId(main.stack, table)];
  const keySchema = (hash: string, range?: string) => [
    { AttributeName: hash, KeyType: "HASH" },
    ...(range ? [{ AttributeName: range, KeyType: "RANGE" }] : []),
  ];
  const stringAttributes = (...names: string[]) =>
    names.map((AttributeName) => ({ AttributeName, AttributeType: "S" }));
  const common = {
    BillingMode: "PAY_PER_REQUEST",
    PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
    SSESpecification: { SSEEnabled: true },
  };
  const arnOf = (resource: { node: { defaultChild?: unknown } }) => ({
    "Fn::GetAtt": [logicalId(main.stack, resource), "Arn"],
  });
  const rdsArn = (resource: string) => ({
    "Fn::Join": ["", ["arn:", { Ref: "AWS::Partition" }, `:rds:eu-west-1:123456789012:${resource}`]],
  });

  describe("tables", () => {
    it("keys the approval table as the store expects, expires items by TTL, and projects no task token", () => {
      const keys = approvalTableKeys;
      const table = tableOf(gate().tables.approvals);
      expect(table.Properties).toMatchObject({
        ...common,
        KeySchema: keySchema(keys.partitionKey),
        TimeToLiveSpecification: { AttributeName: keys.timeToLive, Enabled: true },
        GlobalSecondaryIndexes: [
          {
            IndexName: keys.byStateIndex.indexName,
            KeySchema: keySchema(keys.byStateIndex.partitionKey, keys.byStateIndex.sortKey),
            Projection: {
              ProjectionType: "INCLUDE",
              NonKeyAttributes: [...keys.byStateIndex.nonKeyAttributes],
            },
          },
          {
            IndexName: keys.byPromotionIndex.indexName,
            KeySchema: keySchema(keys.byPromotionIndex.partitionKey, keys.byPromotionIndex.sortKey),
            Projection: { ProjectionType: "KEYS_ONLY" },
          },
        ],
      });
      expect(table.Properties.AttributeDefinitions).toEqual(
        expect.arrayContaining(
          stringAttributes(
            keys.partitionKey,
            keys.byStateIndex.partitionKey,
            keys.byPromotionIndex.partitionKey,
            keys.byStateIndex.sortKey,
          ),
        ),
      );
      expect(JSON.stringify(table.Properties.GlobalSecondaryIndexes)).not.toContain("taskToken");
    });

    it("keys the freeze table on service and id", () => {
      expect(tableOf(gate().tables.freezes).Properties).toEqual({
        ...common,
        KeySchema: keySchema(freezeTableKeys.partitionKey, freezeTableKeys.sortKey),
        AttributeDefinitions: stringAttributes(freezeTableKeys.partitionKey, freezeTableKeys.sortKey),
      });
    });

    it("retains both tables when the stack or the resource goes", () => {
      for (const table of [gate().tables.approvals, gate().tables.freezes]) {
        expect(tableOf(table)).toMatchObject({ DeletionPolicy: "Retain", UpdateReplacePolicy: "Retain" });
      }
    });

    it.each(functionNames)("%s gets exactly its approval-table access and the table's name", (name) => {
      const access = gateNeedsOf(name).approvalTable;
      const table = arnOf(gate().tables.approvals);
      const index = (indexName: string) => ({ "Fn::Join": ["", [table, `/index/${indexName}`]] });
      const statements = fnStatementsFor(name, "dynamodb:").filter((s) =>
        JSON.stringify(s.Resource).includes(logicalId(main.stack, gate().tables.approvals)),
      );
      const read = expect.objectContaining({
        Action: [...approvalTableActions.read],
        Resource: [
          table,
          index(approvalTableKeys.byStateIndex.indexName),
          index(approvalTableKeys.byPromotionIndex.indexName),
        ],
      });
      const write = expect.objectContaining({ Action: [...approvalTableActions.write], Resource: table });
      expect(statements).toEqual(access === undefined ? [] : access === "read" ? [read] : [read, write]);
      expect(fnVariables(name)[envNames.approvalTable]).toEqual(
        access ? { Ref: logicalId(main.stack, gate().tables.approvals) } : undefined,
      );
    });

    it.each(functionNames)("%s gets exactly its freeze-table access and the table's name", (name) => {
      const access =
        gateNeedsOf(name).freezeTable ??
        rotationNeedsOf(name).freezeTable ??
        incidentNeedsOf(name).freezeTable;
      const table = arnOf(gate().tables.freezes);
      const statements = fnStatementsFor(name, "dynamodb:").filter((s) =>
        JSON.stringify(s.Resource).includes(logicalId(main.stack, gate().tables.freezes)),
      );
      const read = expect.objectContaining({ Action: [...freezeTableActions.read], Resource: table });
      const write = expect.objectContaining({ Action: [...freezeTableActions.write], Resource: table });
      expect(statements).toEqual(access === undefined ? [] : access === "read" ? [read] : [read, write]);
      expect(fnVariables(name)[envNames.freezeTable]).toEqual(
        access || namedOnly(name, "freezeTable")
          ? { Ref: logicalId(main.stack, gate().tables.freezes) }
          : undefined,
      );
    });
  });

  describe("link key", () => {
    it("creates the link key under its configured name as 64 generated hex digits", () => {
      const { id, properties } = only(main.template, "AWS::SecretsManager::Secret", {
        Name: config.approvals.linkKeySecret,
      });
      expect(id).toBe(logicalId(main.stack, gate().linkKey));
      expect(properties.GenerateSecretString).toEqual({
        PasswordLength: 64,
        ExcludePunctuation: true,
        ExcludeUppercase: true,
        ExcludeCharacters: "ghijklmnopqrstuvwxyz",
      });
      expect(properties).not.toHaveProperty("SecretString");
    });

    it("lets exactly the functions that sign or verify approval and acknowledge links read it", () => {
      const ref = { Ref: logicalId(main.stack, gate().linkKey) };
      const readers = functionNames.filter((name) =>
        fnStatementsFor(name, "secretsmanager:").some(
          (s) => JSON.stringify(s.Resource) === JSON.stringify(ref),
        ),
      );
      expect(readers.sort()).toEqual(
        functionNames.filter((name) => gateNeedsOf(name).linkKey || incidentNeedsOf(name).linkKey).sort(),
      );
      expect(readers).toEqual(
        expect.arrayContaining([
          "approvals",
          "request-approval",
          "notify-incident",
          "close-incident",
          "incidents",
        ]),
      );
      for (const name of readers) {
        const linkKeyStatements = fnStatementsFor(name, "secretsmanager:").filter(
          (s) => JSON.stringify(s.Resource) === JSON.stringify(ref),
        );
        expect(linkKeyStatements).toEqual([
          expect.objectContaining({
            Action: ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
            Resource: ref,
          }),
        ]);
      }
    });
  });

  describe("e-mail", () => {
    const identityArn = () => ({
      "Fn::Join": [
        "",
        [
          "arn:",
          { Ref: "AWS::Partition" },
          ":ses:eu-west-1:123456789012:identity/",
          { Ref: logicalId(main.stack, gate().sender!) },
        ],
      ],
    });

    it("creates an SES identity for the configured sender and names it in an output", () => {
      const { id } = only(main.template, "AWS::SES::EmailIdentity", { EmailIdentity: testSender });
      expect(id).toBe(logicalId(main.stack, gate().sender!));
      expect(Object.values(main.template.findOutputs("*", { Value: testSender }))).toEqual([
        expect.objectContaining({ Description: expect.stringContaining("verification link") }),
      ]);
    });

    it.each(functionNames)(
      "%s may send e-mail only if it requests approvals or escalates to a mailbox, and only from the sender",
      (name) => {
        const escalationMail = config.incidents.escalation.levels.some((l) =>
          l.notify.some((t) => "email" in t),
        );
        expect(escalationMail).toBe(true);
        expect(fnStatementsFor(name, "ses:")).toEqual(
          gateNeedsOf(name).sendsMail || (incidentNeedsOf(name).sendsMail && escalationMail)
            ? [
                expect.objectContaining({
                  Action: ["ses:SendEmail", "ses:SendRawEmail"],
                  Resource: identityArn(),
                }),
              ]
            : [],
        );
      },
    );

    it("refuses to synthesize a gated environment with the local default sender, saying what to set", () => {
      const file = writeConfig(withSender(undefined));
      let caught: unknown;
      try {
        buildStack(undefined, { configFile: file });
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(ConfigError);
      expect((caught as Error).message).toBe(
        `Invalid configuration in ${file}: approvals.sender is "switchyard@localhost", which SES cannot verify, ` +
          `but environment "production" needs approval e-mails: set approvals.sender to an address you can ` +
          "receive mail at (SES sends it a verification link when the stack deploys)",
      );
    });

    it("creates no identity and grants no SES access when no environment is gated and no level e-mails", () => {
      const ungated = buildStack(undefined, {
        configFile: writeConfig((document) => {
          withSender(undefined)(document);
          for (const env of document.environments as { approval: unknown }[]) env.approval = "none";
          document.incidents = {
            ...((document.incidents ?? {}) as Record<string, unknown>),
            escalation: { levels: [{ after: "5m", notify: [] }] },
          };
        }),
      });
      expect(ungated.stack.approvalGate.sender).toBeUndefined();
      ungated.template.resourceCountIs("AWS::SES::EmailIdentity", 0);
      expect(JSON.stringify(ungated.template.findResources("AWS::IAM::Policy"))).not.toContain("ses:");
      for (const pack of compliancePacks()) expect(pack.validateScope(ungated.stack).violations).toEqual([]);
    });
  });

  describe("answering approvals", () => {
    const answers = (name: FunctionName) =>
      fnStatementsFor(name, "states:").filter(
        (s) =>
          actionsOf(s).includes("states:SendTaskSuccess") &&
          JSON.stringify(s.Resource) !== JSON.stringify(machineRef("promote-image")) &&
          JSON.stringify(s.Resource) !== JSON.stringify(machineRef("incident-escalation")),
      );

    it.each(functionNames.filter((name) => !queueNames.some((q) => queues[q].consumer === name)))(
      "%s may answer only if it decides approvals, and only the production-sync state machine",
      (name) => {
        expect(answers(name)).toEqual(
          gateNeedsOf(name).answersApprovals
            ? [
                expect.objectContaining({
                  Action: ["states:SendTaskSuccess", "states:SendTaskFailure"],
                  Resource: machineRef("production-sync"),
                }),
              ]
            : [],
        );
      },
    );

    it("grants request-approval its answers outside its default policy, which the workflow depends on", () => {
      const fn = main.stack.functions.get("request-approval");
      const defaultPolicy = logicalId(
        main.stack,
        fn.role!.node.findChild("DefaultPolicy") as unknown as { node: { defaultChild?: unknown } },
      );
      const holders = Object.entries(
        main.template.findResources("AWS::IAM::Policy", {
          Properties: { Roles: [{ Ref: fnRoleId("request-approval") }] },
        }),
      )
        .filter(([, policy]) => JSON.stringify(policy).includes("states:SendTaskSuccess"))
        .map(([id]) => id);
      expect(holders).toHaveLength(1);
      expect(holders).not.toContain(defaultPolicy);
    });
  });

  describe("approval pages API", () => {
    const pagesRef = () => ({ Ref: logicalId(main.stack, gate().pages.api) });
    const mainRef = () => ({ Ref: logicalId(main.stack, main.stack.api.api) });
    const pagesRoutes = functionNames.flatMap(
      (name) =>
        (functions[name] as FunctionDefinition).http
          ?.filter((route) => route.pages)
          .map((route) => [routeKey(route), name, route] as const) ?? [],
    );

    it("serves exactly the routes marked pages, approvals' page and decision among them", () => {
      const deployed = Object.values(
        main.template.findResources("AWS::ApiGatewayV2::Route", { Properties: { ApiId: pagesRef() } }),
      ).map((r) => (r as { Properties: { RouteKey: string } }).Properties.RouteKey);
      expect(deployed.sort()).toEqual(pagesRoutes.map(([key]) => key).sort());
      expect(deployed).toEqual(
        expect.arrayContaining(["GET /approvals/{id}", "POST /approvals/{id}/decision"]),
      );
    });

    it.each(pagesRoutes)(
      "%s reaches %s without IAM on the pages API and with IAM on the main API",
      (key, fn, route) => {
        const pages = only(main.template, "AWS::ApiGatewayV2::Route", { RouteKey: key, ApiId: pagesRef() });
        expect(pages.properties.AuthorizationType).toBe("NONE");
        const viaMain = only(main.template, "AWS::ApiGatewayV2::Route", { RouteKey: key, ApiId: mainRef() });
        expect(viaMain.properties.AuthorizationType).toBe("AWS_IAM");
        const integrationId = (
          pages.properties.Target as { "Fn::Join": [string, [string, { Ref: string }]] }
        )["Fn::Join"][1][1].Ref;
        expect(resources[integrationId].Properties).toEqual({
          ApiId: pagesRef(),
          IntegrationType: "AWS_PROXY",
          IntegrationUri: fnArn(fn),
          PayloadFormatVersion: "2.0",
        });
        main.template.hasResourceProperties("AWS::Lambda::Permission", {
          Action: "lambda:InvokeFunction",
          FunctionName: fnArn(fn),
          Principal: "apigateway.amazonaws.com",
          SourceArn: { "Fn::Join": ["", Match.arrayWith([pagesRef(), `/*/*${route.path}`])] },
        });
        expect(pagesRouteReason(fn, route)).toContain(
          route.method === "GET" ? "changes nothing" : "the token names",
        );
      },
    );

    it("leaves no route unauthenticated but the public and the pages routes", () => {
      const open = Object.values(
        main.template.findResources("AWS::ApiGatewayV2::Route", {
          Properties: { AuthorizationType: "NONE" },
        }),
      ).map((r) => {
        const { RouteKey, ApiId } = (r as { Properties: { RouteKey: string; ApiId: unknown } }).Properties;
        return `${JSON.stringify(ApiId) === JSON.stringify(pagesRef()) ? "pages" : "main"} ${RouteKey}`;
      });
      expect(open.sort()).toEqual(
        [
          ...[...publicRoutes.keys()].map((k) => `main ${k}`),
          ...pagesRoutes.map(([k]) => `pages ${k}`),
        ].sort(),
      );
    });

    it("throttles its stage tighter than the main API and logs it in the same format", () => {
      const pagesStage = only(main.template, "AWS::ApiGatewayV2::Stage", { ApiId: pagesRef() }).properties;
      const mainStage = only(main.template, "AWS::ApiGatewayV2::Stage", { ApiId: mainRef() }).properties;
      expect(pagesStage).toMatchObject({
        StageName: "$default",
        AutoDeploy: true,
        DefaultRouteSettings: {
          ThrottlingRateLimit: pagesThrottleRateLimitPerSecond,
          ThrottlingBurstLimit: pagesThrottleBurstLimit,
        },
      });
      expect(pagesThrottleRateLimitPerSecond).toBeLessThan(throttleRateLimitPerSecond);
      const logs = pagesStage.AccessLogSettings as {
        DestinationArn: { "Fn::GetAtt": [string, string] };
        Format: string;
      };
      expect(logs.Format).toBe((mainStage.AccessLogSettings as { Format: string }).Format);
      // Approval links carry their token in the query string; the access log must not.
      expect(logs.Format).not.toMatch(/\$context\.(path|querystring)|rawQueryString/i);
      expect(resources[logs.DestinationArn["Fn::GetAtt"][0]].Properties).toEqual({
        RetentionInDays: ninetyDays,
      });
    });

    const pagesUrl = () => ({
      "Fn::Join": ["", ["https://", pagesRef(), ".execute-api.eu-west-1.", { Ref: "AWS::URLSuffix" }, "/"]],
    });

    it("outputs the pages API's URL", () => {
      expect(Object.values(main.template.findOutputs("*", { Value: pagesUrl() }))).toEqual([
        expect.objectContaining({ Description: expect.stringContaining("approval pages") }),
      ]);
    });

    it.each(functionNames)(
      "%s knows the pages URL only if it builds approval or acknowledge links",
      (name) => {
        expect(fnVariables(name)[envNames.approvalPagesUrl]).toEqual(
          gateNeedsOf(name).approvalPagesUrl || incidentNeedsOf(name).approvalPagesUrl
            ? pagesUrl()
            : undefined,
        );
      },
    );

    it("tells request-approval the pages URL", () => {
      expect(fnVariables("request-approval")[envNames.approvalPagesUrl]).toEqual(pagesUrl());
    });
  });

  describe("database snapshots", () => {
    it("lets snapshot-before-change snapshot only opted-in databases, under Switchyard's names and tags", () => {
      expect(fnStatementsFor("snapshot-before-change", "rds:")).toEqual([
        {
          Effect: "Allow",
          Action: ["rds:CreateDBSnapshot", "rds:CreateDBClusterSnapshot"],
          Resource: [rdsArn("db:*"), rdsArn("cluster:*")],
          Condition: { StringEquals: { "aws:ResourceTag/switchyard:backup": "true" } },
        },
        {
          Effect: "Allow",
          Action: ["rds:CreateDBSnapshot", "rds:CreateDBClusterSnapshot", "rds:AddTagsToResource"],
          Resource: [rdsArn("snapshot:switchyard-*"), rdsArn("cluster-snapshot:switchyard-*")],
          Condition: {
            StringEquals: { "aws:RequestTag/switchyard:created-by": "switchyard" },
            "ForAllValues:StringEquals": {
              "aws:TagKeys": [
                "switchyard:created-by",
                "switchyard:reason",
                "switchyard:promotion-id",
                "switchyard:note",
              ],
            },
          },
        },
        {
          Effect: "Allow",
          Action: ["rds:DescribeDBSnapshots", "rds:DescribeDBClusterSnapshots"],
          Resource: "*",
        },
      ]);
    });

    it.each(functionNames)(
      "%s has RDS access only if it takes, lists, copies or restores snapshots",
      (name) => {
        const snapshot = snapshotNeedsOf(name);
        // Without snapshots.copyTo (the sample has none) copy-snapshot is never invoked and gets nothing.
        const needsRds = Object.keys(snapshot).some(
          (need) => need !== "startsWorkflows" && need !== "copies",
        );
        expect(fnStatementsFor(name, "rds:").length > 0).toBe(
          gateNeedsOf(name).databaseSnapshots === true || needsRds,
        );
      },
    );

    it("matches the names and tags the snapshot service gives", () => {
      const name = snapshotName("Orders_DB", "pre-change", new Date("2026-05-01T12:00:00Z"));
      expect(name.startsWith(snapshotNamePattern.replace(/\*$/, ""))).toBe(true);
      const tags = snapshotTags({ reason: "pre-change", promotionId: "9f1c2d3e" });
      expect(tags[snapshotTagKeys.createdBy]).toBe(snapshotCreator);
      expect(Object.values(snapshotTagKeys)).toEqual(expect.arrayContaining(Object.keys(tags)));
    });

    it("tells database owners the tag that opts a database in", () => {
      expect(
        Object.values(
          main.template.findOutputs("*", { Value: `${backupOptInTag.key}=${backupOptInTag.value}` }),
        ),
      ).toEqual([expect.objectContaining({ Description: expect.stringContaining("RDS DB instance") })]);
    });
  });
});

describe("secret rotation", () => {
  const rotated = config.secrets;
  const accountPrefix = ":secretsmanager:eu-west-1:123456789012:secret:";
  /** What IAM and the invoke permission name a secret by: the created secret's ARN, else `<name>-??????`. */
  const secretArn = (built: typeof main, name: string, cfg = config) =>
    name === cfg.approvals.linkKeySecret
      ? { Ref: logicalId(built.stack, built.stack.approvalGate.linkKey) }
      : name === cfg.github.webhookSecret
        ? { Ref: logicalId(built.stack, built.stack.promotion.secrets.webhookSecret) }
        : name === cfg.incidents.webhookToken.secret
          ? { Ref: logicalId(built.stack, built.stack.incidents.secrets.webhookToken) }
          : { "Fn::Join": ["", ["arn:", { Ref: "AWS::Partition" }, `${accountPrefix}${name}-??????`]] };
  const ownedBy = (name: string, cfg = config) =>
    name === cfg.approvals.linkKeySecret ||
    name === cfg.github.webhookSecret ||
    name === cfg.incidents.webhookToken.secret;
  /** A referenced secret is scheduled by name, a created one by its ARN. */
  const scheduledId = (built: typeof main, name: string, cfg = config) =>
    ownedBy(name, cfg) ? secretArn(built, name, cfg) : name;
  const fnArnIn = (built: typeof main, name: string) => ({
    "Fn::GetAtt": [logicalId(built.stack, built.stack.functions.get(name)), "Arn"],
  });
  const statementsIn = (built: typeof main, name: string, prefix: string): Statement[] => {
    const properties = built.template.toJSON().Resources[
      logicalId(built.stack, built.stack.functions.get(name))
    ].Properties as { Role: { "Fn::GetAtt": [string, string] } };
    return statementsOf(built.template, properties.Role["Fn::GetAtt"][0]).filter((s) =>
      actionsOf(s).some((a) => a.startsWith(prefix)),
    );
  };
  const rotationActions = [
    "secretsmanager:DescribeSecret",
    "secretsmanager:GetSecretValue",
    "secretsmanager:PutSecretValue",
    "secretsmanager:UpdateSecretVersionStage",
  ];

  it("is exercised by the sample: a database secret with consumers and a signing key", () => {
    expect(rotated.map((s) => s.rotation.strategy).sort()).toEqual(["api-key", "single-user"]);
    expect(rotated.some((s) => s.consumers.length > 0)).toBe(true);
  });

  it.each(rotated.map((s) => [s.name, s] as const))(
    "rotates %s with rotate-secret on its configured schedule, once its access and invoke permission exist",
    (name, secret) => {
      const { id, properties } = only(main.template, "AWS::SecretsManager::RotationSchedule", {
        SecretId: scheduledId(main, name),
      });
      expect(properties).toEqual({
        SecretId: scheduledId(main, name),
        RotationLambdaARN: fnArn(rotationFunction),
        RotationRules: { ScheduleExpression: secret.rotation.schedule },
      });
      const permission = only(main.template, "AWS::Lambda::Permission", { SourceArn: secretArn(main, name) });
      expect(main.template.toJSON().Resources[id].DependsOn).toEqual(
        expect.arrayContaining([
          permission.id,
          logicalId(main.stack, main.stack.secretRotation.rotationPolicy!),
        ]),
      );
    },
  );

  it("schedules exactly the configured secrets", () => {
    const scheduled = Object.values(main.template.findResources("AWS::SecretsManager::RotationSchedule")).map(
      (r) => (r as { Properties: { SecretId: unknown } }).Properties.SecretId,
    );
    expect(scheduled).toEqual(rotated.map((s) => scheduledId(main, s.name)));
  });

  it("references database secrets by name instead of creating them, and attaches signing keys' to the created one", () => {
    const created = Object.values(main.template.findResources("AWS::SecretsManager::Secret")).map(
      (r) => (r as { Properties: { Name: string } }).Properties.Name,
    );
    expect(created.sort()).toEqual(
      [
        config.github.webhookSecret,
        config.github.tokenSecret,
        config.approvals.linkKeySecret,
        config.incidents.webhookToken.secret,
        config.incidents.pagerduty.routingKey.secret,
        config.incidents.pagerduty.webhookSecret.secret,
        config.incidents.slack.token.secret,
      ].sort(),
    );
    expect(rotated.some((s) => s.name === config.approvals.linkKeySecret)).toBe(true);
  });

  it.each(rotated.map((s) => s.name))(
    "lets only Secrets Manager of this account, rotating %s, invoke rotate-secret for it",
    (name) => {
      const { properties } = only(main.template, "AWS::Lambda::Permission", {
        SourceArn: secretArn(main, name),
      });
      expect(properties).toEqual({
        Action: "lambda:InvokeFunction",
        FunctionName: fnArn(rotationFunction),
        Principal: "secretsmanager.amazonaws.com",
        SourceAccount: "123456789012",
        SourceArn: secretArn(main, name),
      });
    },
  );

  it("gives Secrets Manager no invoke permission without a source account and secret", () => {
    const permissions = Object.values(
      main.template.findResources("AWS::Lambda::Permission", {
        Properties: { Principal: "secretsmanager.amazonaws.com" },
      }),
    ).map((r) => (r as { Properties: Record<string, unknown> }).Properties);
    expect(permissions).toHaveLength(rotated.length);
    for (const permission of permissions) {
      expect(permission).toMatchObject({ SourceAccount: "123456789012", SourceArn: expect.anything() });
    }
  });

  it("scopes rotate-secret's Secrets Manager access to exactly the configured secrets", () => {
    expect(fnStatementsFor(rotationFunction, "secretsmanager:")).toEqual([
      expect.objectContaining({
        Effect: "Allow",
        Action: rotationActions,
        Resource: rotated.map((s) => secretArn(main, s.name)),
      }),
      expect.objectContaining({ Effect: "Allow", Action: "secretsmanager:GetRandomPassword", Resource: "*" }),
    ]);
  });

  it("lets no role start a rotation: nothing needs secretsmanager:RotateSecret", () => {
    const actions = Object.values(main.template.findResources("AWS::IAM::Policy")).flatMap((policy) =>
      (
        policy as { Properties: { PolicyDocument: { Statement: Statement[] } } }
      ).Properties.PolicyDocument.Statement.flatMap(actionsOf),
    );
    expect(actions).not.toContain("secretsmanager:RotateSecret");
    expect(actions.filter((a) => a.startsWith("secretsmanager:") && a.includes("*"))).toEqual([]);
  });

  it.each(functionNames)(
    "%s trusts the RDS CA bundle only if it rotates secrets or queries drills",
    (name) => {
      expect(fnVariables(name).NODE_EXTRA_CA_CERTS).toEqual(
        rotationNeedsOf(name).rotates || snapshotNeedsOf(name).queriesDrills ? rdsCaBundlePath : undefined,
      );
    },
  );

  it("alarms on rotate-secret's first error in five minutes, with no action of its own", () => {
    const alarms = Object.values(
      main.template.findResources("AWS::CloudWatch::Alarm", {
        Properties: {
          MetricName: "Errors",
          Dimensions: [{ Name: "FunctionName", Value: { Ref: fnLogicalId(rotationFunction) } }],
        },
      }),
    ).map((a) => (a as { Properties: Record<string, unknown> }).Properties);
    expect(alarms).toEqual([
      expect.objectContaining({
        AlarmName: `Switchyard-${functions[rotationFunction].id}-Errors`,
        Namespace: "AWS/Lambda",
        Statistic: "Sum",
        Period: 300,
        ComparisonOperator: "GreaterThanThreshold",
        Threshold: 0,
        EvaluationPeriods: 1,
        TreatMissingData: "notBreaching",
      }),
    ]);
    expect(alarms[0]).not.toHaveProperty("AlarmActions");
  });

  it("lets plan-secret-rollout describe the secrets with consumers and read no single-user password", () => {
    const consumed = rotated.filter((s) => s.consumers.length > 0);
    expect(consumed.every((s) => s.rotation.strategy !== "alternating-users")).toBe(true);
    const statements = fnStatementsFor("plan-secret-rollout", "secretsmanager:");
    expect(statements.map(actionsOf)).toEqual([["secretsmanager:DescribeSecret"]]);
    expect(resourcesOf(statements[0]!)).toEqual(consumed.map((s) => secretArn(main, s.name)));
  });

  it.each(["sync-external-secret", "restart-deployment", "watch-rollout", "finish-secret-rollout"] as const)(
    "gives %s no Secrets Manager access: it works on the cluster's copy only",
    (name) => {
      expect(fnStatementsFor(name, "secretsmanager:")).toEqual([]);
    },
  );

  it("tells the deployer the database secrets are referenced, and that rotation runs outside a VPC", () => {
    const outputs = main.template.toJSON().Outputs as Record<string, { Description: string; Value: unknown }>;
    const named = (value: unknown) => Object.values(outputs).filter((o) => o.Value === value);
    expect(named(rotated.map((s) => s.name).join(", "))).toEqual([
      expect.objectContaining({ Description: expect.stringContaining("whoever creates the database") }),
    ]);
    expect(named("none")).toEqual([
      expect.objectContaining({ Description: expect.stringContaining("publicly accessible databases") }),
    ]);
  });

  describe("with alternating users, rotated webhook secret and Alertmanager token, and a cron schedule", () => {
    const file = writeConfig((document) => {
      withSender(testSender)(document);
      document.secrets = [
        {
          name: "orders/app-db",
          rotation: {
            schedule: "cron(0 4 ? * SUN *)",
            strategy: "alternating-users",
            masterSecret: "orders/master",
          },
          consumers: [{ namespace: "orders", externalSecret: "orders-db", deployments: ["orders-api"] }],
        },
        { name: "switchyard/github-webhook", rotation: { schedule: "rate(60 days)", strategy: "api-key" } },
        {
          name: "switchyard/alertmanager-token",
          rotation: { schedule: "rate(90 days)", strategy: "api-key" },
        },
      ];
    });
    const other = loadConfig(file);
    const built = buildStack(undefined, { configFile: file });

    it("sets the cron expression as written and attaches the signing keys' schedules to the created secrets", () => {
      for (const secret of other.secrets) {
        only(built.template, "AWS::SecretsManager::RotationSchedule", {
          SecretId: scheduledId(built, secret.name, other),
          RotationLambdaARN: fnArnIn(built, rotationFunction),
          RotationRules: { ScheduleExpression: secret.rotation.schedule },
        });
      }
    });

    it("lets rotate-secret read the master secret and nothing else of it", () => {
      expect(statementsIn(built, rotationFunction, "secretsmanager:")).toEqual([
        expect.objectContaining({
          Action: rotationActions,
          Resource: other.secrets.map((s) => secretArn(built, s.name, other)),
        }),
        expect.objectContaining({
          Action: "secretsmanager:GetSecretValue",
          Resource: secretArn(built, "orders/master", other),
        }),
        expect.objectContaining({ Action: "secretsmanager:GetRandomPassword", Resource: "*" }),
      ]);
    });

    it("lets plan-secret-rollout read the alternating-users secret, for its current user", () => {
      expect(statementsIn(built, "plan-secret-rollout", "secretsmanager:")).toEqual([
        expect.objectContaining({
          Action: "secretsmanager:DescribeSecret",
          Resource: secretArn(built, "orders/app-db", other),
        }),
        expect.objectContaining({
          Action: "secretsmanager:GetSecretValue",
          Resource: secretArn(built, "orders/app-db", other),
        }),
      ]);
    });

    it("passes cdk-nag without the webhook secret's and the token's rotation acknowledgements", () => {
      for (const pack of compliancePacks()) expect(pack.validateScope(built.stack).violations).toEqual([]);
    });
  });

  it("builds no schedule, rotation policy or invoke permission when no secret is configured", () => {
    const none = buildStack(undefined, {
      configFile: writeConfig((document) => {
        withSender(testSender)(document);
        document.secrets = [];
      }),
    });
    none.template.resourceCountIs("AWS::SecretsManager::RotationSchedule", 0);
    expect(none.stack.secretRotation.rotationPolicy).toBeUndefined();
    expect(
      none.template.findResources("AWS::Lambda::Permission", {
        Properties: { Principal: "secretsmanager.amazonaws.com" },
      }),
    ).toEqual({});
    for (const pack of compliancePacks()) expect(pack.validateScope(none.stack).violations).toEqual([]);
  });

  describe("network", () => {
    const vpcId = "vpc-0a1b2c3d4e5f60718";
    const subnetIds = ["subnet-0a1b2c3d4e5f60718", "subnet-0f1e2d3c4b5a69788"];
    const rotationVpcConfig = (built: typeof main) =>
      built.template.toJSON().Resources[logicalId(built.stack, built.stack.functions.get(rotationFunction))]
        .Properties.VpcConfig;

    it("leaves rotate-secret outside any VPC without the context", () => {
      expect(fnProperties(rotationFunction)).not.toHaveProperty("VpcConfig");
      expect(fnStatementsFor(rotationFunction, "ec2:")).toEqual([]);
    });

    describe("with a VPC and subnets, no security group", () => {
      const built = buildStack(undefined, { rotationNetwork: { vpcId, subnetIds, securityGroupIds: [] } });
      const group = () =>
        logicalId(built.stack, built.stack.node.findChild("RotationNetwork").node.findChild("SecurityGroup"));

      it("places rotate-secret in the subnets with a security group of its own", () => {
        expect(rotationVpcConfig(built)).toEqual({
          SubnetIds: subnetIds,
          SecurityGroupIds: [{ "Fn::GetAtt": [group(), "GroupId"] }],
        });
      });

      it("lets that group reach PostgreSQL and HTTPS only, and names it in an output", () => {
        const { properties } = only(built.template, "AWS::EC2::SecurityGroup", { VpcId: vpcId });
        expect(properties.SecurityGroupEgress).toEqual([
          expect.objectContaining({ IpProtocol: "tcp", FromPort: postgresPort, ToPort: postgresPort }),
          expect.objectContaining({ IpProtocol: "tcp", FromPort: 443, ToPort: 443 }),
        ]);
        expect(properties).not.toHaveProperty("SecurityGroupIngress");
        expect(
          Object.values(built.template.findOutputs("*", { Value: { "Fn::GetAtt": [group(), "GroupId"] } })),
        ).toEqual([
          expect.objectContaining({ Description: expect.stringContaining(`port ${postgresPort}`) }),
        ]);
      });

      it("gives rotate-secret the network interface permissions Lambda needs there, before it is created", () => {
        expect(statementsIn(built, rotationFunction, "ec2:")).toEqual([
          expect.objectContaining({ Action: [...vpcNetworkInterfaceActions], Resource: "*" }),
        ]);
      });

      it("places run-smoke-query, which logs in to drill instances, where rotate-secret runs", () => {
        const smokeQuery =
          built.template.toJSON().Resources[
            logicalId(built.stack, built.stack.functions.get(smokeQueryFunction))
          ].Properties;
        expect(smokeQuery.VpcConfig).toEqual(rotationVpcConfig(built));
        expect(statementsIn(built, smokeQueryFunction, "ec2:")).toEqual([
          expect.objectContaining({ Action: [...vpcNetworkInterfaceActions], Resource: "*" }),
        ]);
      });

      it.each(functionNames.filter((name) => name !== rotationFunction && name !== smokeQueryFunction))(
        "keeps %s outside the VPC",
        (name) => {
          expect(
            built.template.toJSON().Resources[logicalId(built.stack, built.stack.functions.get(name))]
              .Properties,
          ).not.toHaveProperty("VpcConfig");
        },
      );

      it("names the VPC in the rotation network output", () => {
        expect(Object.values(built.template.findOutputs("*", { Value: vpcId }))).toEqual([
          expect.objectContaining({ Description: expect.stringContaining("secretsmanager") }),
        ]);
      });

      it("passes cdk-nag and has no error or warning annotations", () => {
        for (const pack of compliancePacks()) expect(pack.validateScope(built.stack).violations).toEqual([]);
        const annotations = Annotations.fromStack(built.stack);
        expect(annotations.findError("*", Match.anyValue())).toEqual([]);
        expect(annotations.findWarning("*", Match.anyValue())).toEqual([]);
      });
    });

    it("uses the security groups the context names and creates none", () => {
      const securityGroupIds = ["sg-0a1b2c3d4e5f60718"];
      const built = buildStack(undefined, { rotationNetwork: { vpcId, subnetIds, securityGroupIds } });
      expect(rotationVpcConfig(built)).toEqual({ SubnetIds: subnetIds, SecurityGroupIds: securityGroupIds });
      built.template.resourceCountIs("AWS::EC2::SecurityGroup", 0);
    });
  });

  describe("CDK context", () => {
    const read = (context: Record<string, unknown>) => rotationNetworkFromContext(new App({ context }).node);

    it.each([
      ["nothing", {}, undefined],
      [
        "comma-separated ids, as -c gives them",
        { rotationVpcId: "vpc-0a1b2c3d", rotationSubnetIds: "subnet-0a1b2c3d, subnet-1a2b3c4d" },
        { vpcId: "vpc-0a1b2c3d", subnetIds: ["subnet-0a1b2c3d", "subnet-1a2b3c4d"], securityGroupIds: [] },
      ],
      [
        "lists, as cdk.json gives them",
        {
          rotationVpcId: "vpc-0a1b2c3d4e5f60718",
          rotationSubnetIds: ["subnet-0a1b2c3d4e5f60718"],
          rotationSecurityGroupIds: ["sg-0a1b2c3d4e5f60718"],
        },
        {
          vpcId: "vpc-0a1b2c3d4e5f60718",
          subnetIds: ["subnet-0a1b2c3d4e5f60718"],
          securityGroupIds: ["sg-0a1b2c3d4e5f60718"],
        },
      ],
    ])("reads %s", (_what, context, expected) => {
      expect(read(context)).toEqual(expected);
    });

    it.each([
      ["a VPC without subnets", { rotationVpcId: "vpc-0a1b2c3d" }, /"rotationSubnetIds" is not/],
      ["subnets without a VPC", { rotationSubnetIds: "subnet-0a1b2c3d" }, /need "rotationVpcId"/],
      ["a malformed VPC id", { rotationVpcId: "vpc-xyz", rotationSubnetIds: "subnet-0a1b2c3d" }, /"vpc-xyz"/],
      [
        "a security group id in the subnets",
        { rotationVpcId: "vpc-0a1b2c3d", rotationSubnetIds: "sg-0a1b2c3d" },
        /"rotationSubnetIds" has "sg-0a1b2c3d": expected subnet ids/,
      ],
      [
        "a list of numbers",
        { rotationVpcId: "vpc-0a1b2c3d", rotationSubnetIds: [1, 2] },
        /must be a comma-separated string or a list of strings/,
      ],
    ])("refuses %s, naming the key", (_what, context, message) => {
      expect(() => read(context)).toThrow(ConfigError);
      expect(() => read(context)).toThrow(message);
    });
  });

  describe("schedules", () => {
    it.each([
      ["rate(30 days)", "rate(30 days)"],
      ["rate(1 day)", "rate(1 day)"],
      ["rate(4 hours)", "rate(4 hours)"],
      ["rate(999 days)", "rate(999 days)"],
      ["cron(0 4 ? * SUN *)", "cron(0 4 ? * SUN *)"],
      ["cron(0 16 1,15 * ? *)", "cron(0 16 1,15 * ? *)"],
      ["cron(0 4/12 * * ? *)", "cron(0 4/12 * * ? *)"],
      ["cron(0 20,0 * * ? *)", "cron(0 20,0 * * ? *)"],
    ])("accepts %s", (schedule, expected) => {
      expect(rotationScheduleExpression(schedule, "secrets[0].rotation.schedule", "switchyard.yaml")).toBe(
        expected,
      );
    });

    it.each([
      ["rate(5 minutes)", /expected rate\(<n> hours\|days\)/],
      ["rate(3 hours)", /at most every 4 hours/],
      ["rate(1000 days)", /at least every 999 days/],
      ["cron(0 4 * * ?)", /has 6 fields, this one has 5/],
      ["cron(30 4 ? * SUN *)", /minutes field must be 0/],
      ["cron(0 4 ? * SUN 2030)", /year field must be \*/],
      ["cron(0 4 * * * *)", /exactly one of day-of-month and day-of-week must be \?/],
      ["cron(0 * * * ? *)", /at most every 4 hours/],
      ["cron(0 0/2 * * ? *)", /at most every 4 hours/],
      ["cron(0 22,1 * * ? *)", /at most every 4 hours/],
      ["cron(0 25 * * ? *)", /hours field must name hours 0-23/],
    ])("refuses %s, naming the file and the path", (schedule, message) => {
      const check = () =>
        rotationScheduleExpression(schedule, "secrets[0].rotation.schedule", "switchyard.yaml");
      expect(check).toThrow(ConfigError);
      expect(check).toThrow(
        `Invalid configuration in switchyard.yaml: secrets[0].rotation.schedule is "${schedule}"`,
      );
      expect(check).toThrow(message);
    });
  });

  describe("refusals at synth", () => {
    const withSecrets = (secrets: unknown[]) =>
      writeConfig((document) => {
        withSender(testSender)(document);
        document.secrets = secrets;
      });

    it.each([
      [
        "a schedule Secrets Manager refuses",
        [{ name: "orders/db", rotation: { schedule: "rate(2 hours)", strategy: "single-user" } }],
        /secrets\[0\]\.rotation\.schedule is "rate\(2 hours\)"; Secrets Manager rotates at most every 4 hours/,
      ],
      [
        "the GitHub token, which GitHub issues",
        [{ name: "switchyard/github-token", rotation: { schedule: "rate(30 days)", strategy: "api-key" } }],
        /secrets\[0\]\.name is "switchyard\/github-token", the GitHub token \(github\.tokenSecret\), which GitHub issues/,
      ],
      [
        "the Slack token, which Slack issues",
        [{ name: "switchyard/slack-token", rotation: { schedule: "rate(30 days)", strategy: "api-key" } }],
        /secrets\[0\]\.name is "switchyard\/slack-token", the Slack token \(incidents\.slack\.token\), which Slack issues/,
      ],
      [
        "the PagerDuty routing key, which PagerDuty issues",
        [
          {
            name: "switchyard/pagerduty-routing-key",
            rotation: { schedule: "rate(30 days)", strategy: "api-key" },
          },
        ],
        /secrets\[0\]\.name is "switchyard\/pagerduty-routing-key", the PagerDuty routing key .* which PagerDuty issues/,
      ],
      [
        "Alertmanager's bearer token rotated as a database password",
        [
          {
            name: "switchyard/alertmanager-token",
            rotation: { schedule: "rate(30 days)", strategy: "single-user" },
          },
        ],
        /"switchyard\/alertmanager-token" is a signing key .* use strategy "api-key"/,
      ],
      [
        "a signing key rotated as a database password",
        [
          {
            name: "switchyard/approval-link-key",
            rotation: { schedule: "rate(30 days)", strategy: "single-user" },
          },
        ],
        /secrets\[0\]\.rotation\.strategy is "single-user", but "switchyard\/approval-link-key" is a signing key .* use strategy "api-key"/,
      ],
      [
        "two names the stack cannot tell apart",
        [
          { name: "orders/db", rotation: { schedule: "rate(30 days)", strategy: "single-user" } },
          { name: "orders-db", rotation: { schedule: "rate(30 days)", strategy: "single-user" } },
        ],
        /secrets\[1\]\.name "orders-db" and "orders\/db" differ only in punctuation/,
      ],
    ])("refuses %s before anything is built", (_what, secrets, message) => {
      const file = withSecrets(secrets);
      let caught: unknown;
      try {
        buildStack(undefined, { configFile: file });
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(ConfigError);
      expect((caught as Error).message).toContain(`Invalid configuration in ${file}: `);
      expect((caught as Error).message).toMatch(message);
    });
  });
});

describe("EventBridge Scheduler schedules", () => {
  const schedules = () => main.stack.schedules;
  const scheduleProps = (built: typeof main, name: string) =>
    only(built.template, "AWS::Scheduler::Schedule", { Name: name }).properties;
  const groupName = () =>
    (
      main.template.toJSON().Resources[logicalId(main.stack, schedules().group)].Properties as {
        Name: string;
      }
    ).Name;

  it.each([
    [
      "rds-snapshot",
      config.snapshots.schedule,
      { reason: "scheduled", database: null, promotionId: null, note: null, requestedBy: null },
    ],
    ["restore-drill", config.snapshots.drill.schedule, { database: null, requestedBy: null }],
  ] as const)(
    "deploys %s on its configured expression in UTC, starting its workflow with a fixed input",
    (name, expression, input) => {
      const properties = scheduleProps(main, name);
      expect(properties).toMatchObject({
        ScheduleExpression: expression,
        ScheduleExpressionTimezone: defaultScheduleTimezone,
        FlexibleTimeWindow: { Mode: "OFF" },
        GroupName: groupName(),
        State: "ENABLED",
      });
      const target = properties.Target as Record<string, unknown>;
      expect(target).toEqual({
        Arn: machineRef(name),
        RoleArn: { "Fn::GetAtt": [logicalId(main.stack, schedules().role), "Arn"] },
        Input: JSON.stringify(input),
        RetryPolicy: {
          MaximumRetryAttempts: scheduleRetryAttempts,
          MaximumEventAgeInSeconds: scheduleMaxEventAgeMinutes * 60,
        },
        DeadLetterConfig: {
          Arn: { "Fn::GetAtt": [logicalId(main.stack, schedules().deadLetterQueue.queue), "Arn"] },
        },
      });
    },
  );

  it("lets only Scheduler assume its role, for this account's schedule group", () => {
    const role = main.template.toJSON().Resources[logicalId(main.stack, schedules().role)];
    expect(role.Properties.AssumeRolePolicyDocument.Statement).toEqual([
      {
        Effect: "Allow",
        Action: "sts:AssumeRole",
        Principal: { Service: "scheduler.amazonaws.com" },
        Condition: {
          StringEquals: {
            "aws:SourceAccount": "123456789012",
            "aws:SourceArn": { "Fn::GetAtt": [logicalId(main.stack, schedules().group), "Arn"] },
          },
        },
      },
    ]);
    expect(role.Properties.ManagedPolicyArns).toBeUndefined();
  });

  it("lets the role start exactly the scheduled state machines and send to the dead-letter queue, nothing else", () => {
    const statements = statementsOf(main.template, logicalId(main.stack, schedules().role));
    expect(statements).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ Action: "states:StartExecution", Resource: machineRef("rds-snapshot") }),
        expect.objectContaining({ Action: "states:StartExecution", Resource: machineRef("restore-drill") }),
        expect.objectContaining({
          Action: "sqs:SendMessage",
          Resource: { "Fn::GetAtt": [logicalId(main.stack, schedules().deadLetterQueue.queue), "Arn"] },
        }),
      ]),
    );
    expect(statements).toHaveLength(3);
  });

  it("creates each schedule after the role's policy, so no run starts without it", () => {
    const policy = main.stack.node
      .findChild("Schedules")
      .node.findChild("Role")
      .node.findChild("DefaultPolicy");
    for (const name of ["rds-snapshot", "restore-drill"]) {
      const [resource] = Object.values(
        main.template.findResources("AWS::Scheduler::Schedule", { Properties: { Name: name } }),
      ) as { DependsOn?: string[] }[];
      expect(resource?.DependsOn).toContain(
        main.stack.getLogicalId((policy as iam.Policy).node.defaultChild as CfnElement),
      );
    }
  });

  it("alarms when a run lands in the dead-letter queue, and when even that fails", () => {
    const queue = logicalId(main.stack, schedules().deadLetterQueue.queue);
    main.template.hasResourceProperties("AWS::CloudWatch::Alarm", {
      MetricName: "ApproximateNumberOfMessagesVisible",
      Dimensions: [{ Name: "QueueName", Value: { "Fn::GetAtt": [queue, "QueueName"] } }],
      Threshold: 0,
      ComparisonOperator: "GreaterThanThreshold",
    });
    const { properties } = only(main.template, "AWS::CloudWatch::Alarm", {
      Namespace: "AWS/Scheduler",
      MetricName: "InvocationsFailedToBeSentToDeadLetterCount",
    });
    expect(properties).toMatchObject({
      Dimensions: [{ Name: "ScheduleGroup", Value: groupName() }],
      Statistic: "Sum",
      Threshold: 0,
      ComparisonOperator: "GreaterThanThreshold",
      TreatMissingData: "notBreaching",
    });
    expect(properties).not.toHaveProperty("AlarmActions");
  });

  describe("with switchyard.yaml settings of its own", () => {
    const file = writeConfig((document) => {
      withSender(testSender)(document);
      document.snapshots = { schedule: "cron(30 2 ? * MON-FRI *)", drill: { schedule: "rate(7 days)" } };
    });
    const built = buildStack(undefined, { configFile: file });

    it("deploys the configured expressions", () => {
      expect(scheduleProps(built, "rds-snapshot").ScheduleExpression).toBe("cron(30 2 ? * MON-FRI *)");
      expect(scheduleProps(built, "restore-drill").ScheduleExpression).toBe("rate(7 days)");
    });
  });

  it("deploys a schedule's own time zone", () => {
    const built = buildStack(undefined, {
      schedules: [
        {
          name: "weekly-drill",
          description: "A drill on Sunday mornings, Berlin time",
          expression: "cron(0 6 ? * SUN *)",
          timezone: "Europe/Berlin",
          target: { kind: "workflow", workflow: "restore-drill" },
          input: { database: "orders", requestedBy: null },
        },
      ],
    });
    expect(scheduleProps(built, "weekly-drill")).toMatchObject({
      ScheduleExpressionTimezone: "Europe/Berlin",
      Target: expect.objectContaining({ Input: JSON.stringify({ database: "orders", requestedBy: null }) }),
    });
  });

  it.each([
    [
      "a function target",
      { kind: "function", function: "prune-snapshots" },
      /Schedule "nightly" targets function "prune-snapshots"; the stack deploys schedules of workflows only/,
    ],
    [
      "a workflow that is not registered",
      { kind: "workflow", workflow: "vacuum" },
      /Schedule "nightly" targets workflow "vacuum", which is not registered/,
    ],
  ] as const)("refuses %s at synth", (_what, target, message) => {
    const schedule = { name: "nightly", description: "x", expression: "rate(1 day)", target, input: {} };
    expect(() => buildStack(undefined, { schedules: [schedule as Schedule] })).toThrow(RegistryError);
    expect(() => buildStack(undefined, { schedules: [schedule as Schedule] })).toThrow(message);
  });

  it("refuses an expression Scheduler would refuse, before anything is built", () => {
    const schedule: Schedule = {
      name: "nightly",
      description: "x",
      expression: "rate(1 minutes)",
      target: { kind: "workflow", workflow: "rds-snapshot" },
      input: {},
    };
    expect(() => buildStack(undefined, { schedules: [schedule] })).toThrow(ValidationError);
    expect(() => buildStack(undefined, { schedules: [schedule] })).toThrow(
      /a value of 1 takes the singular unit: rate\(1 minute\)/,
    );
  });

  it("refuses two schedules with one name", () => {
    const schedule: Schedule = {
      name: "nightly",
      description: "x",
      expression: "rate(1 day)",
      target: { kind: "workflow", workflow: "rds-snapshot" },
      input: {},
    };
    expect(() => buildStack(undefined, { schedules: [schedule, schedule] })).toThrow(
      /Duplicate schedule name "nightly"/,
    );
  });
});

describe("database snapshots", () => {
  const region = "eu-west-1";
  const drRegion = "eu-central-1";
  const kmsKeyArn = `arn:aws:kms:${drRegion}:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
  const arnIn = (where: string, resource: string) => ({
    "Fn::Join": ["", ["arn:", { Ref: "AWS::Partition" }, `:rds:${where}:123456789012:${resource}`]],
  });
  const rdsArn = (resource: string) => arnIn(region, resource);
  const secretArn = (name: string) => ({
    "Fn::Join": [
      "",
      ["arn:", { Ref: "AWS::Partition" }, `:secretsmanager:${region}:123456789012:secret:${name}-??????`],
    ],
  });
  const statementsIn = (built: typeof main, name: string, prefix = ""): Statement[] => {
    const properties = built.template.toJSON().Resources[
      logicalId(built.stack, built.stack.functions.get(name))
    ].Properties as { Role: { "Fn::GetAtt": [string, string] } };
    return statementsOf(built.template, properties.Role["Fn::GetAtt"][0]).filter((s) =>
      actionsOf(s).some((a) => a.startsWith(prefix)),
    );
  };
  const machineStatements = (built: typeof main, name: WorkflowName): Statement[] =>
    statementsOf(built.template, logicalId(built.stack, built.stack.workflows.get(name).role));
  const drillRequestTags = {
    StringEquals: {
      "aws:RequestTag/switchyard:purpose": "restore-drill",
      "aws:RequestTag/switchyard:created-by": "switchyard",
    },
    "ForAllValues:StringEquals": {
      "aws:TagKeys": [
        "switchyard:created-by",
        "switchyard:purpose",
        "switchyard:drill-snapshot",
        "switchyard:drill-source",
      ],
    },
  };
  const listAll = {
    Effect: "Allow",
    Action: [
      "rds:DescribeDBInstances",
      "rds:DescribeDBClusters",
      "rds:DescribeDBSnapshots",
      "rds:DescribeDBClusterSnapshots",
    ],
    Resource: "*",
  };
  const createStatements = (tag: { key: string; value: string }) => [
    {
      Effect: "Allow",
      Action: ["rds:CreateDBSnapshot", "rds:CreateDBClusterSnapshot"],
      Resource: [rdsArn("db:*"), rdsArn("cluster:*")],
      Condition: { StringEquals: { [`aws:ResourceTag/${tag.key}`]: tag.value } },
    },
    {
      Effect: "Allow",
      Action: ["rds:CreateDBSnapshot", "rds:CreateDBClusterSnapshot", "rds:AddTagsToResource"],
      Resource: [rdsArn("snapshot:switchyard-*"), rdsArn("cluster-snapshot:switchyard-*")],
      Condition: {
        StringEquals: { "aws:RequestTag/switchyard:created-by": "switchyard" },
        "ForAllValues:StringEquals": { "aws:TagKeys": Object.values(snapshotTagKeys) },
      },
    },
    { Effect: "Allow", Action: ["rds:DescribeDBSnapshots", "rds:DescribeDBClusterSnapshots"], Resource: "*" },
  ];

  /** Every setting of `snapshots:` that changes a policy: selector, copyTo with a key, and the drill's. */
  const configured = buildStack(undefined, {
    configFile: writeConfig((document) => {
      withSender(testSender)(document);
      document.snapshots = {
        selector: { tagKey: "backup-tier", tagValue: "gold" },
        copyTo: { region: drRegion, kmsKeyArn },
        drill: {
          masterSecrets: {
            orders: "orders/master",
            billing: "rds!db-0a1b2c3d",
            "orders-replica": "orders/master",
          },
          subnetGroupName: "drills",
          securityGroupIds: ["sg-0a1b2c3d4e5f60718"],
          instanceClass: "db.t4g.micro",
        },
      };
    }),
  });

  it("opts databases in with the tag the configuration's default selector names", () => {
    expect(config.snapshots.selector).toEqual({ tagKey: backupOptInTag.key, tagValue: backupOptInTag.value });
  });

  it.each([
    ["plan-snapshots", [listAll]],
    ["plan-restore-drills", [listAll]],
    ["snapshots", [listAll]],
    ["create-snapshot", createStatements(backupOptInTag)],
    [
      "prune-snapshots",
      [
        {
          Effect: "Allow",
          Action: ["rds:DescribeDBSnapshots", "rds:DescribeDBClusterSnapshots"],
          Resource: "*",
        },
        {
          Effect: "Allow",
          Action: ["rds:DeleteDBSnapshot", "rds:DeleteDBClusterSnapshot"],
          Resource: [rdsArn("snapshot:switchyard-*"), rdsArn("cluster-snapshot:switchyard-*")],
          Condition: { StringEquals: { "aws:ResourceTag/switchyard:created-by": "switchyard" } },
        },
      ],
    ],
    [
      "start-restore-drill",
      [
        listAll,
        {
          Effect: "Allow",
          Action: "rds:RestoreDBInstanceFromDBSnapshot",
          Resource: [
            rdsArn("db:switchyard-drill-*"),
            rdsArn("snapshot:switchyard-*"),
            rdsArn("og:*"),
            rdsArn("pg:*"),
            rdsArn("subgrp:*"),
          ],
          Condition: { ...drillRequestTags, Bool: { "rds:PubliclyAccessible": "false" } },
        },
        {
          Effect: "Allow",
          Action: "rds:AddTagsToResource",
          Resource: rdsArn("db:switchyard-drill-*"),
          Condition: drillRequestTags,
        },
      ],
    ],
    [
      "run-smoke-query",
      [{ Effect: "Allow", Action: "rds:DescribeDBInstances", Resource: rdsArn("db:switchyard-drill-*") }],
    ],
    // Never invoked without snapshots.copyTo, which the sample configuration does not set.
    ["copy-snapshot", []],
  ] as const)("grants %s exactly its RDS access", (name, expected) => {
    expect(statementsIn(main, name, "rds:")).toEqual(expected);
  });

  it.each(functionNames.filter((name) => !(name in snapshotNeeds) && !gateNeedsOf(name).databaseSnapshots))(
    "grants %s no RDS access",
    (name) => {
      expect(statementsIn(main, name, "rds:")).toEqual([]);
    },
  );

  it("snapshots, with create-snapshot and snapshot-before-change alike, only databases with the configured tag", () => {
    const tag = { key: "backup-tier", value: "gold" };
    expect(statementsIn(configured, "create-snapshot", "rds:")).toEqual(createStatements(tag));
    expect(statementsIn(configured, "snapshot-before-change", "rds:")).toEqual(createStatements(tag));
    expect(Object.values(configured.template.findOutputs("*", { Value: "backup-tier=gold" }))).toHaveLength(
      1,
    );
  });

  it("matches the tags and names the snapshot service gives, the note included", () => {
    const tags = snapshotTags({ reason: "manual", note: "before the orders migration" });
    expect(Object.values(snapshotTagKeys)).toEqual(expect.arrayContaining(Object.keys(tags)));
    expect(Object.keys(tags)).toContain(snapshotTagKeys.note);
  });

  it("matches the name and tags the RDS adapter gives a drill instance, and keeps it private", async () => {
    const snapshotId = snapshotName("orders", "scheduled", new Date("2026-05-01T03:00:00Z"));
    const sent: { name: string; input: Record<string, unknown> }[] = [];
    const client = {
      config: { region: async () => region },
      send: async (command: { constructor: { name: string }; input: Record<string, unknown> }) => {
        sent.push({ name: command.constructor.name, input: command.input });
        if (command.constructor.name === "DescribeDBSnapshotsCommand") {
          return {
            DBSnapshots: [
              {
                DBSnapshotIdentifier: snapshotId,
                DBInstanceIdentifier: "orders",
                Status: "available",
                TagList: Object.entries(snapshotTags({ reason: "scheduled" })).map(([Key, Value]) => ({
                  Key,
                  Value,
                })),
              },
            ],
          };
        }
        if (command.constructor.name === "DescribeDBInstancesCommand") {
          return {
            DBInstances: [{ DBInstanceIdentifier: "orders", DBSubnetGroup: { DBSubnetGroupName: "orders" } }],
          };
        }
        return {};
      },
    } as unknown as RDSClient;
    const service = new RdsSnapshotService({
      client,
      clock: { now: () => new Date("2026-05-02T05:00:00Z") },
    });
    const scratch = drillScratchName("orders", new Date("2026-05-02T05:00:00Z"));
    await service.restoreForDrill(snapshotId, scratch);

    const restore = sent.find((c) => c.name === "RestoreDBInstanceFromDBSnapshotCommand")!.input;
    expect(restore.DBInstanceIdentifier).toMatch(new RegExp(`^${drillInstancePattern.replace("*", "")}`));
    expect(restore.DBSnapshotIdentifier).toMatch(new RegExp(`^${snapshotNamePattern.replace("*", "")}`));
    expect(restore.PubliclyAccessible).toBe(false);
    const tags = Object.fromEntries(
      (restore.Tags as { Key: string; Value: string }[]).map((t) => [t.Key, t.Value]),
    );
    expect(tags).toMatchObject({
      [drillTagKeys.purpose]: drillPurpose,
      [snapshotTagKeys.createdBy]: snapshotCreator,
    });
    expect(Object.keys(tags).sort()).toEqual(
      drillRequestTags["ForAllValues:StringEquals"]["aws:TagKeys"].slice().sort(),
    );
  });

  it("copies only with snapshots.copyTo: from this region to the same names there, re-encrypted with its key", () => {
    const sourceAndCopy = [
      rdsArn("snapshot:switchyard-*"),
      rdsArn("cluster-snapshot:switchyard-*"),
      arnIn(drRegion, "snapshot:switchyard-*"),
      arnIn(drRegion, "cluster-snapshot:switchyard-*"),
    ];
    expect(statementsIn(configured, "copy-snapshot")).toEqual(
      expect.arrayContaining([
        {
          Effect: "Allow",
          Action: ["rds:DescribeDBSnapshots", "rds:DescribeDBClusterSnapshots"],
          Resource: "*",
        },
        {
          Effect: "Allow",
          Action: ["rds:CopyDBSnapshot", "rds:CopyDBClusterSnapshot"],
          Resource: sourceAndCopy,
        },
        {
          Effect: "Allow",
          Action: "rds:AddTagsToResource",
          Resource: [
            arnIn(drRegion, "snapshot:switchyard-*"),
            arnIn(drRegion, "cluster-snapshot:switchyard-*"),
          ],
        },
        {
          Effect: "Allow",
          Action: [...copyKeyActions],
          Resource: kmsKeyArn,
          Condition: { StringEquals: { "kms:ViaService": `rds.${drRegion}.amazonaws.com` } },
        },
      ]),
    );
    expect(statementsIn(main, "copy-snapshot", "rds:")).toEqual([]);
    for (const name of functionNames) {
      expect(statementsIn(main, name, "kms:")).toEqual([]);
      if (name !== "copy-snapshot") {
        expect(
          statementsIn(configured, name).filter((s) => actionsOf(s).some((a) => a.startsWith("rds:Copy"))),
        ).toEqual([]);
        expect(statementsIn(configured, name, "kms:")).toEqual([]);
      }
    }
  });

  it("grants no KMS key when copyTo names none (an unencrypted source needs none)", () => {
    const built = buildStack(undefined, {
      configFile: writeConfig((document) => {
        withSender(testSender)(document);
        document.snapshots = { copyTo: { region: drRegion } };
      }),
    });
    expect(statementsIn(built, "copy-snapshot", "rds:Copy")).toHaveLength(1);
    expect(statementsIn(built, "copy-snapshot", "kms:")).toEqual([]);
  });

  it("restores drills into the configured subnet group only, when one is named", () => {
    const [restore] = statementsIn(configured, "start-restore-drill", "rds:Restore");
    expect(resourcesOf(restore!)).toContainEqual(rdsArn("subgrp:drills"));
    expect(resourcesOf(restore!)).not.toContainEqual(rdsArn("subgrp:*"));
  });

  it("lets run-smoke-query read exactly the configured master secrets, and trust the RDS CA bundle", () => {
    expect(statementsIn(configured, smokeQueryFunction, "secretsmanager:")).toEqual([
      {
        Effect: "Allow",
        Action: "secretsmanager:GetSecretValue",
        Resource: [secretArn("orders/master"), secretArn("rds!db-0a1b2c3d")],
      },
    ]);
    expect(statementsIn(main, smokeQueryFunction, "secretsmanager:")).toEqual([]);
    expect(fnVariables(smokeQueryFunction).NODE_EXTRA_CA_CERTS).toBe(rdsCaBundlePath);
  });

  it("lets rds-snapshot poll only Switchyard's snapshots", () => {
    expect(
      machineStatements(main, "rds-snapshot").filter((s) => actionsOf(s).some((a) => a.startsWith("rds:"))),
    ).toEqual([
      { Effect: "Allow", Action: "rds:DescribeDBSnapshots", Resource: rdsArn("snapshot:switchyard-*") },
      {
        Effect: "Allow",
        Action: "rds:DescribeDBClusterSnapshots",
        Resource: rdsArn("cluster-snapshot:switchyard-*"),
      },
    ]);
  });

  it("lets restore-drill delete only drill instances tagged as such", () => {
    expect(
      machineStatements(main, "restore-drill").filter((s) => actionsOf(s).some((a) => a.startsWith("rds:"))),
    ).toEqual([
      { Effect: "Allow", Action: "rds:DescribeDBInstances", Resource: rdsArn(`db:${drillInstancePattern}`) },
      {
        Effect: "Allow",
        Action: "rds:DeleteDBInstance",
        Resource: rdsArn(`db:${drillInstancePattern}`),
        Condition: {
          StringEquals: {
            [`aws:ResourceTag/${drillTagKeys.purpose}`]: drillPurpose,
            "aws:ResourceTag/switchyard:created-by": "switchyard",
          },
        },
      },
    ]);
  });

  it.each(Object.keys(workflows) as WorkflowName[])(
    "lets %s call every AWS SDK integration its definition uses, and starts it only once that is granted",
    (name) => {
      const asl = readFileSync(join(projectRoot, workflows[name].file), "utf8");
      const integrations = [...asl.matchAll(/"arn:aws:states:::aws-sdk:([a-z0-9]+):(\w+)"/g)].map(
        ([, service, action]) => `${service}:${action![0]!.toUpperCase()}${action!.slice(1)}`,
      );
      const granted = machineStatements(main, name).flatMap(actionsOf);
      for (const action of integrations) expect(granted).toContain(action);
      if (integrations.length === 0) return;
      const machine = main.stack.workflows.get(name);
      const resource = main.template.toJSON().Resources[logicalId(main.stack, machine)] as {
        DependsOn: string[];
      };
      const policy = machine.node.scope!.node.findChild("DatabaseAccess") as iam.Policy;
      expect(resource.DependsOn).toContain(main.stack.getLogicalId(policy.node.defaultChild as CfnElement));
    },
  );

  it("grants no RDS delete anywhere without a tag condition, and no rds:* at all", () => {
    for (const built of [main, configured]) {
      const statements = Object.values(built.template.findResources("AWS::IAM::Policy")).flatMap(
        (policy) =>
          (
            policy as {
              Properties: {
                PolicyDocument: {
                  Statement: (Statement & { Condition?: Record<string, Record<string, unknown>> })[];
                };
              };
            }
          ).Properties.PolicyDocument.Statement,
      );
      for (const statement of statements) {
        const actions = actionsOf(statement);
        expect(actions.filter((a) => a === "rds:*" || a === "*")).toEqual([]);
        if (!actions.some((a) => a.startsWith("rds:Delete"))) continue;
        const tagged = Object.keys(statement.Condition?.StringEquals ?? {}).filter((key) =>
          key.startsWith("aws:ResourceTag/"),
        );
        expect(tagged.length, JSON.stringify(statement)).toBeGreaterThan(0);
      }
    }
  });

  it("places run-smoke-query outside any VPC without the rotation network context", () => {
    expect(fnProperties(smokeQueryFunction)).not.toHaveProperty("VpcConfig");
  });

  it("passes cdk-nag with every snapshot setting configured", () => {
    for (const pack of compliancePacks()) expect(pack.validateScope(configured.stack).violations).toEqual([]);
  });

  it.each([
    [
      "a master secret name IAM would read as a wildcard",
      { drill: { masterSecrets: { orders: "orders/*" } } },
      /snapshots\.drill\.masterSecrets\.orders is "orders\/\*"; expected a Secrets Manager secret name/,
    ],
    [
      "a subnet group name IAM would read as a wildcard",
      { drill: { subnetGroupName: "drill-*" } },
      /snapshots\.drill\.subnetGroupName is "drill-\*"; expected a DB subnet group name/,
    ],
  ])("refuses %s before anything is built", (_what, snapshots, message) => {
    const file = writeConfig((document) => {
      withSender(testSender)(document);
      document.snapshots = snapshots;
    });
    expect(() => buildStack(undefined, { configFile: file })).toThrow(ConfigError);
    expect(() => buildStack(undefined, { configFile: file })).toThrow(message);
  });
});

describe("incident escalation", () => {
  const incidents = () => main.stack.incidents;
  const resources = main.template.toJSON().Resources;
  const refOf = (built: typeof main, construct: { node: { defaultChild?: unknown } }) => ({
    Ref: logicalId(built.stack, construct),
  });
  const incidentFunctions = Object.keys(incidentNeeds) as (keyof typeof incidentNeeds)[];
  const secretArn = (name: string) => ({
    "Fn::Join": [
      "",
      ["arn:", { Ref: "AWS::Partition" }, `:secretsmanager:eu-west-1:123456789012:secret:${name}-??????`],
    ],
  });
  /** The statements of a function's role in `built` that grant any action with this prefix. */
  const statementsIn = (built: typeof main, name: FunctionName, prefix: string): Statement[] => {
    const properties = built.template.toJSON().Resources[
      logicalId(built.stack, built.stack.functions.get(name))
    ].Properties as { Role: { "Fn::GetAtt": [string, string] } };
    return statementsOf(built.template, properties.Role["Fn::GetAtt"][0]).filter((s) =>
      actionsOf(s).some((a) => a.startsWith(prefix)),
    );
  };
  /** Every secret a function may read the value of in `built`, whichever statement grants it. */
  const secretsReadIn = (built: typeof main, name: FunctionName): string[] =>
    statementsIn(built, name, "secretsmanager:")
      .filter((s) => actionsOf(s).includes("secretsmanager:GetSecretValue"))
      .flatMap((s) => resourcesOf(s).map((r) => JSON.stringify(r)))
      .sort();
  /** The secrets switchyard.yaml's escalation levels page, other than the first level's routing key. */
  const levelKeysOf = (cfg: typeof config): string[] => [
    ...new Set(
      cfg.incidents.escalation.levels
        .flatMap((level) => level.notify.flatMap((t) => ("pagerduty" in t ? [t.pagerduty.secret] : [])))
        .filter((name) => name !== cfg.incidents.pagerduty.routingKey.secret),
    ),
  ];

  describe("table", () => {
    const keys = incidentTableKeys;
    const table = () => resources[logicalId(main.stack, incidents().table.table)];
    const keySchema = (hash: string, range?: string) => [
      { AttributeName: hash, KeyType: "HASH" },
      ...(range ? [{ AttributeName: range, KeyType: "RANGE" }] : []),
    ];

    it("keys the incident table on pk alone, expires resolved incidents by TTL, and indexes status and active fingerprints", () => {
      expect(table().Properties).toEqual({
        BillingMode: "PAY_PER_REQUEST",
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        SSESpecification: { SSEEnabled: true },
        KeySchema: keySchema(keys.partitionKey),
        TimeToLiveSpecification: { AttributeName: keys.timeToLive, Enabled: true },
        AttributeDefinitions: expect.arrayContaining(
          [keys.partitionKey, keys.byStatusIndex.partitionKey, keys.byStatusIndex.sortKey].map(
            (AttributeName) => ({ AttributeName, AttributeType: "S" }),
          ),
        ),
        GlobalSecondaryIndexes: [
          {
            IndexName: keys.byStatusIndex.indexName,
            KeySchema: keySchema(keys.byStatusIndex.partitionKey, keys.byStatusIndex.sortKey),
            Projection: {
              ProjectionType: "INCLUDE",
              NonKeyAttributes: [...keys.byStatusIndex.nonKeyAttributes],
            },
          },
          {
            IndexName: keys.byActiveFingerprintIndex.indexName,
            KeySchema: keySchema(
              keys.byActiveFingerprintIndex.partitionKey,
              keys.byActiveFingerprintIndex.sortKey,
            ),
            Projection: { ProjectionType: "KEYS_ONLY" },
          },
        ],
      });
      expect(table().Properties.AttributeDefinitions).toEqual(
        [keys.partitionKey, "status", "openedAtKey", "activeFingerprint"].map((AttributeName) => ({
          AttributeName,
          AttributeType: "S",
        })),
      );
      expect(JSON.stringify(table().Properties.GlobalSecondaryIndexes)).not.toContain("waitToken");
    });

    it("retains the table when the stack or the resource goes", () => {
      expect(table()).toMatchObject({ DeletionPolicy: "Retain", UpdateReplacePolicy: "Retain" });
    });

    it("grants every DynamoDB action the incident store's commands and transactions need", () => {
      const source = readFileSync(
        join(projectRoot, "functions/adapters/aws/dynamodb-incident-store.ts"),
        "utf8",
      );
      const commands = [...new Set([...source.matchAll(/new (\w+)Command\(/g)].map((m) => m[1]!))];
      const transacted = [
        ...new Set([...source.matchAll(/\b(Put|Update|Delete|ConditionCheck): \{/g)].map((m) => m[1]!)),
      ];
      expect(commands).toContain("TransactWrite");
      expect(transacted).not.toHaveLength(0);
      const actionFor: Record<string, string> = {
        Get: "dynamodb:GetItem",
        Put: "dynamodb:PutItem",
        Update: "dynamodb:UpdateItem",
        Delete: "dynamodb:DeleteItem",
        Query: "dynamodb:Query",
        ConditionCheck: "dynamodb:ConditionCheckItem",
      };
      const granted = [
        ...incidentTableActions.read,
        ...incidentTableActions.update,
        ...incidentTableActions.open,
      ];
      // IAM has no TransactWriteItems action: each item of a transaction is checked as its own action.
      for (const command of [...commands.filter((c) => c !== "TransactWrite"), ...transacted]) {
        expect(granted).toContain(actionFor[command] ?? `unmapped ${command}`);
      }
    });

    const tableArn = () => ({ "Fn::GetAtt": [logicalId(main.stack, incidents().table.table), "Arn"] });
    const indexArn = (index: string) => ({ "Fn::Join": ["", [tableArn(), `/index/${index}`]] });

    it.each(functionNames)("%s gets exactly its incident-table access and the table's name", (name) => {
      const access = incidentNeedsOf(name).incidentTable;
      const statements = fnStatementsFor(name, "dynamodb:").filter((s) =>
        JSON.stringify(s.Resource).includes(logicalId(main.stack, incidents().table.table)),
      );
      const read = expect.objectContaining({
        Action: [...incidentTableActions.read],
        Resource: [
          tableArn(),
          indexArn(incidentTableKeys.byStatusIndex.indexName),
          indexArn(incidentTableKeys.byActiveFingerprintIndex.indexName),
        ],
      });
      const writes =
        access === "open"
          ? [...incidentTableActions.update, ...incidentTableActions.open]
          : [...incidentTableActions.update];
      const write = expect.objectContaining({
        Action: writes.length === 1 ? writes[0] : writes,
        Resource: tableArn(),
      });
      expect(statements).toEqual(access === undefined ? [] : access === "read" ? [read] : [read, write]);
      expect(fnVariables(name)[envNames.incidentTable]).toEqual(
        access ? refOf(main, incidents().table.table) : undefined,
      );
    });

    it("lets only open-incident record incidents: the others may only update them", () => {
      const openers = functionNames.filter((name) =>
        fnStatementsFor(name, "dynamodb:").some(
          (s) =>
            actionsOf(s).includes("dynamodb:PutItem") &&
            JSON.stringify(s.Resource).includes(logicalId(main.stack, incidents().table.table)),
        ),
      );
      expect(openers).toEqual(["open-incident"]);
    });
  });

  describe("secrets", () => {
    const secrets = () => incidents().secrets;
    const cases = [
      [
        "Alertmanager bearer token",
        () => secrets().webhookToken,
        config.incidents.webhookToken.secret,
        "webhookToken",
      ],
      [
        "PagerDuty routing key",
        () => secrets().routingKey,
        config.incidents.pagerduty.routingKey.secret,
        "routingKeys",
      ],
      [
        "PagerDuty webhook secret",
        () => secrets().pagerdutyWebhookSecret,
        config.incidents.pagerduty.webhookSecret.secret,
        "pagerdutyWebhookSecret",
      ],
      ["Slack token", () => secrets().slackToken, config.incidents.slack.token.secret, "slackToken"],
    ] as const;

    it.each(cases)(
      "creates the %s under its configured name with a generated value",
      (_what, secret, name) => {
        const { id, properties } = only(main.template, "AWS::SecretsManager::Secret", { Name: name });
        expect(id).toBe(logicalId(main.stack, secret()));
        expect(properties.GenerateSecretString).toEqual({ PasswordLength: 64, ExcludePunctuation: true });
        expect(properties).not.toHaveProperty("SecretString");
      },
    );

    it.each(cases)("lets only the functions that need it read the %s", (_what, secret, _name, need) => {
      const ref = JSON.stringify(refOf(main, secret()));
      const readers = functionNames.filter((name) => secretsReadIn(main, name).includes(ref));
      expect(readers.sort()).toEqual(functionNames.filter((name) => incidentNeedsOf(name)[need]).sort());
      expect(readers).not.toHaveLength(0);
    });

    it.each(incidentFunctions)("%s may read exactly the secrets it needs, and no other", (name) => {
      const needs = incidentNeedsOf(name);
      const expected = [
        ...(needs.webhookToken ? [refOf(main, secrets().webhookToken)] : []),
        ...(needs.pagerdutyWebhookSecret ? [refOf(main, secrets().pagerdutyWebhookSecret)] : []),
        ...(needs.routingKeys
          ? [refOf(main, secrets().routingKey), ...levelKeysOf(config).map(secretArn)]
          : []),
        ...(needs.slackToken ? [refOf(main, secrets().slackToken)] : []),
        ...(needs.linkKey ? [refOf(main, main.stack.approvalGate.linkKey)] : []),
      ].map((r) => JSON.stringify(r));
      expect(secretsReadIn(main, name)).toEqual(expected.sort());
      for (const statement of statementsIn(main, name, "secretsmanager:")) {
        expect(actionsOf(statement)).toEqual([
          "secretsmanager:GetSecretValue",
          "secretsmanager:DescribeSecret",
        ]);
      }
    });

    it("tells the operator what to put where: Alertmanager's token, and the values PagerDuty and Slack issue", () => {
      const outputs = main.template.toJSON().Outputs as Record<
        string,
        { Description: string; Value: unknown }
      >;
      const named = (value: unknown) => Object.values(outputs).filter((o) => o.Value === value);
      expect(named(config.incidents.webhookToken.secret)).toEqual([
        expect.objectContaining({ Description: expect.stringContaining("Alertmanager") }),
      ]);
      expect(
        named(
          [
            config.incidents.pagerduty.routingKey.secret,
            config.incidents.pagerduty.webhookSecret.secret,
            config.incidents.slack.token.secret,
          ].join(", "),
        ),
      ).toEqual([
        expect.objectContaining({
          Description: expect.stringContaining("aws secretsmanager put-secret-value"),
        }),
      ]);
    });

    describe("with escalation levels paging other services, a Slack group and a mailbox", () => {
      const escalation = {
        levels: [
          {
            after: "5m",
            notify: [
              { pagerduty: { secret: "team/pagerduty-secondary" } },
              { slack: "@platform-oncall" },
              { email: "oncall@example.com" },
            ],
          },
          {
            after: "15m",
            notify: [
              { pagerduty: { secret: "switchyard/pagerduty-routing-key" } },
              { pagerduty: { secret: "team/pagerduty-management" } },
              { pagerduty: { secret: "team/pagerduty-secondary" } },
            ],
          },
        ],
        repeat: 1,
      };
      const withEscalation = (document: Record<string, unknown>) => {
        withSender(testSender)(document);
        document.incidents = { ...((document.incidents ?? {}) as Record<string, unknown>), escalation };
      };
      const built = buildStack(undefined, { configFile: writeConfig(withEscalation) });
      const levelKeys = ["team/pagerduty-secondary", "team/pagerduty-management"];

      it("references the levels' routing keys by name and lets only the paging functions read them", () => {
        const created = Object.values(built.template.findResources("AWS::SecretsManager::Secret")).map(
          (r) => (r as { Properties: { Name: string } }).Properties.Name,
        );
        for (const key of levelKeys) expect(created).not.toContain(key);
        const routingKey = JSON.stringify(refOf(built, built.stack.incidents.secrets.routingKey));
        for (const name of functionNames) {
          const read = secretsReadIn(built, name);
          const pages = incidentNeedsOf(name).routingKeys === true;
          for (const key of levelKeys)
            expect(read.includes(JSON.stringify(secretArn(key))), name).toBe(pages);
          expect(read.includes(routingKey), name).toBe(pages);
        }
        expect(secretsReadIn(built, "notify-incident")).toEqual(
          [
            refOf(built, built.stack.incidents.secrets.routingKey),
            secretArn("team/pagerduty-secondary"),
            secretArn("team/pagerduty-management"),
            refOf(built, built.stack.incidents.secrets.slackToken),
            refOf(built, built.stack.approvalGate.linkKey),
          ]
            .map((r) => JSON.stringify(r))
            .sort(),
        );
      });

      it("names the referenced routing keys in an output, each once", () => {
        const outputs = built.template.toJSON().Outputs as Record<
          string,
          { Description: string; Value: unknown }
        >;
        expect(Object.values(outputs).filter((o) => o.Value === levelKeys.join(", "))).toEqual([
          expect.objectContaining({ Description: expect.stringContaining("not created here") }),
        ]);
      });

      it("lets notify-incident e-mail from the sender only, and no other incident function e-mail at all", () => {
        const identityArn = {
          "Fn::Join": [
            "",
            [
              "arn:",
              { Ref: "AWS::Partition" },
              ":ses:eu-west-1:123456789012:identity/",
              refOf(built, built.stack.approvalGate.sender!),
            ],
          ],
        };
        for (const name of incidentFunctions) {
          expect(statementsIn(built, name, "ses:"), name).toEqual(
            name === "notify-incident"
              ? [
                  expect.objectContaining({
                    Action: ["ses:SendEmail", "ses:SendRawEmail"],
                    Resource: identityArn,
                  }),
                ]
              : [],
          );
        }
      });

      it("passes cdk-nag", () => {
        for (const pack of compliancePacks()) expect(pack.validateScope(built.stack).violations).toEqual([]);
      });

      it("creates the sender's identity for escalation e-mails even when no environment is gated", () => {
        const ungated = buildStack(undefined, {
          configFile: writeConfig((document) => {
            withEscalation(document);
            for (const env of document.environments as { approval: unknown }[]) env.approval = "none";
          }),
        });
        only(ungated.template, "AWS::SES::EmailIdentity", { EmailIdentity: testSender });
        expect(statementsIn(ungated, "notify-incident", "ses:")).toHaveLength(1);
        expect(statementsIn(ungated, "request-approval", "ses:")).toHaveLength(1);
      });
    });

    it("gives notify-incident no SES access when no level e-mails anyone", () => {
      const quiet = buildStack(undefined, {
        configFile: writeConfig((document) => {
          withSender(testSender)(document);
          document.incidents = {
            ...((document.incidents ?? {}) as Record<string, unknown>),
            escalation: { levels: [{ after: "5m", notify: [{ slack: "@platform-oncall" }] }] },
          };
        }),
      });
      expect(statementsIn(quiet, "notify-incident", "ses:")).toEqual([]);
      expect(statementsIn(quiet, "request-approval", "ses:")).toHaveLength(1);
    });

    describe("refusals at synth", () => {
      const refused = (
        edit: (incidents: Record<string, unknown>, document: Record<string, unknown>) => void,
      ) => {
        const file = writeConfig((document) => {
          withSender(testSender)(document);
          const section = { ...((document.incidents ?? {}) as Record<string, unknown>) };
          edit(section, document);
          document.incidents = section;
        });
        let caught: unknown;
        try {
          buildStack(undefined, { configFile: file });
        } catch (error) {
          caught = error;
        }
        expect(caught).toBeInstanceOf(ConfigError);
        expect((caught as Error).message).toContain(`Invalid configuration in ${file}: `);
        return (caught as Error).message;
      };

      it("refuses an escalation level whose routing key is another Switchyard secret, which a page would leak", () => {
        const message = refused((section) => {
          section.escalation = {
            levels: [{ after: "5m", notify: [{ pagerduty: { secret: "switchyard/approval-link-key" } }] }],
          };
        });
        expect(message).toMatch(
          /incidents\.escalation\.levels\[0\]\.notify\[0\]\.pagerduty\.secret is "switchyard\/approval-link-key", which approvals\.linkKeySecret names/,
        );
      });

      it("refuses two created secrets under one name", () => {
        const message = refused((section) => {
          section.slack = { token: { secret: "switchyard/github-token" } };
        });
        expect(message).toMatch(
          /incidents\.slack\.token\.secret and github\.tokenSecret both name the secret/,
        );
      });

      it("refuses escalation e-mails from a sender SES cannot verify", () => {
        const message = refused((section, document) => {
          withSender(undefined)(document);
          for (const env of document.environments as { approval: unknown }[]) env.approval = "none";
          section.escalation = { levels: [{ after: "5m", notify: [{ email: "oncall@example.com" }] }] };
        });
        expect(message).toMatch(
          /approvals\.sender is "switchyard@localhost", which SES cannot verify, but incidents\.escalation e-mails oncall@example\.com/,
        );
      });
    });
  });

  describe("routes", () => {
    const mainRef = () => refOf(main, main.stack.api.api);
    const pagesRef = () => refOf(main, main.stack.approvalGate.pages.api);
    const routeIn = (api: unknown, key: string) =>
      Object.values(
        main.template.findResources("AWS::ApiGatewayV2::Route", {
          Properties: { RouteKey: key, ApiId: api },
        }),
      ).map((r) => (r as { Properties: Record<string, unknown> }).Properties);

    it.each([
      ["POST /webhooks/alertmanager", "ingest-alertmanager-webhook", "bearer token"],
      ["POST /webhooks/pagerduty", "ingest-pagerduty-webhook", "HMAC-SHA256"],
    ] as const)("serves %s to %s without IAM, on the main API only", (key, fn, credential) => {
      expect(routeIn(mainRef(), key)).toEqual([expect.objectContaining({ AuthorizationType: "NONE" })]);
      expect(routeIn(pagesRef(), key)).toEqual([]);
      expect(publicRoutes.get(key)).toContain(credential);
      expect(functions[fn].http).toEqual([
        expect.objectContaining({ method: "POST", path: key.split(" ")[1] }),
      ]);
    });

    it.each(functions.incidents.http.map((route) => [routeKey(route), route] as const))(
      "serves %s with IAM on the main API, and without it on the pages API only if it is a page",
      (key, route) => {
        expect(routeIn(mainRef(), key)).toEqual([expect.objectContaining({ AuthorizationType: "AWS_IAM" })]);
        expect(routeIn(pagesRef(), key)).toEqual(
          "pages" in route && route.pages ? [expect.objectContaining({ AuthorizationType: "NONE" })] : [],
        );
      },
    );

    it("puts the acknowledge page and the acknowledgement on the pages API, and never the listing", () => {
      expect(routeIn(pagesRef(), "GET /incidents/{id}")).toHaveLength(1);
      expect(routeIn(pagesRef(), "POST /incidents/{id}/ack")).toHaveLength(1);
      expect(routeIn(pagesRef(), "GET /incidents")).toEqual([]);
      expect(
        pagesRouteReasons.incidents({ method: "POST", path: "/incidents/{id}/ack", pages: true }),
      ).toContain("only acknowledges the incident the token names");
    });
  });

  describe("workflow", () => {
    const answers = (name: FunctionName) =>
      fnStatementsFor(name, "states:").filter(
        (s) =>
          actionsOf(s).some((a) => a.startsWith("states:SendTask")) &&
          JSON.stringify(s.Resource) === JSON.stringify(machineRef("incident-escalation")),
      );

    it("lets route-alert start exactly the incident workflow and read back a repeated start", () => {
      const statements = fnStatementsFor("route-alert", "states:").filter((s) =>
        actionsOf(s).some((a) => a === "states:StartExecution" || a === "states:DescribeExecution"),
      );
      expect(statements.map((s) => [s.Action, s.Resource])).toEqual([
        ["states:StartExecution", machineRef("incident-escalation")],
        [
          "states:DescribeExecution",
          {
            "Fn::Join": [
              "",
              [
                "arn:",
                { Ref: "AWS::Partition" },
                ":states:eu-west-1:123456789012:execution:",
                { "Fn::GetAtt": [machineRef("incident-escalation").Ref, "Name"] },
                ":*",
              ],
            ],
          },
        ],
      ]);
      expect(fnVariables("route-alert")[envNames.incidentEscalationStateMachineArn]).toEqual(
        machineRef("incident-escalation"),
      );
    });

    it.each(functionNames)(
      "%s may wake the incident workflow only if it answers it, with SendTaskSuccess only",
      (name) => {
        expect(answers(name)).toEqual(
          incidentNeedsOf(name).answersIncidents
            ? [
                expect.objectContaining({
                  Action: "states:SendTaskSuccess",
                  Resource: machineRef("incident-escalation"),
                }),
              ]
            : [],
        );
      },
    );

    it.each(incidentFunctions.filter((name) => incidentNeedsOf(name).answersIncidents))(
      "grants %s its answers outside its default policy, which the workflow may depend on",
      (name) => {
        const fn = main.stack.functions.get(name);
        const defaultPolicy = logicalId(
          main.stack,
          fn.role!.node.findChild("DefaultPolicy") as unknown as { node: { defaultChild?: unknown } },
        );
        const holders = Object.entries(
          main.template.findResources("AWS::IAM::Policy", {
            Properties: { Roles: [{ Ref: fnRoleId(name) }] },
          }),
        )
          .filter(([, policy]) => JSON.stringify(policy).includes("states:SendTaskSuccess"))
          .map(([id]) => id);
        expect(holders).toHaveLength(1);
        expect(holders).not.toContain(defaultPolicy);
      },
    );

    it("waits on await-incident's task token, which acknowledging and resolving answer", () => {
      const asl = JSON.parse(
        readFileSync(join(projectRoot, workflows["incident-escalation"].file), "utf8"),
      ) as {
        States: Record<string, { Resource?: string; Parameters?: { FunctionName?: string } }>;
      };
      const waiting = Object.values(asl.States)
        .filter((state) => state.Resource?.endsWith(".waitForTaskToken"))
        .map((state) => state.Parameters?.FunctionName);
      expect(waiting).not.toHaveLength(0);
      expect(new Set(waiting)).toEqual(new Set([`\${${functions[incidentAwaiter].id}FunctionArn}`]));
      only(main.template, "AWS::StepFunctions::StateMachine", {
        DefinitionSubstitutions: Match.objectLike({ AwaitIncidentFunctionArn: fnArn(incidentAwaiter) }),
      });
      for (const name of ["await-incident", "route-alert", "incidents"] as const) {
        expect(incidentNeedsOf(name).answersIncidents, name).toBe(true);
      }
    });
  });

  describe("CloudWatch alarm rule", () => {
    const rule = rules.find((r) => r.name === "cloudwatch-alarm-state-changed")!;

    it("takes Alarm State Change events from the default bus to normalize-alarm, with retries and a DLQ", () => {
      expect(rule.bus).toBe("default");
      const { id, properties } = only(main.template, "AWS::Events::Rule", { Name: rule.name });
      expect(properties.EventBusName).toBe("default");
      expect(properties.EventPattern).toEqual({
        source: ["aws.cloudwatch"],
        "detail-type": ["CloudWatch Alarm State Change"],
      });
      const dlq = logicalId(main.stack, main.stack.rules.deadLetterQueue(rule.name));
      expect(properties.Targets).toEqual([
        expect.objectContaining({
          Arn: fnArn("normalize-alarm"),
          DeadLetterConfig: { Arn: { "Fn::GetAtt": [dlq, "Arn"] } },
          RetryPolicy: {
            MaximumRetryAttempts: rule.retryPolicy.maximumRetryAttempts,
            MaximumEventAgeInSeconds: rule.retryPolicy.maximumEventAgeSeconds,
          },
        }),
      ]);
      main.template.hasResourceProperties("AWS::Lambda::Permission", {
        Action: "lambda:InvokeFunction",
        FunctionName: fnArn("normalize-alarm"),
        Principal: "events.amazonaws.com",
        SourceArn: { "Fn::GetAtt": [id, "Arn"] },
      });
      main.template.hasResourceProperties("AWS::SQS::QueuePolicy", {
        Queues: [{ Ref: dlq }],
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Effect: "Allow",
              Action: "sqs:SendMessage",
              Principal: { Service: "events.amazonaws.com" },
              Condition: { ArnEquals: { "aws:SourceArn": { "Fn::GetAtt": [id, "Arn"] } } },
            }),
          ]),
        },
      });
    });

    it.each(["normalize-alarm", "normalize-failure", "route-alert"] as const)(
      "sends %s's failed asynchronous invocations to an on-failure queue",
      (name) => {
        const invokeConfig = only(main.template, "AWS::Lambda::EventInvokeConfig", {
          FunctionName: { Ref: fnLogicalId(name) },
        }).properties;
        expect(invokeConfig).toMatchObject({
          MaximumRetryAttempts: 2,
          DestinationConfig: { OnFailure: { Destination: { "Fn::GetAtt": [expect.any(String), "Arn"] } } },
        });
      },
    );
  });

  describe("alarms", () => {
    it.each(alarmedIncidentFunctions)(
      "alarms on %s's first error in five minutes, with no action of its own",
      (name) => {
        const id = functions[name].id;
        const { properties } = only(main.template, "AWS::CloudWatch::Alarm", {
          AlarmName: `Switchyard-${id}-Errors`,
        });
        expect(properties).toMatchObject({
          Namespace: "AWS/Lambda",
          MetricName: "Errors",
          Dimensions: [{ Name: "FunctionName", Value: { Ref: fnLogicalId(name) } }],
          Statistic: "Sum",
          Period: 300,
          ComparisonOperator: "GreaterThanThreshold",
          Threshold: 0,
          EvaluationPeriods: 1,
          DatapointsToAlarm: 1,
          TreatMissingData: "notBreaching",
        });
        expect(properties).not.toHaveProperty("AlarmActions");
        expect(incidents().errorAlarms.get(name)).toBeDefined();
      },
    );

    it("alarms on the incident workflow's failed, timed-out and aborted executions like every workflow's", () => {
      for (const metric of ["ExecutionsFailed", "ExecutionsTimedOut", "ExecutionsAborted"]) {
        only(main.template, "AWS::CloudWatch::Alarm", {
          AlarmName: `Switchyard-${workflows["incident-escalation"].id}-${metric}`,
          Dimensions: [{ Name: "StateMachineArn", Value: machineRef("incident-escalation") }],
        });
      }
    });
  });
});

describe("compliance", () => {
  it("has no unacknowledged cdk-nag findings (AwsSolutions, Serverless)", () => {
    for (const pack of compliancePacks()) {
      const report = pack.validateScope(main.stack);
      expect(report.violations.map((v) => `${v.ruleName} ${v.violatingResources[0]?.constructPath}`)).toEqual(
        [],
      );
    }
  });

  it("synthesizes with the packs registered on the app, as `cdk synth` runs them", () => {
    expect(() => buildStack(undefined, { nag: true })).not.toThrow();
  });

  it("has no error or warning annotations", () => {
    const annotations = Annotations.fromStack(main.stack);
    expect(annotations.findError("*", Match.anyValue())).toEqual([]);
    expect(annotations.findWarning("*", Match.anyValue())).toEqual([]);
  });
});

describe("registry checks at synth", () => {
  const badRule: Rule = { ...rules[0]!, name: "bad-pattern", pattern: { detail: { state: [] } } };

  it("fails on an invalid rule pattern, naming the rule", () => {
    let caught: unknown;
    try {
      buildStack({ rules: [badRule] });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(RegistryError);
    expect((caught as Error).message).toMatch(
      /^Rule "bad-pattern" has an invalid event pattern: .*\$\.detail\.state/,
    );
    expect((caught as Error).cause).toBeInstanceOf(InvalidEventPatternError);
  });

  it("fails on a rule whose target is not registered", () => {
    const orphan: Rule = { ...rules[0]!, target: { kind: "workflow", workflow: "nope" as WorkflowName } };
    expect(() => buildStack({ rules: [orphan] })).toThrow(/targets workflow "nope", which is not registered/);
  });

  it("fails when an ASL placeholder has no function in the registry", () => {
    const unlisted = { ...workflows, "promote-image": { ...workflows["promote-image"], functions: [] } };
    expect(() => buildStack({ workflows: unlisted })).toThrow(/uses \$\{ResolveServicesFunctionArn\}/);
  });

  it("fails when the ASL timeout and the registry disagree", () => {
    const drifted = { ...workflows, "promote-image": { ...workflows["promote-image"], timeoutSeconds: 60 } };
    expect(() => buildStack({ workflows: drifted })).toThrow(
      `TimeoutSeconds ${workflows["promote-image"].timeoutSeconds} but workflows/registry.ts says 60`,
    );
  });

  it("names the resource placeholders it accepts when a placeholder is unknown", () => {
    expect(() => buildStack({ queues: {} })).toThrow(
      /uses \$\{CommitsQueueUrl\} but .* \(and it is neither \$\{EventBusName\}\)/,
    );
  });

  const commits = queues.commits;
  it.each([
    [
      "a FIFO name without .fifo",
      { ...commits, name: "switchyard-commits" },
      /FIFO queue's name must end in .fifo/,
    ],
    [
      "a standard queue named .fifo",
      { ...commits, fifo: false },
      /standard queue's name must not end in .fifo/,
    ],
    ["a batch larger than SQS allows", { ...commits, batchSize: 11 }, /batchSize 11; allowed are 1 to 10/],
    [
      "a visibility timeout below the consumer's timeout",
      { ...commits, visibilityTimeoutSeconds: 60 },
      /visibilityTimeoutSeconds 60, below the 120 s timeout of its consumer "commit-images"/,
    ],
    [
      "no receives before the DLQ",
      { ...commits, maxReceiveCount: 0 },
      /maxReceiveCount 0; allowed are 1 to 1000/,
    ],
    [
      "an unregistered consumer",
      { ...commits, consumer: "nope" as FunctionName },
      /consumed by "nope", which is not registered/,
    ],
  ])("fails on a queue with %s", (_what, queue, message) => {
    expect(() => buildStack({ queues: { commits: queue } })).toThrow(message);
  });

  it("fails when a public route is no longer served, instead of silently requiring IAM", () => {
    const { http: _served, ...webhook } = functions["ingest-github-webhook"];
    expect(() => buildStack({ functions: { ...functions, "ingest-github-webhook": webhook } })).toThrow(
      /makes "POST \/webhooks\/github" public, but no function serves it/,
    );
  });

  it("fails when a function that cannot check link tokens serves an approval page", () => {
    const unchecked = {
      ...functions,
      "get-promotions": {
        ...functions["get-promotions"],
        http: [{ method: "GET", path: "/promotions/{id}", pages: true }],
      },
    } as Record<string, FunctionDefinition>;
    expect(() => buildStack({ functions: unchecked })).toThrow(
      /Function "get-promotions" serves "GET \/promotions\/\{id\}" as an approval page, but it has no link key/,
    );
  });

  it("fails on an approval page a browser form cannot send", () => {
    const deleting = {
      ...functions,
      approvals: {
        ...functions.approvals,
        http: [{ method: "DELETE", path: "/approvals/{id}", pages: true }],
      },
    } as Record<string, FunctionDefinition>;
    expect(() => buildStack({ functions: deleting })).toThrow(/a browser form can only GET or POST/);
  });

  it("fails on a route two functions serve", () => {
    const twice = {
      ...functions,
      "list-environments": {
        ...functions["list-environments"],
        http: [{ method: "GET", path: "/promotions" }],
      },
    } as Record<string, FunctionDefinition>;
    expect(() => buildStack({ functions: twice })).toThrow(/Duplicate HTTP route "GET \/promotions"/);
  });
});

describe("app", () => {
  it("fails synth with the configuration error's message and no stack trace", () => {
    const dir = mkdtempSync(join(tmpdir(), "switchyard-config-"));
    const bad = join(dir, "switchyard.yaml");
    writeFileSync(bad, "gitops: { repository: not a repo }\n");
    const result = spawnSync(
      process.execPath,
      ["--import", "tsx", resolve(projectRoot, "infra/bin/app.ts")],
      {
        cwd: projectRoot,
        env: { ...process.env, [envNames.config]: bad },
        encoding: "utf8",
      },
    );
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(`Invalid configuration in ${bad}`);
    expect(result.stderr).toContain("gitops.repository");
    expect(result.stderr).not.toMatch(/^\s+at /m);
  });

  it("fails synth on a rotation VPC without subnets, naming the context keys, before anything is bundled", () => {
    const result = spawnSync(
      process.execPath,
      ["--import", "tsx", resolve(projectRoot, "infra/bin/app.ts")],
      {
        cwd: projectRoot,
        env: {
          ...process.env,
          [envNames.config]: configFile,
          CDK_CONTEXT_JSON: JSON.stringify({ eksClusterName, rotationVpcId: "vpc-0a1b2c3d" }),
        },
        encoding: "utf8",
      },
    );
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('CDK context "rotationVpcId" is set but "rotationSubnetIds" is not');
    expect(result.stderr).not.toMatch(/^\s+at /m);
  });
});
