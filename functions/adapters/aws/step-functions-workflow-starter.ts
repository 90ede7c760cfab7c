// The production WorkflowStarter: Step Functions StartExecution, idempotent by execution name.

import {
  DescribeExecutionCommand,
  ExecutionAlreadyExists,
  type SFNClient,
  StartExecutionCommand,
} from "@aws-sdk/client-sfn";
import { ConfigError, ConflictError } from "../../core/errors.ts";
import type { WorkflowStarter } from "../../core/ports.ts";

export interface StepFunctionsWorkflowStarterOptions {
  client: SFNClient;
  /** Workflow name → state machine ARN, each read from its own environment variable by wiring/aws.ts. */
  stateMachineArns: Readonly<Record<string, string>>;
}

/**
 * The ARN an execution of a standard state machine gets:
 * `arn:aws:states:eu-west-1:123456789012:stateMachine:PromoteImage` + `abc` →
 * `arn:aws:states:eu-west-1:123456789012:execution:PromoteImage:abc`.
 */
export const executionArnFor = (stateMachineArn: string, name: string): string =>
  `${stateMachineArn.replace(":stateMachine:", ":execution:")}:${name}`;

/** JSON text with object keys sorted, so two serialisations of the same value compare equal. */
const canonicalJson = (text: string | undefined): string | undefined => {
  if (text === undefined) return undefined;
  const sortKeys = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(sortKeys);
    if (value !== null && typeof value === "object") {
      return Object.fromEntries(
        Object.entries(value)
          .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
          .map(([key, member]) => [key, sortKeys(member)]),
      );
    }
    return value;
  };
  try {
    return JSON.stringify(sortKeys(JSON.parse(text)));
  } catch {
    return text;
  }
};

/** By name as well as class: a bundle may carry a second copy of the SDK, whose classes `instanceof` would miss. */
const isAlreadyExists = (error: unknown): boolean =>
  error instanceof ExecutionAlreadyExists ||
  (error instanceof Error && error.name === "ExecutionAlreadyExists");

/**
 * Starts executions with StartExecution. With a `name`, a repeated start is idempotent: Step Functions itself
 * answers a running execution's name and input with that execution, and this adapter does the same for one that
 * has already ended (StartExecution's `ExecutionAlreadyExists`), after checking with DescribeExecution that the
 * input is the same. The same name with another input is a `ConflictError`. Other errors are the SDK's, untouched.
 *
 * @example
 * const starter = new StepFunctionsWorkflowStarter({ client: new SFNClient({}), stateMachineArns: { "promote-image": arn } });
 * const { executionArn } = await starter.start("promote-image", input, promotionId);
 */
export class StepFunctionsWorkflowStarter implements WorkflowStarter {
  private readonly client: SFNClient;
  private readonly stateMachineArns: Readonly<Record<string, string>>;

  constructor(options: StepFunctionsWorkflowStarterOptions) {
    this.client = options.client;
    this.stateMachineArns = options.stateMachineArns;
  }

  async start(workflow: string, input: unknown, name?: string): Promise<{ executionArn: string }> {
    const stateMachineArn = this.stateMachineArns[workflow];
    if (stateMachineArn === undefined) {
      const known = Object.keys(this.stateMachineArns).join(", ") || "none";
      throw new ConfigError(
        `No state machine ARN is configured for workflow "${workflow}"; configured: ${known}`,
      );
    }
    const serialised = JSON.stringify(input);
    try {
      const output = await this.client.send(
        new StartExecutionCommand({ stateMachineArn, input: serialised, name }),
      );
      if (output.executionArn === undefined)
        throw new Error("Step Functions StartExecution returned no executionArn");
      return { executionArn: output.executionArn };
    } catch (error) {
      if (name === undefined || !isAlreadyExists(error)) throw error;
      const executionArn = executionArnFor(stateMachineArn, name);
      const existing = await this.client.send(new DescribeExecutionCommand({ executionArn }));
      if (canonicalJson(existing.input) === canonicalJson(serialised)) return { executionArn };
      throw new ConflictError(
        `Workflow ${workflow} already has an execution named ${name}, started with a different input`,
        { cause: error },
      );
    }
  }
}
