// Lambda behind POST /webhooks/pagerduty: verifies PagerDuty's v3 signature; an acknowledgement there acknowledges here.

import { z } from "zod";
import { overlapHoursOf, type SwitchyardConfig } from "../core/config.ts";
import { TransientError, ValidationError } from "../core/errors.ts";
import { PayloadTooLargeError, UnauthorizedError } from "../core/http-errors.ts";
import { acknowledgeIncident, type IncidentDeps } from "../core/incidents.ts";
import type { SecretStore } from "../core/ports.ts";
import { hmacSignatureVerifier } from "../core/webhook-secrets.ts";
import {
  awsConfig,
  clock,
  eventPublisher,
  incidentStore,
  secretStore,
  workflowCallbacks,
} from "../wiring/aws.ts";
import { describeIssues, type HttpRequest, type HttpResult, withHttpStack } from "../wiring/http.ts";
import { coldStart } from "../wiring/middleware.ts";
import { logger } from "../wiring/observability.ts";

/** The route this function serves (functions/registry.ts). */
export const ingestPagerdutyWebhookRoute = { method: "POST", path: "/webhooks/pagerduty" } as const;

/**
 * The parts of the request the stack validates before the handler runs: none. The body is parsed and validated by
 * the handler after the signature is checked, so an unauthenticated caller learns nothing about the schema.
 */
export const ingestPagerdutyWebhookRequest = {} as const;

/** PagerDuty drops every webhook over 256 KB (and guarantees delivery up to 55 KB): nothing larger is theirs. */
export const maxPagerdutyWebhookBytes = 256 * 1024;
/** How long a fetched webhook secret is trusted before it is read again. */
export const secretCacheSeconds = 5 * 60;
/** A signature that matches no cached secret re-reads the secret, at most this often (a rotation may have begun). */
export const secretRefreshIntervalSeconds = 30;
/** PagerDuty sends one signature per signing secret (two while one rotates); more than this is not PagerDuty. */
export const maxSignatures = 10;
/** Dedup keys (the incident's `incident_key`) are at most 255 characters, as fingerprints are. */
const maxIncidentKeyLength = 255;
const maxAgentNameLength = 200;

const signatureHeader = "x-pagerduty-signature";
/** The `v1` scheme: HMAC-SHA256 of the raw body, as 64 hex digits. */
const v1SignaturePattern = /^v1=([0-9a-f]{64})$/i;
/** Characters Slack's mrkdwn reads as markup (`<!channel>`), and control characters: dropped from agent names. */
const unsafeNameCharacters = /[<>&\p{Cc}]/gu;

export interface IngestPagerdutyWebhookDeps
  extends Pick<IncidentDeps, "incidents" | "callbacks" | "publisher" | "clock"> {
  /** `incidents.pagerduty.webhookSecret` names the signing secret; `secrets[].rotation.overlapHours` its overlap. */
  config: Pick<SwitchyardConfig, "incidents" | "secrets">;
  secrets: SecretStore;
}

/** Who or what made the change (`event.agent`): a user reference for a person, null for PagerDuty itself. */
const agentSchema = z
  .object({
    type: z.string().optional(),
    id: z.string().optional(),
    summary: z.string().nullish(),
    html_url: z.string().nullish(),
  })
  .nullish();

/**
 * A v3 webhook (`{ event: { id, event_type, resource_type, occurred_at, agent, client, data } }`): only what Switchyard
 * reads is checked, and other fields are allowed (PagerDuty adds fields and event types over time).
 */
export const pagerdutyWebhookSchema = z.object({
  event: z.object({
    id: z.string().min(1),
    event_type: z.string().min(1),
    resource_type: z.string().optional(),
    occurred_at: z.string().optional(),
    agent: agentSchema,
    data: z.record(z.string(), z.unknown()).nullish(),
  }),
});

/** `event.data` of the `incident.*` events: the incident, whose `incident_key` is the dedup key it was triggered with. */
export const pagerdutyIncidentSchema = z.object({
  id: z.string(),
  type: z.literal("incident"),
  incident_key: z.string().nullish(),
  status: z.string().optional(),
  html_url: z.string().optional(),
});

