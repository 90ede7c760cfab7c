// The SnapshotService contract: names, tags, status over time and listings of Switchyard's snapshots, for every adapter.

import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Clock, SnapshotService } from "../../functions/core/ports.ts";

/** A snapshot service under test and the database-side actions the contract needs. */
export interface SnapshotServiceFixture {
  service: SnapshotService;
  /** Records a manual snapshot of `database` that Switchyard did not take (no Switchyard tags). */
  addForeignSnapshot(database: string, id: string): Promise<void>;
  cleanup?: () => Promise<void>;
}

/** What every fixture must be built with. */
export interface SnapshotServiceSetup {
  clock: Clock;
  /** The databases that exist; any other name does not. */
  databases: readonly string[];
  /** How long a new snapshot takes to become available. */
  creationMs: number;
}

const databases = ["orders", "billing"] as const;
const creationMs = 5 * 60 * 1_000;
const minuteMs = 60 * 1_000;
const promotionId = "3f2b8c1e-7d4a-4e9b-a1c2-5d6e7f8a9b0c";

/**
 * Registers the SnapshotService contract for one adapter. `makeService` is called before each test and must return
 * a service that knows the `databases` it is given (an adapter may back some by instances and some by clusters), holds
 * no snapshots, and reads `clock`.
 *
 * @example
 * describeSnapshotServiceContract("LocalSnapshotService", async ({ clock, databases, creationMs }) => {
 *   const db = openDatabase(":memory:");
 *   return { service: new LocalSnapshotService({ db, clock, databases, availableAfterMs: creationMs }), ... };
 * });
 */
