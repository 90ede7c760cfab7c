// Normalises every alert source (Alertmanager, CloudWatch alarms, Switchyard's own failures) to `Alert Received`.

import { createHash } from "node:crypto";
import type { z } from "zod";
import type { alertmanagerWebhookSchema } from "../../events/schemas/alertmanager.ts";
import type { cloudWatchAlarmStateChangeEventSchema } from "../../events/schemas/aws-cloudwatch.ts";
import type {
  alertReceivedDetailSchema,
  promotionRolledBackEventSchema,
  promotionSucceededEventSchema,
  restoreDrillFailedEventSchema,
  restoreDrillPassedEventSchema,
  secretRolloutFailedEventSchema,
  secretRotatedEventSchema,
} from "../../events/schemas/switchyard.ts";
import type { IncidentSeverity, SecretConfig, ServiceConfig, SwitchyardConfig } from "./config.ts";
import type { DomainEvent } from "./ports.ts";

/** One normalised alert: the `detail` of an `Alert Received` event. */
export type AlertReceivedDetail = z.infer<typeof alertReceivedDetailSchema>;
export type AlertmanagerWebhook = z.infer<typeof alertmanagerWebhookSchema>;
export type CloudWatchAlarmEvent = z.infer<typeof cloudWatchAlarmStateChangeEventSchema>;

/** The detail-type every normalised alert is published with (source `switchyard`). */
export const alertReceivedDetailType = "Alert Received";

/** PagerDuty's `dedup_key` limit, which the fingerprint becomes. */
export const maxFingerprintLength = 255;
/** PagerDuty truncates summaries at 1024 characters. */
export const maxSummaryLength = 1024;
export const maxDescriptionLength = 4096;
/** A label value longer than this is clipped: labels are for reading and routing, not for payloads. */
export const maxLabelValueLength = 1024;
/** Labels beyond this many bytes (JSON) are left out, so one alert always fits an EventBridge entry. */
export const maxLabelsBytes = 32 * 1024;
/** Longer URLs are left out rather than cut (a cut URL points nowhere); Prometheus's long PromQL links fit. */
export const maxUrlLength = 8 * 1024;
/** EventBridge's limit for one PutEvents request (all its entries together) and for one entry. */
export const maxPutEventsBytes = 256 * 1024;
/** PutEvents takes at most 10 entries. */
export const maxPutEventsEntries = 10;

/** Go's zero `time.Time`: Alertmanager's `endsAt` of an alert that has not ended. */
const goZeroTimeMs = Date.parse("0001-01-01T00:00:00Z");
const ellipsis = "…";

/** What ties an alert to switchyard.yaml: services (by name, and by database) and secrets' consumers. */
export interface AlertContext {
  services: readonly Pick<ServiceConfig, "name" | "database">[];
  secrets?: readonly Pick<SecretConfig, "name" | "consumers">[];
}

/** The `AlertContext` of a loaded switchyard.yaml. */
export const alertContextOf = (config: Pick<SwitchyardConfig, "services" | "secrets">): AlertContext => ({
  services: config.services,
  secrets: config.secrets,
});

/**
 * Alertmanager's `severity` label values, by the PagerDuty severity they mean (compared lower-cased and trimmed).
 * `page`/`ticket` follow the SRE-book convention (a page wakes someone, a ticket does not); in a
 * critical/high/medium/low scheme `high` is one step below critical, so it is `error`. Any other value, or no
 * label at all, is `error`: an alert nobody classified still pages, but is not treated as the worst.
 */
export const severitySynonyms: Readonly<Record<string, IncidentSeverity>> = {
  critical: "critical",
  crit: "critical",
  page: "critical",
  emergency: "critical",
  emerg: "critical",
  fatal: "critical",
  disaster: "critical",
  p1: "critical",
  sev1: "critical",
  error: "error",
  err: "error",
  high: "error",
  major: "error",
  p2: "error",
  sev2: "error",
  warning: "warning",
  warn: "warning",
  medium: "warning",
  minor: "warning",
  ticket: "warning",
  p3: "warning",
  sev3: "warning",
  info: "info",
  informational: "info",
  notice: "info",
  low: "info",
  none: "info",
  p4: "info",
  p5: "info",
  sev4: "info",
  sev5: "info",
};