export type PagerdutyWebhook = z.infer<typeof pagerdutyWebhookSchema>;

/** What a delivery is answered with (200): what it did to Switchyard's incidents. */
export type IngestPagerdutyWebhookAnswer =
  | { action: "acknowledged"; incidentId: string; changed: boolean }
  | { action: "ignored"; reason: string };

/**
 * The `v1` signatures of `X-PagerDuty-Signature` (comma-separated, one per signing secret) as the 32 bytes each
 * names; signatures of other versions are skipped, as PagerDuty asks.
 */
const signaturesOf = (request: HttpRequest): Buffer[] => {
  const header = request.headers[signatureHeader];
  if (header === undefined || header.trim() === "") {
    throw new UnauthorizedError("X-PagerDuty-Signature header is missing");
  }
  const parts = header.split(",").map((part) => part.trim());
  if (parts.length > maxSignatures) {
    throw new UnauthorizedError(`X-PagerDuty-Signature carries more than ${maxSignatures} signatures`);
  }
  const signatures = parts.flatMap((part) => {
    const hex = v1SignaturePattern.exec(part)?.[1];
    return hex === undefined ? [] : [Buffer.from(hex, "hex")];
  });
  if (signatures.length === 0) {
    throw new UnauthorizedError("X-PagerDuty-Signature has no v1= signature of 64 hex digits");
  }
  return signatures;
};

/**
 * Verifies signatures against the secrets they may be made with (`acceptedSecretValues`: AWSCURRENT, AWSPENDING
 * while a rotation is under way, AWSPREVIOUS within `rotation.overlapHours`), cached; a mismatch re-reads them (at
 * most every `secretRefreshIntervalSeconds`), since a new secret may have been set meanwhile. (PagerDuty itself sends
 * one signature per secret while its own secret rotates, so either side may rotate without refusing a delivery.)
 */
const signatureVerifier = (deps: IngestPagerdutyWebhookDeps) => {
  const secretName = deps.config.incidents.pagerduty.webhookSecret.secret;
  const isSigned = hmacSignatureVerifier(
    {
      secrets: deps.secrets,
      secretName,
      overlapHours: overlapHoursOf(deps.config, secretName),
      clock: deps.clock,
      label: "webhook secret",
      trim: true,
    },
    { cacheSeconds: secretCacheSeconds, refreshIntervalSeconds: secretRefreshIntervalSeconds },
  );
  return async (request: HttpRequest): Promise<void> => {
    if (await isSigned(request.rawBody, signaturesOf(request))) return;
    throw new UnauthorizedError("X-PagerDuty-Signature does not match the request body");
  };
};

/** The delivery's v3 envelope; a 400 names what is wrong and where. */
const webhookOf = (rawBody: Buffer): PagerdutyWebhook => {
  let payload: unknown;
  try {
    payload = JSON.parse(rawBody.toString("utf8"));
  } catch (cause) {
    const detail = cause instanceof SyntaxError ? `: ${cause.message}` : "";
    throw new ValidationError(`Request body is not valid JSON${detail}`, { cause });
  }
  const result = pagerdutyWebhookSchema.safeParse(payload);
  if (!result.success) {
    throw new ValidationError(
      `Invalid PagerDuty webhook (v3): ${describeIssues("body", result.error.issues)}`,
      { cause: result.error },
    );
  }
  return result.data;
};

/** The name of the PagerDuty user who acknowledged (`event.agent.summary`), else "PagerDuty". */
export const agentName = (agent: PagerdutyWebhook["event"]["agent"]): string => {
  const name = (agent?.summary ?? "").replace(unsafeNameCharacters, "").trim().slice(0, maxAgentNameLength);
  return name === "" ? "PagerDuty" : name;
};

const ignored = (reason: string): HttpResult<IngestPagerdutyWebhookAnswer> => ({
  statusCode: 200,
  body: { action: "ignored", reason },
});

