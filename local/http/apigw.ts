// The local gateway's API Gateway emulation (HTTP API, payload 2.0): requests to its events, results to its answers.

import { randomBytes } from "node:crypto";
import type { APIGatewayProxyEventV2, Context } from "aws-lambda";
import { ConfigError } from "../../functions/core/errors.ts";
import {
  type FunctionDefinition,
  type FunctionName,
  functions,
  type HttpRoute,
} from "../../functions/registry.ts";
import { lambdaContext } from "../functions.ts";
import type { LocalLogger } from "../log.ts";
import type { LocalRequest, LocalResponse, Route } from "./server.ts";

/** HTTP APIs refuse request bodies over 10 MB; the local gateway holds to the same limit. */
export const httpApiMaxPayloadBytes = 10 * 1024 * 1024;

/** Default API id: ten lowercase letters and digits, the shape API Gateway mints. */
const localApiId = "switchyard";
const localSourceIp = "127.0.0.1";
/** API Gateway's request ids are 16 characters of base64: 11 random bytes. */
const requestIdBytes = 11;
const traceIdRandomBytes = 12;
const millisecondsPerSecond = 1_000;

/**
 * Media types whose bodies API Gateway hands over as text; everything else (including a missing content type and
 * `application/x-www-form-urlencoded`) arrives base64-encoded with `isBase64Encoded: true`. AWS documents the
 * mechanism but not the list; this is the split observed on HTTP APIs.
 */
const textMediaTypes = ["application/json", "application/xml", "application/javascript"];

const monthNames = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** Where the emulated API lives and, for tests, a fixed request id and time. */
export interface ApiGatewayContext {
  accountId: string;
  region: string;
  apiId?: string;
  /** The client's address; the local server does not expose the socket's, so it defaults to 127.0.0.1. */
  sourceIp?: string;
  requestId?: string;
  now?: Date;
}

/** A Lambda handler as API Gateway invokes it. */
export type ApiGatewayHandler = (event: APIGatewayProxyEventV2, context: Context) => Promise<unknown>;

const pad = (n: number): string => String(n).padStart(2, "0");

/** `requestContext.time`, as API Gateway writes it: `12/Mar/2020:19:03:58 +0000`. */
export const requestTime = (date: Date): string =>
  `${pad(date.getUTCDate())}/${monthNames[date.getUTCMonth()]}/${date.getUTCFullYear()}:` +
  `${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())} +0000`;

/** Whether API Gateway passes a body of this content type as text rather than base64. */
export const isTextContentType = (contentType: string | undefined): boolean => {
  const mediaType = contentType?.split(";")[0]?.trim().toLowerCase();
  if (!mediaType) return false;
  return mediaType.startsWith("text/") || textMediaTypes.includes(mediaType);
};

const traceId = (date: Date): string =>
  `Root=1-${Math.floor(date.getTime() / millisecondsPerSecond).toString(16)}-${randomBytes(traceIdRandomBytes).toString("hex")}`;

const omitEmpty = <T extends object>(key: string, value: T): Record<string, T> =>
  Object.keys(value).length === 0 ? {} : { [key]: value };

/**
 * The payload v2 event API Gateway would send for a request on `route`: lower-cased headers with repeated values
 * comma-joined, cookies moved from the `cookie` header to `cookies`, repeated query parameters comma-joined, the
 * body as text or base64 by content type, and `queryStringParameters`, `pathParameters`, `cookies` and `body`
 * left out when empty, as API Gateway leaves them out.
 *
 * @example
 * const event = toApiGatewayEvent(request, { method: "POST", path: "/webhooks/github" }, { accountId, region });
 * event.routeKey // "POST /webhooks/github"
 */