/** The severity of an unknown or missing `severity` label. */
export const defaultAlertSeverity: IncidentSeverity = "error";

/**
 * The PagerDuty severity a `severity` label value means.
 *
 * @example alertSeverity("page") // "critical"
 * @example alertSeverity("P3") // "warning"
 * @example alertSeverity("whatever") // "error"
 */
export const alertSeverity = (label: string | undefined): IncidentSeverity =>
  severitySynonyms[(label ?? "").trim().toLowerCase()] ?? defaultAlertSeverity;

/** Prometheus labels that may name the service, in the order they are tried. */
export const serviceLabels = ["service", "app", "app_kubernetes_io_name", "job", "namespace"] as const;

/** Cuts text to `max` characters (never inside a surrogate pair), ending in "…" when it was cut. */
export const clip = (text: string, max: number): string => {
  const chars = Array.from(text);
  return chars.length <= max ? text : `${chars.slice(0, max - 1).join("")}${ellipsis}`;
};

/** One line: runs of whitespace (newlines included) become one space. */
const oneLine = (text: string): string => text.replace(/\s+/g, " ").trim();

const nonEmpty = (text: string | undefined): string | undefined => {
  const trimmed = text?.trim();
  return trimmed === undefined || trimmed === "" ? undefined : trimmed;
};

/**
 * A link worth showing: http(s), not absurdly long, with a host. Anything else (an empty generatorURL, a relative
 * path, `javascript:`) is left out rather than rendered as a link in Slack or PagerDuty.
 *
 * @example httpUrl("https://runbooks.example.com/checkout") // "https://runbooks.example.com/checkout"
 * @example httpUrl("") // undefined
 */
export const httpUrl = (text: string | undefined): string | undefined => {
  const candidate = nonEmpty(text);
  if (candidate === undefined || candidate.length > maxUrlLength) return undefined;
  try {
    const url = new URL(candidate);
    return (url.protocol === "https:" || url.protocol === "http:") && url.hostname !== ""
      ? candidate
      : undefined;
  } catch {
    return undefined;
  }
};

/**
 * A timestamp with any offset (RFC 3339, or CloudWatch's `+0000`) as a UTC `Z` timestamp with milliseconds.
 *
 * @example utc("2025-01-14T11:03:27.391234567+01:00") // "2025-01-14T10:03:27.391Z"
 * @example utc("2025-01-14T10:05:41.318+0000") // "2025-01-14T10:05:41.318Z"
 */
export const utc = (timestamp: string): string =>
  new Date(timestamp.replace(/([+-]\d{2})(\d{2})$/, "$1:$2")).toISOString();

/**
 * `prefix + subject` when it fits PagerDuty's dedup_key, else `prefix + "sha256:" + hex` of the subject (stable:
 * the same subject always gives the same fingerprint).
 *
 * @example boundedFingerprint("cloudwatch:", "arn:aws:cloudwatch:eu-west-1:123456789012:alarm:x") // "cloudwatch:arn:aws:…:alarm:x"
 */
export const boundedFingerprint = (prefix: string, subject: string): string => {
  const plain = `${prefix}${subject}`;
  if (plain.length <= maxFingerprintLength) return plain;
  return `${prefix}sha256:${createHash("sha256").update(subject).digest("hex")}`;
};

/** Labels with long values clipped, and, past `maxLabelsBytes`, the rest left out (in their order). */
const boundedLabels = (labels: Readonly<Record<string, string>>): Record<string, string> => {
  const bounded: Record<string, string> = {};
  let bytes = 2;
  for (const [name, value] of Object.entries(labels)) {
    const clipped = clip(value, maxLabelValueLength);
    const size = Buffer.byteLength(JSON.stringify(name)) + Buffer.byteLength(JSON.stringify(clipped)) + 2;
    if (bytes + size > maxLabelsBytes) continue;
    bounded[name] = clipped;
    bytes += size;
  }
  return bounded;
};

const isService = (context: AlertContext, name: string | undefined): name is string =>
  name !== undefined && context.services.some((service) => service.name === name);

