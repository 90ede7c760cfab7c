// The middy stack of HTTP API handlers: request parsing and validation at the edge, JSON answers, errors as statuses.

import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import middy, { type MiddlewareObj } from "@middy/core";
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from "aws-lambda";
import type { z } from "zod";
import { ValidationError } from "../core/errors.ts";
import { formatPath } from "./config.ts";
import { logger } from "./observability.ts";

/**
 * A request as a handler body sees it: body, query and path parameters already validated by their schemas,
 * header names lower-cased (as API Gateway passes them), and the raw body for signature checks.
 */
export interface HttpRequest<
  TBody = undefined,
  TQuery = Record<string, string>,
  TPath = Record<string, string>,
> {
  body: TBody;
  query: TQuery;
  path: TPath;
  headers: Readonly<Record<string, string>>;
  /** The body's bytes exactly as the client sent them (base64-decoded when API Gateway encoded them). */
  rawBody: Buffer;
  /** API Gateway's request id (`requestContext.requestId`), also the `apigw-requestid` header the client got. */
  requestId: string;
  /** The route that matched, e.g. `GET /promotions/{id}`. */
  routeKey: string;
  event: APIGatewayProxyEventV2;
}

/** What a handler body answers; the stack serialises `body` as JSON. */
export interface HttpResult<TBody = unknown> {
  statusCode: number;
  body?: TBody;
  headers?: Record<string, string>;
}

/** Schemas for the parts of a request a handler reads; a part without one is passed through unvalidated. */
export interface HttpSchemas {
  /** The JSON body. Without it the body is not parsed (`rawBody` still carries it). */
  body?: z.ZodType;
  query?: z.ZodType;
  path?: z.ZodType;
}

type Parsed<TSchema, TFallback> = TSchema extends z.ZodType ? z.output<TSchema> : TFallback;

/** The request type a body gets for a set of schemas. */
export type HttpRequestFor<TSchemas extends HttpSchemas> = HttpRequest<
  Parsed<TSchemas["body"], undefined>,
  Parsed<TSchemas["query"], Record<string, string>>,
  Parsed<TSchemas["path"], Record<string, string>>
>;

/** An error answer's JSON body, the shape the local gateway's own routes use too. */
export interface ErrorBody {
  error: string;
  message: string;
}

/** Errors whose message is written for the client, by `name` so a copy from another bundle maps the same. */
const clientErrors: Readonly<Record<string, { statusCode: number; code: string }>> = {
  ValidationError: { statusCode: 400, code: "ValidationError" },
  ParseError: { statusCode: 400, code: "ValidationError" },
  UnauthorizedError: { statusCode: 401, code: "Unauthorized" },
  ForbiddenError: { statusCode: 403, code: "Forbidden" },
  NotFoundError: { statusCode: 404, code: "NotFound" },
  ConflictError: { statusCode: 409, code: "Conflict" },
  GoneError: { statusCode: 410, code: "Gone" },
  PayloadTooLargeError: { statusCode: 413, code: "PayloadTooLarge" },
};

const jsonContentType = "application/json";

/** A body answered as a rendered page rather than serialised as JSON. */
const isHtml = (headers: Record<string, string> | undefined): boolean =>
  Object.entries(headers ?? {}).some(
    ([name, value]) => name.toLowerCase() === "content-type" && value.startsWith("text/html"),
  );

const jsonAnswer = (
  statusCode: number,
  body: unknown,
  headers: Record<string, string> = {},
): APIGatewayProxyStructuredResultV2 => ({
  statusCode,
  headers: { "content-type": jsonContentType, ...headers },
  ...(body !== undefined && { body: JSON.stringify(body) }),
});

/** A validation problem as zod or Standard Schema reports it. */
interface Issue {
  message: string;
  code?: string;
  keys?: readonly string[];
  path?: readonly (PropertyKey | { key: PropertyKey })[];
}

