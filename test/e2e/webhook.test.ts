// GitHub webhooks on the local gateway: signed deliveries reach the bus once; forged ones get 401 and change nothing.

import { createHmac } from "node:crypto";
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestRuntime, type TestRuntime } from "../support/runtime.ts";

const payload = readFileSync("events/samples/github.com/release-published.json", "utf8");
const body = JSON.stringify(JSON.parse(payload).detail);

describe("POST /webhooks/github", () => {
  let runtime: TestRuntime;
  let secret: string;
  beforeAll(async () => {
    runtime = await startTestRuntime();
    secret = (await runtime.secrets.getSecretValue(runtime.config.github.webhookSecret)).secretString;
  });
  afterAll(async () => {
    await runtime.dispose();
  });

  const deliver = (signature: string | undefined, delivery: string, content = body) =>
    runtime.call("/webhooks/github", {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "x-github-event": "release",
        "x-github-delivery": delivery,
        ...(signature ? { "x-hub-signature-256": signature } : {}),
      },
      body: content,
    });
  const sign = (content: string, key = secret) =>
    `sha256=${createHmac("sha256", key).update(content).digest("hex")}`;
  const githubEvents = async () =>
    ((await runtime.call("/events?limit=1000")).body.events as { event: { source: string } }[]).filter(
      (e) => e.event.source === "github.com",
    );

  it.each([
    ["no signature", () => undefined],
    ["a signature made with another secret", () => sign(body, "not-the-secret")],
    ["a signature of another body", () => sign(`${body} `)],
    ["a malformed signature", () => "sha256=abc"],
  ])("answers 401 to %s and publishes nothing", async (_name, signature) => {
    const answer = await deliver(signature(), crypto.randomUUID());
    expect(answer.status).toBe(401);
    expect(answer.body.error).toBe("Unauthorized");
    expect(JSON.stringify(answer.body)).not.toContain(secret);
    expect(await githubEvents()).toHaveLength(0);
  });

  it("puts a signed delivery on the bus as source github.com with the event name as detail-type, once", async () => {
    const delivery = crypto.randomUUID();
    const first = await deliver(sign(body), delivery);
    expect(first).toMatchObject({ status: 202, body: { accepted: true, delivery } });
    const again = await deliver(sign(body), delivery);
    expect(again).toMatchObject({ status: 200, body: { duplicate: true } });
    const events = await githubEvents();
    expect(events).toHaveLength(1);
    expect(events[0]?.event).toMatchObject({
      source: "github.com",
      "detail-type": "release",
      detail: JSON.parse(body),
    });
  });
});
