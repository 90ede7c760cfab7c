// The shared middy stack every handler is wrapped with, in Lambda and in the local runtime alike.

import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import { parser } from "@aws-lambda-powertools/parser/middleware";
import middy from "@middy/core";
import type { Context } from "aws-lambda";
import type { z } from "zod";
import { logger } from "./observability.ts";

/**
 * Wraps a handler body with context-aware logging and validation of its input at the edge.
 *
 * @example
 * export const handler = withHandlerStack(makeResolveServices(deps), resolveServicesInputSchema);
 */
export const withHandlerStack = <TSchema extends z.ZodType, TResult>(
  body: (input: z.infer<TSchema>, context: Context) => Promise<TResult>,
  schema: TSchema,
) =>
  middy(body)
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(parser({ schema }));

/**
 * Exports a Lambda handler whose dependencies are built once per cold start. Inside Lambda they are built at
 * module load (INIT), so a missing variable fails the cold start loudly; elsewhere (tests, the local runtime,
 * which import the module only for its factory) they are built on first use.
 *
 * @example
 * export const handler = coldStart(() => withHandlerStack(makeX(awsDeps()), schema));
 */
export const coldStart = <THandler extends (event: never, context: Context) => Promise<unknown>>(
  build: () => THandler,
  env: NodeJS.ProcessEnv = process.env,
): THandler => {
  let built: THandler | undefined = env.AWS_LAMBDA_FUNCTION_NAME ? build() : undefined;
  return ((event: never, context: Context) => {
    built ??= build();
    return built(event, context);
  }) as THandler;
};