const summaryOf = (title: string | undefined, text: string | undefined, fallback: string): string => {
  const parts = [title, text].map((part) => (part === undefined ? undefined : oneLine(part)));
  const line = parts.filter((part): part is string => part !== undefined && part !== "").join(": ");
  return clip(line === "" ? fallback : line, maxSummaryLength);
};

const optional = <TKey extends string, TValue>(key: TKey, value: TValue | undefined) =>
  (value === undefined ? {} : { [key]: value }) as Partial<Record<TKey, TValue>>;

/** What one Alertmanager notification normalises to. */
export interface AlertmanagerAlerts {
  alerts: AlertReceivedDetail[];
  /** Alerts of the group Alertmanager left out (`max_alerts`): they were never sent, so they open no incident. */
  truncatedAlerts: number;
}

/**
 * One `Alert Received` detail per alert of an Alertmanager (v4) notification, keyed by the alert's fingerprint.
 * - status: the alert's own (a group can mix firing and resolved alerts);
 * - startsAt/endsAt: UTC; `endsAt` only for a resolved alert (Alertmanager sends Go's zero time while firing);
 * - severity: the `severity` label through {@link alertSeverity};
 * - service: the first of {@link serviceLabels} whose value is a service in switchyard.yaml;
 * - summary: `alertname: summary` (or the older `message` annotation), one line, at most 1,024 characters;
 * - runbookUrl/sourceUrl: `runbook_url` and `generatorURL`, when they are http(s) URLs.
 *
 * @example
 * const { alerts, truncatedAlerts } = fromAlertmanager(webhook, { services: config.services });
 * // alerts[0] → { alertSource: "alertmanager", fingerprint: "845c32a29100d116", status: "firing", severity: "critical", … }
 */
export const fromAlertmanager = (
  webhook: AlertmanagerWebhook,
  context: AlertContext,
): AlertmanagerAlerts => ({
  alerts: webhook.alerts.map((alert) => {
    const { labels, annotations } = alert;
    const summaryText = nonEmpty(annotations.summary) ?? nonEmpty(annotations.message);
    const description = nonEmpty(annotations.description);
    const endsAtMs = Date.parse(alert.endsAt);
    const ended = alert.status === "resolved" && endsAtMs > goZeroTimeMs;
    const service = serviceLabels.map((name) => labels[name]).find((value) => isService(context, value));
    return {
      alertSource: "alertmanager",
      fingerprint: alert.fingerprint,
      status: alert.status,
      startsAt: utc(alert.startsAt),
      ...optional("endsAt", ended ? utc(alert.endsAt) : undefined),
      severity: alertSeverity(labels.severity),
      ...optional("service", service),
      summary: summaryOf(nonEmpty(labels.alertname), summaryText, `Alert ${alert.fingerprint}`),
      ...optional("description", description && clip(description, maxDescriptionLength)),
      ...optional("runbookUrl", httpUrl(annotations.runbook_url) ?? httpUrl(annotations.runbook)),
      ...optional("sourceUrl", httpUrl(alert.generatorURL)),
      labels: boundedLabels(labels),
    } satisfies AlertReceivedDetail;
  }),
  truncatedAlerts: webhook.truncatedAlerts ?? 0,
});

/** `incidents.cloudwatch` of switchyard.yaml. */
export type CloudWatchAlertSettings = SwitchyardConfig["incidents"]["cloudwatch"];

type AlarmState = CloudWatchAlarmEvent["detail"]["state"]["value"];

/** Whether an alarm state counts as firing, resolved, or nothing, under the settings. */
const alarmStatus = (
  state: AlarmState,
  settings: CloudWatchAlertSettings,
): AlertReceivedDetail["status"] | undefined => {
  if (state === "ALARM") return "firing";
  if (state === "OK") return "resolved";
  return settings.insufficientData === "ignore" ? undefined : settings.insufficientData;
};

/** Alarm tags and metric dimensions that may name the service. */
const serviceKeys = ["service", "Service", "ServiceName", "switchyard:service", "app"];
/** Dimensions naming an RDS instance or cluster, matched against services' `database`. */
const databaseKeys = ["DBInstanceIdentifier", "DBClusterIdentifier"];
const nameSeparators = /[-_./: ]/;

