// The /snapshots API: listing snapshots, starting a manual snapshot run and a restore drill, through the HTTP stack.

import type { APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import { beforeEach, describe, expect, it } from "vitest";
import { TransientError } from "../../functions/core/errors.ts";
import type { DatabaseTarget, Snapshot, SnapshotService } from "../../functions/core/ports.ts";
import { restoreDrillInputSchema, snapshotRunInputSchema } from "../../functions/core/snapshot-inputs.ts";
import { makeSnapshots, type SnapshotsDeps, snapshotsRequest } from "../../functions/handlers/snapshots.ts";
import { withHttpStack } from "../../functions/wiring/http.ts";
import { testConfig } from "../support/config.ts";
import { RecordingWorkflowStarter } from "../support/fakes.ts";
import { apiGatewayEvent, requesterCases, testLambdaContext } from "../support/http.ts";

const config = testConfig({ snapshots: { selector: { tagKey: "backup", tagValue: "nightly" } } });

const runId = "0b6c2f4e-8d1a-4c3b-9e7f-5a4d3c2b1a09";
const promotionId = "3f1c2b8e-6a7d-4e5f-9a0b-1c2d3e4f5a6b";
const executionArn = `arn:aws:states:eu-west-1:123456789012:execution:switchyard-rds-snapshot:snapshot-${runId}`;
const userArn = "arn:aws:iam::123456789012:user/ana";

const lambdaContext = testLambdaContext("switchyard-test");

interface Call {
  method: "GET" | "POST";
  route: "/snapshots" | "/snapshots/drills";
  query?: string;
  headers?: Record<string, string>;
  /** A string is sent as is; anything else as JSON; absent: no body at all. */
  body?: unknown;
  /** The IAM principal API Gateway's IAM authorizer would pass. */
  iamUserArn?: string;
}

const apiEvent = (call: Call) =>
  apiGatewayEvent({
    route: { method: call.method, path: call.route },
    query: call.query,
    headers: { "content-type": "application/json", ...call.headers },
    body: call.body === undefined || typeof call.body === "string" ? call.body : JSON.stringify(call.body),
    iam: call.iamUserArn === undefined ? undefined : { userArn: call.iamUserArn },
    gateway: { requestId: "JKJaXmPLvHcESHA=" },
  });

const answerOf = (result: APIGatewayProxyStructuredResultV2) => ({
  statusCode: result.statusCode,
  body: JSON.parse(result.body ?? "null") as unknown,
  raw: result.body ?? "",
});

const target = (identifier: string): DatabaseTarget => ({
  identifier,
  kind: "instance",
  engine: "postgres",
  encrypted: false,
});

class FakeSnapshotService implements Pick<SnapshotService, "listSnapshots" | "listDatabases"> {
  snapshots: Snapshot[] = [];
  databases: DatabaseTarget[] = [target("orders"), target("payments-prod")];
  readonly listFilters: ({ database?: string } | undefined)[] = [];
  readonly selectors: { tagKey: string; tagValue: string }[] = [];
  failure: Error | undefined;

  async listSnapshots(filter?: { database?: string }): Promise<Snapshot[]> {
    this.listFilters.push(filter);
    if (this.failure) throw this.failure;
    return this.snapshots.filter((s) => filter?.database === undefined || s.database === filter.database);
  }

  async listDatabases(selector: { tagKey: string; tagValue: string }): Promise<DatabaseTarget[]> {
    this.selectors.push(selector);
    if (this.failure) throw this.failure;
    return this.databases;
  }
}

const snapshot = (id: string, database: string, createdAt: string): Snapshot => ({
  id,
  database,
  status: "available",
  reason: "scheduled",
  createdAt,
  sizeBytes: 1_048_576,
  tags: { "switchyard:created-by": "switchyard", "switchyard:reason": "scheduled" },
});

let workflows: RecordingWorkflowStarter;
let service: FakeSnapshotService;

const call = async (request: Call, options: Partial<SnapshotsDeps> = {}) =>
  answerOf(
    await withHttpStack(
      makeSnapshots({
        config,
        snapshots: service,
        workflows,
        ids: { next: () => runId },
        trustUserHeader: true,
        ...options,
      }),
      snapshotsRequest,
    )(apiEvent(request), lambdaContext),
  );

const postRun = (body?: unknown, request: Partial<Call> = {}, options: Partial<SnapshotsDeps> = {}) =>
  call({ method: "POST", route: "/snapshots", body, ...request }, options);
const postDrill = (body?: unknown, request: Partial<Call> = {}) =>
  call({ method: "POST", route: "/snapshots/drills", body, ...request });

beforeEach(() => {
  workflows = new RecordingWorkflowStarter(executionArn);
  service = new FakeSnapshotService();
});

describe("GET /snapshots", () => {
  it("answers Switchyard's snapshots newest first, as the service lists them", async () => {
    service.snapshots = [
      snapshot("switchyard-orders-20260501030000-scheduled", "orders", "2026-05-01T03:00:00.000Z"),
      snapshot(
        "switchyard-payments-prod-20260430030000-scheduled",
        "payments-prod",
        "2026-04-30T03:00:00.000Z",
      ),
    ];

    const answer = await call({ method: "GET", route: "/snapshots" });

    expect(answer.statusCode).toBe(200);
    expect(answer.body).toEqual({ snapshots: service.snapshots });
    expect(service.listFilters).toEqual([{}]);
    expect(workflows.calls).toEqual([]);
  });

  it("lists one database's snapshots, even of a database the selector no longer picks", async () => {
    service.snapshots = [
      snapshot("switchyard-orders-20260501030000-scheduled", "orders", "2026-05-01T03:00:00.000Z"),
      snapshot("switchyard-legacy-20260401030000-scheduled", "legacy", "2026-04-01T03:00:00.000Z"),
    ];

    const answer = await call({ method: "GET", route: "/snapshots", query: "database=legacy" });

    expect(answer.statusCode).toBe(200);
    expect(answer.body).toEqual({ snapshots: [service.snapshots[1]] });
    expect(service.listFilters).toEqual([{ database: "legacy" }]);
  });

  it("answers an empty list when there are no snapshots", async () => {
    const answer = await call({ method: "GET", route: "/snapshots" });

    expect(answer).toMatchObject({ statusCode: 200, body: { snapshots: [] } });
  });

  it.each([
    ["database=orders--old", "query.database: expected an RDS identifier"],
    ["database=1orders", "query.database: expected an RDS identifier"],
    ["database=orders-", "query.database: expected an RDS identifier"],
    [`database=a${"b".repeat(63)}`, "query.database: expected an RDS identifier (1-63 characters"],
    ["db=orders", 'query: unknown key "db"'],
  ])("answers 400 to ?%s and lists nothing", async (query, message) => {
    const answer = await call({ method: "GET", route: "/snapshots", query });

    expect(answer.statusCode).toBe(400);
    expect(answer.body).toEqual({ error: "ValidationError", message: expect.stringContaining(message) });
    expect(service.listFilters).toEqual([]);
  });

  it("answers a generic 503 when the service may recover, without its details", async () => {
    service.failure = new TransientError("DescribeDBSnapshots throttled");

    const answer = await call({ method: "GET", route: "/snapshots" });

    expect(answer.statusCode).toBe(503);
    expect(answer.raw).not.toContain("throttled");
  });
});

describe("POST /snapshots", () => {
  it("starts rds-snapshot for every selected database when there is no body, and answers 202", async () => {
    const answer = await postRun(undefined, { iamUserArn: userArn });

    expect(answer.statusCode).toBe(202);
    expect(answer.body).toEqual({
      executionArn,
      database: null,
      reason: "manual",
      note: null,
      status: "Started",
    });
    expect(workflows.calls).toEqual([
      {
        workflow: "rds-snapshot",
        name: `snapshot-${runId}`,
        input: { reason: "manual", database: null, promotionId: null, note: null, requestedBy: userArn },
      },
    ]);
    expect(snapshotRunInputSchema.parse(workflows.calls[0]?.input)).toEqual(workflows.calls[0]?.input);
    // Without a database there is nothing to check against the selector.
    expect(service.selectors).toEqual([]);
  });

  it.each([
    ["an empty object", {}],
    ["reason manual", { reason: "manual" }],
    ["reason Manual, spelled loosely", { reason: " Manual " }],
  ])("takes %s as a manual run without a note", async (_, body) => {
    const answer = await postRun(body);

    expect(answer).toMatchObject({ statusCode: 202, body: { reason: "manual", note: null, database: null } });
    expect(workflows.calls[0]?.input).toEqual({
      reason: "manual",
      database: null,
      promotionId: null,
      note: null,
      requestedBy: "anonymous",
    });
  });

  it("snapshots one database the selector picks, as RDS spells it", async () => {
    const answer = await postRun({ database: "Payments-Prod" });

    expect(answer.statusCode).toBe(202);
    expect(answer.body).toMatchObject({ database: "payments-prod" });
    expect(workflows.calls[0]?.input).toMatchObject({ database: "payments-prod" });
    expect(service.selectors).toEqual([{ tagKey: "backup", tagValue: "nightly" }]);
  });

  it("keeps any other reason as the note of a manual snapshot, trimmed", async () => {
    const accepted = await postRun({ database: "orders", reason: "  before the orders migration: OPS-42 " });

    expect(accepted.statusCode).toBe(202);
    expect(accepted.body).toEqual({
      executionArn,
      database: "orders",
      reason: "manual",
      note: "before the orders migration: OPS-42",
      status: "Started",
    });
    expect(workflows.calls[0]?.input).toEqual({
      reason: "manual",
      database: "orders",
      promotionId: null,
      note: "before the orders migration: OPS-42",
      requestedBy: "anonymous",
    });
    expect(snapshotRunInputSchema.safeParse(workflows.calls[0]?.input).success).toBe(true);
  });

  it("starts a pre-change run guarding the promotion it names", async () => {
    const answer = await postRun({ database: "orders", reason: "pre-change", promotionId });

    expect(answer.statusCode).toBe(202);
    expect(answer.body).toMatchObject({ reason: "pre-change", note: null, database: "orders" });
    expect(workflows.calls[0]?.input).toEqual({
      reason: "pre-change",
      database: "orders",
      promotionId,
      note: null,
      requestedBy: "anonymous",
    });
    expect(snapshotRunInputSchema.safeParse(workflows.calls[0]?.input).success).toBe(true);
  });

  it.each(requesterCases(userArn))(
    "names as requester %s",
    async (_, request: Partial<Call>, trustUserHeader, requestedBy) => {
      await postRun({}, request, { trustUserHeader });

      expect(workflows.calls[0]?.input).toMatchObject({ requestedBy });
    },
  );

  it("answers 404 for a database the selector does not pick, naming the tag and the databases that carry it", async () => {
    const answer = await postRun({ database: "analytics" });

    expect(answer.statusCode).toBe(404);
    expect(answer.body).toEqual({
      error: "NotFound",
      message:
        'database "analytics" does not carry the tag backup=nightly (snapshots.selector): Switchyard snapshots only databases tagged so; expected one of: orders, payments-prod',
    });
    expect(workflows.calls).toEqual([]);
  });

  it("answers 404 saying so when no database carries the tag", async () => {
    service.databases = [];

    const answer = await postRun({ database: "orders" });

    expect(answer.statusCode).toBe(404);
    expect(answer.body).toMatchObject({
      message: expect.stringContaining(
        "does not carry the tag backup=nightly (snapshots.selector), and no database does",
      ),
    });
    expect(workflows.calls).toEqual([]);
  });

  it.each([
    [
      "pre-change without a promotion",
      { reason: "pre-change" },
      "body.promotionId: required for a pre-change snapshot: the id of the promotion it guards",
    ],
    [
      "a scheduled run",
      { reason: "scheduled" },
      "body.reason: scheduled runs are started by the schedule (snapshots.schedule)",
    ],
    [
      "a promotion on a manual run",
      { reason: "manual", promotionId },
      'body.promotionId: only a pre-change snapshot guards a promotion; send "reason": "pre-change" with it',
    ],
    [
      "a promotion without a reason",
      { promotionId },
      "body.promotionId: only a pre-change snapshot guards a promotion",
    ],
    [
      "a promotion with a note",
      { reason: "before the migration", promotionId },
      "body.promotionId: only a pre-change snapshot guards a promotion",
    ],
    [
      "a promotion id that is not a UUID",
      { reason: "pre-change", promotionId: "42" },
      "body.promotionId: expected the id of the promotion the snapshot guards (a UUID)",
    ],
    [
      "a note longer than a tag value may be",
      { reason: "x".repeat(201) },
      'body.reason: expected "manual", "pre-change" or a note (as a note: expected at most 200 characters)',
    ],
    [
      "a note with characters RDS refuses in a tag",
      { reason: "before the migration; really!" },
      "(as a note: expected letters, digits, spaces and _ . : / = + - @ only (an RDS tag value))",
    ],
    ["a blank note", { reason: "   " }, "(as a note: expected a non-empty note)"],
    ["a reason that is not text", { reason: 7 }, 'body.reason: expected "manual", "pre-change" or a note'],
    [
      "a database with two hyphens in a row",
      { database: "orders--old" },
      "body.database: expected an RDS identifier",
    ],
    [
      "a database starting with a digit",
      { database: "1orders" },
      "body.database: expected an RDS identifier",
    ],
    ["a database ending with a hyphen", { database: "orders-" }, "body.database: expected an RDS identifier"],
    ["an empty database", { database: "" }, "body.database: expected an RDS identifier"],
    [
      "a database of 64 characters",
      { database: `a${"b".repeat(63)}` },
      "body.database: expected an RDS identifier",
    ],
    ["an unknown key", { database: "orders", databases: ["orders"] }, 'body: unknown key "databases"'],
    ["a body that is not JSON", "{database:", "Request body is not valid JSON"],
    ["a body that is an array", ["orders"], "body: expected object, received array"],
  ])("answers 400 to %s and starts nothing", async (_, body, message) => {
    const answer = await postRun(body);

    expect(answer.statusCode).toBe(400);
    expect(answer.body).toEqual({ error: "ValidationError", message: expect.stringContaining(message) });
    expect(workflows.calls).toEqual([]);
    expect(service.selectors).toEqual([]);
  });

  it("answers 400 to a database in the query, which a POST does not read, and starts nothing", async () => {
    const answer = await postRun({}, { query: "database=orders" });

    expect(answer.statusCode).toBe(400);
    expect(answer.body).toEqual({
      error: "ValidationError",
      message:
        'Invalid request query: POST /snapshots takes no query parameters (got "database"); send {"database": "<identifier>"} in the JSON body',
    });
    expect(workflows.calls).toEqual([]);
  });

  it("answers a generic 503 when the databases cannot be listed now, and starts nothing", async () => {
    service.failure = new TransientError("DescribeDBInstances throttled");

    const answer = await postRun({ database: "orders" });

    expect(answer.statusCode).toBe(503);
    expect(answer.raw).not.toContain("throttled");
    expect(workflows.calls).toEqual([]);
  });

  it("answers a generic 500 when the workflow cannot be started, with no detail of the failure", async () => {
    workflows.failure = new Error("AccessDeniedException: states:StartExecution on arn:aws:states:...");

    const answer = await postRun({});

    expect(answer.statusCode).toBe(500);
    expect(answer.raw).not.toMatch(/AccessDenied|arn:|StartExecution/);
  });
});

describe("POST /snapshots/drills", () => {
  it.each([
    ["no body", undefined],
    ["an empty object", {}],
  ])("starts restore-drill for every selected database with %s, and answers 202", async (_, body) => {
    const answer = await postDrill(body, { headers: { "x-switchyard-user": "ana" } });

    expect(answer.statusCode).toBe(202);
    expect(answer.body).toEqual({ executionArn, database: null, status: "Started" });
    expect(workflows.calls).toEqual([
      { workflow: "restore-drill", name: `drill-${runId}`, input: { database: null, requestedBy: "ana" } },
    ]);
    expect(restoreDrillInputSchema.parse(workflows.calls[0]?.input)).toEqual(workflows.calls[0]?.input);
    expect(service.selectors).toEqual([]);
  });

  it("drills one database the selector picks", async () => {
    const answer = await postDrill({ database: "orders" }, { iamUserArn: userArn });

    expect(answer.statusCode).toBe(202);
    expect(answer.body).toEqual({ executionArn, database: "orders", status: "Started" });
    expect(workflows.calls[0]?.input).toEqual({ database: "orders", requestedBy: userArn });
    expect(service.selectors).toEqual([{ tagKey: "backup", tagValue: "nightly" }]);
  });

  it("answers 404 for a database the selector does not pick, and starts nothing", async () => {
    const answer = await postDrill({ database: "analytics" });

    expect(answer.statusCode).toBe(404);
    expect(answer.body).toEqual({
      error: "NotFound",
      message: expect.stringContaining(
        'database "analytics" does not carry the tag backup=nightly (snapshots.selector): Switchyard snapshots only databases tagged so; expected one of: orders, payments-prod',
      ),
    });
    expect(workflows.calls).toEqual([]);
  });

  it.each([
    ["a reason, which a drill does not take", { reason: "manual" }, 'body: unknown key "reason"'],
    [
      "a database that is not an RDS identifier",
      { database: "orders_db" },
      "body.database: expected an RDS identifier",
    ],
    ["a database that is not text", { database: 7 }, "body.database: expected an RDS identifier"],
    ["a body that is not JSON", "orders", "Request body is not valid JSON"],
  ])("answers 400 to %s and starts nothing", async (_, body, message) => {
    const answer = await postDrill(body);

    expect(answer.statusCode).toBe(400);
    expect(answer.body).toEqual({ error: "ValidationError", message: expect.stringContaining(message) });
    expect(workflows.calls).toEqual([]);
  });

  it("answers 400 to a query parameter and starts nothing", async () => {
    const answer = await postDrill(undefined, { query: "database=orders" });

    expect(answer.statusCode).toBe(400);
    expect(answer.body).toMatchObject({
      message: expect.stringContaining("POST /snapshots/drills takes no query"),
    });
    expect(workflows.calls).toEqual([]);
  });
});
