// Lambda behind POST /webhooks/github: verifies GitHub's signature, drops repeated deliveries, relays events to the bus.

import { overlapHoursOf } from "../core/config.ts";
import { ValidationError } from "../core/errors.ts";
import { PayloadTooLargeError, UnauthorizedError } from "../core/http-errors.ts";
import type { Clock, EventPublisher, IdempotencyStore, SecretStore } from "../core/ports.ts";
import { hmacSignatureVerifier } from "../core/webhook-secrets.ts";
import { awsConfig, clock, eventPublisher, idempotencyStore, secretStore } from "../wiring/aws.ts";
import { type HttpRequest, type HttpResult, withHttpStack } from "../wiring/http.ts";
import { coldStart } from "../wiring/middleware.ts";
import { logger } from "../wiring/observability.ts";

/** The `source` GitHub's events carry on the bus. */
export const githubEventSource = "github.com";

/** GitHub lets a delivery be redelivered for 3 days; a week of memory covers every redelivery. */
export const deliveryTtlSeconds = 7 * 24 * 60 * 60;
/** How long a delivery is held while it is being published: longer than a publish can take, short enough that a delivery whose function died mid-way can be redelivered within minutes. */
export const processingTtlSeconds = 5 * 60;
/** How long a fetched webhook secret is trusted before it is read again. */
export const secretCacheSeconds = 5 * 60;
/** A signature that matches no cached secret re-reads the secret, at most this often (a rotation may have begun). */
export const secretRefreshIntervalSeconds = 30;
/** An EventBridge entry (source, detail-type and detail) holds at most 256 KB. */
export const maxEventBytes = 256 * 1024;

const signaturePrefix = "sha256=";
const signaturePattern = /^sha256=[0-9a-f]{64}$/i;
/** GitHub's delivery ids are GUIDs; anything beyond these characters is not one. */
const deliveryIdPattern = /^[A-Za-z0-9-]{1,100}$/;
/** GitHub's event names: `push`, `release`, `workflow_run`, … */
const eventNamePattern = /^[a-z][a-z_]{0,99}$/;

export interface IngestGithubWebhookDeps {
  secrets: SecretStore;
  /** Name of the secret holding the webhook secret (switchyard.yaml `github.webhookSecret`). */
  secretName: string;
  /** How long after a rotation the previous secret still verifies (`secrets[].rotation.overlapHours`); default 0. */
  overlapHours?: number;
  idempotency: IdempotencyStore;
  publisher: EventPublisher;
  clock: Clock;
}

/** Reads `X-Hub-Signature-256` (`sha256=` + 64 hex digits) as the 32 bytes it names. */
const signatureOf = (request: HttpRequest): Buffer => {
  const header = request.headers["x-hub-signature-256"];
  if (header === undefined) throw new UnauthorizedError("X-Hub-Signature-256 header is missing");
  if (!signaturePattern.test(header)) {
    throw new UnauthorizedError("X-Hub-Signature-256 is not sha256= followed by 64 hex digits");
  }
  return Buffer.from(header.slice(signaturePrefix.length), "hex");
};

/**
 * Verifies signatures against the webhook secrets they may be made with (`acceptedSecretValues`: AWSCURRENT,
 * AWSPENDING while a rotation is under way, AWSPREVIOUS for `overlapHours`), used as stored, since GitHub signs with
 * the exact bytes it was given. They are cached; a mismatch re-reads them (at most every
 * `secretRefreshIntervalSeconds`), since a new secret may have been set in GitHub and Secrets Manager meanwhile.
 */
const signatureVerifier = (deps: IngestGithubWebhookDeps) => {
  const isSigned = hmacSignatureVerifier(
    {
      secrets: deps.secrets,
      secretName: deps.secretName,
      overlapHours: deps.overlapHours ?? 0,
      clock: deps.clock,
      label: "webhook secret",
    },
    { cacheSeconds: secretCacheSeconds, refreshIntervalSeconds: secretRefreshIntervalSeconds },
  );
  return async (request: HttpRequest): Promise<void> => {
    if (await isSigned(request.rawBody, [signatureOf(request)])) return;
    throw new UnauthorizedError("X-Hub-Signature-256 does not match the request body");
  };
};

/** `X-GitHub-Event` and `X-GitHub-Delivery`, which GitHub sends with every delivery. */
const deliveryOf = (request: HttpRequest): { event: string; delivery: string } => {
  const event = request.headers["x-github-event"];
  const delivery = request.headers["x-github-delivery"];
  const problems = [
    event === undefined && "X-GitHub-Event header is missing",
    event !== undefined && !eventNamePattern.test(event) && "X-GitHub-Event is not a GitHub event name",
    delivery === undefined && "X-GitHub-Delivery header is missing",
    delivery !== undefined && !deliveryIdPattern.test(delivery) && "X-GitHub-Delivery is not a delivery GUID",
  ].filter((problem): problem is string => typeof problem === "string");
  if (problems.length > 0 || event === undefined || delivery === undefined) {
    throw new ValidationError(problems.join("; "));
  }
  return { event, delivery };
};

