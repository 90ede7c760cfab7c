// Runs the SnapshotService contract against the local adapter and against RDS (an in-memory RDS behind the SDK).

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  CreateDBClusterSnapshotCommand,
  type CreateDBClusterSnapshotCommandInput,
  CreateDBSnapshotCommand,
  type CreateDBSnapshotCommandInput,
  DBClusterNotFoundFault,
  type DBClusterSnapshot,
  DBClusterSnapshotAlreadyExistsFault,
  DBClusterSnapshotNotFoundFault,
  DBInstanceNotFoundFault,
  type DBSnapshot,
  DBSnapshotAlreadyExistsFault,
  DBSnapshotNotFoundFault,
  DescribeDBClusterSnapshotsCommand,
  type DescribeDBClusterSnapshotsCommandInput,
  DescribeDBSnapshotsCommand,
  type DescribeDBSnapshotsCommandInput,
  RDSClient,
  RDSServiceException,
  type Tag,
} from "@aws-sdk/client-rds";
import { mockClient } from "aws-sdk-client-mock";
import { describe, expect, it } from "vitest";
import { RdsSnapshotService } from "../../functions/adapters/aws/rds-snapshot-service.ts";
import type { Clock } from "../../functions/core/ports.ts";
import { LocalSnapshotService } from "../../local/adapters/local-snapshot-service.ts";
import { openDatabase, type SqliteDatabase } from "../../local/db.ts";
import { describeSnapshotServiceContract } from "./snapshot-service.contract.ts";

const accountId = "123456789012";
const region = "eu-west-1";
/** RDS pages 20 to 100 snapshots; one a page makes every listing in the contract span pages. */
const fakePageSize = 1;
const instanceStorageGiB = 20;

/** RDS's rule for snapshot identifiers, written out again here so the fake does not trust the code under test. */
const validIdentifier = (id: unknown): id is string =>
  typeof id === "string" &&
  id.length >= 1 &&
  id.length <= 255 &&
  /^[a-z][a-z0-9-]*$/.test(id) &&
  !id.includes("--") &&
  !id.endsWith("-");

const invalidParameter = (message: string): RDSServiceException =>
  new RDSServiceException({
    name: "InvalidParameterValue",
    $fault: "client",
    message,
    $metadata: { httpStatusCode: 400 },
  });

interface StoredSnapshot {
  id: string;
  database: string;
  type: "manual" | "automated";
  startedAt: Date;
  storageGiB: number;
  tags: Tag[];
}

/**
 * RDS in memory: DB instances and Aurora DB clusters, each with its own namespace of snapshots. Create and Describe
 * answer as RDS does: a `creating` snapshot without `SnapshotCreateTime` that turns `available` after `creationMs`,
 * the SDK's fault classes for a missing instance, cluster or snapshot and for a taken name, `InvalidParameterValue`
 * for an identifier or tag RDS refuses, unordered results in pages behind a `Marker`. It refuses any parameter it
 * does not model, so it cannot pass a request it did not understand.
 */
