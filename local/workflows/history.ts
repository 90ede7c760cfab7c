// Execution history events, named like Step Functions' GetExecutionHistory, and how engine events map onto them.

import type { StateMachine } from "aws-local-stepfunctions";

/** Every history event type the runner records (a subset of Step Functions' `HistoryEventType`). */
export const historyEventTypes = [
  "ExecutionStarted",
  "ExecutionSucceeded",
  "ExecutionFailed",
  "ExecutionAborted",
  "ExecutionTimedOut",
  "TaskStateEntered",
  "TaskStateExited",
  "TaskScheduled",
  "TaskStarted",
  "TaskSubmitted",
  "TaskSucceeded",
  "TaskFailed",
  "TaskTimedOut",
  "LambdaFunctionScheduled",
  "LambdaFunctionStarted",
  "LambdaFunctionSucceeded",
  "LambdaFunctionFailed",
  "LambdaFunctionTimedOut",
  "ChoiceStateEntered",
  "ChoiceStateExited",
  "PassStateEntered",
  "PassStateExited",
  "WaitStateEntered",
  "WaitStateExited",
  "SucceedStateEntered",
  "SucceedStateExited",
  "FailStateEntered",
  "MapStateEntered",
  "MapStateExited",
  "MapStateFailed",
  "MapIterationStarted",
  "MapIterationSucceeded",
  "MapIterationFailed",
  "ParallelStateEntered",
  "ParallelStateExited",
  "ParallelStateFailed",
] as const;

export type HistoryEventType = (typeof historyEventTypes)[number];

/** One recorded transition of an execution. */
export interface HistoryEvent {
  /** 1, 2, 3… in the order the transitions happened. */
  id: number;
  type: HistoryEventType;
  timestamp: Date;
  stateName?: string;
  /** State input (`*StateEntered`), execution input (`ExecutionStarted`). */
  input?: unknown;
  /** State output (`*StateExited`), task result (`TaskSucceeded`), execution output (`ExecutionSucceeded`). */
  output?: unknown;
  error?: string;
  cause?: string;
  /** Task events: the Task's `Resource`. */
  resource?: string;
  /** `TaskScheduled`/`LambdaFunctionScheduled`: the evaluated Parameters sent to the resource. */
  parameters?: unknown;
  /** Task events: 0 for the first attempt of a Task entry, then 1, 2… for its retries. */
  retryCount?: number;
  /** `TaskScheduled`: the timeouts in force for the attempt. */
  timeoutSeconds?: number;
  heartbeatSeconds?: number;
  /** Events inside a Map iteration: the item's index. */
  mapIndex?: number;
}

/** A history event before the store numbers it. */
export type NewHistoryEvent = Omit<HistoryEvent, "id">;

/** The engine's event-log entries (its type is not exported). */
export type EngineEvent =
  ReturnType<StateMachine["run"]>["eventLogs"] extends AsyncGenerator<infer E> ? E : never;

/** A Cause as text: the engine passes on whatever an error's `cause` holds. */
export const causeText = (cause: unknown): string | undefined => {
  if (cause === undefined || cause === null) return undefined;
  if (typeof cause === "string") return cause;
  if (cause instanceof Error) return cause.message;
  return JSON.stringify(cause);
};

/**
 * The history event for an engine event, or `undefined` when Step Functions records nothing for it (Task
 * failures and retries are recorded by the runner itself, which sees each attempt; execution ends are handled
 * by the caller).
 *
 * @example
 * historyFromEngineEvent(event, new Date()) // { type: "ChoiceStateEntered", stateName: "AnyService", input: … }
 */
export const historyFromEngineEvent = (event: EngineEvent, timestamp: Date): NewHistoryEvent | undefined => {
  switch (event.type) {
    case "StateEntered":
      return {
        type: `${event.state.type}StateEntered` as HistoryEventType,
        timestamp,
        stateName: event.state.name,
        input: event.state.input,
        ...(event.index === undefined ? {} : { mapIndex: event.index }),
      };
    case "StateExited":
      return {
        type: `${event.state.type}StateExited` as HistoryEventType,
        timestamp,
        stateName: event.state.name,
        output: event.state.output,
        ...(event.index === undefined ? {} : { mapIndex: event.index }),
      };
    case "StateFailed":
      if (event.state.type !== "Map" && event.state.type !== "Parallel") return undefined;
      return {
        type: `${event.state.type}StateFailed`,
        timestamp,
        stateName: event.state.name,
        error: event.Error,
        cause: causeText(event.Cause),
      };
    case "MapIterationStarted":
    case "MapIterationSucceeded":
      return { type: event.type, timestamp, stateName: event.parentState.name, mapIndex: event.index };
    case "MapIterationFailed":
      return {
        type: event.type,
        timestamp,
        stateName: event.parentState.name,
        mapIndex: event.index,
        error: event.Error,
        cause: causeText(event.Cause),
      };
    default:
      return undefined;
  }
};
