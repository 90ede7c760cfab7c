// The Switchyard stack's template: buses, rules, workflows, functions and IAM as the registries describe them.

import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { App, type CfnElement, type Stack, Validations } from "aws-cdk-lib";
import { Annotations, Match, Template } from "aws-cdk-lib/assertions";
import { describe, expect, it } from "vitest";
import { InvalidEventPatternError } from "../../events/pattern.ts";
import { type Rule, rules } from "../../events/rules.ts";
import { type FunctionDefinition, type FunctionName, functions } from "../../functions/registry.ts";
import { envNames } from "../../functions/wiring/env.ts";
import { archiveRetentionDays, switchyardBusName } from "../../infra/constructs/event-buses.ts";
import {
  bundledConfigFileName,
  lambdaRuntime,
  powertoolsEnvironment,
} from "../../infra/constructs/functions.ts";
import {
  compliancePacks,
  projectRoot,
  type Registries,
  RegistryError,
  SwitchyardStack,
} from "../../infra/stacks/switchyard-stack.ts";
import { type WorkflowName, workflowFunctionSubstitutions, workflows } from "../../workflows/registry.ts";

const configFile = join(projectRoot, "switchyard.yaml");
const ninetyDays = 90;
const fourteenDaysSeconds = 14 * 24 * 60 * 60;

/**
 * A stack synthesized without bundling, which costs seconds and is covered by the one full `cdk synth`. With
 * `nag`, the cdk-nag packs are registered as the app registers them, so a finding fails the synthesis.
 */
const buildStack = (registries?: Partial<Registries>, { nag = false } = {}) => {
  const app = new App({ context: { "aws:cdk:bundling-stacks": [] } });
  if (nag) Validations.of(app).addPlugins(...compliancePacks(app));
  const stack = new SwitchyardStack(app, "Switchyard", {
    configFile,
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
    const queues = main.template.findResources("AWS::SQS::Queue");
    expect(Object.keys(queues)).not.toHaveLength(0);
    for (const [id, queue] of Object.entries(queues)) {
      expect((queue as { Properties: unknown }).Properties).toEqual({
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
    "%s runs its ASL file with function ARNs substituted",
    (name) => {
      const { stack, template } = main;
      const workflow = workflows[name];
      const properties = template.toJSON().Resources[logicalId(stack, stack.workflows.get(name))].Properties;
      expect(properties).toMatchObject({
        DefinitionS3Location: { Key: expect.stringMatching(/\.json$/) },
        StateMachineType: "STANDARD",
        TracingConfiguration: { Enabled: true },
        LoggingConfiguration: { Level: "ALL", IncludeExecutionData: false },
      });

      const expected = Object.fromEntries(
        Object.entries(workflowFunctionSubstitutions(name)).map(([key, fn]) => [
          key,
          { "Fn::GetAtt": [logicalId(stack, stack.functions.get(fn)), "Arn"] },
        ]),
      );
      expect(properties.DefinitionSubstitutions).toEqual(expected);

      // What Step Functions receives: the file with CloudFormation's substitutions applied (marked, not resolved).
      const substitutions = properties.DefinitionSubstitutions as Record<
        string,
        { "Fn::GetAtt": [string, string] }
      >;
      const deployed = readFileSync(join(projectRoot, workflow.file), "utf8").replace(
        /\$\{([^}]+)\}/g,
        (placeholder, key: string) => {
          const value = substitutions[key];
          return value ? `<GetAtt ${value["Fn::GetAtt"].join(".")}>` : placeholder;
        },
      );
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
      /TimeoutSeconds 3600 but workflows\/registry.ts says 60/,
    );
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
