// The HTTP API for other tools: POST /promotions, GET /promotions[/{id}], GET /environments, through the HTTP stack.

import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from "aws-lambda";
import { beforeEach, describe, expect, it } from "vitest";
import { configSchema } from "../../functions/core/config.ts";
import { TransientError } from "../../functions/core/errors.ts";
import type {
  DeploymentRecord,
  PromotionRecord,
  PromotionStore,
  WorkflowStarter,
} from "../../functions/core/ports.ts";
import { promoteImageInputSchema } from "../../functions/core/promotion-input.ts";
import {
  defaultPromotionListLimit,
  getPromotionsRequest,
  makeGetPromotions,
} from "../../functions/handlers/get-promotions.ts";
import { makeListEnvironments } from "../../functions/handlers/list-environments.ts";
import { makeStartPromotion, startPromotionRequest } from "../../functions/handlers/start-promotion.ts";
import { withHttpStack } from "../../functions/wiring/http.ts";
import { toApiGatewayEvent } from "../../local/http/apigw.ts";

const config = configSchema.parse({
  gitops: { repository: "acme/gitops" },
  environments: [
    { name: "staging", approval: "none", argocd: { namespace: "argocd", application: "{service}-staging" } },
    {
      name: "production",
      approval: { approvers: ["ana@example.com"], timeoutHours: 24 },
      argocd: { namespace: "argocd", application: "{service}-production" },
    },
  ],
  services: [
    {
      name: "checkout",
      repository: "shop/checkout",
      policy: { semver: "^1.0.0" },
      values: "envs/{environment}/checkout/values.yaml",
    },
    {
      name: "storefront",
      repository: "shop/storefront",
      policy: { tag: "stable" },
      values: "envs/{environment}/storefront/values.yaml",
    },
  ],
});

const promotionId = "3f1c2b8e-6a7d-4e5f-9a0b-1c2d3e4f5a6b";
const executionArn = `arn:aws:states:eu-west-1:123456789012:execution:PromoteImage:${promotionId}`;
const digest = `sha256:${"ab".repeat(32)}`;
const userArn = "arn:aws:iam::123456789012:user/ana";
const now = new Date("2026-05-01T12:00:00.000Z");
const clock = { now: () => now };

const lambdaContext: Context = {
  callbackWaitsForEmptyEventLoop: false,
  functionName: "switchyard-test",
  functionVersion: "$LATEST",
  invokedFunctionArn: "arn:aws:lambda:eu-west-1:123456789012:function:switchyard-test",
  memoryLimitInMB: "256",
  awsRequestId: "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
  logGroupName: "/aws/lambda/switchyard-test",
  logStreamName: "test",
  getRemainingTimeInMillis: () => 10_000,
  done: () => undefined,
  fail: () => undefined,
  succeed: () => undefined,
};

interface Call {
  method: "GET" | "POST";
  route: string;
  path?: string;
  params?: Record<string, string>;
  query?: string;
  headers?: Record<string, string>;
  body?: string;
  /** The IAM principal API Gateway's IAM authorizer would pass. */
  iamUserArn?: string;
}

const apiEvent = (call: Call): APIGatewayProxyEventV2 => {
  const body = Buffer.from(call.body ?? "");
  const event = toApiGatewayEvent(
    {
      method: call.method,
      path: call.path ?? call.route,
      params: call.params ?? {},
      query: new URLSearchParams(call.query ?? ""),
      headers: { "content-type": "application/json", ...call.headers },
      body,
      json: () => JSON.parse(body.toString("utf8")),
    },
    { method: call.method, path: call.route },
    { accountId: "123456789012", region: "eu-west-1", requestId: "JKJaXmPLvHcESHA=" },
  );
  if (call.iamUserArn === undefined) return event;
  return {
    ...event,
    requestContext: { ...event.requestContext, authorizer: { iam: { userArn: call.iamUserArn } } },
  } as APIGatewayProxyEventV2;
};

const answerOf = (result: APIGatewayProxyStructuredResultV2) => ({
  statusCode: result.statusCode,
  headers: result.headers,
  body: JSON.parse(result.body ?? "null") as unknown,
  raw: result.body ?? "",
});

