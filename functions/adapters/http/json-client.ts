// What the HTTP API adapters share: a secret read once and cached, and a JSON POST retried with backoff, redacted.

import { backoffDelayMs, type RetryPolicy, type RetryTools, timerSleep } from "../../core/concurrency.ts";
import { NotFoundError, TransientError, ValidationError } from "../../core/errors.ts";
import type { Clock, SecretStore } from "../../core/ports.ts";

const defaultRequestTimeoutMs = 10_000;
/** A rotated secret is picked up within this long. */
const defaultSecretCacheMs = 5 * 60_000;
const systemClock: Clock = { now: () => new Date() };

/** What an adapter built on `JsonClient` takes beside its own options. */
export interface JsonClientOptions extends RetryTools {
  secrets: Pick<SecretStore, "getSecretValue">;
  /** Injected in tests; Node's global `fetch` otherwise. */
  fetch?: typeof fetch;
  /** Tries per call (the first included) and the backoff between them; the adapter's default otherwise. */
  retry?: RetryPolicy;
  /** One request's deadline; a request past it counts as a network error and is retried. */
  requestTimeoutMs?: number;
  /** How long a secret read from the secret store is reused (0: read it for every call). */
  secretCacheMs?: number;
  /** Expires the secret cache. */
  clock?: Clock;
}

/** What only the adapter knows: its retry policy, and what its secret is called in errors. */
export interface JsonClientSettings {
  defaultRetry: RetryPolicy;
  /** E.g. "Slack token secret": "The Slack token secret <name> does not exist". */
  secretLabel: string;
}

/** An answer worth another try, after `waitMs` when the server said how long. Never carries the secret. */
export class RetryableFailure extends Error {
  constructor(
    message: string,
    readonly waitMs?: number,
  ) {
    super(message);
  }
}

/** One JSON POST and how its answers are read. */
export interface JsonPost<T> {
  url: string;
  headers: Record<string, string>;
  body: string;
  /** The call as errors name it (with the secret's name, never its value). */
  what: string;
  /** Blanks the secret out of any text taken from an answer or an error. */
  redact: (text: string) => string;
  /** Reads one answer: the result, a `RetryableFailure` to try again, or a throw to stop trying. */
  read: (response: Response, text: string) => T | RetryableFailure;
}

/**
 * Replaces every occurrence of `secret` in a text with `placeholder`.
 *
 * @example
 * redactor("xoxb-1", "[token]")("invalid xoxb-1") // "invalid [token]"
 */
export const redactor =
  (secret: string, placeholder: string) =>
  (text: string): string =>
    text.split(secret).join(placeholder);

/** `fetch failed (ECONNREFUSED)`: fetch's own message says little, the code of its cause says what happened. */
const networkReason = (error: unknown): string => {
  if (!(error instanceof Error)) return "unknown error";
  const cause = error.cause as { code?: unknown; message?: unknown } | undefined;
  const detail =
    typeof cause?.code === "string" ? cause.code : typeof cause?.message === "string" ? cause.message : "";
  return detail === "" ? error.message : `${error.message} (${detail})`;
};

const isSecretNotFound = (error: unknown): boolean =>
  error instanceof NotFoundError || (error instanceof Error && error.name === "ResourceNotFoundException");

/**
 * A JSON API client with a secret: `secret(name)` reads it (trimmed) from the secret store and reuses it for
 * `secretCacheMs`, a missing secret a `NotFoundError` and an empty one a `ValidationError`, each naming the secret;
 * `post` sends one request, each try with a deadline of `requestTimeoutMs`, and retries network errors and the
 * answers `read` calls retryable, after the server's wait or an exponential backoff with full jitter, up to the
 * policy's attempts, then throws a `TransientError` naming the last failure.
 *
 * @example
 * const client = new JsonClient(options, { defaultRetry, secretLabel: "Slack token secret" });
 * const token = await client.secret("switchyard/slack-token");
 * const answer = await client.post({ url, headers, body, what, redact: redactor(token, "[token]"), read });
 */
export class JsonClient {
  readonly clock: Clock;
  private readonly secrets: Pick<SecretStore, "getSecretValue">;
  private readonly secretLabel: string;
  private readonly fetch: typeof fetch;
  private readonly retry: RetryPolicy;
  private readonly tools: Required<RetryTools>;
  private readonly requestTimeoutMs: number;
  private readonly secretCacheMs: number;
  private readonly cached = new Map<string, { value: Promise<string>; expiresAtMs: number }>();

  constructor(options: JsonClientOptions, settings: JsonClientSettings) {
    this.secrets = options.secrets;
    this.secretLabel = settings.secretLabel;
    this.fetch = options.fetch ?? ((input, init) => fetch(input, init));
    this.retry = options.retry ?? settings.defaultRetry;
    this.tools = { sleep: options.sleep ?? timerSleep, random: options.random ?? Math.random };
    this.requestTimeoutMs = options.requestTimeoutMs ?? defaultRequestTimeoutMs;
    this.secretCacheMs = options.secretCacheMs ?? defaultSecretCacheMs;
    this.clock = options.clock ?? systemClock;
  }

  /** The secret behind `name`, from the cache while it is fresh; a failed read is not cached. */
  secret(name: string): Promise<string> {
    const nowMs = this.clock.now().getTime();
    const cached = this.cached.get(name);
    if (cached !== undefined && cached.expiresAtMs > nowMs) return cached.value;
    const value = this.readSecret(name);
    this.cached.set(name, { value, expiresAtMs: nowMs + this.secretCacheMs });
    value.catch(() => {
      if (this.cached.get(name)?.value === value) this.cached.delete(name);
    });
    return value;
  }

  /** Reads the secret afresh next time: the service refused it, so it may have been rotated since it was cached. */
  forgetSecret(name: string): void {
    this.cached.delete(name);
  }

  /** POSTs `request.body`, retrying as described on the class; resolves with what `request.read` made of an answer. */
  async post<T>(request: JsonPost<T>): Promise<T> {
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
        response = await this.fetch(request.url, {
          method: "POST",
          headers: request.headers,
          body: request.body,
          signal: AbortSignal.timeout(this.requestTimeoutMs),
        });
        text = await response.text();
      } catch (error) {
        lastFailure = new RetryableFailure(`a network error: ${request.redact(networkReason(error))}`);
        continue;
      }
      const outcome = request.read(response, text);
      if (!(outcome instanceof RetryableFailure)) return outcome;
      lastFailure = outcome;
    }
    throw new TransientError(
      `${request.what} failed ${attempts} time(s), last with ${lastFailure?.message ?? "no answer"}`,
      { cause: lastFailure },
    );
  }

  private async readSecret(name: string): Promise<string> {
    let value: string;
    try {
      value = (await this.secrets.getSecretValue(name)).secretString.trim();
    } catch (error) {
      if (isSecretNotFound(error)) {
        throw new NotFoundError(`The ${this.secretLabel} ${name} does not exist`, { cause: error });
      }
      throw error;
    }
    if (value === "") throw new ValidationError(`The ${this.secretLabel} ${name} is empty`);
    return value;
  }
}
