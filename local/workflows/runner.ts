// The local workflow runner: Step Functions' execution API over the ASL files of `workflows/`, offline.

import "../shims/node20.ts";
import { randomUUID } from "node:crypto";
import type { FunctionName } from "../../functions/registry.ts";
import { workflows as registeredWorkflows, type WorkflowName } from "../../workflows/registry.ts";
import type { SqliteDatabase } from "../db.ts";
import { type AwsLocation, assertExecutionName, executionArn, parseExecutionRef } from "./arns.ts";
import { CallbackRegistry, isWellFormedToken } from "./callbacks.ts";
import { type CompiledWorkflow, loadWorkflow, type WorkflowSource } from "./definition.ts";
import { prepareEngine } from "./engine.ts";
import {
  ExecutionAlreadyExists,
  ExecutionDoesNotExist,
  InvalidExecutionInput,
  InvalidOutput,
  InvalidToken,
  RunnerClosedError,
  StateMachineDoesNotExist,
  TaskDoesNotExist,
  TaskTimedOut,
  WaitTimeoutError,
} from "./errors.ts";
import { ExecutionRun, type RunnerLogger } from "./execution.ts";
import type { HistoryEvent } from "./history.ts";
import type { LocalFunction, LocalIntegration } from "./resources.ts";
import { type ExecutionRecord, type ExecutionStatus, type TokenRecord, WorkflowStore } from "./store.ts";

export interface WorkflowRunnerOptions<W extends string = WorkflowName> {
  db: SqliteDatabase;
  /** Repository root: ASL files are read relative to it. */
  rootDir: string;
  /** Local handlers (already wrapped with their middleware) by function name. */
  functions: Partial<Record<FunctionName, LocalFunction>>;
  /** Local service integrations by resource, e.g. `arn:aws:states:::events:putEvents` (without `.waitForTaskToken`). */
  integrations?: Readonly<Record<string, LocalIntegration>>;
  /** Extra `${Key}` values, e.g. `EventBusName`. */
  substitutions?: Readonly<Record<string, string>>;
  region?: string;
  account?: string;
  clock?: () => Date;
  logger?: RunnerLogger;
  /** The workflows to load; `workflows/registry.ts` by default. */
  workflows?: Readonly<Record<W, WorkflowSource>>;
}

export interface StartExecutionInput<W extends string = WorkflowName> {
  workflow: W;
  /** 1–80 characters, none of whitespace, `<>{}[]?*"#%\^|~\`$&,;:/` or control characters. A UUID by default. */
  name?: string;
  /** Any JSON value; `{}` when omitted. */
  input?: unknown;
}

export interface StartExecutionOutput {
  executionArn: string;
  startDate: Date;
}

export interface ExecutionDescription {
  executionArn: string;
  stateMachineArn: string;
  workflow: string;
  name: string;
  status: ExecutionStatus;
  startDate: Date;
  stopDate?: Date;
  input: unknown;
  output?: unknown;
  error?: string;
  cause?: string;
}

export type ExecutionListItem = Omit<ExecutionDescription, "input" | "output" | "error" | "cause">;

export interface ListExecutionsInput {
  /** A workflow name; names this runner does not load simply match nothing. */
  workflow?: string;
  status?: ExecutionStatus;
  /** At most this many, newest first (100 by default, like ListExecutions). */
  limit?: number;
}

const defaultRegion = "us-east-1";
const defaultAccount = "000000000000";
const defaultListLimit = 100;
/** Step Functions' payload quota for execution input and task output. */
const maxPayloadBytes = 256 * 1024;

const silentLogger: RunnerLogger = { info: () => {}, warn: () => {}, error: () => {} };

const toDescription = (record: ExecutionRecord): ExecutionDescription => {
  const { definitionHash: _hash, checkpoint: _checkpoint, ...description } = record;
  return description;
};

/** JSON text of a payload, or `undefined` when it is not JSON or exceeds the quota. */
const payloadText = (value: unknown): string | undefined => {
  try {
    const text = JSON.stringify(value);
    return text !== undefined && Buffer.byteLength(text) <= maxPayloadBytes ? text : undefined;
  } catch {
    return undefined;
  }
};

