// The Step Functions workflows of workflows/registry.ts: the ASL files as they are, with ARNs and URLs substituted.

import { join } from "node:path";
import { Duration, Stack, Validations } from "aws-cdk-lib";
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import * as iam from "aws-cdk-lib/aws-iam";
import type * as lambda from "aws-cdk-lib/aws-lambda";
import * as logs from "aws-cdk-lib/aws-logs";
import * as sfn from "aws-cdk-lib/aws-stepfunctions";
import { Construct } from "constructs";
import type { WorkflowDefinition } from "../../workflows/registry.ts";
import { nagResourceText } from "./nag-findings.ts";

/** Execution logs are the audit trail of promotions and approvals; keep them as long as function logs. */
export const workflowLogRetention = logs.RetentionDays.THREE_MONTHS;

/**
 * Log groups for vended logs under this prefix need no CloudWatch Logs resource policy entry, whose 5,120-character
 * limit otherwise caps how many state machines an account can log.
 */
const vendedLogsPrefix = "/aws/vendedlogs/states";

/** Executions are few (a handful of promotions an hour); any failure within five minutes is worth a look. */
const alarmPeriodMinutes = 5;

/**
 * A resource other than a function that an ASL placeholder stands for (`${CommitsQueueUrl}`): the value Step
 * Functions receives, and the grant that lets the state machine use it, kept together so neither comes alone.
 */
export interface WorkflowResource {
  /** What the placeholder becomes in the deployed definition (a queue URL, a bus name). */
  value: string;
  /** Lets the state machine's role do what the definition does with the resource. */
  grantTo(machine: sfn.StateMachine): void;
}

/**
 * What a workflow's AWS SDK integrations (`arn:aws:states:::aws-sdk:rds:describeDBInstances`) need, which no
 * placeholder stands for: a policy of its own on the state machine's role, so each wildcard resource it needs is
 * acknowledged with its own reason and not folded into the role's logging and tracing acknowledgement.
 */
export interface WorkflowPolicy {
  /** Construct id of the policy, unique among the workflow's policies (`DatabaseAccess`). */
  id: string;
  statements: readonly iam.PolicyStatement[];
  /** Each wildcard resource the statements name, with why nothing narrower works (for cdk-nag AwsSolutions-IAM5). */
  wildcards?: readonly (readonly [resource: string, reason: string])[];
}

/** What the workflows are built from. */
export interface WorkflowsProps {
  /** The registry, keyed by workflow name. */
  definitions: Readonly<Record<string, WorkflowDefinition>>;
  /** Repository root: ASL paths are relative to it. */
  projectRoot: string;
  /** For each workflow name, its substitution keys (`ResolveServicesFunctionArn`) and the functions they stand for. */
  substitutions: (workflow: string) => ReadonlyMap<string, lambda.IFunction>;
  /** For each workflow name, the other keys its definition uses (`CommitsQueueUrl`) and what they stand for. */
  resources: (workflow: string) => ReadonlyMap<string, WorkflowResource>;
  /** For each workflow name, what its AWS SDK integrations may do; none by default. */
  policies?: (workflow: string) => readonly WorkflowPolicy[];
}

/**
 * Every registry workflow as a STANDARD state machine: logging ALL without execution data, X-Ray tracing, a role
 * that may invoke exactly the functions its definition names, use exactly the resources it names and call what its
 * AWS SDK integrations call (`policies`), and alarms on failed, timed-out and aborted executions (no action of their
 * own: CloudWatch puts alarm state changes on the default bus, which is where the incident-escalation capability
 * takes its CloudWatch alarms from).
 *
 * Execution data stays out of the logs on purpose: inputs and outputs carry approvers' e-mail addresses, incident
 * details and secret identifiers, and the logs are readable more widely and kept longer than the execution
 * history, where the same data is available (with IAM control) for 90 days.
 *
 * @example
 * const wfs = new Workflows(this, "Workflows", { definitions: workflows, projectRoot, substitutions, resources });
 * wfs.get("promote-image").stateMachineArn;
 */
export class Workflows extends Construct {
  private readonly byName = new Map<string, sfn.StateMachine>();
  private readonly alarmsByName = new Map<string, WorkflowAlarms>();

  constructor(scope: Construct, id: string, props: WorkflowsProps) {
    super(scope, id);
    for (const [name, definition] of Object.entries(props.definitions)) {
      this.byName.set(name, this.build(name, definition, props));
    }
  }

  /** The state machine registered under `name`; an unknown name is a registry error. */
  get(name: string): sfn.StateMachine {
    const machine = this.byName.get(name);
    if (!machine) throw new Error(`No workflow "${name}" in the workflows registry`);
    return machine;
  }

  /** The alarms on the executions of workflow `name`. */
  alarms(name: string): WorkflowAlarms {
    const alarms = this.alarmsByName.get(name);
    if (!alarms) throw new Error(`No workflow "${name}" in the workflows registry`);
    return alarms;
  }

