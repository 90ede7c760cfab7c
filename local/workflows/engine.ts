// The seams into aws-local-stepfunctions: building machines, evaluating payload templates, its timeout error.

import {
  ExecutionError,
  type RunOptions,
  StateMachine,
  type StateMachineDefinition,
} from "aws-local-stepfunctions";

/** JSON as the engine types it (its own alias is not exported). */
export type EngineJson = Parameters<StateMachine["run"]>[0];

/** The context object passed to the engine (`$$`). */
export type EngineContext = NonNullable<RunOptions["context"]>;

/** A Task handler as the engine calls it: processed input in, task result out. */
export type EngineTaskHandler = (input: EngineJson) => Promise<EngineJson>;

/**
 * Timeout the engine arms on every Task: it defaults to 60 s, while Step Functions bounds a Task only by the
 * execution. The runner enforces `TimeoutSeconds` itself, so this is the largest timer Node can arm.
 */
export const engineTaskTimeoutSeconds = 2_147_483;

/** Builds a machine without validating it: the runner validated the original definition already. */
export const buildMachine = (definition: StateMachineDefinition): StateMachine =>
  new StateMachine(definition, { validationOptions: { noValidate: true } });

/** Validates an ASL definition with the engine's validator; throws its message on failure. */
export const validateDefinition = (definition: StateMachineDefinition): void => {
  new StateMachine(definition);
};

/** The engine wraps the failing state's error; callers want the error itself. */
const unwrap = (error: unknown): unknown => (error instanceof ExecutionError ? error.cause : error);

/**
 * Evaluates a JSONPath payload template (`Parameters`, or a single path) with the engine's own JSONPath and
 * intrinsic functions, against an input and a context object the runner chooses. The engine evaluates only a
 * run's own context, so a one-state Pass machine does the work.
 *
 * @example
 * const parameters = new TemplateEvaluator({ "token.$": "$$.Task.Token" });
 * await parameters.evaluate(input, { Task: { Token: token } }); // { token }
 */
export class TemplateEvaluator {
  private readonly machine: StateMachine;

  constructor(template: unknown) {
    this.machine = buildMachine({
      StartAt: "Evaluate",
      States: { Evaluate: { Type: "Pass", Parameters: template as EngineJson, End: true } },
    } as StateMachineDefinition);
  }

  async evaluate(input: unknown, context: EngineContext): Promise<unknown> {
    try {
      return await this.machine.run(input as EngineJson, { context }).result;
    } catch (error) {
      throw unwrap(error);
    }
  }
}

/** Evaluates one reference path, e.g. `TimeoutSecondsPath`. */
export class PathEvaluator {
  private readonly template: TemplateEvaluator;

  constructor(path: string) {
    this.template = new TemplateEvaluator({ "value.$": path });
  }

  async evaluate(input: unknown, context: EngineContext): Promise<unknown> {
    const { value } = (await this.template.evaluate(input, context)) as { value: unknown };
    return value;
  }
}

type ErrorClass = new () => Error;

let timeoutErrorClass: Promise<ErrorClass> | undefined;

/**
 * The engine's own `States.Timeout` error class, which it does not export. Its `States.TaskFailed` matching
 * excludes timeouts by `instanceof`, so a Task timeout raised by the runner must be of this class. It is
 * obtained once by letting the engine time out a Task after 1 ms.
 */
const engineTimeoutErrorClass = (): Promise<ErrorClass> => {
  timeoutErrorClass ??= (async () => {
    const probeTimeoutSeconds = 0.001;
    const probe = buildMachine({
      StartAt: "Probe",
      States: {
        Probe: {
          Type: "Task",
          Resource: "arn:aws:lambda:us-east-1:000000000000:function:probe",
          TimeoutSeconds: probeTimeoutSeconds,
          End: true,
        },
      },
    });
    const never = (): Promise<EngineJson> => new Promise<EngineJson>(() => {});
    try {
      await probe.run({}, { overrides: { taskResourceLocalHandlers: { Probe: never } } }).result;
    } catch (error) {
      const timeout = unwrap(error);
      if (timeout instanceof Error && timeout.name === "States.Timeout")
        return timeout.constructor as ErrorClass;
    }
    throw new Error("aws-local-stepfunctions no longer raises States.Timeout as expected");
  })();
  return timeoutErrorClass;
};

/** Obtains the timeout error class ahead of need, so no timeout ever waits for the probe. */
export const prepareEngine = (): void => {
  engineTimeoutErrorClass().catch(() => {});
};

/** A `States.Timeout` error the engine treats exactly like its own (not matched by `States.TaskFailed`). */
export const statesTimeoutError = async (cause: string): Promise<Error> => {
  const ErrorClass = await engineTimeoutErrorClass();
  const error = new ErrorClass();
  // The engine reads a caught error's Cause from `message`.
  error.message = cause;
  return error;
};
