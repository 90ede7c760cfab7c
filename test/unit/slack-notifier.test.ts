// The Slack Web API notifier against a local receiver: exact calls, Retry-After, retries, ok:false and the token's hygiene.

import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  retryAfterMs,
  SlackWebApiNotifier,
  type SlackWebApiNotifierOptions,
} from "../../functions/adapters/slack/web-api-notifier.ts";
import { NotFoundError, TransientError, ValidationError } from "../../functions/core/errors.ts";
import { failureOf, messages } from "../support/errors.ts";
import { fakeSecrets } from "../support/fakes.ts";
import { type SlackReceiver, startSlackReceiver } from "../support/receivers.ts";

const tokenSecret = "switchyard/slack-token";
const token = "xoxb-1111111111-2222222222-SeCrEtToKeNvAlUe";
const blocks = [
  { type: "header", text: { type: "plain_text", text: "CRITICAL checkout 5xx" } },
  { type: "section", text: { type: "mrkdwn", text: "<https://runbooks.example.com/checkout|Runbook>" } },
];

describe("SlackWebApiNotifier", () => {
  let slack: SlackReceiver;
  let sleeps: number[];
  let secrets: ReturnType<typeof fakeSecrets>;

  const notifier = (options: Partial<SlackWebApiNotifierOptions> = {}) =>
    new SlackWebApiNotifier({
      apiUrl: slack.apiUrl,
      tokenSecret,
      secrets: secrets.store,
      sleep: async (ms) => {
        sleeps.push(ms);
      },
      random: () => 0.5,
      ...options,
    });

  beforeEach(async () => {
    slack = await startSlackReceiver({ tokens: [token] });
    sleeps = [];
    secrets = fakeSecrets({ [tokenSecret]: token });
  });

  afterEach(async () => {
    await slack.close();
  });

  it("calls chat.postMessage with a bearer token and a UTF-8 JSON body, and returns Slack's channel and ts", async () => {
    const posted = await notifier().postMessage({
      channel: "#incidents",
      text: "CRITICAL checkout 5xx",
      blocks,
    });

    expect(posted).toEqual({
      channel: slack.channelId("#incidents"),
      ts: expect.stringMatching(/^\d{10}\.\d{6}$/),
      delivery: "sent",
    });
    const [request] = slack.requests;
    expect(request?.method).toBe("POST");
    expect(request?.path).toBe("/api/chat.postMessage");
    expect(request?.headers.authorization).toBe(`Bearer ${token}`);
    expect(request?.headers["content-type"]).toBe("application/json; charset=utf-8");
    expect(request?.body).toEqual({ channel: "#incidents", text: "CRITICAL checkout 5xx", blocks });
    expect(slack.message(posted.ts)?.text).toBe("CRITICAL checkout 5xx");
  });

  it("replies in a thread with thread_ts", async () => {
    const subject = notifier();
    const root = await subject.postMessage({ channel: "#incidents", text: "CRITICAL checkout 5xx" });

    const reply = await subject.postMessage({
      channel: root.channel,
      text: "Escalated to level 2",
      threadTs: root.ts,
    });

    expect(slack.requests[1]?.body).toEqual({
      channel: root.channel,
      text: "Escalated to level 2",
      thread_ts: root.ts,
    });
    expect(reply.ts > root.ts).toBe(true);
    expect(slack.replies(root.ts).map((m) => m.text)).toEqual(["Escalated to level 2"]);
  });

  it("calls chat.update with channel, ts, text and blocks", async () => {
    const subject = notifier();
    const root = await subject.postMessage({ channel: "#incidents", text: "CRITICAL checkout 5xx", blocks });

    await subject.updateMessage({
      channel: root.channel,
      ts: root.ts,
      text: "Resolved: checkout 5xx",
      blocks: [],
    });

    const update = slack.calls("chat.update")[0];
    expect(update?.headers.authorization).toBe(`Bearer ${token}`);
    expect(update?.headers["content-type"]).toBe("application/json; charset=utf-8");
    expect(update?.body).toEqual({
      channel: root.channel,
      ts: root.ts,
      text: "Resolved: checkout 5xx",
      blocks: [],
    });
    expect(slack.message(root.ts)?.edits).toEqual([{ text: "Resolved: checkout 5xx", blocks: [] }]);
  });

  it("waits the Retry-After seconds of an HTTP 429 and accepts the second answer", async () => {
    slack.answer({ status: 429, headers: { "retry-after": "3" }, body: { ok: false, error: "ratelimited" } });

    const posted = await notifier().postMessage({ channel: "#incidents", text: "hello" });

    expect(posted.delivery).toBe("sent");
    expect(slack.requests.map((r) => r.status)).toEqual([429, 200]);
    expect(sleeps).toEqual([3_000]);
  });

  it("treats ok:false ratelimited like a 429", async () => {
    slack.answer({ status: 200, headers: { "retry-after": "2" }, body: { ok: false, error: "ratelimited" } });

    await notifier().postMessage({ channel: "#incidents", text: "hello" });

    expect(sleeps).toEqual([2_000]);
    expect(slack.messages).toHaveLength(1);
  });

  it("backs off when a 429 comes without Retry-After", async () => {
    slack.answer({ status: 429, body: { ok: false, error: "ratelimited" } });

    await notifier().postMessage({ channel: "#incidents", text: "hello" });

    expect(sleeps).toEqual([250]);
  });

  it("fails with TransientError at once when Slack asks to wait longer than the bound", async () => {
    slack.answer({ status: 429, headers: { "retry-after": "120" } });

    const error = await failureOf(
      notifier({ maxRetryAfterMs: 30_000 }).postMessage({ channel: "#incidents", text: "hello" }),
    );

    expect(error).toBeInstanceOf(TransientError);
    expect(error.message).toContain("120 s");
    expect(slack.requests).toHaveLength(1);
    expect(sleeps).toEqual([]);
  });

  it("throws TransientError after backing off through the retries while Slack answers 500", async () => {
    await slack.down();

    const error = await failureOf(notifier().postMessage({ channel: "#incidents", text: "hello" }));

    expect(error).toBeInstanceOf(TransientError);
    expect(error.message).toContain("HTTP 500");
    expect(error.message).toContain(tokenSecret);
    expect(slack.requests).toHaveLength(4);
    expect(sleeps).toEqual([250, 500, 1_000]);
    for (const message of messages(error)) expect(message).not.toContain(token);
  });

  it("throws TransientError when Slack refuses connections", async () => {
    await slack.down("refuse");

    const error = await failureOf(
      notifier({ retry: { attempts: 2, baseDelayMs: 10 } }).postMessage({
        channel: "#incidents",
        text: "hello",
      }),
    );

    expect(error).toBeInstanceOf(TransientError);
    expect(error.message).toContain("ECONNREFUSED");
    for (const message of messages(error)) expect(message).not.toContain(token);
  });

  it("recovers when Slack comes back up between retries", async () => {
    slack.answer(503, "reset");

    const posted = await notifier().postMessage({ channel: "#incidents", text: "hello" });

    expect(posted.delivery).toBe("sent");
    expect(slack.requests).toHaveLength(3);
  });

  it("retries the errors Slack calls temporary", async () => {
    slack.answer({ ok: false, error: "service_unavailable" }, { ok: false, error: "internal_error" });

    const posted = await notifier().postMessage({ channel: "#incidents", text: "hello" });

    expect(posted.delivery).toBe("sent");
    expect(slack.requests).toHaveLength(3);
  });

  it.each(["channel_not_found", "not_in_channel", "is_archived", "invalid_blocks"])(
    "turns ok:false %s into a ValidationError naming the code, without retrying",
    async (code) => {
      slack.answer({ ok: false, error: code });

      const error = await failureOf(notifier().postMessage({ channel: "#incidents", text: "hello" }));

      expect(error).toBeInstanceOf(ValidationError);
      expect(error.message).toContain(code);
      expect(error.message).toContain("#incidents");
      expect(slack.requests).toHaveLength(1);
      expect(sleeps).toEqual([]);
    },
  );

  it("says which scope is missing", async () => {
    slack.answer({ ok: false, error: "missing_scope", needed: "chat:write", provided: "channels:read" });

    const error = await failureOf(notifier().postMessage({ channel: "#incidents", text: "hello" }));

    expect(error.message).toContain("missing_scope (needs chat:write)");
  });

  it("answers invalid_auth for a wrong token without ever showing a token, and reads the secret afresh next time", async () => {
    secrets.values[tokenSecret] = "xoxb-wrong-token-value";
    const subject = notifier();

    const error = await failureOf(subject.postMessage({ channel: "#incidents", text: "hello" }));

    expect(error).toBeInstanceOf(ValidationError);
    expect(error.message).toContain("invalid_auth");
    expect(error.message).toContain(tokenSecret);
    expect(error.message).not.toContain("xoxb-wrong-token-value");

    secrets.values[tokenSecret] = token;
    await subject.postMessage({ channel: "#incidents", text: "hello" });
    expect(secrets.reads).toEqual([tokenSecret, tokenSecret]);
  });

  it("reads the token once while the cache is fresh", async () => {
    const subject = notifier();

    const root = await subject.postMessage({ channel: "#incidents", text: "one" });
    await subject.updateMessage({ channel: root.channel, ts: root.ts, text: "two" });

    expect(secrets.reads).toEqual([tokenSecret]);
  });

  it("names the secret when the token secret does not exist", async () => {
    delete secrets.values[tokenSecret];

    const error = await failureOf(notifier().postMessage({ channel: "#incidents", text: "hello" }));

    expect(error).toBeInstanceOf(NotFoundError);
    expect(error.message).toContain(tokenSecret);
    expect(slack.requests).toHaveLength(0);
  });

  it("answers message_not_found for an update of an unknown ts as a ValidationError", async () => {
    const error = await failureOf(
      notifier().updateMessage({ channel: "#incidents", ts: "1700000000.000100", text: "Resolved" }),
    );

    expect(error).toBeInstanceOf(ValidationError);
    expect(error.message).toContain("message_not_found");
  });

  it("refuses a message without text or blocks, and an update without ts, before calling Slack", async () => {
    const subject = notifier();

    await expect(subject.postMessage({ channel: "#incidents", text: "" })).rejects.toBeInstanceOf(
      ValidationError,
    );
    await expect(subject.postMessage({ channel: "", text: "hello" })).rejects.toBeInstanceOf(ValidationError);
    await expect(
      subject.updateMessage({ channel: "#incidents", ts: "", text: "hello" }),
    ).rejects.toBeInstanceOf(ValidationError);
    expect(slack.requests).toHaveLength(0);
  });

  it("accepts an apiUrl with a trailing slash", async () => {
    await notifier({ apiUrl: `${slack.apiUrl}/` }).postMessage({ channel: "#incidents", text: "hello" });

    expect(slack.requests[0]?.path).toBe("/api/chat.postMessage");
  });
});

