// Lambda behind POST /webhooks/alertmanager: checks the bearer token, puts one Alert Received per alert on the bus.

import { alertmanagerWebhookSchema } from "../../events/schemas/alertmanager.ts";
import {
  type AlertmanagerWebhook,
  alertContextOf,
  alertReceivedEvent,
  fromAlertmanager,
  putEventsBatches,
} from "../core/alerts.ts";
import { overlapHoursOf, type SwitchyardConfig } from "../core/config.ts";
import { ValidationError } from "../core/errors.ts";
import { PayloadTooLargeError } from "../core/http-errors.ts";
import type { Clock, EventPublisher, SecretStore } from "../core/ports.ts";
import { bearerTokenVerifier } from "../core/webhook-secrets.ts";
import { awsConfig, clock, eventPublisher, secretStore } from "../wiring/aws.ts";
import {
  describeIssues,
  type ErrorBody,
  type HttpRequest,
  type HttpResult,
  withHttpStack,
} from "../wiring/http.ts";
import { coldStart } from "../wiring/middleware.ts";
import { logger } from "../wiring/observability.ts";

/** The route this function serves (functions/registry.ts). */
export const ingestAlertmanagerWebhookRoute = { method: "POST", path: "/webhooks/alertmanager" } as const;

/**
 * The parts of the request the stack validates before the handler runs: none. The body is parsed and validated
 * by the handler after the token is checked, so an unauthenticated caller learns nothing about the schema.
 */
export const ingestAlertmanagerWebhookRequest = {} as const;

/** The largest notification accepted; Alertmanager's groups are far smaller unless something is wrong. */
export const maxWebhookBodyBytes = 1024 * 1024;
/** How long a fetched token is trusted before it is read again. */
export const tokenCacheSeconds = 5 * 60;
/** A token that matches no cached value re-reads the secret, at most this often (a rotation may have begun). */
export const tokenRefreshIntervalSeconds = 30;

const bearerPattern = /^Bearer[ \t]+(\S+)[ \t]*$/i;
/** RFC 6750's challenge: without an error code when no credentials came, `invalid_token` when they were wrong. */
const challenge = 'Bearer realm="switchyard"';
const invalidTokenChallenge = `${challenge}, error="invalid_token"`;

export interface IngestAlertmanagerWebhookDeps {
  config: Pick<SwitchyardConfig, "incidents" | "services" | "secrets">;
  secrets: SecretStore;
  publisher: EventPublisher;
  clock: Clock;
}

/** What a notification is answered with (202): the alerts put on the bus and those Alertmanager left out. */
export interface IngestAlertmanagerWebhookAnswer {
  accepted: number;
  truncatedAlerts: number;
}

/** A 401 with the Bearer challenge; the message never carries the token sent or expected. */
const unauthorized = (message: string, header: string): HttpResult<ErrorBody> => {
  logger.info("Request refused", { statusCode: 401, code: "Unauthorized", reason: message });
  return {
    statusCode: 401,
    headers: { "www-authenticate": header },
    body: { error: "Unauthorized", message },
  };
};

/**
 * Checks `Authorization: Bearer <token>` against the tokens Alertmanager may send (`acceptedSecretValues`: the
 * current one, a pending one, the previous one within `rotation.overlapHours`), cached as digests; a mismatch
 * re-reads them (at most every `tokenRefreshIntervalSeconds`), since the token may have been rotated meanwhile.
 * Answers the 401 to send, or undefined when the token is good.
 */
const tokenVerifier = (deps: IngestAlertmanagerWebhookDeps) => {
  const secretName = deps.config.incidents.webhookToken.secret;
  const isValid = bearerTokenVerifier(
    {
      secrets: deps.secrets,
      secretName,
      overlapHours: overlapHoursOf(deps.config, secretName),
      clock: deps.clock,
      label: "webhook token",
      trim: true,
    },
    { cacheSeconds: tokenCacheSeconds, refreshIntervalSeconds: tokenRefreshIntervalSeconds },
  );
  return async (request: HttpRequest): Promise<HttpResult<ErrorBody> | undefined> => {
    const header = request.headers.authorization;
    if (header === undefined || header.trim() === "") {
      return unauthorized("Authorization header is missing; expected Bearer <token>", challenge);
    }
    const token = bearerPattern.exec(header)?.[1];
    if (token === undefined) {
      return unauthorized("Authorization header is not Bearer <token>", invalidTokenChallenge);
    }
    if (await isValid(token)) return undefined;
    return unauthorized("The bearer token is not valid", invalidTokenChallenge);
  };
};

