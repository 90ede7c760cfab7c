// The PagerDuty Events API v2 pager against a local receiver: exact payloads, limits, retries and secret hygiene.

import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  EventsApiPager,
  type EventsApiPagerOptions,
  preparePagerEvent,
} from "../../functions/adapters/pagerduty/events-api-pager.ts";
import { NotFoundError, TransientError, ValidationError } from "../../functions/core/errors.ts";
import type { PagerEvent } from "../../functions/core/ports.ts";
import { failureOf, messages } from "../support/errors.ts";
import { fakeSecrets } from "../support/fakes.ts";
import { type PagerDutyReceiver, startPagerDutyReceiver } from "../support/receivers.ts";

const routingKeySecret = "switchyard/pagerduty-routing-key";
const routingKey = "R0UT1NGKEY0F0NCALL0000000000042";
const fingerprint = "6f1c2a9d0e4b7c35";

const trigger: PagerEvent = {
  event_action: "trigger",
  dedup_key: fingerprint,
  payload: {
    summary: "checkout: 5xx ratio above 5% for 10m",
    source: "prometheus/checkout",
    severity: "critical",
    timestamp: "2026-11-28T06:00:00.000Z",
    component: "checkout",
    group: "production",
    class: "HighErrorRate",
    custom_details: { labels: { service: "checkout", severity: "critical" } },
  },
  links: [{ href: "https://runbooks.example.com/checkout-5xx", text: "Runbook" }],
  client: "Switchyard",
  client_url: "https://switchyard.example.com/incidents/1",
};

