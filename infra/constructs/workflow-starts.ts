// Which functions may start which workflows: StartExecution, reading back a repeated start, and the ARN variable.

import { ArnFormat, Stack, Validations } from "aws-cdk-lib";
import * as iam from "aws-cdk-lib/aws-iam";
import type * as lambda from "aws-cdk-lib/aws-lambda";
import type * as sfn from "aws-cdk-lib/aws-stepfunctions";
import { type EnvName, envNames } from "../../functions/wiring/env.ts";
import type { WorkflowName } from "../../workflows/registry.ts";
import { nagResourceText } from "./nag-findings.ts";

/** The variable a starting function reads each workflow's state machine ARN from (`functions/wiring/aws.ts`). */
export const stateMachineArnEnv = {
  "promote-image": envNames.promoteImageStateMachineArn,
  "production-sync": envNames.productionSyncStateMachineArn,
  "rds-snapshot": envNames.rdsSnapshotStateMachineArn,
  "restore-drill": envNames.restoreDrillStateMachineArn,
  "incident-escalation": envNames.incidentEscalationStateMachineArn,
} as const satisfies Partial<Record<WorkflowName, EnvName>>;

/** The workflows a function may start (the others are started only by rules and schedules). */
export type StartedWorkflow = keyof typeof stateMachineArnEnv;

/**
 * `states:StartExecution` on the state machine and its ARN in the environment; `states:DescribeExecution` on its
 * executions, because a start with a name already used is answered by comparing that execution's input.
 *
 * @example grantStart(fns.get("start-promotion"), "promote-image", wfs.get("promote-image"));
 */
export const grantStart = (
  fn: lambda.Function,
  workflow: StartedWorkflow,
  machine: sfn.StateMachine,
): void => {
  machine.grantStartExecution(fn);
  const executions = Stack.of(machine).formatArn({
    service: "states",
    resource: "execution",
    resourceName: `${machine.stateMachineName}:*`,
    arnFormat: ArnFormat.COLON_RESOURCE_NAME,
  });
  fn.addToRolePolicy(
    new iam.PolicyStatement({ actions: ["states:DescribeExecution"], resources: [executions] }),
  );
  fn.addEnvironment(stateMachineArnEnv[workflow], machine.stateMachineArn);

  const policy = fn.role!.node.findChild("DefaultPolicy");
  Validations.of(policy).acknowledge({
    id: `AwsSolutions-IAM5[Resource::${nagResourceText(policy, executions)}]`,
    reason:
      "Execution names are chosen at start (a promotion id, a fresh UUID, a hash of an alert's fingerprint and " +
      "start), so DescribeExecution can be scoped no narrower than the executions of the " +
      `${workflow} state machine; it is only called after StartExecution reports that the name exists.`,
  });
};