/**
 * Runs the Step Functions workflows of `workflows/` in process, on aws-local-stepfunctions, behind an API shaped
 * like Step Functions' own: StartExecution, DescribeExecution, ListExecutions, GetExecutionHistory,
 * SendTaskSuccess/Failure/Heartbeat and StopExecution. Executions, every transition and the task tokens are
 * kept in SQLite, so executions that were running when the process stopped continue after `resume()`.
 *
 * @example
 * const runner = new WorkflowRunner({ db, rootDir, functions: { "resolve-services": resolveServices } });
 * await runner.resume();
 * const { executionArn } = await runner.startExecution({ workflow: "promote-image", input: event });
 * const { status, output } = await runner.waitForExecution(executionArn);
 * await runner.close();
 */
export class WorkflowRunner<W extends string = WorkflowName> {
  private readonly location: AwsLocation;
  private readonly store: WorkflowStore;
  private readonly callbacks = new CallbackRegistry();
  private readonly workflows = new Map<string, CompiledWorkflow>();
  private readonly runs = new Map<string, ExecutionRun>();
  private readonly settledListeners = new Map<string, Set<() => void>>();
  private readonly clock: () => Date;
  private readonly logger: RunnerLogger;
  private readonly functions: Readonly<Record<string, LocalFunction | undefined>>;
  private readonly integrations: Readonly<Record<string, LocalIntegration | undefined>>;
  private closed = false;

  /** Loads and compiles every workflow; throws `WorkflowDefinitionError` for the first that cannot run. */
  constructor(options: WorkflowRunnerOptions<W>) {
    this.location = { region: options.region ?? defaultRegion, account: options.account ?? defaultAccount };
    this.clock = options.clock ?? (() => new Date());
    this.logger = options.logger ?? silentLogger;
    this.functions = options.functions;
    this.integrations = options.integrations ?? {};
    const sources = (options.workflows ?? registeredWorkflows) as Readonly<Record<string, WorkflowSource>>;
    for (const [name, source] of Object.entries(sources)) {
      this.workflows.set(
        name,
        loadWorkflow({
          name,
          source,
          rootDir: options.rootDir,
          location: this.location,
          substitutions: options.substitutions ?? {},
        }),
      );
    }
    this.store = new WorkflowStore(options.db);
    prepareEngine();
  }

  /**
   * StartExecution. The execution is recorded before this resolves. Like Step Functions, a name is an
   * idempotency key: the same name and input while that execution runs returns it again; a different input,
   * or an execution that has ended, throws `ExecutionAlreadyExists`.
   *
   * @example
   * await runner.startExecution({ workflow: "promote-image", name: `push-${event.id}`, input: event });
   */
  async startExecution(request: StartExecutionInput<W>): Promise<StartExecutionOutput> {
    this.assertOpen();
    const workflow = this.workflows.get(request.workflow);
    if (!workflow) throw new StateMachineDoesNotExist(request.workflow);
    const name = request.name ?? randomUUID();
    assertExecutionName(name);
    const inputText = payloadText(request.input === undefined ? {} : request.input);
    if (inputText === undefined)
      throw new InvalidExecutionInput(`not JSON, or larger than ${maxPayloadBytes} bytes`);
    const arn = executionArn(this.location, workflow.name, name);

    const existing = this.store.getExecution(arn);
    if (existing) {
      if (existing.status === "RUNNING" && JSON.stringify(existing.input) === inputText) {
        return { executionArn: arn, startDate: existing.startDate };
      }
      throw new ExecutionAlreadyExists(arn);
    }
    const record: ExecutionRecord = {
      executionArn: arn,
      stateMachineArn: workflow.stateMachineArn,
      workflow: workflow.name,
      name,
      status: "RUNNING",
      input: JSON.parse(inputText),
      startDate: this.clock(),
      definitionHash: workflow.hash,
    };
    this.store.insertExecution(record, {
      type: "ExecutionStarted",
      timestamp: record.startDate,
      input: record.input,
    });
    this.launch(workflow, record, false);
    return { executionArn: arn, startDate: record.startDate };
  }

  /**
   * DescribeExecution, by ARN or by the short id `<workflow>:<name>`.
   *
   * @example
   * const { status, output } = await runner.describeExecution("promote-image:push-42");
   */
  async describeExecution(executionRef: string): Promise<ExecutionDescription> {
    return toDescription(this.find(executionRef));
  }

