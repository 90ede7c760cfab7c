// The production ChatNotifier: Slack's Web API (`chat.postMessage`, `chat.update`) with a bot token from the secret store.

import { backoffDelayMs, type RetryPolicy, type RetryTools, timerSleep } from "../../core/concurrency.ts";
import { NotFoundError, TransientError, ValidationError } from "../../core/errors.ts";
import type { ChatMessage, ChatNotifier, Clock, SecretStore } from "../../core/ports.ts";

/** Three retries in-process for 5xx and network errors (full jitter below 0.5 s, 1 s, 2 s). */
export const defaultSlackRetry: RetryPolicy = { attempts: 4, baseDelayMs: 500, maxDelayMs: 10_000 };
/**
 * The longest `Retry-After` waited in-process. chat.postMessage allows about one message a second per channel, so
 * Slack usually asks for a second or two; a longer wait is left to the workflow's `Retry` on `TransientError`.
 */
export const defaultMaxRetryAfterMs = 30_000;
const defaultRequestTimeoutMs = 10_000;
/** A rotated token is picked up within this long. */
const defaultSecretCacheMs = 5 * 60_000;
const millisecondsPerSecond = 1_000;
const systemClock: Clock = { now: () => new Date() };

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

export interface SlackWebApiNotifierOptions extends RetryTools {
  /** The Web API base, e.g. `https://slack.com/api` (or a proxy, or a test receiver); methods are appended. */
  apiUrl: string;
  /** The name of the secret holding the bot token (`xoxb-…`, with chat:write). */
  tokenSecret: string;
  secrets: Pick<SecretStore, "getSecretValue">;
  /** Injected in tests; Node's global `fetch` otherwise. */
  fetch?: typeof fetch;
  /** Tries per call (the first included) and the backoff between them; `defaultSlackRetry` otherwise. */
  retry?: RetryPolicy;
  /** A `Retry-After` longer than this is not waited out here: the call fails with `TransientError` at once. */
  maxRetryAfterMs?: number;
  /** One request's deadline; a request past it counts as a network error and is retried. */
  requestTimeoutMs?: number;
  /** How long a token read from the secret store is reused (0: read it for every call). */
  secretCacheMs?: number;
  /** Expires the token cache and dates an HTTP-date `Retry-After`. */
  clock?: Clock;
}

/** A failure worth another try, after `waitMs` when the server said how long. Never carries the token. */
class RetryableFailure extends Error {
  constructor(
    message: string,
    readonly waitMs?: number,
  ) {
    super(message);
  }
}

/** Slack's answer: `ok`, and either the method's fields or an `error` code. */
interface SlackAnswer {
  ok?: unknown;
  error?: unknown;
  needed?: unknown;
  channel?: unknown;
  ts?: unknown;
}

const isSecretNotFound = (error: unknown): boolean =>
  error instanceof NotFoundError || (error instanceof Error && error.name === "ResourceNotFoundException");

