// Switchyard's own domain events (source "switchyard", detail-type "Noun PastTenseVerb"): the history of a digest from push to incident.
//
// The details are strict objects: Switchyard produces them, so an unknown key is a bug, and refusing it is what
// keeps a secret value, a task token or a credential from riding along on the bus.
import { z } from "zod";
import { eventEnvelope } from "./envelope.ts";
import {
  awsRegion,
  dnsLabel,
  ecrRepositoryName,
  eventId,
  gitSha,
  imageDigest,
  imageTag,
  secretName,
  utcTimestamp,
} from "./primitives.ts";

/** The `source` of every Switchyard domain event. */
export const switchyardSource = "switchyard";

const service = dnsLabel;
const environment = dnsLabel;
const identity = z.string().min(1).max(256);

/** Where a failure came from: `Errored` is the world's fault and may be retried, `Failed` is a decision. */
export const failureKindSchema = z.enum(["Failed", "Errored"]);

/** The error behind a failed step, by its class name (what Step Functions `Retry`/`Catch` match on). */
const errorSchema = z.strictObject({
  name: z.string().regex(/^[A-Z][A-Za-z0-9]*Error$/, "expected an error class name ending in Error"),
  message: z.string().max(1024),
});

/** The steps of a promotion, in order. */
export const promotionStepSchema = z.enum([
  "resolve-policy",
  "freeze",
  "snapshot",
  "approval",
  "commit",
  "sync",
  "health-check",
  "rollback",
]);

const promotionSubject = {
  promotionId: z.uuid(),
  service,
  environment,
  repository: ecrRepositoryName,
  // Absent for a promotion by digest alone.
  tag: imageTag.optional(),
  digest: imageDigest,
  // The bus event that started the promotion (an ECR push, a GitHub delivery or an API request).
  triggeringEventId: eventId,
};

/** A promotion reached Synced + Healthy in its environment. */
export const promotionSucceededDetailSchema = z.strictObject({
  ...promotionSubject,
  // The GitOps commit that Argo CD reported Synced + Healthy.
  revision: gitSha,
  // Absent on a service's first promotion to the environment.
  previousTag: imageTag.optional(),
  previousDigest: imageDigest.optional(),
  approvalId: z.uuid().optional(),
  startedAt: utcTimestamp,
  completedAt: utcTimestamp,
});

/** A promotion stopped before reaching its environment. */
export const promotionFailedDetailSchema = z.strictObject({
  ...promotionSubject,
  kind: failureKindSchema,
  failedStep: promotionStepSchema,
  error: errorSchema,
  // Present once the GitOps commit was made.
  revision: gitSha.optional(),
  startedAt: utcTimestamp,
  failedAt: utcTimestamp,
});

/** A promotion failed its health check and was reverted; `digest` is the image that was rolled back. */
export const promotionRolledBackDetailSchema = z.strictObject({
  ...promotionSubject,
  // The commit that was reverted, and the revert commit Argo CD synced.
  revision: gitSha,
  revertRevision: gitSha,
  rolledBackToTag: imageTag.optional(),
  rolledBackToDigest: imageDigest.optional(),
  reason: z.string().min(1).max(1024),
  // Whether the digest is now refused by every tag policy until someone lifts the quarantine.
  quarantined: z.boolean(),
  rolledBackAt: utcTimestamp,
});

/** A production change waits for a human decision. The task token stays in the approval store, never on the bus. */
export const approvalRequestedDetailSchema = z.strictObject({
  approvalId: z.uuid(),
  promotionId: z.uuid(),
  service,
  environment,
  // Absent for a promotion by digest alone.
  tag: imageTag.optional(),
  digest: imageDigest,
  previousTag: imageTag.optional(),
  // Who may decide, from switchyard.yaml.
  approvers: z.array(identity).min(1),
  requiredApprovals: z.number().int().positive(),
  // The pre-change RDS snapshot, when one was taken.
  snapshotId: z.string().min(1).optional(),
  approvalUrl: z.url(),
  requestedAt: utcTimestamp,
  expiresAt: utcTimestamp,
});

/** The outcome of an approval request. */
export const approvalDecisionSchema = z.enum(["approved", "rejected", "expired"]);

