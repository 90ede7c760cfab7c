// The production Pager: PagerDuty's Events API v2 (`POST /v2/enqueue`), the routing key read from the secret store.

import type { RetryPolicy } from "../../core/concurrency.ts";
import { ValidationError } from "../../core/errors.ts";
import type { Pager, PagerEvent, PagerResult } from "../../core/ports.ts";
import { JsonClient, type JsonClientOptions, RetryableFailure, redactor } from "../http/json-client.ts";

/** PagerDuty documents `dedup_key` as at most 255 characters. */
export const maxDedupKeyLength = 255;
/** PagerDuty documents `payload.summary` as at most 1,024 characters. */
export const maxSummaryLength = 1024;
/** PagerDuty documents Events API payloads as limited to 512 KB. */
export const maxEventBytes = 512 * 1024;
const ellipsis = "…";
const eventActions: readonly string[] = ["trigger", "acknowledge", "resolve"];
const severities: readonly string[] = ["critical", "error", "warning", "info"];

/**
 * Three retries in-process (full jitter below 1 s, 2 s, 4 s). PagerDuty suggests backing off for up to minutes on a
 * 429; that longer wait belongs to the workflow's `Retry` on `TransientError`, not to a Lambda sitting idle.
 */
export const defaultPagerRetry: RetryPolicy = { attempts: 4, baseDelayMs: 1_000, maxDelayMs: 30_000 };

/** The endpoint and the retry policy; the routing key is the secret the shared options cache (`secretCacheMs`). */
export interface EventsApiPagerOptions extends JsonClientOptions {
  /** The Events API v2 endpoint, e.g. `https://events.pagerduty.com/v2/enqueue` (or the EU one, or a receiver). */
  eventsUrl: string;
  /** Tries per event (the first included) and the backoff between them; `defaultPagerRetry` otherwise. */
  retry?: RetryPolicy;
}

/** Cuts `text` to at most `max` UTF-16 units, the last being "…", never between the halves of a surrogate pair. */
const clip = (text: string, max: number): string => {
  if (text.length <= max) return text;
  let end = max - ellipsis.length;
  const last = text.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end -= 1;
  return `${text.slice(0, end)}${ellipsis}`;
};

const blank = (value: unknown): boolean => typeof value !== "string" || value.trim() === "";

/**
 * Checks an event against the limits PagerDuty documents and clips what can be clipped without changing what the
 * event is about: a `summary` over 1,024 characters ends in "…"; a `dedup_key` over 255 characters is refused,
 * since shortening it would page a different alert than the one a later acknowledge or resolve names. A trigger
 * needs a payload with summary, source and a known severity. The local outbox pager applies the same rules.
 *
 * @example
 * preparePagerEvent({ event_action: "resolve", dedup_key: "4f1c…" }) // the event, unchanged
 */
export const preparePagerEvent = (event: PagerEvent): PagerEvent => {
  if (!eventActions.includes(event.event_action)) {
    throw new ValidationError(
      `PagerDuty event_action must be trigger, acknowledge or resolve, not ${JSON.stringify(event.event_action)}`,
    );
  }
  if (blank(event.dedup_key)) {
    throw new ValidationError(`A PagerDuty ${event.event_action} event needs a dedup_key`);
  }
  if (event.dedup_key.length > maxDedupKeyLength) {
    throw new ValidationError(
      `The dedup_key is ${event.dedup_key.length} characters long; PagerDuty allows at most ${maxDedupKeyLength} ` +
        `(it starts ${JSON.stringify(event.dedup_key.slice(0, 40))})`,
    );
  }
  if (event.payload === undefined) {
    if (event.event_action === "trigger") {
      throw new ValidationError(`A PagerDuty trigger needs a payload (dedup_key ${event.dedup_key})`);
    }
    return event;
  }
  const { payload } = event;
  if (event.event_action === "trigger") {
    const missing = (["summary", "source"] as const).filter((field) => blank(payload[field]));
    if (missing.length > 0) {
      throw new ValidationError(
        `A PagerDuty trigger needs payload.${missing.join(" and payload.")} (dedup_key ${event.dedup_key})`,
      );
    }
    if (!severities.includes(payload.severity)) {
      throw new ValidationError(
        `PagerDuty payload.severity must be critical, error, warning or info, not ${JSON.stringify(payload.severity)}`,
      );
    }
  }
  return typeof payload.summary === "string" && payload.summary.length > maxSummaryLength
    ? { ...event, payload: { ...payload, summary: clip(payload.summary, maxSummaryLength) } }
    : event;
};

