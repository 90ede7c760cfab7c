// The Switchyard stack's template: buses, rules, queues, workflows, functions, the API, tables, secrets and IAM.

import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative, resolve } from "node:path";
import { App, type CfnElement, type Stack, Validations } from "aws-cdk-lib";
import { Annotations, Match, Template } from "aws-cdk-lib/assertions";
import { describe, expect, it } from "vitest";
import { InvalidEventPatternError } from "../../events/pattern.ts";
import { type Rule, rules } from "../../events/rules.ts";
import { idempotencyTableKeys } from "../../functions/adapters/aws/dynamodb-idempotency-store.ts";
import { promotionTableKeys } from "../../functions/adapters/aws/dynamodb-promotion-store.ts";
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
import { argoCdAccessGroup } from "../../infra/constructs/cluster-access.ts";
import { deadLetterRetentionDays } from "../../infra/constructs/dead-letter-queue.ts";
import { archiveRetentionDays, switchyardBusName } from "../../infra/constructs/event-buses.ts";
import {
  bundledConfigFileName,
  lambdaRuntime,
  powertoolsEnvironment,
} from "../../infra/constructs/functions.ts";
import {
  publicRoutes,
  routeKey,
  throttleBurstLimit,
  throttleRateLimitPerSecond,
} from "../../infra/constructs/http-api.ts";
import { type PromotionNeeds, promotionNeeds, stateMachineArnEnv } from "../../infra/constructs/promotion.ts";
import { idempotencyTableActions, promotionTableActions } from "../../infra/constructs/promotion-tables.ts";
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

const configFile = join(projectRoot, "switchyard.yaml");
const config = loadConfig(configFile);
const eksClusterName = "platform";
const ninetyDays = 90;
const fourteenDaysSeconds = 14 * 24 * 60 * 60;

/**
 * A stack synthesized without bundling, which costs seconds and is covered by the one full `cdk synth`. With
 * `nag`, the cdk-nag packs are registered as the app registers them, so a finding fails the synthesis.
 */
const buildStack = (registries?: Partial<Registries>, { nag = false, clusterName = eksClusterName } = {}) => {
  const app = new App({ context: { "aws:cdk:bundling-stacks": [] } });
  if (nag) Validations.of(app).addPlugins(...compliancePacks(app));
  const stack = new SwitchyardStack(app, "Switchyard", {
    configFile,
    eksClusterName: clusterName,
    env: { account: "123456789012", region: "eu-west-1" },
    ...(registries && { registries }),
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
      for (const statement of statements.filter((s) => resourcesOf(s).includes("*"))) {
        for (const action of actionsOf(statement)) expect(action).toMatch(/^xray:/);
      }
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

  it("does not let the consumer answer a workflow that waits for no answer", () => {
    const consumerRole = (
      injected.template.toJSON().Resources[
        logicalId(injected.stack, injected.stack.functions.get(queues.commits.consumer))
      ].Properties.Role as { "Fn::GetAtt": [string, string] }
    )["Fn::GetAtt"][0];
    const answers = statementsOf(injected.template, consumerRole).filter((s) =>
      actionsOf(s).includes("states:SendTaskSuccess"),
    );
    expect(answers.map((s) => s.Resource)).toEqual([
      { Ref: logicalId(injected.stack, injected.stack.workflows.get("promote-image")) },
    ]);
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
        expect(fnStatementsFor(queues[name].consumer, "states:")).toEqual([
          expect.objectContaining({
            Action: ["states:SendTaskSuccess", "states:SendTaskFailure"],
            Resource: { Ref: logicalId(main.stack, machine) },
          }),
        ]);
      }
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
    };
    for (const command of commands) expect(granted).toContain(actionFor[command] ?? `unmapped ${command}`);
  });

  const promotionsArn = () => ({
    "Fn::GetAtt": [logicalId(main.stack, main.stack.promotion.tables.promotions), "Arn"],
  });
  const indexArn = (index: string) => ({ "Fn::Join": ["", [promotionsArn(), `/index/${index}`]] });

  it.each(functionNames)("%s gets exactly its promotion-table access and the table's name", (name) => {
    const access = needsOf(name).promotionTable;
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
    expect(fnVariables(name)[envNames.promotionTable]).toEqual(access ? tableRef : undefined);
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

  it.each(functionNames)("%s may describe the cluster and enter it only if it talks to Argo CD", (name) => {
    const cluster = needsOf(name).cluster === true;
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
              KubernetesGroups: [argoCdAccessGroup],
            },
          ]
        : [],
    );
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
    const starts = needsOf(name).startsWorkflows ?? [];
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

describe("HTTP API", () => {
  const routes = functionNames.flatMap(
    (name) =>
      (functions[name] as FunctionDefinition).http?.map((route) => [routeKey(route), name] as const) ?? [],
  );
  const apiRef = () => ({ Ref: logicalId(main.stack, main.stack.api.api) });

  it("serves every registry route", () => {
    expect(routes.length).toBeGreaterThan(0);
    const deployed = Object.values(main.template.findResources("AWS::ApiGatewayV2::Route")).map(
      (r) => (r as { Properties: { RouteKey: string } }).Properties.RouteKey,
    );
    expect(deployed.sort()).toEqual(routes.map(([key]) => key).sort());
  });

  it.each(routes)(
    "%s reaches %s through a payload 2.0 proxy integration with the right authorization",
    (key, fn) => {
      const { properties } = only(main.template, "AWS::ApiGatewayV2::Route", { RouteKey: key });
      expect(properties.ApiId).toEqual(apiRef());
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
        SourceArn: Match.objectLike({ "Fn::Join": ["", Match.arrayWith([`/*/*${key.split(" ")[1]}`])] }),
      });
    },
  );

  it("leaves only the GitHub webhook unauthenticated", () => {
    expect([...publicRoutes.keys()]).toEqual(["POST /webhooks/github"]);
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
      JSON.stringify(o).includes(".execute-api."),
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
    const expected = new Set<string>([
      ...(needs.promotionTable ? [envNames.promotionTable] : []),
      ...(needs.idempotencyTable ? [envNames.idempotencyTable] : []),
      ...(needs.cluster ? [envNames.eksClusterName] : []),
      ...(needs.startsWorkflows ?? []).map((wf) => stateMachineArnEnv[wf]),
      ...((functions[name] as FunctionDefinition).publishesEvents ? [envNames.eventBusName] : []),
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
      ["ExecutionsFailed", "ExecutionsTimedOut"].map((metric) => [name, metric] as const),
    ),
  )("alarms on %s's %s", (name, metric) => {
    const dimension = {
      Name: "StateMachineArn",
      Value: { Ref: logicalId(main.stack, main.stack.workflows.get(name)) },
    };
    expect(alarmOn(metric, dimension)).toEqual([
      expect.objectContaining({
        Namespace: "AWS/States",
        Statistic: "Sum",
        ComparisonOperator: "GreaterThanThreshold",
        Threshold: 0,
        TreatMissingData: "notBreaching",
      }),
    ]);
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
    const unlisted = { "promote-image": { ...workflows["promote-image"], functions: [] } };
    expect(() => buildStack({ workflows: unlisted })).toThrow(/uses \$\{ResolveServicesFunctionArn\}/);
  });

  it("fails when the ASL timeout and the registry disagree", () => {
    const drifted = { "promote-image": { ...workflows["promote-image"], timeoutSeconds: 60 } };
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
});
