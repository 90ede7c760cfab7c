// Local HTTP receivers standing in for PagerDuty's Events API v2 and Slack's Web API, recording every request.

import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** One request as a receiver saw it, and what it answered. */
export interface ReceivedRequest {
  method: string;
  /** Path and query, e.g. `/v2/enqueue` or `/api/chat.postMessage`. */
  path: string;
  /** Header names in lower case; repeated headers joined with ", ". */
  headers: Record<string, string>;
  /** The body parsed as JSON; undefined when it is empty or not JSON. */
  body: unknown;
  rawBody: string;
  /** The status answered; 0 when the connection was dropped instead (a scripted `"reset"`). */
  status: number;
  receivedAt: Date;
}

/**
 * What a receiver does with one request instead of its usual answer:
 * - a status number: that status with the service's usual body for it (PagerDuty 202 and Slack 200 are the normal,
 *   fully processed answers; Slack's 429 carries `Retry-After: 1`);
 * - `{ status, body?, headers?, delayMs? }`: exactly that (no body: the usual one for the status; a 2xx without a
 *   body is processed as usual, then sent after `delayMs`);
 * - any other object: that JSON body with the service's success status (Slack: 200, PagerDuty: 202), e.g.
 *   `{ ok: false, error: "channel_not_found" }`;
 * - `"reset"`: the connection is dropped without an answer, which a client sees as a network error.
 */
export type ScriptedAnswer =
  | number
  | "reset"
  | { status: number; body?: unknown; headers?: Record<string, string>; delayMs?: number }
  | Record<string, unknown>;

/** How a receiver is down: answering HTTP 500 to everything, or not accepting connections at all. */
export type DownMode = "error" | "refuse";

interface Reply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
  delayMs?: number;
}

const isReplySpec = (
  answer: ScriptedAnswer,
): answer is { status: number; body?: unknown; headers?: Record<string, string>; delayMs?: number } =>
  typeof answer === "object" && typeof (answer as { status?: unknown }).status === "number";

const headerRecord = (request: IncomingMessage): Record<string, string> =>
  Object.fromEntries(
    Object.entries(request.headers).map(([name, value]) => [
      name,
      Array.isArray(value) ? value.join(", ") : (value ?? ""),
    ]),
  );

const parseJson = (text: string): unknown => {
  if (text === "") return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
};

/**
 * The common part of the receivers: a node:http server on 127.0.0.1 and a free port, a log of every request, a queue
 * of scripted answers used one per request before the usual behaviour resumes, and an on/off switch for outages.
 */
abstract class HttpReceiver {
  /** Every request received, oldest first. */
  readonly requests: ReceivedRequest[] = [];
  /** `http://127.0.0.1:<port>`, known once started. */
  url = "";
  private readonly scripted: ScriptedAnswer[] = [];
  private downMode: DownMode | undefined;
  private port = 0;
  private listening = false;
  private readonly waiters: { count: number; resolve: () => void }[] = [];
  private readonly server: Server = createServer((request, response) => {
    void this.handle(request, response);
  });

  /** Starts listening on 127.0.0.1 and a free port. */
  async start(): Promise<this> {
    await this.listen(0);
    return this;
  }

  /**
   * Queues answers for the next requests, one each, in order; afterwards the receiver answers as usual again. Takes
   * answers one by one or as an array: `answer([429, 202])` is `answer(429, 202)`. Scripted answers are used even
   * during an `"error"` outage.
   */
  answer(...answers: (ScriptedAnswer | ScriptedAnswer[])[]): this {
    for (const answer of answers) {
      if (Array.isArray(answer)) this.scripted.push(...answer);
      else this.scripted.push(answer);
    }
    return this;
  }

  /**
   * Takes the service down until `up()`: `"error"` (the default) answers every request with HTTP 500; `"refuse"`
   * stops listening, so connections are refused (ECONNREFUSED) and nothing is recorded.
   */
  async down(mode: DownMode = "error"): Promise<this> {
    this.downMode = mode;
    if (mode === "refuse" && this.listening) {
      await new Promise<void>((resolve) => {
        this.server.close(() => resolve());
        this.server.closeAllConnections();
      });
      this.listening = false;
    }
    return this;
  }

  /** Ends an outage: the receiver answers as usual again, on the same port. */
  async up(): Promise<this> {
    this.downMode = undefined;
    if (!this.listening) await this.listen(this.port);
    return this;
  }

