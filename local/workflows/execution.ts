// One execution running in this process: drives the engine, records its transitions, ends it exactly once.

import type { CallbackRegistry } from "./callbacks.ts";
import { executionContextKey, stateContextKey } from "./context-paths.ts";
import type { CompiledWorkflow, TaskPlan } from "./definition.ts";
import type { EngineContext, EngineJson, EngineTaskHandler } from "./engine.ts";
import {
  causeText,
  type EngineEvent,
  type HistoryEventType,
  historyFromEngineEvent,
  type NewHistoryEvent,
} from "./history.ts";
import type { InvokeDeps } from "./resources.ts";
import type { ExecutionOutcome, ExecutionRecord, TokenRecord, WorkflowStore } from "./store.ts";
import { runTaskEntry, type TaskAttempt, type TaskHost } from "./tasks.ts";
import { type CancelTimer, nextTurn, setLongTimeout, whenAborted } from "./timers.ts";

/** Where the runner's diagnostics go; Powertools' Logger fits. */
export interface RunnerLogger {
  debug?(message: string, extra?: Record<string, unknown>): void;
  info(message: string, extra?: Record<string, unknown>): void;
  warn(message: string, extra?: Record<string, unknown>): void;
  error(message: string, extra?: Record<string, unknown>): void;
}

/** What every execution shares with the runner. */
export interface ExecutionServices {
  store: WorkflowStore;
  callbacks: CallbackRegistry;
  invoke: InvokeDeps;
  clock: () => Date;
  logger: RunnerLogger;
  /** Called once the execution has ended (or was detached) in this process. */
  onSettled: (executionArn: string) => void;
}

const millisecondsPerSecond = 1000;

/** What ended an execution, as recorded in its closing history event. */
type Ending = Omit<ExecutionOutcome, "stopDate"> & { event: HistoryEventType };

/**
 * The life of one execution in this process. A fresh execution runs the workflow's shared machine; a resumed
 * one runs a copy that starts at its checkpoint (the last top-level state it entered) with that state's
 * recorded input. `running` until it ends or `close()` detaches it, and it writes nothing afterwards.
 *
 * @example
 * const run = new ExecutionRun(services, workflow, record, false);
 * run.start();
 * run.stop("Superseded", "a newer image was pushed");
 */
export class ExecutionRun implements TaskHost {
  readonly executionArn: string;
  readonly signal: AbortSignal;
  readonly cancelled: Promise<never>;
  readonly store: WorkflowStore;
  readonly callbacks: CallbackRegistry;
  readonly invoke: InvokeDeps;
  readonly clock: () => Date;

  private readonly controller = new AbortController();
  private phase: "running" | "ended" | "detached" = "running";
  private abortEngine: (() => void) | undefined;
  private cancelTimeout: CancelTimer | undefined;
  /** The checkpointed state a resumed run re-enters: its entry is already recorded, with its entry time. */
  private resumedEntry:
    | { stateName: string; enteredAt: Date; recorded: boolean; taskSeen: boolean }
    | undefined;
  private readonly adoptedTokens = new Set<string>();
  private readonly lastAttempts = new Map<string, TaskAttempt>();
  /** Entry times taken by Task handlers, oldest first, for the StateEntered events still to be recorded. */
  private readonly taskEntries = new Map<string, Date[]>();
  private readonly executionContext: Record<string, unknown>;
  private readonly stateMachineContext: Record<string, unknown>;

  constructor(
    private readonly services: ExecutionServices,
    private readonly workflow: CompiledWorkflow,
    private readonly record: ExecutionRecord,
    private readonly resumed: boolean,
  ) {
    this.executionArn = record.executionArn;
    this.signal = this.controller.signal;
    this.cancelled = whenAborted(this.signal);
    // Nobody may be racing against it when the execution ends.
    this.cancelled.catch(() => {});
    this.store = services.store;
    this.callbacks = services.callbacks;
    this.invoke = services.invoke;
    this.clock = services.clock;
    this.executionContext = {
      Id: record.executionArn,
      Input: record.input,
      Name: record.name,
      StartTime: record.startDate.toISOString(),
      RedriveCount: 0,
    };
    this.stateMachineContext = { Id: workflow.stateMachineArn, Name: workflow.stateMachineName };
  }

