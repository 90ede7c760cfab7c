// The Decide and Finish steps of a promotion: recording, idempotent retries, and the domain events they publish.

import { beforeEach, describe, expect, it } from "vitest";
import {
  promotionFailedDetailSchema,
  promotionRolledBackDetailSchema,
  promotionSucceededDetailSchema,
} from "../../events/schemas/switchyard.ts";
import { approvalId } from "../../functions/core/approvals.ts";
import { readCommitRecords } from "../../functions/core/commit-queue.ts";
import { finishPromotion } from "../../functions/core/finish-promotion.ts";
import { planPromotion } from "../../functions/core/plan-promotion.ts";
import type { ApprovalRecord, DomainEvent } from "../../functions/core/ports.ts";
import { loadConfig } from "../../functions/wiring/config.ts";
import { SqliteApprovalStore } from "../../local/adapters/sqlite-approval-store.ts";
import { SqlitePromotionStore } from "../../local/adapters/sqlite-promotion-store.ts";
import { openDatabase } from "../../local/db.ts";
import { digestOf } from "../support/platform.ts";

const config = loadConfig("switchyard.yaml");
const clock = { now: () => new Date("2026-11-27T10:00:00.000Z") };
const eventId = "3f1c1a44-0000-4000-8000-000000000001";
const input = (tag: string, overrides: Record<string, unknown> = {}) => ({
  promotionId: null,
  executionName: "ecr-image-pushed-3f1c1a44",
  service: "checkout",
  environment: "staging",
  image: { repository: "checkout", tag, digest: digestOf(tag), pushedAt: "2026-11-27T09:59:00Z" },
  trigger: { kind: "ecr" as const, eventId },
  ...overrides,
});