  /** Forgets the requests, the scripted answers and the service's state, and ends an outage. */
  async reset(): Promise<this> {
    this.requests.length = 0;
    this.scripted.length = 0;
    this.resetState();
    return this.up();
  }

  /** Resolves once at least `count` requests were received (the outage-refused ones never are). */
  async waitForRequests(count: number, timeoutMs = 5_000): Promise<ReceivedRequest[]> {
    if (this.requests.length >= count) return this.requests;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(
          new Error(
            `${this.constructor.name}: ${this.requests.length} of ${count} requests after ${timeoutMs} ms`,
          ),
        );
      }, timeoutMs);
      this.waiters.push({
        count,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      });
    });
    return this.requests;
  }

  /** Stops the server and drops open connections. */
  async close(): Promise<void> {
    if (!this.listening) return;
    this.listening = false;
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  /** The service's own answer to a request no script or outage took over. */
  protected abstract respond(request: ReceivedRequest): Reply;

  /** The service's usual body for an error status a script asked for. */
  protected abstract cannedBody(status: number): { body: unknown; headers?: Record<string, string> };

  /** The service's success status, used for a scripted bare body. */
  protected abstract readonly successStatus: number;

  protected abstract resetState(): void;

  private async listen(port: number): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(port, "127.0.0.1", () => {
        this.server.off("error", reject);
        resolve();
      });
    });
    this.port = (this.server.address() as AddressInfo).port;
    this.url = `http://127.0.0.1:${this.port}`;
    this.listening = true;
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const rawBody = Buffer.concat(chunks).toString("utf8");
    const received: ReceivedRequest = {
      method: request.method ?? "",
      path: request.url ?? "",
      headers: headerRecord(request),
      body: parseJson(rawBody),
      rawBody,
      status: 0,
      receivedAt: new Date(),
    };
    this.requests.push(received);
    let reply: Reply | "reset";
    try {
      reply = this.decide(received);
    } catch (error) {
      // A bug in the stand-in must show up as a failed request, not as an unhandled rejection.
      reply = {
        status: 500,
        body: `receiver error: ${error instanceof Error ? error.message : String(error)}`,
      };
    }
    if (reply === "reset") {
      request.socket.destroy();
    } else {
      received.status = reply.status;
      if (reply.delayMs !== undefined && reply.delayMs > 0) {
        await new Promise((resolve) => setTimeout(resolve, reply.delayMs));
      }
      const text =
        reply.body === undefined
          ? ""
          : typeof reply.body === "string"
            ? reply.body
            : JSON.stringify(reply.body);
      response.writeHead(reply.status, {
        ...(typeof reply.body === "string"
          ? { "content-type": "text/plain; charset=utf-8" }
          : reply.body !== undefined && { "content-type": "application/json; charset=utf-8" }),
        ...reply.headers,
      });
      response.end(text);
    }
    for (const waiter of this.waiters.filter((w) => this.requests.length >= w.count)) {
      this.waiters.splice(this.waiters.indexOf(waiter), 1);
      waiter.resolve();
    }
  }

  private decide(request: ReceivedRequest): Reply | "reset" {
    const scripted = this.scripted.shift();
    if (scripted === undefined) {
      return this.downMode === "error" ? { status: 500, ...this.cannedBody(500) } : this.respond(request);
    }
    if (scripted === "reset") return "reset";
    if (typeof scripted === "number") {
      return scripted === this.successStatus
        ? this.respond(request)
        : { status: scripted, ...this.cannedBody(scripted) };
    }
    if (isReplySpec(scripted)) {
      if (scripted.body === undefined && scripted.status >= 200 && scripted.status < 300) {
        const usual = this.respond(request);
        return {
          ...usual,
          status: scripted.status,
          headers: { ...usual.headers, ...scripted.headers },
          delayMs: scripted.delayMs,
        };
      }
      const canned = scripted.body === undefined ? this.cannedBody(scripted.status) : { body: scripted.body };
      return {
        status: scripted.status,
        body: canned.body,
        headers: { ...canned.headers, ...scripted.headers },
        delayMs: scripted.delayMs,
      };
    }
    return { status: this.successStatus, body: scripted };
  }
}

const pagerDutyActions = ["trigger", "acknowledge", "resolve"];
const pagerDutySeverities = ["critical", "error", "warning", "info"];
const blank = (value: unknown): boolean => typeof value !== "string" || value.trim() === "";