const describeIssue = (where: string, issue: Issue): string => {
  const keys = (issue.path ?? []).map((p) => (typeof p === "object" ? p.key : p));
  const separator = keys.length === 0 || typeof keys[0] === "number" ? "" : ".";
  const location = `${where}${separator}${formatPath(keys)}`;
  const text =
    issue.code === "unrecognized_keys" && issue.keys
      ? `unknown ${issue.keys.length > 1 ? "keys" : "key"} ${issue.keys.map((k) => `"${k}"`).join(", ")}`
      : issue.code === "invalid_type" && issue.message.endsWith("received undefined")
        ? `required; ${issue.message.replace(/^Invalid input: /, "").replace(/, received undefined$/, "")}`
        : issue.message.replace(/^Invalid input: /, "");
  return `${location}: ${text}`;
};

/**
 * One readable line for a failed validation, naming where each problem is and what was expected.
 *
 * @example describeIssues("body", error.issues) // 'body.digest: expected sha256: followed by 64 lowercase hex digits'
 */
export const describeIssues = (where: string, issues: readonly Issue[]): string =>
  issues.map((issue) => describeIssue(where, issue)).join("; ");

const validate = <TSchema extends z.ZodType>(schema: TSchema, value: unknown, where: string) => {
  const result = schema.safeParse(value);
  if (!result.success) {
    throw new ValidationError(`Invalid request ${where}: ${describeIssues(where, result.error.issues)}`, {
      cause: result.error,
    });
  }
  return result.data;
};

const lowerCased = (headers: APIGatewayProxyEventV2["headers"]): Record<string, string> =>
  Object.fromEntries(
    Object.entries(headers ?? {})
      .filter((entry): entry is [string, string] => entry[1] !== undefined)
      .map(([name, value]) => [name.toLowerCase(), value]),
  );

const definedValues = (values: Record<string, string | undefined> | undefined): Record<string, string> =>
  Object.fromEntries(
    Object.entries(values ?? {}).filter((entry): entry is [string, string] => entry[1] !== undefined),
  );

const parseJsonBody = (rawBody: Buffer): unknown => {
  if (rawBody.length === 0) throw new ValidationError("Request body is empty; expected a JSON object");
  try {
    return JSON.parse(rawBody.toString("utf8"));
  } catch (cause) {
    const detail = cause instanceof SyntaxError ? `: ${cause.message}` : "";
    throw new ValidationError(`Request body is not valid JSON${detail}`, { cause });
  }
};

/**
 * The request a body sees for an API Gateway (payload v2) event, validated by `schemas`.
 * Throws `ValidationError` naming the part, the path and what was expected.
 *
 * @example
 * const request = toHttpRequest(event, { query: z.strictObject({ limit: z.string().optional() }) });
 */
export const toHttpRequest = <TSchemas extends HttpSchemas>(
  event: APIGatewayProxyEventV2,
  schemas: TSchemas,
): HttpRequestFor<TSchemas> => {
  const rawBody =
    event.body === undefined
      ? Buffer.alloc(0)
      : Buffer.from(event.body, event.isBase64Encoded ? "base64" : "utf8");
  const query = definedValues(event.queryStringParameters);
  const path = definedValues(event.pathParameters);
  return {
    body: schemas.body ? validate(schemas.body, parseJsonBody(rawBody), "body") : undefined,
    query: schemas.query ? validate(schemas.query, query, "query") : query,
    path: schemas.path ? validate(schemas.path, path, "path") : path,
    headers: lowerCased(event.headers),
    rawBody,
    requestId: event.requestContext.requestId,
    routeKey: event.routeKey,
    event,
  } as HttpRequestFor<TSchemas>;
};

/** The issues a Powertools `ParseError` carries in its cause (zod error or Standard Schema issue list). */
const parseErrorIssues = (error: Error): readonly Issue[] | undefined => {
  const cause = error.cause as { issues?: readonly Issue[] } | readonly Issue[] | undefined;
  if (Array.isArray(cause)) return cause;
  return (cause as { issues?: readonly Issue[] } | undefined)?.issues;
};

const clientMessage = (error: Error): string => {
  if (error.name !== "ParseError") return error.message;
  const issues = parseErrorIssues(error);
  return issues ? `Invalid request: ${describeIssues("event", issues)}` : "Invalid request";
};

