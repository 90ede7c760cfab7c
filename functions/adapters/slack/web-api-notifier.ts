// The production ChatNotifier: Slack's Web API (`chat.postMessage`, `chat.update`) with a bot token from the secret store.

import type { RetryPolicy } from "../../core/concurrency.ts";
import { TransientError, ValidationError } from "../../core/errors.ts";
import type { ChatMessage, ChatNotifier, Clock } from "../../core/ports.ts";
import { JsonClient, type JsonClientOptions, RetryableFailure, redactor } from "../http/json-client.ts";

/** Three retries in-process for 5xx and network errors (full jitter below 0.5 s, 1 s, 2 s). */
export const defaultSlackRetry: RetryPolicy = { attempts: 4, baseDelayMs: 500, maxDelayMs: 10_000 };
/**
 * The longest `Retry-After` waited in-process. chat.postMessage allows about one message a second per channel, so
 * Slack usually asks for a second or two; a longer wait is left to the workflow's `Retry` on `TransientError`.
 */
export const defaultMaxRetryAfterMs = 30_000;
const millisecondsPerSecond = 1_000;

/** Slack's `error` codes that mean "slow down": wait as `Retry-After` says, then try again. */
const rateLimitedCodes: readonly string[] = ["ratelimited", "rate_limited"];
/** Slack's `error` codes it documents as temporary on its side. */
const transientCodes: readonly string[] = ["service_unavailable", "internal_error", "request_timeout"];
/** Slack's `error` codes about the token: the cached one may have been rotated since it was read. */
const authCodes: readonly string[] = [
  "not_authed",
  "invalid_auth",
  "account_inactive",
  "token_revoked",
  "token_expired",
];

/** The API, the token's secret and the waits; the bot token is the secret the shared options cache (`secretCacheMs`). */
export interface SlackWebApiNotifierOptions extends JsonClientOptions {
  /** The Web API base, e.g. `https://slack.com/api` (or a proxy, or a test receiver); methods are appended. */
  apiUrl: string;
  /** The name of the secret holding the bot token (`xoxb-…`, with chat:write). */
  tokenSecret: string;
  /** Tries per call (the first included) and the backoff between them; `defaultSlackRetry` otherwise. */
  retry?: RetryPolicy;
  /** A `Retry-After` longer than this is not waited out here: the call fails with `TransientError` at once. */
  maxRetryAfterMs?: number;
  /** Expires the token cache and dates an HTTP-date `Retry-After`. */
  clock?: Clock;
}

/** Slack's answer: `ok`, and either the method's fields or an `error` code. */
interface SlackAnswer {
  ok?: unknown;
  error?: unknown;
  needed?: unknown;
  channel?: unknown;
  ts?: unknown;
}

const parseAnswer = (text: string): SlackAnswer | undefined => {
  try {
    const parsed: unknown = JSON.parse(text);
    return typeof parsed === "object" && parsed !== null ? (parsed as SlackAnswer) : undefined;
  } catch {
    return undefined;
  }
};

/**
 * `Retry-After` in milliseconds: Slack sends whole seconds; an HTTP-date (RFC 9110 §10.2.3) is accepted too.
 * Undefined when absent or unreadable, so the backoff applies instead.
 *
 * @example
 * retryAfterMs("2", new Date()) // 2000
 */
export const retryAfterMs = (header: string | null, now: Date): number | undefined => {
  if (header === null || header.trim() === "") return undefined;
  const value = header.trim();
  if (/^\d+$/.test(value)) return Number(value) * millisecondsPerSecond;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now.getTime());
};

/**
 * Posts to Slack through the Web API with a bot token read from the secret `tokenSecret` (cached for
 * `secretCacheMs`) and sent as `Authorization: Bearer`, the body JSON (`application/json; charset=utf-8`).
 * `postMessage` calls `chat.postMessage` (`channel`, `text`, `blocks`, `thread_ts`) and resolves with the channel id
 * and `ts` Slack answered, which `updateMessage` (`chat.update`) and thread replies then use.
 *
 * Answers are handled as Slack documents them: HTTP 429 (or `ok: false` with `ratelimited`) waits the `Retry-After`
 * seconds, up to `maxRetryAfterMs`, and tries again; 5xx, network errors and the errors Slack calls temporary
 * (`service_unavailable`, `internal_error`, `request_timeout`) are retried with backoff and jitter, then a
 * `TransientError`; any other `ok: false` is a `ValidationError` naming Slack's code (`channel_not_found`,
 * `not_in_channel`, `invalid_auth`, …). Errors name the token's secret, never the token.
 *
 * A retried `chat.postMessage` whose first try reached Slack but whose answer was lost posts twice: for an incident
 * a duplicate line is better than a missing one.
 *
 * @example
 * const chat = new SlackWebApiNotifier({ apiUrl: "https://slack.com/api", tokenSecret: "switchyard/slack-token", secrets });
 * const { channel, ts } = await chat.postMessage({ channel: "#incidents", text: "checkout 5xx above 5%", blocks });
 * await chat.postMessage({ channel, text: "Escalated to level 2", threadTs: ts });
 * await chat.updateMessage({ channel, ts, text: "Resolved: checkout 5xx above 5%" });
 */
