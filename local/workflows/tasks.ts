// One Task state entry: Parameters with the full context object, Retry, timeouts, heartbeats and callbacks.

import { type CallbackRegistry, newTaskToken } from "./callbacks.ts";
import type { TaskPlan } from "./definition.ts";
import { type EngineContext, statesTimeoutError } from "./engine.ts";
import { ExecutionCancelledError, StatesError } from "./errors.ts";
import { causeText, type NewHistoryEvent } from "./history.ts";
import { historyPrefix, type InvokeDeps, invokeResource } from "./resources.ts";
import { RetryPolicy } from "./retry.ts";
import type { TokenRecord, WorkflowStore } from "./store.ts";
import { type CancelTimer, setLongTimeout, sleep } from "./timers.ts";

/** Which attempt of which Task entry is running. */
export interface TaskAttempt {
  enteredAt: Date;
  retryCount: number;
}

/** What a Task needs from the execution it runs in. */
export interface TaskHost {
  readonly executionArn: string;
  /** Aborts when the execution stops, times out or is detached by `close()`. */
  readonly signal: AbortSignal;
  /** Rejects with `ExecutionCancelledError` once `signal` aborts. */
  readonly cancelled: Promise<never>;
  readonly store: WorkflowStore;
  readonly callbacks: CallbackRegistry;
  readonly invoke: InvokeDeps;
  readonly clock: () => Date;
  isActive(): boolean;
  /** Records a history event while the execution is still running here. */
  append(event: NewHistoryEvent): void;
  /** The context object (`$$`) for this attempt's Parameters. */
  taskContext(stateName: string, attempt: TaskAttempt, token?: string): EngineContext;
  /** Remembers the attempt for `$$.State` references outside Parameters. */
  noteAttempt(stateName: string, attempt: TaskAttempt): void;
  /** In a resumed execution: the still-open token of this Task entry, if it had one before the restart. */
  adoptToken(stateName: string, input: unknown): TokenRecord | undefined;
}

const millisecondsPerSecond = 1000;

const isCallback = (plan: TaskPlan): boolean =>
  plan.resource.kind !== "lambda-function" && plan.resource.callback;

const isTimeout = (error: string): boolean =>
  error === "States.Timeout" || error === "States.HeartbeatTimeout";

/** The engine reads `isRetryable`/`isCatchable` off its own errors and ours. */
const isStepFunctionsError = (error: unknown): error is Error & { isRetryable?: boolean } =>
  error instanceof Error && "isRetryable" in error;

/** Any failure as a Step Functions error: foreign exceptions keep their name and message. */
const asStatesError = (error: unknown): Error & { isRetryable?: boolean } => {
  if (isStepFunctionsError(error)) return error;
  const thrown = error instanceof Error ? error : new Error(String(error));
  return new StatesError(thrown.name || "Error", thrown.message, { thrown });
};

/** Enforces `TimeoutSeconds` and `HeartbeatSeconds` for one attempt. */
class Watchdog {
  readonly expired: Promise<never>;
  private reject!: (error: Error) => void;
  private cancelTimeout: CancelTimer | undefined;
  private cancelHeartbeat: CancelTimer | undefined;

  constructor(
    private readonly clock: () => Date,
    timeoutAtMs: number | undefined,
    private readonly heartbeatSeconds: number | undefined,
    lastBeatAtMs: number,
  ) {
    this.expired = new Promise<never>((_, reject) => {
      this.reject = reject;
    });
    if (timeoutAtMs !== undefined) {
      this.cancelTimeout = setLongTimeout(() => {
        void statesTimeoutError("The task timed out (TimeoutSeconds elapsed)").then(this.reject, this.reject);
      }, timeoutAtMs - clock().getTime());
    }
    this.armHeartbeat(lastBeatAtMs);
  }

  beat(): void {
    this.armHeartbeat(this.clock().getTime());
  }

  dispose(): void {
    this.cancelTimeout?.();
    this.cancelHeartbeat?.();
  }

