// The HTTP API for other tools: promotions, environments, approvals, freezes and quarantine, through the HTTP stack.

import type { APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import { beforeEach, describe, expect, it } from "vitest";
import { approvalId } from "../../functions/core/approvals.ts";
import { configSchema } from "../../functions/core/config.ts";
import { TransientError } from "../../functions/core/errors.ts";
import { signLinkToken } from "../../functions/core/link-token.ts";
import type {
  ApprovalRecord,
  DeploymentRecord,
  DomainEvent,
  PromotionRecord,
  PromotionStore,
  WorkflowCallbacks,
} from "../../functions/core/ports.ts";
import { productionSyncInputSchema, promoteImageInputSchema } from "../../functions/core/promotion-input.ts";
import { type ApprovalsApiDeps, makeApprovalsApi } from "../../functions/handlers/approvals.ts";
import { freezesRequest, makeFreezes } from "../../functions/handlers/freezes.ts";
import {
  defaultPromotionListLimit,
  getPromotionsRequest,
  makeGetPromotions,
} from "../../functions/handlers/get-promotions.ts";
import { makeListEnvironments } from "../../functions/handlers/list-environments.ts";
import { makeQuarantine, quarantineRequest } from "../../functions/handlers/quarantine.ts";
import { makeStartPromotion, startPromotionRequest } from "../../functions/handlers/start-promotion.ts";
import { withHttpStack } from "../../functions/wiring/http.ts";
import { SqliteApprovalStore } from "../../local/adapters/sqlite-approval-store.ts";
import { SqliteFreezeStore } from "../../local/adapters/sqlite-freeze-store.ts";
import { SqlitePromotionStore } from "../../local/adapters/sqlite-promotion-store.ts";
import { SqliteSecretStore } from "../../local/adapters/sqlite-secret-store.ts";
import { openDatabase } from "../../local/db.ts";
import { RecordingWorkflowStarter } from "../support/fakes.ts";
import { apiGatewayEvent, type RequesterCase, requesterCases, testLambdaContext } from "../support/http.ts";

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

const lambdaContext = testLambdaContext("switchyard-test");

interface Call {
  method: "GET" | "POST" | "PUT" | "DELETE";
  route: string;
  path?: string;
  params?: Record<string, string>;
  query?: string;
  headers?: Record<string, string>;
  body?: string;
  /** The IAM principal API Gateway's IAM authorizer would pass. */
  iamUserArn?: string;
}

const apiEvent = ({ method, route, headers, iamUserArn, ...request }: Call) =>
  apiGatewayEvent({
    ...request,
    route: { method, path: route },
    headers: { "content-type": "application/json", ...headers },
    iam: iamUserArn === undefined ? undefined : { userArn: iamUserArn },
    gateway: { requestId: "JKJaXmPLvHcESHA=" },
  });

const answerOf = (result: APIGatewayProxyStructuredResultV2) => ({
  statusCode: result.statusCode,
  headers: result.headers,
  body: JSON.parse(result.body ?? "null") as unknown,
  raw: result.body ?? "",
});

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
  let workflows: RecordingWorkflowStarter;
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
    workflows = new RecordingWorkflowStarter(executionArn);
  });

  it("starts promote-image with the normalised input, named by the promotion id, and answers 202 with Location", async () => {
    const answer = await post(
      { service: "checkout", environment: "staging", tag: "1.4.0", digest },
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
          environment: "staging",
          services: ["checkout"],
          image: { repository: "shop/checkout", tag: "1.4.0", digest, pushedAt: "2026-05-01T12:00:00.000Z" },
        },
      },
    ]);
    expect(promoteImageInputSchema.safeParse(workflows.calls[0]?.input).success).toBe(true);
  });

  it("starts production-sync for an environment with an approval gate, the caller as requester", async () => {
    const answer = await post(
      { service: "checkout", environment: "production", tag: "1.4.0", digest },
      { iamUserArn: userArn },
    );

    expect(answer.statusCode).toBe(202);
    expect(answer.body).toEqual({ promotionId, executionArn, status: "Pending" });
    expect(workflows.calls).toEqual([
      {
        workflow: "production-sync",
        name: promotionId,
        input: {
          promotionId,
          service: "checkout",
          environment: "production",
          trigger: { kind: "api", eventId: promotionId, requestedBy: userArn },
          image: { repository: "shop/checkout", tag: "1.4.0", digest, pushedAt: "2026-05-01T12:00:00.000Z" },
        },
      },
    ]);
    expect(productionSyncInputSchema.safeParse(workflows.calls[0]?.input).success).toBe(true);
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

  it.each<RequesterCase>([
    ...requesterCases(userArn),
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

class FakeCallbacks implements WorkflowCallbacks {
  readonly successes: { taskToken: string; output: unknown }[] = [];
  /** The error SendTaskSuccess fails with, by Step Functions' name. */
  failWith: string | undefined;

  async sendTaskSuccess(taskToken: string, output: unknown): Promise<void> {
    if (this.failWith) throw Object.assign(new Error(this.failWith), { name: this.failWith });
    this.successes.push({ taskToken, output });
  }

  async sendTaskFailure(): Promise<void> {
    throw new Error("not expected: a decision never fails the task");
  }
}

describe("/approvals (approvals)", () => {
  const gatedPromotionId = "7a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d";
  const id = approvalId(gatedPromotionId);
  const unknownId = "0f9e8d7c-6b5a-5493-8271-605f4e3d2c1b";
  const taskToken = "AQCEAAAAKgAAAAMAAAAA-task-token-never-to-be-shown-9d8c7b";
  const linkKey = "c".repeat(64);
  const expiresAt = "2026-05-02T12:00:00.000Z";
  const anaToken = signLinkToken(linkKey, { approvalId: id, approver: "ana@example.com", expiresAt });
  const browser = { accept: "text/html,application/xhtml+xml,*/*;q=0.8" };
  const json = { accept: "application/json" };
  const form = { "content-type": "application/x-www-form-urlencoded" };

  let approvals: SqliteApprovalStore;
  let callbacks: FakeCallbacks;
  let published: DomainEvent[];
  let deps: ApprovalsApiDeps;

  const request = (overrides: Partial<ApprovalRecord> = {}): ApprovalRecord => ({
    id,
    promotionId: gatedPromotionId,
    service: "checkout",
    environment: "production",
    from: { tag: "1.3.0", digest: `sha256:${"cd".repeat(32)}` },
    to: { repository: "shop/checkout", tag: "1.4.0", digest },
    requestedBy: "maria@example.com",
    approvers: ["ana@example.com", "bob@example.com"],
    minApprovals: 1,
    requestedAt: "2026-05-01T11:00:00.000Z",
    expiresAt,
    decisions: [],
    state: "pending",
    version: 1,
    ...overrides,
  });

  /** Sends a request and checks what every answer must hold: never the task token. */
  const send = async (call: Call, options: Partial<ApprovalsApiDeps> = {}) => {
    const result = await withHttpStack(makeApprovalsApi({ ...deps, ...options }))(
      apiEvent(call),
      lambdaContext,
    );
    const raw = result.body ?? "";
    expect(raw).not.toContain(taskToken);
    return { statusCode: result.statusCode, headers: result.headers ?? {}, raw, json: () => JSON.parse(raw) };
  };
  const page = (query = "", headers: Record<string, string> = browser, call: Partial<Call> = {}) =>
    send({
      method: "GET",
      route: "/approvals/{id}",
      path: `/approvals/${id}`,
      params: { id },
      query,
      headers,
      ...call,
    });
  const decide = (body: string, headers: Record<string, string> = {}, call: Partial<Call> = {}) =>
    send({
      method: "POST",
      route: "/approvals/{id}/decision",
      path: `/approvals/${id}/decision`,
      params: { id },
      body,
      headers,
      ...call,
    });

  beforeEach(async () => {
    const db = openDatabase(":memory:");
    approvals = new SqliteApprovalStore({ db });
    const secrets = new SqliteSecretStore({ db, clock });
    await secrets.createSecret({ name: "switchyard/approval-link-key", secretString: linkKey });
    callbacks = new FakeCallbacks();
    published = [];
    const promotions = new SqlitePromotionStore({ db, clock });
    // The promotion waiting for the request: a closing vote records its outcome there.
    await promotions.createPromotion({
      id: gatedPromotionId,
      service: "checkout",
      environment: "production",
      image: { repository: "shop/checkout", tag: "1.4.0", digest, pushedAt: "2026-05-01T10:00:00.000Z" },
      phase: "WaitingForApproval",
      reasons: ["waiting for approval"],
      trigger: { kind: "api", eventId: gatedPromotionId, requestedBy: "maria@example.com" },
      createdAt: "2026-05-01T11:00:00.000Z",
      updatedAt: "2026-05-01T11:00:00.000Z",
    });
    deps = {
      config,
      approvals,
      promotions,
      callbacks,
      publisher: {
        publish: async (events) => {
          published.push(...events);
        },
      },
      clock,
      secrets,
      anonymousCanRead: true,
      approverForToken: async (token) => (token === "ana-local-token" ? "ana@example.com" : undefined),
    };
    await approvals.create(request(), taskToken);
  });

  it("lists requests filtered by status, without task tokens", async () => {
    const closedId = approvalId("another-promotion");
    await approvals.create(
      request({ id: closedId, promotionId: "another-promotion", state: "approved" }),
      "another-task-token",
    );

    const pending = await send({ method: "GET", route: "/approvals", query: "status=pending" });
    const all = await send({ method: "GET", route: "/approvals" });

    expect(pending.statusCode).toBe(200);
    expect(pending.json().map((r: ApprovalRecord) => r.id)).toEqual([id]);
    expect(
      all
        .json()
        .map((r: ApprovalRecord) => r.id)
        .sort(),
    ).toEqual([closedId, id].sort());
    expect(all.raw).not.toContain("another-task-token");
  });

  it("answers 400 to an unknown status", async () => {
    const answer = await send({ method: "GET", route: "/approvals", query: "status=open" });

    expect(answer.statusCode).toBe(400);
    expect(answer.json()).toEqual({
      error: "ValidationError",
      message: expect.stringContaining("expected one of pending, approved, rejected, expired"),
    });
  });

  it("answers the request as JSON to a client that asks for JSON", async () => {
    const answer = await page("", json);

    expect(answer.statusCode).toBe(200);
    expect(answer.headers["content-type"]).toBe("application/json");
    expect(answer.json()).toEqual(request());
  });

  it("answers a browser with the read-only page when it brings no link token", async () => {
    const answer = await page();

    expect(answer.statusCode).toBe(200);
    expect(answer.headers["content-type"]).toBe("text/html; charset=utf-8");
    expect(answer.raw).toContain("<!doctype html>");
    expect(answer.raw).not.toContain("<form");
  });

  it("shows the decision form only with a valid link token, as the approver it names", async () => {
    const answer = await page(`token=${encodeURIComponent(anaToken)}`);

    expect(answer.statusCode).toBe(200);
    expect(answer.raw).toContain(`<form method="post" action="/approvals/${id}/decision">`);
    expect(answer.raw).toContain("ana@example.com");
  });

  it.each([
    ["an id nothing has", unknownId],
    ["an id that is not a UUID", "not-an-approval"],
    ["an id made to inject markup", "<script>alert(1)</script>"],
  ])("answers a 404 page for %s", async (_, approval) => {
    const answer = await page("", browser, { path: `/approvals/${approval}`, params: { id: approval } });

    expect(answer.statusCode).toBe(404);
    expect(answer.headers["content-type"]).toBe("text/html; charset=utf-8");
    expect(answer.raw).toContain("Approval not found");
    expect(answer.raw).not.toContain("<script");
  });

  it("answers 404 as JSON to a client that asks for JSON", async () => {
    const answer = await page("", json, { path: `/approvals/${unknownId}`, params: { id: unknownId } });

    expect(answer.statusCode).toBe(404);
    expect(answer.json()).toMatchObject({ error: "NotFound" });
  });

  it.each([
    [
      "signed with another key",
      signLinkToken("d".repeat(64), { approvalId: id, approver: "ana@example.com", expiresAt }),
    ],
    [
      "made for another approval",
      signLinkToken(linkKey, { approvalId: unknownId, approver: "ana@example.com", expiresAt }),
    ],
    [
      "made for someone who is not an approver",
      signLinkToken(linkKey, { approvalId: id, approver: "eve@example.com", expiresAt }),
    ],
    ["that is not a token at all", "garbage"],
  ])("answers a 403 page, without a form, to a link token %s", async (_, token) => {
    const answer = await page(`token=${encodeURIComponent(token)}`);

    expect(answer.statusCode).toBe(403);
    expect(answer.raw).toContain("This link is not valid");
    expect(answer.raw).not.toContain("<form");
  });

  it("changes nothing on GET, however often a link is opened", async () => {
    await send({ method: "GET", route: "/approvals" });
    await page("", json);
    await page();
    await page(`token=${encodeURIComponent(anaToken)}`);
    await page(`token=${encodeURIComponent(anaToken)}`);

    expect(await approvals.get(id)).toEqual(request());
    expect(callbacks.successes).toEqual([]);
    expect(published).toEqual([]);
  });

  it("records a decision posted by the page's form with the link token, and answers a page", async () => {
    const body = new URLSearchParams({ token: anaToken, comment: "", decision: "approve" }).toString();

    const answer = await decide(body, form);

    expect(answer.statusCode).toBe(200);
    expect(answer.headers["content-type"]).toBe("text/html; charset=utf-8");
    expect(answer.raw).toContain("Approved");
    expect(await approvals.get(id)).toMatchObject({
      state: "approved",
      version: 2,
      decisions: [{ approver: "ana@example.com", decision: "approve", channel: "email" }],
    });
    expect(callbacks.successes).toEqual([
      { taskToken, output: expect.objectContaining({ approvalId: id, decision: "approved" }) },
    ]);
    expect(published.map((e) => e.detailType)).toEqual(["Approval Decided"]);
  });

  it.each([
    ["the API", {}, "api"],
    ["the CLI", { "user-agent": "switchyard-cli/0.1.0" }, "cli"],
  ])(
    "records a decision by the IAM caller through %s, named by the ARN's last segment",
    async (_, headers, channel) => {
      const answer = await decide(JSON.stringify({ decision: "reject", comment: "not today" }), headers, {
        iamUserArn: "arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_Deployers_1a2b/Bob@Example.com",
      });

      expect(answer.statusCode).toBe(200);
      expect(answer.headers["content-type"]).toBe("application/json");
      expect(answer.json()).toMatchObject({
        state: "rejected",
        decisions: [{ approver: "bob@example.com", decision: "reject", comment: "not today", channel }],
      });
    },
  );

  it("records a decision by an approver's local bearer token", async () => {
    const answer = await decide(JSON.stringify({ decision: "approve" }), {
      authorization: "Bearer ana-local-token",
    });

    expect(answer.statusCode).toBe(200);
    expect(answer.json()).toMatchObject({
      state: "approved",
      decisions: [{ approver: "ana@example.com", channel: "api" }],
    });
  });

  it.each([
    ["no credentials", {}],
    ["a bearer token that is nobody's", { authorization: "Bearer stolen-token" }],
  ])("answers 401 to a decision with %s, recording nothing", async (_, headers) => {
    const answer = await decide(JSON.stringify({ decision: "approve" }), headers);

    expect(answer.statusCode).toBe(401);
    expect(answer.json()).toMatchObject({ error: "Unauthorized" });
    expect(await approvals.get(id)).toEqual(request());
  });

  it("answers 410 and closes the request when the workflow stopped waiting", async () => {
    callbacks.failWith = "TaskTimedOut";

    const answer = await decide(
      JSON.stringify({ decision: "approve" }),
      {},
      { iamUserArn: "arn:aws:iam::123456789012:user/ana@example.com" },
    );

    expect(answer.statusCode).toBe(410);
    expect(answer.json()).toMatchObject({ error: "Gone" });
    expect((await approvals.get(id))?.state).toBe("expired");
  });

  describe("on the public approval pages API (anonymousCanRead: false)", () => {
    const closed = { anonymousCanRead: false };

    it("refuses to show a request without a link token", async () => {
      const html = await send(
        {
          method: "GET",
          route: "/approvals/{id}",
          path: `/approvals/${id}`,
          params: { id },
          headers: browser,
        },
        closed,
      );
      const asJson = await send(
        { method: "GET", route: "/approvals/{id}", path: `/approvals/${id}`, params: { id }, headers: json },
        closed,
      );
      const list = await send({ method: "GET", route: "/approvals" }, closed);

      expect(html.statusCode).toBe(403);
      expect(html.raw).not.toContain("maria@example.com");
      expect(asJson.statusCode).toBe(401);
      expect(list.statusCode).toBe(401);
    });

    it("shows the request and its form with a valid link token", async () => {
      const answer = await send(
        {
          method: "GET",
          route: "/approvals/{id}",
          path: `/approvals/${id}`,
          params: { id },
          query: `token=${encodeURIComponent(anaToken)}`,
          headers: browser,
        },
        closed,
      );

      expect(answer.statusCode).toBe(200);
      expect(answer.raw).toContain("<form");
    });
  });
});

describe("/freezes (freezes)", () => {
  let freezes: SqliteFreezeStore;
  const send = async (call: Call) => {
    const handler = withHttpStack(makeFreezes({ config, freezes, clock }), freezesRequest);
    return answerOf(await handler(apiEvent(call), lambdaContext));
  };
  const put = (service: string, body: unknown, call: Partial<Call> = {}) =>
    send({
      method: "PUT",
      route: "/freezes/{service}",
      path: `/freezes/${service}`,
      params: { service },
      body: typeof body === "string" ? body : JSON.stringify(body),
      ...call,
    });
  const lift = (service: string, query = "") =>
    send({
      method: "DELETE",
      route: "/freezes/{service}",
      path: `/freezes/${service}`,
      params: { service },
      query,
    });

  beforeEach(() => {
    freezes = new SqliteFreezeStore({ db: openDatabase(":memory:") });
  });

  it("sets the manual freeze of a service, naming the IAM caller", async () => {
    const answer = await put(
      "checkout",
      { reason: "black friday", until: "2026-05-02T14:00:00+02:00" },
      { iamUserArn: userArn },
    );

    const freeze = {
      service: "checkout",
      id: "manual",
      reason: "black friday",
      setBy: userArn,
      setAt: now.toISOString(),
      until: "2026-05-02T12:00:00.000Z",
      source: "api",
    };
    expect(answer.statusCode).toBe(200);
    expect(answer.body).toEqual({ ...freeze, active: true });
    expect(await freezes.list("checkout")).toEqual([freeze]);
  });

  it("lists every freeze with whether it is in force", async () => {
    await put("checkout", { reason: "black friday" });
    await freezes.put({
      service: "storefront",
      id: "INC-7",
      reason: "incident",
      setBy: "pagerduty",
      setAt: "2026-04-30T09:00:00.000Z",
      until: "2026-04-30T10:00:00.000Z",
      source: "incident",
    });

    const answer = await send({ method: "GET", route: "/freezes" });

    expect(answer.statusCode).toBe(200);
    expect(answer.body).toEqual([
      expect.objectContaining({ service: "storefront", id: "INC-7", active: false }),
      expect.objectContaining({ service: "checkout", id: "manual", setBy: "anonymous", active: true }),
    ]);
  });

  it("lifts every freeze of a service, or only the one named", async () => {
    await put("checkout", { reason: "black friday" });
    const incident = {
      service: "checkout",
      reason: "incident",
      setBy: "pagerduty",
      setAt: now.toISOString(),
    };
    await freezes.put({ ...incident, id: "INC-7", source: "incident" });
    await freezes.put({ ...incident, id: "INC-8", source: "incident" });

    const one = await lift("checkout", "id=INC-7");
    const rest = await lift("checkout");

    expect(one.body).toEqual({ service: "checkout", lifted: 1 });
    expect(rest.body).toEqual({ service: "checkout", lifted: 2 });
    expect(await freezes.list()).toEqual([]);
  });

  it.each([
    ["a missing reason", { until: "2026-05-02T12:00:00Z" }, "body.reason"],
    ["a blank reason", { reason: "   " }, "body.reason: expected a reason"],
    [
      "an until in the past",
      { reason: "x", until: "2026-05-01T11:59:59Z" },
      "body.until: 2026-05-01T11:59:59Z is not in the future",
    ],
    [
      "an until without an offset",
      { reason: "x", until: "2026-05-02T12:00:00" },
      "body.until: expected an ISO 8601 time with an offset",
    ],
    ["an unknown field", { reason: "x", by: "me" }, 'body: Unrecognized key: "by"'],
    ["a body that is not JSON", "{reason:", "Request body is not valid JSON"],
  ])("answers 400 to %s and sets nothing", async (_, body, message) => {
    const answer = await put("checkout", body);

    expect(answer.statusCode).toBe(400);
    expect(answer.body).toEqual({ error: "ValidationError", message: expect.stringContaining(message) });
    expect(await freezes.list()).toEqual([]);
  });

  it.each([
    ["PUT", () => put("billing", { reason: "x" })],
    ["DELETE", () => lift("billing")],
  ])("answers 404 to %s for a service not in switchyard.yaml", async (_, call) => {
    const answer = await call();

    expect(answer.statusCode).toBe(404);
    expect(answer.body).toEqual({
      error: "NotFound",
      message: 'service "billing" is not in switchyard.yaml; expected one of: checkout, storefront',
    });
  });
});

describe("/quarantine (quarantine)", () => {
  let promotions: SqlitePromotionStore;
  const send = async (call: Call) =>
    answerOf(
      await withHttpStack(makeQuarantine({ promotions }), quarantineRequest)(apiEvent(call), lambdaContext),
    );
  const clear = (service: string, target: string) =>
    send({
      method: "DELETE",
      route: "/quarantine/{service}/{digest}",
      path: `/quarantine/${service}/${target}`,
      params: { service, digest: target },
    });

  beforeEach(async () => {
    promotions = new SqlitePromotionStore({ db: openDatabase(":memory:"), clock });
    await promotions.quarantine("checkout", digest, "production went unhealthy on it");
  });

  it("lists quarantined digests with the rollback's reason", async () => {
    const answer = await send({ method: "GET", route: "/quarantine" });

    expect(answer.statusCode).toBe(200);
    expect(answer.body).toEqual([
      {
        service: "checkout",
        digest,
        reason: "production went unhealthy on it",
        quarantinedAt: now.toISOString(),
      },
    ]);
  });

  it("lifts a quarantine, and answers 404 when it is asked again", async () => {
    const first = await clear("checkout", digest);
    const again = await clear("checkout", digest);

    expect(first.statusCode).toBe(200);
    expect(first.body).toEqual({ service: "checkout", digest, cleared: true });
    expect(await promotions.isQuarantined("checkout", digest)).toBe(false);
    expect(again.statusCode).toBe(404);
    expect(again.body).toEqual({ error: "NotFound", message: `${digest} is not quarantined for checkout` });
  });

  it("answers 404 for a digest quarantined for another service only", async () => {
    const answer = await clear("storefront", digest);

    expect(answer.statusCode).toBe(404);
    expect(await promotions.isQuarantined("checkout", digest)).toBe(true);
  });

  it.each([["sha256:abc"], [`SHA256:${"ab".repeat(32)}`], ["latest"]])(
    "answers 400 to the malformed digest %s",
    async (malformed) => {
      const answer = await clear("checkout", malformed);

      expect(answer.statusCode).toBe(400);
      expect(answer.body).toEqual({
        error: "ValidationError",
        message: expect.stringContaining("path.digest: expected sha256: followed by 64 lowercase hex digits"),
      });
      expect(await promotions.isQuarantined("checkout", digest)).toBe(true);
    },
  );
});
