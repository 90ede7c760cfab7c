// The freeze gate of a gated promotion: clear, wait (recording why once) until a deadline, or frozen.

import { beforeEach, describe, expect, it } from "vitest";
import { configSchema } from "../../functions/core/config.ts";
import { ValidationError } from "../../functions/core/errors.ts";
import { gatePromotion } from "../../functions/core/gate-promotion.ts";
import type { Clock, Freeze, PromotionRecord } from "../../functions/core/ports.ts";
import { SqliteFreezeStore } from "../../local/adapters/sqlite-freeze-store.ts";
import { SqlitePromotionStore } from "../../local/adapters/sqlite-promotion-store.ts";
import { openDatabase } from "../../local/db.ts";
import { digestOf } from "../support/platform.ts";

const promotionId = "0b8f8f3e-2f7c-4b55-9e58-52b0b3a8f0e1";
const start = new Date("2026-11-28T08:00:00.000Z");
const hourMs = 3_600_000;

const configWith = (freeze: { action: "wait" | "fail"; maxWaitHours?: number }) =>
  configSchema.parse({
    gitops: { repository: "acme-platform/gitops" },
    promotion: { freeze: { pollIntervalSeconds: 120, maxWaitHours: 2, ...freeze } },
    environments: [
      {
        name: "staging",
        approval: "none",
        argocd: { namespace: "argocd", application: "{service}-staging" },
      },
      {
        name: "production",
        approval: { approvers: ["ana@example.com"], timeoutHours: 1.5 },
        argocd: { namespace: "argocd", application: "{service}-production" },
      },
    ],
    services: [
      {
        name: "checkout",
        repository: "checkout",
        policy: { semver: "^1.0.0" },
        values: "envs/{environment}/checkout/values.yaml",
        database: "checkout-db",
      },
      {
        name: "storefront",
        repository: "storefront",
        policy: { tag: "stable" },
        values: "envs/{environment}/storefront/values.yaml",
      },
    ],
  });

const promotion: PromotionRecord = {
  id: promotionId,
  service: "checkout",
  environment: "production",
  image: {
    repository: "checkout",
    tag: "1.4.2",
    digest: digestOf("1.4.2"),
    pushedAt: "2026-11-28T07:00:00Z",
  },
  phase: "Pending",
  reasons: ["planned"],
  trigger: { kind: "promotion", eventId: "evt-1" },
  createdAt: "2026-11-28T07:59:00.000Z",
  updatedAt: "2026-11-28T07:59:00.000Z",
};

const freeze = (overrides: Partial<Freeze> = {}): Freeze => ({
  service: "checkout",
  id: "manual",
  reason: "black friday",
  setBy: "maria@example.com",
  setAt: "2026-11-27T18:00:00.000Z",
  source: "api",
  ...overrides,
});

