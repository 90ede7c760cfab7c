// The Decide step with an image registry: a bare tag gets its digest, a bare digest its tags, an unknown image a skip.

import { beforeEach, describe, expect, it } from "vitest";
import { TransientError } from "../../functions/core/errors.ts";
import { type PlanPromotionDeps, planPromotion } from "../../functions/core/plan-promotion.ts";
import type { ImageRegistry } from "../../functions/core/ports.ts";
import { loadConfig } from "../../functions/wiring/config.ts";
import { SqliteImageRegistry } from "../../local/adapters/sqlite-image-registry.ts";
import { SqlitePromotionStore } from "../../local/adapters/sqlite-promotion-store.ts";
import { openDatabase } from "../../local/db.ts";
import { digestOf } from "../support/platform.ts";

const config = loadConfig("switchyard.yaml");
const clock = { now: () => new Date("2026-11-27T10:00:00.000Z") };
const eventId = "8aa94cb8-c5b4-41ce-a949-757c76264639";
/** When the trigger fired: later than any push, so a test can tell whose push time a decision used. */
const triggeredAt = "2026-11-27T09:59:00Z";

const input = (
  service: string,
  repository: string,
  image: { tag: string | null; digest: string | null },
  promotionId: string | null = null,
) => ({
  promotionId,
  executionName: `github-${eventId}`,
  service,
  environment: "staging",
  image: { repository, ...image, pushedAt: triggeredAt },
  trigger: { kind: "github" as const, eventId },
});

/** A registry that counts lookups and can be made to fail. */
const counting = (inner: ImageRegistry) => {
  const lookups: unknown[] = [];
  let failure: Error | undefined;
  const registry: ImageRegistry = {
    findImage: async (repository, ref) => {
      lookups.push({ repository, ...ref });
      if (failure) throw failure;
      return inner.findImage(repository, ref);
    },
  };
  return { registry, lookups, failWith: (error: Error) => (failure = error) };
};

