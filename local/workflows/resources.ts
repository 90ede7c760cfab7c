// Task resources: which local code a Task's `Resource` runs, and results and errors shaped like AWS's.

import { randomUUID } from "node:crypto";
import { type AwsLocation, functionArn, functionNameOf } from "./arns.ts";
import { StatesError } from "./errors.ts";

/** A local Lambda function: the (already wrapped) handler, called with the event. */
export type LocalFunction = (payload: unknown) => Promise<unknown>;

/** What a local service integration learns about the Task calling it. */
export interface IntegrationContext {
  executionArn: string;
  stateName: string;
  /** Set for `.waitForTaskToken` Tasks: the token the integration hands on to whoever completes the task. */
  taskToken?: string;
}

/** A local service integration, e.g. for `arn:aws:states:::events:putEvents`: evaluated Parameters in, result out. */
export type LocalIntegration = (parameters: unknown, ctx: IntegrationContext) => Promise<unknown>;

/** What a Task's `Resource` designates. */
export type TaskResource =
  /** `arn:aws:states:::lambda:invoke[.waitForTaskToken]`: Parameters name the function and its Payload. */
  | { kind: "lambda-invoke"; resource: string; callback: boolean }
  /** A function ARN used directly as the resource: the effective input is the event. */
  | { kind: "lambda-function"; resource: string }
  /** Any other `arn:aws:states:::<service>:<action>[.sync|.waitForTaskToken]`. */
  | { kind: "integration"; resource: string; base: string; callback: boolean };

const integrationPrefix = "arn:aws:states:::";
const callbackSuffix = ".waitForTaskToken";
const syncSuffix = /\.sync(:\d+)?$/;

/**
 * Classifies a Task resource; returns an explanation instead for resources the local runtime cannot run.
 *
 * @example
 * parseTaskResource("arn:aws:states:::events:putEvents.waitForTaskToken")
 * // { kind: "integration", base: "arn:aws:states:::events:putEvents", callback: true, ... }
 */
export const parseTaskResource = (resource: string): TaskResource | string => {
  if (resource.startsWith(integrationPrefix)) {
    const callback = resource.endsWith(callbackSuffix);
    const base = callback ? resource.slice(0, -callbackSuffix.length) : resource.replace(syncSuffix, "");
    if (base === `${integrationPrefix}lambda:invoke`) {
      return base === resource || callback
        ? { kind: "lambda-invoke", resource, callback }
        : `${resource} has no .sync variant`;
    }
    return { kind: "integration", resource, base, callback };
  }
  if (/^arn:aws:lambda:[^:]+:[^:]+:function:[^:]+(:[^:]+)?$/.test(resource)) {
    return { kind: "lambda-function", resource };
  }
  return `${resource} is not a Lambda function or a service integration (activities are not supported locally)`;
};

/** How a Task's invocation is recorded: Lambda ARNs get `LambdaFunction*` events, the rest `Task*` events. */
export const historyPrefix = (resource: TaskResource): "LambdaFunction" | "Task" =>
  resource.kind === "lambda-function" ? "LambdaFunction" : "Task";

export interface InvokeDeps {
  location: AwsLocation;
  functions: Readonly<Record<string, LocalFunction | undefined>>;
  integrations: Readonly<Record<string, LocalIntegration | undefined>>;
  clock: () => Date;
}

const lambdaStatusOk = 200;
const lambdaStatusAccepted = 202;
const lambdaStatusNoContent = 204;

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/** A result as it comes back over the wire: JSON only, `undefined` as `null`. */
const asJson = (value: unknown): unknown => {
  const text = JSON.stringify(value);
  return text === undefined ? null : JSON.parse(text);
};

/** Lambda's error document, e.g. `{"errorMessage":"…","errorType":"ConflictError","trace":[…]}`. */
const lambdaFailure = (thrown: unknown): StatesError => {
  const error = thrown instanceof Error ? thrown : new Error(String(thrown));
  const errorType = error.name || "Error";
  const trace = (error.stack ?? `${errorType}: ${error.message}`).split("\n");
  const cause = JSON.stringify({ errorMessage: error.message, errorType, trace });
  return new StatesError(errorType, cause, { thrown });
};