const networkReason = (error: unknown): string => {
  if (!(error instanceof Error)) return "unknown error";
  const cause = error.cause as { code?: unknown; message?: unknown } | undefined;
  const detail =
    typeof cause?.code === "string" ? cause.code : typeof cause?.message === "string" ? cause.message : "";
  return detail === "" ? error.message : `${error.message} (${detail})`;
};

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
  private readonly secrets: Pick<SecretStore, "getSecretValue">;
  private readonly fetch: typeof fetch;
  private readonly retry: RetryPolicy;
  private readonly tools: Required<RetryTools>;
  private readonly maxRetryAfterMs: number;
  private readonly requestTimeoutMs: number;
  private readonly secretCacheMs: number;
  private readonly clock: Clock;
  private cachedToken: { value: Promise<string>; expiresAtMs: number } | undefined;

  constructor(options: SlackWebApiNotifierOptions) {
    this.apiUrl = options.apiUrl.replace(/\/+$/, "");
    this.tokenSecret = options.tokenSecret;
    this.secrets = options.secrets;
    this.fetch = options.fetch ?? ((input, init) => fetch(input, init));
    this.retry = options.retry ?? defaultSlackRetry;
    this.tools = { sleep: options.sleep ?? timerSleep, random: options.random ?? Math.random };
    this.maxRetryAfterMs = options.maxRetryAfterMs ?? defaultMaxRetryAfterMs;
    this.requestTimeoutMs = options.requestTimeoutMs ?? defaultRequestTimeoutMs;
    this.secretCacheMs = options.secretCacheMs ?? defaultSecretCacheMs;
    this.clock = options.clock ?? systemClock;
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
    const token = await this.token();
    const redact = (text: string) => text.split(token).join("[token]");
    const what = `Slack ${method} to ${channel} (token secret ${this.tokenSecret})`;
    const body = JSON.stringify(args);
    const attempts = Math.max(1, this.retry.attempts);

    let lastFailure: RetryableFailure | undefined;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      if (lastFailure !== undefined) {
        await this.tools.sleep(
          lastFailure.waitMs ?? backoffDelayMs(this.retry, attempt - 2, this.tools.random),
        );
      }
      let response: Response;
      let text: string;
      try {
        response = await this.fetch(`${this.apiUrl}/${method}`, {
          method: "POST",
          headers: {
            authorization: `Bearer ${token}`,
            "content-type": "application/json; charset=utf-8",
            accept: "application/json",
          },
          body,
          signal: AbortSignal.timeout(this.requestTimeoutMs),
        });
        text = await response.text();
      } catch (error) {
        lastFailure = new RetryableFailure(`a network error: ${redact(networkReason(error))}`);
        continue;
      }
      const answer = parseAnswer(text);
      const code = typeof answer?.error === "string" ? answer.error : undefined;

      if (response.status === 429 || (code !== undefined && rateLimitedCodes.includes(code))) {
        const waitMs = retryAfterMs(response.headers.get("retry-after"), this.clock.now());
        if (waitMs !== undefined && waitMs > this.maxRetryAfterMs) {
          throw new TransientError(
            `${what} was rate limited: Slack asked to wait ${Math.ceil(waitMs / millisecondsPerSecond)} s, ` +
              `longer than the ${Math.floor(this.maxRetryAfterMs / millisecondsPerSecond)} s waited here`,
          );
        }
        lastFailure = new RetryableFailure(`HTTP ${response.status} ${code ?? "ratelimited"}`, waitMs);
        continue;
      }
      if (response.status >= 500 || response.status === 408) {
        lastFailure = new RetryableFailure(`HTTP ${response.status}${code ? ` ${redact(code)}` : ""}`);
        continue;
      }
      if (answer?.ok === true) return answer;
      if (code !== undefined && transientCodes.includes(code)) {
        lastFailure = new RetryableFailure(code);
        continue;
      }
      if (code !== undefined) {
        if (authCodes.includes(code)) this.cachedToken = undefined;
        const needed = typeof answer?.needed === "string" ? ` (needs ${redact(answer.needed)})` : "";
        throw new ValidationError(`${what} was refused: ${redact(code)}${needed}`);
      }
      if (response.status >= 200 && response.status < 300) {
        // Something answered that is not Slack's JSON: a proxy in between, or an answer cut short.
        lastFailure = new RetryableFailure(`HTTP ${response.status} without Slack's JSON answer`);
        continue;
      }
      throw new ValidationError(`${what} was refused with HTTP ${response.status}`);
    }
    throw new TransientError(
      `${what} failed ${attempts} time(s), last with ${lastFailure?.message ?? "no answer"}`,
      { cause: lastFailure },
    );
  }

  /** The bot token, from the cache while it is fresh. */
  private token(): Promise<string> {
    const nowMs = this.clock.now().getTime();
    if (this.cachedToken !== undefined && this.cachedToken.expiresAtMs > nowMs) return this.cachedToken.value;
    const value = this.readToken();
    const entry = { value, expiresAtMs: nowMs + this.secretCacheMs };
    this.cachedToken = entry;
    value.catch(() => {
      if (this.cachedToken === entry) this.cachedToken = undefined;
    });
    return value;
  }

  private async readToken(): Promise<string> {
    let token: string;
    try {
      token = (await this.secrets.getSecretValue(this.tokenSecret)).secretString.trim();
    } catch (error) {
      if (isSecretNotFound(error)) {
        throw new NotFoundError(`The Slack token secret ${this.tokenSecret} does not exist`, {
          cause: error,
        });
      }
      throw error;
    }
    if (token === "") throw new ValidationError(`The Slack token secret ${this.tokenSecret} is empty`);
    return token;
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