/** PagerDuty's error answer (`{status, message, errors}`), as far as it is one. */
const describeRefusal = (body: unknown): string => {
  if (typeof body !== "object" || body === null) return "no details";
  const { status, message, errors } = body as { status?: unknown; message?: unknown; errors?: unknown };
  const parts = [status, message].filter((part): part is string => typeof part === "string" && part !== "");
  const list = Array.isArray(errors) ? errors.filter((e): e is string => typeof e === "string") : [];
  const head = parts.join(": ") || "no details";
  return list.length > 0 ? `${head} (${list.join("; ")})` : head;
};

const parseJson = (text: string): unknown => {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
};

/**
 * Pages through PagerDuty's Events API v2. `send(routingKeySecret, event)` reads the integration key from the secret
 * of that name (cached for `secretCacheMs`), checks and clips the event as `preparePagerEvent` does and POSTs
 * `{routing_key, ...event}` as JSON. The answers are handled as PagerDuty documents them: 202 is accepted; 400 is a
 * `ValidationError` with PagerDuty's `errors`, never retried; 429, 5xx and network errors are retried with
 * exponential backoff and full jitter, then a `TransientError`. Errors name the routing key's secret, never the key:
 * a key that shows up in an answer is blanked out.
 *
 * @example
 * const pager = new EventsApiPager({ eventsUrl: config.incidents.pagerduty.eventsUrl, secrets });
 * await pager.send("switchyard/pagerduty-routing-key", {
 *   event_action: "trigger",
 *   dedup_key: alert.fingerprint,
 *   payload: { summary: "checkout 5xx above 5%", source: "prometheus", severity: "critical" },
 * }); // { status: "success", dedupKey: alert.fingerprint, delivery: "sent" }
 */
export class EventsApiPager implements Pager {
  private readonly eventsUrl: string;
  private readonly client: JsonClient;

  constructor(options: EventsApiPagerOptions) {
    this.eventsUrl = options.eventsUrl;
    this.client = new JsonClient(options, {
      defaultRetry: defaultPagerRetry,
      secretLabel: "PagerDuty routing key secret",
    });
  }

  async send(routingKeySecret: string, event: PagerEvent): Promise<PagerResult> {
    const prepared = preparePagerEvent(event);
    const routingKey = await this.client.secret(routingKeySecret);
    const body = JSON.stringify({ routing_key: routingKey, ...prepared });
    if (Buffer.byteLength(body, "utf8") > maxEventBytes) {
      throw new ValidationError(
        `The PagerDuty ${prepared.event_action} event for dedup_key ${prepared.dedup_key} is over PagerDuty's ` +
          `${maxEventBytes / 1024} KB limit; trim payload.custom_details`,
      );
    }
    const redact = redactor(routingKey, "[routing key]");
    const what = `PagerDuty ${prepared.event_action} for dedup_key ${prepared.dedup_key} (routing key secret ${routingKeySecret})`;
    return this.client.post({
      url: this.eventsUrl,
      headers: { "content-type": "application/json", accept: "application/json" },
      body,
      what,
      redact,
      read: (response, text): PagerResult | RetryableFailure => {
        const answer = parseJson(text);
        if (response.status >= 200 && response.status < 300) {
          const accepted = (answer ?? {}) as { status?: unknown; dedup_key?: unknown };
          return {
            status: typeof accepted.status === "string" ? accepted.status : "success",
            dedupKey: typeof accepted.dedup_key === "string" ? accepted.dedup_key : prepared.dedup_key,
            delivery: "sent",
          };
        }
        if (response.status === 429 || response.status === 408 || response.status >= 500) {
          return new RetryableFailure(`HTTP ${response.status}: ${redact(describeRefusal(answer))}`);
        }
        // A refused key may have been rotated since it was cached: read it afresh next time.
        this.client.forgetSecret(routingKeySecret);
        throw new ValidationError(
          `${what} was refused with HTTP ${response.status}: ${redact(describeRefusal(answer))}`,
        );
      },
    });
  }
}