class FakeWorkflowStarter implements WorkflowStarter {
  readonly calls: { workflow: string; input: unknown; name: string | undefined }[] = [];
  failure: Error | undefined;

  async start(workflow: string, input: unknown, name?: string): Promise<{ executionArn: string }> {
    this.calls.push({ workflow, input, name });
    if (this.failure) throw this.failure;
    return { executionArn };
  }
}

class FakePromotionStore
  implements Pick<PromotionStore, "getPromotion" | "listPromotions" | "listDeployments">
{
  readonly promotions = new Map<string, PromotionRecord>();
  readonly deployments: DeploymentRecord[] = [];
  readonly filters: Parameters<PromotionStore["listPromotions"]>[0][] = [];
  failure: Error | undefined;

  async getPromotion(id: string): Promise<PromotionRecord | undefined> {
    if (this.failure) throw this.failure;
    return this.promotions.get(id);
  }

  async listPromotions(filter?: Parameters<PromotionStore["listPromotions"]>[0]): Promise<PromotionRecord[]> {
    if (this.failure) throw this.failure;
    this.filters.push(filter);
    return [...this.promotions.values()];
  }

  async listDeployments(): Promise<DeploymentRecord[]> {
    if (this.failure) throw this.failure;
    return this.deployments;
  }
}

const promotion: PromotionRecord = {
  id: promotionId,
  service: "checkout",
  environment: "staging",
  image: { repository: "shop/checkout", tag: "1.4.0", digest, pushedAt: "2026-05-01T11:59:00.000Z" },
  phase: "Skipped",
  reasons: ["tag 1.4.0 is lower than 1.5.0, which staging runs: never downgrade"],
  trigger: { kind: "api", eventId: "JKJaXmPLvHcESHA=", requestedBy: userArn },
  createdAt: "2026-05-01T12:00:00.000Z",
  updatedAt: "2026-05-01T12:00:01.000Z",
};