describe("retryAfterMs", () => {
  const now = new Date("2026-11-28T06:00:00Z");

  it.each<[string | null, number | undefined]>([
    ["1", 1_000],
    [" 30 ", 30_000],
    ["Sat, 28 Nov 2026 06:00:05 GMT", 5_000],
    ["Sat, 28 Nov 2026 05:59:00 GMT", 0],
    [null, undefined],
    ["", undefined],
    ["soon", undefined],
  ])("reads %j as %j ms", (header, expected) => {
    expect(retryAfterMs(header, now)).toBe(expected);
  });
});

/** What the Web API answers. */
interface SlackAnswer {
  ok: boolean;
  error?: string;
  channel: string;
  ts: string;
}

describe("SlackReceiver", () => {
  let slack: SlackReceiver;
  const call = (
    method: string,
    body: unknown,
    headers: Record<string, string> = { authorization: `Bearer ${token}` },
  ) =>
    fetch(`${slack.apiUrl}/${method}`, {
      method: "POST",
      headers: { "content-type": "application/json; charset=utf-8", ...headers },
      body: JSON.stringify(body),
    }).then(async (response) => ({ status: response.status, body: (await response.json()) as SlackAnswer }));

  beforeEach(async () => {
    slack = await startSlackReceiver({ tokens: [token], channels: ["#incidents"] });
  });

  afterEach(async () => {
    await slack.close();
  });

  it("answers Slack's error codes with HTTP 200 and ok:false", async () => {
    expect(await call("chat.postMessage", { channel: "#incidents", text: "hi" }, {})).toEqual({
      status: 200,
      body: { ok: false, error: "not_authed" },
    });
    expect((await call("chat.postMessage", { channel: "#random", text: "hi" })).body.error).toBe(
      "channel_not_found",
    );
    expect((await call("chat.postMessage", { channel: "#incidents" })).body.error).toBe("no_text");
    expect((await call("chat.delete", { channel: "#incidents", ts: "1.2" })).body.error).toBe(
      "unknown_method",
    );
  });

  it("answers a posted message with its channel id, ts and message, and accepts the id afterwards", async () => {
    const posted = await call("chat.postMessage", { channel: "#incidents", text: "hi" });

    expect(posted.body).toMatchObject({
      ok: true,
      channel: slack.channelId("#incidents"),
      message: { text: "hi" },
    });
    expect(slack.channelId("#incidents")).toMatch(/^C[0-9A-Z]{10}$/);
    const updated = await call("chat.update", {
      channel: posted.body.channel,
      ts: posted.body.ts,
      text: "bye",
    });
    expect(updated.body).toMatchObject({ ok: true, ts: posted.body.ts, text: "bye" });
    expect(slack.message(posted.body.ts)?.postedTo).toBe("#incidents");
  });

  it("answers a scripted 429 with Retry-After: 1 by default", async () => {
    slack.answer(429);

    const response = await fetch(`${slack.apiUrl}/chat.postMessage`, { method: "POST", body: "{}" });

    expect(response.status).toBe(429);
    expect(response.headers.get("retry-after")).toBe("1");
    expect(await response.json()).toEqual({ ok: false, error: "ratelimited" });
  });
});
