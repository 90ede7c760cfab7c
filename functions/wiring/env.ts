// Every environment variable a Lambda reads, by name shared with infra/, read through one helper that fails loudly.

import { ConfigError } from "../core/errors.ts";

/** Variable names; infra/ sets them with these constants so a rename cannot drift. */
export const envNames = {
  /** Path of the validated configuration file shipped with the function. */
  config: "SWITCHYARD_CONFIG",
  /** Name of Switchyard's own event bus (domain events). */
  eventBusName: "SWITCHYARD_EVENT_BUS_NAME",
  /** DynamoDB table of promotions, deployments and quarantined digests. */
  promotionTable: "SWITCHYARD_PROMOTION_TABLE",
  /** DynamoDB table of idempotency keys (webhook deliveries), with TTL on `expiresAt`. */
  idempotencyTable: "SWITCHYARD_IDEMPOTENCY_TABLE",
  /** ARN of the promote-image state machine, for functions that start it. */
  promoteImageStateMachineArn: "SWITCHYARD_PROMOTE_IMAGE_STATE_MACHINE_ARN",
  /** ARN of the production-sync state machine, for functions that start it. */
  productionSyncStateMachineArn: "SWITCHYARD_PRODUCTION_SYNC_STATE_MACHINE_ARN",
  rdsSnapshotStateMachineArn: "SWITCHYARD_RDS_SNAPSHOT_STATE_MACHINE_ARN",
  restoreDrillStateMachineArn: "SWITCHYARD_RESTORE_DRILL_STATE_MACHINE_ARN",
  /** DynamoDB table of approval requests (TTL removes old ones). */
  approvalTable: "SWITCHYARD_APPROVAL_TABLE",
  /** DynamoDB table of service freezes. */
  freezeTable: "SWITCHYARD_FREEZE_TABLE",
  /** DynamoDB table of incidents (TTL removes resolved ones after 90 days). */
  incidentTable: "SWITCHYARD_INCIDENT_TABLE",
  /** ARN of the incident-escalation state machine, for the function that starts it. */
  incidentEscalationStateMachineArn: "SWITCHYARD_INCIDENT_ESCALATION_STATE_MACHINE_ARN",
  /** Base URL of the approval pages API that e-mailed links point at (unless switchyard.yaml sets approvals.baseUrl). */
  approvalPagesUrl: "SWITCHYARD_APPROVAL_PAGES_URL",
  /** The EKS cluster running Argo CD and the services. */
  eksClusterName: "SWITCHYARD_EKS_CLUSTER_NAME",
  /** The function's region; Lambda sets it. */
  awsRegion: "AWS_REGION",
} as const;

export type EnvName = (typeof envNames)[keyof typeof envNames];

/**
 * Reads a required variable; a missing or empty one is a cold-start failure naming the variable.
 *
 * @example const bus = requireEnv(envNames.eventBusName);
 */
export const requireEnv = (name: EnvName, env: NodeJS.ProcessEnv = process.env): string => {
  const value = env[name]?.trim();
  if (!value) throw new ConfigError(`Environment variable ${name} is required but not set`);
  return value;
};

/**
 * Reads a variable only some functions have (a state machine ARN is set on the functions that start it).
 *
 * @example const arn = optionalEnv(envNames.productionSyncStateMachineArn);
 */
export const optionalEnv = (name: EnvName, env: NodeJS.ProcessEnv = process.env): string | undefined =>
  env[name]?.trim() || undefined;
