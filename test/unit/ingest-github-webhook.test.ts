// GitHub ingestion: only signed deliveries reach the bus, each once, and the secret never leaves the function.

import { createHmac } from "node:crypto";
import type { APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { EventPublishError } from "../../functions/core/errors.ts";
import type { Clock, IdempotencyStore } from "../../functions/core/ports.ts";
import {
  deliveryTtlSeconds,
  makeIngestGithubWebhook,
  maxEventBytes,
  processingTtlSeconds,
  secretRefreshIntervalSeconds,
} from "../../functions/handlers/ingest-github-webhook.ts";
import { withHttpStack } from "../../functions/wiring/http.ts";
import type { SqliteSecretStore } from "../../local/adapters/sqlite-secret-store.ts";
import { openDatabase, type SqliteDatabase } from "../../local/db.ts";
import { RecordingPublisher, storedSecrets } from "../support/fakes.ts";
import { apiGatewayEvent, captureOutput, testLambdaContext } from "../support/http.ts";

// Log everything, and capture it, so the test of what reaches the log sees every line the function writes.
vi.hoisted(() => {
  process.env.POWERTOOLS_LOG_LEVEL = "DEBUG";
});

/** GitHub's documented test vector: this secret and "Hello, World!" give this signature. */
const documentedSecret = "It's a Secret to Everybody";
const documentedSignature = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";

const secretName = "switchyard/github-webhook";
const secret = "whsec-0d6c1c9e0b6f4d0f8a1b2c3d4e5f6a7b";
const delivery = "72d3162e-cc78-11e3-81ab-4c9367dc0958";
const releasePayload = {
  action: "published",
  release: { tag_name: "v1.4.0" },
  repository: { full_name: "acme/checkout" },
};

const sign = (body: string | Buffer, key = secret): string =>
  `sha256=${createHmac("sha256", key).update(body).digest("hex")}`;

const lambdaContext = testLambdaContext("switchyard-ingest-github-webhook");

class FakeIdempotencyStore implements IdempotencyStore {
  readonly held = new Set<string>();
  readonly claims: { key: string; ttlSeconds: number }[] = [];
  readonly releases: string[] = [];
  readonly completions: { key: string; ttlSeconds: number }[] = [];

  async claim(key: string, ttlSeconds: number): Promise<boolean> {
    this.claims.push({ key, ttlSeconds });
    if (this.held.has(key)) return false;
    this.held.add(key);
    return true;
  }

  async release(key: string): Promise<void> {
    this.releases.push(key);
    this.held.delete(key);
  }

  async complete(key: string, ttlSeconds: number): Promise<void> {
    this.completions.push({ key, ttlSeconds });
    this.held.add(key);
  }
}

interface Delivery {
  body?: string | Buffer;
  signature?: string | null;
  event?: string | null;
  delivery?: string | null;
  contentType?: string;
}

const webhookEvent = (input: Delivery = {}) => {
  const body = input.body ?? JSON.stringify(releasePayload);
  const headers: Record<string, string> = {
    "content-type": input.contentType ?? "application/json",
    "user-agent": "GitHub-Hookshot/044aadd",
    "x-github-hook-id": "292430182",
  };
  const signature = input.signature === undefined ? sign(body) : input.signature;
  if (signature !== null) headers["x-hub-signature-256"] = signature;
  const event = input.event === undefined ? "release" : input.event;
  if (event !== null) headers["x-github-event"] = event;
  const id = input.delivery === undefined ? delivery : input.delivery;
  if (id !== null) headers["x-github-delivery"] = id;
  return apiGatewayEvent({ route: { method: "POST", path: "/webhooks/github" }, headers, body });
};

const bodyOf = (result: APIGatewayProxyStructuredResultV2): unknown => JSON.parse(result.body ?? "null");

describe("ingest-github-webhook", () => {
  let db: SqliteDatabase;
  let secrets: SqliteSecretStore;
  let idempotency: FakeIdempotencyStore;
  let publisher: RecordingPublisher;
  let now: Date;
  let clock: Clock;
  let handler: ReturnType<typeof makeHandler>;
  let logLines: string[];

  const makeHandler = () =>
    withHttpStack(makeIngestGithubWebhook({ secrets, secretName, idempotency, publisher, clock }));
  const deliver = async (input: Delivery = {}) => {
    const result = await handler(webhookEvent(input), lambdaContext);
    return { statusCode: result.statusCode, body: bodyOf(result), raw: result };
  };

  beforeEach(async () => {
    logLines = captureOutput();
    db = openDatabase(":memory:");
    secrets = await storedSecrets(db, { [secretName]: secret });
    idempotency = new FakeIdempotencyStore();
    publisher = new RecordingPublisher();
    now = new Date("2026-05-01T12:00:00Z");
    clock = { now: () => now };
    handler = makeHandler();
  });

  afterEach(() => {
    vi.restoreAllMocks();
    db.close();
  });

  it("puts a signed delivery on the bus as source github.com with the event name as detail-type", async () => {
    const answer = await deliver();

    expect(answer).toMatchObject({ statusCode: 202, body: { accepted: true, delivery } });
    expect(publisher.published).toEqual([
      { source: "github.com", detailType: "release", detail: releasePayload, resources: [] },
    ]);
    // Held briefly while publishing, then remembered for the whole window once published.
    expect(idempotency.claims).toEqual([
      { key: `github-delivery:${delivery}`, ttlSeconds: processingTtlSeconds },
    ]);
    expect(idempotency.completions).toEqual([
      { key: `github-delivery:${delivery}`, ttlSeconds: deliveryTtlSeconds },
    ]);
  });

  it("checks the signature over the raw bytes, also when API Gateway base64-encoded them (form deliveries)", async () => {
    const form = `payload=${encodeURIComponent(JSON.stringify(releasePayload))}`;

    const answer = await deliver({ body: form, contentType: "application/x-www-form-urlencoded" });

    expect(
      webhookEvent({ body: form, contentType: "application/x-www-form-urlencoded" }).isBase64Encoded,
    ).toBe(true);
    expect(answer.statusCode).toBe(202);
    expect(publisher.published.map((e) => e.detail)).toEqual([releasePayload]);
  });

  it("accepts GitHub's documented test vector (and then refuses its body, which is not JSON)", async () => {
    await secrets.putSecretValue(secretName, documentedSecret);

    const answer = await deliver({ body: "Hello, World!", signature: documentedSignature });

    expect(answer.statusCode).toBe(400);
    expect(answer.body).toEqual({
      error: "ValidationError",
      message: expect.stringMatching(/^Request body is not valid JSON/),
    });
  });

  it.each([
    ["a forged signature", { signature: `sha256=${"0".repeat(64)}` }],
    ["no signature", { signature: null }],
    ["the signature of another body", { signature: sign(JSON.stringify({ action: "deleted" })) }],
    ["a signature made with another secret", { signature: sign(JSON.stringify(releasePayload), "guessed") }],
    ["a signature of the wrong length", { signature: `sha256=${"ab".repeat(16)}` }],
    ["a SHA-1 signature", { signature: `sha1=${"a".repeat(40)}` }],
    [
      "a signature without its prefix",
      { signature: sign(JSON.stringify(releasePayload)).slice("sha256=".length) },
    ],
    ["a forged delivery missing its other headers too", { signature: null, event: null, delivery: null }],
  ])("answers 401 to %s and neither claims nor publishes", async (_, input: Delivery) => {
    const answer = await deliver(input);

    expect(answer.statusCode).toBe(401);
    expect(answer.body).toEqual({
      error: "Unauthorized",
      message: expect.stringContaining("X-Hub-Signature-256"),
    });
    expect(idempotency.claims).toEqual([]);
    expect(publisher.published).toEqual([]);
  });

  it.each([
    ["X-GitHub-Event is missing", { event: null }, "X-GitHub-Event header is missing"],
    ["X-GitHub-Delivery is missing", { delivery: null }, "X-GitHub-Delivery header is missing"],
    ["the event name is not GitHub's", { event: "Release!" }, "X-GitHub-Event is not a GitHub event name"],
    ["the body is not JSON", { body: "{not json" }, "Request body is not valid JSON"],
    ["the body is a JSON array", { body: "[1,2]" }, "Request body is not a JSON object"],
  ])("answers 400 when %s, signed or not, and publishes nothing", async (_, input: Delivery, message) => {
    const answer = await deliver(input);

    expect(answer.statusCode).toBe(400);
    expect(answer.body).toEqual({ error: "ValidationError", message: expect.stringContaining(message) });
    expect(idempotency.claims).toEqual([]);
    expect(publisher.published).toEqual([]);
  });

  it("answers a ping with pong, and neither claims nor publishes it", async () => {
    const answer = await deliver({
      event: "ping",
      body: JSON.stringify({ zen: "Keep it logically awesome.", hook_id: 1 }),
    });

    expect(answer).toMatchObject({ statusCode: 200, body: { pong: true } });
    expect(idempotency.claims).toEqual([]);
    expect(publisher.published).toEqual([]);
  });

  it("publishes a repeated delivery once and answers the repeat as a duplicate", async () => {
    const first = await deliver();
    const second = await deliver();

    expect(first.statusCode).toBe(202);
    expect(second).toMatchObject({ statusCode: 200, body: { duplicate: true, delivery } });
    expect(publisher.published).toHaveLength(1);
  });

  it("answers 5xx and releases the claim when publishing fails, so GitHub's redelivery goes through", async () => {
    publisher.failure = new EventPublishError("1 of 1 event(s) not published: release: ThrottlingException", [
      { detailType: "release", errorCode: "ThrottlingException", errorMessage: "Rate exceeded" },
    ]);

    const failed = await deliver();

    expect(failed.statusCode).toBe(503);
    expect(failed.body).toEqual({
      error: "ServiceUnavailable",
      message: expect.stringMatching(/^The request could not be completed now; retry later \(request .+\)$/),
    });
    expect(idempotency.releases).toEqual([`github-delivery:${delivery}`]);

    publisher.failure = undefined;
    const redelivered = await deliver();

    expect(redelivered.statusCode).toBe(202);
    expect(publisher.published).toHaveLength(1);
  });

  it("answers a generic 500 when publishing fails in an unexpected way, without its details", async () => {
    publisher.failure = new Error("socket hang up talking to events.eu-west-1.amazonaws.com");

    const failed = await deliver();

    expect(failed.statusCode).toBe(500);
    expect(failed.body).toEqual({
      error: "InternalError",
      message: expect.stringMatching(/^The request could not be completed/),
    });
    expect(failed.raw.body).not.toContain("socket");
    expect(idempotency.releases).toEqual([`github-delivery:${delivery}`]);
  });

  it("answers 413 for a payload no EventBridge event can hold, without claiming it", async () => {
    const body = JSON.stringify({ action: "published", padding: "x".repeat(maxEventBytes) });

    const answer = await deliver({ body });

    expect(answer.statusCode).toBe(413);
    expect(answer.body).toMatchObject({ error: "PayloadTooLarge" });
    expect(idempotency.claims).toEqual([]);
  });

  it("accepts either side of a rotation: AWSCURRENT and AWSPENDING", async () => {
    const next = "whsec-rotated-5b0f6f4e9d7c4a2b8e1f3a6c9d2e5f80";
    await secrets.putSecretValue(secretName, next, { versionStages: ["AWSPENDING"] });

    const withCurrent = await deliver({ delivery: "d-current" });
    const body = JSON.stringify(releasePayload);
    const withPending = await deliver({ delivery: "d-pending", body, signature: sign(body, next) });

    expect([withCurrent.statusCode, withPending.statusCode]).toEqual([202, 202]);
  });

  it("accepts the previous secret for overlapHours after a rotation, and refuses it afterwards", async () => {
    const store = await storedSecrets(openDatabase(":memory:"), { [secretName]: secret }, clock);
    now = new Date(now.getTime() + 60_000);
    const rotated = "whsec-rotated-0f1e2d3c4b5a69788796a5b4c3d2e1f0";
    await store.putSecretValue(secretName, rotated);
    const overlapping = () =>
      withHttpStack(
        makeIngestGithubWebhook({
          secrets: store,
          secretName,
          overlapHours: 1,
          idempotency,
          publisher,
          clock,
        }),
      );
    const body = JSON.stringify(releasePayload);
    const send = async (id: string, key: string) =>
      (await overlapping()(webhookEvent({ delivery: id, body, signature: sign(body, key) }), lambdaContext))
        .statusCode;

    expect(await send("d-old-in-overlap", secret)).toBe(202);
    expect(await send("d-new", rotated)).toBe(202);
    now = new Date(now.getTime() + 61 * 60_000);
    expect(await send("d-old-after-overlap", secret)).toBe(401);
    expect(await send("d-new-after-overlap", rotated)).toBe(202);
  });

  it("reads the secret once for many deliveries, and again when a signature fails after a rotation", async () => {
    const reads = vi.spyOn(secrets, "getSecretValue");
    await deliver({ delivery: "d-1" });
    await deliver({ delivery: "d-2" });
    const readsForTwo = reads.mock.calls.length;

    const rotated = "whsec-after-rotation-7c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f";
    await secrets.putSecretValue(secretName, rotated);
    now = new Date(now.getTime() + (secretRefreshIntervalSeconds + 1) * 1_000);
    const body = JSON.stringify(releasePayload);
    const afterRotation = await deliver({ delivery: "d-3", body, signature: sign(body, rotated) });

    expect(readsForTwo).toBe(2); // AWSCURRENT, and the AWSPENDING look-up
    expect(afterRotation.statusCode).toBe(202);
    expect(reads.mock.calls.length).toBe(4);
  });

  it("does not re-read the secret for every forged request", async () => {
    const reads = vi.spyOn(secrets, "getSecretValue");
    await deliver({ delivery: "d-1" });

    for (let i = 0; i < 5; i++) await deliver({ signature: `sha256=${"1".repeat(64)}` });

    expect(reads.mock.calls.length).toBe(2);
  });

  it("answers a generic 500 when the secret cannot be read, naming neither store nor secret", async () => {
    const failing = vi.spyOn(secrets, "getSecretValue").mockRejectedValue(
      Object.assign(new Error("User is not authorized to perform secretsmanager:GetSecretValue"), {
        name: "AccessDeniedException",
      }),
    );

    const answer = await deliver();

    expect(failing).toHaveBeenCalled();
    expect(answer.statusCode).toBe(500);
    expect(answer.raw.body).not.toMatch(/secret|authorized/i);
  });

  it("refuses every delivery when the secret is empty, rather than accept signatures made without a key", async () => {
    await secrets.putSecretValue(secretName, "");
    const body = JSON.stringify(releasePayload);

    const answer = await deliver({ body, signature: sign(body, "") });

    expect(answer.statusCode).toBe(500);
    expect(publisher.published).toEqual([]);
  });

  it("never puts the secret or a signature in an answer or a log line", async () => {
    const answers: string[] = [];
    const signatures: string[] = [];
    const scenarios: Delivery[] = [
      {},
      {},
      { signature: `sha256=${"f".repeat(64)}` },
      { signature: sign("other body") },
      { event: null },
      { body: "{oops" },
      { event: "ping", body: "{}" },
    ];
    for (const scenario of scenarios) {
      signatures.push(scenario.signature ?? sign(scenario.body ?? JSON.stringify(releasePayload)));
      answers.push((await deliver(scenario)).raw.body ?? "");
    }
    publisher.failure = new Error("bus down");
    answers.push((await deliver({ delivery: "d-fail" })).raw.body ?? "");

    const everything = [...answers, ...logLines].join("\n");
    expect(logLines.some((line) => line.includes("GitHub delivery accepted"))).toBe(true);
    expect(logLines.some((line) => line.includes("Request failed"))).toBe(true);
    expect(everything).not.toContain(secret);
    for (const signature of signatures) {
      expect(everything).not.toContain(signature.slice("sha256=".length));
    }
  });
});