export class SlackWebApiNotifier implements ChatNotifier {
  private readonly apiUrl: string;
  private readonly tokenSecret: string;
  private readonly maxRetryAfterMs: number;
  private readonly client: JsonClient;

  constructor(options: SlackWebApiNotifierOptions) {
    this.apiUrl = options.apiUrl.replace(/\/+$/, "");
    this.tokenSecret = options.tokenSecret;
    this.maxRetryAfterMs = options.maxRetryAfterMs ?? defaultMaxRetryAfterMs;
    this.client = new JsonClient(options, {
      defaultRetry: defaultSlackRetry,
      secretLabel: "Slack token secret",
    });
  }

  async postMessage(
    message: ChatMessage,
  ): Promise<{ channel: string; ts: string; delivery: "sent" | "outbox" }> {
    checkMessage(message);
    const answer = await this.call("chat.postMessage", message.channel, {
      channel: message.channel,
      text: message.text,
      ...(message.blocks !== undefined && { blocks: message.blocks }),
      ...(message.threadTs !== undefined && { thread_ts: message.threadTs }),
    });
    if (typeof answer.ts !== "string" || answer.ts === "") {
      throw new ValidationError(`Slack chat.postMessage to ${message.channel} answered ok without a ts`);
    }
    return {
      channel: typeof answer.channel === "string" && answer.channel !== "" ? answer.channel : message.channel,
      ts: answer.ts,
      delivery: "sent",
    };
  }

  async updateMessage(message: ChatMessage & { ts: string }): Promise<void> {
    checkMessage(message);
    if (typeof message.ts !== "string" || message.ts.trim() === "") {
      throw new ValidationError(`Updating a Slack message in ${message.channel} needs its ts`);
    }
    await this.call("chat.update", message.channel, {
      channel: message.channel,
      ts: message.ts,
      text: message.text,
      ...(message.blocks !== undefined && { blocks: message.blocks }),
    });
  }

  /** One Web API method call with the retries described on the class; resolves with an `ok: true` answer. */
  private async call(method: string, channel: string, args: Record<string, unknown>): Promise<SlackAnswer> {
    const token = await this.client.secret(this.tokenSecret);
    const redact = redactor(token, "[token]");
    const what = `Slack ${method} to ${channel} (token secret ${this.tokenSecret})`;
    return this.client.post({
      url: `${this.apiUrl}/${method}`,
      headers: {
        authorization: `Bearer ${token}`,
        "content-type": "application/json; charset=utf-8",
        accept: "application/json",
      },
      body: JSON.stringify(args),
      what,
      redact,
      read: (response, text) => this.read(response, text, what, redact),
    });
  }

  /** One answer as Slack documents it: `ok: true`, a failure to retry, or an error that ends the call. */
  private read(
    response: Response,
    text: string,
    what: string,
    redact: (text: string) => string,
  ): SlackAnswer | RetryableFailure {
    const answer = parseAnswer(text);
    const code = typeof answer?.error === "string" ? answer.error : undefined;

    if (response.status === 429 || (code !== undefined && rateLimitedCodes.includes(code))) {
      const waitMs = retryAfterMs(response.headers.get("retry-after"), this.client.clock.now());
      if (waitMs !== undefined && waitMs > this.maxRetryAfterMs) {
        throw new TransientError(
          `${what} was rate limited: Slack asked to wait ${Math.ceil(waitMs / millisecondsPerSecond)} s, ` +
            `longer than the ${Math.floor(this.maxRetryAfterMs / millisecondsPerSecond)} s waited here`,
        );
      }
      return new RetryableFailure(`HTTP ${response.status} ${code ?? "ratelimited"}`, waitMs);
    }
    if (response.status >= 500 || response.status === 408) {
      return new RetryableFailure(`HTTP ${response.status}${code ? ` ${redact(code)}` : ""}`);
    }
    if (answer?.ok === true) return answer;
    if (code !== undefined && transientCodes.includes(code)) return new RetryableFailure(code);
    if (code !== undefined) {
      if (authCodes.includes(code)) this.client.forgetSecret(this.tokenSecret);
      const needed = typeof answer?.needed === "string" ? ` (needs ${redact(answer.needed)})` : "";
      throw new ValidationError(`${what} was refused: ${redact(code)}${needed}`);
    }
    if (response.status >= 200 && response.status < 300) {
      // Something answered that is not Slack's JSON: a proxy in between, or an answer cut short.
      return new RetryableFailure(`HTTP ${response.status} without Slack's JSON answer`);
    }
    throw new ValidationError(`${what} was refused with HTTP ${response.status}`);
  }
}

/** What Slack would refuse anyway, refused before a request is spent on it. */
const checkMessage = (message: ChatMessage): void => {
  if (typeof message.channel !== "string" || message.channel.trim() === "") {
    throw new ValidationError("A Slack message needs a channel");
  }
  const hasBlocks = message.blocks !== undefined && message.blocks.length > 0;
  if ((typeof message.text !== "string" || message.text === "") && !hasBlocks) {
    throw new ValidationError(`A Slack message to ${message.channel} needs text or blocks`);
  }
};
