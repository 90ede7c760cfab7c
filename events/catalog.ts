// The event catalog: every event type Switchyard consumes or emits, with its schema and its sample events.
import type { z } from "zod";
import { alertmanagerAlertGroupEventSchema, alertmanagerWebhookSchema } from "./schemas/alertmanager.ts";
import { cloudWatchAlarmStateChangeEventSchema } from "./schemas/aws-cloudwatch.ts";
import { ecrImageActionEventSchema } from "./schemas/aws-ecr.ts";
import { scheduledEventSchema } from "./schemas/aws-scheduled.ts";
import { secretsManagerRotationEventSchema } from "./schemas/aws-secretsmanager.ts";
import {
  githubPushEventSchema,
  githubReleaseEventSchema,
  githubWorkflowRunEventSchema,
} from "./schemas/github.ts";
import {
  alertReceivedEventSchema,
  approvalDecidedEventSchema,
  approvalRequestedEventSchema,
  incidentAcknowledgedEventSchema,
  incidentEscalatedEventSchema,
  incidentOpenedEventSchema,
  incidentResolvedEventSchema,
  promotionFailedEventSchema,
  promotionRolledBackEventSchema,
  promotionSucceededEventSchema,
  restoreDrillFailedEventSchema,
  restoreDrillPassedEventSchema,
  secretRolloutFailedEventSchema,
  secretRotatedEventSchema,
  snapshotCreatedEventSchema,
  snapshotFailedEventSchema,
  snapshotsPrunedEventSchema,
} from "./schemas/switchyard.ts";
import type { EventBridgeEvent } from "./types.ts";

/** A body an outside sender POSTs to Switchyard's ingest, before it becomes the entry's bus event. */
export interface IngestPayload {
  readonly schema: z.ZodType;
  /** Sample bodies, relative to the repository root. */
  readonly samples: readonly string[];
  readonly description: string;
}

/** One event type: the (source, detail-type) pair that identifies it on the bus. */
export interface CatalogEntry {
  readonly source: string;
  readonly detailType: string;
  /** Validates the whole EventBridge event, envelope included. */
  readonly schema: z.ZodType<EventBridgeEvent>;
  /** Full sample events, relative to the repository root. */
  readonly samples: readonly string[];
  readonly description: string;
  /** Present when the event is built from a webhook body that has its own shape. */
  readonly ingest?: IngestPayload;
}

/**
 * Every event type on Switchyard's buses. Rules, the local bus, the CLI's `emit` and the tests all start here.
 *
 * @example
 * ```ts
 * for (const entry of catalog) console.log(`${entry.source} / ${entry.detailType}: ${entry.description}`);
 * ```
 */