describe("EventsApiPager", () => {
  let pagerduty: PagerDutyReceiver;
  let sleeps: number[];
  let secrets: ReturnType<typeof fakeSecrets>;

  const pager = (options: Partial<EventsApiPagerOptions> = {}) =>
    new EventsApiPager({
      eventsUrl: pagerduty.eventsUrl,
      secrets: secrets.store,
      sleep: async (ms) => {
        sleeps.push(ms);
      },
      random: () => 0.5,
      ...options,
    });

  beforeEach(async () => {
    pagerduty = await startPagerDutyReceiver();
    sleeps = [];
    secrets = fakeSecrets({ [routingKeySecret]: routingKey });
  });

  afterEach(async () => {
    await pagerduty.close();
  });

  it("POSTs the trigger as JSON with the routing key from the secret store, and returns PagerDuty's answer", async () => {
    const result = await pager().send(routingKeySecret, trigger);

    expect(result).toEqual({ status: "success", dedupKey: fingerprint, delivery: "sent" });
    expect(pagerduty.requests).toHaveLength(1);
    const [request] = pagerduty.requests;
    expect(request?.method).toBe("POST");
    expect(request?.path).toBe("/v2/enqueue");
    expect(request?.headers["content-type"]).toBe("application/json");
    expect(request?.body).toEqual({ routing_key: routingKey, ...trigger });
    expect(request?.status).toBe(202);
    expect(pagerduty.alert(fingerprint)?.status).toBe("triggered");
  });

  it("sends acknowledge and resolve with the dedup key only, as PagerDuty documents them", async () => {
    const subject = pager();
    await subject.send(routingKeySecret, trigger);
    await subject.send(routingKeySecret, { event_action: "acknowledge", dedup_key: fingerprint });
    expect(pagerduty.alert(fingerprint)?.status).toBe("acknowledged");
    const resolved = await subject.send(routingKeySecret, {
      event_action: "resolve",
      dedup_key: fingerprint,
    });

    expect(resolved).toEqual({ status: "success", dedupKey: fingerprint, delivery: "sent" });
    expect(pagerduty.events.slice(1)).toEqual([
      { routing_key: routingKey, event_action: "acknowledge", dedup_key: fingerprint },
      { routing_key: routingKey, event_action: "resolve", dedup_key: fingerprint },
    ]);
    expect(pagerduty.alert(fingerprint)?.status).toBe("resolved");
  });

  it("retries a 429 after a backoff and accepts the second answer", async () => {
    pagerduty.answer([429, 202]);

    const result = await pager().send(routingKeySecret, trigger);

    expect(result.delivery).toBe("sent");
    expect(pagerduty.requests.map((r) => r.status)).toEqual([429, 202]);
    expect(pagerduty.requests[1]?.rawBody).toBe(pagerduty.requests[0]?.rawBody);
    // Full jitter: half (random 0.5) of the first ceiling, baseDelayMs.
    expect(sleeps).toEqual([500]);
  });

  it("backs off exponentially with jitter between retries of 5xx answers", async () => {
    pagerduty.answer(500, 502, 503, 202);

    const result = await pager().send(routingKeySecret, trigger);

    expect(result.status).toBe("success");
    expect(sleeps).toEqual([500, 1_000, 2_000]);
  });

  it("caps each backoff at maxDelayMs", async () => {
    pagerduty.answer(503, 503, 503, 202);

    await pager({ retry: { attempts: 4, baseDelayMs: 1_000, maxDelayMs: 1_500 }, random: () => 0.999 }).send(
      routingKeySecret,
      trigger,
    );

    expect(sleeps).toEqual([999, 1_498, 1_498]);
  });

  it("throws TransientError once the retries of 5xx answers are spent", async () => {
    await pagerduty.down();

    const error = await failureOf(pager().send(routingKeySecret, trigger));

    expect(error).toBeInstanceOf(TransientError);
    expect((error as TransientError).retryable).toBe(true);
    expect(error.name).toBe("TransientError");
    expect(error.message).toContain("HTTP 500");
    expect(error.message).toContain(routingKeySecret);
    expect(pagerduty.requests).toHaveLength(4);
    expect(sleeps).toHaveLength(3);
    for (const message of messages(error)) expect(message).not.toContain(routingKey);
  });

  it("retries network errors: a dropped connection, then accepted", async () => {
    pagerduty.answer("reset", 202);

    const result = await pager().send(routingKeySecret, trigger);

    expect(result.delivery).toBe("sent");
    expect(pagerduty.requests).toHaveLength(2);
  });

  it("retries a request that outlives its deadline", async () => {
    pagerduty.answer({ status: 202, delayMs: 300 });

    const result = await pager({ requestTimeoutMs: 50 }).send(routingKeySecret, trigger);

    expect(result.delivery).toBe("sent");
    expect(pagerduty.requests).toHaveLength(2);
    expect(sleeps).toHaveLength(1);
  });

  it("throws TransientError naming the refused connection when PagerDuty cannot be reached", async () => {
    await pagerduty.down("refuse");

    const error = await failureOf(
      pager({ retry: { attempts: 2, baseDelayMs: 10 } }).send(routingKeySecret, trigger),
    );

    expect(error).toBeInstanceOf(TransientError);
    expect(error.message).toContain("ECONNREFUSED");
    for (const message of messages(error)) expect(message).not.toContain(routingKey);
  });

  it("turns a 400 into a ValidationError with PagerDuty's errors, without retrying", async () => {
    pagerduty.answer({
      status: 400,
      body: {
        status: "invalid event",
        message: "Event object is invalid",
        errors: ["Length of 'routing_key' is incorrect (should be 32 characters)"],
      },
    });

    const error = await failureOf(pager().send(routingKeySecret, trigger));

    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).retryable).toBe(false);
    expect(error.message).toContain("invalid event: Event object is invalid");
    expect(error.message).toContain("Length of 'routing_key' is incorrect (should be 32 characters)");
    expect(error.message).toContain(routingKeySecret);
    expect(pagerduty.requests).toHaveLength(1);
    expect(sleeps).toEqual([]);
  });

  it("blanks out the routing key when PagerDuty's answer repeats it", async () => {
    pagerduty.answer({
      status: 400,
      body: {
        status: "invalid event",
        message: "Event object is invalid",
        errors: [`unknown key ${routingKey}`],
      },
    });

    const error = await failureOf(pager().send(routingKeySecret, trigger));

    expect(error.message).toContain("unknown key [routing key]");
    for (const message of messages(error)) expect(message).not.toContain(routingKey);
  });

  it("clips a summary over 1,024 characters to 1,024 ending in …", async () => {
    const summary = `checkout ${"x".repeat(2_000)}`;

    await pager().send(routingKeySecret, { ...trigger, payload: { ...trigger.payload!, summary } });

    const sent = (pagerduty.requests[0]!.body as { payload: { summary: string } }).payload.summary;
    expect(sent).toHaveLength(1_024);
    expect(sent).toBe(`${summary.slice(0, 1_023)}…`);
    expect(pagerduty.requests[0]?.status).toBe(202);
  });

  it("keeps a summary of exactly 1,024 characters as it is", async () => {
    const summary = "s".repeat(1_024);

    await pager().send(routingKeySecret, { ...trigger, payload: { ...trigger.payload!, summary } });

    expect((pagerduty.requests[0]!.body as { payload: { summary: string } }).payload.summary).toBe(summary);
  });

  it("never clips between the halves of a surrogate pair", () => {
    const summary = `${"a".repeat(1_022)}😀${"b".repeat(10)}`;

    const clipped = preparePagerEvent({ ...trigger, payload: { ...trigger.payload!, summary } }).payload!
      .summary;

    expect(clipped).toBe(`${"a".repeat(1_022)}…`);
  });

  it("accepts a dedup_key of 255 characters", async () => {
    const dedupKey = "k".repeat(255);

    const result = await pager().send(routingKeySecret, { ...trigger, dedup_key: dedupKey });

    expect(result.dedupKey).toBe(dedupKey);
  });

  it("refuses a dedup_key over 255 characters rather than page a different alert, and sends nothing", async () => {
    const error = await failureOf(pager().send(routingKeySecret, { ...trigger, dedup_key: "k".repeat(256) }));

    expect(error).toBeInstanceOf(ValidationError);
    expect(error.message).toContain("256 characters");
    expect(error.message).toContain("at most 255");
    expect(pagerduty.requests).toHaveLength(0);
  });

  it.each<[string, PagerEvent]>([
    ["a trigger without payload", { event_action: "trigger", dedup_key: fingerprint }],
    ["a trigger without source", { ...trigger, payload: { ...trigger.payload!, source: " " } }],
    [
      "an unknown severity",
      { ...trigger, payload: { ...trigger.payload!, severity: "fatal" as "critical" } },
    ],
    ["an empty dedup_key", { event_action: "resolve", dedup_key: "" }],
    ["an unknown event_action", { event_action: "snooze" as "resolve", dedup_key: fingerprint }],
  ])("refuses %s before sending anything", async (_, event) => {
    const error = await failureOf(pager().send(routingKeySecret, event));

    expect(error).toBeInstanceOf(ValidationError);
    expect(pagerduty.requests).toHaveLength(0);
  });

  it("refuses an event over PagerDuty's 512 KB limit", async () => {
    const big = {
      ...trigger,
      payload: { ...trigger.payload!, custom_details: { log: "x".repeat(600_000) } },
    };

    const error = await failureOf(pager().send(routingKeySecret, big));

    expect(error).toBeInstanceOf(ValidationError);
    expect(error.message).toContain("512 KB");
    expect(pagerduty.requests).toHaveLength(0);
  });

  it("names the secret, not a value, when the routing key secret does not exist", async () => {
    const error = await failureOf(pager().send("switchyard/other-service-key", trigger));

    expect(error).toBeInstanceOf(NotFoundError);
    expect(error.message).toContain("switchyard/other-service-key");
    expect(pagerduty.requests).toHaveLength(0);
  });

  it("refuses an empty routing key", async () => {
    secrets.values[routingKeySecret] = "  \n";

    const error = await failureOf(pager().send(routingKeySecret, trigger));

    expect(error).toBeInstanceOf(ValidationError);
    expect(error.message).toContain(routingKeySecret);
  });

  it("trims the routing key as stored", async () => {
    secrets.values[routingKeySecret] = `${routingKey}\n`;

    await pager().send(routingKeySecret, trigger);

    expect((pagerduty.requests[0]!.body as { routing_key: string }).routing_key).toBe(routingKey);
  });

  it("reads the routing key once while the cache is fresh and again once it expired", async () => {
    let now = Date.parse("2026-11-28T06:00:00Z");
    const subject = pager({ secretCacheMs: 60_000, clock: { now: () => new Date(now) } });

    await subject.send(routingKeySecret, trigger);
    await subject.send(routingKeySecret, { event_action: "resolve", dedup_key: fingerprint });
    expect(secrets.reads).toEqual([routingKeySecret]);

    now += 60_001;
    secrets.values[routingKeySecret] = "R0TAT3DKEY0000000000000000000042";
    await subject.send(routingKeySecret, trigger);

    expect(secrets.reads).toHaveLength(2);
    expect((pagerduty.requests[2]!.body as { routing_key: string }).routing_key).toBe(
      "R0TAT3DKEY0000000000000000000042",
    );
  });

  it("reads the routing key afresh after PagerDuty refused an event", async () => {
    const subject = pager();
    pagerduty.answer(400);

    await expect(subject.send(routingKeySecret, trigger)).rejects.toBeInstanceOf(ValidationError);
    await subject.send(routingKeySecret, trigger);

    expect(secrets.reads).toEqual([routingKeySecret, routingKeySecret]);
  });
});