  /** Starts (or resumes) the execution; its first states may run before this returns. */
  start(): void {
    const { workflow, record } = this;
    if (workflow.timeoutSeconds !== undefined) {
      const deadlineMs = record.startDate.getTime() + workflow.timeoutSeconds * millisecondsPerSecond;
      const remainingMs = deadlineMs - this.clock().getTime();
      if (remainingMs <= 0) {
        this.timeOut();
        return;
      }
      this.cancelTimeout = setLongTimeout(() => this.timeOut(), remainingMs);
    }
    const checkpoint = this.resumed ? record.checkpoint : undefined;
    if (checkpoint && !workflow.topLevelStates.has(checkpoint.stateName)) {
      this.end({
        status: "FAILED",
        event: "ExecutionFailed",
        error: "States.Runtime",
        cause: `Cannot resume: state '${checkpoint.stateName}' is no longer in ${workflow.file}`,
      });
      return;
    }
    if (checkpoint) this.resumedEntry = { ...checkpoint, recorded: false, taskSeen: false };
    const machine = checkpoint ? workflow.machineFrom(checkpoint.stateName) : workflow.machine;
    const input = checkpoint ? checkpoint.input : record.input;
    const run = machine.run(input as EngineJson, {
      overrides: { taskResourceLocalHandlers: this.taskHandlers() },
      context: this.runContext(),
      noThrowOnAbort: true,
    });
    this.abortEngine = run.abort;
    // The outcome is read from the event log, which also carries every transition before it.
    run.result.catch(() => {});
    void this.consume(run.eventLogs);
  }

  isActive(): boolean {
    return this.phase === "running";
  }

  append(event: NewHistoryEvent): void {
    if (this.isActive()) this.store.append(this.executionArn, event);
  }

  /** StopExecution: ends the execution ABORTED. */
  stop(error?: string, cause?: string): void {
    this.end({ status: "ABORTED", event: "ExecutionAborted", error, cause });
  }

  /** Stops running here without recording an end, so that the execution resumes on the next start. */
  detach(): void {
    if (this.phase !== "running") return;
    this.phase = "detached";
    this.halt();
    this.services.onSettled(this.executionArn);
  }

  taskContext(stateName: string, attempt: TaskAttempt, token?: string): EngineContext {
    return {
      [executionContextKey]: this.executionContext,
      StateMachine: this.stateMachineContext,
      State: {
        EnteredTime: attempt.enteredAt.toISOString(),
        Name: stateName,
        RetryCount: attempt.retryCount,
      },
      ...(token === undefined ? {} : { Task: { Token: token } }),
    };
  }

  noteAttempt(stateName: string, attempt: TaskAttempt): void {
    this.lastAttempts.set(stateName, attempt);
  }

  adoptToken(stateName: string, input: unknown): TokenRecord | undefined {
    if (!this.resumed) return undefined;
    const wanted = JSON.stringify(input);
    const token = this.store
      .adoptableTokens(this.executionArn, stateName)
      .find(
        (candidate) =>
          !this.adoptedTokens.has(candidate.token) && JSON.stringify(candidate.stateInput) === wanted,
      );
    if (token) this.adoptedTokens.add(token.token);
    return token;
  }

  private taskHandlers(): Record<string, EngineTaskHandler> {
    return Object.fromEntries(
      [...this.workflow.tasks.values()].map((plan) => [
        plan.name,
        (input: EngineJson) => this.runTask(plan, input),
      ]),
    );
  }

  private async runTask(plan: TaskPlan, input: unknown): Promise<EngineJson> {
    // The engine calls a Task handler in the same tick it enters the state, so this is the entry time.
    let enteredAt = this.clock();
    const resumedEntry = this.resumedEntry;
    if (resumedEntry?.stateName === plan.name && !resumedEntry.taskSeen) {
      resumedEntry.taskSeen = true;
      enteredAt = resumedEntry.enteredAt;
    } else {
      // The TaskStateEntered event then carries the same time as `$$.State.EnteredTime`.
      const entries = this.taskEntries.get(plan.name) ?? [];
      entries.push(enteredAt);
      this.taskEntries.set(plan.name, entries);
    }
    // Let the engine's queued transitions (this state's entry among them) be recorded before the task's own.
    await nextTurn();
    return (await runTaskEntry(this, plan, input, enteredAt)) as EngineJson;
  }