/** An approval request was approved, rejected or timed out. */
export const approvalDecidedDetailSchema = z
  .strictObject({
    approvalId: z.uuid(),
    promotionId: z.uuid(),
    service,
    environment,
    decision: approvalDecisionSchema,
    // Everyone whose vote counted; empty only when the request expired.
    decidedBy: z.array(identity),
    comment: z.string().max(2048).optional(),
    decidedAt: utcTimestamp,
  })
  .superRefine((detail, ctx) => {
    if (detail.decision !== "expired" && detail.decidedBy.length === 0) {
      ctx.addIssue({
        code: "custom",
        path: ["decidedBy"],
        message: `an ${detail.decision} decision must name who decided`,
      });
    }
  });

/** How a secret is rotated (see the rotation capability in DESIGN.md). */
export const rotationStrategySchema = z.enum(["single-user", "alternating-users", "api-key"]);

/** A secret rotation finished and its consumers run on the new version. Carries names and versions only. */
export const secretRotatedDetailSchema = z.strictObject({
  // The secret's name, so the same event reads alike on AWS and locally.
  secretId: secretName,
  // Secrets Manager's ClientRequestToken rules: 32-64 characters.
  versionId: z.string().min(32).max(64),
  previousVersionId: z.string().min(32).max(64).optional(),
  strategy: rotationStrategySchema,
  // For alternating-users: the database role now current (a role name, not a credential).
  activeUser: z.string().min(1).max(63).optional(),
  restartedDeployments: z.array(z.strictObject({ namespace: dnsLabel, name: dnsLabel })),
  rotatedAt: utcTimestamp,
});

const deploymentRef = z.strictObject({ namespace: dnsLabel, name: dnsLabel });

/** The steps of a secret's rollout, in the order each consumer goes through them. */
export const secretRolloutStepSchema = z.enum(["sync-external-secret", "restart", "rollout"]);

/**
 * A secret's rollout stopped: a consumer's ExternalSecret did not sync, or a Deployment was not restarted or did
 * not come back Ready. Later consumers and Deployments were not touched. Carries names and versions only.
 */
export const secretRolloutFailedDetailSchema = z.strictObject({
  // The secret's name, as in Secret Rotated.
  secretId: secretName,
  versionId: z.string().min(32).max(64),
  failedStep: secretRolloutStepSchema,
  // Where it stopped: the ExternalSecret (sync-external-secret) or the Deployment (restart, rollout).
  namespace: dnsLabel,
  name: dnsLabel,
  reason: z.string().min(1).max(1024),
  // Restarted before the failure, in order; a Deployment that failed its rollout was restarted, so it is listed.
  // One whose restart failed is in neither list (it may or may not have been restarted): namespace/name name it.
  restartedDeployments: z.array(deploymentRef),
  // Never touched by this rollout: they still run on pods started before it.
  remainingDeployments: z.array(deploymentRef),
  failedAt: utcTimestamp,
});

/** Why a snapshot was taken. */
export const snapshotReasonSchema = z.enum(["scheduled", "pre-change", "manual"]);

const rdsIdentifier = (max: number) =>
  z
    .string()
    .max(max)
    .regex(
      /^[a-zA-Z](?!.*--)[a-zA-Z0-9-]*[a-zA-Z0-9]$|^[a-zA-Z]$/,
      "expected an RDS identifier (letter first, letters, digits, single hyphens, no trailing hyphen)",
    );

/** A database snapshot became available. */
export const snapshotCreatedDetailSchema = z
  .strictObject({
    snapshotId: rdsIdentifier(255),
    dbInstanceIdentifier: rdsIdentifier(63),
    reason: snapshotReasonSchema,
    // The promotion the snapshot guards; required for pre-change snapshots.
    promotionId: z.uuid().optional(),
    // The copy in the disaster-recovery region, when one is configured.
    drCopy: z.strictObject({ region: awsRegion, snapshotId: rdsIdentifier(255) }).optional(),
    createdAt: utcTimestamp,
  })
  .superRefine((detail, ctx) => {
    if (detail.reason === "pre-change" && detail.promotionId === undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["promotionId"],
        message: "a pre-change snapshot must name the promotion it guards",
      });
    }
  });

/** A snapshot could not be taken, did not become available in time, or was refused (the manual snapshot quota). */
export const snapshotFailedDetailSchema = z.strictObject({
  dbInstanceIdentifier: rdsIdentifier(63),
  // Absent when the snapshot was refused before it was created.
  snapshotId: rdsIdentifier(255).optional(),
  reason: snapshotReasonSchema,
  promotionId: z.uuid().optional(),
  failure: z.enum(["create-failed", "timed-out", "quota-exceeded", "copy-failed"]),
  message: z.string().min(1).max(1024),
  failedAt: utcTimestamp,
});