/**
 * The service an alarm is about: a `service` tag (tag propagation), a service-naming dimension, an RDS dimension of
 * a service's database, and last the alarm name starting with a service name (`checkout-rds-cpu-high`; the longest
 * service name wins).
 */
const alarmService = (event: CloudWatchAlarmEvent, context: AlertContext): string | undefined => {
  const { detail } = event;
  const dimensions = (detail.configuration.metrics ?? []).map((m) => m.metricStat?.metric.dimensions ?? {});
  const maps = [detail.alarmTags ?? {}, ...dimensions];
  const named = maps.flatMap((map) => serviceKeys.map((key) => map[key])).find((v) => isService(context, v));
  if (named !== undefined) return named;
  const databases = dimensions.flatMap((map) => databaseKeys.map((key) => map[key]));
  const byDatabase = context.services.find(
    (service) => service.database !== undefined && databases.includes(service.database),
  );
  if (byDatabase !== undefined) return byDatabase.name;
  const byName = context.services
    .filter(
      (service) =>
        detail.alarmName === service.name ||
        (detail.alarmName.startsWith(service.name) &&
          nameSeparators.test(detail.alarmName.charAt(service.name.length))),
    )
    .sort((a, b) => b.name.length - a.name.length)[0];
  return byName?.name;
};

/** The console origin of an ARN's partition. */
const consoleOrigin = (partition: string, region: string): string =>
  partition === "aws-cn"
    ? "https://console.amazonaws.cn"
    : partition === "aws-us-gov"
      ? "https://console.amazonaws-us-gov.com"
      : `https://${region}.console.aws.amazon.com`;

/**
 * The CloudWatch console page of an alarm.
 *
 * @example alarmConsoleUrl("arn:aws:cloudwatch:eu-west-1:123456789012:alarm:checkout-5xx", "checkout-5xx")
 * // "https://eu-west-1.console.aws.amazon.com/cloudwatch/home?region=eu-west-1#alarmsV2:alarm/checkout-5xx"
 */
export const alarmConsoleUrl = (alarmArn: string, alarmName: string): string => {
  const [, partition = "aws", , region = ""] = alarmArn.split(":");
  return `${consoleOrigin(partition, region)}/cloudwatch/home?region=${region}#alarmsV2:alarm/${encodeURIComponent(alarmName)}`;
};

const runbookPattern = /runbook:?\s*(https?:\/\/\S+)/i;

/** `runbook_url`/`runbook` tags, else a "Runbook: <url>" in the alarm's description. */
const alarmRunbook = (detail: CloudWatchAlarmEvent["detail"]): string | undefined =>
  httpUrl(detail.alarmTags?.runbook_url) ??
  httpUrl(detail.alarmTags?.runbook) ??
  httpUrl(detail.configuration.description?.match(runbookPattern)?.[1]?.replace(/[.,;)]+$/, ""));

/**
 * The `Alert Received` detail of a CloudWatch `Alarm State Change`, or undefined when the change opens or closes
 * nothing: INSUFFICIENT_DATA under `insufficientData: ignore`, and a change that "resolves" from OK.
 * - ALARM → firing, startsAt when the alarm entered ALARM (or the firing state before it: ALARM → INSUFFICIENT_DATA
 *   under `firing` keeps the start, so it opens no second incident);
 * - OK → resolved, startsAt = when the previous state began, endsAt = now in OK. Incidents resolve by fingerprint;
 * - fingerprint `cloudwatch:<alarm ARN>` (hashed past 255 characters); severity from settings, or a `severity` tag
 *   holding one of PagerDuty's four.
 *
 * @example
 * fromCloudWatchAlarm(event, config.incidents.cloudwatch, { services: config.services })
 * // { alertSource: "cloudwatch", fingerprint: "cloudwatch:arn:aws:cloudwatch:…:alarm:checkout-prod-target-5xx", status: "firing", … }
 */
