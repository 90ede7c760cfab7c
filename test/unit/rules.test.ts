// The rules in events/rules.ts: valid for EventBridge, pointing at real targets, and matching the events they mean.

import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { compilePattern } from "../../events/pattern.ts";
import { rules } from "../../events/rules.ts";
import { promoteImageInputSchema } from "../../functions/core/promotion-input.ts";
import { secretRolloutInputSchema } from "../../functions/core/secret-rollout.ts";
import { functions } from "../../functions/registry.ts";
import { targetInput } from "../../local/bus/target-input.ts";
import { workflows } from "../../workflows/registry.ts";

const sample = (file: string) => JSON.parse(readFileSync(`events/samples/${file}`, "utf8"));

/** Which samples each rule must match, and which it must not. */
const expectations: Record<string, { matches: string[]; ignores: string[] }> = {
  "cloudwatch-alarm-state-changed": {
    matches: ["aws.cloudwatch/alarm-state-change.json"],
    ignores: ["aws.ecr/image-push.json", "switchyard/alert-received-firing.json"],
  },
  "switchyard-failure-alert": {
    matches: [
      "switchyard/secret-rollout-failed.json",
      "switchyard/secret-rotated.json",
      "switchyard/restore-drill-failed.json",
      "switchyard/restore-drill-passed.json",
      "switchyard/promotion-rolled-back.json",
      "switchyard/promotion-succeeded.json",
    ],
    ignores: [
      "switchyard/promotion-failed.json",
      "switchyard/alert-received-firing.json",
      "aws.cloudwatch/alarm-state-change.json",
    ],
  },
  "alert-received": {
    matches: ["switchyard/alert-received-firing.json", "switchyard/alert-received-resolved.json"],
    ignores: ["switchyard/incident-opened.json", "aws.cloudwatch/alarm-state-change.json"],
  },
  "ecr-image-pushed": {
    matches: ["aws.ecr/image-push.json"],
    ignores: [
      "aws.ecr/image-delete.json",
      "aws.ecr/image-push-failed.json",
      "aws.cloudwatch/alarm-state-change.json",
    ],
  },
  "github-release-published": {
    matches: ["github.com/release-published.json"],
    ignores: ["github.com/workflow-run-completed.json", "github.com/push.json", "aws.ecr/image-push.json"],
  },
  "promotion-succeeded-next-environment": {
    matches: ["switchyard/promotion-succeeded.json"],
    ignores: [
      "switchyard/promotion-failed.json",
      "switchyard/promotion-rolled-back.json",
      "switchyard/approval-decided.json",
      "aws.ecr/image-push.json",
    ],
  },
  "github-workflow-run-succeeded": {
    matches: ["github.com/workflow-run-completed.json"],
    ignores: ["github.com/release-published.json", "github.com/push.json", "aws.ecr/image-push.json"],
  },
  "secret-rotation-succeeded": {
    matches: ["aws.secretsmanager/rotation-succeeded.json"],
    ignores: [
      "aws.secretsmanager/rotation-failed.json",
      "switchyard/secret-rotated.json",
      "switchyard/secret-rollout-failed.json",
      "aws.events/scheduled-event.json",
    ],
  },
};

describe("ecr-image-pushed input transformer", () => {
  it("turns the sample push into the promote-image input contract", () => {
    const event = sample("aws.ecr/image-push.json");
    const rule = rules.find((r) => r.name === "ecr-image-pushed")!;
    const input = targetInput(event, rule.input, { name: rule.name, arn: "arn" }, "2026-11-27T10:00:00Z");
    expect(promoteImageInputSchema.parse(input)).toEqual({
      promotionId: null,
      environment: null,
      services: null,
      trigger: { kind: "ecr", eventId: event.id },
      image: {
        repository: event.detail["repository-name"],
        tag: event.detail["image-tag"],
        digest: event.detail["image-digest"],
        pushedAt: event.time,
      },
    });
  });
});

describe("secret-rotation-succeeded input transformer", () => {
  it("turns the sample rotation into the secret-rollout input contract", () => {
    const event = sample("aws.secretsmanager/rotation-succeeded.json");
    const rule = rules.find((r) => r.name === "secret-rotation-succeeded")!;
    const input = targetInput(event, rule.input, { name: rule.name, arn: "arn" }, "2026-11-27T10:00:00Z");
    expect(secretRolloutInputSchema.parse(input)).toEqual({
      secretId: event.detail.additionalEventData.SecretId,
      eventId: event.id,
      rotatedAt: event.detail.eventTime,
    });
  });
});

describe.each(rules.map((rule) => [rule.name, rule] as const))("rule %s", (name, rule) => {
  it("has a name EventBridge accepts, used once", () => {
    expect(name).toMatch(/^[.\-_A-Za-z0-9]{1,64}$/);
    expect(rules.filter((r) => r.name === name)).toHaveLength(1);
  });

  it("has a valid pattern (compiled the way the bus and the CDK app compile it)", () => {
    expect(() => compilePattern(rule.pattern)).not.toThrow();
  });

  it("targets a registered workflow or function", () => {
    if (rule.target.kind === "workflow") expect(workflows).toHaveProperty(rule.target.workflow);
    else expect(functions).toHaveProperty(rule.target.function);
  });

  it("has a retry policy within EventBridge's limits", () => {
    expect(rule.retryPolicy.maximumRetryAttempts).toBeGreaterThanOrEqual(0);
    expect(rule.retryPolicy.maximumRetryAttempts).toBeLessThanOrEqual(185);
    expect(rule.retryPolicy.maximumEventAgeSeconds).toBeGreaterThanOrEqual(60);
    expect(rule.retryPolicy.maximumEventAgeSeconds).toBeLessThanOrEqual(86_400);
  });

  it("matches the samples it is meant for and no others", () => {
    const expected = expectations[name];
    expect(expected, `add ${name} to the expectations table`).toBeDefined();
    const pattern = compilePattern(rule.pattern);
    for (const file of expected?.matches ?? []) expect(pattern.matches(sample(file)), file).toBe(true);
    for (const file of expected?.ignores ?? []) expect(pattern.matches(sample(file)), file).toBe(false);
  });
});