/**
 * The delivery's JSON payload: the body itself (content type application/json), or its `payload` field when the
 * webhook was set up with application/x-www-form-urlencoded.
 */
const payloadOf = (request: HttpRequest): Record<string, unknown> => {
  const text = request.rawBody.toString("utf8");
  const form = request.headers["content-type"]?.toLowerCase().startsWith("application/x-www-form-urlencoded");
  const json = form ? new URLSearchParams(text).get("payload") : text;
  if (json === null) throw new ValidationError("Form-encoded delivery has no payload field");
  let payload: unknown;
  try {
    payload = JSON.parse(json);
  } catch (cause) {
    const detail = cause instanceof SyntaxError ? `: ${cause.message}` : "";
    throw new ValidationError(`Request body is not valid JSON${detail}`, { cause });
  }
  if (payload === null || typeof payload !== "object" || Array.isArray(payload)) {
    throw new ValidationError("Request body is not a JSON object");
  }
  return payload as Record<string, unknown>;
};

const checkSize = (event: string, payload: Record<string, unknown>): void => {
  const bytes =
    Buffer.byteLength(githubEventSource) +
    Buffer.byteLength(event) +
    Buffer.byteLength(JSON.stringify(payload));
  if (bytes > maxEventBytes) {
    throw new PayloadTooLargeError(
      `The ${event} event is ${bytes} bytes; the event bus accepts at most ${maxEventBytes} bytes per event`,
    );
  }
};

/** Publishes, or gives the claim back so GitHub's redelivery is processed rather than answered as a duplicate. */
const publishOrRelease = async (
  deps: IngestGithubWebhookDeps,
  claimKey: string,
  event: string,
  payload: Record<string, unknown>,
): Promise<void> => {
  try {
    await deps.publisher.publish([
      { source: githubEventSource, detailType: event, detail: payload, resources: [] },
    ]);
  } catch (error) {
    await deps.idempotency.release(claimKey).catch((releaseError: unknown) => {
      logger.error("Claim of an unpublished delivery could not be released; redelivery will be dropped", {
        claimKey,
        error: releaseError,
      });
    });
    throw error;
  }
};

/**
 * Handles one GitHub webhook delivery:
 * - 401 when `X-Hub-Signature-256` is missing, malformed or not the HMAC-SHA256 of the raw body (nothing claimed
 *   or published);
 * - 400 when `X-GitHub-Event`/`X-GitHub-Delivery` are missing or the body is not a JSON object;
 * - 200 `{"pong": true}` for `ping` (not published);
 * - 413 when the payload cannot fit an EventBridge event;
 * - 200 `{"duplicate": true, "delivery": id}` for a delivery already accepted within `deliveryTtlSeconds`;
 * - 202 `{"accepted": true, "delivery": id}` once the event is on the bus as source `github.com`, detail-type the
 *   event name. A failed publish releases the claim and answers 5xx, so GitHub's redelivery goes through.
 *
 * @example
 * const handler = withHttpStack(makeIngestGithubWebhook({ secrets, secretName, idempotency, publisher, clock }));
 */
export const makeIngestGithubWebhook = (deps: IngestGithubWebhookDeps) => {
  const verifySignature = signatureVerifier(deps);
  return async (request: HttpRequest): Promise<HttpResult> => {
    await verifySignature(request);
    const { event, delivery } = deliveryOf(request);
    const payload = payloadOf(request);
    if (event === "ping") return { statusCode: 200, body: { pong: true } };
    checkSize(event, payload);
    const claimKey = `github-delivery:${delivery}`;
    // Held briefly while publishing, then for the whole window: a crash in between frees the delivery soon.
    if (!(await deps.idempotency.claim(claimKey, processingTtlSeconds))) {
      logger.info("Repeated GitHub delivery dropped", { delivery, githubEvent: event });
      return { statusCode: 200, body: { duplicate: true, delivery } };
    }
    await publishOrRelease(deps, claimKey, event, payload);
    await deps.idempotency.complete(claimKey, deliveryTtlSeconds).catch((error: unknown) => {
      // Published already: answering 5xx would make GitHub send it again. A redelivery after the short hold
      // would be published twice, which consumers tolerate (EventBridge delivers at least once anyway).
      logger.error("Accepted delivery could not be remembered for the full window", { claimKey, error });
    });
    logger.info("GitHub delivery accepted", { delivery, githubEvent: event });
    return { statusCode: 202, body: { accepted: true, delivery } };
  };
};

export const handler = coldStart(() =>
  withHttpStack(
    makeIngestGithubWebhook({
      secrets: secretStore(),
      secretName: awsConfig().github.webhookSecret,
      overlapHours: overlapHoursOf(awsConfig(), awsConfig().github.webhookSecret),
      idempotency: idempotencyStore(),
      publisher: eventPublisher(),
      clock,
    }),
  ),
);
