// PagerDuty v3 webhooks: only signed deliveries count, and an acknowledgement in PagerDuty acknowledges the incident.

import { createHmac } from "node:crypto";
import type { APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { Clock, NewIncident } from "../../functions/core/ports.ts";
import {
  agentName,
  ingestPagerdutyWebhookRequest,
  ingestPagerdutyWebhookRoute,
  makeIngestPagerdutyWebhook,
  maxPagerdutyWebhookBytes,
  secretRefreshIntervalSeconds,
} from "../../functions/handlers/ingest-pagerduty-webhook.ts";
import { withHttpStack } from "../../functions/wiring/http.ts";
import { SqliteIncidentStore } from "../../local/adapters/sqlite-incident-store.ts";
import type { SqliteSecretStore } from "../../local/adapters/sqlite-secret-store.ts";
import { openDatabase, type SqliteDatabase } from "../../local/db.ts";
import { testConfig } from "../support/config.ts";
import { RecordingCallbacks, RecordingPublisher, storedSecrets } from "../support/fakes.ts";
import { apiGatewayEvent, captureOutput, testLambdaContext } from "../support/http.ts";

vi.hoisted(() => {
  process.env.POWERTOOLS_LOG_LEVEL = "DEBUG";
});

const webhookSecretName = "switchyard/pagerduty-webhook-secret";
const webhookSecret = "pd-whsec-3c9f1e2d7b8a4c6e9d0f1a2b3c4d5e6f";
const rotatedSecret = "pd-whsec-00aa11bb22cc33dd44ee55ff66778899";
const forgedSecret = "pd-whsec-ffffffffffffffffffffffffffffffff";
const fingerprint = "845c32a29100d116";
const incidentId = "7d7c1a52-0b3e-4f5a-9c21-3e4d5f6a7b8c";
const waitToken = "sfn-task-token-pagerduty-test";

const config = testConfig();

const lambdaContext = testLambdaContext("switchyard-ingest-pagerduty-webhook");

/** A v3 delivery as PagerDuty documents it (developer-docs, webhooks/01-Overview.md), for the incident key given. */
const webhook = (
  input: { eventType?: string; incidentKey?: string | null; agent?: unknown; dataType?: string } = {},
) => ({
  event: {
    id: "5ac64822-4adc-4fda-ade0-410becf0de4f",
    event_type: input.eventType ?? "incident.acknowledged",
    resource_type: "incident",
    occurred_at: "2026-11-28T08:01:22.169Z",
    agent:
      input.agent === undefined
        ? {
            html_url: "https://acme.pagerduty.com/users/PLH1HKV",
            id: "PLH1HKV",
            self: "https://api.pagerduty.com/users/PLH1HKV",
            summary: "Maria Lopez",
            type: "user_reference",
          }
        : input.agent,
    client: { name: "PagerDuty" },
    data: {
      id: "PGR0VU2",
      type: input.dataType ?? "incident",
      self: "https://api.pagerduty.com/incidents/PGR0VU2",
      html_url: "https://acme.pagerduty.com/incidents/PGR0VU2",
      number: 2,
      status: "acknowledged",
      incident_key: input.incidentKey === undefined ? fingerprint : input.incidentKey,
      created_at: "2026-11-28T07:58:03Z",
      title: "CheckoutHighErrorRate: checkout is failing 7.3% of requests",
      service: {
        html_url: "https://acme.pagerduty.com/services/PF9KMXH",
        id: "PF9KMXH",
        self: "https://api.pagerduty.com/services/PF9KMXH",
        summary: "Checkout",
        type: "service_reference",
      },
      assignees: [],
      urgency: "high",
      resolve_reason: null,
    },
  },
});

const sign = (secret: string, body: string | Buffer): string =>
  `v1=${createHmac("sha256", secret).update(body).digest("hex")}`;

interface Delivery {
  body?: string | Buffer;
  /** The whole X-PagerDuty-Signature header; null sends none; default: signed with the webhook secret. */
  signature?: string | null;
}

const webhookEvent = (input: Delivery = {}) => {
  const body = input.body ?? JSON.stringify(webhook());
  const raw = typeof body === "string" ? Buffer.from(body) : body;
  const headers: Record<string, string> = {
    "content-type": "application/json",
    "user-agent": "PagerDuty-Webhook/V3.0",
    "x-webhook-id": "b34c6a06-9e9f-4a4a-9b1f-2b1c9e8f0a11",
  };
  const signature = input.signature === undefined ? sign(webhookSecret, raw) : input.signature;
  if (signature !== null) headers["x-pagerduty-signature"] = signature;
  return apiGatewayEvent({ route: ingestPagerdutyWebhookRoute, headers, body: raw });
};

const newIncident = (overrides: Partial<NewIncident> = {}): NewIncident => ({
  id: incidentId,
  fingerprint,
  startsAt: "2026-11-28T07:58:00.000Z",
  alertSource: "alertmanager",
  severity: "critical",
  service: "checkout",
  summary: "CheckoutHighErrorRate: checkout is failing 7.3% of requests",
  labels: { alertname: "CheckoutHighErrorRate" },
  openedAt: "2026-11-28T07:58:01.000Z",
  ...overrides,
});

describe("ingest-pagerduty-webhook", () => {
  let db: SqliteDatabase;
  let store: SqliteIncidentStore;
  let secrets: SqliteSecretStore;
  let publisher: RecordingPublisher;
  let callbacks: RecordingCallbacks;
  let now: Date;
  let clock: Clock;
  let logLines: string[];

  const makeHandler = () =>
    withHttpStack(
      makeIngestPagerdutyWebhook({ config, secrets, incidents: store, callbacks, publisher, clock }),
      ingestPagerdutyWebhookRequest,
    );
  let handler: ReturnType<typeof makeHandler>;

  const deliver = async (input: Delivery = {}, to = handler) => {
    const result = (await to(webhookEvent(input), lambdaContext)) as APIGatewayProxyStructuredResultV2;
    return { statusCode: result.statusCode, body: JSON.parse(result.body ?? "null") };
  };

  const expectNothingAcknowledged = async () => {
    expect((await store.get(incidentId))?.status).toBe("open");
    expect(publisher.published).toEqual([]);
    expect(callbacks.successes).toEqual([]);
  };

  beforeEach(async () => {
    logLines = captureOutput();
    now = new Date("2026-11-28T08:01:23.000Z");
    clock = { now: () => now };
    db = openDatabase(":memory:");
    store = new SqliteIncidentStore({ db });
    secrets = await storedSecrets(db, { [webhookSecretName]: webhookSecret }, clock);
    publisher = new RecordingPublisher();
    callbacks = new RecordingCallbacks();
    handler = makeHandler();
    await store.open(newIncident());
    await store.setWaitToken(incidentId, waitToken);
  });

  afterEach(() => {
    // Neither secret reaches the log.
    for (const line of logLines) {
      expect(line).not.toContain(webhookSecret);
      expect(line).not.toContain(rotatedSecret);
    }
    vi.restoreAllMocks();
    db.close();
  });

  it("acknowledges the incident whose fingerprint is the PagerDuty incident_key, as the PagerDuty user", async () => {
    const answer = await deliver();

    expect(answer).toEqual({
      statusCode: 200,
      body: { action: "acknowledged", incidentId, changed: true },
    });
    const incident = await store.get(incidentId);
    expect(incident).toMatchObject({
      status: "acknowledged",
      acknowledgedBy: "Maria Lopez",
      acknowledgedAt: now.toISOString(),
    });
    expect(incident?.timeline.at(-1)?.message).toBe("acknowledged by Maria Lopez (pagerduty)");
    expect(publisher.published).toEqual([
      expect.objectContaining({
        detailType: "Incident Acknowledged",
        detail: expect.objectContaining({ incidentId, acknowledgedBy: "Maria Lopez" }),
      }),
    ]);
    expect(callbacks.successes).toEqual([{ token: waitToken, output: { outcome: "acknowledged" } }]);
  });

  it("answers a repeated delivery with changed: false and publishes nothing more", async () => {
    await deliver();
    const again = await deliver();

    expect(again).toEqual({ statusCode: 200, body: { action: "acknowledged", incidentId, changed: false } });
    expect(publisher.published).toHaveLength(1);
    expect(callbacks.successes).toHaveLength(1);
  });

  it.each([
    ["the new secret's signature first", () => [sign(rotatedSecret, body()), sign(webhookSecret, body())]],
    ["the old secret's signature first", () => [sign(webhookSecret, body()), sign(rotatedSecret, body())]],
    [
      "blanks around the commas",
      () => [` ${sign(forgedSecret, body())} `, ` ${sign(webhookSecret, body())}`],
    ],
    ["a signature of an unknown version beside it", () => ["v2=abc", sign(webhookSecret, body())]],
  ])("accepts a rotated multi-signature header with %s", async (_, signatures) => {
    const answer = await deliver({ body: body(), signature: signatures().join(",") });
    expect(answer.statusCode).toBe(200);
    expect(answer.body).toMatchObject({ action: "acknowledged" });
  });

  it("accepts signatures made with the pending secret while the stored secret rotates", async () => {
    await secrets.putSecretValue(webhookSecretName, rotatedSecret, { versionStages: ["AWSPENDING"] });
    const answer = await deliver({ body: body(), signature: sign(rotatedSecret, body()) });
    expect(answer.statusCode).toBe(200);
  });

  it("accepts upper-case hex digits", async () => {
    const answer = await deliver({
      body: body(),
      signature: `v1=${sign(webhookSecret, body()).slice(3).toUpperCase()}`,
    });
    expect(answer.statusCode).toBe(200);
  });

  it.each([
    ["a forged signature", () => sign(forgedSecret, body()), /does not match/],
    ["a signature of another body", () => sign(webhookSecret, `${body()} `), /does not match/],
    [
      "two forged signatures",
      () => `${sign(forgedSecret, body())},${sign(rotatedSecret, body())}`,
      /does not match/,
    ],
    ["no header", () => null, /missing/],
    ["an empty header", () => "", /missing/],
    ["only another version", () => `v0=${"ab".repeat(32)}`, /no v1= signature/],
    ["a short signature", () => `v1=${"ab".repeat(16)}`, /no v1= signature/],
    [
      "a bare digest",
      () => createHmac("sha256", webhookSecret).update(body()).digest("hex"),
      /no v1= signature/,
    ],
    [
      "too many signatures",
      () => Array.from({ length: 11 }, () => sign(webhookSecret, body())).join(","),
      /more than 10/,
    ],
  ])("refuses %s with 401 and acknowledges nothing", async (_, signature, message) => {
    const answer = await deliver({ body: body(), signature: signature() });

    expect(answer.statusCode).toBe(401);
    expect(answer.body).toMatchObject({ error: "Unauthorized", message: expect.stringMatching(message) });
    expect(JSON.stringify(answer.body)).not.toContain(webhookSecret);
    await expectNothingAcknowledged();
  });

  it("re-reads the secret after a mismatch, at most every 30 s, so a new secret is picked up", async () => {
    expect((await deliver()).statusCode).toBe(200);
    await secrets.putSecretValue(webhookSecretName, rotatedSecret);
    const signedNew = { body: body(), signature: sign(rotatedSecret, body()) };

    expect((await deliver(signedNew)).statusCode).toBe(401);
    now = new Date(now.getTime() + secretRefreshIntervalSeconds * 1_000);
    expect((await deliver(signedNew)).statusCode).toBe(200);
  });

  it("answers 500 without naming the secret when the secret cannot be read", async () => {
    const answer = await deliver(
      {},
      withHttpStack(
        makeIngestPagerdutyWebhook({
          config: {
            ...config,
            incidents: {
              ...config.incidents,
              pagerduty: { ...config.incidents.pagerduty, webhookSecret: { secret: "switchyard/missing" } },
            },
          },
          secrets,
          incidents: store,
          callbacks,
          publisher,
          clock,
        }),
        ingestPagerdutyWebhookRequest,
      ),
    );
    expect(answer.statusCode).toBe(500);
    expect(JSON.stringify(answer.body)).not.toContain("switchyard/missing");
    await expectNothingAcknowledged();
  });

  it("ignores an acknowledgement of a PagerDuty incident Switchyard did not open", async () => {
    const answer = await deliver({ body: JSON.stringify(webhook({ incidentKey: "someone-elses-key" })) });

    expect(answer).toEqual({
      statusCode: 200,
      body: { action: "ignored", reason: "no open Switchyard incident has this incident_key" },
    });
    await expectNothingAcknowledged();
  });

  it.each([null, "", "k".repeat(256)])(
    "ignores an incident whose incident_key is %j",
    async (incidentKey) => {
      const answer = await deliver({ body: JSON.stringify(webhook({ incidentKey })) });
      expect(answer.statusCode).toBe(200);
      expect(answer.body).toMatchObject({ action: "ignored" });
      await expectNothingAcknowledged();
    },
  );

  it("ignores an acknowledgement of an incident already resolved in Switchyard", async () => {
    const incident = await store.get(incidentId);
    await store.update(incidentId, incident?.version ?? 0, {
      status: "resolved",
      resolvedAt: "2026-11-28T08:00:00.000Z",
      resolution: "alert-resolved",
    });
    const answer = await deliver();
    expect(answer).toMatchObject({ statusCode: 200, body: { action: "ignored" } });
    expect(publisher.published).toEqual([]);
  });

  it.each([
    "incident.triggered",
    "incident.resolved",
    "incident.unacknowledged",
    "incident.annotated",
    "incident.escalated",
    "service.updated",
    "pagey.ping",
  ])("ignores %s events", async (eventType) => {
    const answer = await deliver({ body: JSON.stringify(webhook({ eventType })) });

    expect(answer).toEqual({
      statusCode: 200,
      body: { action: "ignored", reason: `${eventType} events change nothing in Switchyard` },
    });
    await expectNothingAcknowledged();
  });

  it("ignores an acknowledgement whose data is not an incident", async () => {
    const answer = await deliver({ body: JSON.stringify(webhook({ dataType: "incident_note" })) });
    expect(answer).toMatchObject({ statusCode: 200, body: { action: "ignored" } });
    await expectNothingAcknowledged();
  });

  it.each([
    ["no agent", null, "PagerDuty"],
    ["an agent without a name", { id: "PXYZ", type: "service_reference" }, "PagerDuty"],
    [
      "a name with Slack markup",
      { type: "user_reference", summary: "<!channel> Mallory" },
      "!channel Mallory",
    ],
  ])("records %s as %s", async (_, agent, by) => {
    const answer = await deliver({ body: JSON.stringify(webhook({ agent })) });
    expect(answer.statusCode).toBe(200);
    expect((await store.get(incidentId))?.acknowledgedBy).toBe(by);
  });

  it("caps an agent's name", () => {
    expect(agentName({ summary: "a".repeat(300) })).toHaveLength(200);
  });

  it.each([
    ["not JSON", "{", /not valid JSON/],
    ["without an event", JSON.stringify({ messages: [] }), /body\.event: required/],
    ["without an event type", JSON.stringify({ event: { id: "x" } }), /body\.event\.event_type/],
  ])("refuses a signed body %s with 400", async (_, text, message) => {
    const answer = await deliver({ body: text, signature: sign(webhookSecret, text) });
    expect(answer.statusCode).toBe(400);
    expect(answer.body).toMatchObject({ error: "ValidationError", message: expect.stringMatching(message) });
    await expectNothingAcknowledged();
  });

  it("refuses a body over 256 KB with 413 before checking anything", async () => {
    const text = JSON.stringify({ ...webhook(), padding: "x".repeat(maxPagerdutyWebhookBytes) });
    const answer = await deliver({ body: text, signature: sign(webhookSecret, text) });
    expect(answer.statusCode).toBe(413);
    await expectNothingAcknowledged();
  });

  it("verifies the raw bytes, so a UTF-8 name survives", async () => {
    const text = JSON.stringify(webhook({ agent: { type: "user_reference", summary: "Zoë Ångström" } }));
    const answer = await deliver({ body: text, signature: sign(webhookSecret, Buffer.from(text, "utf8")) });
    expect(answer.statusCode).toBe(200);
    expect((await store.get(incidentId))?.acknowledgedBy).toBe("Zoë Ångström");
  });
});

function body(): string {
  return JSON.stringify(webhook());
}