/**
 * Handles one PagerDuty v3 webhook delivery:
 * - 413 over 256 KB (PagerDuty never sends more);
 * - 401 when `X-PagerDuty-Signature` is missing, holds no `v1=` signature, or none of its signatures is the
 *   HMAC-SHA256 of the raw body with `incidents.pagerduty.webhookSecret` (constant time); nothing changes;
 * - 400 when the body is not JSON or not a v3 envelope;
 * - `incident.acknowledged`: the Switchyard incident whose fingerprint is the PagerDuty incident's `incident_key` (the
 *   `dedup_key` Switchyard triggered with) is acknowledged by the agent (`event.agent.summary`), via `pagerduty` →
 *   200 `{ action: "acknowledged", incidentId, changed }`;
 * - every other event type, an incident Switchyard did not open, or one already resolved → 200 `{ action: "ignored" }`
 *   (PagerDuty retries only 5xx and 429, and turns a subscription off after repeated 4xx).
 *
 * @example
 * const handler = withHttpStack(makeIngestPagerdutyWebhook({ config, secrets, incidents, callbacks, publisher, clock }), ingestPagerdutyWebhookRequest);
 */
export const makeIngestPagerdutyWebhook = (deps: IngestPagerdutyWebhookDeps) => {
  const verifySignature = signatureVerifier(deps);
  return async (request: HttpRequest): Promise<HttpResult<IngestPagerdutyWebhookAnswer>> => {
    if (request.rawBody.length > maxPagerdutyWebhookBytes) {
      throw new PayloadTooLargeError(
        `The webhook is ${request.rawBody.length} bytes; PagerDuty sends at most ${maxPagerdutyWebhookBytes}`,
      );
    }
    await verifySignature(request);
    const { event } = webhookOf(request.rawBody);
    const logged = { pagerdutyEvent: event.id, eventType: event.event_type };
    if (event.event_type !== "incident.acknowledged") {
      logger.info("PagerDuty webhook ignored: not an acknowledgement", logged);
      return ignored(`${event.event_type} events change nothing in Switchyard`);
    }
    const data = pagerdutyIncidentSchema.safeParse(event.data);
    const key = data.success ? data.data.incident_key : undefined;
    if (!key || key.length > maxIncidentKeyLength) {
      logger.info("PagerDuty webhook ignored: the incident has no usable incident_key", logged);
      return ignored("the PagerDuty incident has no incident_key Switchyard could have triggered it with");
    }
    const active = await deps.incidents.findActive(key);
    if (!active) {
      logger.info("PagerDuty webhook ignored: no active Switchyard incident", {
        ...logged,
        incidentKey: key,
      });
      return ignored("no open Switchyard incident has this incident_key");
    }
    const by = agentName(event.agent);
    try {
      const { incident, changed } = await acknowledgeIncident(deps, {
        incidentId: active.id,
        by,
        via: "pagerduty",
      });
      logger.info("Incident acknowledged in PagerDuty", { ...logged, incidentId: incident.id, changed });
      return { statusCode: 200, body: { action: "acknowledged", incidentId: incident.id, changed } };
    } catch (error) {
      if (!(error instanceof Error && error.name === "ConflictError")) throw error;
      // Resolved between the lookup and the acknowledgement: nothing left to acknowledge.
      const current = await deps.incidents.get(active.id);
      if (current?.status === "resolved") return ignored("the Switchyard incident is already resolved");
      // Other writers kept winning: a 5xx, which PagerDuty retries (a 409 would be dropped).
      throw new TransientError(`incident ${active.id} kept changing; retry the delivery`, { cause: error });
    }
  };
};

export const handler = coldStart(() =>
  withHttpStack(
    makeIngestPagerdutyWebhook({
      config: awsConfig(),
      secrets: secretStore(),
      incidents: incidentStore(),
      callbacks: workflowCallbacks(),
      publisher: eventPublisher(),
      clock,
    }),
    ingestPagerdutyWebhookRequest,
  ),
);