const rdsFake = (options: { clock: Clock; instances: string[]; clusters: string[]; creationMs: number }) => {
  const client = new RDSClient({ region, credentials: { accessKeyId: "x", secretAccessKey: "y" } });
  const mock = mockClient(client);
  const instanceSnapshots = new Map<string, StoredSnapshot>();
  const clusterSnapshots = new Map<string, StoredSnapshot>();

  const checkKeys = (operation: string, input: object, supported: string[]): void => {
    for (const [key, value] of Object.entries(input)) {
      if (value !== undefined && !supported.includes(key)) {
        throw new Error(`the RDS fake does not model ${operation}'s ${key}`);
      }
    }
  };
  const checkTags = (tags: Tag[] | undefined): Tag[] => {
    for (const tag of tags ?? []) {
      if (
        typeof tag.Key !== "string" ||
        tag.Key === "" ||
        tag.Key.length > 128 ||
        tag.Key.startsWith("aws:")
      ) {
        throw invalidParameter(`Invalid tag key: ${tag.Key}`);
      }
      if (
        typeof tag.Value !== "string" ||
        tag.Value.length > 256 ||
        !/^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u.test(tag.Value)
      ) {
        throw invalidParameter(`Invalid tag value for ${tag.Key}: ${tag.Value}`);
      }
    }
    return structuredClone(tags ?? []);
  };
  const store = (
    snapshots: Map<string, StoredSnapshot>,
    id: unknown,
    database: string,
    storageGiB: number,
    tags: Tag[] | undefined,
    alreadyExists: () => Error,
  ): StoredSnapshot => {
    if (!validIdentifier(id)) throw invalidParameter(`${String(id)} is not a valid identifier`);
    const checked = checkTags(tags);
    if (snapshots.has(id)) throw alreadyExists();
    const snapshot: StoredSnapshot = {
      id,
      database,
      type: "manual",
      startedAt: options.clock.now(),
      storageGiB,
      tags: checked,
    };
    snapshots.set(id, snapshot);
    return snapshot;
  };
  const progress = (snapshot: StoredSnapshot) => {
    const taken = options.clock.now().getTime() >= snapshot.startedAt.getTime() + options.creationMs;
    return taken
      ? { Status: "available", SnapshotCreateTime: new Date(snapshot.startedAt), PercentProgress: 100 }
      : { Status: "creating", PercentProgress: 0 };
  };
  const asDbSnapshot = (snapshot: StoredSnapshot): DBSnapshot => ({
    DBSnapshotIdentifier: snapshot.id,
    DBInstanceIdentifier: snapshot.database,
    DBSnapshotArn: `arn:aws:rds:${region}:${accountId}:snapshot:${snapshot.id}`,
    Engine: "postgres",
    SnapshotType: snapshot.type,
    AllocatedStorage: snapshot.storageGiB,
    ...progress(snapshot),
    TagList: structuredClone(snapshot.tags),
  });
  const asDbClusterSnapshot = (snapshot: StoredSnapshot): DBClusterSnapshot => ({
    DBClusterSnapshotIdentifier: snapshot.id,
    DBClusterIdentifier: snapshot.database,
    DBClusterSnapshotArn: `arn:aws:rds:${region}:${accountId}:cluster-snapshot:${snapshot.id}`,
    Engine: "aurora-postgresql",
    SnapshotType: snapshot.type,
    AllocatedStorage: snapshot.storageGiB,
    ...progress(snapshot),
    TagList: structuredClone(snapshot.tags),
  });
  const page = <T>(items: T[], input: { MaxRecords?: number; Marker?: string }) => {
    if (input.MaxRecords !== undefined && (input.MaxRecords < 20 || input.MaxRecords > 100)) {
      throw invalidParameter("MaxRecords must be between 20 and 100");
    }
    const start = input.Marker === undefined ? 0 : Number(Buffer.from(input.Marker, "base64url").toString());
    const end = start + fakePageSize;
    return {
      items: items.slice(start, end),
      ...(end < items.length && { Marker: Buffer.from(String(end)).toString("base64url") }),
    };
  };

  mock.on(CreateDBSnapshotCommand).callsFake((input: CreateDBSnapshotCommandInput) => {
    checkKeys("CreateDBSnapshot", input, ["DBSnapshotIdentifier", "DBInstanceIdentifier", "Tags"]);
    const database = String(input.DBInstanceIdentifier);
    if (!options.instances.includes(database)) {
      throw new DBInstanceNotFoundFault({
        message: `DBInstance ${database} not found.`,
        $metadata: { httpStatusCode: 404 },
      });
    }
    const snapshot = store(
      instanceSnapshots,
      input.DBSnapshotIdentifier,
      database,
      instanceStorageGiB,
      input.Tags,
      () =>
        new DBSnapshotAlreadyExistsFault({
          message: `Cannot create the snapshot because a snapshot with the identifier ${input.DBSnapshotIdentifier} already exists.`,
          $metadata: { httpStatusCode: 400 },
        }),
    );
    return { DBSnapshot: asDbSnapshot(snapshot) };
  });

  mock.on(CreateDBClusterSnapshotCommand).callsFake((input: CreateDBClusterSnapshotCommandInput) => {
    checkKeys("CreateDBClusterSnapshot", input, [
      "DBClusterSnapshotIdentifier",
      "DBClusterIdentifier",
      "Tags",
    ]);
    const database = String(input.DBClusterIdentifier);
    if (!options.clusters.includes(database)) {
      throw new DBClusterNotFoundFault({
        message: `DBCluster ${database} not found.`,
        $metadata: { httpStatusCode: 404 },
      });
    }
    // Aurora's storage grows with its data: a cluster snapshot reports no allocated size.
    const snapshot = store(
      clusterSnapshots,
      input.DBClusterSnapshotIdentifier,
      database,
      0,
      input.Tags,
      () =>
        new DBClusterSnapshotAlreadyExistsFault({
          message: `Cannot create the cluster snapshot because one with the identifier ${input.DBClusterSnapshotIdentifier} already exists.`,
          $metadata: { httpStatusCode: 400 },
        }),
    );
    return { DBClusterSnapshot: asDbClusterSnapshot(snapshot) };
  });

  mock.on(DescribeDBSnapshotsCommand).callsFake((input: DescribeDBSnapshotsCommandInput) => {
    checkKeys("DescribeDBSnapshots", input, [
      "DBSnapshotIdentifier",
      "DBInstanceIdentifier",
      "SnapshotType",
      "MaxRecords",
      "Marker",
    ]);
    if (input.DBSnapshotIdentifier !== undefined) {
      const snapshot = instanceSnapshots.get(input.DBSnapshotIdentifier);
      if (snapshot === undefined) {
        throw new DBSnapshotNotFoundFault({
          message: `DBSnapshot ${input.DBSnapshotIdentifier} not found.`,
          $metadata: { httpStatusCode: 404 },
        });
      }
      return { DBSnapshots: [asDbSnapshot(snapshot)] };
    }
    const matching = [...instanceSnapshots.values()].filter(
      (snapshot) =>
        (input.DBInstanceIdentifier === undefined || snapshot.database === input.DBInstanceIdentifier) &&
        (input.SnapshotType === undefined || snapshot.type === input.SnapshotType),
    );
    const { items, Marker } = page(matching, input);
    return { DBSnapshots: items.map(asDbSnapshot), ...(Marker !== undefined && { Marker }) };
  });

  mock.on(DescribeDBClusterSnapshotsCommand).callsFake((input: DescribeDBClusterSnapshotsCommandInput) => {
    checkKeys("DescribeDBClusterSnapshots", input, [
      "DBClusterSnapshotIdentifier",
      "DBClusterIdentifier",
      "SnapshotType",
      "MaxRecords",
      "Marker",
    ]);
    if (input.DBClusterSnapshotIdentifier !== undefined) {
      const snapshot = clusterSnapshots.get(input.DBClusterSnapshotIdentifier);
      if (snapshot === undefined) {
        throw new DBClusterSnapshotNotFoundFault({
          message: `DBClusterSnapshot ${input.DBClusterSnapshotIdentifier} not found.`,
          $metadata: { httpStatusCode: 404 },
        });
      }
      return { DBClusterSnapshots: [asDbClusterSnapshot(snapshot)] };
    }
    const matching = [...clusterSnapshots.values()].filter(
      (snapshot) =>
        (input.DBClusterIdentifier === undefined || snapshot.database === input.DBClusterIdentifier) &&
        (input.SnapshotType === undefined || snapshot.type === input.SnapshotType),
    );
    const { items, Marker } = page(matching, input);
    return { DBClusterSnapshots: items.map(asDbClusterSnapshot), ...(Marker !== undefined && { Marker }) };
  });

  return {
    client,
    mock,
    /** A snapshot taken by someone else: a manual one by hand and the automated backup of the same night. */
    addForeignSnapshot: async (database: string, id: string) => {
      const snapshots = options.clusters.includes(database) ? clusterSnapshots : instanceSnapshots;
      const startedAt = options.clock.now();
      snapshots.set(id, {
        id,
        database,
        type: "manual",
        startedAt,
        storageGiB: instanceStorageGiB,
        tags: [{ Key: "owner", Value: "dba" }],
      });
      const automated = `rds:${database}-2026-05-01-03-00`;
      snapshots.set(automated, {
        id: automated,
        database,
        type: "automated",
        startedAt,
        storageGiB: instanceStorageGiB,
        tags: [],
      });
    },
  };
};

