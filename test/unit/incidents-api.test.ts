// The incidents API through the HTTP stack: list, JSON and page views, and acknowledgements by link, IAM and header.

import type { APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { signAckToken } from "../../functions/core/incident-links.ts";
import { clearLinkKeyCache, signLinkToken } from "../../functions/core/link-token.ts";
import type { Clock, IncidentRecord, NewIncident } from "../../functions/core/ports.ts";
import {
  type IncidentsApiDeps,
  incidentsRequest,
  makeIncidents,
} from "../../functions/handlers/incidents.ts";
import { withHttpStack } from "../../functions/wiring/http.ts";
import { SqliteIncidentStore } from "../../local/adapters/sqlite-incident-store.ts";
import type { SqliteSecretStore } from "../../local/adapters/sqlite-secret-store.ts";
import { openDatabase, type SqliteDatabase } from "../../local/db.ts";
import { testConfig } from "../support/config.ts";
import { RecordingCallbacks, RecordingPublisher, storedSecrets } from "../support/fakes.ts";
import { apiGatewayEvent, captureOutput, testAccountId, testLambdaContext } from "../support/http.ts";

// Log everything, and capture it, so the checks that no token reaches the log see every line the function writes.
vi.hoisted(() => {
  process.env.POWERTOOLS_LOG_LEVEL = "DEBUG";
});

const linkKey = "a".repeat(64);
const linkKeySecret = "switchyard/approval-link-key";
const waitToken = "sfn-task-token-AAAAQWxwaGFCcmF2b0NoYXJsaWU-secret";
const openId = "7d7c1a52-0b3e-4f5a-9c21-3e4d5f6a7b8c";
const ackedId = "8e8d2b63-1c4f-4a6b-8d32-4f5e6a7b8c9d";
const resolvedId = "9f9e3c74-2d50-4b7c-9e43-5a6b7c8d9e0f";
const unknownId = "00000000-0000-4000-8000-000000000000";
const mariaArn = "arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_Oncall_1a2b/Maria@Example.com";
const hostile = `<script>alert("x")</script>&'`;
const escapedHostile = "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;";

const config = testConfig();

const lambdaContext = testLambdaContext("switchyard-incidents");

const newIncident = (overrides: Partial<NewIncident> = {}): NewIncident => ({
  id: openId,
  fingerprint: "845c32a29100d116",
  startsAt: "2026-11-28T07:58:00.000Z",
  alertSource: "alertmanager",
  severity: "critical",
  service: "checkout",
  summary: "CheckoutHighErrorRate: checkout is failing 7.3% of requests",
  description: "5xx ratio above 5% for 5 minutes",
  runbookUrl: "https://runbooks.example.com/checkout/high-error-rate",
  sourceUrl: "https://prometheus.example.com/graph?g0.expr=rate",
  labels: { alertname: "CheckoutHighErrorRate", namespace: "shop", severity: "critical" },
  openedAt: "2026-11-28T07:58:01.000Z",
  ...overrides,
});

interface Call {
  method: "GET" | "POST";
  route: "/incidents" | "/incidents/{id}" | "/incidents/{id}/ack";
  id?: string;
  query?: Record<string, string>;
  headers?: Record<string, string>;
  body?: string;
  /** The IAM principal API Gateway's IAM authorizer verified. */
  iam?: string;
}

interface Answer {
  statusCode: number;
  headers: Record<string, string>;
  text: string;
  // biome-ignore lint/suspicious/noExplicitAny: a JSON answer; each test asserts the fields it reads.
  json: () => any;
}

const eventOf = (call: Call) =>
  apiGatewayEvent({
    route: { method: call.method, path: call.route },
    path: call.route.replace("{id}", call.id ?? ""),
    params: call.id === undefined ? {} : { id: call.id },
    query: call.query,
    headers: call.headers,
    body: call.body,
    iam: call.iam === undefined ? undefined : { userArn: call.iam, accountId: testAccountId },
    gateway: { now: new Date("2026-11-28T08:00:00Z") },
  });

const json = { accept: "application/json" };
const jsonBody = { "content-type": "application/json", accept: "application/json" };
const form = { "content-type": "application/x-www-form-urlencoded" };

describe("incidents API", () => {
  let db: SqliteDatabase;
  let store: SqliteIncidentStore;
  let secrets: SqliteSecretStore;
  let publisher: RecordingPublisher;
  let callbacks: RecordingCallbacks;
  let now: Date;
  let clock: Clock;
  let logLines: string[];
  let outputs: string[];

  const handlerWith = (overrides: Partial<IncidentsApiDeps> = {}) =>
    withHttpStack(
      makeIncidents({
        config,
        incidents: store,
        callbacks,
        publisher,
        clock,
        secrets,
        anonymousCanRead: true,
        trustUserHeader: true,
        ...overrides,
      }),
      incidentsRequest,
    );
  let handler: ReturnType<typeof handlerWith>;

  const call = async (input: Call, to = handler): Promise<Answer> => {
    const result = (await to(eventOf(input), lambdaContext)) as APIGatewayProxyStructuredResultV2;
    const text = result.body ?? "";
    outputs.push(text);
    return {
      statusCode: result.statusCode ?? 0,
      headers: (result.headers ?? {}) as Record<string, string>,
      text,
      json: () => JSON.parse(text),
    };
  };

  const tokenFor = (id: string, expiresAt = new Date(now.getTime() + 7 * 86_400_000)) =>
    signAckToken(linkKey, id, expiresAt);

  const seed = async (
    overrides: Partial<NewIncident>,
    changes: Parameters<SqliteIncidentStore["update"]>[2],
  ) => {
    const { incident } = await store.open(newIncident(overrides));
    return store.update(incident.id, incident.version, changes, [
      { at: incident.openedAt, kind: "opened", message: `${incident.severity}: ${incident.summary}` },
    ]);
  };

  beforeEach(async () => {
    clearLinkKeyCache();
    logLines = captureOutput();
    outputs = [];
    now = new Date("2026-11-28T08:00:00.000Z");
    clock = { now: () => now };
    db = openDatabase(":memory:");
    store = new SqliteIncidentStore({ db });
    secrets = await storedSecrets(db, { [linkKeySecret]: linkKey }, clock);
    publisher = new RecordingPublisher();
    callbacks = new RecordingCallbacks();
    handler = handlerWith();

    await seed({}, { pagedRoutingKeys: ["switchyard/pagerduty-routing-key"] });
    await store.setWaitToken(openId, waitToken);
    await seed(
      {
        id: ackedId,
        fingerprint: "1111aaaa2222bbbb",
        severity: "warning",
        summary: "PaymentsLatency: p99 above 2 s",
        openedAt: "2026-11-28T07:30:00.000Z",
      },
      {
        status: "acknowledged",
        acknowledgedAt: "2026-11-28T07:35:00.000Z",
        acknowledgedBy: "ana@example.com",
      },
    );
    await seed(
      {
        id: resolvedId,
        fingerprint: "3333cccc4444dddd",
        severity: "error",
        summary: "DiskFilling: /var at 95%",
        openedAt: "2026-11-28T07:00:00.000Z",
      },
      { status: "resolved", resolvedAt: "2026-11-28T07:20:00.000Z", resolution: "alert-resolved" },
    );
  });

  afterEach(() => {
    // Neither the workflow's task token nor a link token ever leaves the function, in an answer or in the log.
    for (const text of [...outputs, ...logLines]) expect(text).not.toContain(waitToken);
    for (const line of logLines) expect(line).not.toMatch(/token=|"token"/);
    vi.restoreAllMocks();
    clearLinkKeyCache();
    db.close();
  });

  describe("GET /incidents", () => {
    it("lists incidents newest first, as summaries without timeline or token", async () => {
      const answer = await call({ method: "GET", route: "/incidents" });

      expect(answer.statusCode).toBe(200);
      const { incidents } = answer.json();
      expect(incidents.map((i: IncidentRecord) => i.id)).toEqual([openId, ackedId, resolvedId]);
      expect(incidents[0]).toEqual({
        id: openId,
        fingerprint: "845c32a29100d116",
        status: "open",
        severity: "critical",
        level: 1,
        service: "checkout",
        summary: "CheckoutHighErrorRate: checkout is failing 7.3% of requests",
        alertSource: "alertmanager",
        runbookUrl: "https://runbooks.example.com/checkout/high-error-rate",
        startsAt: "2026-11-28T07:58:00.000Z",
        openedAt: "2026-11-28T07:58:01.000Z",
      });
      expect(incidents[1]).toMatchObject({ status: "acknowledged", acknowledgedBy: "ana@example.com" });
      expect(answer.text).not.toContain("timeline");
    });

    it.each([
      ["open", [openId]],
      ["acknowledged", [ackedId]],
      ["resolved", [resolvedId]],
    ])("filters by status %s", async (status, ids) => {
      const answer = await call({ method: "GET", route: "/incidents", query: { status } });
      expect(answer.json().incidents.map((i: IncidentRecord) => i.id)).toEqual(ids);
    });

    it("takes a limit of up to 1000", async () => {
      const answer = await call({ method: "GET", route: "/incidents", query: { limit: "2" } });
      expect(answer.json().incidents.map((i: IncidentRecord) => i.id)).toEqual([openId, ackedId]);
      expect((await call({ method: "GET", route: "/incidents", query: { limit: "1000" } })).statusCode).toBe(
        200,
      );
    });

    it.each([
      [{ status: "firing" }, /query\.status: expected one of open, acknowledged, resolved/],
      [{ limit: "0" }, /query\.limit/],
      [{ limit: "1001" }, /query\.limit/],
      [{ limit: "ten" }, /query\.limit: expected a whole number from 1 to 1000/],
      [{ state: "open" }, /unknown key "state"/],
    ])("refuses the query %o with 400", async (query, message) => {
      const answer = await call({ method: "GET", route: "/incidents", query });
      expect(answer.statusCode).toBe(400);
      expect(answer.json()).toMatchObject({
        error: "ValidationError",
        message: expect.stringMatching(message),
      });
    });

    it("needs a signed request where anonymous reading is off", async () => {
      const closed = handlerWith({ anonymousCanRead: false, trustUserHeader: false });
      expect((await call({ method: "GET", route: "/incidents" }, closed)).statusCode).toBe(401);
      expect((await call({ method: "GET", route: "/incidents", iam: mariaArn }, closed)).statusCode).toBe(
        200,
      );
    });
  });

  describe("GET /incidents/{id}", () => {
    it("answers the incident with its timeline as JSON", async () => {
      const answer = await call({ method: "GET", route: "/incidents/{id}", id: openId, headers: json });

      expect(answer.statusCode).toBe(200);
      expect(answer.headers["content-type"]).toBe("application/json");
      expect(answer.json()).toMatchObject({
        id: openId,
        status: "open",
        level: 1,
        labels: { alertname: "CheckoutHighErrorRate", namespace: "shop", severity: "critical" },
        description: "5xx ratio above 5% for 5 minutes",
        sourceUrl: "https://prometheus.example.com/graph?g0.expr=rate",
        pagedRoutingKeys: ["switchyard/pagerduty-routing-key"],
        froze: false,
        timeline: [
          {
            at: "2026-11-28T07:58:01.000Z",
            kind: "opened",
            message: "critical: CheckoutHighErrorRate: checkout is failing 7.3% of requests",
          },
        ],
      });
    });

    it("renders a page without script: status, severity, summary, labels, runbook and timeline", async () => {
      const answer = await call({ method: "GET", route: "/incidents/{id}", id: openId });

      expect(answer.statusCode).toBe(200);
      expect(answer.headers["content-type"]).toBe("text/html; charset=utf-8");
      expect(answer.headers["cache-control"]).toBe("no-store");
      expect(answer.headers["content-security-policy"]).toContain("default-src 'none'");
      const html = answer.text;
      expect(html).not.toMatch(/<script/i);
      expect(html).toContain("CheckoutHighErrorRate: checkout is failing 7.3% of requests");
      expect(html).toContain("Open · level 1");
      expect(html).toContain("<dt>Severity</dt><dd>critical</dd>");
      expect(html).toContain("<code>namespace=shop</code>");
      expect(html).toContain(
        `<a href="https://runbooks.example.com/checkout/high-error-rate" rel="noopener noreferrer">`,
      );
      expect(html).toMatch(/<ol class="timeline"><li>.*Opened<\/strong> critical: CheckoutHighErrorRate/);
      // Without a link: no form, only how to acknowledge.
      expect(html).not.toContain("<form");
      expect(html).toContain(`switchyard incidents ack ${openId}`);
    });

    it("carries the acknowledge form when opened through a valid link while the incident is open", async () => {
      const token = tokenFor(openId);
      const answer = await call({ method: "GET", route: "/incidents/{id}", id: openId, query: { token } });

      expect(answer.statusCode).toBe(200);
      expect(answer.text).toContain(`<form method="post" action="/incidents/${openId}/ack">`);
      expect(answer.text).toContain(`<input type="hidden" name="token" value="${token}">`);
      expect(answer.text).toContain(`name="by"`);
      expect(answer.headers["referrer-policy"]).toBe("no-referrer");
      // Opening the link changes nothing.
      expect((await store.get(openId))?.status).toBe("open");
      expect(publisher.published).toEqual([]);
    });

    it("shows no form once the incident is acknowledged, even through a valid link", async () => {
      const answer = await call({
        method: "GET",
        route: "/incidents/{id}",
        id: ackedId,
        query: { token: tokenFor(ackedId) },
      });
      expect(answer.statusCode).toBe(200);
      expect(answer.text).not.toContain("<form");
      expect(answer.text).toContain("acknowledged by ana@example.com");
    });

    it.each([
      ["forged", () => signAckToken("f".repeat(64), openId, new Date("2026-12-01T00:00:00Z")), /signature/],
      ["expired", () => signAckToken(linkKey, openId, new Date("2026-11-28T07:59:59Z")), /expired at/],
      ["for another incident", () => tokenFor(ackedId), /another incident/],
      [
        "of an approval",
        () =>
          signLinkToken(linkKey, {
            approvalId: openId,
            approver: "ana@example.com",
            expiresAt: "2026-12-01T00:00:00Z",
          }),
        /another incident/,
      ],
      ["malformed", () => "x".repeat(2_000), /malformed/],
    ])("refuses a %s link with 403, as a page or as JSON", async (_, token, message) => {
      const value = token();
      const pageAnswer = await call({
        method: "GET",
        route: "/incidents/{id}",
        id: openId,
        query: { token: value },
      });
      expect(pageAnswer.statusCode).toBe(403);
      expect(pageAnswer.headers["content-type"]).toBe("text/html; charset=utf-8");
      expect(pageAnswer.text).toMatch(message);
      expect(pageAnswer.text).not.toContain(value);
      expect(pageAnswer.text).not.toContain("<form");

      const jsonAnswer = await call({
        method: "GET",
        route: "/incidents/{id}",
        id: openId,
        query: { token: value },
        headers: json,
      });
      expect(jsonAnswer.statusCode).toBe(403);
      expect(jsonAnswer.json()).toMatchObject({
        error: "Forbidden",
        message: expect.stringMatching(message),
      });
      expect(jsonAnswer.text).not.toContain(value);
      expect(logLines.join("")).toContain("Request refused");
      expect(logLines.join("")).not.toContain(value);
    });

    it.each([unknownId, "not an id", "a".repeat(200)])(
      "answers 404 for %s, as a page or as JSON",
      async (id) => {
        const pageAnswer = await call({ method: "GET", route: "/incidents/{id}", id });
        expect(pageAnswer.statusCode).toBe(404);
        expect(pageAnswer.text).toContain("Incident not found");
        const jsonAnswer = await call({ method: "GET", route: "/incidents/{id}", id, headers: json });
        expect(jsonAnswer.statusCode).toBe(404);
        expect(jsonAnswer.json()).toMatchObject({ error: "NotFound" });
      },
    );

    it("shows nothing without a link where anonymous reading is off (the public pages API)", async () => {
      const closed = handlerWith({ anonymousCanRead: false, trustUserHeader: false });
      expect((await call({ method: "GET", route: "/incidents/{id}", id: openId }, closed)).statusCode).toBe(
        403,
      );
      expect(
        (await call({ method: "GET", route: "/incidents/{id}", id: openId, headers: json }, closed))
          .statusCode,
      ).toBe(401);
      const linked = await call(
        { method: "GET", route: "/incidents/{id}", id: openId, query: { token: tokenFor(openId) } },
        closed,
      );
      expect(linked.statusCode).toBe(200);
      expect(linked.text).toContain("<form");
      expect(
        (await call({ method: "GET", route: "/incidents/{id}", id: openId, iam: mariaArn }, closed))
          .statusCode,
      ).toBe(200);
    });

    it("escapes the alert's text everywhere on the page, and links only http(s) runbooks", async () => {
      const id = "4a4b4c4d-0000-4000-8000-000000000001";
      await seed(
        {
          id,
          fingerprint: "hostile",
          summary: hostile,
          description: hostile,
          service: hostile,
          runbookUrl: `javascript:alert("x")`,
          sourceUrl: `https://example.com/"><script>alert("x")</script>`,
          labels: { [hostile]: hostile },
        },
        {},
      );
      const answer = await call({
        method: "GET",
        route: "/incidents/{id}",
        id,
        query: { token: tokenFor(id) },
      });

      expect(answer.statusCode).toBe(200);
      expect(answer.text).not.toContain("<script");
      expect(answer.text).not.toContain(`alert("x")`);
      expect(answer.text).toContain(`<h1>${escapedHostile}</h1>`);
      expect(answer.text).toContain(`<code>${escapedHostile}=${escapedHostile}</code>`);
      expect(answer.text).not.toContain(`href="javascript:`);
      expect(answer.text).toContain("<dt>Runbook</dt><dd>javascript:alert(&quot;x&quot;)</dd>");
    });
  });

  describe("POST /incidents/{id}/ack", () => {
    const ack = (id: string, headers: Record<string, string>, body = "", iam?: string) =>
      call({
        method: "POST",
        route: "/incidents/{id}/ack",
        id,
        headers,
        body,
        ...(iam !== undefined && { iam }),
      });

    it("acknowledges as the local caller, publishes Incident Acknowledged and wakes the workflow", async () => {
      const answer = await ack(openId, { ...jsonBody, "x-switchyard-user": "maria.lopez@example.com" }, "{}");

      expect(answer.statusCode).toBe(200);
      expect(answer.json()).toMatchObject({
        id: openId,
        status: "acknowledged",
        acknowledgedBy: "maria.lopez@example.com",
        acknowledgedAt: now.toISOString(),
        changed: true,
      });
      expect(answer.json().timeline.at(-1)).toEqual({
        at: now.toISOString(),
        kind: "acknowledged",
        message: "acknowledged by maria.lopez@example.com (api)",
      });
      expect(publisher.published).toEqual([
        expect.objectContaining({
          detailType: "Incident Acknowledged",
          detail: expect.objectContaining({
            incidentId: openId,
            acknowledgedBy: "maria.lopez@example.com",
            acknowledgedAt: now.toISOString(),
          }),
        }),
      ]);
      expect(callbacks.successes).toEqual([{ token: waitToken, output: { outcome: "acknowledged" } }]);
    });

    it("names the CLI as the channel, and takes no body at all", async () => {
      const answer = await ack(openId, {
        "x-switchyard-user": "maria",
        "user-agent": "switchyard-cli/0.1.0",
      });
      expect(answer.statusCode).toBe(200);
      expect(answer.json().timeline.at(-1).message).toBe("acknowledged by maria (cli)");
    });

    it("answers 200 with changed: false when already acknowledged, and publishes nothing", async () => {
      const answer = await ack(ackedId, { ...jsonBody, "x-switchyard-user": "bob" }, "{}");

      expect(answer.statusCode).toBe(200);
      expect(answer.json()).toMatchObject({
        status: "acknowledged",
        acknowledgedBy: "ana@example.com",
        changed: false,
      });
      expect(publisher.published).toEqual([]);
    });

    it("acknowledges from the page's form with the link token, by the name typed, and answers a page", async () => {
      const token = tokenFor(openId);
      const body = new URLSearchParams({ token, by: "Ana Ruiz" }).toString();
      const answer = await ack(openId, form, body);

      expect(answer.statusCode).toBe(200);
      expect(answer.headers["content-type"]).toBe("text/html; charset=utf-8");
      expect(answer.text).toContain("<h1>Acknowledged</h1>");
      expect(answer.text).toContain("Recorded for Ana Ruiz.");
      expect(answer.text).not.toContain("<form");
      expect(answer.text).not.toContain(token);
      const incident = await store.get(openId);
      expect(incident).toMatchObject({ status: "acknowledged", acknowledgedBy: "Ana Ruiz" });
      expect(incident?.timeline.at(-1)?.message).toBe("acknowledged by Ana Ruiz (link)");
      expect(callbacks.successes).toHaveLength(1);
    });

    it("acknowledges with the link token as JSON, without a name", async () => {
      const answer = await ack(openId, jsonBody, JSON.stringify({ token: tokenFor(openId) }));
      expect(answer.statusCode).toBe(200);
      expect(answer.json()).toMatchObject({
        acknowledgedBy: "someone with the acknowledge link",
        changed: true,
      });
      expect(answer.text).not.toContain(tokenFor(openId));
    });

    it("takes an empty name field as no name", async () => {
      const answer = await ack(
        openId,
        form,
        new URLSearchParams({ token: tokenFor(openId), by: "" }).toString(),
      );
      expect(answer.statusCode).toBe(200);
      expect((await store.get(openId))?.acknowledgedBy).toBe("someone with the acknowledge link");
    });

    it("shows the page of an incident acknowledged before, from the form", async () => {
      const answer = await ack(ackedId, form, new URLSearchParams({ token: tokenFor(ackedId) }).toString());
      expect(answer.statusCode).toBe(200);
      expect(answer.text).toContain("<h1>Already acknowledged</h1>");
      expect(answer.text).toContain("ana@example.com acknowledged it at 2026-11-28T07:35:00.000Z.");
    });

    it.each([
      ["forged", () => signAckToken("f".repeat(64), openId, new Date("2026-12-01T00:00:00Z"))],
      ["expired", () => signAckToken(linkKey, openId, now)],
      ["for another incident", () => tokenFor(ackedId)],
    ])("refuses a %s link token with 403 and acknowledges nothing", async (_, token) => {
      const value = token();
      const pageAnswer = await ack(
        openId,
        form,
        new URLSearchParams({ token: value, by: "mallory" }).toString(),
      );
      expect(pageAnswer.statusCode).toBe(403);
      expect(pageAnswer.text).toContain("This link is not valid");
      expect(pageAnswer.text).not.toContain(value);

      const jsonAnswer = await ack(openId, jsonBody, JSON.stringify({ token: value }));
      expect(jsonAnswer.statusCode).toBe(403);
      expect(jsonAnswer.json()).toMatchObject({ error: "Forbidden" });

      expect((await store.get(openId))?.status).toBe("open");
      expect(publisher.published).toEqual([]);
      expect(callbacks.successes).toEqual([]);
    });

    it("answers 409 for a resolved incident, as JSON or as a page", async () => {
      const jsonAnswer = await ack(resolvedId, { ...jsonBody, "x-switchyard-user": "maria" }, "{}");
      expect(jsonAnswer.statusCode).toBe(409);
      expect(jsonAnswer.json()).toMatchObject({
        error: "Conflict",
        message: expect.stringMatching(/already resolved/),
      });

      const pageAnswer = await ack(
        resolvedId,
        form,
        new URLSearchParams({ token: tokenFor(resolvedId) }).toString(),
      );
      expect(pageAnswer.statusCode).toBe(409);
      expect(pageAnswer.text).toContain("<h1>Already resolved</h1>");
      expect((await store.get(resolvedId))?.status).toBe("resolved");
      expect(publisher.published).toEqual([]);
    });

    it("answers 404 for an unknown incident, as JSON or as a page", async () => {
      const jsonAnswer = await ack(unknownId, { ...jsonBody, "x-switchyard-user": "maria" }, "{}");
      expect(jsonAnswer.statusCode).toBe(404);
      expect(jsonAnswer.json()).toMatchObject({ error: "NotFound" });
      const pageAnswer = await ack(unknownId, { ...form, "x-switchyard-user": "maria" }, "");
      expect(pageAnswer.statusCode).toBe(404);
      expect(pageAnswer.text).toContain("Incident not found");
    });

    it("refuses a caller without any credential: 401 as JSON, a 403 page for the form", async () => {
      const jsonAnswer = await ack(openId, jsonBody, "{}");
      expect(jsonAnswer.statusCode).toBe(401);
      expect(jsonAnswer.json()).toMatchObject({
        error: "Unauthorized",
        message: expect.stringMatching(/No credentials/),
      });
      const pageAnswer = await ack(openId, form, "");
      expect(pageAnswer.statusCode).toBe(403);
      expect((await store.get(openId))?.status).toBe("open");
    });

    it("does not trust x-switchyard-user or a body's name where an authorizer runs", async () => {
      const iamApi = handlerWith({ anonymousCanRead: false, trustUserHeader: false });
      const answer = await call(
        {
          method: "POST",
          route: "/incidents/{id}/ack",
          id: openId,
          headers: { ...jsonBody, "x-switchyard-user": "maria" },
          body: JSON.stringify({ by: "maria" }),
        },
        iamApi,
      );
      expect(answer.statusCode).toBe(401);
      expect((await store.get(openId))?.status).toBe("open");
    });

    it("acknowledges as the IAM caller, whatever name the body gives", async () => {
      const iamApi = handlerWith({ anonymousCanRead: false, trustUserHeader: false });
      const answer = await call(
        {
          method: "POST",
          route: "/incidents/{id}/ack",
          id: openId,
          headers: jsonBody,
          body: JSON.stringify({ by: "someone else" }),
          iam: mariaArn,
        },
        iamApi,
      );
      expect(answer.statusCode).toBe(200);
      expect(answer.json()).toMatchObject({ acknowledgedBy: "maria@example.com", changed: true });
    });

    it("takes the name from the body locally when no header names the caller", async () => {
      const answer = await ack(openId, jsonBody, JSON.stringify({ by: "ana" }));
      expect(answer.statusCode).toBe(200);
      expect(answer.json().acknowledgedBy).toBe("ana");
    });

    it.each([
      ["a Slack mention", JSON.stringify({ by: "<!channel>" }), /body\.by: expected a name without/],
      [
        "a name too long",
        JSON.stringify({ by: "a".repeat(201) }),
        /body\.by: expected at most 200 characters/,
      ],
      ["an unknown field", JSON.stringify({ by: "ana", decision: "approve" }), /unknown key "decision"/],
      ["a body that is not JSON", "by=ana", /not valid JSON/],
    ])("refuses %s with 400", async (_, body, message) => {
      const answer = await ack(openId, { ...jsonBody, "x-switchyard-user": "maria" }, body);
      expect(answer.statusCode).toBe(400);
      expect(answer.json()).toMatchObject({
        error: "ValidationError",
        message: expect.stringMatching(message),
      });
      expect((await store.get(openId))?.status).toBe("open");
    });

    it("refuses a header name Slack would read as markup", async () => {
      const answer = await ack(openId, { ...jsonBody, "x-switchyard-user": "<!here>" }, "{}");
      expect(answer.statusCode).toBe(400);
      expect(answer.json().message).toBe(
        "Invalid request header x-switchyard-user: expected a name without <, >, & or control characters",
      );
    });

    it("answers a form's invalid name with a page", async () => {
      const body = new URLSearchParams({ token: tokenFor(openId), by: "<b>ana</b>" }).toString();
      const answer = await ack(openId, form, body);
      expect(answer.statusCode).toBe(400);
      expect(answer.headers["content-type"]).toBe("text/html; charset=utf-8");
      expect(answer.text).toContain("The acknowledgement was not recorded");
      expect(answer.text).not.toContain("<b>ana");
    });
  });
});
