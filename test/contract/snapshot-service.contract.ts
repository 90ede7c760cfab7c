// The SnapshotService contract: names, tags, status over time and listings of Switchyard's snapshots, for every adapter.

import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Clock, SnapshotService } from "../../functions/core/ports.ts";

/** A snapshot service under test and the database-side actions the contract needs. */
export interface SnapshotServiceFixture {
  service: SnapshotService;
  /**
   * Records a manual snapshot of `database` that Switchyard did not take (no Switchyard tags), available; where the
   * service has automated backups, one of those too.
   */
  addForeignSnapshot(database: string, id: string): Promise<void>;
  /** Waits until the work the service does in the background (a local dump or restore) has caught up. */
  settle?: () => Promise<void>;
  /** Whether the service can copy to another region; one that cannot must refuse every copy. */
  crossRegionCopy: boolean;
  /** A database whose storage is encrypted, when the service has one. */
  encryptedDatabase?: string;
  cleanup?: () => Promise<void>;
}

/** A database the fixture must provide, with its tags. */
export interface ContractDatabase {
  identifier: string;
  tags: Readonly<Record<string, string>>;
}

/** What every fixture must be built with. */
export interface SnapshotServiceSetup {
  clock: Clock;
  /**
   * The databases that exist, with their tags; any other name does not. Each holds the sample `orders` table with
   * `orderCount` rows, which a drill's smoke query counts.
   */
  databases: readonly ContractDatabase[];
  /** How long a new snapshot, a copy and a restore take to become available. */
  creationMs: number;
  orderCount: number;
}

const backupTag = { tagKey: "switchyard:backup", tagValue: "true" } as const;
const databases: readonly ContractDatabase[] = [
  { identifier: "orders", tags: { "switchyard:backup": "true", team: "shop" } },
  { identifier: "billing", tags: { "switchyard:backup": "true", team: "finance" } },
  { identifier: "reporting", tags: { "switchyard:backup": "false", team: "finance" } },
];
const creationMs = 5 * 60 * 1_000;
const minuteMs = 60 * 1_000;
const orderCount = 25;
const promotionId = "3f2b8c1e-7d4a-4e9b-a1c2-5d6e7f8a9b0c";
const drillName = "switchyard-drill-orders-20260501121000";
const otherRegion = "eu-central-1";
const otherRegionKey = "arn:aws:kms:eu-central-1:123456789012:key/8d3f6a52-1c2b-4e5f-9a8b-7c6d5e4f3a2b";