/** A row as another tool would record a dump in the local table: no Switchyard tags. */
const addLocalForeignSnapshot = (db: SqliteDatabase, database: string, id: string, at: Date): void => {
  db.prepare(
    `INSERT INTO database_snapshots (id, database, status, reason, created_at, tags)
     VALUES (?, ?, 'available', 'manual', ?, '{"owner":"dba"}')`,
  ).run(id, database, at.toISOString());
};

describeSnapshotServiceContract("LocalSnapshotService (local)", async ({ clock, databases, creationMs }) => {
  const db = openDatabase(":memory:");
  return {
    service: new LocalSnapshotService({ db, clock, databases, availableAfterMs: creationMs }),
    addForeignSnapshot: async (database, id) => addLocalForeignSnapshot(db, database, id, clock.now()),
    cleanup: async () => {
      db.close();
    },
  };
});

describeSnapshotServiceContract(
  "RdsSnapshotService (AWS SDK against an RDS fake: one instance, one Aurora cluster)",
  async ({ clock, databases, creationMs }) => {
    const [instance, cluster] = databases;
    const fake = rdsFake({ clock, instances: [instance!], clusters: [cluster!], creationMs });
    return {
      service: new RdsSnapshotService({ client: fake.client, clock }),
      addForeignSnapshot: fake.addForeignSnapshot,
      cleanup: async () => {
        fake.mock.restore();
      },
    };
  },
);

describe("LocalSnapshotService across restarts", () => {
  it("reports the same status and snapshots after reopening its file, whatever delay it is restarted with", async () => {
    const dir = mkdtempSync(join(tmpdir(), "snapshots-"));
    let now = new Date("2026-05-01T12:00:00.000Z");
    const clock = { now: () => now };
    const file = join(dir, "state.db");
    try {
      const before = openDatabase(file);
      const first = new LocalSnapshotService({
        db: before,
        clock,
        databases: ["orders"],
        availableAfterMs: 60_000,
      });
      const { id } = await first.createSnapshot({ database: "orders", reason: "manual" });
      before.close();

      const after = openDatabase(file);
      const second = new LocalSnapshotService({
        db: after,
        clock,
        databases: ["orders"],
        availableAfterMs: 0,
      });
      expect(await second.getSnapshot(id)).toMatchObject({ status: "creating" });
      now = new Date("2026-05-01T12:01:00.000Z");
      expect(await second.listSnapshots()).toMatchObject([{ id, status: "available" }]);
      after.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("opens a file that already holds the table", () => {
    const db = openDatabase(":memory:");
    const clock = { now: () => new Date("2026-05-01T12:00:00.000Z") };
    new LocalSnapshotService({ db, clock, databases: [] });

    expect(() => new LocalSnapshotService({ db, clock, databases: [] })).not.toThrow();
    db.close();
  });
});