  private armHeartbeat(lastBeatAtMs: number): void {
    if (this.heartbeatSeconds === undefined) return;
    this.cancelHeartbeat?.();
    const dueAtMs = lastBeatAtMs + this.heartbeatSeconds * millisecondsPerSecond;
    this.cancelHeartbeat = setLongTimeout(
      () =>
        this.reject(
          new StatesError("States.HeartbeatTimeout", "No heartbeat within HeartbeatSeconds of the last one"),
        ),
      dueAtMs - this.clock().getTime(),
    );
  }
}

/** How often a waiting Task re-reads its token, for SendTask* calls made by another process (the CLI). */
const tokenPollIntervalMs = 1_000;

/** Wakes the waiting Task when another process completes or beats its token in the shared database. */
const watchTokenRow = (host: TaskHost, token: string, watchdog: Watchdog): (() => void) => {
  let lastBeatAtMs = host.store.getToken(token)?.lastHeartbeatAt?.getTime() ?? 0;
  const timer = setInterval(() => {
    const row = host.store.getToken(token);
    if (row?.status === "SUCCEEDED") {
      host.callbacks.settle(token, { status: "SUCCEEDED", output: row.output });
    } else if (row?.status === "FAILED") {
      host.callbacks.settle(token, { status: "FAILED", error: row.error ?? "", cause: row.cause ?? "" });
    } else if (row?.lastHeartbeatAt && row.lastHeartbeatAt.getTime() > lastBeatAtMs) {
      lastBeatAtMs = row.lastHeartbeatAt.getTime();
      watchdog.beat();
    }
  }, tokenPollIntervalMs);
  // A process with nothing else to do may exit; the token table keeps the wait.
  timer.unref();
  return () => clearInterval(timer);
};

/** `TimeoutSecondsPath`/`HeartbeatSecondsPath` must point at a positive integer. */
const secondsAt = async (
  plan: TaskPlan,
  field: "timeoutSeconds" | "heartbeatSeconds",
  input: unknown,
  context: EngineContext,
): Promise<number | undefined> => {
  const fixed = plan[field];
  const path = field === "timeoutSeconds" ? plan.timeoutSecondsPath : plan.heartbeatSecondsPath;
  if (fixed !== undefined || path === undefined) return fixed;
  const value = await path.evaluate(input, context);
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1) {
    throw new StatesError(
      "States.Runtime",
      `${field} path of state '${plan.name}' is not a positive integer`,
      {
        terminal: true,
      },
    );
  }
  return value;
};

/** The outcome of a token completed while the runner was down. */
const settledOutcome = async (token: TokenRecord): Promise<unknown> => {
  switch (token.status) {
    case "SUCCEEDED":
      return token.output;
    case "TIMED_OUT":
      throw await statesTimeoutError(token.cause ?? "The task timed out");
    default:
      throw new StatesError(token.error ?? "", token.cause ?? "");
  }
};