/** Retention deleted expired Switchyard snapshots of a database (never automated ones or others'). */
export const snapshotsPrunedDetailSchema = z.strictObject({
  dbInstanceIdentifier: rdsIdentifier(63),
  deleted: z.array(rdsIdentifier(255)),
  // Kept although expired, to leave minCount available snapshots.
  keptForMinimum: z.array(rdsIdentifier(255)),
  retentionDays: z.number().int().positive(),
  minCount: z.number().int().min(0),
  // Manual snapshots in the region after pruning, against RDS's quota.
  manualSnapshotsInRegion: z.number().int().min(0),
  prunedAt: utcTimestamp,
});

const restoreDrillSubject = {
  dbInstanceIdentifier: rdsIdentifier(63),
  snapshotId: rdsIdentifier(255),
  // The throwaway instance (or local scratch database) restored into, deleted after the drill.
  drillTarget: z.string().min(1).max(63),
  smokeQuery: z.string().min(1).max(1024),
  startedAt: utcTimestamp,
};

/** The newest snapshot of a database restored, and the smoke query ran on it. */
export const restoreDrillPassedDetailSchema = z.strictObject({
  ...restoreDrillSubject,
  // The first column of the first row, as text (e.g. the count of orders).
  result: z.string().max(1024),
  restoreSeconds: z.number().min(0),
  completedAt: utcTimestamp,
});

/** A restore drill failed: the backups of the database are not proven to restore. An incident. */
export const restoreDrillFailedDetailSchema = z.strictObject({
  ...restoreDrillSubject,
  // Absent when the drill failed before it had them: no snapshot to restore, a restore that never started.
  snapshotId: restoreDrillSubject.snapshotId.optional(),
  drillTarget: restoreDrillSubject.drillTarget.optional(),
  failedStep: z.enum(["find-snapshot", "restore", "smoke-query", "cleanup"]),
  message: z.string().min(1).max(1024),
  failedAt: utcTimestamp,
});

/** PagerDuty Events API v2 severities, which incidents use as is. */
export const incidentSeveritySchema = z.enum(["critical", "error", "warning", "info"]);

const incidentSubject = {
  incidentId: z.uuid(),
  // One incident per alert fingerprint; also the PagerDuty dedup_key, which is capped at 255 characters.
  fingerprint: z.string().min(1).max(255),
  alertSource: z.enum(["alertmanager", "cloudwatch", "switchyard"]),
  // Absent when the alert could not be tied to a service in switchyard.yaml.
  service: service.optional(),
  severity: incidentSeveritySchema,
  // The escalation level the incident is at, starting at 1.
  level: z.number().int().positive(),
  // PagerDuty truncates summaries at 1024 characters.
  summary: z.string().min(1).max(1024),
};

/**
 * One alert, normalised from wherever it came (an Alertmanager webhook, a CloudWatch alarm, one of Switchyard's own
 * failures): what opens, and resolves, an incident. One event per alert, keyed by its fingerprint.
 */
export const alertReceivedDetailSchema = z.strictObject({
  alertSource: z.enum(["alertmanager", "cloudwatch", "switchyard"]),
  // PagerDuty's dedup_key is capped at 255 characters.
  fingerprint: z.string().min(1).max(255),
  status: z.enum(["firing", "resolved"]),
  // When the alert started firing: with the fingerprint it names one incident, so a repeat opens none.
  startsAt: utcTimestamp,
  // When it resolved; absent while firing.
  endsAt: utcTimestamp.optional(),
  severity: incidentSeveritySchema,
  // The service of switchyard.yaml the alert is about (its `service` label, the alarm's dimension…).
  service: service.optional(),
  summary: z.string().min(1).max(1024),
  description: z.string().max(4096).optional(),
  runbookUrl: z.url().optional(),
  // Where the alert is defined or shown: Prometheus's generatorURL, the CloudWatch console.
  sourceUrl: z.url().optional(),
  labels: z.record(z.string(), z.string()),
});