/** An alert as the PagerDuty receiver tracks it: the last action applied to its dedup_key. */
export interface ReceivedAlert {
  dedupKey: string;
  routingKey: string;
  status: "triggered" | "acknowledged" | "resolved";
  /** Every accepted event for this dedup_key, oldest first. */
  events: Record<string, unknown>[];
}

/**
 * PagerDuty's Events API v2 at `<url>/v2/enqueue` (`eventsUrl`). A valid event is answered 202 with
 * `{status: "success", message: "Event processed", dedup_key}` and applied to the alert of its dedup_key (a trigger
 * without one gets a generated key); an invalid one (bad JSON, no routing_key, an unknown event_action, a dedup_key
 * over 255 or a summary over 1,024 characters, a trigger without summary, source or a known severity) is answered 400
 * with `{status, message, errors}` — the checks PagerDuty documents, though the `errors` wording is this receiver's.
 *
 * @example
 * const pagerduty = await startPagerDutyReceiver();
 * const pager = new EventsApiPager({ eventsUrl: pagerduty.eventsUrl, secrets, sleep: async () => {} });
 * pagerduty.answer([429, 202]); // throttled once, then accepted
 * await pager.send("switchyard/pagerduty-routing-key", event);
 * expect(pagerduty.events.map((e) => e.event_action)).toEqual(["trigger", "trigger"]);
 * await pagerduty.close();
 */
export class PagerDutyReceiver extends HttpReceiver {
  protected readonly successStatus = 202;
  private readonly alertsByKey = new Map<string, ReceivedAlert>();

  /** The Events API endpoint to configure as `incidents.pagerduty.eventsUrl`. */
  get eventsUrl(): string {
    return `${this.url}/v2/enqueue`;
  }

  /** The JSON bodies of every request, accepted or not, oldest first. */
  get events(): Record<string, unknown>[] {
    return this.requests.map((r) => r.body as Record<string, unknown>);
  }

  /** The JSON bodies of the events answered 202, oldest first. */
  get accepted(): Record<string, unknown>[] {
    return this.requests.filter((r) => r.status === 202).map((r) => r.body as Record<string, unknown>);
  }

  /** The alert of a dedup_key, as the accepted events left it. */
  alert(dedupKey: string): ReceivedAlert | undefined {
    return this.alertsByKey.get(dedupKey);
  }

  /** Every alert, in the order they were first triggered. */
  get alerts(): ReceivedAlert[] {
    return [...this.alertsByKey.values()];
  }

  protected resetState(): void {
    this.alertsByKey.clear();
  }

  protected cannedBody(status: number): { body: unknown } {
    if (status === 400) {
      return {
        body: { status: "invalid event", message: "Event object is invalid", errors: ["Scripted refusal"] },
      };
    }
    if (status === 429) return { body: { status: "throttled", message: "Request Limit Exceeded" } };
    return { body: { status: "error", message: `HTTP ${status}` } };
  }

  protected respond(request: ReceivedRequest): Reply {
    if (request.method !== "POST" || request.path !== "/v2/enqueue") {
      return {
        status: 404,
        body: { status: "not found", message: `No route for ${request.method} ${request.path}` },
      };
    }
    if (typeof request.body !== "object" || request.body === null || Array.isArray(request.body)) {
      return {
        status: 400,
        body: {
          status: "Unrecognized object",
          message: "Event object format is unrecognized",
          errors: ["JSON parse error"],
        },
      };
    }
    const event = request.body as Record<string, unknown>;
    const payload = (event.payload ?? undefined) as Record<string, unknown> | undefined;
    const errors: string[] = [];
    if (blank(event.routing_key)) errors.push("'routing_key' is missing or blank");
    if (!pagerDutyActions.includes(event.event_action as string)) errors.push("'event_action' is invalid");
    if (
      event.dedup_key !== undefined &&
      (typeof event.dedup_key !== "string" || event.dedup_key.length > 255)
    ) {
      errors.push("'dedup_key' must be a string of at most 255 characters");
    }
    if (event.event_action !== "trigger" && blank(event.dedup_key)) {
      errors.push("'dedup_key' is required for acknowledge and resolve");
    }
    if (event.event_action === "trigger") {
      if (typeof payload !== "object" || payload === null) {
        errors.push("'payload' is missing");
      } else {
        if (blank(payload.summary)) errors.push("'payload.summary' is missing or blank");
        else if ((payload.summary as string).length > 1024)
          errors.push("'payload.summary' is longer than 1024 characters");
        if (blank(payload.source)) errors.push("'payload.source' is missing or blank");
        if (!pagerDutySeverities.includes(payload.severity as string))
          errors.push("'payload.severity' is invalid");
      }
    }
    if (errors.length > 0) {
      return { status: 400, body: { status: "invalid event", message: "Event object is invalid", errors } };
    }
    const dedupKey = typeof event.dedup_key === "string" ? event.dedup_key : randomBytes(16).toString("hex");
    this.apply(dedupKey, event);
    return { status: 202, body: { status: "success", message: "Event processed", dedup_key: dedupKey } };
  }

