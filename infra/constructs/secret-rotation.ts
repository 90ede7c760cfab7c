// The secret-rotation capability: rotation schedules for switchyard.yaml's secrets, and who may do what in a rotation.

import { ArnFormat, CfnOutput, Duration, Stack, Validations } from "aws-cdk-lib";
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import * as iam from "aws-cdk-lib/aws-iam";
import * as lambda from "aws-cdk-lib/aws-lambda";
import * as secretsmanager from "aws-cdk-lib/aws-secretsmanager";
import { Construct } from "constructs";
import type { SecretConfig, SwitchyardConfig } from "../../functions/core/config.ts";
import { ConfigError } from "../../functions/core/errors.ts";
import type { FunctionDefinition, FunctionName } from "../../functions/registry.ts";
import type { ApprovalTables, TableAccess } from "./approval-tables.ts";
import { type ClusterAccess, secretRolloutAccessGroup } from "./cluster-access.ts";
import { issuedIncidentSecrets } from "./incident-escalation.ts";
import type { RotationNetwork } from "./rotation-network.ts";
import { pascalCase } from "./rules.ts";

/** What one function of the capability reaches besides its logs and its bus (which the generic constructs grant). */
export interface SecretRotationNeeds {
  /** Is Secrets Manager's rotation function: the four steps on every configured secret, GetRandomPassword. */
  rotates?: true;
  /** Reads a rotated secret's versions (and, for alternating-users, its user name) to plan the rollout. */
  plansRollout?: true;
  /** Reads and patches the consumers' ExternalSecrets and Deployments, and hashes their Secrets, on the cluster. */
  workloads?: true;
  /** Freezes of a consumer's service hold its restarts. */
  freezeTable?: TableAccess;
}

/**
 * Each function's needs, as its dependencies in `functions/wiring/aws.ts` show them: `rotateSecretDeps()` builds the
 * secret store and the database admin, `planSecretRolloutDeps()` the secret store, sync/restart/watch the EKS
 * workload target (`workloadTarget()`), restart also the freeze store. finish-secret-rollout only publishes, which
 * `publishesEvents` in the registry grants.
 */
export const secretRotationNeeds = {
  "rotate-secret": { rotates: true },
  "plan-secret-rollout": { plansRollout: true },
  "sync-external-secret": { workloads: true },
  "restart-deployment": { workloads: true, freezeTable: "read" },
  "watch-rollout": { workloads: true },
} as const satisfies Partial<Record<FunctionName, SecretRotationNeeds>>;

/** The function Secrets Manager invokes for every step of every configured secret's rotation. */
export const rotationFunction = "rotate-secret" satisfies FunctionName;

/** Where Lambda's Node.js runtimes keep the Amazon RDS CA bundle, which they no longer load by themselves. */
export const rdsCaBundlePath = "/var/runtime/ca-cert.pem";

/** Node reads extra trusted CAs from this variable at start; the pg adapter verifies RDS certificates with them. */
export const extraCaCertsVariable = "NODE_EXTRA_CA_CERTS";

/** Why the rotation function needs no dead-letter queue (functions.ts asks each capability that wires an invoker). */
export const rotationDeadLetterReason =
  "Invoked synchronously by Secrets Manager, once per rotation step: a failed step fails the rotation, which " +
  "CloudTrail records as RotationFailed and the function's Errors alarm reports; a dead-letter queue would never " +
  "receive a message.";

/** Secrets Manager's limits for a rotation schedule: at most every four hours, at least every 999 days. */
const minRotationHours = 4;
const maxRotationDays = 999;
const hoursPerDay = 24;

/** Lambda errors are rare here (a handful of rotations a month): the first one in five minutes is worth a look. */
const alarmPeriodMinutes = 5;

const ratePattern = /^rate\(\s*(\d+)\s+(hour|hours|day|days)\s*\)$/;
const cronPattern = /^cron\(\s*(.+?)\s*\)$/;

/** The hours a cron expression's hours field names: `*`, `n`, `a-b`, `a/n`, `a-b/n` and lists of them. */
const cronHours = (field: string): number[] | undefined => {
  const hours = new Set<number>();
  for (const part of field.split(",")) {
    const match = /^(\*|\d{1,2}(?:-\d{1,2})?)(?:\/(\d{1,2}))?$/.exec(part);
    if (!match) return undefined;
    const [range = "", stepText] = [match[1], match[2]];
    const [from, to] =
      range === "*"
        ? [0, hoursPerDay - 1]
        : range.includes("-")
          ? range.split("-").map(Number)
          : stepText === undefined
            ? [Number(range), Number(range)]
            : [Number(range), hoursPerDay - 1];
    const step = stepText === undefined ? 1 : Number(stepText);
    if (from === undefined || to === undefined || from > to || to >= hoursPerDay || step < 1)
      return undefined;
    for (let hour = from; hour <= to; hour += step) hours.add(hour);
  }
  return [...hours].sort((a, b) => a - b);
};

