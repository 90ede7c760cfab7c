// Prometheus Alertmanager's webhook (payload version 4) and the event Switchyard's ingest puts on the bus for it.
import { z } from "zod";
import { eventEnvelope } from "./envelope.ts";
import { offsetTimestamp, stringMap } from "./primitives.ts";

/** Whether an alert (or a whole group) is firing or resolved. */
export const alertStatusSchema = z.enum(["firing", "resolved"]);

/** One alert of the notified group. */
export const alertmanagerAlertSchema = z.looseObject({
  status: alertStatusSchema,
  labels: stringMap,
  annotations: stringMap,
  startsAt: offsetTimestamp,
  // "0001-01-01T00:00:00Z" (Go's zero time) while the alert is still firing.
  endsAt: offsetTimestamp,
  // Empty for alerts that were not sent by Prometheus.
  generatorURL: z.string(),
  // Alertmanager's 64-bit label-set hash in hex; Switchyard keys one incident per fingerprint.
  fingerprint: z.string().regex(/^[0-9a-f]{16}$/, "expected a 16-character hex alert fingerprint"),
});

/**
 * The JSON body Alertmanager POSTs to a `webhook_config` receiver: one notification for one alert group.
 *
 * @example
 * ```ts
 * const body = alertmanagerWebhookSchema.parse(JSON.parse(request.body));
 * for (const alert of body.alerts) upsertIncident(alert.fingerprint, alert.status);
 * ```
 */
export const alertmanagerWebhookSchema = z.looseObject({
  version: z.literal("4"),
  groupKey: z.string().min(1),
  // Alerts left out because the receiver's max_alerts was reached; older Alertmanager releases omit it.
  truncatedAlerts: z.number().int().nonnegative().optional(),
  status: alertStatusSchema,
  receiver: z.string().min(1),
  groupLabels: stringMap,
  commonLabels: stringMap,
  commonAnnotations: stringMap,
  externalURL: z.url(),
  alerts: z.array(alertmanagerAlertSchema).min(1),
});

/**
 * An Alertmanager notification on the Switchyard bus: the webhook body unchanged as `detail`.
 *
 * @example
 * ```ts
 * const { detail } = alertmanagerAlertGroupEventSchema.parse(input);
 * const firing = detail.alerts.filter((alert) => alert.status === "firing");
 * ```
 */
export const alertmanagerAlertGroupEventSchema = eventEnvelope(
  "alertmanager",
  "Alertmanager Alert Group",
  alertmanagerWebhookSchema,
);