describe("POST /promotions (start-promotion)", () => {
  let workflows: FakeWorkflowStarter;
  const handlerWith = (options: { trustUserHeader?: boolean } = {}) =>
    withHttpStack(
      makeStartPromotion({ config, workflows, clock, ids: { next: () => promotionId }, ...options }),
      startPromotionRequest,
    );
  const post = async (body: unknown, call: Partial<Call> = {}, options: { trustUserHeader?: boolean } = {}) =>
    answerOf(
      await handlerWith(options)(
        apiEvent({
          method: "POST",
          route: "/promotions",
          body: typeof body === "string" ? body : JSON.stringify(body),
          ...call,
        }),
        lambdaContext,
      ),
    );

  beforeEach(() => {
    workflows = new FakeWorkflowStarter();
  });

  it("starts promote-image with the normalised input, named by the promotion id, and answers 202 with Location", async () => {
    const answer = await post(
      { service: "checkout", environment: "production", tag: "1.4.0", digest },
      { iamUserArn: userArn },
    );

    expect(answer.statusCode).toBe(202);
    expect(answer.headers).toMatchObject({ location: `/promotions/${promotionId}` });
    expect(answer.body).toEqual({ promotionId, executionArn, status: "Pending" });
    expect(workflows.calls).toEqual([
      {
        workflow: "promote-image",
        name: promotionId,
        input: {
          promotionId,
          trigger: { kind: "api", eventId: promotionId, requestedBy: userArn },
          environment: "production",
          services: ["checkout"],
          image: { repository: "shop/checkout", tag: "1.4.0", digest, pushedAt: "2026-05-01T12:00:00.000Z" },
        },
      },
    ]);
    expect(promoteImageInputSchema.safeParse(workflows.calls[0]?.input).success).toBe(true);
  });

  it.each([
    ["a tag only", { tag: "1.4.0" }, { tag: "1.4.0", digest: null }],
    ["a digest only", { digest }, { tag: null, digest }],
  ])("accepts %s, the other given as null", async (_, image, expected) => {
    const answer = await post({ service: "storefront", environment: "staging", ...image });

    expect(answer.statusCode).toBe(202);
    expect(workflows.calls[0]?.input).toMatchObject({
      image: { repository: "shop/storefront", ...expected },
    });
  });

  it.each([
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
    ["anonymous when nothing names the caller", {}, true, "anonymous"],
  ])("names as requester %s", async (_, call: Partial<Call>, trustUserHeader, requestedBy) => {
    await post({ service: "checkout", environment: "staging", tag: "1.4.0" }, call, { trustUserHeader });

    expect(workflows.calls[0]?.input).toMatchObject({ trigger: { requestedBy } });
  });

  it.each([
    [
      "an unknown service, naming the valid ones",
      { service: "billing", environment: "staging", tag: "1.0.0" },
      'service "billing" is not in switchyard.yaml; expected one of: checkout, storefront',
    ],
    [
      "an unknown environment, naming the valid ones",
      { service: "checkout", environment: "qa", tag: "1.0.0" },
      'environment "qa" is not in switchyard.yaml; expected one of: staging, production',
    ],
    [
      "neither tag nor digest",
      { service: "checkout", environment: "staging" },
      "body: expected a tag, a digest, or both",
    ],
    [
      "a digest that is not sha256:<64 hex>",
      { service: "checkout", environment: "staging", digest: "sha256:abc" },
      "body.digest: expected sha256: followed by 64 lowercase hex digits",
    ],
    [
      "a tag Docker would refuse",
      { service: "checkout", environment: "staging", tag: "-rc" },
      "body.tag: expected a Docker tag",
    ],
    [
      "a missing service",
      { environment: "staging", tag: "1.0.0" },
      "body.service: required; expected string",
    ],
    [
      "an unknown field",
      { service: "checkout", environment: "staging", tag: "1.0.0", tags: ["x"] },
      'body: unknown key "tags"',
    ],
    ["a body that is not JSON", "{service:", "Request body is not valid JSON"],
    ["an empty body", "", "Request body is empty; expected a JSON object"],
  ])("answers 400 to %s and starts nothing", async (_, body, message) => {
    const answer = await post(body);

    expect(answer.statusCode).toBe(400);
    expect(answer.body).toEqual({ error: "ValidationError", message: expect.stringContaining(message) });
    expect(workflows.calls).toEqual([]);
  });

  it("answers a generic 500 when the workflow cannot be started, with no detail of the failure", async () => {
    workflows.failure = new Error(
      "AccessDeniedException: states:StartExecution on arn:aws:states:...:PromoteImage",
    );

    const answer = await post({ service: "checkout", environment: "staging", tag: "1.4.0" });

    expect(answer.statusCode).toBe(500);
    expect(answer.body).toEqual({
      error: "InternalError",
      message: "The request could not be completed (request JKJaXmPLvHcESHA=)",
    });
    expect(answer.raw).not.toMatch(/AccessDenied|arn:|StartExecution|at /);
  });

  it("answers 503 when the failure may pass (a retryable error)", async () => {
    workflows.failure = new TransientError("Step Functions throttled StartExecution");

    const answer = await post({ service: "checkout", environment: "staging", tag: "1.4.0" });

    expect(answer.statusCode).toBe(503);
    expect(answer.body).toMatchObject({ error: "ServiceUnavailable" });
    expect(answer.raw).not.toContain("throttled");
  });
});