describe("gatePromotion", () => {
  let now: Date;
  const clock: Clock = { now: () => now };
  let freezes: SqliteFreezeStore;
  let store: SqlitePromotionStore;
  const deps = (freezePolicy: { action: "wait" | "fail"; maxWaitHours?: number } = { action: "wait" }) => ({
    config: configWith(freezePolicy),
    freezes,
    store,
    clock,
  });
  const look = (deadline: string | null, service = "checkout", environment = "production") =>
    ({ promotionId, service, environment, deadline }) as const;

  beforeEach(async () => {
    now = start;
    const db = openDatabase(":memory:");
    freezes = new SqliteFreezeStore({ db });
    store = new SqlitePromotionStore({ db, clock });
    await store.createPromotion(promotion);
  });

  it("lets an unfrozen service go on, with the database and approval timeout from switchyard.yaml", async () => {
    const gate = await gatePromotion(deps(), look(null));

    expect(gate).toEqual({
      state: "clear",
      reason: "checkout is not frozen",
      deadline: new Date(start.getTime() + 2 * hourMs).toISOString(),
      pollIntervalSeconds: 120,
      database: "checkout-db",
      approvalTimeoutSeconds: 5400,
    });
    expect((await store.getPromotion(promotionId))?.reasons).toEqual(["planned"]);
  });

  it("answers a null database for a service that declares none", async () => {
    const gate = await gatePromotion(deps(), look(null, "storefront"));

    expect(gate).toMatchObject({ state: "clear", database: null });
  });

  it("waits while frozen, recording why once and keeping the deadline set on the first look", async () => {
    await freezes.put(freeze());

    const first = await gatePromotion(deps(), look(null));
    const deadline = new Date(start.getTime() + 2 * hourMs).toISOString();
    expect(first).toMatchObject({ state: "wait", deadline, pollIntervalSeconds: 120 });
    expect(first.reason).toBe(
      "checkout is frozen: black friday (set by maria@example.com at 2026-11-27T18:00:00.000Z)",
    );

    now = new Date(start.getTime() + hourMs);
    const second = await gatePromotion(deps(), look(first.deadline));
    expect(second).toMatchObject({ state: "wait", deadline });

    expect((await store.getPromotion(promotionId))?.reasons).toEqual([
      "planned",
      `${first.reason}; waiting until it lifts (at most until ${deadline})`,
    ]);
  });

  it("goes on once the freeze is lifted", async () => {
    await freezes.put(freeze());
    const first = await gatePromotion(deps(), look(null));
    await freezes.remove("checkout");

    now = new Date(start.getTime() + 10 * 60_000);
    expect(await gatePromotion(deps(), look(first.deadline))).toMatchObject({
      state: "clear",
      deadline: first.deadline,
    });
  });

  it("ends as frozen when the deadline has passed", async () => {
    await freezes.put(freeze());
    const first = await gatePromotion(deps(), look(null));

    now = new Date(start.getTime() + 2 * hourMs);
    const last = await gatePromotion(deps(), look(first.deadline));

    expect(last.state).toBe("frozen");
    expect(last.reason).toContain("black friday");
    expect(last.reason).toContain("still frozen after waiting 2 h (promotion.freeze.maxWaitHours)");
  });

  it("ends as frozen at once when promotion.freeze.action is fail, recording nothing", async () => {
    await freezes.put(freeze());

    const gate = await gatePromotion(deps({ action: "fail" }), look(null));

    expect(gate.state).toBe("frozen");
    expect(gate.reason).toMatch(/^checkout is frozen: black friday .*; promotion\.freeze\.action is fail$/);
    expect((await store.getPromotion(promotionId))?.reasons).toEqual(["planned"]);
  });

  it.each([
    ["whose until has passed", "2026-11-28T07:59:59.000Z", "clear"],
    ["whose until is now", start.toISOString(), "clear"],
    ["whose until is still ahead", "2026-11-28T08:00:01.000Z", "wait"],
  ])("treats a freeze %s as in force or not", async (_, until, state) => {
    await freezes.put(freeze({ until }));

    expect((await gatePromotion(deps(), look(null))).state).toBe(state);
  });

  it("names every freeze in force and who set it, and none that expired", async () => {
    await freezes.put(freeze({ until: "2026-11-29T00:00:00.000Z" }));
    await freezes.put(
      freeze({
        id: "INC-042",
        reason: "payments incident",
        setBy: "pagerduty",
        setAt: "2026-11-28T07:30:00.000Z",
        source: "incident",
      }),
    );
    await freezes.put(freeze({ id: "old", reason: "last week's freeze", until: "2026-11-21T00:00:00.000Z" }));
    await freezes.put(freeze({ service: "storefront", reason: "storefront only" }));

    const gate = await gatePromotion(deps(), look(null));

    expect(gate.reason).toBe(
      "checkout is frozen: black friday (set by maria@example.com at 2026-11-27T18:00:00.000Z, until 2026-11-29T00:00:00.000Z); " +
        "payments incident (set by pagerduty at 2026-11-28T07:30:00.000Z)",
    );
  });

  it.each([
    ["an unknown service", look(null, "billing"), 'unknown service "billing"'],
    ["an unknown environment", look(null, "checkout", "qa"), 'unknown environment "qa"'],
    ["an environment without an approval gate", look(null, "checkout", "staging"), "approval: none"],
  ])("refuses %s with a ValidationError", async (_, input, message) => {
    const gate = gatePromotion(deps(), input);

    await expect(gate).rejects.toBeInstanceOf(ValidationError);
    await expect(gate).rejects.toThrow(message);
  });
});
