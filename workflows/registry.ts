// The Step Functions workflows: one ASL file each, loaded by the CDK app and by the local runner.

import { type FunctionName, functionArnKey } from "../functions/registry.ts";

export type WorkflowName = keyof typeof workflows;

export interface WorkflowDefinition {
  /** ASL file, relative to the repository root. */
  file: string;
  /** PascalCase id used for CDK construct ids. */
  id: string;
  description: string;
  /** Functions the definition invokes through `${<Id>FunctionArn}` placeholders. */
  functions: readonly FunctionName[];
  /** Maximum run time of one execution. */
  timeoutSeconds: number;
}

export const workflows = {
  "promote-image": {
    file: "workflows/promote-image.asl.json",
    id: "PromoteImage",
    description: "Promotes a pushed image to staging through a GitOps commit and Argo CD",
    functions: ["resolve-services", "decide-promotion", "watch-sync", "finish-promotion"],
    timeoutSeconds: 2 * 60 * 60,
  },
  "production-sync": {
    file: "workflows/production-sync.asl.json",
    id: "ProductionSync",
    description:
      "Promotes an image to a gated environment: freeze check, pre-change snapshot, human approval, commit, Argo CD sync, health gate, rollback",
    functions: [
      "decide-promotion",
      "gate-promotion",
      "snapshot-before-change",
      "request-approval",
      "expire-approval",
      "sync-application",
      "watch-sync",
      "revert-promotion",
      "finish-promotion",
    ],
    // Step Functions' limit for a standard workflow: an approval may wait up to approval.timeoutHours.
    timeoutSeconds: 365 * 24 * 60 * 60,
  },
  "secret-rollout": {
    file: "workflows/secret-rollout.asl.json",
    id: "SecretRollout",
    description:
      "After a secret rotation: re-syncs each consumer's ExternalSecret and restarts its Deployments one at a time until Ready",
    functions: [
      "plan-secret-rollout",
      "sync-external-secret",
      "restart-deployment",
      "watch-rollout",
      "finish-secret-rollout",
    ],
    // Each step has its own deadline (sync, rollout, and a freeze's hold up to promotion.freeze.maxWaitHours per
    // Deployment), which ends the rollout with Secret Rollout Failed; this only backstops them, at Step Functions'
    // limit, so that a long freeze cannot end an execution without that event.
    timeoutSeconds: 365 * 24 * 60 * 60,
  },
  "rds-snapshot": {
    file: "workflows/rds-snapshot.asl.json",
    id: "RdsSnapshot",
    description:
      "Snapshots the tagged RDS databases (or one), waits until available, copies to the DR region, applies retention",
    functions: ["plan-snapshots", "create-snapshot", "copy-snapshot", "finish-snapshot", "prune-snapshots"],
    // Each snapshot has its own deadline (snapshots.waitTimeoutMinutes, at most a day); this backstops a run of many
    // databases, maxConcurrency at a time.
    timeoutSeconds: 7 * 24 * 60 * 60,
  },
  "restore-drill": {
    file: "workflows/restore-drill.asl.json",
    id: "RestoreDrill",
    description:
      "Restores each database's newest Switchyard snapshot to a throwaway instance, runs the smoke query, deletes it",
    functions: ["plan-restore-drills", "start-restore-drill", "run-smoke-query", "finish-restore-drill"],
    timeoutSeconds: 7 * 24 * 60 * 60,
  },
  "incident-escalation": {
    file: "workflows/incident-escalation.asl.json",
    id: "IncidentEscalation",
    description:
      "One open incident: Slack and PagerDuty, wait for an acknowledgement, escalate level by level, close on resolution",
    functions: ["open-incident", "notify-incident", "await-incident", "escalate-incident", "close-incident"],
    // An incident may stay open long; the waits go a day at a time, this is Step Functions' limit.
    timeoutSeconds: 365 * 24 * 60 * 60,
  },
} as const satisfies Record<string, WorkflowDefinition>;

/** Substitution keys a workflow's definition may use, each mapped to the function it names. */
export const workflowFunctionSubstitutions = (name: WorkflowName): Record<string, FunctionName> =>
  Object.fromEntries(workflows[name].functions.map((fn) => [functionArnKey(fn), fn]));
