// Step Functions service integrations the local runner maps, and the extra ASL substitutions it provides.

import { type QueueName, queues, queueUrlKey } from "../functions/registry.ts";
import type { LocalEventBus } from "./bus/event-bus.ts";
import type { LocalFifoQueue } from "./queue/fifo-queue.ts";
import type { IntegrationContext, LocalIntegration } from "./workflows/index.ts";

const putEventsResource = "arn:aws:states:::events:putEvents";
const sendMessageResource = "arn:aws:states:::sqs:sendMessage";

/** `${Key}` names a workflow can use besides function ARNs; infra provides the same keys. */
export const substitutionKeys: readonly string[] = [
  "EventBusName",
  ...(Object.keys(queues) as QueueName[]).map(queueUrlKey),
];

/** The values of those keys in the local runtime. */
export const localSubstitutions = (
  queueUrls: Readonly<Record<QueueName, string>>,
): Record<string, string> => ({
  EventBusName: "switchyard",
  ...Object.fromEntries(
    (Object.keys(queues) as QueueName[]).map((name) => [queueUrlKey(name), queueUrls[name]]),
  ),
});

/** The integration resources mapped locally (the ASL lint accepts exactly these). */
export const localIntegrationResources: ReadonlySet<string> = new Set([
  putEventsResource,
  sendMessageResource,
]);

/** A Task failure named like the AWS integration's, so `Retry`/`Catch` behave the same. */
class IntegrationError extends Error {
  constructor(name: string, message: string) {
    super(message);
    this.name = name;
  }
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/**
 * `events:putEvents` as Step Functions' optimized integration: `Detail` may be an object (it is serialised),
 * the execution and state machine ARNs are appended to each entry's `Resources`, and a non-zero
 * `FailedEntryCount` fails the Task with `EventBridge.FailedEntry`.
 */
const putEvents =
  (bus: () => LocalEventBus): LocalIntegration =>
  async (parameters: unknown, ctx: IntegrationContext) => {
    const entries =
      isRecord(parameters) && Array.isArray(parameters.Entries) ? parameters.Entries : undefined;
    if (!entries)
      throw new IntegrationError("States.Runtime", "events:putEvents needs Parameters.Entries (an array)");
    const stateMachineArn = ctx.executionArn.replace(/:execution:([^:]+):[^:]+$/, ":stateMachine:$1");
    const request = {
      Entries: entries.map((entry) =>
        isRecord(entry)
          ? {
              ...entry,
              Detail: typeof entry.Detail === "string" ? entry.Detail : JSON.stringify(entry.Detail ?? {}),
              Resources: [
                ...(Array.isArray(entry.Resources) ? entry.Resources : []),
                ctx.executionArn,
                stateMachineArn,
              ],
            }
          : entry,
      ),
    };
    const response = bus().putEvents(request);
    if (response.FailedEntryCount > 0) {
      const first = response.Entries.find((e) => e.ErrorCode);
      throw new IntegrationError("EventBridge.FailedEntry", `${first?.ErrorCode}: ${first?.ErrorMessage}`);
    }
    return response;
  };

/**
 * `sqs:sendMessage` as Step Functions' optimized integration: `MessageBody` may be JSON (it is serialised); FIFO
 * queues need `MessageGroupId`. With `.waitForTaskToken` the body carries the token to the consumer.
 */
const sendMessage =
  (queuesByUrl: () => ReadonlyMap<string, LocalFifoQueue>): LocalIntegration =>
  async (parameters: unknown) => {
    if (!isRecord(parameters) || typeof parameters.QueueUrl !== "string") {
      throw new IntegrationError("States.Runtime", "sqs:sendMessage needs Parameters.QueueUrl");
    }
    const queue = queuesByUrl().get(parameters.QueueUrl);
    if (!queue) {
      throw new IntegrationError(
        "SQS.QueueDoesNotExistException",
        `The queue ${parameters.QueueUrl} does not exist`,
      );
    }
    if (typeof parameters.MessageGroupId !== "string" || parameters.MessageGroupId === "") {
      throw new IntegrationError(
        "SQS.SqsException",
        "The request must contain the parameter MessageGroupId.",
      );
    }
    const body =
      typeof parameters.MessageBody === "string"
        ? parameters.MessageBody
        : JSON.stringify(parameters.MessageBody);
    return queue.send({
      body,
      groupId: parameters.MessageGroupId,
      ...(typeof parameters.MessageDeduplicationId === "string"
        ? { deduplicationId: parameters.MessageDeduplicationId }
        : {}),
    });
  };

/**
 * The integrations for a runner; the bus and queues are read lazily because they are built after the runner.
 *
 * @example
 * new WorkflowRunner({ ..., integrations: localIntegrations({ bus: () => bus, queues: () => queuesByUrl }) });
 */
export const localIntegrations = (targets: {
  bus: () => LocalEventBus;
  queues: () => ReadonlyMap<string, LocalFifoQueue>;
}): Record<string, LocalIntegration> => ({
  [putEventsResource]: putEvents(targets.bus),
  [sendMessageResource]: sendMessage(targets.queues),
});
