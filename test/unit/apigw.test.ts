// The local API Gateway emulation: events as HTTP APIs build them (payload 2.0), answers as they give them.

import type { Server } from "node:http";
import type { APIGatewayProxyEventV2 } from "aws-lambda";
import { afterEach, describe, expect, it } from "vitest";
import type { FunctionDefinition } from "../../functions/registry.ts";
import {
  type ApiGatewayHandler,
  apiGatewayRoutes,
  fromApiGatewayResult,
  isTextContentType,
  requestTime,
  toApiGatewayEvent,
} from "../../local/http/apigw.ts";
import { createHttpServer, type LocalRequest, listen } from "../../local/http/server.ts";
import { silentLogger } from "../../local/log.ts";

const ctx = {
  accountId: "123456789012",
  region: "eu-west-1",
  apiId: "a1b2c3d4e5",
  sourceIp: "203.0.113.7",
  requestId: "JKJaXmPLvHcESHA=",
  now: new Date("2020-03-12T19:03:58.390Z"),
};

const localRequest = (
  overrides: Partial<Omit<LocalRequest, "body">> & { body?: Buffer | string } = {},
): LocalRequest => {
  const body =
    typeof overrides.body === "string" ? Buffer.from(overrides.body) : (overrides.body ?? Buffer.alloc(0));
  return {
    method: "POST",
    path: "/webhooks/github",
    params: {},
    query: new URLSearchParams(),
    headers: {},
    json: () => JSON.parse(body.toString("utf8")),
    ...overrides,
    body,
  };
};

describe("toApiGatewayEvent", () => {
  it("builds the payload 2.0 event of a JSON POST, leaving out what API Gateway leaves out", () => {
    const event = toApiGatewayEvent(
      localRequest({
        headers: {
          host: "127.0.0.1:4010",
          "content-type": "application/json",
          "user-agent": "GitHub-Hookshot/abc123",
          "x-github-event": "release",
        },
        body: '{"action":"published"}',
      }),
      { method: "POST", path: "/webhooks/github" },
      ctx,
    );

    expect(event).toEqual({
      version: "2.0",
      routeKey: "POST /webhooks/github",
      rawPath: "/webhooks/github",
      rawQueryString: "",
      headers: {
        host: "127.0.0.1:4010",
        "content-type": "application/json",
        "user-agent": "GitHub-Hookshot/abc123",
        "x-github-event": "release",
        "x-forwarded-for": "203.0.113.7",
        "x-forwarded-proto": "http",
        "x-amzn-trace-id": expect.stringMatching(/^Root=1-5e6a879e-[0-9a-f]{24}$/),
      },
      requestContext: {
        accountId: "123456789012",
        apiId: "a1b2c3d4e5",
        domainName: "127.0.0.1",
        domainPrefix: "127",
        http: {
          method: "POST",
          path: "/webhooks/github",
          protocol: "HTTP/1.1",
          sourceIp: "203.0.113.7",
          userAgent: "GitHub-Hookshot/abc123",
        },
        requestId: "JKJaXmPLvHcESHA=",
        routeKey: "POST /webhooks/github",
        stage: "$default",
        time: "12/Mar/2020:19:03:58 +0000",
        timeEpoch: 1584039838390,
      },
      body: '{"action":"published"}',
      isBase64Encoded: false,
    });
  });

  it("comma-joins repeated headers and query parameters and decodes query values", () => {
    const event = toApiGatewayEvent(
      localRequest({
        method: "GET",
        path: "/promotions",
        headers: { "x-tag": ["a", "b"], accept: "application/json" },
        query: new URLSearchParams("service=checkout&service=storefront&note=a%20b"),
      }),
      { method: "GET", path: "/promotions" },
      ctx,
    );

    expect(event.headers["x-tag"]).toBe("a,b");
    expect(event.queryStringParameters).toEqual({ service: "checkout,storefront", note: "a b" });
    expect(event.rawQueryString).toBe("service=checkout&service=storefront&note=a+b");
    expect(event.body).toBeUndefined();
    expect(event.isBase64Encoded).toBe(false);
  });

  it("passes path parameters under the route key with the {placeholder}", () => {
    const event = toApiGatewayEvent(
      localRequest({ method: "GET", path: "/promotions/p-1", params: { id: "p-1" } }),
      { method: "GET", path: "/promotions/{id}" },
      ctx,
    );

    expect(event.routeKey).toBe("GET /promotions/{id}");
    expect(event.rawPath).toBe("/promotions/p-1");
    expect(event.pathParameters).toEqual({ id: "p-1" });
  });

  it("moves cookies out of the headers into `cookies`, one per cookie", () => {
    const event = toApiGatewayEvent(
      localRequest({ headers: { cookie: "session=abc; theme=dark" } }),
      { method: "POST", path: "/webhooks/github" },
      ctx,
    );

    expect(event.cookies).toEqual(["session=abc", "theme=dark"]);
    expect(event.headers.cookie).toBeUndefined();
  });

  it("appends the source address to an incoming X-Forwarded-For", () => {
    const event = toApiGatewayEvent(
      localRequest({ headers: { "x-forwarded-for": "198.51.100.1" } }),
      { method: "POST", path: "/webhooks/github" },
      ctx,
    );

    expect(event.headers["x-forwarded-for"]).toBe("198.51.100.1, 203.0.113.7");
  });

  it.each([
    ["application/octet-stream", true],
    ["application/x-www-form-urlencoded", true],
    [undefined, true],
    ["image/png", true],
    ["application/json; charset=utf-8", false],
    ["text/plain", false],
    ["application/xml", false],
  ])("content type %s → base64 %s", (contentType, base64) => {
    const bytes = Buffer.from([0x7b, 0x22, 0xc3, 0xa9, 0x22, 0x7d]);
    const event = toApiGatewayEvent(
      localRequest({ headers: contentType ? { "content-type": contentType } : {}, body: bytes }),
      { method: "POST", path: "/webhooks/github" },
      ctx,
    );

    expect(event.isBase64Encoded).toBe(base64);
    expect(Buffer.from(event.body ?? "", base64 ? "base64" : "utf8")).toEqual(bytes);
    expect(isTextContentType(contentType)).toBe(!base64);
  });

  it("mints a 16-character request id when none is given", () => {
    const { requestId, ...rest } = ctx;
    const event = toApiGatewayEvent(localRequest(), { method: "POST", path: "/webhooks/github" }, rest);

    expect(event.requestContext.requestId).toMatch(/^[A-Za-z0-9+/]{15}=$/);
    expect(requestId).toBeDefined();
  });
});

