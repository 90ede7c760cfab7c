// Event rules as data: one pattern → one target. The CDK app and the local bus both read this list.

import type { FunctionName } from "../functions/registry.ts";
import type { WorkflowName } from "../workflows/registry.ts";
import type { BusName } from "./types.ts";

/** Where a matched event goes: a Step Functions workflow (StartExecution) or a Lambda function (async invoke). */
export type RuleTarget =
  | { kind: "workflow"; workflow: WorkflowName }
  | { kind: "function"; function: FunctionName };

/**
 * What the target receives. Without one, the whole event. `path` is a JSONPath like EventBridge's `InputPath`;
 * `transformer` is EventBridge's input transformer (`<name>` placeholders filled from `inputPathsMap`).
 */
export type RuleInput =
  | { kind: "path"; path: string }
  | { kind: "transformer"; inputPathsMap: Record<string, string>; inputTemplate: string };

/** EventBridge's per-target retry policy; AWS allows 0–185 attempts and 60–86,400 seconds of event age. */
export interface RetryPolicy {
  maximumRetryAttempts: number;
  maximumEventAgeSeconds: number;
}

export interface Rule {
  /** EventBridge rule name: 1–64 of [.\-_A-Za-z0-9]. */
  name: string;
  description: string;
  bus: BusName;
  /** An EventBridge event pattern (validated by `compilePattern` at start and in the tests). */
  pattern: Record<string, unknown>;
  target: RuleTarget;
  input?: RuleInput;
  retryPolicy: RetryPolicy;
  /** Undeliverable events are kept in a dead-letter queue (SQS on AWS, the event log locally). */
  deadLetterQueue: true;
}

const defaultRetryPolicy: RetryPolicy = { maximumRetryAttempts: 8, maximumEventAgeSeconds: 60 * 60 };

export const rules: readonly Rule[] = [
  {
    name: "ecr-image-pushed",
    description: "A successful ECR image push starts the image promotion workflow",
    bus: "default",
    pattern: {
      source: ["aws.ecr"],
      "detail-type": ["ECR Image Action"],
      // Every tag policy ignores untagged pushes, so they need not start a workflow at all.
      detail: { "action-type": ["PUSH"], result: ["SUCCESS"], "image-tag": [{ exists: true }] },
    },
    target: { kind: "workflow", workflow: "promote-image" },
    // The workflow's input contract (functions/core/promotion-input.ts), the same for every trigger.
    input: {
      kind: "transformer",
      inputPathsMap: {
        eventId: "$.id",
        pushedAt: "$.time",
        repository: "$.detail.repository-name",
        tag: "$.detail.image-tag",
        digest: "$.detail.image-digest",
      },
      inputTemplate:
        '{"promotionId": null, "environment": null, "services": null, "trigger": {"kind": "ecr", "eventId": <eventId>}, "image": {"repository": <repository>, "tag": <tag>, "digest": <digest>, "pushedAt": <pushedAt>}}',
    },
    retryPolicy: defaultRetryPolicy,
    deadLetterQueue: true,
  },
  {
    name: "github-release-published",
    description:
      "A published GitHub release promotes the image tagged as the release, for the services built from that repository",
    bus: "switchyard",
    pattern: {
      source: ["github.com"],
      "detail-type": ["release"],
      detail: { action: ["published"], release: { draft: [false] } },
    },
    target: { kind: "function", function: "promote-from-github" },
    retryPolicy: defaultRetryPolicy,
    deadLetterQueue: true,
  },
  {
    name: "github-workflow-run-succeeded",
    description:
      "A successful GitHub workflow run promotes the image its commit built, for the services built from that repository",
    bus: "switchyard",
    // The default-branch check compares two fields, which a pattern cannot; promote-from-github makes it.
    pattern: {
      source: ["github.com"],
      "detail-type": ["workflow_run"],
      detail: { action: ["completed"], workflow_run: { conclusion: ["success"] } },
    },
    target: { kind: "function", function: "promote-from-github" },
    retryPolicy: defaultRetryPolicy,
    deadLetterQueue: true,
  },
  {
    name: "promotion-succeeded-next-environment",
    description:
      "A promotion that reached Synced + Healthy carries the same image on to the next environment (gated ones wait for approval)",
    bus: "switchyard",
    pattern: { source: ["switchyard"], "detail-type": ["Promotion Succeeded"] },
    target: { kind: "function", function: "promote-next-environment" },
    retryPolicy: defaultRetryPolicy,
    deadLetterQueue: true,
  },
  {
    name: "secret-rotation-succeeded",
    description:
      "A finished Secrets Manager rotation re-syncs the secret's ExternalSecrets and restarts the Deployments that read it",
    bus: "default",
    // Secrets Manager reports rotations only through CloudTrail, on the default bus.
    pattern: {
      source: ["aws.secretsmanager"],
      "detail-type": ["AWS Service Event via CloudTrail"],
      detail: { eventName: ["RotationSucceeded"] },
    },
    target: { kind: "workflow", workflow: "secret-rollout" },
    // The workflow's input contract (secretRolloutInputSchema in functions/core/secret-rollout.ts).
    input: {
      kind: "transformer",
      inputPathsMap: {
        secretId: "$.detail.additionalEventData.SecretId",
        eventId: "$.id",
        rotatedAt: "$.detail.eventTime",
      },
      inputTemplate: '{"secretId": <secretId>, "eventId": <eventId>, "rotatedAt": <rotatedAt>}',
    },
    retryPolicy: defaultRetryPolicy,
    deadLetterQueue: true,
  },
  {
    name: "cloudwatch-alarm-state-changed",
    description:
      "A CloudWatch alarm changing state becomes an Alert Received (ALARM fires, OK resolves, INSUFFICIENT_DATA as configured)",
    bus: "default",
    pattern: { source: ["aws.cloudwatch"], "detail-type": ["CloudWatch Alarm State Change"] },
    target: { kind: "function", function: "normalize-alarm" },
    retryPolicy: defaultRetryPolicy,
    deadLetterQueue: true,
  },
  {
    name: "switchyard-failure-alert",
    description: "Switchyard's own failures open incidents; the success of the same subject resolves them",
    bus: "switchyard",
    pattern: {
      source: ["switchyard"],
      "detail-type": [
        "Secret Rollout Failed",
        "Restore Drill Failed",
        "Promotion Rolled Back",
        "Secret Rotated",
        "Restore Drill Passed",
        "Promotion Succeeded",
      ],
    },
    target: { kind: "function", function: "normalize-failure" },
    retryPolicy: defaultRetryPolicy,
    deadLetterQueue: true,
  },
  {
    name: "alert-received",
    description:
      "A firing alert starts its incident's escalation (one per fingerprint and start); a resolved one ends it",
    bus: "switchyard",
    pattern: { source: ["switchyard"], "detail-type": ["Alert Received"] },
    target: { kind: "function", function: "route-alert" },
    retryPolicy: defaultRetryPolicy,
    deadLetterQueue: true,
  },
];
