// The local runtime's Lambda functions: the same handler factories and middleware, invoked in-process.

import { randomUUID } from "node:crypto";
import type { Context } from "aws-lambda";
import type { SwitchyardConfig } from "../functions/core/config.ts";
import { makeResolveServices, resolveServicesInputSchema } from "../functions/handlers/resolve-services.ts";
import { type FunctionName, functions } from "../functions/registry.ts";
import { withHandlerStack } from "../functions/wiring/middleware.ts";

export type LocalFunction = (payload: unknown) => Promise<unknown>;

export interface LocalFunctionDeps {
  config: SwitchyardConfig;
  region: string;
  account: string;
}

/** A Lambda context for an in-process invocation, with the function's configured timeout. */
const lambdaContext = (name: FunctionName, deps: LocalFunctionDeps): Context => {
  const functionName = `switchyard-${name}`;
  const deadline = Date.now() + functions[name].timeoutSeconds * 1000;
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: "$LATEST",
    invokedFunctionArn: `arn:aws:lambda:${deps.region}:${deps.account}:function:${functionName}`,
    memoryLimitInMB: String(functions[name].memoryMb),
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: "local",
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
};

/**
 * Every function of `functions/registry.ts`, wired with local dependencies.
 *
 * @example
 * const fns = localFunctions({ config, region, account });
 * await fns["resolve-services"]({ eventId, repository: "checkout", image: {} });
 */
export const localFunctions = (deps: LocalFunctionDeps): Record<FunctionName, LocalFunction> => {
  const handlers = {
    "resolve-services": withHandlerStack(
      makeResolveServices({ config: deps.config }),
      resolveServicesInputSchema,
    ),
  } satisfies Record<FunctionName, unknown>;
  return Object.fromEntries(
    Object.entries(handlers).map(([name, handler]) => [
      name,
      (payload: unknown) => handler(payload as never, lambdaContext(name as FunctionName, deps)),
    ]),
  ) as Record<FunctionName, LocalFunction>;
};