/** An alert opened an incident: posted to Slack and paged at level 1. */
export const incidentOpenedDetailSchema = z.strictObject({
  ...incidentSubject,
  runbookUrl: z.url().optional(),
  alertStartedAt: utcTimestamp,
  openedAt: utcTimestamp,
});

/** Someone acknowledged the page, which stops escalation. */
export const incidentAcknowledgedDetailSchema = z.strictObject({
  ...incidentSubject,
  acknowledgedBy: identity,
  acknowledgedAt: utcTimestamp,
});

/** Nobody acknowledged in time, so the next level of the escalation policy was paged. */
export const incidentEscalatedDetailSchema = z
  .strictObject({
    ...incidentSubject,
    previousLevel: z.number().int().positive(),
    // Who was paged at the new level, from the escalation policy in switchyard.yaml.
    notified: z.array(identity).min(1),
    escalatedAt: utcTimestamp,
  })
  .superRefine((detail, ctx) => {
    if (detail.level <= detail.previousLevel) {
      ctx.addIssue({ code: "custom", path: ["level"], message: "escalation must raise the level" });
    }
  });

/** The incident ended: its alert resolved or someone resolved it by hand. */
export const incidentResolvedDetailSchema = z.strictObject({
  ...incidentSubject,
  resolution: z.enum(["alert-resolved", "manual"]),
  resolvedBy: identity.optional(),
  openedAt: utcTimestamp,
  resolvedAt: utcTimestamp,
});

/**
 * A promotion reached Synced + Healthy.
 *
 * @example
 * ```ts
 * const { detail } = promotionSucceededEventSchema.parse(input);
 * console.log(`${detail.service} ${detail.environment} now runs ${detail.tag} (${detail.digest})`);
 * ```
 */
export const promotionSucceededEventSchema = eventEnvelope(
  switchyardSource,
  "Promotion Succeeded",
  promotionSucceededDetailSchema,
);

/**
 * A promotion stopped before reaching its environment.
 *
 * @example
 * ```ts
 * const { detail } = promotionFailedEventSchema.parse(input);
 * if (detail.kind === "Errored") alertPlatformTeam(detail.error);
 * ```
 */
export const promotionFailedEventSchema = eventEnvelope(
  switchyardSource,
  "Promotion Failed",
  promotionFailedDetailSchema,
);

/**
 * A promotion was reverted after a failed health check.
 *
 * @example
 * ```ts
 * const { detail } = promotionRolledBackEventSchema.parse(input);
 * if (detail.quarantined) listQuarantined(detail.digest);
 * ```
 */
export const promotionRolledBackEventSchema = eventEnvelope(
  switchyardSource,
  "Promotion Rolled Back",
  promotionRolledBackDetailSchema,
);

/**
 * A production change waits for approval.
 *
 * @example
 * ```ts
 * const { detail } = approvalRequestedEventSchema.parse(input);
 * notifyApprovers(detail.approvers, detail.approvalUrl);
 * ```
 */
export const approvalRequestedEventSchema = eventEnvelope(
  switchyardSource,
  "Approval Requested",
  approvalRequestedDetailSchema,
);

/**
 * An approval request was decided.
 *
 * @example
 * ```ts
 * const { detail } = approvalDecidedEventSchema.parse(input);
 * if (detail.decision === "approved") console.log(`approved by ${detail.decidedBy.join(", ")}`);
 * ```
 */
export const approvalDecidedEventSchema = eventEnvelope(
  switchyardSource,
  "Approval Decided",
  approvalDecidedDetailSchema,
);

/**
 * A secret was rotated and its consumers restarted.
 *
 * @example
 * ```ts
 * const { detail } = secretRotatedEventSchema.parse(input);
 * console.log(`${detail.secretId} is at version ${detail.versionId}`);
 * ```
 */
export const secretRotatedEventSchema = eventEnvelope(
  switchyardSource,
  "Secret Rotated",
  secretRotatedDetailSchema,
);

/**
 * A secret's rollout to its consumers stopped part-way.
 *
 * @example
 * ```ts
 * const { detail } = secretRolloutFailedEventSchema.parse(input);
 * console.log(`${detail.secretId}: ${detail.failedStep} of ${detail.namespace}/${detail.name} failed: ${detail.reason}`);
 * ```
 */
export const secretRolloutFailedEventSchema = eventEnvelope(
  switchyardSource,
  "Secret Rollout Failed",
  secretRolloutFailedDetailSchema,
);