export const toApiGatewayEvent = (
  request: LocalRequest,
  route: HttpRoute,
  ctx: ApiGatewayContext,
): APIGatewayProxyEventV2 => {
  const now = ctx.now ?? new Date();
  const apiId = ctx.apiId ?? localApiId;
  const sourceIp = ctx.sourceIp ?? localSourceIp;
  const routeKey = `${route.method} ${route.path}`;

  const headers: Record<string, string> = {};
  let cookies: string[] = [];
  for (const [name, value] of Object.entries(request.headers)) {
    if (value === undefined) continue;
    const joined = Array.isArray(value) ? value.join(",") : value;
    if (name.toLowerCase() === "cookie") {
      cookies = joined
        .split(/;\s*/)
        .map((cookie) => cookie.trim())
        .filter((cookie) => cookie !== "");
      continue;
    }
    headers[name.toLowerCase()] = joined;
  }
  headers["x-forwarded-for"] = headers["x-forwarded-for"]
    ? `${headers["x-forwarded-for"]}, ${sourceIp}`
    : sourceIp;
  // The local gateway speaks plain HTTP, unlike API Gateway's HTTPS endpoint.
  headers["x-forwarded-proto"] = "http";
  headers["x-amzn-trace-id"] ??= traceId(now);

  const queryStringParameters: Record<string, string> = {};
  for (const name of new Set(request.query.keys())) {
    queryStringParameters[name] = request.query.getAll(name).join(",");
  }

  const hasBody = request.body.length > 0;
  const asText = isTextContentType(headers["content-type"]);
  const domainName = headers.host?.replace(/:\d+$/, "") || `${apiId}.execute-api.${ctx.region}.amazonaws.com`;

  return {
    version: "2.0",
    routeKey,
    rawPath: request.path,
    rawQueryString: request.query.toString(),
    ...(cookies.length > 0 && { cookies }),
    headers,
    ...omitEmpty("queryStringParameters", queryStringParameters),
    requestContext: {
      accountId: ctx.accountId,
      apiId,
      domainName,
      domainPrefix: domainName.split(".")[0] ?? domainName,
      http: {
        method: request.method,
        path: request.path,
        protocol: "HTTP/1.1",
        sourceIp,
        userAgent: headers["user-agent"] ?? "",
      },
      requestId: ctx.requestId ?? randomBytes(requestIdBytes).toString("base64"),
      routeKey,
      stage: "$default",
      time: requestTime(now),
      timeEpoch: now.getTime(),
    },
    ...omitEmpty("pathParameters", request.params),
    ...(hasBody && { body: request.body.toString(asText ? "utf8" : "base64") }),
    isBase64Encoded: hasBody && !asText,
  };
};

interface StructuredResult {
  statusCode: number;
  headers?: Record<string, unknown>;
  body?: unknown;
  isBase64Encoded?: unknown;
  cookies?: unknown;
}

const isStructured = (result: unknown): result is StructuredResult =>
  typeof result === "object" &&
  result !== null &&
  !Array.isArray(result) &&
  typeof (result as { statusCode?: unknown }).statusCode === "number";

const utf8 = new TextDecoder("utf-8", { fatal: true });

const decodeBody = (result: StructuredResult): string => {
  if (result.body === undefined || result.body === null) return "";
  const body = String(result.body);
  if (result.isBase64Encoded !== true) return body;
  try {
    return utf8.decode(Buffer.from(body, "base64"));
  } catch (cause) {
    // LocalResponse carries text only; binary answers would need the local server to send bytes.
    throw new Error("The local gateway cannot send a binary (non UTF-8) response body", { cause });
  }
};

/**
 * The answer API Gateway gives for a handler's result under payload v2: a result with a numeric `statusCode` is
 * used as is (headers, `body`, `isBase64Encoded`, each of `cookies` as a `set-cookie` header); any other value is
 * 200 with content-type application/json and the value as body (a string as is, anything else as JSON).
 *
 * @example
 * fromApiGatewayResult({ statusCode: 202, body: '{"accepted":true}' }) // { status: 202, body: '{"accepted":true}', ... }
 * fromApiGatewayResult({ pong: true }) // { status: 200, body: '{"pong":true}', headers: { "content-type": "application/json" } }
 */
