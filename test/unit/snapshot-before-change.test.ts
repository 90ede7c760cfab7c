// The pre-change snapshot step: started once, looked at until available, failed or past its deadline.

import { beforeEach, describe, expect, it } from "vitest";
import { snapshotCreatedDetailSchema } from "../../events/schemas/switchyard.ts";
import { configSchema } from "../../functions/core/config.ts";
import type {
  Clock,
  DomainEvent,
  PromotionRecord,
  Snapshot,
  SnapshotService,
} from "../../functions/core/ports.ts";
import { snapshotBeforeChange } from "../../functions/core/snapshot-before-change.ts";
import { snapshotName, snapshotTags } from "../../functions/core/snapshot-names.ts";
import { SqlitePromotionStore } from "../../local/adapters/sqlite-promotion-store.ts";
import { openDatabase, type SqliteDatabase } from "../../local/db.ts";
import { digestOf } from "../support/platform.ts";

const promotionId = "0b8f8f3e-2f7c-4b55-9e58-52b0b3a8f0e1";
const start = new Date("2026-11-28T08:00:00.000Z");
const snapshotId = "switchyard-checkout-db-20261128080000-pre-change";
const minuteMs = 60_000;
const snapshotTimeoutMinutes = 10;

const config = configSchema.parse({
  gitops: { repository: "acme-platform/gitops" },
  promotion: { snapshotTimeoutMinutes, pollIntervalSeconds: 2 },
  environments: [
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
      database: "checkout-db",
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
  reasons: [],
  trigger: { kind: "promotion", eventId: "evt-1" },
  createdAt: "2026-11-28T07:59:00.000Z",
  updatedAt: "2026-11-28T07:59:00.000Z",
};

/** RDS as the step sees it: a snapshot is creating for `availableAfterMs`, then available, unless it failed. */
class FakeSnapshots implements Pick<SnapshotService, "createSnapshot" | "getSnapshot"> {
  private readonly snapshots = new Map<string, Snapshot & { availableAtMs: number }>();

  constructor(
    private readonly clock: Clock,
    private readonly availableAfterMs: number,
  ) {}

  async createSnapshot(input: { database: string; reason: Snapshot["reason"]; promotionId?: string }) {
    const now = this.clock.now();
    const snapshot = {
      id: snapshotName(input.database, input.reason, now),
      database: input.database,
      status: "creating" as const,
      reason: input.reason,
      ...(input.promotionId ? { promotionId: input.promotionId } : {}),
      createdAt: now.toISOString(),
      tags: snapshotTags({
        reason: input.reason,
        ...(input.promotionId ? { promotionId: input.promotionId } : {}),
      }),
      availableAtMs: now.getTime() + this.availableAfterMs,
    };
    this.snapshots.set(snapshot.id, snapshot);
    return (await this.getSnapshot(snapshot.id))!;
  }

  async getSnapshot(id: string): Promise<Snapshot | undefined> {
    const found = this.snapshots.get(id);
    if (!found) return undefined;
    const { availableAtMs, ...snapshot } = found;
    const available = snapshot.status === "creating" && this.clock.now().getTime() >= availableAtMs;
    return available ? { ...snapshot, status: "available" } : snapshot;
  }

  fail(id: string): void {
    const found = this.snapshots.get(id);
    if (found) this.snapshots.set(id, { ...found, status: "failed" });
  }
}

describe("snapshotBeforeChange", () => {
  let now: Date;
  const clock: Clock = { now: () => now };
  let db: SqliteDatabase;
  let store: SqlitePromotionStore;
  let published: DomainEvent[];
  const publisher = {
    publish: async (events: readonly DomainEvent[]) => {
      published.push(...events);
    },
  };
  let snapshots: FakeSnapshots;
  const depsWith = (availableAfterMs: number) => {
    snapshots = new FakeSnapshots(clock, availableAfterMs);
    return { config, snapshots, store, publisher, clock };
  };
  const first = { promotionId, database: "checkout-db", snapshotId: null, deadline: null };
  const deadline = new Date(start.getTime() + snapshotTimeoutMinutes * minuteMs).toISOString();

  beforeEach(async () => {
    now = start;
    db = openDatabase(":memory:");
    store = new SqlitePromotionStore({ db, clock });
    await store.createPromotion(promotion);
    published = [];
  });

  it("starts a pre-change snapshot tagged with the promotion and reports it creating", async () => {
    const deps = depsWith(5 * minuteMs);

    const step = await snapshotBeforeChange(deps, first);

    expect(step).toEqual({
      state: "creating",
      snapshotId,
      deadline,
      pollIntervalSeconds: 5,
      reason: `snapshot ${snapshotId} is creating`,
    });
    expect(await deps.snapshots.getSnapshot(snapshotId)).toMatchObject({
      database: "checkout-db",
      reason: "pre-change",
      promotionId,
      tags: {
        "switchyard:reason": `pre-change:${promotionId}`,
        "switchyard:promotion-id": promotionId,
      },
    });
    expect((await store.getPromotion(promotionId))?.reasons).toEqual([
      `pre-change snapshot ${snapshotId} of checkout-db started`,
    ]);
    expect(published).toEqual([]);
  });

  it("publishes one valid Snapshot Created once the snapshot is available", async () => {
    const deps = depsWith(5 * minuteMs);
    const started = await snapshotBeforeChange(deps, first);

    now = new Date(start.getTime() + 5 * minuteMs);
    const step = await snapshotBeforeChange(deps, { ...first, snapshotId, deadline: started.deadline });

    expect(step).toMatchObject({ state: "available", snapshotId, deadline, pollIntervalSeconds: 0 });
    expect(published).toHaveLength(1);
    expect(published[0]?.detailType).toBe("Snapshot Created");
    expect(snapshotCreatedDetailSchema.parse(published[0]?.detail)).toEqual({
      snapshotId,
      dbInstanceIdentifier: "checkout-db",
      reason: "pre-change",
      promotionId,
      createdAt: start.toISOString(),
    });
    expect((await store.getPromotion(promotionId))?.reasons.at(-1)).toBe(
      `pre-change snapshot ${snapshotId} is available`,
    );
  });

  it("keeps looking, publishing nothing, while the snapshot is creating before the deadline", async () => {
    const deps = depsWith(5 * minuteMs);
    await snapshotBeforeChange(deps, first);

    now = new Date(start.getTime() + 4 * minuteMs);
    const step = await snapshotBeforeChange(deps, { ...first, snapshotId, deadline });

    expect(step).toMatchObject({ state: "creating", deadline });
    expect(published).toEqual([]);
    expect((await store.getPromotion(promotionId))?.reasons).toHaveLength(1);
  });

  it("reports failed when the snapshot failed", async () => {
    const deps = depsWith(5 * minuteMs);
    await snapshotBeforeChange(deps, first);
    snapshots.fail(snapshotId);

    const step = await snapshotBeforeChange(deps, { ...first, snapshotId, deadline });

    expect(step).toMatchObject({
      state: "failed",
      snapshotId,
      reason: `pre-change snapshot ${snapshotId} of checkout-db is failed`,
    });
    expect(published).toEqual([]);
  });

  it("reports timed-out when the snapshot is still creating at the deadline", async () => {
    const deps = depsWith(60 * minuteMs);
    await snapshotBeforeChange(deps, first);

    now = new Date(deadline);
    const step = await snapshotBeforeChange(deps, { ...first, snapshotId, deadline });

    expect(step).toMatchObject({ state: "timed-out", snapshotId, deadline });
    expect(step.reason).toBe(
      `pre-change snapshot ${snapshotId} of checkout-db was not available within ${snapshotTimeoutMinutes} min`,
    );
    expect(published).toEqual([]);
  });

  it("reports failed when the snapshot it started is gone", async () => {
    const missing = "switchyard-checkout-db-20261128070000-pre-change";

    const step = await snapshotBeforeChange(depsWith(0), { ...first, snapshotId: missing, deadline });

    expect(step).toMatchObject({
      state: "failed",
      snapshotId: missing,
      reason: `pre-change snapshot ${missing} of checkout-db disappeared`,
    });
    expect(published).toEqual([]);
  });
});
