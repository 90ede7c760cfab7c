// The Lambda functions of functions/registry.ts: bundled locally with esbuild as ESM, each with its own role and logs.

import { join } from "node:path";
import { Duration, Validations } from "aws-cdk-lib";
import type * as ec2 from "aws-cdk-lib/aws-ec2";
import * as iam from "aws-cdk-lib/aws-iam";
import * as lambda from "aws-cdk-lib/aws-lambda";
import * as destinations from "aws-cdk-lib/aws-lambda-destinations";
import { NodejsFunction, OutputFormat } from "aws-cdk-lib/aws-lambda-nodejs";
import * as logs from "aws-cdk-lib/aws-logs";
import { Construct } from "constructs";
import type { FunctionDefinition } from "../../functions/registry.ts";
import { envNames } from "../../functions/wiring/env.ts";
import { metricsNamespace, serviceName } from "../../functions/wiring/observability.ts";
import { DeadLetterQueue } from "./dead-letter-queue.ts";

/**
 * The newest Node.js runtime this CDK version knows; cdk-nag (AwsSolutions-L1, Serverless-LambdaLatestVersion)
 * flags anything older, which is the prompt to move when a CDK upgrade adds one.
 */
export const lambdaRuntime = lambda.Runtime.NODEJS_24_X;

/** esbuild's target for the runtime above (`nodejs24.x` → `node24`), so syntax is lowered only as far as needed. */
export const esbuildTarget = lambdaRuntime.name.replace(/^nodejs(\d+)\.x$/, "node$1");

/** Where Lambda unpacks the bundle; the configuration file travels inside it. */
const lambdaTaskRoot = "/var/task";
/** The configuration's file name inside the bundle. */
export const bundledConfigFileName = "switchyard.yaml";

/** Function logs back operational debugging; three months covers a quarter's incident reviews. */
export const functionLogRetention = logs.RetentionDays.THREE_MONTHS;

/** Powertools settings shared by every function; observability.ts uses the same service name and namespace. */
export const powertoolsEnvironment = {
  POWERTOOLS_SERVICE_NAME: serviceName,
  POWERTOOLS_METRICS_NAMESPACE: metricsNamespace,
  POWERTOOLS_LOG_LEVEL: "INFO",
} as const;

/**
 * esbuild emits `require()` calls for CommonJS dependencies it cannot convert; in an ES module there is no
 * `require`, so the bundle defines one. The alias keeps the import from clashing with names in bundled code.
 */
const createRequireBanner =
  "import { createRequire as __switchyardCreateRequire } from 'node:module'; const require = __switchyardCreateRequire(import.meta.url);";

/** Async Lambda retries after a function error before the event goes to the on-failure destination (Lambda's default). */
const asyncRetryAttempts = 2;