export const fromCloudWatchAlarm = (
  event: CloudWatchAlarmEvent,
  settings: CloudWatchAlertSettings,
  context: AlertContext,
): AlertReceivedDetail | undefined => {
  const { detail } = event;
  const status = alarmStatus(detail.state.value, settings);
  if (status === undefined) return undefined;
  const previous = alarmStatus(detail.previousState.value, settings);
  if (status === "resolved" && detail.previousState.value === "OK") return undefined;
  const alarmArn = event.resources[0] ?? "";
  const startsAt =
    status === "resolved" || previous === "firing" ? detail.previousState.timestamp : detail.state.timestamp;
  const service = alarmService(event, context);
  const tagSeverity = detail.alarmTags?.severity;
  const severity =
    tagSeverity !== undefined && severitySynonyms[tagSeverity] === tagSeverity
      ? (tagSeverity as IncidentSeverity)
      : settings.severity;
  const metric = detail.configuration.metrics?.length === 1 ? detail.configuration.metrics[0] : undefined;
  const description = nonEmpty(detail.configuration.description);
  return {
    alertSource: "cloudwatch",
    fingerprint: boundedFingerprint("cloudwatch:", alarmArn),
    status,
    startsAt: utc(startsAt),
    ...optional("endsAt", status === "resolved" ? utc(detail.state.timestamp) : undefined),
    severity,
    ...optional("service", service),
    summary: summaryOf(detail.alarmName, detail.state.reason, detail.alarmName),
    ...optional("description", description && clip(description, maxDescriptionLength)),
    ...optional("runbookUrl", alarmRunbook(detail)),
    ...optional("sourceUrl", httpUrl(alarmConsoleUrl(alarmArn, detail.alarmName))),
    labels: boundedLabels({
      ...detail.alarmTags,
      alarmName: detail.alarmName,
      state: detail.state.value,
      account: event.account,
      region: event.region,
      ...optional("namespace", metric?.metricStat?.metric.namespace),
      ...optional("metricName", metric?.metricStat?.metric.name),
      ...optional("service", service),
    }),
  };
};

/** `incidents.domainEvents` of switchyard.yaml. */
export type DomainEventSeverities = SwitchyardConfig["incidents"]["domainEvents"];

/** The Switchyard events that open incidents, and those that resolve them. */
export type IncidentDomainEvent =
  | z.infer<typeof secretRolloutFailedEventSchema>
  | z.infer<typeof secretRotatedEventSchema>
  | z.infer<typeof restoreDrillFailedEventSchema>
  | z.infer<typeof restoreDrillPassedEventSchema>
  | z.infer<typeof promotionRolledBackEventSchema>
  | z.infer<typeof promotionSucceededEventSchema>;

/** The failure detail-types that open incidents, and the success of the same subject that resolves each. */
export const incidentDomainEventTypes = {
  "Secret Rollout Failed": "Secret Rotated",
  "Restore Drill Failed": "Restore Drill Passed",
  "Promotion Rolled Back": "Promotion Succeeded",
} as const;

/** `Secret Rollout Failed` → `secret-rollout-failed`. */
const kebab = (detailType: string): string => detailType.toLowerCase().replace(/\s+/g, "-");

/**
 * The fingerprint of a Switchyard failure's incident: `switchyard:<kebab failure type>:<subject>` (hashed past 255
 * characters). The success that resolves it gives the same one.
 *
 * @example domainFingerprint("Promotion Rolled Back", "checkout:production") // "switchyard:promotion-rolled-back:checkout:production"
 */
export const domainFingerprint = (
  failureType: keyof typeof incidentDomainEventTypes,
  subject: string,
): string => boundedFingerprint(`switchyard:${kebab(failureType)}:`, subject);

/** The service of a secret's consumer that failed (or, failing that, the one service all its consumers share). */
const secretService = (
  context: AlertContext,
  secretId: string,
  where?: { namespace: string; name: string },
): string | undefined => {
  const consumers = context.secrets?.find((secret) => secret.name === secretId)?.consumers ?? [];
  const failed = where
    ? consumers.find(
        (c) =>
          c.namespace === where.namespace &&
          (c.externalSecret === where.name || c.deployments.includes(where.name)),
      )
    : undefined;
  if (isService(context, failed?.service)) return failed.service;
  const services = [...new Set(consumers.map((c) => c.service).filter((s) => isService(context, s)))];
  return services.length === 1 ? services[0] : undefined;
};

/** The part of a Switchyard alert its failure and its success share. */
interface AlertSubject {
  fingerprint: string;
  severity: IncidentSeverity;
  service: string | undefined;
  labels: Record<string, string | undefined>;
}