describe("requestTime", () => {
  it.each([
    ["2020-03-12T19:03:58.390Z", "12/Mar/2020:19:03:58 +0000"],
    ["2026-01-05T04:05:06.000Z", "05/Jan/2026:04:05:06 +0000"],
  ])("%s → %s", (iso, expected) => {
    expect(requestTime(new Date(iso))).toBe(expected);
  });
});

describe("fromApiGatewayResult", () => {
  it("uses a result with a statusCode as is, header names lower-cased and values as text", () => {
    expect(
      fromApiGatewayResult({
        statusCode: 202,
        headers: { Location: "/promotions/p-1", "X-Count": 3, "content-type": "application/json" },
        body: '{"accepted":true}',
      }),
    ).toEqual({
      status: 202,
      headers: { location: "/promotions/p-1", "x-count": "3", "content-type": "application/json" },
      body: '{"accepted":true}',
    });
  });

  it("decodes a base64 body and sends each cookie as its own set-cookie header", () => {
    const answer = fromApiGatewayResult({
      statusCode: 200,
      headers: { "content-type": "text/plain" },
      body: Buffer.from("héllo").toString("base64"),
      isBase64Encoded: true,
      cookies: ["a=1; Path=/", "b=2; Expires=Wed, 21 Oct 2026 07:28:00 GMT"],
    });

    expect(answer.body).toBe("héllo");
    expect(answer.headers?.["set-cookie"]).toEqual([
      "a=1; Path=/",
      "b=2; Expires=Wed, 21 Oct 2026 07:28:00 GMT",
    ]);
  });

  it("refuses a binary body it cannot send as text", () => {
    expect(() =>
      fromApiGatewayResult({
        statusCode: 200,
        body: Buffer.from([0xff, 0xfe]).toString("base64"),
        isBase64Encoded: true,
      }),
    ).toThrow(/binary/);
  });

  it.each([
    ["an object", { message: "Hello from Lambda!" }, '{"message":"Hello from Lambda!"}'],
    ["a string, as is", "Hello from Lambda!", "Hello from Lambda!"],
    ["an array", [1, 2], "[1,2]"],
    ["undefined, as JSON null", undefined, "null"],
    ["an object whose statusCode is not a number", { statusCode: "201" }, '{"statusCode":"201"}'],
  ])("answers 200 JSON for %s", (_, result, body) => {
    expect(fromApiGatewayResult(result)).toEqual({
      status: 200,
      headers: { "content-type": "application/json" },
      body,
    });
  });
});

