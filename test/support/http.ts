// HTTP handlers under test: a Lambda context, the API Gateway event a request becomes, and what the function logs.

import type { APIGatewayProxyEventV2, Context } from "aws-lambda";
import { vi } from "vitest";
import type { HttpRoute } from "../../functions/registry.ts";
import { type ApiGatewayContext, toApiGatewayEvent } from "../../local/http/apigw.ts";

/** The account and region the tests' API Gateway events come from. */
export const testAccountId = "123456789012";
export const testRegion = "eu-west-1";
/** The time a handler may still run, as Lambda's context reports it. */
const remainingTimeMs = 10_000;

/**
 * A fixed Lambda context for the function named (`switchyard-incidents`): same request id, ten seconds left.
 *
 * @example
 * await handler(event, testLambdaContext("switchyard-incidents"));
 */
export const testLambdaContext = (functionName: string): Context => ({
  callbackWaitsForEmptyEventLoop: false,
  functionName,
  functionVersion: "$LATEST",
  invokedFunctionArn: `arn:aws:lambda:${testRegion}:${testAccountId}:function:${functionName}`,
  memoryLimitInMB: "256",
  awsRequestId: "0b9d1c2e-7b61-11e6-9a41-93e8deadbeef",
  logGroupName: `/aws/lambda/${functionName}`,
  logStreamName: "test",
  getRemainingTimeInMillis: () => remainingTimeMs,
  done: () => undefined,
  fail: () => undefined,
  succeed: () => undefined,
});

export interface HttpRequest {
  /** The route the request matched; its path is the request's too unless `path` says otherwise. */
  route: Pick<HttpRoute, "method" | "path">;
  /** The path as requested, with its parameters filled in. */
  path?: string;
  params?: Record<string, string>;
  query?: string | Record<string, string>;
  /** Exactly the headers sent: none are added. */
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** What API Gateway's IAM authorizer passes for a signed request. */
  iam?: { userArn: string; accountId?: string };
  /** API Gateway's side: a fixed time or request id. */
  gateway?: Partial<ApiGatewayContext>;
}

/**
 * The payload 2.0 event API Gateway hands the function for `request`, as the local gateway builds it.
 *
 * @example
 * apiGatewayEvent({ route: { method: "GET", path: "/incidents" }, query: { status: "open" } });
 */
export const apiGatewayEvent = (request: HttpRequest): APIGatewayProxyEventV2 => {
  const body =
    typeof request.body === "string" ? Buffer.from(request.body) : (request.body ?? Buffer.alloc(0));
  const event = toApiGatewayEvent(
    {
      method: request.route.method,
      path: request.path ?? request.route.path,
      params: request.params ?? {},
      query: new URLSearchParams(request.query ?? ""),
      headers: request.headers ?? {},
      body,
      json: () => JSON.parse(body.toString("utf8")),
    },
    request.route,
    { accountId: testAccountId, region: testRegion, ...request.gateway },
  );
  if (request.iam === undefined) return event;
  return {
    ...event,
    requestContext: { ...event.requestContext, authorizer: { iam: request.iam } },
  } as APIGatewayProxyEventV2;
};

/** A way of naming the caller: what the request carries, whether the header is trusted, and who it names. */
export type RequesterCase = [
  name: string,
  request: { iamUserArn?: string; headers?: Record<string, string> },
  trustUserHeader: boolean,
  requestedBy: string,
];

/**
 * The requester an HTTP handler that starts work names, for `it.each`: the IAM principal wins, the x-switchyard-user
 * header counts only where trusted, and anyone else is anonymous.
 *
 * @example
 * it.each(requesterCases(userArn))("names as requester %s", async (_, request, trustUserHeader, requestedBy) => {...});
 */
export const requesterCases = (userArn: string): RequesterCase[] => [
  [
    "the IAM principal, whatever the header says",
    { iamUserArn: userArn, headers: { "x-switchyard-user": "mallory" } },
    true,
    userArn,
  ],
  [
    "x-switchyard-user where no authorizer runs (locally)",
    { headers: { "x-switchyard-user": "ana" } },
    true,
    "ana",
  ],
  [
    "anonymous when the header is not to be trusted (AWS)",
    { headers: { "x-switchyard-user": "mallory" } },
    false,
    "anonymous",
  ],
];

/**
 * Captures what is written to stdout and stderr, the function's log included, until `vi.restoreAllMocks()`.
 *
 * @example
 * const logLines = captureOutput();
 * expect(logLines.join("")).not.toContain(secret);
 */
export const captureOutput = (): string[] => {
  const lines: string[] = [];
  const capture = (chunk: unknown): boolean => {
    lines.push(String(chunk));
    return true;
  };
  vi.spyOn(process.stdout, "write").mockImplementation(capture);
  vi.spyOn(process.stderr, "write").mockImplementation(capture);
  return lines;
};
