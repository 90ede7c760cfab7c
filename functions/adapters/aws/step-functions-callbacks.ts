// The production WorkflowCallbacks: completes `.waitForTaskToken` tasks with SendTaskSuccess / SendTaskFailure.

import { SendTaskFailureCommand, SendTaskSuccessCommand, type SFNClient } from "@aws-sdk/client-sfn";
import type { WorkflowCallbacks } from "../../core/ports.ts";

/** SendTaskFailure's documented limits, in characters; a longer value is refused with a ValidationException. */
export const maxTaskErrorLength = 256;
export const maxTaskCauseLength = 32_768;

const truncated = (text: string, maxLength: number): string =>
  text.length <= maxLength ? text : `${text.slice(0, maxLength - 1)}…`;

/**
 * The WorkflowCallbacks port on Step Functions. The output is sent as JSON; the failure's `error` (what the
 * state's Retry/Catch match on) and `cause` are cut to the API's limits rather than refused. SDK errors
 * (TaskTimedOut, TaskDoesNotExist, InvalidToken) propagate untouched, so callers can tell a token that is gone
 * from one that failed to send.
 *
 * @example
 * const callbacks = new StepFunctionsWorkflowCallbacks(new SFNClient({}));
 * await callbacks.sendTaskSuccess(taskToken, { revision });
 */
export class StepFunctionsWorkflowCallbacks implements WorkflowCallbacks {
  constructor(private readonly client: SFNClient) {}

  async sendTaskSuccess(taskToken: string, output: unknown): Promise<void> {
    await this.client.send(new SendTaskSuccessCommand({ taskToken, output: JSON.stringify(output ?? null) }));
  }

  async sendTaskFailure(taskToken: string, error: string, cause: string): Promise<void> {
    await this.client.send(
      new SendTaskFailureCommand({
        taskToken,
        error: truncated(error, maxTaskErrorLength),
        cause: truncated(cause, maxTaskCauseLength),
      }),
    );
  }
}