/** The notification in the body: JSON, and a version 4 payload; a 400 names what is wrong and where. */
const notificationOf = (rawBody: Buffer): AlertmanagerWebhook => {
  if (rawBody.length > maxWebhookBodyBytes) {
    throw new PayloadTooLargeError(
      `The notification is ${rawBody.length} bytes; at most ${maxWebhookBodyBytes} bytes are accepted (lower max_alerts in the webhook_config)`,
    );
  }
  if (rawBody.length === 0)
    throw new ValidationError("Request body is empty; expected an Alertmanager notification");
  let payload: unknown;
  try {
    payload = JSON.parse(rawBody.toString("utf8"));
  } catch (cause) {
    const detail = cause instanceof SyntaxError ? `: ${cause.message}` : "";
    throw new ValidationError(`Request body is not valid JSON${detail}`, { cause });
  }
  const result = alertmanagerWebhookSchema.safeParse(payload);
  if (!result.success) {
    throw new ValidationError(
      `Invalid Alertmanager notification (webhook payload version 4): ${describeIssues("body", result.error.issues)}`,
      { cause: result.error },
    );
  }
  return result.data;
};

/**
 * Handles one Alertmanager notification (`webhook_config` with `http_config.authorization.credentials`):
 * - 401 with `WWW-Authenticate: Bearer` when the token is missing, not a Bearer token, or not the one in the secret
 *   store (`incidents.webhookToken`), compared in constant time; nothing published;
 * - 413 over 1 MB; 400 when the body is not JSON or not a version 4 payload, naming each problem's path;
 * - 202 `{ accepted, truncatedAlerts }` once one `Alert Received` per alert is on the bus. Alerts Alertmanager left
 *   out (`truncatedAlerts`, from `max_alerts`) were never sent, so they open no incident: counted and logged.
 * A publish that fails answers 5xx so Alertmanager retries the whole group; events already published are then sent
 * again, which the incident workflow tolerates (one incident per fingerprint and start).
 *
 * @example
 * const handler = withHttpStack(makeIngestAlertmanagerWebhook({ config, secrets, publisher, clock }));
 */
export const makeIngestAlertmanagerWebhook = (deps: IngestAlertmanagerWebhookDeps) => {
  const verifyToken = tokenVerifier(deps);
  const context = alertContextOf(deps.config);
  return async (request: HttpRequest): Promise<HttpResult<IngestAlertmanagerWebhookAnswer | ErrorBody>> => {
    const refusal = await verifyToken(request);
    if (refusal) return refusal;
    const notification = notificationOf(request.rawBody);
    const { alerts, truncatedAlerts } = fromAlertmanager(notification, context);
    for (const batch of putEventsBatches(alerts.map(alertReceivedEvent))) {
      await deps.publisher.publish(batch);
    }
    const logged = {
      receiver: notification.receiver,
      groupKey: notification.groupKey,
      alerts: alerts.length,
    };
    if (truncatedAlerts > 0) {
      logger.warn("Alertmanager left alerts out of the notification (max_alerts); they open no incident", {
        ...logged,
        truncatedAlerts,
      });
    }
    logger.info("Alertmanager notification accepted", logged);
    return { statusCode: 202, body: { accepted: alerts.length, truncatedAlerts } };
  };
};

export const handler = coldStart(() =>
  withHttpStack(
    makeIngestAlertmanagerWebhook({
      config: awsConfig(),
      secrets: secretStore(),
      publisher: eventPublisher(),
      clock,
    }),
    ingestAlertmanagerWebhookRequest,
  ),
);