describe("planPromotion with an image registry", () => {
  let store: SqlitePromotionStore;
  let images: SqliteImageRegistry;
  let spy: ReturnType<typeof counting>;
  let deps: PlanPromotionDeps;

  beforeEach(() => {
    const db = openDatabase(":memory:");
    store = new SqlitePromotionStore({ db });
    images = new SqliteImageRegistry({ db });
    spy = counting(images);
    deps = { config, store, clock, registry: spy.registry };
  });

  describe("a promotion that names a tag only", () => {
    it("is decided on the digest and push time the registry has for the tag", async () => {
      images.record({
        repository: "checkout",
        digest: digestOf("1.4.2"),
        tag: "1.4.2",
        pushedAt: "2026-11-27T09:30:12Z",
      });

      const plan = await planPromotion(deps, input("checkout", "checkout", { tag: "1.4.2", digest: null }));

      expect(plan).toMatchObject({
        action: "promote",
        image: {
          repository: "checkout",
          tag: "1.4.2",
          digest: digestOf("1.4.2"),
          pushedAt: "2026-11-27T09:30:12.000Z",
        },
      });
      expect(await store.getPromotion(plan.promotionId)).toMatchObject({
        phase: "Pending",
        image: { tag: "1.4.2", digest: digestOf("1.4.2"), pushedAt: "2026-11-27T09:30:12.000Z" },
      });
      expect(spy.lookups).toEqual([{ repository: "checkout", tag: "1.4.2" }]);
    });

    it("is skipped, saying so, when the registry has no such image", async () => {
      const plan = await planPromotion(deps, input("checkout", "checkout", { tag: "1.4.2", digest: null }));

      expect(plan).toMatchObject({
        action: "skip",
        reason: "checkout: skip checkout:1.4.2: no such image in the registry",
        image: { repository: "checkout", tag: "1.4.2", digest: null, pushedAt: triggeredAt },
      });
      expect(await store.getPromotion(plan.promotionId)).toMatchObject({
        phase: "Skipped",
        reasons: ["checkout: skip checkout:1.4.2: no such image in the registry"],
      });
    });

    it("orders by the registry's push time: a followed tag moved onto an older image does not go back", async () => {
      await store.putDeployment({
        service: "storefront",
        environment: "staging",
        tag: "stable",
        digest: digestOf("current"),
        pushedAt: "2026-11-20T00:00:00Z",
        revision: "a".repeat(40),
        promotionId: "0b8f8f3e-2f7c-4b55-9e58-52b0b3a8f0e1",
        deployedAt: "2026-11-20T00:05:00Z",
      });
      images.record({
        repository: "storefront",
        digest: digestOf("older"),
        tag: "stable",
        pushedAt: "2026-11-01T00:00:00Z",
      });

      const plan = await planPromotion(
        deps,
        input("storefront", "storefront", { tag: "stable", digest: null }),
      );

      expect(plan.action).toBe("skip");
      expect(plan.reason).toContain("older than what runs");
    });
  });

  describe("a promotion that names a digest only", () => {
    it("learns the image's tags and is decided on the one the policy ranks first", async () => {
      const digest = digestOf("multi");
      for (const tag of ["1.4.2", "latest", "1.5.0"]) {
        images.record({ repository: "checkout", digest, tag, pushedAt: "2026-11-27T09:30:12Z" });
      }

      const plan = await planPromotion(deps, input("checkout", "checkout", { tag: null, digest }));

      expect(plan).toMatchObject({
        action: "promote",
        image: { tag: "1.5.0", digest, pushedAt: "2026-11-27T09:30:12.000Z" },
      });
    });

    it("keeps the tag null for an untagged image, and the policy decides", async () => {
      const digest = digestOf("untagged");
      images.record({ repository: "payments/worker", digest, pushedAt: "2026-11-27T09:30:12Z" });

      const plan = await planPromotion(
        deps,
        input("payments-worker", "payments/worker", { tag: null, digest }),
      );

      expect(plan).toMatchObject({ action: "skip", image: { tag: null, digest } });
      expect(plan.reason).toContain("digest-only");
    });

    it("is skipped, saying so, when the registry has no such image", async () => {
      const digest = digestOf("missing");

      const plan = await planPromotion(deps, input("checkout", "checkout", { tag: null, digest }));

      expect(plan).toMatchObject({
        action: "skip",
        reason: `checkout: skip checkout@${digest}: no such image in the registry`,
        image: { tag: null, digest },
      });
      expect((await store.getPromotion(plan.promotionId))?.image.digest).toBe(digest);
    });
  });

  it("skips a promotion that names neither tag nor digest", async () => {
    const plan = await planPromotion(deps, input("checkout", "checkout", { tag: null, digest: null }));

    expect(plan).toMatchObject({
      action: "skip",
      reason: "checkout: skip checkout: neither a tag nor a digest given",
      image: { tag: null, digest: null },
    });
    expect(spy.lookups).toEqual([]);
  });

  it("does not ask the registry when the trigger names both tag and digest", async () => {
    const plan = await planPromotion(
      deps,
      input("checkout", "checkout", { tag: "1.4.2", digest: digestOf("1.4.2") }),
    );

    expect(plan.action).toBe("promote");
    expect(spy.lookups).toEqual([]);
  });

  it("answers a retried step from the record, without asking the registry again", async () => {
    images.record({
      repository: "checkout",
      digest: digestOf("1.4.2"),
      tag: "1.4.2",
      pushedAt: "2026-11-27T09:30:12Z",
    });
    const request = input("checkout", "checkout", { tag: "1.4.2", digest: null });

    const first = await planPromotion(deps, request);
    const again = await planPromotion(deps, request);

    expect(again).toEqual(first);
    expect(spy.lookups).toHaveLength(1);
  });

  it("lets a registry failure through and records nothing, so the retried step starts afresh", async () => {
    spy.failWith(new TransientError("ECR DescribeImages for checkout:1.4.2 failed (ThrottlingException)"));

    await expect(
      planPromotion(deps, input("checkout", "checkout", { tag: "1.4.2", digest: null })),
    ).rejects.toMatchObject({ name: "TransientError" });
    expect(await store.listPromotions()).toEqual([]);
  });

  it("without a registry, still skips a bare tag and promotes a bare digest untagged", async () => {
    const { registry: _, ...withoutRegistry } = deps;

    const bareTag = await planPromotion(
      withoutRegistry,
      input("checkout", "checkout", { tag: "1.4.2", digest: null }),
    );
    const bareDigest = await planPromotion(
      withoutRegistry,
      input("payments-worker", "payments/worker", { tag: null, digest: digestOf("x") }),
    );

    expect(bareTag).toMatchObject({ action: "skip", reason: expect.stringContaining("no digest given") });
    expect(bareDigest).toMatchObject({ image: { tag: null, digest: digestOf("x"), pushedAt: triggeredAt } });
    expect(spy.lookups).toEqual([]);
  });
});
