// Tests of the RDS snapshot adapter: the requests it sends, how it reads RDS's answers and how it maps RDS's errors.

import {
  CreateDBClusterSnapshotCommand,
  CreateDBSnapshotCommand,
  DBClusterNotFoundFault,
  DBClusterSnapshotNotFoundFault,
  DBInstanceNotFoundFault,
  DBSnapshotNotFoundFault,
  DescribeDBClusterSnapshotsCommand,
  DescribeDBSnapshotsCommand,
  type DescribeDBSnapshotsCommandInput,
  type DescribeDBSnapshotsCommandOutput,
  RDSClient,
  RDSServiceException,
  SnapshotQuotaExceededFault,
} from "@aws-sdk/client-rds";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import { RdsSnapshotService, rdsSnapshotStatus } from "../../functions/adapters/aws/rds-snapshot-service.ts";

const now = new Date("2026-05-01T12:00:00.750Z");
const promotionId = "3f2b8c1e-7d4a-4e9b-a1c2-5d6e7f8a9b0c";
const id = "switchyard-orders-20260501120000-pre-change";
const preChangeTags = [
  { Key: "switchyard:created-by", Value: "switchyard" },
  { Key: "switchyard:reason", Value: `pre-change:${promotionId}` },
  { Key: "switchyard:promotion-id", Value: promotionId },
];
const gibibyte = 1024 ** 3;

const serviceError = (name: string, httpStatusCode: number): RDSServiceException =>
  new RDSServiceException({
    name,
    $fault: httpStatusCode >= 500 ? "server" : "client",
    message: name,
    $metadata: { httpStatusCode },
  });
const notFound = {
  instance: () => new DBInstanceNotFoundFault({ message: "DBInstance orders not found.", $metadata: {} }),
  cluster: () => new DBClusterNotFoundFault({ message: "DBCluster orders not found.", $metadata: {} }),
  snapshot: () => new DBSnapshotNotFoundFault({ message: "DBSnapshot not found.", $metadata: {} }),
  clusterSnapshot: () =>
    new DBClusterSnapshotNotFoundFault({ message: "DBClusterSnapshot not found.", $metadata: {} }),
};