/** The shortest time between two rotations of a day's hours, across midnight too (the schedule repeats daily). */
const shortestGapHours = (hours: readonly number[]): number =>
  hours.length < 2
    ? hoursPerDay
    : Math.min(...hours.map((hour, i) => (hours[i + 1] ?? (hours[0] ?? 0) + hoursPerDay) - hour));

/**
 * The `ScheduleExpression` of a secret's rotation rules, checked against what Secrets Manager accepts, since
 * CloudFormation would only refuse it at deploy: `rate(N hours)` (N ≥ 4) or `rate(N days)` (N ≤ 999), or a
 * six-field `cron()` with minute 0 (windows open on the hour), year `*`, `?` in exactly one of day-of-month and
 * day-of-week, and no two rotations of a day less than four hours apart. aws-cdk-lib's `RotationSchedule` only
 * takes a Duration, so the expression is set on `AWS::SecretsManager::RotationSchedule` as written.
 *
 * @example rotationScheduleExpression("rate(30 days)", "secrets[0].rotation.schedule", "switchyard.yaml") // "rate(30 days)"
 */
export const rotationScheduleExpression = (schedule: string, path: string, configFile: string): string => {
  const refuse = (why: string): never => {
    throw new ConfigError(`Invalid configuration in ${configFile}: ${path} is "${schedule}"; ${why}`);
  };
  const rate = ratePattern.exec(schedule);
  if (rate) {
    const value = Number(rate[1]);
    const hours = rate[2]!.startsWith("hour") ? value : value * hoursPerDay;
    if (hours < minRotationHours) refuse(`Secrets Manager rotates at most every ${minRotationHours} hours`);
    if (hours > maxRotationDays * hoursPerDay)
      refuse(`Secrets Manager rotates at least every ${maxRotationDays} days`);
    return `rate(${value} ${rate[2]})`;
  }
  const cron = cronPattern.exec(schedule);
  if (!cron) {
    return refuse(
      'expected rate(<n> hours|days) or cron(<minutes> <hours> <day-of-month> <month> <day-of-week> <year>), e.g. "rate(30 days)"',
    );
  }
  const fields = cron[1]!.split(/\s+/);
  if (fields.length !== 6) refuse(`a rotation cron() has 6 fields, this one has ${fields.length}`);
  const [minutes, hoursField = "", dayOfMonth, , dayOfWeek, year] = fields;
  if (minutes !== "0")
    refuse("the minutes field must be 0: Secrets Manager rotation windows open on the hour");
  if (year !== "*") refuse("the year field must be *: Secrets Manager does not schedule rotations by year");
  if ((dayOfMonth === "?") === (dayOfWeek === "?")) {
    refuse("exactly one of day-of-month and day-of-week must be ?");
  }
  const hours = cronHours(hoursField);
  if (!hours || hours.length === 0) {
    return refuse("the hours field must name hours 0-23 (n, a-b, a/n, * or lists of them)");
  }
  if (shortestGapHours(hours) < minRotationHours) {
    refuse(`Secrets Manager rotates at most every ${minRotationHours} hours`);
  }
  return `cron(${fields.join(" ")})`;
};

/**
 * The secrets of switchyard.yaml the stack creates or reads itself, by name: the signing keys (rotated in place,
 * api-key only: the GitHub webhook secret, the approval link key, Alertmanager's bearer token) and the values other
 * systems issue (the GitHub token, PagerDuty's routing keys and webhook secret, the Slack token), never rotated here.
 */
const stackSecrets = (config: SwitchyardConfig) => ({
  signingKeys: new Set([
    config.github.webhookSecret,
    config.approvals.linkKeySecret,
    config.incidents.webhookToken.secret,
  ]),
  issued: new Map([
    [config.github.tokenSecret, "the GitHub token (github.tokenSecret), which GitHub issues"],
    ...issuedIncidentSecrets(config),
  ]),
});

/**
 * Refuses, before anything is bundled, the `secrets[]` entries that would fail at deploy or at the first rotation:
 * a schedule Secrets Manager refuses, a secret whose value another system issues, a signing key rotated as a
 * database password, two names that make the same construct id. The stack calls it first; the construct again.
 *
 * @example validateRotatedSecrets(loadConfig("switchyard.yaml"), "switchyard.yaml");
 */