const runAttempt = async (
  host: TaskHost,
  plan: TaskPlan,
  input: unknown,
  attempt: TaskAttempt,
  adopted: TokenRecord | undefined,
): Promise<unknown> => {
  const { store, clock } = host;
  const token = isCallback(plan) ? (adopted?.token ?? newTaskToken()) : undefined;
  host.noteAttempt(plan.name, attempt);
  const context = host.taskContext(plan.name, attempt, token);
  const parameters = plan.parameters ? await plan.parameters.evaluate(input, context) : input;
  const timeoutSeconds = await secondsAt(plan, "timeoutSeconds", input, context);
  const heartbeatSeconds = await secondsAt(plan, "heartbeatSeconds", input, context);
  if (!host.isActive()) throw new ExecutionCancelledError();

  const prefix = historyPrefix(plan.resource);
  const about = { stateName: plan.name, resource: plan.resource.resource, retryCount: attempt.retryCount };
  const scheduledAt = adopted?.createdAt ?? clock();
  if (!adopted) {
    host.append({
      type: `${prefix}Scheduled`,
      timestamp: scheduledAt,
      ...about,
      parameters,
      timeoutSeconds,
      heartbeatSeconds,
    });
    if (token) {
      store.insertToken({
        token,
        executionArn: host.executionArn,
        stateName: plan.name,
        stateInput: input,
        retryCount: attempt.retryCount,
        createdAt: scheduledAt,
        timeoutSeconds,
        heartbeatSeconds,
      });
    }
    host.append({ type: `${prefix}Started`, timestamp: clock(), ...about });
  }

  const waiter = token ? host.callbacks.wait(token, () => watchdog.beat()) : undefined;
  // SendTask* may have settled or beaten an adopted token since it was read; the waiter now sees what follows.
  const current = adopted ? (store.getToken(adopted.token) ?? adopted) : undefined;
  const timeoutAtMs =
    timeoutSeconds === undefined ? undefined : scheduledAt.getTime() + timeoutSeconds * millisecondsPerSecond;
  const lastBeatAtMs = (current?.lastHeartbeatAt ?? scheduledAt).getTime();
  const watchdog = new Watchdog(clock, timeoutAtMs, token ? heartbeatSeconds : undefined, lastBeatAtMs);
  const ctx = {
    executionArn: host.executionArn,
    stateName: plan.name,
    ...(token ? { taskToken: token } : {}),
  };

  let attemptOver = false;
  let stopWatching: (() => void) | undefined;
  const work = async (): Promise<unknown> => {
    if (!token || !waiter) return invokeResource(host.invoke, plan.resource, parameters, ctx);
    if (current && current.status !== "PENDING") return settledOutcome(current);
    if (!current?.invokedAt) {
      const response = await invokeResource(host.invoke, plan.resource, parameters, ctx);
      // The attempt may have timed out, or the execution ended, while the resource ran.
      if (attemptOver || !host.isActive()) throw new ExecutionCancelledError();
      store.markTokenInvoked(token, clock());
      host.append({ type: "TaskSubmitted", timestamp: clock(), ...about, output: response });
    }
    stopWatching = watchTokenRow(host, token, watchdog);
    const outcome = await waiter.outcome;
    if (outcome.status === "FAILED") throw new StatesError(outcome.error, outcome.cause);
    return outcome.output;
  };

  try {
    const result = await Promise.race([work(), watchdog.expired, host.cancelled]);
    if (!host.isActive()) throw new ExecutionCancelledError();
    host.append({ type: `${prefix}Succeeded`, timestamp: clock(), ...about, output: result });
    if (token) store.consumeToken(token, clock());
    return result;
  } catch (error) {
    if (error instanceof ExecutionCancelledError || !host.isActive()) throw new ExecutionCancelledError();
    const failure = asStatesError(error);
    const timedOut = isTimeout(failure.name);
    if (token) {
      store.completeToken(token, timedOut ? "TIMED_OUT" : "CLOSED", clock(), { error: failure.name });
      store.consumeToken(token, clock());
    }
    host.append({
      type: timedOut ? `${prefix}TimedOut` : `${prefix}Failed`,
      timestamp: clock(),
      ...about,
      error: failure.name,
      cause: causeText((failure as { cause?: unknown }).cause) ?? failure.message,
    });
    throw failure;
  } finally {
    attemptOver = true;
    watchdog.dispose();
    waiter?.release();
    stopWatching?.();
  }
};

/**
 * Runs one entry into a Task state, retrying it as its `Retry` field says, and returns the Task result (which
 * the engine then passes through ResultSelector, ResultPath and OutputPath). The error thrown after the last
 * attempt is what the engine's `Catch` sees.
 *
 * @example
 * const handler = (input: unknown) => runTaskEntry(run, plan, input, clock());
 */
export const runTaskEntry = async (
  host: TaskHost,
  plan: TaskPlan,
  input: unknown,
  enteredAt: Date,
): Promise<unknown> => {
  const policy = new RetryPolicy(plan.retriers);
  let adopted = isCallback(plan) ? host.adoptToken(plan.name, input) : undefined;
  let retryCount = adopted?.retryCount ?? 0;
  for (;;) {
    try {
      return await runAttempt(host, plan, input, { enteredAt, retryCount }, adopted);
    } catch (error) {
      if (error instanceof ExecutionCancelledError) throw error;
      const retryable = !isStepFunctionsError(error) || error.isRetryable !== false;
      const delayMs = retryable
        ? policy.nextDelayMs(error instanceof Error ? error.name : "Error")
        : undefined;
      if (delayMs === undefined) throw error;
      await sleep(delayMs, host.signal);
      adopted = undefined;
      retryCount += 1;
    }
  }
};