/**
 * Registers the SnapshotService contract for one adapter. `makeService` is called before each test and must return
 * a service that knows the `databases` it is given with their tags (an adapter may back some by instances and some by
 * clusters), holds no snapshots, and reads `clock`: a snapshot becomes available `creationMs` after it was started,
 * once `settle` has let background work catch up.
 *
 * @example
 * describeSnapshotServiceContract("LocalSnapshotService", async ({ clock, databases, creationMs }) => {
 *   const service = new LocalSnapshotService({ db, clock, dir, superuser, databases: ..., availableAfterMs: creationMs });
 *   return { service, addForeignSnapshot, settle: () => service.settled(), crossRegionCopy: false };
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
    const advance = async (ms: number): Promise<void> => {
      now = new Date(now.getTime() + ms);
      await fixture.settle?.();
    };

    beforeEach(async () => {
      // On a whole second: RDS reports no creation time while a snapshot is being created, so the one its name
      // carries (whole seconds) stands in until RDS reports its own.
      now = new Date("2026-05-01T12:00:00.000Z");
      fixture = await makeService({ clock: { now: () => now }, databases, creationMs, orderCount });
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
      for (const { identifier: database } of databases) {
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

      await advance(creationMs - 1);
      expect(await service.getSnapshot(id)).toMatchObject({
        status: "creating",
        createdAt: "2026-05-01T12:00:00.000Z",
      });
      await advance(1);
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
      await advance(creationMs);
      expect(await service.getSnapshot(created.id)).toMatchObject({ ...expected, status: "available" });
      expect(await service.listSnapshots({ database: "billing" })).toMatchObject([expected]);
    });

    it("lists snapshots newest first, of every database or of one", async () => {
      const first = await service.createSnapshot({ database: "orders", reason: "scheduled" });
      await advance(minuteMs);
      const second = await service.createSnapshot({ database: "billing", reason: "manual" });
      await advance(minuteMs);
      const third = await service.createSnapshot({ database: "orders", reason: "pre-change", promotionId });
      await advance(creationMs);
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
      await advance(999);

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
      await advance(1_000);
      expect(
        await service.createSnapshot({
          database: "orders",
          reason: "pre-change",
          promotionId: "another-promotion",
        }),
      ).toMatchObject({ id: "switchyard-orders-20260501120001-pre-change" });
      expect(await service.getSnapshot(created.id)).toMatchObject({ promotionId });
    });

    it("lists the databases carrying a tag, in identifier order, with what a copy needs to know of them", async () => {
      const tagged = await service.listDatabases(backupTag);

      expect(tagged.map((database) => database.identifier)).toEqual(["billing", "orders"]);
      for (const database of tagged) {
        expect(["instance", "cluster"]).toContain(database.kind);
        expect(database.engine).toMatch(/postgres/);
        expect(typeof database.encrypted).toBe("boolean");
      }
      expect(
        (await service.listDatabases({ tagKey: "team", tagValue: "finance" })).map((d) => d.identifier),
      ).toEqual(["billing", "reporting"]);
      expect(await service.listDatabases({ tagKey: "switchyard:backup", tagValue: "TRUE" })).toEqual([]);
      expect(await service.listDatabases({ tagKey: "owner", tagValue: "true" })).toEqual([]);
    });

    it("lists every manual snapshot for quota and retention, others' too, newest first, and no automated one", async () => {
      await fixture.addForeignSnapshot("orders", "orders-before-migration");
      await advance(minuteMs);
      const ours = await service.createSnapshot({ database: "billing", reason: "scheduled" });

      expect(await service.listManualSnapshots()).toEqual([
        {
          id: ours.id,
          database: "billing",
          createdAt: "2026-05-01T12:01:00.000Z",
          status: "creating",
          type: "manual",
          createdBySwitchyard: true,
        },
        {
          id: "orders-before-migration",
          database: "orders",
          createdAt: "2026-05-01T12:00:00.000Z",
          status: "available",
          type: "manual",
          createdBySwitchyard: false,
        },
      ]);
    });

    it("deletes a snapshot it took, and counts one already gone as deleted", async () => {
      const { id } = await service.createSnapshot({ database: "orders", reason: "scheduled" });
      const kept = await service.createSnapshot({ database: "billing", reason: "scheduled" });
      await advance(creationMs);

      await service.deleteSnapshot(id);

      expect(await service.getSnapshot(id)).toBeUndefined();
      expect((await service.listSnapshots()).map((snapshot) => snapshot.id)).toEqual([kept.id]);
      expect((await service.listManualSnapshots()).map((snapshot) => snapshot.id)).toEqual([kept.id]);
      await service.deleteSnapshot(id);
      await service.deleteSnapshot("switchyard-inventory-20260501120000-manual");
    });

    it("refuses to delete a snapshot it did not take, and leaves it", async () => {
      await fixture.addForeignSnapshot("orders", "orders-before-migration");

      const attempt = service.deleteSnapshot("orders-before-migration");

      await expect(attempt).rejects.toMatchObject({ name: "ValidationError", retryable: false });
      await expect(attempt).rejects.toThrow(/orders-before-migration/);
      expect((await service.listManualSnapshots()).map((snapshot) => snapshot.id)).toContain(
        "orders-before-migration",
      );
    });

    it("refuses to delete a snapshot still being created with an error retrying solves", async () => {
      const { id } = await service.createSnapshot({ database: "orders", reason: "manual" });

      await expect(service.deleteSnapshot(id)).rejects.toMatchObject({ retryable: true });
      await advance(creationMs);
      await service.deleteSnapshot(id);
      expect(await service.getSnapshot(id)).toBeUndefined();
    });

    it("copies a snapshot to another region with its tags where it can, and refuses plainly where it cannot", async () => {
      const { id, tags } = await service.createSnapshot({ database: "orders", reason: "scheduled" });
      await advance(creationMs);

      const copying = service.copySnapshot(id, { region: otherRegion });

      if (fixture.crossRegionCopy) {
        expect(await copying).toMatchObject({
          id,
          database: "orders",
          region: otherRegion,
          status: "creating",
          tags,
        });
        // A retried copy answers with the copy already there.
        expect(await service.copySnapshot(id, { region: otherRegion })).toMatchObject({
          id,
          region: otherRegion,
        });
      } else {
        await expect(copying).rejects.toMatchObject({
          name: "ValidationError",
          message: expect.stringMatching(/copying to another region needs AWS/),
        });
      }
    });

    it("copies an encrypted snapshot only with a KMS key of the target region", async () => {
      const database = fixture.encryptedDatabase ?? "billing";
      const { id } = await service.createSnapshot({ database, reason: "scheduled" });
      await advance(creationMs);

      const withoutKey = service.copySnapshot(id, { region: otherRegion });

      if (fixture.crossRegionCopy) {
        await expect(withoutKey).rejects.toMatchObject({
          name: "ValidationError",
          message: expect.stringMatching(/encrypted.*kmsKeyArn/),
        });
        expect(
          await service.copySnapshot(id, { region: otherRegion, kmsKeyArn: otherRegionKey }),
        ).toMatchObject({
          id,
          region: otherRegion,
          status: "creating",
        });
      } else {
        await expect(withoutKey).rejects.toMatchObject({ name: "ValidationError" });
        await expect(
          service.copySnapshot(id, { region: otherRegion, kmsKeyArn: otherRegionKey }),
        ).rejects.toMatchObject({ name: "ValidationError", message: expect.stringMatching(/needs AWS/) });
      }
    });

    it("refuses to copy a snapshot it does not have", async () => {
      await fixture.addForeignSnapshot("orders", "orders-before-migration");

      for (const id of ["switchyard-orders-20260501120000-manual", "orders-before-migration"]) {
        await expect(service.copySnapshot(id, { region: otherRegion })).rejects.toMatchObject({
          name: fixture.crossRegionCopy ? "NotFoundError" : "ValidationError",
        });
      }
    });

    it("restores a snapshot into a scratch target for a drill, runs a smoke query on it, and deletes it", async () => {
      const { id } = await service.createSnapshot({ database: "orders", reason: "scheduled" });
      await advance(creationMs);

      const { target } = await service.restoreForDrill(id, drillName);

      expect(target.replace(/_/g, "-")).toBe(drillName);
      expect(await service.drillStatus(target)).toBe("creating");
      await expect(service.runSmokeQuery(target, "select count(*) from orders")).rejects.toMatchObject({
        retryable: true,
      });
      await advance(creationMs);
      expect(await service.drillStatus(target)).toBe("available");
      expect(await service.restoreForDrill(id, drillName)).toEqual({ target });
      expect(await service.runSmokeQuery(target, "select count(*) from orders")).toEqual({
        rows: 1,
        value: String(orderCount),
      });

      await service.deleteDrillTarget(target);
      await service.deleteDrillTarget(target);
      expect((await service.listDatabases(backupTag)).map((database) => database.identifier)).toEqual([
        "billing",
        "orders",
      ]);
    });

    it("refuses a drill of a snapshot still being created with an error retrying solves", async () => {
      const { id } = await service.createSnapshot({ database: "orders", reason: "scheduled" });

      await expect(service.restoreForDrill(id, drillName)).rejects.toMatchObject({ retryable: true });
    });

    it("restores for a drill only snapshots it took, into a drill's scratch name", async () => {
      await fixture.addForeignSnapshot("orders", "orders-before-migration");
      const { id } = await service.createSnapshot({ database: "orders", reason: "scheduled" });
      await advance(creationMs);

      await expect(service.restoreForDrill("orders-before-migration", drillName)).rejects.toMatchObject({
        name: "NotFoundError",
      });
      for (const name of ["orders", "orders-restored", "switchyard-drill-", "switchyard-drill-Orders"]) {
        await expect(service.restoreForDrill(id, name)).rejects.toMatchObject({ name: "ValidationError" });
      }
      await expect(service.drillStatus("switchyard-drill-orders-19990101000000")).rejects.toMatchObject({
        name: "NotFoundError",
      });
    });

    it("never deletes a database that is not a drill target, and leaves it snapshottable", async () => {
      for (const target of ["orders", "billing", "reporting"]) {
        await expect(service.deleteDrillTarget(target)).rejects.toMatchObject({
          name: "ValidationError",
          retryable: false,
        });
      }

      expect(await service.createSnapshot({ database: "orders", reason: "manual" })).toMatchObject({
        status: "creating",
      });
      expect((await service.listDatabases(backupTag)).map((database) => database.identifier)).toEqual([
        "billing",
        "orders",
      ]);
    });
  });
};