  private build(name: string, definition: WorkflowDefinition, props: WorkflowsProps): sfn.StateMachine {
    const scope = new Construct(this, definition.id);
    const logGroup = new logs.LogGroup(scope, "LogGroup", {
      logGroupName: `${vendedLogsPrefix}/${Stack.of(this).stackName}-${definition.id}`,
      retention: workflowLogRetention,
    });
    const substitutions = props.substitutions(name);
    const resources = props.resources(name);
    const machine = new sfn.StateMachine(scope, "StateMachine", {
      comment: definition.description,
      stateMachineType: sfn.StateMachineType.STANDARD,
      definitionBody: sfn.DefinitionBody.fromFile(join(props.projectRoot, definition.file)),
      definitionSubstitutions: Object.fromEntries([
        ...[...substitutions].map(([key, fn]) => [key, fn.functionArn] as const),
        ...[...resources].map(([key, resource]) => [key, resource.value] as const),
      ]),
      logs: { destination: logGroup, level: sfn.LogLevel.ALL, includeExecutionData: false },
      tracingEnabled: true,
    });
    const invoked = [...new Set([...substitutions.values()].map((fn) => fn.functionArn))];
    if (invoked.length > 0) {
      // The unqualified ARNs only: the definitions invoke `$LATEST`, so `grantInvoke`'s extra `:*` (every
      // version and alias) would grant more than is used.
      machine.addToRolePolicy(
        new iam.PolicyStatement({ actions: ["lambda:InvokeFunction"], resources: invoked }),
      );
    }
    for (const resource of resources.values()) resource.grantTo(machine);
    for (const policy of props.policies?.(name) ?? []) this.attach(scope, machine, policy);
    this.alarmsByName.set(name, this.alarmsFor(scope, definition, machine));

    const defaultPolicy = machine.role.node.tryFindChild("DefaultPolicy");
    if (defaultPolicy) {
      Validations.of(defaultPolicy).acknowledge({
        id: "AwsSolutions-IAM5[Resource::*]",
        reason:
          "Only log delivery (logs:CreateLogDelivery, GetLogDelivery, UpdateLogDelivery, DeleteLogDelivery, " +
          "ListLogDeliveries, PutResourcePolicy, DescribeResourcePolicies, DescribeLogGroups) and X-Ray " +
          "(PutTraceSegments, PutTelemetryRecords, GetSamplingRules, GetSamplingTargets) use Resource *: AWS " +
          "requires it for vended log delivery and X-Ray has no resource-level permissions. Lambda invocation and " +
          "queue sends are limited to the workflow's own functions and queues.",
      });
    }
    return machine;
  }

  /**
   * The policy on the role, and the state machine waiting for it: an execution started before it exists would fail
   * its first SDK integration with AccessDenied.
   */
  private attach(scope: Construct, machine: sfn.StateMachine, workflowPolicy: WorkflowPolicy): void {
    const policy = new iam.Policy(scope, workflowPolicy.id, {
      roles: [machine.role],
      statements: [...workflowPolicy.statements],
    });
    // On the CloudFormation resource only: the role is a child of the state machine construct, and the policy names it.
    machine.node.defaultChild!.node.addDependency(policy);
    for (const [resource, reason] of workflowPolicy.wildcards ?? []) {
      Validations.of(policy).acknowledge({
        id: `AwsSolutions-IAM5[Resource::${nagResourceText(policy, resource)}]`,
        reason,
      });
    }
  }

  private alarmsFor(
    scope: Construct,
    definition: WorkflowDefinition,
    machine: sfn.StateMachine,
  ): WorkflowAlarms {
    const options = { period: Duration.minutes(alarmPeriodMinutes), statistic: cloudwatch.Stats.SUM };
    // No alarm actions on purpose: CloudWatch puts every state change on the default bus as an "Alarm State
    // Change" event, which the incident-escalation capability consumes; an SNS topic here would page twice.
    const alarm = (metricName: string, what: string, metric: cloudwatch.IMetric) =>
      new cloudwatch.Alarm(scope, metricName, {
        alarmName: `${Stack.of(this).stackName}-${definition.id}-${metricName}`,
        alarmDescription: `An execution of the ${definition.id} workflow (${definition.description}) ${what}. Its history in Step Functions says where and why.`,
        metric,
        threshold: 0,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        datapointsToAlarm: 1,
        // Step Functions reports these metrics only when an execution ends that way.
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
    return {
      failed: alarm(
        "ExecutionsFailed",
        "failed: a Fail state, or an error no Catch handled",
        machine.metricFailed(options),
      ),
      timedOut: alarm(
        "ExecutionsTimedOut",
        "ran past its TimeoutSeconds and was stopped wherever it was",
        machine.metricTimedOut(options),
      ),
      aborted: alarm(
        "ExecutionsAborted",
        "was stopped by hand (StopExecution) and left whatever it was doing where it stopped",
        machine.metricAborted(options),
      ),
    };
  }
}

/** The alarms on a workflow's executions. */
export interface WorkflowAlarms {
  /** An execution failed (a Fail state, or an error no Catch handled). */
  failed: cloudwatch.Alarm;
  /** An execution ran past the definition's TimeoutSeconds. */
  timedOut: cloudwatch.Alarm;
  /** An execution was stopped by StopExecution: a promotion it was running may be left half done. */
  aborted: cloudwatch.Alarm;
}