  /** As PagerDuty documents: a trigger opens (or re-triggers) the alert; ack and resolve apply only to an open one. */
  private apply(dedupKey: string, event: Record<string, unknown>): void {
    const alert = this.alertsByKey.get(dedupKey);
    const open = alert !== undefined && alert.status !== "resolved" && alert.routingKey === event.routing_key;
    if (event.event_action === "trigger") {
      if (open) {
        alert.events.push(event);
      } else {
        this.alertsByKey.delete(dedupKey);
        this.alertsByKey.set(dedupKey, {
          dedupKey,
          routingKey: event.routing_key as string,
          status: "triggered",
          events: [event],
        });
      }
      return;
    }
    // Acknowledge and resolve for no open alert (or from another routing key) are dropped.
    if (!open) return;
    alert.status = event.event_action === "acknowledge" ? "acknowledged" : "resolved";
    alert.events.push(event);
  }
}

/** A message as the Slack receiver keeps it. */
export interface ReceivedSlackMessage {
  /** The channel id Slack answered with (`C…`), also for a message posted to `#name`. */
  channel: string;
  /** The channel as the poster named it. */
  postedTo: string;
  ts: string;
  text: string;
  blocks?: unknown[];
  /** The parent's ts, for a thread reply. */
  threadTs?: string;
  /** The text and blocks of each chat.update, oldest first. */
  edits: { text: string; blocks?: unknown[] }[];
}

export interface SlackReceiverOptions {
  /** Bot tokens accepted; without any, every `Authorization: Bearer …` is. A missing header is always `not_authed`. */
  tokens?: string[];
  /** Channels that exist (`#name` or id); without any, every channel does. */
  channels?: string[];
}

const channelIdPattern = /^[CGD][A-Z0-9]{8,}$/;
const microsecondsPerSecond = 1_000_000;

/**
 * Slack's Web API at `<url>/api` (`apiUrl`), serving `chat.postMessage` and `chat.update` with JSON bodies as Slack
 * does: HTTP 200 with `{ok: true, channel, ts, message}` or `{ok: false, error}` (`not_authed`, `invalid_auth`,
 * `channel_not_found`, `no_text`, `message_not_found`, `unknown_method`). A `#name` is answered with a stable channel
 * id, and each posted message gets a fresh, increasing `ts` such as `"1700000000.000100"`, so threads and updates
 * work. `message(ts)`, `replies(ts)` and `messages` show what a channel would show.
 *
 * @example
 * const slack = await startSlackReceiver({ tokens: ["xoxb-test"] });
 * const chat = new SlackWebApiNotifier({ apiUrl: slack.apiUrl, tokenSecret: "switchyard/slack-token", secrets });
 * slack.answer({ ok: false, error: "channel_not_found" }); // the next call only
 * await slack.down(); // 500s until slack.up(); slack.down("refuse") refuses connections
 * await slack.close();
 */
export class SlackReceiver extends HttpReceiver {
  protected readonly successStatus = 200;
  private readonly stored: ReceivedSlackMessage[] = [];
  private lastTsMicros = 0;

  constructor(private readonly options: SlackReceiverOptions = {}) {
    super();
  }

  /** The Web API base to configure as `incidents.slack.apiUrl`. */
  get apiUrl(): string {
    return `${this.url}/api`;
  }

  /** Every message posted (thread replies included), oldest first, with their edits. */
  get messages(): ReceivedSlackMessage[] {
    return [...this.stored];
  }

  /** The message with this ts. */
  message(ts: string): ReceivedSlackMessage | undefined {
    return this.stored.find((m) => m.ts === ts);
  }

  /** The replies in the thread of the message with this ts, oldest first. */
  replies(ts: string): ReceivedSlackMessage[] {
    return this.stored.filter((m) => m.threadTs === ts);
  }