export const fromApiGatewayResult = (result: unknown): LocalResponse => {
  if (!isStructured(result)) {
    return {
      status: 200,
      headers: { "content-type": "application/json" },
      body: typeof result === "string" ? result : JSON.stringify(result ?? null),
    };
  }
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(result.headers ?? {})) {
    if (value !== undefined && value !== null) headers[name.toLowerCase()] = String(value);
  }
  // Without one the local server would label a string body text/plain; API Gateway's default is JSON.
  headers["content-type"] ??= "application/json";
  const cookies = Array.isArray(result.cookies) ? result.cookies.map(String) : [];
  if (cookies.length > 0) {
    // LocalResponse types one value per header, but Node's writeHead sends each element of an array as its own
    // header line, which is what API Gateway does with `cookies`.
    headers["set-cookie"] = cookies as unknown as string;
  }
  return { status: result.statusCode, headers, body: decodeBody(result) };
};

const defaultLambdaContext = (name: FunctionName, ctx: ApiGatewayContext): Context =>
  lambdaContext(name, { region: ctx.region, account: ctx.accountId });

export interface ApiGatewayRoutesOptions extends Omit<ApiGatewayContext, "requestId" | "now"> {
  /** Where a handler that throws is reported (API Gateway answers such a call with a bare 500). */
  logger?: LocalLogger;
  /** The Lambda context of each invocation; defaults to one with the function's name and configured timeout. */
  contextFor?: (name: FunctionName) => Context;
  /** The function registry; `functions/registry.ts` unless a test passes its own. */
  registry?: Readonly<Record<string, FunctionDefinition>>;
}

/**
 * The local gateway's routes for every `http` route of the function registry, each calling its function's handler
 * with the event API Gateway would build and answering as API Gateway would. Throws `ConfigError` when a function
 * with routes has no handler, so a route can never be silently missing.
 *
 * @example
 * const routes = apiGatewayRoutes({ "start-promotion": startPromotion, ... }, { accountId, region, logger });
 * createHttpServer([...localRoutes({ bus, runner }), ...routes], logger);
 */
export const apiGatewayRoutes = (
  handlers: Partial<Record<FunctionName, ApiGatewayHandler>>,
  options: ApiGatewayRoutesOptions,
): Route[] => {
  const registry: Readonly<Record<string, FunctionDefinition>> = options.registry ?? functions;
  const contextFor = options.contextFor ?? ((name: FunctionName) => defaultLambdaContext(name, options));
  const routes: Route[] = [];
  for (const [name, definition] of Object.entries(registry)) {
    if (!definition.http) continue;
    const handler = handlers[name as FunctionName];
    if (!handler) {
      const served = definition.http.map((r) => `${r.method} ${r.path}`).join(", ");
      throw new ConfigError(
        `Function ${name} serves ${served} but the local gateway was given no handler for it`,
      );
    }
    for (const route of definition.http) {
      routes.push({
        method: route.method,
        path: route.path,
        maxBodyBytes: httpApiMaxPayloadBytes,
        handler: async (request) => {
          const event = toApiGatewayEvent(request, route, options);
          const apiRequestId = { "apigw-requestid": event.requestContext.requestId };
          let result: unknown;
          try {
            result = await handler(event, contextFor(name as FunctionName));
          } catch (error) {
            options.logger?.error(`${event.routeKey} failed in ${name}`, {
              error: error instanceof Error ? `${error.name}: ${error.message}` : "unknown",
            });
            return {
              status: 500,
              headers: { "content-type": "application/json", ...apiRequestId },
              body: JSON.stringify({ message: "Internal Server Error" }),
            };
          }
          const response = fromApiGatewayResult(result);
          return { ...response, headers: { ...response.headers, ...apiRequestId } };
        },
      });
    }
  }
  return routes;
};