  /**
   * ListExecutions, newest first.
   *
   * @example
   * const failed = await runner.listExecutions({ workflow: "promote-image", status: "FAILED", limit: 10 });
   */
  /** How many executions there are in each status, over all of them (ListExecutions pages; this counts). */
  async countExecutions(): Promise<Partial<Record<ExecutionStatus, number>>> {
    this.assertOpen();
    return this.store.countByStatus();
  }

  async listExecutions(filter: ListExecutionsInput = {}): Promise<ExecutionListItem[]> {
    this.assertOpen();
    const records = this.store.listExecutions({
      workflow: filter.workflow,
      status: filter.status,
      limit: filter.limit ?? defaultListLimit,
    });
    return records.map(({ executionArn, stateMachineArn, workflow, name, status, startDate, stopDate }) => ({
      executionArn,
      stateMachineArn,
      workflow,
      name,
      status,
      startDate,
      ...(stopDate === undefined ? {} : { stopDate }),
    }));
  }

  /**
   * GetExecutionHistory: every recorded transition, oldest first.
   *
   * @example
   * const types = (await runner.getExecutionHistory(arn)).map((event) => event.type);
   */
  async getExecutionHistory(executionRef: string): Promise<HistoryEvent[]> {
    return this.store.history(this.find(executionRef).executionArn);
  }

  /**
   * SendTaskSuccess: completes the `.waitForTaskToken` Task that was issued `token`, with `output` as its result.
   *
   * @example
   * await runner.sendTaskSuccess(token, { approved: true, approver: "alice" });
   */
  async sendTaskSuccess(token: string, output: unknown): Promise<void> {
    const pending = this.pendingToken(token);
    const outputText = payloadText(output);
    if (outputText === undefined)
      throw new InvalidOutput(`not JSON, or larger than ${maxPayloadBytes} bytes`);
    const parsed: unknown = JSON.parse(outputText);
    if (!this.store.completeToken(pending.token, "SUCCEEDED", this.clock(), { output: parsed }))
      throw new TaskTimedOut();
    this.callbacks.settle(token, { status: "SUCCEEDED", output: parsed });
  }

  /**
   * SendTaskFailure: fails the Task that was issued `token`; `error` is what its `Retry`/`Catch` match.
   *
   * @example
   * await runner.sendTaskFailure(token, "ApprovalRejected", "rejected by bob");
   */
  async sendTaskFailure(token: string, error = "", cause = ""): Promise<void> {
    const pending = this.pendingToken(token);
    if (!this.store.completeToken(pending.token, "FAILED", this.clock(), { error, cause }))
      throw new TaskTimedOut();
    this.callbacks.settle(token, { status: "FAILED", error, cause });
  }

  /**
   * SendTaskHeartbeat: restarts the `HeartbeatSeconds` clock of the Task that was issued `token`.
   *
   * @example
   * await runner.sendTaskHeartbeat(token);
   */
  async sendTaskHeartbeat(token: string): Promise<void> {
    const pending = this.pendingToken(token);
    if (!this.store.heartbeatToken(pending.token, this.clock())) throw new TaskTimedOut();
    this.callbacks.heartbeat(token);
  }

  /**
   * StopExecution: a running execution ends ABORTED with the given error and cause; an ended one is left as
   * it is.
   *
   * @example
   * await runner.stopExecution(arn, { error: "Superseded", cause: "a newer image was pushed" });
   */
  async stopExecution(
    executionRef: string,
    reason: { error?: string; cause?: string } = {},
  ): Promise<{ stopDate: Date }> {
    const record = this.find(executionRef);
    if (record.status === "RUNNING") {
      const run = this.runs.get(record.executionArn);
      if (run) {
        run.stop(reason.error, reason.cause);
      } else {
        // Not running in this process (not resumed yet): end it in the store alone.
        const stopDate = this.clock();
        this.store.finishExecution(
          record.executionArn,
          { status: "ABORTED", stopDate, error: reason.error, cause: reason.cause },
          { type: "ExecutionAborted", timestamp: stopDate, error: reason.error, cause: reason.cause },
        );
        this.notifySettled(record.executionArn);
      }
    }
    const stopped = this.find(record.executionArn);
    return { stopDate: stopped.stopDate ?? this.clock() };
  }