export const validateRotatedSecrets = (config: SwitchyardConfig, configFile: string): void => {
  const { signingKeys, issued } = stackSecrets(config);
  const ids = new Map<string, string>();
  config.secrets.forEach((secret, index) => {
    const path = `secrets[${index}]`;
    const refuse = (what: string): never => {
      throw new ConfigError(`Invalid configuration in ${configFile}: ${path}${what}`);
    };
    const { name } = secret;
    const what = issued.get(name);
    if (what !== undefined) {
      refuse(
        `.name is "${name}", ${what}: Secrets Manager cannot mint a new value, so it is renewed by putting the ` +
          "issued one (aws secretsmanager put-secret-value); remove it from secrets",
      );
    }
    const id = pascalCase(name);
    const clash = ids.get(id);
    if (clash !== undefined) {
      refuse(`.name "${name}" and "${clash}" differ only in punctuation; the stack cannot tell them apart`);
    }
    ids.set(id, name);
    rotationScheduleExpression(secret.rotation.schedule, `${path}.rotation.schedule`, configFile);
    if (signingKeys.has(name) && secret.rotation.strategy !== "api-key") {
      refuse(
        `.rotation.strategy is "${secret.rotation.strategy}", but "${name}" is a signing key the stack creates ` +
          '(64 hex digits, no database): use strategy "api-key"',
      );
    }
  });
};

/**
 * What IAM and Secrets Manager's source ARN match for a secret known only by name: Secrets Manager appends a hyphen
 * and six random characters to the name in the ARN, so `<name>-??????` is that one secret and no other.
 */
export const referencedSecretArn = (scope: Construct, name: string): string =>
  `${Stack.of(scope).formatArn({
    service: "secretsmanager",
    resource: "secret",
    resourceName: name,
    arnFormat: ArnFormat.COLON_RESOURCE_NAME,
  })}-??????`;

/** A configured secret as the stack knows it. */
interface RotatedSecret {
  config: SecretConfig;
  /** `secrets[i]`, for messages. */
  path: string;
  secret: secretsmanager.ISecret;
  /** What `secretId` parameters and IAM match: the full ARN of a secret the stack creates, else `<name>-??????`. */
  arn: string;
  /** Created by this stack (a signing key) rather than referenced by name. */
  owned: boolean;
}

/** What the capability is wired to. */
export interface SecretRotationProps {
  /** The validated switchyard.yaml: `secrets[]`. */
  config: SwitchyardConfig;
  /** Where `config` was read from, for error messages. */
  configFile: string;
  /** The function registry, for construct ids. */
  definitions: Readonly<Record<string, FunctionDefinition>>;
  /** The function registered under a name. */
  function: (name: string) => lambda.Function;
  /**
   * Secrets the stack already creates that `secrets[]` may name, by name: Switchyard's own signing keys (the GitHub
   * webhook secret, the approval link key, Alertmanager's bearer token). Their rotation is attached to the created
   * secret, with api-key only.
   */
  signingKeys: ReadonlyMap<string, secretsmanager.Secret>;
  /** The cluster access the promotion functions use too: one access entry per function role. */
  cluster: ClusterAccess;
  /** The approval gate's tables (freezes). */
  tables: ApprovalTables;
  /** Where the rotation function runs (CDK context `rotationVpcId`); none: outside any VPC. */
  network?: RotationNetwork;
}

/**
 * For each `secrets[]` entry, a rotation schedule with the rotate-secret function, invocable by Secrets Manager for
 * that secret only; the rotation function's access to exactly those secrets; the rollout functions' access to the
 * secrets' versions, the cluster and the freezes; and an alarm on the rotation function's errors (the secret-rollout
 * workflow's failed, timed-out and aborted executions are alarmed by workflows.ts, like every workflow's).
 *
 * Database secrets are referenced by name, not created: whoever creates the database creates its secret (the JSON of
 * an RDS secret: engine, host, port, dbname, username, password) before this stack deploys, or the rotation schedule
 * fails to create. Switchyard's signing keys, which the stack creates, get their schedule on the created secret.
 *
 * Secrets encrypted with the AWS managed key `aws/secretsmanager` need nothing more: its key policy lets every
 * principal of the account use it through Secrets Manager. A secret under a customer managed key needs kms:Decrypt
 * and kms:GenerateDataKey for the rotation function in that key's policy.
 *
 * The first deploy rotates each secret at once (RotateImmediatelyOnUpdate keeps CloudFormation's default): with it
 * off, Secrets Manager instead checks the setup by calling only testSecret, on an AWSPENDING version it makes for
 * the test, and rotate-secret's testSecret refuses a version that createSecret did not fill. Deploy after the
 * network and the cluster's RBAC are in place.
 *
 * @example
 * new SecretRotation(this, "SecretRotation", {
 *   config, configFile, definitions, function: (n) => fns.get(n), signingKeys,
 *   cluster: promotion.cluster, tables: approvalGate.tables,
 * });
 */