describe("GET /promotions and GET /promotions/{id} (get-promotions)", () => {
  let store: FakePromotionStore;
  const get = async (call: Omit<Call, "method">) =>
    answerOf(
      await withHttpStack(makeGetPromotions({ promotions: store }), getPromotionsRequest)(
        apiEvent({ method: "GET", ...call }),
        lambdaContext,
      ),
    );

  beforeEach(() => {
    store = new FakePromotionStore();
    store.promotions.set(promotionId, promotion);
  });

  it("lists promotions filtered by service and environment, with the limit asked for", async () => {
    const answer = await get({ route: "/promotions", query: "service=checkout&environment=staging&limit=5" });

    expect(answer.statusCode).toBe(200);
    expect(answer.body).toEqual({ promotions: [promotion] });
    expect(store.filters).toEqual([{ service: "checkout", environment: "staging", limit: 5 }]);
  });

  it("lists the newest 20 when no limit is given", async () => {
    await get({ route: "/promotions" });

    expect(store.filters).toEqual([{ limit: defaultPromotionListLimit }]);
  });

  it.each([
    ["limit=0", "query.limit: expected a whole number from 1 to 100"],
    ["limit=101", "query.limit: expected a whole number from 1 to 100"],
    ["limit=ten", "query.limit: expected a whole number from 1 to 100"],
    ["limit=1.5", "query.limit: expected a whole number from 1 to 100"],
    ["service=Not_A_Name", "query.service: expected a service name"],
    ["env=staging", 'query: unknown key "env"'],
  ])("answers 400 to %s", async (query, message) => {
    const answer = await get({ route: "/promotions", query });

    expect(answer.statusCode).toBe(400);
    expect(answer.body).toEqual({ error: "ValidationError", message: expect.stringContaining(message) });
    expect(store.filters).toEqual([]);
  });

  it("answers one promotion with its decision reasons", async () => {
    const answer = await get({
      route: "/promotions/{id}",
      path: `/promotions/${promotionId}`,
      params: { id: promotionId },
    });

    expect(answer.statusCode).toBe(200);
    expect(answer.body).toEqual(promotion);
    expect(answer.body).toMatchObject({ reasons: [expect.stringContaining("never downgrade")] });
  });

  it("answers 404 for a promotion it does not know", async () => {
    const answer = await get({ route: "/promotions/{id}", path: "/promotions/nope", params: { id: "nope" } });

    expect(answer.statusCode).toBe(404);
    expect(answer.body).toEqual({ error: "NotFound", message: "No promotion with id nope" });
  });

  it("answers a generic 500 when the store fails, without its details", async () => {
    store.failure = new Error("connect ECONNREFUSED dynamodb.eu-west-1.amazonaws.com:443");

    const answer = await get({ route: "/promotions" });

    expect(answer.statusCode).toBe(500);
    expect(answer.body).toMatchObject({ error: "InternalError" });
    expect(answer.raw).not.toMatch(/ECONNREFUSED|dynamodb|stack/);
  });
});

describe("GET /environments (list-environments)", () => {
  it("shows, per environment and service, what runs there or that nothing was deployed", async () => {
    const store = new FakePromotionStore();
    store.deployments.push(
      {
        service: "checkout",
        environment: "staging",
        tag: "1.5.0",
        digest,
        pushedAt: "2026-04-30T10:00:00.000Z",
        revision: "0123456789abcdef0123456789abcdef01234567",
        promotionId,
        deployedAt: "2026-04-30T10:05:00.000Z",
      },
      {
        service: "storefront",
        environment: "staging",
        digest,
        pushedAt: "2026-04-30T10:00:00.000Z",
        revision: "89abcdef0123456789abcdef0123456789abcdef",
        promotionId,
        deployedAt: "2026-04-30T10:06:00.000Z",
      },
      {
        service: "retired",
        environment: "staging",
        digest,
        pushedAt: "2026-01-01T00:00:00.000Z",
        revision: "fedcba9876543210fedcba9876543210fedcba98",
        promotionId,
        deployedAt: "2026-01-01T00:00:00.000Z",
      },
    );
    const handler = withHttpStack(makeListEnvironments({ config, promotions: store }));

    const answer = answerOf(
      await handler(apiEvent({ method: "GET", route: "/environments" }), lambdaContext),
    );

    expect(answer.statusCode).toBe(200);
    expect(answer.body).toEqual({
      environments: [
        {
          name: "staging",
          approval: "none",
          services: [
            {
              service: "checkout",
              deployed: true,
              tag: "1.5.0",
              digest,
              revision: "0123456789abcdef0123456789abcdef01234567",
              deployedAt: "2026-04-30T10:05:00.000Z",
              promotionId,
            },
            {
              service: "storefront",
              deployed: true,
              tag: null,
              digest,
              revision: "89abcdef0123456789abcdef0123456789abcdef",
              deployedAt: "2026-04-30T10:06:00.000Z",
              promotionId,
            },
          ],
        },
        {
          name: "production",
          approval: "required",
          services: [
            { service: "checkout", deployed: false },
            { service: "storefront", deployed: false },
          ],
        },
      ],
    });
  });
});