export const catalog = [
  {
    source: "aws.ecr",
    detailType: "ECR Image Action",
    schema: ecrImageActionEventSchema,
    samples: [
      "events/samples/aws.ecr/image-push.json",
      "events/samples/aws.ecr/image-delete.json",
      "events/samples/aws.ecr/image-push-failed.json",
    ],
    description:
      "An image was pushed to or deleted from an ECR repository; a successful push starts a promotion",
  },
  {
    source: "aws.cloudwatch",
    detailType: "CloudWatch Alarm State Change",
    schema: cloudWatchAlarmStateChangeEventSchema,
    samples: ["events/samples/aws.cloudwatch/alarm-state-change.json"],
    description: "A CloudWatch alarm changed state; ALARM opens an incident and OK resolves it",
  },
  {
    source: "aws.events",
    detailType: "Scheduled Event",
    schema: scheduledEventSchema,
    samples: ["events/samples/aws.events/scheduled-event.json"],
    description: "A tick of an EventBridge scheduled rule; the rule ARN in resources says which one",
  },
  {
    source: "aws.secretsmanager",
    detailType: "AWS Service Event via CloudTrail",
    schema: secretsManagerRotationEventSchema,
    samples: [
      "events/samples/aws.secretsmanager/rotation-succeeded.json",
      "events/samples/aws.secretsmanager/rotation-failed.json",
    ],
    description: "Secrets Manager started, finished, failed or abandoned a rotation (recorded by CloudTrail)",
  },
  {
    source: "github.com",
    detailType: "push",
    schema: githubPushEventSchema,
    samples: ["events/samples/github.com/push.json"],
    description: "GitHub push webhook: commits were pushed to a branch or tag",
  },
  {
    source: "github.com",
    detailType: "release",
    schema: githubReleaseEventSchema,
    samples: ["events/samples/github.com/release-published.json"],
    description:
      "GitHub release webhook: a release was published, edited, deleted...; published can start a promotion",
  },
  {
    source: "github.com",
    detailType: "workflow_run",
    schema: githubWorkflowRunEventSchema,
    samples: ["events/samples/github.com/workflow-run-completed.json"],
    description: "GitHub workflow_run webhook: an Actions run was requested, started or completed",
  },
  {
    source: "alertmanager",
    detailType: "Alertmanager Alert Group",
    schema: alertmanagerAlertGroupEventSchema,
    samples: ["events/samples/alertmanager/alert-group-firing.json"],
    description:
      "An Alertmanager notification for one alert group; each alert fingerprint maps to one incident",
    ingest: {
      schema: alertmanagerWebhookSchema,
      samples: ["events/samples/alertmanager/webhook-v4.json"],
      description: "The webhook body (version 4) Alertmanager POSTs; it becomes the event's detail unchanged",
    },
  },
  {
    source: "switchyard",
    detailType: "Promotion Succeeded",
    schema: promotionSucceededEventSchema,
    samples: ["events/samples/switchyard/promotion-succeeded.json"],
    description: "An image reached Synced + Healthy in an environment",
  },
  {
    source: "switchyard",
    detailType: "Promotion Failed",
    schema: promotionFailedEventSchema,
    samples: ["events/samples/switchyard/promotion-failed.json"],
    description:
      "A promotion stopped before reaching its environment (Failed: a decision; Errored: the world)",
  },
  {
    source: "switchyard",
    detailType: "Promotion Rolled Back",
    schema: promotionRolledBackEventSchema,
    samples: ["events/samples/switchyard/promotion-rolled-back.json"],
    description: "A promotion failed its health check and was reverted; the digest may be quarantined",
  },
  {
    source: "switchyard",
    detailType: "Approval Requested",
    schema: approvalRequestedEventSchema,
    samples: ["events/samples/switchyard/approval-requested.json"],
    description: "A production change waits for a human decision",
  },
  {
    source: "switchyard",
    detailType: "Approval Decided",
    schema: approvalDecidedEventSchema,
    samples: ["events/samples/switchyard/approval-decided.json"],
    description: "An approval request was approved, rejected or expired",
  },
  {
    source: "switchyard",
    detailType: "Secret Rotated",
    schema: secretRotatedEventSchema,
    samples: ["events/samples/switchyard/secret-rotated.json"],
    description: "A secret was rotated and the Deployments that consume it were restarted and Ready",
  },
  {
    source: "switchyard",
    detailType: "Secret Rollout Failed",
    schema: secretRolloutFailedEventSchema,
    samples: ["events/samples/switchyard/secret-rollout-failed.json"],
    description:
      "A rotated secret's rollout stopped: an ExternalSecret did not sync, or a Deployment was not restarted or not Ready",
  },
  {
    source: "switchyard",
    detailType: "Snapshot Created",
    schema: snapshotCreatedEventSchema,
    samples: ["events/samples/switchyard/snapshot-created.json"],
    description: "A database snapshot (scheduled, pre-change or manual) became available",
  },
  {
    source: "switchyard",
    detailType: "Snapshot Failed",
    schema: snapshotFailedEventSchema,
    samples: ["events/samples/switchyard/snapshot-failed.json"],
    description: "A database snapshot failed, timed out, or was refused by the manual snapshot quota",
  },
  {
    source: "switchyard",
    detailType: "Snapshots Pruned",
    schema: snapshotsPrunedEventSchema,
    samples: ["events/samples/switchyard/snapshots-pruned.json"],
    description: "Retention deleted a database's expired Switchyard snapshots, keeping the minimum count",
  },
  {
    source: "switchyard",
    detailType: "Restore Drill Passed",
    schema: restoreDrillPassedEventSchema,
    samples: ["events/samples/switchyard/restore-drill-passed.json"],
    description: "A database's newest snapshot restored and its smoke query ran",
  },
  {
    source: "switchyard",
    detailType: "Restore Drill Failed",
    schema: restoreDrillFailedEventSchema,
    samples: ["events/samples/switchyard/restore-drill-failed.json"],
    description: "A restore drill failed: the database's backups are not proven to restore",
  },
  {
    source: "switchyard",
    detailType: "Incident Opened",
    schema: incidentOpenedEventSchema,
    samples: ["events/samples/switchyard/incident-opened.json"],
    description: "An alert fingerprint opened an incident: posted to Slack and paged at level 1",
  },
  {
    source: "switchyard",
    detailType: "Incident Acknowledged",
    schema: incidentAcknowledgedEventSchema,
    samples: ["events/samples/switchyard/incident-acknowledged.json"],
    description: "Someone acknowledged an incident's page, which stops its escalation",
  },
  {
    source: "switchyard",
    detailType: "Incident Escalated",
    schema: incidentEscalatedEventSchema,
    samples: ["events/samples/switchyard/incident-escalated.json"],
    description: "Nobody acknowledged in time, so the next escalation level was paged",
  },
  {
    source: "switchyard",
    detailType: "Alert Received",
    schema: alertReceivedEventSchema,
    samples: [
      "events/samples/switchyard/alert-received-firing.json",
      "events/samples/switchyard/alert-received-resolved.json",
    ],
    description:
      "One alert (Alertmanager, CloudWatch or a Switchyard failure) normalised by its fingerprint: firing opens an incident, resolved ends it",
  },
  {
    source: "switchyard",
    detailType: "Incident Resolved",
    schema: incidentResolvedEventSchema,
    samples: ["events/samples/switchyard/incident-resolved.json"],
    description: "An incident ended because its alert resolved or someone resolved it",
  },
] as const satisfies readonly CatalogEntry[];