const deploymentList = (deployments: readonly { namespace: string; name: string }[]): string =>
  deployments.length === 0 ? "none" : deployments.map((d) => `${d.namespace}/${d.name}`).join(", ");

/**
 * The `Alert Received` detail of one of Switchyard's own events: `Secret Rollout Failed`, `Restore Drill Failed`
 * and `Promotion Rolled Back` fire (severity from `incidents.domainEvents`, startsAt the failure's time);
 * `Secret Rotated` of the same secret, `Restore Drill Passed` of the same database and `Promotion Succeeded` of the
 * same service and environment resolve the same fingerprint (startsAt/endsAt then the success's time: incidents
 * resolve by fingerprint). Subjects: the secret's name, the database, `<service>:<environment>`.
 *
 * @example
 * fromDomainEvent(rolledBack, config.incidents.domainEvents, { services: config.services })
 * // { alertSource: "switchyard", fingerprint: "switchyard:promotion-rolled-back:checkout:production", status: "firing", severity: "warning", … }
 */
export const fromDomainEvent = (
  event: IncidentDomainEvent,
  severities: DomainEventSeverities,
  context: AlertContext = { services: [] },
): AlertReceivedDetail => {
  /**
   * What a failure and the success that resolves it share, so that the success resolves the failure's incident:
   * the fingerprint, the severity, the service and the leading labels (`alertname` and the subject).
   */
  const secretRollout = (secretId: string, where?: { namespace: string; name: string }): AlertSubject => ({
    fingerprint: domainFingerprint("Secret Rollout Failed", secretId),
    severity: severities.secretRolloutFailed,
    service: secretService(context, secretId, where),
    labels: { alertname: "SecretRolloutFailed", secretId },
  });
  const restoreDrill = (dbInstanceIdentifier: string): AlertSubject => ({
    fingerprint: domainFingerprint("Restore Drill Failed", dbInstanceIdentifier),
    severity: severities.restoreDrillFailed,
    service: context.services.find((s) => s.database === dbInstanceIdentifier)?.name,
    labels: { alertname: "RestoreDrillFailed", dbInstanceIdentifier },
  });
  const promotion = (d: {
    service: string;
    environment: string;
    tag?: string | undefined;
    digest: string;
    promotionId: string;
  }): AlertSubject => ({
    fingerprint: domainFingerprint("Promotion Rolled Back", `${d.service}:${d.environment}`),
    severity: severities.promotionRolledBack,
    service: context.services.length === 0 || isService(context, d.service) ? d.service : undefined,
    labels: {
      alertname: "PromotionRolledBack",
      environment: d.environment,
      tag: d.tag,
      digest: d.digest,
      promotionId: d.promotionId,
    },
  });
  const alert = (
    subject: AlertSubject,
    fields: Pick<AlertReceivedDetail, "status" | "startsAt" | "endsAt" | "description"> & {
      summary: string;
      labels?: Record<string, string | undefined>;
    },
  ): AlertReceivedDetail => {
    const { fingerprint, severity, service } = subject;
    const { status, startsAt, endsAt, description, summary } = fields;
    return {
      alertSource: "switchyard",
      fingerprint,
      status,
      startsAt,
      ...optional("endsAt", endsAt),
      severity,
      ...optional("description", description),
      ...optional("service", service),
      summary: summaryOf(undefined, summary, "Switchyard failure"),
      labels: boundedLabels(
        Object.fromEntries(
          Object.entries({
            ...subject.labels,
            ...fields.labels,
            ...(service !== undefined && { service }),
          }).filter((entry): entry is [string, string] => entry[1] !== undefined),
        ),
      ),
    };
  };
  const firing = (at: string) => ({ status: "firing" as const, startsAt: utc(at) });
  const resolved = (at: string) => ({ status: "resolved" as const, startsAt: utc(at), endsAt: utc(at) });
  const described = (text: string) => ({ description: clip(text, maxDescriptionLength) });
  switch (event["detail-type"]) {
    case "Secret Rollout Failed": {
      const d = event.detail;
      return alert(secretRollout(d.secretId, d), {
        ...firing(d.failedAt),
        summary: `SecretRolloutFailed: ${d.secretId} stopped at ${d.failedStep} of ${d.namespace}/${d.name}: ${d.reason}`,
        ...described(
          `${d.reason}\nRestarted on version ${d.versionId}: ${deploymentList(d.restartedDeployments)}.\nNot restarted (still on the previous version): ${deploymentList(d.remainingDeployments)}.`,
        ),
        labels: { failedStep: d.failedStep, namespace: d.namespace, name: d.name },
      });
    }
    case "Secret Rotated": {
      const d = event.detail;
      return alert(secretRollout(d.secretId), {
        ...resolved(d.rotatedAt),
        summary: `SecretRolloutFailed: ${d.secretId} rotated and rolled out to its consumers`,
      });
    }
    case "Restore Drill Failed": {
      const d = event.detail;
      return alert(restoreDrill(d.dbInstanceIdentifier), {
        ...firing(d.failedAt),
        summary: `RestoreDrillFailed: backups of ${d.dbInstanceIdentifier} did not restore (${d.failedStep}): ${d.message}`,
        ...described(
          `${d.message}\nSnapshot: ${d.snapshotId ?? "none found"}. Smoke query: ${d.smokeQuery}. Drill started ${d.startedAt}.`,
        ),
        labels: { failedStep: d.failedStep, snapshotId: d.snapshotId },
      });
    }
    case "Restore Drill Passed": {
      const d = event.detail;
      return alert(restoreDrill(d.dbInstanceIdentifier), {
        ...resolved(d.completedAt),
        summary: `RestoreDrillFailed: backups of ${d.dbInstanceIdentifier} restored (${d.snapshotId})`,
        labels: { snapshotId: d.snapshotId },
      });
    }
    case "Promotion Rolled Back": {
      const d = event.detail;
      const image = d.tag ?? d.digest;
      return alert(promotion(d), {
        ...firing(d.rolledBackAt),
        summary: `PromotionRolledBack: ${d.service} ${image} rolled back in ${d.environment}: ${d.reason}`,
        ...described(
          `${d.reason}\nReverted commit ${d.revision} with ${d.revertRevision}; now on ${d.rolledBackToTag ?? d.rolledBackToDigest ?? "the previous image"}.${d.quarantined ? ` ${d.digest} is quarantined.` : ""}`,
        ),
      });
    }
    case "Promotion Succeeded": {
      const d = event.detail;
      return alert(promotion(d), {
        ...resolved(d.completedAt),
        summary: `PromotionRolledBack: ${d.service} ${d.tag ?? d.digest} promoted to ${d.environment}`,
      });
    }
  }
};