describe("apiGatewayRoutes", () => {
  const registry: Record<string, FunctionDefinition> = {
    "start-promotion": {
      entry: "x.ts",
      id: "StartPromotion",
      description: "",
      timeoutSeconds: 10,
      memoryMb: 256,
      http: [{ method: "POST", path: "/promotions" }],
    },
    "get-promotions": {
      entry: "y.ts",
      id: "GetPromotions",
      description: "",
      timeoutSeconds: 10,
      memoryMb: 256,
      http: [
        { method: "GET", path: "/promotions" },
        { method: "GET", path: "/promotions/{id}" },
      ],
    },
    "resolve-services": {
      entry: "z.ts",
      id: "ResolveServices",
      description: "",
      timeoutSeconds: 10,
      memoryMb: 256,
    },
  };
  const echo: ApiGatewayHandler = async (event) => ({
    statusCode: 200,
    headers: { "content-type": "application/json" },
    body: JSON.stringify(event),
  });
  let server: Server | undefined;

  afterEach(async () => {
    await new Promise<void>((done) => (server ? server.close(() => done()) : done()));
    server = undefined;
  });

  it("makes one route per registry route, and none for functions without routes", () => {
    const routes = apiGatewayRoutes(
      { "start-promotion": echo, "get-promotions": echo },
      { accountId: ctx.accountId, region: ctx.region, registry },
    );

    expect(routes.map((r) => `${r.method} ${r.path}`)).toEqual([
      "POST /promotions",
      "GET /promotions",
      "GET /promotions/{id}",
    ]);
  });

  it("refuses to start when a function with routes has no handler", () => {
    expect(() =>
      apiGatewayRoutes(
        { "start-promotion": echo },
        { accountId: ctx.accountId, region: ctx.region, registry },
      ),
    ).toThrow(
      expect.objectContaining({ name: "ConfigError", message: expect.stringContaining("get-promotions") }),
    );
  });

  it("serves the handlers through the local server, events and answers as API Gateway makes them", async () => {
    const routes = apiGatewayRoutes(
      { "start-promotion": echo, "get-promotions": echo },
      { accountId: ctx.accountId, region: ctx.region, registry },
    );
    server = createHttpServer(routes, silentLogger);
    const { port } = await listen(server, 0);

    const response = await fetch(`http://127.0.0.1:${port}/promotions/p%2D1?limit=5&limit=6`, {
      headers: { cookie: "a=1; b=2", "X-Custom": "v" },
    });
    const event = (await response.json()) as APIGatewayProxyEventV2;

    expect(response.status).toBe(200);
    expect(response.headers.get("apigw-requestid")).toBe(event.requestContext.requestId);
    expect(event).toMatchObject({
      routeKey: "GET /promotions/{id}",
      rawPath: "/promotions/p%2D1",
      rawQueryString: "limit=5&limit=6",
      queryStringParameters: { limit: "5,6" },
      pathParameters: { id: "p-1" },
      cookies: ["a=1", "b=2"],
      headers: { "x-custom": "v" },
      requestContext: { accountId: ctx.accountId, stage: "$default", http: { method: "GET" } },
    });
  });

  it("answers 500 {message} like API Gateway when the handler throws, logging the failure", async () => {
    const logged: string[] = [];
    const failing: ApiGatewayHandler = async () => {
      throw new Error("db password rejected");
    };
    const routes = apiGatewayRoutes(
      { "start-promotion": failing, "get-promotions": echo },
      {
        accountId: ctx.accountId,
        region: ctx.region,
        registry,
        logger: {
          ...silentLogger,
          error: (message, fields) => logged.push(`${message} ${JSON.stringify(fields)}`),
        },
      },
    );
    server = createHttpServer(routes, silentLogger);
    const { port } = await listen(server, 0);

    const response = await fetch(`http://127.0.0.1:${port}/promotions`, { method: "POST", body: "{}" });

    expect(response.status).toBe(500);
    expect(await response.json()).toEqual({ message: "Internal Server Error" });
    expect(logged).toEqual([expect.stringContaining("POST /promotions failed in start-promotion")]);
  });

  it("sends every cookie of a result as its own set-cookie header", async () => {
    const withCookies: ApiGatewayHandler = async () => ({ statusCode: 204, cookies: ["a=1", "b=2"] });
    const routes = apiGatewayRoutes(
      { "start-promotion": withCookies, "get-promotions": echo },
      { accountId: ctx.accountId, region: ctx.region, registry },
    );
    server = createHttpServer(routes, silentLogger);
    const { port } = await listen(server, 0);

    const response = await fetch(`http://127.0.0.1:${port}/promotions`, { method: "POST" });

    expect(response.status).toBe(204);
    expect(response.headers.getSetCookie()).toEqual(["a=1", "b=2"]);
  });
});