export const describeSnapshotServiceContract = (
  name: string,
  makeService: (setup: SnapshotServiceSetup) => Promise<SnapshotServiceFixture>,
): void => {
  describe(`SnapshotService contract: ${name}`, () => {
    let fixture: SnapshotServiceFixture;
    let service: SnapshotService;
    let now: Date;
    const advance = (ms: number): void => {
      now = new Date(now.getTime() + ms);
    };

    beforeEach(async () => {
      // On a whole second: RDS reports no creation time while a snapshot is being created, so the one its name
      // carries (whole seconds) stands in until RDS reports its own.
      now = new Date("2026-05-01T12:00:00.000Z");
      fixture = await makeService({ clock: { now: () => now }, databases, creationMs });
      service = fixture.service;
    });

    afterEach(async () => {
      await fixture.cleanup?.();
    });

    it("names a snapshot switchyard-<db>-<UTC timestamp>-<reason> and tags it as Switchyard's", async () => {
      const created = await service.createSnapshot({ database: "orders", reason: "scheduled" });

      expect(created).toMatchObject({
        id: "switchyard-orders-20260501120000-scheduled",
        database: "orders",
        status: "creating",
        reason: "scheduled",
        createdAt: "2026-05-01T12:00:00.000Z",
        tags: { "switchyard:created-by": "switchyard", "switchyard:reason": "scheduled" },
      });
      expect(created.promotionId).toBeUndefined();
      expect(created.tags).not.toHaveProperty("switchyard:promotion-id");
      expect(await service.getSnapshot(created.id)).toEqual(created);
    });

    it("snapshots every database it knows, whatever backs it", async () => {
      for (const database of databases) {
        expect(await service.createSnapshot({ database, reason: "manual" })).toMatchObject({
          id: `switchyard-${database}-20260501120000-manual`,
          database,
          status: "creating",
        });
      }
    });

    it("refuses a database that does not exist with a NotFoundError naming it, and records nothing", async () => {
      const attempt = service.createSnapshot({ database: "inventory", reason: "manual" });

      await expect(attempt).rejects.toMatchObject({ name: "NotFoundError", retryable: false });
      await expect(attempt).rejects.toThrow(/inventory/);
      expect(await service.listSnapshots()).toEqual([]);
      expect(await service.getSnapshot("switchyard-inventory-20260501120000-manual")).toBeUndefined();
    });

    it("reports a snapshot creating until it is taken, then available, keeping its creation time", async () => {
      const { id } = await service.createSnapshot({ database: "orders", reason: "manual" });

      advance(creationMs - 1);
      expect(await service.getSnapshot(id)).toMatchObject({
        status: "creating",
        createdAt: "2026-05-01T12:00:00.000Z",
      });
      advance(1);
      expect(await service.getSnapshot(id)).toMatchObject({
        status: "available",
        createdAt: "2026-05-01T12:00:00.000Z",
      });
      expect((await service.listSnapshots())[0]).toMatchObject({ id, status: "available" });
    });

    it("reads back the promotion a pre-change snapshot guards, from its tags", async () => {
      const created = await service.createSnapshot({
        database: "billing",
        reason: "pre-change",
        promotionId,
      });

      const expected = {
        id: "switchyard-billing-20260501120000-pre-change",
        database: "billing",
        reason: "pre-change",
        promotionId,
        tags: {
          "switchyard:created-by": "switchyard",
          "switchyard:reason": `pre-change:${promotionId}`,
          "switchyard:promotion-id": promotionId,
        },
      };
      expect(created).toMatchObject(expected);
      advance(creationMs);
      expect(await service.getSnapshot(created.id)).toMatchObject({ ...expected, status: "available" });
      expect(await service.listSnapshots({ database: "billing" })).toMatchObject([expected]);
    });

    it("lists snapshots newest first, of every database or of one", async () => {
      const first = await service.createSnapshot({ database: "orders", reason: "scheduled" });
      advance(minuteMs);
      const second = await service.createSnapshot({ database: "billing", reason: "manual" });
      advance(minuteMs);
      const third = await service.createSnapshot({ database: "orders", reason: "pre-change", promotionId });
      advance(creationMs);
      const fourth = await service.createSnapshot({ database: "billing", reason: "scheduled" });

      const ids = async (filter?: { database?: string }) =>
        (await service.listSnapshots(filter)).map((snapshot) => snapshot.id);
      expect(await ids()).toEqual([fourth.id, third.id, second.id, first.id]);
      expect(await ids({ database: "orders" })).toEqual([third.id, first.id]);
      expect(await ids({ database: "billing" })).toEqual([fourth.id, second.id]);
      expect(await ids({ database: "inventory" })).toEqual([]);
      expect((await service.listSnapshots()).map((snapshot) => snapshot.status)).toEqual([
        "creating",
        "available",
        "available",
        "available",
      ]);
    });

    it("never lists nor finds a snapshot Switchyard did not take", async () => {
      await fixture.addForeignSnapshot("orders", "orders-before-migration");
      await fixture.addForeignSnapshot("billing", "billing-by-hand");
      const ours = await service.createSnapshot({ database: "orders", reason: "manual" });

      expect((await service.listSnapshots()).map((snapshot) => snapshot.id)).toEqual([ours.id]);
      expect((await service.listSnapshots({ database: "orders" })).map((snapshot) => snapshot.id)).toEqual([
        ours.id,
      ]);
      expect(await service.getSnapshot("orders-before-migration")).toBeUndefined();
    });

    it("answers undefined for a snapshot it does not have", async () => {
      await service.createSnapshot({ database: "orders", reason: "manual" });

      expect(await service.getSnapshot("switchyard-orders-20260501120000-scheduled")).toBeUndefined();
      expect(await service.getSnapshot("Not A Snapshot Name")).toBeUndefined();
    });

    it("answers a repeat of a request within the same second with the snapshot it started", async () => {
      const created = await service.createSnapshot({ database: "orders", reason: "pre-change", promotionId });
      advance(999);

      expect(
        await service.createSnapshot({ database: "orders", reason: "pre-change", promotionId }),
      ).toMatchObject({ id: created.id, promotionId });
      expect(await service.listSnapshots()).toHaveLength(1);
    });

    it("refuses another request that lands on a taken name with a ConflictError, which retrying solves", async () => {
      const created = await service.createSnapshot({ database: "orders", reason: "pre-change", promotionId });

      await expect(
        service.createSnapshot({
          database: "orders",
          reason: "pre-change",
          promotionId: "another-promotion",
        }),
      ).rejects.toMatchObject({ name: "ConflictError", retryable: true });
      advance(1_000);
      expect(
        await service.createSnapshot({
          database: "orders",
          reason: "pre-change",
          promotionId: "another-promotion",
        }),
      ).toMatchObject({ id: "switchyard-orders-20260501120001-pre-change" });
      expect(await service.getSnapshot(created.id)).toMatchObject({ promotionId });
    });
  });
};