  /**
   * Resolves with the description of the execution once it has ended; rejects with `WaitTimeoutError` after
   * `timeoutMs` (no limit by default) and with `RunnerClosedError` if the runner closes first.
   *
   * @example
   * const { status } = await runner.waitForExecution(arn, 5_000);
   */
  async waitForExecution(executionRef: string, timeoutMs?: number): Promise<ExecutionDescription> {
    const arn = this.find(executionRef).executionArn;
    return new Promise<ExecutionDescription>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const listeners = this.settledListeners.get(arn) ?? new Set<() => void>();
      this.settledListeners.set(arn, listeners);
      const done = (): void => {
        clearTimeout(timer);
        listeners.delete(check);
        if (listeners.size === 0) this.settledListeners.delete(arn);
      };
      const check = (): void => {
        if (this.closed) {
          done();
          reject(new RunnerClosedError());
          return;
        }
        const record = this.store.getExecution(arn);
        if (record && record.status !== "RUNNING") {
          done();
          resolve(toDescription(record));
        }
      };
      listeners.add(check);
      if (timeoutMs !== undefined) {
        timer = setTimeout(() => {
          done();
          reject(new WaitTimeoutError(arn, timeoutMs));
        }, timeoutMs);
      }
      check();
    });
  }

  /**
   * Continues the executions that were RUNNING when the previous process stopped. Each restarts at the last
   * top-level state it entered, with that state's recorded input (a Map or Parallel state restarts whole).
   * A `.waitForTaskToken` Task it re-enters takes over its still-open token: the token stays valid, its
   * resource is not invoked again if it already was, and an outcome sent while the runner was down is used.
   * Other Tasks run again (at least once, as Step Functions retries do). Returns the resumed ARNs.
   *
   * @example
   * const resumed = await runner.resume();
   */
  async resume(): Promise<string[]> {
    this.assertOpen();
    const resumed: string[] = [];
    for (const record of this.store.runningExecutions()) {
      if (this.runs.has(record.executionArn)) continue;
      const workflow = this.workflows.get(record.workflow);
      if (!workflow) {
        this.logger.warn("Not resuming an execution of a workflow this runner does not load", {
          executionArn: record.executionArn,
        });
        continue;
      }
      if (workflow.hash !== record.definitionHash) {
        this.logger.warn("Resuming an execution whose definition has changed since it started", {
          executionArn: record.executionArn,
          file: workflow.file,
        });
      }
      this.logger.info("Resuming workflow execution", {
        executionArn: record.executionArn,
        state: record.checkpoint?.stateName ?? workflow.startAt,
      });
      this.launch(workflow, record, true);
      resumed.push(record.executionArn);
    }
    return resumed;
  }

  /**
   * Stops every execution running here without recording an end (they resume on the next start), commits
   * what is queued and stops writing. The database stays open; the caller owns it.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    for (const run of [...this.runs.values()]) run.detach();
    this.closed = true;
    this.store.dispose();
    for (const listeners of [...this.settledListeners.values()]) for (const check of [...listeners]) check();
  }

  private launch(workflow: CompiledWorkflow, record: ExecutionRecord, resumed: boolean): void {
    const run = new ExecutionRun(
      {
        store: this.store,
        callbacks: this.callbacks,
        invoke: {
          location: this.location,
          functions: this.functions,
          integrations: this.integrations,
          clock: this.clock,
        },
        clock: this.clock,
        logger: this.logger,
        onSettled: (arn) => {
          this.runs.delete(arn);
          this.notifySettled(arn);
        },
      },
      workflow,
      record,
      resumed,
    );
    this.runs.set(record.executionArn, run);
    run.start();
  }

  private notifySettled(executionArn: string): void {
    for (const check of [...(this.settledListeners.get(executionArn) ?? [])]) check();
  }

  private find(executionRef: string): ExecutionRecord {
    this.assertOpen();
    const arn = parseExecutionRef(this.location, executionRef);
    const record = arn === undefined ? undefined : this.store.getExecution(arn);
    if (!record) throw new ExecutionDoesNotExist(arn ?? executionRef);
    return record;
  }

  /** The token's record if SendTask* may act on it, else the error Step Functions would answer. */
  private pendingToken(token: string): TokenRecord {
    this.assertOpen();
    if (!isWellFormedToken(token)) throw new InvalidToken();
    const record = this.store.getToken(token);
    if (!record) throw new TaskDoesNotExist();
    if (record.status !== "PENDING") throw new TaskTimedOut();
    return record;
  }

  private assertOpen(): void {
    if (this.closed) throw new RunnerClosedError();
  }
}