describe("planPromotion", () => {
  let store: SqlitePromotionStore;
  beforeEach(() => {
    store = new SqlitePromotionStore({ db: openDatabase(":memory:") });
  });

  it("records a Pending promotion named deterministically from the execution, service and environment", async () => {
    const plan = await planPromotion({ config, store, clock }, input("1.4.2"));
    expect(plan).toMatchObject({ action: "promote", commitGroup: "acme-platform/gitops@main" });
    expect(plan.promotionId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(await store.getPromotion(plan.promotionId)).toMatchObject({
      phase: "Pending",
      reasons: [plan.reason],
    });
    // A retried step finds the record and answers the same, without a second record.
    expect(await planPromotion({ config, store, clock }, input("1.4.2"))).toEqual(plan);
    expect(await store.listPromotions()).toHaveLength(1);
  });

  it("records a skip with its reason", async () => {
    const plan = await planPromotion({ config, store, clock }, input("2.0.0"));
    expect(plan.action).toBe("skip");
    expect(await store.getPromotion(plan.promotionId)).toMatchObject({
      phase: "Skipped",
      reasons: [plan.reason],
    });
  });

  it("uses the promotion id the caller chose", async () => {
    const promotionId = "0b8f8f3e-2f7c-4b55-9e58-52b0b3a8f0e1";
    expect((await planPromotion({ config, store, clock }, input("1.4.2", { promotionId }))).promotionId).toBe(
      promotionId,
    );
  });

  it("skips a promotion that names no digest, saying so", async () => {
    const plan = await planPromotion(
      { config, store, clock },
      input("1.4.2", {
        image: { repository: "checkout", tag: "1.4.2", digest: null, pushedAt: "2026-11-27T09:59:00Z" },
      }),
    );
    expect(plan).toMatchObject({ action: "skip", reason: expect.stringContaining("no digest") });
  });
});

describe("finishPromotion", () => {
  let store: SqlitePromotionStore;
  let published: DomainEvent[];
  const publisher = {
    publish: async (events: readonly DomainEvent[]) => {
      published.push(...events);
    },
  };
  beforeEach(async () => {
    store = new SqlitePromotionStore({ db: openDatabase(":memory:") });
    published = [];
  });

  const planned = async () => {
    const plan = await planPromotion({ config, store, clock }, input("1.4.2"));
    await store.updatePromotion(plan.promotionId, {
      phase: "Syncing",
      revision: "a".repeat(40),
      previous: { tag: "1.0.0", digest: digestOf("1.0.0") },
    });
    return plan.promotionId;
  };

  it("records Succeeded and publishes a valid Promotion Succeeded, again on a retry", async () => {
    const promotionId = await planned();
    await finishPromotion(
      { store, publisher, clock },
      { promotionId, outcome: "succeeded", reason: "Synced/Healthy" },
    );
    await finishPromotion(
      { store, publisher, clock },
      { promotionId, outcome: "succeeded", reason: "Synced/Healthy" },
    );
    expect((await store.getPromotion(promotionId))?.phase).toBe("Succeeded");
    expect(published).toHaveLength(2);
    const detail = promotionSucceededDetailSchema.parse(published[0]?.detail);
    expect(detail).toMatchObject({
      promotionId,
      tag: "1.4.2",
      previousTag: "1.0.0",
      revision: "a".repeat(40),
      triggeringEventId: eventId,
    });
  });

  it.each([
    ["failed", "Failed", undefined, "PromotionFailedError"],
    ["errored", "Errored", { name: "States.Timeout", message: "task timed out" }, "TimeoutError"],
  ] as const)(
    "records %s and publishes Promotion Failed with the kind and an error class name",
    async (outcome, kind, error, name) => {
      const promotionId = await planned();
      await finishPromotion(
        { store, publisher, clock },
        { promotionId, outcome, reason: "Argo CD degraded", failedStep: "sync", ...(error ? { error } : {}) },
      );
      const detail = promotionFailedDetailSchema.parse(published[0]?.detail);
      expect(detail).toMatchObject({ kind, failedStep: "sync", error: { name } });
      expect(published[0]?.detailType).toBe("Promotion Failed");
    },
  );

  it.each([
    [true, "quarantined"],
    [false, "not quarantined"],
  ])(
    "records RolledBack and publishes a valid Promotion Rolled Back (digest %s: %s)",
    async (quarantined) => {
      const promotionId = await planned();
      if (quarantined) await store.quarantine("checkout", digestOf("1.4.2"), "went unhealthy");
      await finishPromotion(
        { store, publisher, clock },
        {
          promotionId,
          outcome: "rolled-back",
          reason: "Argo CD degraded: health=Degraded",
          revertRevision: "b".repeat(40),
        },
      );
      expect((await store.getPromotion(promotionId))?.phase).toBe("RolledBack");
      expect(published.map((e) => e.detailType)).toEqual(["Promotion Rolled Back"]);
      expect(promotionRolledBackDetailSchema.parse(published[0]?.detail)).toEqual({
        promotionId,
        service: "checkout",
        environment: "staging",
        repository: "checkout",
        tag: "1.4.2",
        digest: digestOf("1.4.2"),
        triggeringEventId: eventId,
        revision: "a".repeat(40),
        revertRevision: "b".repeat(40),
        rolledBackToTag: "1.0.0",
        rolledBackToDigest: digestOf("1.0.0"),
        reason: "Argo CD degraded: health=Degraded",
        quarantined,
        rolledBackAt: "2026-11-27T10:00:00.000Z",
      });
    },
  );

  it("names the approval in Promotion Succeeded when the promotion had one", async () => {
    const promotionId = await planned();
    const approvals = new SqliteApprovalStore({ db: openDatabase(":memory:") });
    const approval: ApprovalRecord = {
      id: approvalId(promotionId),
      promotionId,
      service: "checkout",
      environment: "staging",
      to: { repository: "checkout", tag: "1.4.2", digest: digestOf("1.4.2") },
      requestedBy: "switchyard",
      approvers: ["ana@example.com"],
      minApprovals: 1,
      requestedAt: "2026-11-27T09:00:00.000Z",
      expiresAt: "2026-11-28T09:00:00.000Z",
      decisions: [],
      state: "approved",
      version: 1,
    };
    await approvals.create(approval, "task-token");
    const otherId = (
      await planPromotion(
        { config, store, clock },
        input("1.4.3", { executionName: "ecr-image-pushed-5d2e9b10" }),
      )
    ).promotionId;
    await store.updatePromotion(otherId, { phase: "Syncing", revision: "c".repeat(40) });

    await finishPromotion(
      { store, approvals, publisher, clock },
      { promotionId, outcome: "succeeded", reason: "Synced/Healthy" },
    );
    await finishPromotion(
      { store, approvals, publisher, clock },
      { promotionId: otherId, outcome: "succeeded", reason: "Synced/Healthy" },
    );

    const [gated, ungated] = published.map((e) => promotionSucceededDetailSchema.parse(e.detail));
    expect(gated).toMatchObject({ promotionId, approvalId: approval.id });
    expect(ungated?.promotionId).toBe(otherId);
    expect(ungated).not.toHaveProperty("approvalId");
  });

  it("fails loudly when the publish fails", async () => {
    const promotionId = await planned();
    const failing = {
      publish: async () =>
        Promise.reject(Object.assign(new Error("bus down"), { name: "EventPublishError" })),
    };
    await expect(
      finishPromotion(
        { store, publisher: failing, clock },
        { promotionId, outcome: "succeeded", reason: "ok" },
      ),
    ).rejects.toThrow("bus down");
  });
});

describe("readCommitRecords", () => {
  it("reads good records and sets aside unreadable ones with the problem", () => {
    const good = {
      taskToken: "t",
      promotionId: "0b8f8f3e-2f7c-4b55-9e58-52b0b3a8f0e1",
      service: "checkout",
      environment: "staging",
      eventId,
      image: { repository: "checkout", tag: null, digest: digestOf("x"), pushedAt: "2026-11-27T09:59:00Z" },
    };
    const { requests, unreadable } = readCommitRecords([
      { messageId: "1", body: JSON.stringify(good) },
      { messageId: "2", body: "{nope" },
      { messageId: "3", body: JSON.stringify({ ...good, promotionId: "x" }) },
    ]);
    expect(requests).toEqual([
      {
        ...good,
        messageId: "1",
        image: { repository: "checkout", digest: digestOf("x"), pushedAt: "2026-11-27T09:59:00Z" },
      },
    ]);
    expect(unreadable).toEqual([
      { messageId: "2", problem: "body is not JSON" },
      { messageId: "3", problem: expect.stringContaining("promotionId") },
    ]);
  });
});