describe("RdsSnapshotService", () => {
  const client = new RDSClient({
    region: "eu-west-1",
    credentials: { accessKeyId: "x", secretAccessKey: "y" },
  });
  const mock = mockClient(client);
  const service = new RdsSnapshotService({ client, clock: { now: () => now } });

  beforeEach(() => {
    mock.reset();
  });

  describe("createSnapshot", () => {
    it("creates a DB snapshot named and tagged by Switchyard", async () => {
      mock.on(CreateDBSnapshotCommand).resolves({
        DBSnapshot: { DBSnapshotIdentifier: id, DBInstanceIdentifier: "orders", Status: "creating" },
      });

      const created = await service.createSnapshot({ database: "orders", reason: "pre-change", promotionId });

      expect(mock.commandCalls(CreateDBSnapshotCommand).map((call) => call.args[0].input)).toEqual([
        { DBSnapshotIdentifier: id, DBInstanceIdentifier: "orders", Tags: preChangeTags },
      ]);
      expect(mock.commandCalls(CreateDBClusterSnapshotCommand)).toHaveLength(0);
      expect(created).toEqual({
        id,
        database: "orders",
        status: "creating",
        reason: "pre-change",
        promotionId,
        // RDS reports no SnapshotCreateTime yet: the time in the name stands in for it.
        createdAt: "2026-05-01T12:00:00.000Z",
        tags: {
          "switchyard:created-by": "switchyard",
          "switchyard:reason": `pre-change:${promotionId}`,
          "switchyard:promotion-id": promotionId,
        },
      });
    });

    it("snapshots the Aurora cluster of that name when there is no such instance, with the same name and tags", async () => {
      mock.on(CreateDBSnapshotCommand).rejects(notFound.instance());
      mock.on(CreateDBClusterSnapshotCommand).resolves({
        DBClusterSnapshot: {
          DBClusterSnapshotIdentifier: id,
          DBClusterIdentifier: "orders",
          Status: "creating",
          TagList: preChangeTags,
        },
      });

      const created = await service.createSnapshot({ database: "orders", reason: "pre-change", promotionId });

      expect(mock.commandCalls(CreateDBClusterSnapshotCommand).map((call) => call.args[0].input)).toEqual([
        { DBClusterSnapshotIdentifier: id, DBClusterIdentifier: "orders", Tags: preChangeTags },
      ]);
      expect(created).toMatchObject({ id, database: "orders", status: "creating", promotionId });
    });

    it("throws a NotFoundError naming the database when it is neither an instance nor a cluster", async () => {
      const clusterFault = notFound.cluster();
      mock.on(CreateDBSnapshotCommand).rejects(notFound.instance());
      mock.on(CreateDBClusterSnapshotCommand).rejects(clusterFault);

      const attempt = service.createSnapshot({ database: "orders", reason: "manual" });

      await expect(attempt).rejects.toMatchObject({ name: "NotFoundError", cause: clusterFault });
      await expect(attempt).rejects.toThrow(/"orders"/);
    });

    it("turns the manual snapshot quota into a ValidationError that says so", async () => {
      const quota = new SnapshotQuotaExceededFault({
        message: "Cannot create more than 100 manual snapshots",
        $metadata: { httpStatusCode: 400 },
      });
      mock.on(CreateDBSnapshotCommand).rejects(quota);

      const attempt = service.createSnapshot({ database: "orders", reason: "scheduled" });

      await expect(attempt).rejects.toMatchObject({
        name: "ValidationError",
        retryable: false,
        cause: quota,
      });
      await expect(attempt).rejects.toThrow(/100 per region/);
    });

    it("turns the quota of the cluster attempt into a ValidationError too", async () => {
      mock.on(CreateDBSnapshotCommand).rejects(notFound.instance());
      mock
        .on(CreateDBClusterSnapshotCommand)
        .rejects(new SnapshotQuotaExceededFault({ message: "quota", $metadata: {} }));

      await expect(service.createSnapshot({ database: "orders", reason: "manual" })).rejects.toMatchObject({
        name: "ValidationError",
      });
    });

    it.each([
      ["Throttling", 400],
      ["ThrottlingException", 400],
      ["RequestLimitExceeded", 400],
      ["InvalidDBInstanceStateFault", 400],
      ["InternalFailure", 500],
      ["ServiceUnavailable", 503],
    ])("turns %s into a TransientError", async (name, status) => {
      const error = serviceError(name, status);
      mock.on(CreateDBSnapshotCommand).rejects(error);

      await expect(service.createSnapshot({ database: "orders", reason: "manual" })).rejects.toMatchObject({
        name: "TransientError",
        retryable: true,
        cause: error,
      });
    });

    it("lets any other SDK error through untouched", async () => {
      const denied = serviceError("AccessDenied", 403);
      mock.on(CreateDBSnapshotCommand).rejects(denied);

      await expect(service.createSnapshot({ database: "orders", reason: "manual" })).rejects.toBe(denied);
      expect(mock.commandCalls(CreateDBClusterSnapshotCommand)).toHaveLength(0);
    });

    it("refuses a pre-change snapshot without a promotion before calling RDS", async () => {
      await expect(
        service.createSnapshot({ database: "orders", reason: "pre-change" }),
      ).rejects.toMatchObject({
        name: "ValidationError",
      });
      expect(mock.calls()).toHaveLength(0);
    });
  });

  describe("getSnapshot", () => {
    it("reads status, reason, promotion, creation time and size of a DB snapshot", async () => {
      mock.on(DescribeDBSnapshotsCommand, { DBSnapshotIdentifier: id }).resolves({
        DBSnapshots: [
          {
            DBSnapshotIdentifier: id,
            DBInstanceIdentifier: "orders",
            Status: "available",
            SnapshotCreateTime: new Date("2026-05-01T12:00:03.250Z"),
            AllocatedStorage: 20,
            TagList: [...preChangeTags, { Key: "team", Value: "payments" }],
          },
        ],
      });

      expect(await service.getSnapshot(id)).toEqual({
        id,
        database: "orders",
        status: "available",
        reason: "pre-change",
        promotionId,
        createdAt: "2026-05-01T12:00:03.250Z",
        sizeBytes: 20 * gibibyte,
        tags: {
          "switchyard:created-by": "switchyard",
          "switchyard:reason": `pre-change:${promotionId}`,
          "switchyard:promotion-id": promotionId,
          team: "payments",
        },
      });
      expect(mock.commandCalls(DescribeDBClusterSnapshotsCommand)).toHaveLength(0);
    });

    it("prefers the snapshot's full size in bytes, when RDS reports it, to the instance's allocated storage", async () => {
      mock.on(DescribeDBSnapshotsCommand).resolves({
        DBSnapshots: [
          {
            DBSnapshotIdentifier: id,
            DBInstanceIdentifier: "orders",
            Status: "available",
            AllocatedStorage: 20,
            FullSnapshotSizeInBytes: 5_368_709_120,
            TagList: preChangeTags,
          },
        ],
      });

      expect(await service.getSnapshot(id)).toMatchObject({ sizeBytes: 5_368_709_120 });
    });

    it("looks among cluster snapshots when no DB snapshot has the id", async () => {
      mock.on(DescribeDBSnapshotsCommand).rejects(notFound.snapshot());
      mock.on(DescribeDBClusterSnapshotsCommand, { DBClusterSnapshotIdentifier: id }).resolves({
        DBClusterSnapshots: [
          {
            DBClusterSnapshotIdentifier: id,
            DBClusterIdentifier: "orders",
            Status: "available",
            SnapshotCreateTime: new Date("2026-05-01T12:00:01Z"),
            AllocatedStorage: 0,
            TagList: preChangeTags,
          },
        ],
      });

      const found = await service.getSnapshot(id);

      expect(found).toMatchObject({ id, database: "orders", status: "available", promotionId });
      expect(found).not.toHaveProperty("sizeBytes");
    });

    it("answers undefined when neither holds it, and for a name RDS would refuse without asking", async () => {
      mock.on(DescribeDBSnapshotsCommand).rejects(notFound.snapshot());
      mock.on(DescribeDBClusterSnapshotsCommand).rejects(notFound.clusterSnapshot());

      expect(await service.getSnapshot(id)).toBeUndefined();
      mock.resetHistory();
      expect(await service.getSnapshot("rds:orders-2026-05-01-03-00")).toBeUndefined();
      expect(mock.calls()).toHaveLength(0);
    });

    it("answers undefined for a snapshot Switchyard did not tag", async () => {
      mock.on(DescribeDBSnapshotsCommand).resolves({
        DBSnapshots: [
          { DBSnapshotIdentifier: "by-hand", DBInstanceIdentifier: "orders", Status: "available" },
        ],
      });

      expect(await service.getSnapshot("by-hand")).toBeUndefined();
    });

    it("uses now for the creation time of a snapshot whose name carries none, while RDS reports none", async () => {
      mock.on(DescribeDBSnapshotsCommand).resolves({
        DBSnapshots: [
          {
            DBSnapshotIdentifier: "renamed-copy",
            DBInstanceIdentifier: "orders",
            Status: "copying",
            TagList: preChangeTags,
          },
        ],
      });

      expect(await service.getSnapshot("renamed-copy")).toMatchObject({
        status: "creating",
        createdAt: now.toISOString(),
      });
    });

    it("turns throttling of the lookup into a TransientError", async () => {
      mock.on(DescribeDBSnapshotsCommand).rejects(serviceError("Throttling", 400));

      await expect(service.getSnapshot(id)).rejects.toMatchObject({ name: "TransientError" });
    });
  });

  describe("listSnapshots", () => {
    const tagged = (snapshotId: string, time: string) => ({
      DBSnapshotIdentifier: snapshotId,
      DBInstanceIdentifier: "orders",
      Status: "available",
      SnapshotCreateTime: new Date(time),
      TagList: [
        { Key: "switchyard:created-by", Value: "switchyard" },
        { Key: "switchyard:reason", Value: "scheduled" },
      ],
    });

    it("asks for manual snapshots of the database, follows every page, and sorts newest first", async () => {
      const older = "switchyard-orders-20260430030000-scheduled";
      const newer = "switchyard-orders-20260501030000-scheduled";
      const newest = "switchyard-orders-20260501120000-pre-change";
      const pages: Record<string, DescribeDBSnapshotsCommandOutput> = {
        first: {
          DBSnapshots: [
            tagged(newer, "2026-05-01T03:00:00Z"),
            { ...tagged(newest, "2026-05-01T12:00:00Z"), SnapshotCreateTime: undefined, Status: "creating" },
          ],
          Marker: "page-2",
          $metadata: {},
        },
        "page-2": {
          DBSnapshots: [
            tagged(older, "2026-04-30T03:00:00Z"),
            { DBSnapshotIdentifier: "by-hand", DBInstanceIdentifier: "orders", Status: "available" },
          ],
          $metadata: {},
        },
      };
      // The paginator reuses one input object for every page, so each request is copied as it is sent.
      const requests: DescribeDBSnapshotsCommandInput[] = [];
      mock.on(DescribeDBSnapshotsCommand).callsFake((input: DescribeDBSnapshotsCommandInput) => {
        requests.push({ ...input });
        return pages[input.Marker ?? "first"];
      });
      mock.on(DescribeDBClusterSnapshotsCommand).resolves({ DBClusterSnapshots: [] });

      const listed = await service.listSnapshots({ database: "orders" });

      expect(listed.map((snapshot) => snapshot.id)).toEqual([newest, newer, older]);
      expect(requests).toEqual([
        expect.objectContaining({
          SnapshotType: "manual",
          DBInstanceIdentifier: "orders",
          Marker: undefined,
        }),
        expect.objectContaining({ SnapshotType: "manual", DBInstanceIdentifier: "orders", Marker: "page-2" }),
      ]);
      expect(mock.commandCalls(DescribeDBClusterSnapshotsCommand).map((call) => call.args[0].input)).toEqual([
        expect.objectContaining({ SnapshotType: "manual", DBClusterIdentifier: "orders" }),
      ]);
    });

    it("asks for every manual snapshot without a database", async () => {
      mock.on(DescribeDBSnapshotsCommand).resolves({ DBSnapshots: [] });
      mock.on(DescribeDBClusterSnapshotsCommand).resolves({});

      expect(await service.listSnapshots()).toEqual([]);
      expect(mock.commandCalls(DescribeDBSnapshotsCommand)[0]?.args[0].input).not.toHaveProperty(
        "DBInstanceIdentifier",
      );
    });

    it("turns throttling of a page into a TransientError", async () => {
      mock.on(DescribeDBSnapshotsCommand).rejects(serviceError("ThrottlingException", 400));

      await expect(service.listSnapshots()).rejects.toMatchObject({ name: "TransientError" });
    });
  });
});

describe("rdsSnapshotStatus", () => {
  it.each([
    ["creating", "creating"],
    ["available", "available"],
    ["failed", "failed"],
    ["deleting", "deleting"],
    ["copying", "creating"],
    ["pending", "creating"],
    ["backing-up", "creating"],
    [undefined, "creating"],
    ["error", "failed"],
    ["incompatible-restore", "failed"],
    ["incompatible-parameters", "failed"],
  ])("maps RDS's %s to %s", (status, expected) => {
    expect(rdsSnapshotStatus(status)).toBe(expected);
  });
});
