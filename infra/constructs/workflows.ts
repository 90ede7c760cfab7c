// The Step Functions workflows of workflows/registry.ts: the ASL files as they are, with function ARNs substituted.

import { join } from "node:path";
import { Stack, Validations } from "aws-cdk-lib";
import * as iam from "aws-cdk-lib/aws-iam";
import type * as lambda from "aws-cdk-lib/aws-lambda";
import * as logs from "aws-cdk-lib/aws-logs";
import * as sfn from "aws-cdk-lib/aws-stepfunctions";
import { Construct } from "constructs";
import type { WorkflowDefinition } from "../../workflows/registry.ts";

/** Execution logs are the audit trail of promotions and approvals; keep them as long as function logs. */
export const workflowLogRetention = logs.RetentionDays.THREE_MONTHS;

/**
 * Log groups for vended logs under this prefix need no CloudWatch Logs resource policy entry, whose 5,120-character
 * limit otherwise caps how many state machines an account can log.
 */
const vendedLogsPrefix = "/aws/vendedlogs/states";

/** What the workflows are built from. */
export interface WorkflowsProps {
  /** The registry, keyed by workflow name. */
  definitions: Readonly<Record<string, WorkflowDefinition>>;
  /** Repository root: ASL paths are relative to it. */
  projectRoot: string;
  /** For each workflow name, its substitution keys (`ResolveServicesFunctionArn`) and the functions they stand for. */
  substitutions: (workflow: string) => ReadonlyMap<string, lambda.IFunction>;
}

/**
 * Every registry workflow as a STANDARD state machine: logging ALL without execution data, X-Ray tracing, and a
 * role that may invoke exactly the functions its definition names.
 *
 * Execution data stays out of the logs on purpose: inputs and outputs carry approvers' e-mail addresses, incident
 * details and secret identifiers, and the logs are readable more widely and kept longer than the execution
 * history, where the same data is available (with IAM control) for 90 days.
 *
 * @example
 * const wfs = new Workflows(this, "Workflows", { definitions: workflows, projectRoot, substitutions });
 * wfs.get("promote-image").stateMachineArn;
 */
export class Workflows extends Construct {
  private readonly byName = new Map<string, sfn.StateMachine>();

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

  private build(name: string, definition: WorkflowDefinition, props: WorkflowsProps): sfn.StateMachine {
    const scope = new Construct(this, definition.id);
    const logGroup = new logs.LogGroup(scope, "LogGroup", {
      logGroupName: `${vendedLogsPrefix}/${Stack.of(this).stackName}-${definition.id}`,
      retention: workflowLogRetention,
    });
    const substitutions = props.substitutions(name);
    const machine = new sfn.StateMachine(scope, "StateMachine", {
      comment: definition.description,
      stateMachineType: sfn.StateMachineType.STANDARD,
      definitionBody: sfn.DefinitionBody.fromFile(join(props.projectRoot, definition.file)),
      definitionSubstitutions: Object.fromEntries(
        [...substitutions].map(([key, fn]) => [key, fn.functionArn] as const),
      ),
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

    const defaultPolicy = machine.role.node.tryFindChild("DefaultPolicy");
    if (defaultPolicy) {
      Validations.of(defaultPolicy).acknowledge({
        id: "AwsSolutions-IAM5[Resource::*]",
        reason:
          "Only log delivery (logs:CreateLogDelivery, GetLogDelivery, UpdateLogDelivery, DeleteLogDelivery, " +
          "ListLogDeliveries, PutResourcePolicy, DescribeResourcePolicies, DescribeLogGroups) and X-Ray " +
          "(PutTraceSegments, PutTelemetryRecords, GetSamplingRules, GetSamplingTargets) use Resource *: AWS " +
          "requires it for vended log delivery and X-Ray has no resource-level permissions. Lambda invocation is " +
          "limited to the workflow's own functions.",
      });
    }
    return machine;
  }
}