/** The `Alert Received` domain event of a normalised alert. */
export const alertReceivedEvent = (detail: AlertReceivedDetail): DomainEvent<AlertReceivedDetail> => ({
  detailType: alertReceivedDetailType,
  detail,
  resources: [],
});

/** What EventBridge counts for one entry: source, detail-type, detail and resources, in UTF-8 bytes. */
const entryBytes = (event: DomainEvent): number =>
  Buffer.byteLength(event.source ?? "switchyard") +
  Buffer.byteLength(event.detailType) +
  Buffer.byteLength(JSON.stringify(event.detail)) +
  (event.resources ?? []).reduce((sum, resource) => sum + Buffer.byteLength(resource), 0);

/**
 * Events in groups one PutEvents request takes: at most 10 entries and 256 KB together (the publishers split by
 * count only, so a group of large alerts could otherwise make one request too big and fail it whole).
 *
 * @example putEventsBatches(fiftyAlerts.map(alertReceivedEvent)).length // 5
 */
export const putEventsBatches = <TEvent extends DomainEvent<unknown>>(
  events: readonly TEvent[],
): TEvent[][] => {
  const batches: TEvent[][] = [];
  let current: TEvent[] = [];
  let bytes = 0;
  for (const event of events) {
    const size = entryBytes(event as DomainEvent);
    if (current.length > 0 && (current.length >= maxPutEventsEntries || bytes + size > maxPutEventsBytes)) {
      batches.push(current);
      current = [];
      bytes = 0;
    }
    current.push(event);
    bytes += size;
  }
  if (current.length > 0) batches.push(current);
  return batches;
};