  /** The requests of one Web API method (`chat.postMessage`, `chat.update`), oldest first. */
  calls(method: string): ReceivedRequest[] {
    return this.requests.filter((r) => r.path === `/api/${method}`);
  }

  /** The id Slack would answer for a channel: ids as they are, `#name` as a stable made-up `C…` id. */
  channelId(channel: string): string {
    if (channelIdPattern.test(channel)) return channel;
    const name = channel.replace(/^#/, "");
    let hash = 0;
    for (const char of name) hash = (hash * 31 + (char.codePointAt(0) ?? 0)) >>> 0;
    return `C${hash.toString(36).toUpperCase().padStart(10, "0")}`;
  }

  protected resetState(): void {
    this.stored.length = 0;
  }

  protected cannedBody(status: number): { body: unknown; headers?: Record<string, string> } {
    if (status === 429) return { body: { ok: false, error: "ratelimited" }, headers: { "retry-after": "1" } };
    return { body: `HTTP ${status}` };
  }

  protected respond(request: ReceivedRequest): Reply {
    const fail = (error: string): Reply => ({ status: 200, body: { ok: false, error } });
    const method = request.path.startsWith("/api/")
      ? request.path.slice("/api/".length).split("?")[0]
      : undefined;
    if (method !== "chat.postMessage" && method !== "chat.update") return fail("unknown_method");
    const authorization = request.headers.authorization ?? "";
    const token = /^Bearer (.+)$/.exec(authorization)?.[1];
    if (token === undefined) return fail("not_authed");
    if (this.options.tokens !== undefined && !this.options.tokens.includes(token))
      return fail("invalid_auth");
    if (typeof request.body !== "object" || request.body === null) return fail("invalid_arguments");
    const args = request.body as Record<string, unknown>;
    const channel = typeof args.channel === "string" ? args.channel : "";
    if (!this.channelExists(channel)) return fail("channel_not_found");
    const text = typeof args.text === "string" ? args.text : "";
    const blocks = Array.isArray(args.blocks) ? (args.blocks as unknown[]) : undefined;
    if (text === "" && (blocks === undefined || blocks.length === 0)) return fail("no_text");
    const channelId = this.channelId(channel);

    if (method === "chat.postMessage") {
      const threadTs = typeof args.thread_ts === "string" ? args.thread_ts : undefined;
      const ts = this.nextTs();
      this.stored.push({
        channel: channelId,
        postedTo: channel,
        ts,
        text,
        ...(blocks !== undefined && { blocks }),
        ...(threadTs !== undefined && { threadTs }),
        edits: [],
      });
      return {
        status: 200,
        body: {
          ok: true,
          channel: channelId,
          ts,
          message: {
            type: "message",
            subtype: "bot_message",
            text,
            ...(blocks !== undefined && { blocks }),
            ...(threadTs !== undefined && { thread_ts: threadTs }),
            ts,
          },
        },
      };
    }
    const ts = typeof args.ts === "string" ? args.ts : "";
    const stored = this.stored.find((m) => m.ts === ts && m.channel === channelId);
    if (stored === undefined) return fail("message_not_found");
    stored.edits.push({ text, ...(blocks !== undefined && { blocks }) });
    stored.text = text;
    if (blocks !== undefined) stored.blocks = blocks;
    return { status: 200, body: { ok: true, channel: channelId, ts, text, message: { text, ts } } };
  }

  private channelExists(channel: string): boolean {
    if (channel === "") return false;
    const known = this.options.channels;
    if (known === undefined) return true;
    return known.some((c) => c === channel || this.channelId(c) === this.channelId(channel));
  }

  /** Seconds and microseconds since the epoch, strictly increasing. */
  private nextTs(): string {
    const micros = Math.max(Date.now() * 1_000, this.lastTsMicros + 1);
    this.lastTsMicros = micros;
    return `${Math.floor(micros / microsecondsPerSecond)}.${String(micros % microsecondsPerSecond).padStart(6, "0")}`;
  }
}

/** A started PagerDuty receiver (see `PagerDutyReceiver`). */
export const startPagerDutyReceiver = (): Promise<PagerDutyReceiver> => new PagerDutyReceiver().start();

/** A started Slack receiver (see `SlackReceiver`). */
export const startSlackReceiver = (options: SlackReceiverOptions = {}): Promise<SlackReceiver> =>
  new SlackReceiver(options).start();