export class SecretRotation extends Construct {
  /** Each configured secret, by name: the created signing key, or a reference by name. */
  readonly secrets = new Map<string, secretsmanager.ISecret>();
  /** The rotation schedule of each configured secret, by name. */
  readonly schedules = new Map<string, secretsmanager.CfnRotationSchedule>();
  /** The rotation function's access to the secrets; none when no secret is configured. */
  readonly rotationPolicy: iam.Policy | undefined;
  readonly rotationErrors: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: SecretRotationProps) {
    super(scope, id);
    const secrets = this.referenceSecrets(props);
    for (const secret of secrets) this.secrets.set(secret.config.name, secret.secret);
    const rotator = props.function(rotationFunction);
    rotator.addEnvironment(extraCaCertsVariable, rdsCaBundlePath);
    this.rotationPolicy = this.grantRotation(rotator, secrets);
    for (const secret of secrets) this.schedule(secret, rotator, props.configFile);

    for (const [name, needs] of Object.entries(secretRotationNeeds) as [
      FunctionName,
      SecretRotationNeeds,
    ][]) {
      const fn = props.function(name);
      if (needs.plansRollout) grantPlanning(fn, secrets);
      if (needs.workloads) props.cluster.grant(props.definitions[name]!.id, fn, secretRolloutAccessGroup);
      if (needs.freezeTable) props.tables.grantFreezes(fn, needs.freezeTable);
    }
    props.cluster.describeSecretRollout(props.config.secrets.flatMap((s) => s.consumers));

    this.rotationErrors = new cloudwatch.Alarm(this, "RotationErrors", {
      alarmName: `${Stack.of(this).stackName}-${props.definitions[rotationFunction]!.id}-Errors`,
      alarmDescription:
        "A step of a secret rotation failed (Secrets Manager records RotationFailed): the secret keeps its " +
        "AWSCURRENT version, a failed single-user rotation may have left the database on the pending password. " +
        "The function's log names the secret, the step and why.",
      metric: rotator.metricErrors({
        period: Duration.minutes(alarmPeriodMinutes),
        statistic: cloudwatch.Stats.SUM,
      }),
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      datapointsToAlarm: 1,
      // Lambda reports Errors only for invocations; no rotation, no data.
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    this.outputs(props, secrets);
  }

  /** Each secret as an `ISecret`: the created one for a signing key, `Secret.fromSecretNameV2` for the rest. */
  private referenceSecrets(props: SecretRotationProps): RotatedSecret[] {
    validateRotatedSecrets(props.config, props.configFile);
    return props.config.secrets.map((config, index) => {
      const path = `secrets[${index}]`;
      const owned = props.signingKeys.get(config.name);
      if (owned) return { config, path, secret: owned, arn: owned.secretArn, owned: true };
      // Created by whoever creates the database (or the API the key belongs to), not by this stack.
      const secret = secretsmanager.Secret.fromSecretNameV2(
        this,
        `${pascalCase(config.name)}Secret`,
        config.name,
      );
      return { config, path, secret, arn: referencedSecretArn(this, config.name), owned: false };
    });
  }

  /**
   * The rotation function's own policy, which every schedule waits for (the first rotation starts when the
   * schedule is created): the four steps' actions on exactly the configured secrets, GetSecretValue on the master
   * secrets of alternating-users (named by `rotation.masterSecret`; a `masterarn` in the secret must name the same
   * one), and GetRandomPassword, which has no resource. Nothing may call secretsmanager:RotateSecret: no role of the
   * stack needs it (Secrets Manager starts scheduled rotations itself).
   */
  private grantRotation(fn: lambda.Function, secrets: readonly RotatedSecret[]): iam.Policy | undefined {
    if (secrets.length === 0) return undefined;
    const masters = [
      ...new Set(
        secrets.flatMap((s) =>
          s.config.rotation.strategy === "alternating-users" ? [s.config.rotation.masterSecret!] : [],
        ),
      ),
    ].map((name) => secrets.find((s) => s.config.name === name)?.arn ?? referencedSecretArn(this, name));
    const statements = [
      new iam.PolicyStatement({
        actions: [
          "secretsmanager:DescribeSecret",
          "secretsmanager:GetSecretValue",
          "secretsmanager:PutSecretValue",
          "secretsmanager:UpdateSecretVersionStage",
        ],
        resources: secrets.map((s) => s.arn),
      }),
      ...(masters.length > 0
        ? [new iam.PolicyStatement({ actions: ["secretsmanager:GetSecretValue"], resources: masters })]
        : []),
      new iam.PolicyStatement({ actions: ["secretsmanager:GetRandomPassword"], resources: ["*"] }),
    ];
    const policy = new iam.Policy(this, "RotationAccess", { roles: [fn.role!], statements });
    Validations.of(policy).acknowledge({
      id: "AwsSolutions-IAM5[Resource::*]",
      reason:
        "Only secretsmanager:GetRandomPassword, which generates the new passwords and keys: it touches no secret and " +
        "IAM supports no resource for it. Every action on secrets is limited to the secrets of switchyard.yaml.",
    });
    return policy;
  }

  /**
   * The schedule, and the permission for Secrets Manager to invoke the function for this secret only (source
   * account and secret ARN), which aws-cdk-lib's `RotationSchedule` grants for every secret of every account.
   */
  private schedule(secret: RotatedSecret, fn: lambda.Function, configFile: string): void {
    const id = pascalCase(secret.config.name);
    const stack = Stack.of(this);
    const permission = new lambda.CfnPermission(this, `${id}Invoke`, {
      action: "lambda:InvokeFunction",
      functionName: fn.functionArn,
      principal: "secretsmanager.amazonaws.com",
      sourceAccount: stack.account,
      sourceArn: secret.arn,
    });
    const schedule = new secretsmanager.CfnRotationSchedule(this, `${id}Rotation`, {
      // The name of a referenced secret rather than a partial ARN, which Secrets Manager would have to guess from.
      secretId: secret.owned ? secret.arn : secret.config.name,
      rotationLambdaArn: fn.functionArn,
      rotationRules: {
        scheduleExpression: rotationScheduleExpression(
          secret.config.rotation.schedule,
          `${secret.path}.rotation.schedule`,
          configFile,
        ),
      },
    });
    schedule.node.addDependency(permission);
    if (this.rotationPolicy) schedule.node.addDependency(this.rotationPolicy);
    this.schedules.set(secret.config.name, schedule);
  }

  private outputs(props: SecretRotationProps, secrets: readonly RotatedSecret[]): void {
    if (secrets.length === 0) return;
    new CfnOutput(this, "RotatedSecrets", {
      description:
        "Secrets rotated by the rotate-secret function. Database secrets are referenced by name: whoever creates " +
        "the database creates the secret (RDS secret JSON) before this stack deploys. The first deploy rotates each " +
        "secret at once.",
      value: secrets.map((s) => s.config.name).join(", "),
    });
    if (!secrets.some((s) => s.config.rotation.strategy !== "api-key")) return;
    new CfnOutput(this, "RotationNetwork", {
      description: props.network
        ? "VPC the rotation function runs in: its subnets must reach the databases and Secrets Manager (an " +
          "interface endpoint com.amazonaws.<region>.secretsmanager with private DNS, or a NAT gateway)"
        : "The rotation function runs outside any VPC and reaches only publicly accessible databases (not " +
          "recommended): deploy with CDK context rotationVpcId and rotationSubnetIds",
      value: props.network?.placement.vpc.vpcId ?? "none",
    });
  }
}

/**
 * plan-secret-rollout: DescribeSecret on the secrets it plans rollouts for (those with consumers), and
 * GetSecretValue only on those of alternating-users, whose current user name it reads; a single-user password is
 * never read.
 */
const grantPlanning = (fn: lambda.Function, secrets: readonly RotatedSecret[]): void => {
  const consumed = secrets.filter((s) => s.config.consumers.length > 0);
  if (consumed.length === 0) return;
  fn.addToRolePolicy(
    new iam.PolicyStatement({
      actions: ["secretsmanager:DescribeSecret"],
      resources: consumed.map((s) => s.arn),
    }),
  );
  const alternating = consumed.filter((s) => s.config.rotation.strategy === "alternating-users");
  if (alternating.length === 0) return;
  fn.addToRolePolicy(
    new iam.PolicyStatement({
      actions: ["secretsmanager:GetSecretValue"],
      resources: alternating.map((s) => s.arn),
    }),
  );
};