type Catalog = (typeof catalog)[number];

/** The catalog entry for a (source, detail-type) pair; a specific entry type when both are literals. */
export type CatalogEntryFor<Source extends string, DetailType extends string> = Extract<
  Catalog,
  { source: Source; detailType: DetailType }
>;

/**
 * The catalog entry for an event's `source` and `detail-type`, or `undefined` when the catalog has none.
 *
 * @example
 * ```ts
 * const entry = findCatalogEntry(event.source, event["detail-type"]);
 * const parsed = entry?.schema.safeParse(event);
 * ```
 */
export function findCatalogEntry<Source extends string, DetailType extends string>(
  source: Source,
  detailType: DetailType,
): CatalogEntryFor<Source, DetailType> | undefined {
  // The literal-keyed return type is what TypeScript cannot derive from `find`.
  return catalog.find((entry) => entry.source === source && entry.detailType === detailType) as
    | CatalogEntryFor<Source, DetailType>
    | undefined;
}

/** An ECR push or delete. */
export type EcrImageActionEvent = z.infer<typeof ecrImageActionEventSchema>;
/** A CloudWatch alarm state change. */
export type CloudWatchAlarmStateChangeEvent = z.infer<typeof cloudWatchAlarmStateChangeEventSchema>;
/** A tick of an EventBridge scheduled rule. */
export type ScheduledEvent = z.infer<typeof scheduledEventSchema>;
/** A Secrets Manager rotation event recorded by CloudTrail. */
export type SecretsManagerRotationEvent = z.infer<typeof secretsManagerRotationEventSchema>;
/** A GitHub `push` delivery. */
export type GitHubPushEvent = z.infer<typeof githubPushEventSchema>;
/** A GitHub `release` delivery. */
export type GitHubReleaseEvent = z.infer<typeof githubReleaseEventSchema>;
/** A GitHub `workflow_run` delivery. */
export type GitHubWorkflowRunEvent = z.infer<typeof githubWorkflowRunEventSchema>;
/** The body Alertmanager POSTs to a webhook receiver. */
export type AlertmanagerWebhook = z.infer<typeof alertmanagerWebhookSchema>;
/** An Alertmanager notification on the bus. */
export type AlertmanagerAlertGroupEvent = z.infer<typeof alertmanagerAlertGroupEventSchema>;
/** Switchyard: a promotion succeeded. */
export type PromotionSucceededEvent = z.infer<typeof promotionSucceededEventSchema>;
/** Switchyard: a promotion failed. */
export type PromotionFailedEvent = z.infer<typeof promotionFailedEventSchema>;
/** Switchyard: a promotion was rolled back. */
export type PromotionRolledBackEvent = z.infer<typeof promotionRolledBackEventSchema>;
/** Switchyard: an approval was requested. */
export type ApprovalRequestedEvent = z.infer<typeof approvalRequestedEventSchema>;
/** Switchyard: an approval was decided. */
export type ApprovalDecidedEvent = z.infer<typeof approvalDecidedEventSchema>;
/** Switchyard: a secret was rotated. */
export type SecretRotatedEvent = z.infer<typeof secretRotatedEventSchema>;
/** Switchyard: a secret's rollout stopped part-way. */
export type SecretRolloutFailedEvent = z.infer<typeof secretRolloutFailedEventSchema>;
/** Switchyard: a snapshot was created. */
export type SnapshotCreatedEvent = z.infer<typeof snapshotCreatedEventSchema>;
/** Switchyard: an incident was opened. */
export type IncidentOpenedEvent = z.infer<typeof incidentOpenedEventSchema>;
/** Switchyard: an incident was acknowledged. */
export type IncidentAcknowledgedEvent = z.infer<typeof incidentAcknowledgedEventSchema>;
/** Switchyard: an incident was escalated. */
export type IncidentEscalatedEvent = z.infer<typeof incidentEscalatedEventSchema>;
/** Switchyard: an incident was resolved. */
export type IncidentResolvedEvent = z.infer<typeof incidentResolvedEventSchema>;

/** Any Switchyard domain event. */
export type SwitchyardEvent =
  | PromotionSucceededEvent
  | PromotionFailedEvent
  | PromotionRolledBackEvent
  | ApprovalRequestedEvent
  | ApprovalDecidedEvent
  | SecretRotatedEvent
  | SecretRolloutFailedEvent
  | SnapshotCreatedEvent
  | IncidentOpenedEvent
  | IncidentAcknowledgedEvent
  | IncidentEscalatedEvent
  | IncidentResolvedEvent;

/** Any event in the catalog, discriminated by `source` and `detail-type`. */
export type CatalogEvent =
  | EcrImageActionEvent
  | CloudWatchAlarmStateChangeEvent
  | ScheduledEvent
  | SecretsManagerRotationEvent
  | GitHubPushEvent
  | GitHubReleaseEvent
  | GitHubWorkflowRunEvent
  | AlertmanagerAlertGroupEvent
  | SwitchyardEvent;

/** The `detail-type` of a Switchyard domain event. */
export type SwitchyardDetailType = SwitchyardEvent["detail-type"];