  /** The context object of the engine run: real Execution and StateMachine, one `State` per state index. */
  private runContext(): EngineContext {
    const clock = this.clock;
    const lastAttempts = this.lastAttempts;
    const states = this.workflow.stateNames.map((name) => ({
      Name: name,
      get EnteredTime(): string {
        // Non-Task states evaluate their paths in the tick they are entered.
        return (lastAttempts.get(name)?.enteredAt ?? clock()).toISOString();
      },
      get RetryCount(): number {
        return lastAttempts.get(name)?.retryCount ?? 0;
      },
    }));
    return {
      [executionContextKey]: this.executionContext,
      StateMachine: this.stateMachineContext,
      [stateContextKey]: states,
    };
  }

  private async consume(events: AsyncGenerator<EngineEvent>): Promise<void> {
    try {
      for await (const event of events) {
        if (!this.isActive()) return;
        this.recordEvent(event);
      }
    } catch (error) {
      this.services.logger.error("Recording a workflow transition failed", {
        executionArn: this.executionArn,
        error: error instanceof Error ? error.message : String(error),
      });
    }
  }

  private recordEvent(event: EngineEvent): void {
    let now = this.clock();
    switch (event.type) {
      case "ExecutionSucceeded":
        this.end({ status: "SUCCEEDED", event: "ExecutionSucceeded", output: event.output });
        return;
      case "ExecutionFailed":
        this.end({
          status: "FAILED",
          event: "ExecutionFailed",
          error: event.Error,
          cause: causeText(event.Cause),
        });
        return;
      case "StateEntered": {
        const { name, input, type } = event.state;
        const topLevel = this.workflow.topLevelStates.has(name);
        const resumedEntry = this.resumedEntry;
        if (topLevel && resumedEntry?.stateName === name && !resumedEntry.recorded) {
          // Recorded before the restart, with the checkpoint this run started from.
          resumedEntry.recorded = true;
          return;
        }
        if (type === "Task") now = this.taskEntries.get(name)?.shift() ?? now;
        if (topLevel) this.store.checkpoint(this.executionArn, name, input, now);
        break;
      }
    }
    const history = historyFromEngineEvent(event, now);
    if (history) this.append(history);
  }

  private timeOut(): void {
    this.end({
      status: "TIMED_OUT",
      event: "ExecutionTimedOut",
      error: "States.Timeout",
      cause: `The execution ran longer than the definition's TimeoutSeconds (${this.workflow.timeoutSeconds} s)`,
    });
  }

  private end(ending: Ending): void {
    if (this.phase !== "running") return;
    this.phase = "ended";
    const { event, ...outcome } = ending;
    const stopDate = this.clock();
    this.halt();
    this.store.finishExecution(
      this.executionArn,
      { ...outcome, stopDate },
      {
        type: event,
        timestamp: stopDate,
        ...(outcome.output === undefined ? {} : { output: outcome.output }),
        ...(outcome.error === undefined ? {} : { error: outcome.error }),
        ...(outcome.cause === undefined ? {} : { cause: outcome.cause }),
      },
    );
    const log = outcome.status === "FAILED" || outcome.status === "TIMED_OUT" ? "warn" : "info";
    this.services.logger[log]("Workflow execution ended", {
      executionArn: this.executionArn,
      status: outcome.status,
      ...(outcome.error === undefined ? {} : { error: outcome.error }),
    });
    this.services.onSettled(this.executionArn);
  }

  /** Stops timers, wakes waiting Tasks (they record nothing) and aborts the engine run. */
  private halt(): void {
    this.cancelTimeout?.();
    this.controller.abort();
    this.abortEngine?.();
  }
}
