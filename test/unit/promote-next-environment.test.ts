// Carrying a promoted image on to the next environment: the right workflow, a deterministic name, the same requester.

import { beforeEach, describe, expect, it } from "vitest";
import { configSchema } from "../../functions/core/config.ts";
import { nameBasedUuid } from "../../functions/core/ids.ts";
import type { PromotionRecord, PromotionStore, WorkflowStarter } from "../../functions/core/ports.ts";
import {
  nextEnvironment,
  type PromotionSucceededEvent,
  promoteNextEnvironment,
} from "../../functions/core/promote-next-environment.ts";
import { productionSyncInputSchema, promoteImageInputSchema } from "../../functions/core/promotion-input.ts";
import { digestOf } from "../support/platform.ts";

const sourceId = "0b8f8f3e-2f7c-4b55-9e58-52b0b3a8f0e1";
const eventId = "6f1e2d3c-4b5a-4978-8a6b-5c4d3e2f1a0b";
const digest = digestOf("1.4.2");
const pushedAt = "2026-11-28T07:00:00.000Z";

const config = configSchema.parse({
  gitops: { repository: "acme-platform/gitops" },
  environments: [
    { name: "dev", approval: "none", argocd: { namespace: "argocd", application: "{service}-dev" } },
    { name: "staging", approval: "none", argocd: { namespace: "argocd", application: "{service}-staging" } },
    {
      name: "production",
      approval: { approvers: ["ana@example.com"], timeoutHours: 24 },
      argocd: { namespace: "argocd", application: "{service}-production" },
    },
  ],
  services: [
    {
      name: "checkout",
      repository: "checkout",
      policy: { semver: "^1.0.0" },
      values: "envs/{environment}/checkout/values.yaml",
    },
  ],
});

class FakeWorkflowStarter implements WorkflowStarter {
  readonly calls: { workflow: string; input: unknown; name: string | undefined }[] = [];

  async start(workflow: string, input: unknown, name?: string): Promise<{ executionArn: string }> {
    this.calls.push({ workflow, input, name });
    return { executionArn: `arn:aws:states:eu-west-1:123456789012:execution:${workflow}:${name}` };
  }
}

class FakePromotions implements Pick<PromotionStore, "getPromotion"> {
  readonly records = new Map<string, PromotionRecord>();

  async getPromotion(id: string): Promise<PromotionRecord | undefined> {
    return this.records.get(id);
  }
}

const source = (environment: string, requestedBy?: string): PromotionRecord => ({
  id: sourceId,
  service: "checkout",
  environment,
  image: { repository: "checkout", tag: "1.4.2", digest, pushedAt },
  phase: "Succeeded",
  reasons: [],
  trigger: { kind: "api", eventId: "req-1", ...(requestedBy ? { requestedBy } : {}) },
  createdAt: "2026-11-28T07:30:00.000Z",
  updatedAt: "2026-11-28T07:40:00.000Z",
});

const succeeded = (environment: string, service = "checkout"): PromotionSucceededEvent => ({
  id: eventId,
  detail: { promotionId: sourceId, service, environment, repository: "checkout", tag: "1.4.2", digest },
});

describe("nextEnvironment", () => {
  it.each([
    ["dev", "staging"],
    ["staging", "production"],
    ["production", undefined],
    ["qa", undefined],
  ])("after %s comes %s", (environment, next) => {
    expect(nextEnvironment(config, environment)?.name).toBe(next);
  });
});

describe("promoteNextEnvironment", () => {
  let workflows: FakeWorkflowStarter;
  let promotions: FakePromotions;
  const deps = () => ({ config, promotions, workflows });

  beforeEach(() => {
    workflows = new FakeWorkflowStarter();
    promotions = new FakePromotions();
  });

  it("starts production-sync for a gated environment, named by a promotion id derived from the source", async () => {
    promotions.records.set(sourceId, source("staging", "maria@example.com"));
    const promotionId = nameBasedUuid(`${sourceId}/production`);

    const result = await promoteNextEnvironment(deps(), succeeded("staging"));

    expect(result).toEqual({
      started: true,
      workflow: "production-sync",
      environment: "production",
      promotionId,
      executionArn: `arn:aws:states:eu-west-1:123456789012:execution:production-sync:${promotionId}`,
    });
    expect(workflows.calls).toEqual([
      {
        workflow: "production-sync",
        name: promotionId,
        input: {
          promotionId,
          service: "checkout",
          environment: "production",
          image: { repository: "checkout", tag: "1.4.2", digest, pushedAt },
          trigger: { kind: "promotion", eventId, requestedBy: "maria@example.com" },
        },
      },
    ]);
    expect(productionSyncInputSchema.parse(workflows.calls[0]?.input)).toEqual(workflows.calls[0]?.input);
  });

  it("starts the same execution name for a redelivered event", async () => {
    await promoteNextEnvironment(deps(), succeeded("staging"));
    await promoteNextEnvironment(deps(), succeeded("staging"));

    expect(workflows.calls.map((c) => c.name)).toEqual([
      nameBasedUuid(`${sourceId}/production`),
      nameBasedUuid(`${sourceId}/production`),
    ]);
  });

  it("starts promote-image for an ungated environment in the middle", async () => {
    promotions.records.set(sourceId, source("dev", "maria@example.com"));
    const promotionId = nameBasedUuid(`${sourceId}/staging`);

    const result = await promoteNextEnvironment(deps(), succeeded("dev"));

    expect(result).toMatchObject({
      started: true,
      workflow: "promote-image",
      environment: "staging",
      promotionId,
    });
    expect(workflows.calls).toEqual([
      {
        workflow: "promote-image",
        name: promotionId,
        input: {
          promotionId,
          trigger: { kind: "promotion", eventId, requestedBy: "maria@example.com" },
          environment: "staging",
          services: ["checkout"],
          image: { repository: "checkout", tag: "1.4.2", digest, pushedAt },
        },
      },
    ]);
    expect(promoteImageInputSchema.safeParse(workflows.calls[0]?.input).success).toBe(true);
  });

  it("names no requester when the source promotion had none, and the epoch as push time when it is unknown", async () => {
    await promoteNextEnvironment(deps(), succeeded("staging"));

    const input = productionSyncInputSchema.parse(workflows.calls[0]?.input);
    expect(input.trigger).toEqual({ kind: "promotion", eventId });
    expect(input.image.pushedAt).toBe("1970-01-01T00:00:00.000Z");
  });

  it("starts nothing after the last environment", async () => {
    const result = await promoteNextEnvironment(deps(), succeeded("production"));

    expect(result).toEqual({ started: false, reason: "production is the last environment" });
    expect(workflows.calls).toEqual([]);
  });

  it("starts nothing for a service no longer in switchyard.yaml", async () => {
    const result = await promoteNextEnvironment(deps(), succeeded("staging", "billing"));

    expect(result).toEqual({ started: false, reason: 'service "billing" is no longer in switchyard.yaml' });
    expect(workflows.calls).toEqual([]);
  });
});