const functionNotFound = (deps: InvokeDeps, reference: string): StatesError => {
  const arn = reference.startsWith("arn:") ? reference : functionArn(deps.location, reference);
  return new StatesError(
    "Lambda.ResourceNotFoundException",
    `Function not found: ${arn} (Service: Lambda, Status Code: 404, Request ID: ${randomUUID()})`,
  );
};

const findFunction = (deps: InvokeDeps, reference: string): LocalFunction | undefined => {
  const name = functionNameOf(deps.location, reference);
  return name === undefined ? undefined : deps.functions[name];
};

const callFunction = async (fn: LocalFunction, payload: unknown): Promise<unknown> => {
  try {
    return asJson(await fn(asJson(payload)));
  } catch (thrown) {
    throw lambdaFailure(thrown);
  }
};

/** The response envelope of the `lambda:invoke` integration around a function's result. */
const invokeResponse = (deps: InvokeDeps, statusCode: number, payload: unknown): Record<string, unknown> => {
  const requestId = randomUUID();
  const headers: Record<string, string> = {
    "Content-Type": "application/json",
    Date: deps.clock().toUTCString(),
    "X-Amz-Executed-Version": "$LATEST",
    "x-amzn-RequestId": requestId,
  };
  return {
    ExecutedVersion: "$LATEST",
    Payload: payload,
    SdkHttpMetadata: {
      AllHttpHeaders: Object.fromEntries(Object.entries(headers).map(([name, value]) => [name, [value]])),
      HttpHeaders: headers,
      HttpStatusCode: statusCode,
    },
    SdkResponseMetadata: { RequestId: requestId },
    StatusCode: statusCode,
  };
};

const invokeLambdaIntegration = async (deps: InvokeDeps, parameters: unknown): Promise<unknown> => {
  if (!isRecord(parameters) || typeof parameters.FunctionName !== "string") {
    throw new StatesError("States.Runtime", "lambda:invoke needs Parameters with a FunctionName string", {
      terminal: true,
    });
  }
  const fn = findFunction(deps, parameters.FunctionName);
  if (!fn) throw functionNotFound(deps, parameters.FunctionName);
  const payload = parameters.Payload ?? {};
  switch (parameters.InvocationType) {
    case "DryRun":
      return invokeResponse(deps, lambdaStatusNoContent, "");
    case "Event":
      // Asynchronous invocation: Lambda accepts the event and the caller never sees the outcome.
      void callFunction(fn, payload).catch(() => {});
      return invokeResponse(deps, lambdaStatusAccepted, "");
    default:
      return invokeResponse(deps, lambdaStatusOk, await callFunction(fn, payload));
  }
};

/**
 * Runs a Task's resource locally with its evaluated Parameters (or effective input) and returns the Task
 * result. Failures are `StatesError`s named as Step Functions would name them.
 *
 * @example
 * const response = await invokeResource(deps, { kind: "lambda-invoke", resource, callback: false },
 *   { FunctionName: "switchyard-resolve-services", Payload: event }, { executionArn, stateName: "ResolveServices" });
 * response.Payload; // the function's result
 */
export const invokeResource = async (
  deps: InvokeDeps,
  resource: TaskResource,
  parameters: unknown,
  ctx: IntegrationContext,
): Promise<unknown> => {
  switch (resource.kind) {
    case "lambda-invoke":
      return invokeLambdaIntegration(deps, parameters);
    case "lambda-function": {
      const fn = findFunction(deps, resource.resource);
      if (!fn) throw functionNotFound(deps, resource.resource);
      return callFunction(fn, parameters);
    }
    case "integration": {
      const integration = deps.integrations[resource.resource] ?? deps.integrations[resource.base];
      if (!integration) {
        throw new StatesError(
          "States.Runtime",
          `No local integration for ${resource.base}: pass one in the runner's \`integrations\``,
          { terminal: true },
        );
      }
      try {
        return asJson(await integration(asJson(parameters), ctx));
      } catch (thrown) {
        if (thrown instanceof StatesError) throw thrown;
        const error = thrown instanceof Error ? thrown : new Error(String(thrown));
        throw new StatesError(error.name || "Error", error.message, { thrown });
      }
    }
  }
};