/** What the Events API answers. */
interface PagerDutyAnswer {
  status: string;
  message?: string;
  errors?: string[];
  dedup_key: string;
}

describe("PagerDutyReceiver", () => {
  let pagerduty: PagerDutyReceiver;
  const post = (body: unknown) =>
    fetch(pagerduty.eventsUrl, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: typeof body === "string" ? body : JSON.stringify(body),
    }).then(async (response) => ({
      status: response.status,
      body: (await response.json()) as PagerDutyAnswer,
    }));

  beforeEach(async () => {
    pagerduty = await startPagerDutyReceiver();
  });

  afterEach(async () => {
    await pagerduty.close();
  });

  it("answers an invalid event 400 with the documented {status, message, errors} shape", async () => {
    const answer = await post({
      routing_key: routingKey,
      event_action: "trigger",
      dedup_key: "k".repeat(256),
      payload: { summary: "s".repeat(1_025), source: "", severity: "fatal" },
    });

    expect(answer.status).toBe(400);
    expect(answer.body.status).toBe("invalid event");
    expect(answer.body.errors).toHaveLength(4);
    expect(await post("{not json")).toEqual({
      status: 400,
      body: {
        status: "Unrecognized object",
        message: "Event object format is unrecognized",
        errors: ["JSON parse error"],
      },
    });
  });

  it("generates a dedup_key for a trigger without one and drops a resolve for an unknown alert", async () => {
    const triggered = await post({
      routing_key: routingKey,
      event_action: "trigger",
      payload: trigger.payload,
    });
    await post({ routing_key: routingKey, event_action: "resolve", dedup_key: "never-triggered" });

    expect(triggered.body.dedup_key).toMatch(/^[0-9a-f]{32}$/);
    expect(pagerduty.alert(triggered.body.dedup_key)?.status).toBe("triggered");
    expect(pagerduty.alert("never-triggered")).toBeUndefined();
    expect(pagerduty.accepted).toHaveLength(2);
  });

  it("comes back on the same URL after refusing connections, and forgets everything on reset", async () => {
    const url = pagerduty.eventsUrl;
    await pagerduty.down("refuse");
    await expect(post({})).rejects.toThrow();

    await pagerduty.up();
    const waiting = pagerduty.waitForRequests(1);
    await post({
      routing_key: routingKey,
      event_action: "trigger",
      dedup_key: fingerprint,
      payload: trigger.payload,
    });

    expect(pagerduty.eventsUrl).toBe(url);
    expect((await waiting).map((r) => r.status)).toEqual([202]);
    await pagerduty.reset();
    expect(pagerduty.requests).toEqual([]);
    expect(pagerduty.alerts).toEqual([]);
  });
});
