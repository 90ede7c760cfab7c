// Errors of the local workflow runner: API errors named like Step Functions' own, definition errors, task failures.

/** Base class of every error the workflow runner throws. */
export class WorkflowRunnerError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "WorkflowRunnerError";
  }
}

/** A workflow definition cannot be loaded: unreadable file, unknown placeholder, unsupported feature, invalid ASL. */
export class WorkflowDefinitionError extends WorkflowRunnerError {
  constructor(
    readonly file: string,
    detail: string,
    options?: ErrorOptions,
  ) {
    super(`${file}: ${detail}`, options);
    this.name = "WorkflowDefinitionError";
  }
}

/** The runner was closed; it accepts no more calls. */
export class RunnerClosedError extends WorkflowRunnerError {
  constructor() {
    super("The workflow runner is closed");
    this.name = "RunnerClosedError";
  }
}

/** `waitForExecution` gave up before the execution ended. */
export class WaitTimeoutError extends WorkflowRunnerError {
  constructor(executionArn: string, timeoutMs: number) {
    super(`Execution ${executionArn} still running after ${timeoutMs} ms`);
    this.name = "WaitTimeoutError";
  }
}

// The classes below mirror Step Functions API error codes: their `name` is the code an SDK caller would see.

/** The workflow is not loaded in this runner (`StateMachineDoesNotExist`). */
export class StateMachineDoesNotExist extends WorkflowRunnerError {
  constructor(workflow: string) {
    super(`State Machine Does Not Exist: '${workflow}'`);
    this.name = "StateMachineDoesNotExist";
  }
}

/** An execution with this name exists with another input, or has already ended. */
export class ExecutionAlreadyExists extends WorkflowRunnerError {
  constructor(executionArn: string) {
    super(`Execution Already Exists: '${executionArn}'`);
    this.name = "ExecutionAlreadyExists";
  }
}

export class ExecutionDoesNotExist extends WorkflowRunnerError {
  constructor(executionArn: string) {
    super(`Execution Does Not Exist: '${executionArn}'`);
    this.name = "ExecutionDoesNotExist";
  }
}

export class InvalidName extends WorkflowRunnerError {
  constructor(name: string, reason: string) {
    super(`Invalid Name: '${name}' (${reason})`);
    this.name = "InvalidName";
  }
}

export class InvalidArn extends WorkflowRunnerError {
  constructor(arn: string) {
    super(`Invalid Arn: '${arn}'`);
    this.name = "InvalidArn";
  }
}

export class InvalidExecutionInput extends WorkflowRunnerError {
  constructor(reason: string, options?: ErrorOptions) {
    super(`Invalid Execution Input: ${reason}`, options);
    this.name = "InvalidExecutionInput";
  }
}

export class InvalidToken extends WorkflowRunnerError {
  constructor() {
    super("Invalid Token: the task token is malformed");
    this.name = "InvalidToken";
  }
}

export class TaskDoesNotExist extends WorkflowRunnerError {
  constructor() {
    super("Task Does Not Exist: no task was issued this token");
    this.name = "TaskDoesNotExist";
  }
}

/** The task behind the token timed out or has already been closed. */
export class TaskTimedOut extends WorkflowRunnerError {
  constructor() {
    super("Task Timed Out: 'Provided task does not exist anymore'");
    this.name = "TaskTimedOut";
  }
}

export class InvalidOutput extends WorkflowRunnerError {
  constructor(reason: string, options?: ErrorOptions) {
    super(`Invalid Output: ${reason}`, options);
    this.name = "InvalidOutput";
  }
}

/**
 * A failure inside an execution, as Step Functions reports it: `name` is the error that `Retry`/`Catch`
 * `ErrorEquals` match, and `message` and `cause` both hold the Cause string, because the engine reads the
 * Cause from either. The exception that produced it, if any, stays on `thrown`.
 *
 * @example
 * throw new StatesError("Lambda.ResourceNotFoundException", "Function not found: arn:aws:lambda:…");
 */
export class StatesError extends WorkflowRunnerError {
  /** Read by the engine: `States.Runtime` errors can be neither retried nor caught. */
  readonly isRetryable: boolean;
  readonly isCatchable: boolean;
  readonly thrown: unknown;

  constructor(error: string, cause: string, options: { terminal?: boolean; thrown?: unknown } = {}) {
    super(cause, { cause });
    this.name = error;
    this.isRetryable = !options.terminal;
    this.isCatchable = !options.terminal;
    this.thrown = options.thrown;
  }
}

/** Ends a task's wait when its execution stops or the runner closes; never recorded as a failure. */
export class ExecutionCancelledError extends WorkflowRunnerError {
  constructor() {
    super("The execution is no longer running in this runner");
    this.name = "ExecutionCancelledError";
  }
}
