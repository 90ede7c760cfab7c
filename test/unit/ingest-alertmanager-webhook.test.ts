// Alertmanager ingestion: only bearer-authenticated, valid notifications reach the bus, one Alert Received per alert.

import { readFileSync } from "node:fs";
import type { APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { alertReceivedDetailSchema } from "../../events/schemas/switchyard.ts";
import { EventPublishError } from "../../functions/core/errors.ts";
import type { Clock, SecretStore } from "../../functions/core/ports.ts";
import {
  ingestAlertmanagerWebhookRequest,
  ingestAlertmanagerWebhookRoute,
  makeIngestAlertmanagerWebhook,
  maxWebhookBodyBytes,
  tokenRefreshIntervalSeconds,
} from "../../functions/handlers/ingest-alertmanager-webhook.ts";
import { withHttpStack } from "../../functions/wiring/http.ts";
import type { SqliteSecretStore } from "../../local/adapters/sqlite-secret-store.ts";
import { openDatabase, type SqliteDatabase } from "../../local/db.ts";
import { testConfig } from "../support/config.ts";
import { RecordingPublisher, storedSecrets } from "../support/fakes.ts";
import { apiGatewayEvent, captureOutput, testLambdaContext } from "../support/http.ts";

// Log everything, and capture it, so the test of what reaches the log sees every line the function writes.
vi.hoisted(() => {
  process.env.POWERTOOLS_LOG_LEVEL = "DEBUG";
});

const tokenSecret = "switchyard/alertmanager-token";
const token = "amtok-3c9f1e2d7b8a4c6e9d0f1a2b3c4d5e6f";
const forgedToken = "amtok-00000000000000000000000000000000";

const config = testConfig();

const sampleWebhook = JSON.parse(readFileSync("events/samples/alertmanager/webhook-v4.json", "utf8"));
const sampleAlert = sampleWebhook.alerts[0];

/** A notification of `count` alerts with distinct fingerprints. */
const notification = (count = 1, extra: Record<string, unknown> = {}) => ({
  ...sampleWebhook,
  alerts: Array.from({ length: count }, (_, i) => ({
    ...sampleAlert,
    fingerprint: (0xabc000 + i).toString(16).padStart(16, "0"),
  })),
  ...extra,
});

const lambdaContext = testLambdaContext("switchyard-ingest-alertmanager-webhook");

interface Delivery {
  body?: string | Buffer;
  /** The whole Authorization header; null sends none. */
  authorization?: string | null;
}

const webhookEvent = (input: Delivery = {}) => {
  const body = input.body ?? JSON.stringify(notification());
  const headers: Record<string, string> = {
    "content-type": "application/json",
    "user-agent": "Alertmanager/0.28.1",
  };
  const authorization = input.authorization === undefined ? `Bearer ${token}` : input.authorization;
  if (authorization !== null) headers.authorization = authorization;
  return apiGatewayEvent({ route: ingestAlertmanagerWebhookRoute, headers, body });
};

const bodyOf = (result: APIGatewayProxyStructuredResultV2): unknown => JSON.parse(result.body ?? "null");

describe("ingest-alertmanager-webhook", () => {
  let db: SqliteDatabase;
  let secrets: SqliteSecretStore;
  let publisher: RecordingPublisher;
  let now: Date;
  let clock: Clock;
  let logLines: string[];
  let answers: APIGatewayProxyStructuredResultV2[];

  const makeHandler = (
    deps: { config?: typeof config; secrets?: SecretStore } = {},
  ): ReturnType<typeof withHttpStack> =>
    withHttpStack(
      makeIngestAlertmanagerWebhook({
        config: deps.config ?? config,
        secrets: deps.secrets ?? secrets,
        publisher,
        clock,
      }),
      ingestAlertmanagerWebhookRequest,
    );
  let handler: ReturnType<typeof makeHandler>;

  const deliver = async (input: Delivery = {}, to = handler) => {
    const result = await to(webhookEvent(input), lambdaContext);
    answers.push(result);
    return { statusCode: result.statusCode, body: bodyOf(result), headers: result.headers ?? {} };
  };

  beforeEach(async () => {
    logLines = captureOutput();
    answers = [];
    now = new Date("2026-05-01T12:00:00Z");
    clock = { now: () => now };
    db = openDatabase(":memory:");
    secrets = await storedSecrets(db, { [tokenSecret]: token }, clock);
    publisher = new RecordingPublisher();
    handler = makeHandler();
  });

  afterEach(() => {
    vi.restoreAllMocks();
    db.close();
  });

  it("puts a group of 50 alerts on the bus as 50 Alert Received events, at most 10 per request", async () => {
    const sent = notification(50);

    const answer = await deliver({ body: JSON.stringify(sent) });

    expect(answer).toMatchObject({ statusCode: 202, body: { accepted: 50, truncatedAlerts: 0 } });
    expect(publisher.published).toHaveLength(50);
    expect(publisher.calls.map((call) => call.length)).toEqual([10, 10, 10, 10, 10]);
    expect(publisher.published.map((event) => event.detail.fingerprint)).toEqual(
      sent.alerts.map((alert: { fingerprint: string }) => alert.fingerprint),
    );
    for (const event of publisher.published) {
      expect(event.source ?? "switchyard").toBe("switchyard");
      expect(event.detailType).toBe("Alert Received");
      alertReceivedDetailSchema.parse(event.detail);
    }
    expect(publisher.published[0]?.detail).toMatchObject({
      alertSource: "alertmanager",
      status: "firing",
      severity: "critical",
      service: "checkout",
      summary: "CheckoutHighErrorRate: checkout is failing 7.3% of requests",
      runbookUrl: "https://runbooks.example.com/checkout/high-error-rate",
    });
  });

  it("says how many alerts Alertmanager left out, and logs it", async () => {
    const answer = await deliver({ body: JSON.stringify(notification(3, { truncatedAlerts: 7 })) });

    expect(answer).toMatchObject({ statusCode: 202, body: { accepted: 3, truncatedAlerts: 7 } });
    expect(publisher.published).toHaveLength(3);
    expect(logLines.join("")).toMatch(/max_alerts[\s\S]*"truncatedAlerts":7/);
  });

  it.each([
    { case: "a forged token", authorization: `Bearer ${forgedToken}`, error: true },
    { case: "a token of another length", authorization: `Bearer ${token}x`, error: true },
    {
      case: "a Basic credential",
      authorization: `Basic ${Buffer.from(`am:${token}`).toString("base64")}`,
      error: true,
    },
    { case: "Bearer without a token", authorization: "Bearer ", error: true },
    { case: "no Authorization header", authorization: null, error: false },
  ])("refuses $case with 401 and publishes nothing", async ({ authorization, error }) => {
    const answer = await deliver({ authorization });

    expect(answer.statusCode).toBe(401);
    expect(answer.body).toMatchObject({ error: "Unauthorized" });
    expect(answer.headers["www-authenticate"]).toBe(
      error ? 'Bearer realm="switchyard", error="invalid_token"' : 'Bearer realm="switchyard"',
    );
    expect(publisher.published).toEqual([]);
  });

  it("accepts the scheme in any case, and a token stored with a trailing newline", async () => {
    await secrets.putSecretValue(tokenSecret, `${token}\n`);
    const fresh = makeHandler();

    expect((await deliver({ authorization: `bearer ${token}` }, fresh)).statusCode).toBe(202);
  });

  it("checks the token before the body: an unauthenticated caller learns nothing of the schema or the limit", async () => {
    const forged = `Bearer ${forgedToken}`;

    expect((await deliver({ authorization: forged, body: "{not json" })).statusCode).toBe(401);
    expect(
      (await deliver({ authorization: forged, body: Buffer.alloc(maxWebhookBodyBytes + 1, 32) })).statusCode,
    ).toBe(401);
  });

  it("refuses a body that is not JSON with 400", async () => {
    const answer = await deliver({ body: '{"version": "4", "alerts": [' });

    expect(answer.statusCode).toBe(400);
    expect(answer.body).toMatchObject({ error: "ValidationError" });
    expect((answer.body as { message: string }).message).toMatch(/^Request body is not valid JSON/);
    expect(publisher.published).toEqual([]);
  });

  it.each([
    {
      case: "a bad fingerprint",
      body: notification(3, {}),
      mutate: (body: ReturnType<typeof notification>) => {
        body.alerts[2].fingerprint = "not-a-fingerprint";
      },
      message: "body.alerts[2].fingerprint: expected a 16-character hex alert fingerprint",
    },
    {
      case: "another payload version",
      body: notification(1),
      mutate: (body: ReturnType<typeof notification>) => {
        body.version = "3";
      },
      message: "body.version:",
    },
    {
      case: "a missing status",
      body: notification(1),
      mutate: (body: ReturnType<typeof notification>) => {
        delete body.alerts[0].status;
      },
      message: 'body.alerts[0].status: Invalid option: expected one of "firing"|"resolved"',
    },
    {
      case: "no alerts",
      body: notification(0),
      mutate: () => undefined,
      message: "body.alerts:",
    },
  ])("refuses $case with 400 naming the path, and publishes nothing", async ({ body, mutate, message }) => {
    mutate(body);

    const answer = await deliver({ body: JSON.stringify(body) });

    expect(answer.statusCode).toBe(400);
    expect((answer.body as { message: string }).message).toContain("Invalid Alertmanager notification");
    expect((answer.body as { message: string }).message).toContain(message);
    expect(publisher.published).toEqual([]);
  });

  it("refuses a body over 1 MB with 413 and publishes nothing", async () => {
    const body = JSON.stringify(notification(1, { padding: "p".repeat(maxWebhookBodyBytes) }));

    const answer = await deliver({ body });

    expect(answer.statusCode).toBe(413);
    expect(answer.body).toMatchObject({ error: "PayloadTooLarge" });
    expect(publisher.published).toEqual([]);
  });

  it("accepts a body of exactly 1 MB", async () => {
    const base = JSON.stringify(notification(1, { padding: "" }));
    const body = base.replace('"padding":""', `"padding":"${"p".repeat(maxWebhookBodyBytes - base.length)}"`);
    expect(Buffer.byteLength(body)).toBe(maxWebhookBodyBytes);

    expect((await deliver({ body })).statusCode).toBe(202);
  });

  it("answers 503 when the bus refuses, so Alertmanager retries the group", async () => {
    publisher.failure = new EventPublishError(
      "1 of 1 event(s) not published: Alert Received: ThrottlingException",
      [{ detailType: "Alert Received", errorCode: "ThrottlingException", errorMessage: "Rate exceeded" }],
    );

    const answer = await deliver();

    expect(answer.statusCode).toBe(503);
    expect(answer.body).toMatchObject({ error: "ServiceUnavailable" });
  });

  it("answers 500 when the token cannot be read, never 401 and never naming more than the secret", async () => {
    const failing = {
      getSecretValue: async () => {
        throw Object.assign(new Error("AccessDeniedException: not allowed"), {
          name: "AccessDeniedException",
        });
      },
    } as unknown as SecretStore;

    const answer = await deliver({}, makeHandler({ secrets: failing }));

    expect(answer.statusCode).toBe(500);
    expect(JSON.stringify(answer.body)).not.toContain("AccessDenied");
    expect(publisher.published).toEqual([]);
  });

  it("refuses every token when the stored one is empty", async () => {
    await secrets.putSecretValue(tokenSecret, "   ");

    const answer = await deliver({ authorization: "Bearer x" }, makeHandler());

    expect(answer.statusCode).toBe(500);
    expect(publisher.published).toEqual([]);
  });

  it("reads a rotated token again, at most every 30 seconds", async () => {
    expect((await deliver()).statusCode).toBe(202);
    const rotated = "amtok-ffffffffffffffffffffffffffffffff";
    await secrets.putSecretValue(tokenSecret, rotated);

    // Just read: a token it does not know is refused without reading the store again.
    now = new Date(now.getTime() + 1_000);
    expect((await deliver({ authorization: `Bearer ${rotated}` })).statusCode).toBe(401);

    now = new Date(now.getTime() + tokenRefreshIntervalSeconds * 1_000);
    expect((await deliver({ authorization: `Bearer ${rotated}` })).statusCode).toBe(202);
  });

  it("keeps accepting the previous token for the rotation's overlap, and only then", async () => {
    const overlapConfig = testConfig({
      secrets: [
        { name: tokenSecret, rotation: { schedule: "rate(30 days)", strategy: "api-key", overlapHours: 2 } },
      ],
    });
    const rotated = "amtok-1111111111111111111111111111111a";
    await secrets.putSecretValue(tokenSecret, rotated);

    const withOverlap = makeHandler({ config: overlapConfig });
    expect((await deliver({ authorization: `Bearer ${token}` }, withOverlap)).statusCode).toBe(202);
    expect((await deliver({ authorization: `Bearer ${rotated}` }, withOverlap)).statusCode).toBe(202);
    // Without an overlap configured the previous token is refused at once.
    expect((await deliver({ authorization: `Bearer ${token}` }, makeHandler())).statusCode).toBe(401);

    now = new Date(now.getTime() + 3 * 3_600_000);
    expect(
      (await deliver({ authorization: `Bearer ${token}` }, makeHandler({ config: overlapConfig })))
        .statusCode,
    ).toBe(401);
  });

  it("never writes the token, sent or stored, to a log line, an error or an answer", async () => {
    await deliver();
    await deliver({ authorization: `Bearer ${forgedToken}` });
    await deliver({ authorization: null });
    await deliver({ body: "{oops" });
    await deliver({ body: JSON.stringify({ ...notification(1), version: token }) });
    publisher.failure = new Error("boom");
    await deliver();

    const everything = [...logLines, ...answers.map((a) => JSON.stringify(a))].join("\n");
    expect(logLines.length).toBeGreaterThan(0);
    expect(everything).not.toContain(token);
    expect(everything).not.toContain(forgedToken);
  });
});