const shellQuote = (value: string): string => `'${value.replace(/'/g, `'\\''`)}'`;

/** Why a function needs no dead-letter queue of its own: where its failures go instead, by how it is invoked. */
const dlqReason = (name: string, definition: FunctionDefinition, props: FunctionsProps): string => {
  const known = props.deadLetterReasons?.get(name);
  if (known) return known;
  if (props.asyncInvoked.has(name)) {
    return (
      "Failed asynchronous invocations go to the on-failure destination (an SQS queue), which supersedes a " +
      "dead-letter queue and also records the error."
    );
  }
  if (props.queueConsumers.has(name)) {
    return (
      "Invoked by an SQS event source mapping: a message that keeps failing moves to that queue's own " +
      "dead-letter queue (redrive policy), which is where SQS consumers keep their failures."
    );
  }
  if (definition.http) {
    return (
      "Invoked only synchronously by API Gateway: an error returns to the caller as an HTTP response, so a " +
      "dead-letter queue would never receive a message."
    );
  }
  return (
    "Invoked only synchronously (Step Functions lambda:invoke, request/response): errors return to the " +
    "workflow's Retry/Catch, so a dead-letter queue would never receive a message."
  );
};

/** What the functions are built from. */
export interface FunctionsProps {
  /** The registry, keyed by function name. */
  definitions: Readonly<Record<string, FunctionDefinition>>;
  /** Repository root: registry paths are relative to it, and it holds the lock file esbuild resolves against. */
  projectRoot: string;
  /** The validated configuration file, copied into every bundle. */
  configFile: string;
  /** Functions that EventBridge invokes asynchronously; they get an on-failure destination. */
  asyncInvoked: ReadonlySet<string>;
  /** Functions an SQS event source mapping invokes; a failed message goes to its queue's dead-letter queue. */
  queueConsumers: ReadonlySet<string>;
  /**
   * Where a function that must reach private resources runs; the others (all by default) run outside any VPC.
   * The capability that needs the network decides, the function gets the permissions Lambda needs for it.
   */
  vpcFor?: (name: string) => FunctionVpcPlacement | undefined;
  /**
   * Why a function needs no dead-letter queue, for functions another AWS service invokes synchronously (Secrets
   * Manager's rotation function): the capability that wires the invoker knows where a failure goes.
   */
  deadLetterReasons?: ReadonlyMap<string, string>;
}

/** A function's place in a VPC: the subnets Lambda puts its network interfaces in, and their security groups. */
export interface FunctionVpcPlacement {
  vpc: ec2.IVpc;
  subnets: readonly ec2.ISubnet[];
  securityGroups: readonly ec2.ISecurityGroup[];
}

/**
 * What Lambda does with the execution role of a function in a VPC (the actions of the AWS managed
 * AWSLambdaVPCAccessExecutionRole, which is not attached: managed policies are flagged and reach further).
 */
export const vpcNetworkInterfaceActions = [
  "ec2:CreateNetworkInterface",
  "ec2:DescribeNetworkInterfaces",
  "ec2:DescribeSubnets",
  "ec2:DeleteNetworkInterface",
  "ec2:AssignPrivateIpAddresses",
  "ec2:UnassignPrivateIpAddresses",
] as const;

/**
 * Every registry function as a `NodejsFunction` (arm64, ESM, X-Ray active, explicit log group, its own role).
 *
 * @example
 * const fns = new Functions(this, "Functions", {
 *   definitions: functions, projectRoot, configFile, asyncInvoked, queueConsumers,
 * });
 * fns.get("resolve-services").functionArn;
 */
export class Functions extends Construct {
  private readonly byName = new Map<string, NodejsFunction>();

  constructor(scope: Construct, id: string, props: FunctionsProps) {
    super(scope, id);
    for (const [name, definition] of Object.entries(props.definitions)) {
      this.byName.set(name, this.build(name, definition, props));
    }
  }

  /** The function registered under `name`; an unknown name is a registry error. */
  get(name: string): NodejsFunction {
    const fn = this.byName.get(name);
    if (!fn) throw new Error(`No function "${name}" in the functions registry`);
    return fn;
  }

  /** Every function with its registry name. */
  entries(): IterableIterator<[string, NodejsFunction]> {
    return this.byName.entries();
  }

  private build(name: string, definition: FunctionDefinition, props: FunctionsProps): NodejsFunction {
    const scope = new Construct(this, definition.id);
    const logGroup = new logs.LogGroup(scope, "LogGroup", { retention: functionLogRetention });
    // An own role instead of the default one, which carries the AWS managed AWSLambdaBasicExecutionRole that may
    // write to every log group in the account.
    const role = new iam.Role(scope, "Role", {
      assumedBy: new iam.ServicePrincipal("lambda.amazonaws.com"),
      description: `Execution role of the ${name} function`,
    });
    logGroup.grantWrite(role);
    const placement = props.vpcFor?.(name);
    if (placement) {
      // In the role's default policy, which the function depends on: Lambda checks these at CreateFunction.
      role.addToPolicy(
        new iam.PolicyStatement({ actions: [...vpcNetworkInterfaceActions], resources: ["*"] }),
      );
    }

    const asyncInvoked = props.asyncInvoked.has(name);
    const onFailure = asyncInvoked
      ? new DeadLetterQueue(scope, "OnFailure", {
          purpose: `asynchronous invocations of the ${name} function`,
        })
      : undefined;

    const fn = new NodejsFunction(scope, "Function", {
      entry: join(props.projectRoot, definition.entry),
      handler: "handler",
      projectRoot: props.projectRoot,
      depsLockFilePath: join(props.projectRoot, "package-lock.json"),
      description: definition.description,
      runtime: lambdaRuntime,
      architecture: lambda.Architecture.ARM_64,
      timeout: Duration.seconds(definition.timeoutSeconds),
      memorySize: definition.memoryMb,
      role,
      logGroup,
      tracing: lambda.Tracing.ACTIVE,
      ...(placement && {
        vpc: placement.vpc,
        vpcSubnets: { subnets: [...placement.subnets] },
        securityGroups: [...placement.securityGroups],
      }),
      environment: {
        [envNames.config]: `${lambdaTaskRoot}/${bundledConfigFileName}`,
        ...powertoolsEnvironment,
        // Minified code is unreadable in a stack trace; the shipped source map makes it point at the .ts line.
        NODE_OPTIONS: "--enable-source-maps",
      },
      ...(onFailure && {
        onFailure: new destinations.SqsDestination(onFailure.queue),
        retryAttempts: asyncRetryAttempts,
      }),
      bundling: {
        format: OutputFormat.ESM,
        mainFields: ["module", "main"],
        banner: createRequireBanner,
        target: esbuildTarget,
        minify: true,
        sourceMap: true,
        // Stack traces still map to file and line; the sources themselves would only double the bundle.
        sourcesContent: false,
        // The SDK is bundled too, so a function runs the exact client versions the tests ran, not the runtime's.
        externalModules: [],
        forceDockerBundling: false,
        commandHooks: {
          beforeBundling: () => [],
          beforeInstall: () => [],
          afterBundling: (_inputDir: string, outputDir: string) => [
            `cp ${shellQuote(props.configFile)} ${shellQuote(join(outputDir, bundledConfigFileName))}`,
          ],
        },
      },
    });

    const defaultPolicy = role.node.tryFindChild("DefaultPolicy");
    if (defaultPolicy) {
      Validations.of(defaultPolicy).acknowledge({
        id: "AwsSolutions-IAM5[Resource::*]",
        reason:
          "Only xray:PutTraceSegments and xray:PutTelemetryRecords (active tracing) use Resource *: X-Ray does not " +
          "support resource-level permissions for them. Log writes are scoped to the function's own log group." +
          (placement
            ? ` In a VPC also the network interface actions Lambda performs with the role (${vpcNetworkInterfaceActions.join(", ")}): ` +
              "the Describe actions support no resource-level permissions, and the interfaces do not exist before " +
              "Lambda creates them (it checks the role for CreateNetworkInterface when the function is created); " +
              "AWSLambdaVPCAccessExecutionRole grants the same actions on *."
            : ""),
      });
    }
    Validations.of(fn).acknowledge({
      id: "Serverless-LambdaDLQ",
      reason: dlqReason(name, definition, props),
    });
    return fn;
  }
}