/**
 * A database snapshot became available.
 *
 * @example
 * ```ts
 * const { detail } = snapshotCreatedEventSchema.parse(input);
 * if (detail.reason === "pre-change") attachToApproval(detail.promotionId, detail.snapshotId);
 * ```
 */
export const snapshotCreatedEventSchema = eventEnvelope(
  switchyardSource,
  "Snapshot Created",
  snapshotCreatedDetailSchema,
);

/**
 * A snapshot failed or was refused.
 *
 * @example
 * ```ts
 * const { detail } = snapshotFailedEventSchema.parse(input);
 * if (detail.failure === "quota-exceeded") pruneOldSnapshots(detail.dbInstanceIdentifier);
 * ```
 */
export const snapshotFailedEventSchema = eventEnvelope(
  switchyardSource,
  "Snapshot Failed",
  snapshotFailedDetailSchema,
);

/**
 * Retention pruned a database's expired snapshots.
 *
 * @example
 * ```ts
 * const { detail } = snapshotsPrunedEventSchema.parse(input);
 * console.log(`${detail.dbInstanceIdentifier}: deleted ${detail.deleted.length}`);
 * ```
 */
export const snapshotsPrunedEventSchema = eventEnvelope(
  switchyardSource,
  "Snapshots Pruned",
  snapshotsPrunedDetailSchema,
);

/**
 * A restore drill passed.
 *
 * @example
 * ```ts
 * const { detail } = restoreDrillPassedEventSchema.parse(input);
 * recordRestoreTime(detail.dbInstanceIdentifier, detail.restoreSeconds);
 * ```
 */
export const restoreDrillPassedEventSchema = eventEnvelope(
  switchyardSource,
  "Restore Drill Passed",
  restoreDrillPassedDetailSchema,
);

/**
 * A restore drill failed.
 *
 * @example
 * ```ts
 * const { detail } = restoreDrillFailedEventSchema.parse(input);
 * openIncident(`backups of ${detail.dbInstanceIdentifier} did not restore: ${detail.message}`);
 * ```
 */
export const restoreDrillFailedEventSchema = eventEnvelope(
  switchyardSource,
  "Restore Drill Failed",
  restoreDrillFailedDetailSchema,
);

/**
 * An alert fired or resolved, normalised for the incident workflow.
 *
 * @example
 * ```ts
 * const { detail } = alertReceivedEventSchema.parse(input);
 * if (detail.status === "firing") openIncident(detail.fingerprint, detail.startsAt);
 * ```
 */
export const alertReceivedEventSchema = eventEnvelope(
  switchyardSource,
  "Alert Received",
  alertReceivedDetailSchema,
);

/**
 * An incident was opened for an alert fingerprint.
 *
 * @example
 * ```ts
 * const { detail } = incidentOpenedEventSchema.parse(input);
 * console.log(`[${detail.severity}] ${detail.summary}`);
 * ```
 */
export const incidentOpenedEventSchema = eventEnvelope(
  switchyardSource,
  "Incident Opened",
  incidentOpenedDetailSchema,
);

/**
 * An incident's page was acknowledged.
 *
 * @example
 * ```ts
 * const { detail } = incidentAcknowledgedEventSchema.parse(input);
 * stopEscalation(detail.incidentId);
 * ```
 */
export const incidentAcknowledgedEventSchema = eventEnvelope(
  switchyardSource,
  "Incident Acknowledged",
  incidentAcknowledgedDetailSchema,
);

/**
 * An incident was escalated to the next level.
 *
 * @example
 * ```ts
 * const { detail } = incidentEscalatedEventSchema.parse(input);
 * console.log(`level ${detail.previousLevel} -> ${detail.level}: paged ${detail.notified.join(", ")}`);
 * ```
 */
export const incidentEscalatedEventSchema = eventEnvelope(
  switchyardSource,
  "Incident Escalated",
  incidentEscalatedDetailSchema,
);

/**
 * An incident was resolved.
 *
 * @example
 * ```ts
 * const { detail } = incidentResolvedEventSchema.parse(input);
 * const minutes = (Date.parse(detail.resolvedAt) - Date.parse(detail.openedAt)) / 60_000;
 * ```
 */
export const incidentResolvedEventSchema = eventEnvelope(
  switchyardSource,
  "Incident Resolved",
  incidentResolvedDetailSchema,
);
