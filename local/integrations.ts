// Step Functions service integrations the local runner maps, and the extra ASL substitutions it provides.

import type { LocalEventBus } from "./bus/event-bus.ts";
import type { IntegrationContext, LocalIntegration } from "./workflows/index.ts";

const putEventsResource = "arn:aws:states:::events:putEvents";

/** Names a workflow can use as `${Key}` besides function ARNs; infra provides the same keys. */
export const localSubstitutions = { EventBusName: "switchyard" } as const;

/** The integration resources mapped locally (the ASL lint accepts exactly these). */
export const localIntegrationResources: ReadonlySet<string> = new Set([putEventsResource]);

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
 * The integrations for a runner; `bus` is read lazily because the bus is built after the runner.
 *
 * @example
 * new WorkflowRunner({ ..., integrations: localIntegrations(() => bus) });
 */
export const localIntegrations = (bus: () => LocalEventBus): Record<string, LocalIntegration> => ({
  [putEventsResource]: putEvents(bus),
});