/**
 * Maps errors to answers at the edge: the errors of `clientErrors` to 4xx with their message, retryable ones
 * (a dependency that may recover) to a generic 503, anything else to a generic 500. 5xx details go to the log
 * with the request id, never to the client.
 */
const httpErrorMapper = (): MiddlewareObj<
  APIGatewayProxyEventV2,
  APIGatewayProxyStructuredResultV2,
  Error,
  Context
> => ({
  onError: (request) => {
    const error = request.error;
    if (!error) return;
    const requestId = request.event?.requestContext?.requestId ?? request.context.awsRequestId;
    const known = clientErrors[error.name];
    if (known) {
      const message = clientMessage(error);
      logger.info("Request refused", { statusCode: known.statusCode, code: known.code, reason: message });
      request.response = jsonAnswer(known.statusCode, { error: known.code, message } satisfies ErrorBody);
      return;
    }
    const retryable = (error as { retryable?: unknown }).retryable === true;
    logger.error("Request failed", error);
    request.response = retryable
      ? jsonAnswer(503, {
          error: "ServiceUnavailable",
          message: `The request could not be completed now; retry later (request ${requestId})`,
        } satisfies ErrorBody)
      : jsonAnswer(500, {
          error: "InternalError",
          message: `The request could not be completed (request ${requestId})`,
        } satisfies ErrorBody);
  },
});

/**
 * Wraps an HTTP API handler body (payload v2) with the shared stack: Powertools `injectLambdaContext` (never
 * logging the event, which carries signatures and credentials), the request id as correlation id, validation of
 * the JSON body, query and path parameters with zod, the body's result serialised as JSON, and the error mapper.
 *
 * @example
 * export const handler = coldStart(() =>
 *   withHttpStack(makeStartPromotion(deps), startPromotionRequest),
 * );
 * // POST /promotions {"service":"checkout"} → 400 {"error":"ValidationError","message":"Invalid request body: ..."}
 */
export const withHttpStack = <const TSchemas extends HttpSchemas = Record<never, never>>(
  body: (request: HttpRequestFor<TSchemas>, context: Context) => Promise<HttpResult>,
  schemas?: TSchemas,
) =>
  middy(
    async (event: APIGatewayProxyEventV2, context: Context): Promise<APIGatewayProxyStructuredResultV2> => {
      logger.setCorrelationId(event.requestContext.requestId);
      const result = await body(toHttpRequest(event, schemas ?? ({} as TSchemas)), context);
      if (typeof result.body === "string" && isHtml(result.headers)) {
        return { statusCode: result.statusCode, headers: result.headers, body: result.body };
      }
      return jsonAnswer(result.statusCode, result.body, result.headers);
    },
  )
    .use(injectLambdaContext(logger, { resetKeys: true, logEvent: false }))
    .use(httpErrorMapper());

/** Header a local caller names itself with; only trusted where no authorizer exists (the local runtime). */
export const userHeader = "x-switchyard-user";

/** Who made a request, when nothing identifies the caller. */
export const anonymousCaller = "anonymous";

/**
 * Who made a request: the IAM principal API Gateway's IAM authorizer verified, else (only when `trustUserHeader`,
 * i.e. locally, where no authorizer runs) the `x-switchyard-user` header, else "anonymous".
 *
 * @example requestedBy(request, { trustUserHeader: false }) // "arn:aws:iam::123456789012:user/ana"
 */
export const requestedBy = (
  request: Pick<HttpRequest<unknown, unknown, unknown>, "event" | "headers">,
  options: { trustUserHeader: boolean },
): string => {
  const context = request.event.requestContext as { authorizer?: { iam?: { userArn?: unknown } } };
  const userArn = context.authorizer?.iam?.userArn;
  if (typeof userArn === "string" && userArn !== "") return userArn;
  const header = request.headers[userHeader]?.trim();
  if (options.trustUserHeader && header) return header;
  return anonymousCaller;
};
