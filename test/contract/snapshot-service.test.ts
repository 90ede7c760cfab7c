// Runs the SnapshotService contract against the local adapter (real PostgreSQL and pg_dump) and against RDS (a fake).

import { randomBytes } from "node:crypto";
import { mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import {
  CopyDBClusterSnapshotCommand,
  type CopyDBClusterSnapshotCommandInput,
  CopyDBSnapshotCommand,
  type CopyDBSnapshotCommandInput,
  CreateDBClusterSnapshotCommand,
  type CreateDBClusterSnapshotCommandInput,
  CreateDBSnapshotCommand,
  type CreateDBSnapshotCommandInput,
  type DBCluster,
  DBClusterNotFoundFault,
  type DBClusterSnapshot,
  DBClusterSnapshotAlreadyExistsFault,
  DBClusterSnapshotNotFoundFault,
  type DBInstance,
  DBInstanceAlreadyExistsFault,
  DBInstanceNotFoundFault,
  type DBSnapshot,
  DBSnapshotAlreadyExistsFault,
  DBSnapshotNotFoundFault,
  DeleteDBClusterSnapshotCommand,
  type DeleteDBClusterSnapshotCommandInput,
  DeleteDBInstanceCommand,
  type DeleteDBInstanceCommandInput,
  DeleteDBSnapshotCommand,
  type DeleteDBSnapshotCommandInput,
  DescribeDBClusterSnapshotsCommand,
  type DescribeDBClusterSnapshotsCommandInput,
  DescribeDBClustersCommand,
  type DescribeDBClustersCommandInput,
  DescribeDBInstancesCommand,
  type DescribeDBInstancesCommandInput,
  DescribeDBSnapshotsCommand,
  type DescribeDBSnapshotsCommandInput,
  InvalidDBClusterSnapshotStateFault,
  InvalidDBSnapshotStateFault,
  KMSKeyNotAccessibleFault,
  RDSClient,
  RDSServiceException,
  RestoreDBInstanceFromDBSnapshotCommand,
  type RestoreDBInstanceFromDBSnapshotCommandInput,
  type Tag,
} from "@aws-sdk/client-rds";
import { mockClient } from "aws-sdk-client-mock";
import pg from "pg";
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { RdsSnapshotService } from "../../functions/adapters/aws/rds-snapshot-service.ts";
import type { SmokeQueryConnect } from "../../functions/adapters/postgres/smoke-query.ts";
import type { Clock, SecretStore, SecretVersion } from "../../functions/core/ports.ts";
import { LocalSnapshotService } from "../../local/adapters/local-snapshot-service.ts";
import { openDatabase, type SqliteDatabase } from "../../local/db.ts";
import { sampleOrderCount } from "../../local/postgres.ts";
import {
  type SnapshotPostgres,
  snapshotPostgresTimeoutMs,
  startSnapshotPostgres,
} from "../support/snapshot-postgres.ts";
import { type ContractDatabase, describeSnapshotServiceContract } from "./snapshot-service.contract.ts";

const accountId = "123456789012";
const region = "eu-west-1";
const drRegion = "eu-central-1";
/** RDS pages 20 to 100 items; one a page makes every listing in the contract span pages. */
const fakePageSize = 1;
const instanceStorageGiB = 20;
const postgresPort = 5432;
const sourceKmsKey = `arn:aws:kms:${region}:${accountId}:key/1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d`;

/** RDS's rule for snapshot identifiers, written out again here so the fake does not trust the code under test. */
const validIdentifier = (id: unknown): id is string =>
  typeof id === "string" &&
  id.length >= 1 &&
  id.length <= 255 &&
  /^[a-z][a-z0-9-]*$/.test(id) &&
  !id.includes("--") &&
  !id.endsWith("-");
/** And for DB instance identifiers, which are shorter. */
const validInstanceIdentifier = (id: unknown): id is string => validIdentifier(id) && id.length <= 63;

const serviceError = (name: string, message: string): RDSServiceException =>
  new RDSServiceException({ name, $fault: "client", message, $metadata: { httpStatusCode: 400 } });
const invalidParameter = (message: string): RDSServiceException =>
  serviceError("InvalidParameterValue", message);
const invalidCombination = (message: string): RDSServiceException =>
  serviceError("InvalidParameterCombination", message);
const meta = { $metadata: { httpStatusCode: 400 } };

/** A database the fake holds, as the fixture describes it. */
interface FakeDatabase {
  identifier: string;
  kind: "instance" | "cluster";
  tags: Readonly<Record<string, string>>;
  encrypted: boolean;
  /** For an Aurora instance: the cluster it belongs to. */
  clusterId?: string;
  masterUsername: string;
  masterPassword: string;
}

interface StoredSnapshot {
  id: string;
  database: string;
  type: "manual" | "automated";
  startedAt: Date;
  /** When RDS has finished taking (or copying) it. */
  readyAt: Date;
  storageGiB: number;
  encrypted: boolean;
  kmsKeyId?: string;
  tags: Tag[];
  /** The source instance's class and master login, which a restore inherits. */
  instanceClass: string;
  masterUsername: string;
  masterPassword: string;
}

interface StoredInstance {
  id: string;
  engine: string;
  clusterId?: string;
  tags: Tag[];
  encrypted: boolean;
  kmsKeyId?: string;
  instanceClass: string;
  subnetGroup: string;
  securityGroups: string[];
  publiclyAccessible: boolean;
  masterUsername: string;
  masterPassword: string;
  dbName: string;
  readyAt: Date;
}

interface StoredCluster {
  id: string;
  engine: string;
  tags: Tag[];
  encrypted: boolean;
  kmsKeyId?: string;
}

interface FakeRegion {
  name: string;
  client: RDSClient;
  mock: ReturnType<typeof mockClient>;
  instances: Map<string, StoredInstance>;
  clusters: Map<string, StoredCluster>;
  instanceSnapshots: Map<string, StoredSnapshot>;
  clusterSnapshots: Map<string, StoredSnapshot>;
}

const tagsOf = (tags: Readonly<Record<string, string>>): Tag[] =>
  Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));

/**
 * RDS in memory, in every region the code asks for: DB instances and Aurora DB clusters with tags and encryption,
 * each with its own namespace of snapshots. Create, Describe, Delete, Copy and Restore answer as RDS does: a
 * `creating` snapshot (or restored instance) without `SnapshotCreateTime` that turns `available` after `creationMs`,
 * the SDK's fault classes for a missing or taken name and for a snapshot not yet available, `InvalidParameterValue`
 * for an identifier or tag RDS refuses, a cross-region copy that needs the source's ARN and, when encrypted, a KMS key
 * of the target region, unordered results in pages behind a `Marker`. It refuses any parameter it does not model, so
 * it cannot pass a request it did not understand. `connect` is PostgreSQL on the restored instances' endpoints.
 */
const rdsFake = (options: {
  clock: Clock;
  databases: FakeDatabase[];
  creationMs: number;
  orderCount: number;
}) => {
  const regions = new Map<string, FakeRegion>();

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
  const ready = (readyAt: Date): boolean => options.clock.now().getTime() >= readyAt.getTime();
  const progress = (snapshot: StoredSnapshot) =>
    ready(snapshot.readyAt)
      ? { Status: "available", SnapshotCreateTime: new Date(snapshot.startedAt), PercentProgress: 100 }
      : { Status: "creating", PercentProgress: 0 };
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
  const arnRegion = (arn: string): string | undefined => /^arn:aws:rds:([^:]+):/.exec(arn)?.[1];

  const makeRegion = (name: string): FakeRegion => {
    const client = new RDSClient({ region: name, credentials: { accessKeyId: "x", secretAccessKey: "y" } });
    const state: FakeRegion = {
      name,
      client,
      mock: mockClient(client),
      instances: new Map(),
      clusters: new Map(),
      instanceSnapshots: new Map(),
      clusterSnapshots: new Map(),
    };
    const { mock, instances, clusters, instanceSnapshots, clusterSnapshots } = state;
    const snapshotArn = (id: string) => `arn:aws:rds:${name}:${accountId}:snapshot:${id}`;
    const clusterSnapshotArn = (id: string) => `arn:aws:rds:${name}:${accountId}:cluster-snapshot:${id}`;

    const asDbSnapshot = (snapshot: StoredSnapshot): DBSnapshot => ({
      DBSnapshotIdentifier: snapshot.id,
      DBInstanceIdentifier: snapshot.database,
      DBSnapshotArn: snapshotArn(snapshot.id),
      Engine: "postgres",
      SnapshotType: snapshot.type,
      AllocatedStorage: snapshot.storageGiB,
      Encrypted: snapshot.encrypted,
      ...(snapshot.kmsKeyId !== undefined && { KmsKeyId: snapshot.kmsKeyId }),
      ...progress(snapshot),
      TagList: structuredClone(snapshot.tags),
    });
    const asDbClusterSnapshot = (snapshot: StoredSnapshot): DBClusterSnapshot => ({
      DBClusterSnapshotIdentifier: snapshot.id,
      DBClusterIdentifier: snapshot.database,
      DBClusterSnapshotArn: clusterSnapshotArn(snapshot.id),
      Engine: "aurora-postgresql",
      SnapshotType: snapshot.type,
      AllocatedStorage: snapshot.storageGiB,
      StorageEncrypted: snapshot.encrypted,
      ...(snapshot.kmsKeyId !== undefined && { KmsKeyId: snapshot.kmsKeyId }),
      ...progress(snapshot),
      TagList: structuredClone(snapshot.tags),
    });
    const asDbInstance = (instance: StoredInstance): DBInstance => ({
      DBInstanceIdentifier: instance.id,
      DBInstanceArn: `arn:aws:rds:${name}:${accountId}:db:${instance.id}`,
      Engine: instance.engine,
      DBInstanceClass: instance.instanceClass,
      DBInstanceStatus: ready(instance.readyAt) ? "available" : "creating",
      ...(instance.clusterId !== undefined && { DBClusterIdentifier: instance.clusterId }),
      StorageEncrypted: instance.encrypted,
      ...(instance.kmsKeyId !== undefined && { KmsKeyId: instance.kmsKeyId }),
      DBSubnetGroup: { DBSubnetGroupName: instance.subnetGroup },
      VpcSecurityGroups: instance.securityGroups.map((id) => ({ VpcSecurityGroupId: id, Status: "active" })),
      PubliclyAccessible: instance.publiclyAccessible,
      MasterUsername: instance.masterUsername,
      DBName: instance.dbName,
      // RDS gives a new instance its endpoint only once it is created.
      ...(ready(instance.readyAt) && {
        Endpoint: { Address: `${instance.id}.c9akciq32.${name}.rds.amazonaws.com`, Port: postgresPort },
      }),
      TagList: structuredClone(instance.tags),
    });
    const asDbCluster = (cluster: StoredCluster): DBCluster => ({
      DBClusterIdentifier: cluster.id,
      Engine: cluster.engine,
      Status: "available",
      StorageEncrypted: cluster.encrypted,
      ...(cluster.kmsKeyId !== undefined && { KmsKeyId: cluster.kmsKeyId }),
      TagList: structuredClone(cluster.tags),
    });

    /** A snapshot named by identifier here, or by ARN in any region. */
    const sourceSnapshot = (
      reference: string,
      kind: "instance" | "cluster",
    ): { snapshot: StoredSnapshot; from: FakeRegion } | undefined => {
      const from = reference.startsWith("arn:") ? regions.get(arnRegion(reference) ?? "") : state;
      const id = reference.startsWith("arn:") ? (reference.split(":").at(-1) ?? "") : reference;
      const snapshot = (kind === "instance" ? from?.instanceSnapshots : from?.clusterSnapshots)?.get(id);
      return snapshot === undefined || from === undefined ? undefined : { snapshot, from };
    };

    const copy = (
      kind: "instance" | "cluster",
      input: { source?: string; target?: string; kmsKeyId?: string; copyTags?: boolean },
    ): StoredSnapshot => {
      const found = sourceSnapshot(String(input.source), kind);
      if (found === undefined) {
        throw kind === "instance"
          ? new DBSnapshotNotFoundFault({ message: `DBSnapshot ${input.source} not found.`, ...meta })
          : new DBClusterSnapshotNotFoundFault({
              message: `DBClusterSnapshot ${input.source} not found.`,
              ...meta,
            });
      }
      const { snapshot, from } = found;
      if (from !== state && !String(input.source).startsWith("arn:")) {
        throw invalidParameter("A cross-region copy must name its source by ARN");
      }
      if (!ready(snapshot.readyAt)) {
        throw kind === "instance"
          ? new InvalidDBSnapshotStateFault({ message: "Snapshot is not available.", ...meta })
          : new InvalidDBClusterSnapshotStateFault({ message: "Snapshot is not available.", ...meta });
      }
      if (from !== state && snapshot.encrypted && input.kmsKeyId === undefined) {
        throw invalidCombination("KmsKeyId is required to copy an encrypted snapshot to another region");
      }
      if (kind === "cluster" && !snapshot.encrypted && input.kmsKeyId !== undefined) {
        throw invalidCombination("An unencrypted cluster snapshot cannot be encrypted while copying");
      }
      if (input.kmsKeyId?.startsWith("arn:") && !input.kmsKeyId.startsWith(`arn:aws:kms:${name}:`)) {
        throw new KMSKeyNotAccessibleFault({
          message: `KMS key ${input.kmsKeyId} is not in ${name}`,
          ...meta,
        });
      }
      if (!validIdentifier(input.target))
        throw invalidParameter(`${String(input.target)} is not a valid identifier`);
      const snapshots = kind === "instance" ? instanceSnapshots : clusterSnapshots;
      if (snapshots.has(input.target)) {
        throw kind === "instance"
          ? new DBSnapshotAlreadyExistsFault({ message: `Snapshot ${input.target} already exists.`, ...meta })
          : new DBClusterSnapshotAlreadyExistsFault({
              message: `Snapshot ${input.target} already exists.`,
              ...meta,
            });
      }
      const now = options.clock.now();
      const copied: StoredSnapshot = {
        ...structuredClone(snapshot),
        id: input.target,
        type: "manual",
        startedAt: now,
        readyAt: new Date(now.getTime() + options.creationMs),
        encrypted: snapshot.encrypted || input.kmsKeyId !== undefined,
        ...((input.kmsKeyId ?? snapshot.kmsKeyId) !== undefined && {
          kmsKeyId: input.kmsKeyId ?? snapshot.kmsKeyId,
        }),
        tags: input.copyTags === true ? structuredClone(snapshot.tags) : [],
      };
      snapshots.set(input.target, copied);
      return copied;
    };

    const store = (
      snapshots: Map<string, StoredSnapshot>,
      id: unknown,
      database: FakeDatabase,
      storageGiB: number,
      tags: Tag[] | undefined,
      alreadyExists: () => Error,
    ): StoredSnapshot => {
      if (!validIdentifier(id)) throw invalidParameter(`${String(id)} is not a valid identifier`);
      const checked = checkTags(tags);
      if (snapshots.has(id)) throw alreadyExists();
      const now = options.clock.now();
      const snapshot: StoredSnapshot = {
        id,
        database: database.identifier,
        type: "manual",
        startedAt: now,
        readyAt: new Date(now.getTime() + options.creationMs),
        storageGiB,
        encrypted: database.encrypted,
        ...(database.encrypted && { kmsKeyId: sourceKmsKey }),
        tags: checked,
        instanceClass: instances.get(database.identifier)?.instanceClass ?? "db.r6g.large",
        masterUsername: database.masterUsername,
        masterPassword: database.masterPassword,
      };
      snapshots.set(id, snapshot);
      return snapshot;
    };

    mock.on(CreateDBSnapshotCommand).callsFake((input: CreateDBSnapshotCommandInput) => {
      checkKeys("CreateDBSnapshot", input, ["DBSnapshotIdentifier", "DBInstanceIdentifier", "Tags"]);
      const database = options.databases.find(
        (d) =>
          d.kind === "instance" && d.identifier === input.DBInstanceIdentifier && instances.has(d.identifier),
      );
      if (database === undefined) {
        throw new DBInstanceNotFoundFault({
          message: `DBInstance ${input.DBInstanceIdentifier} not found.`,
          ...meta,
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
            ...meta,
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
      const database = options.databases.find(
        (d) =>
          d.kind === "cluster" && d.identifier === input.DBClusterIdentifier && clusters.has(d.identifier),
      );
      if (database === undefined) {
        throw new DBClusterNotFoundFault({
          message: `DBCluster ${input.DBClusterIdentifier} not found.`,
          ...meta,
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
            ...meta,
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
            ...meta,
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
            ...meta,
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

    mock.on(DescribeDBInstancesCommand).callsFake((input: DescribeDBInstancesCommandInput) => {
      checkKeys("DescribeDBInstances", input, ["DBInstanceIdentifier", "MaxRecords", "Marker"]);
      if (input.DBInstanceIdentifier !== undefined) {
        const instance = instances.get(input.DBInstanceIdentifier);
        if (instance === undefined) {
          throw new DBInstanceNotFoundFault({
            message: `DBInstance ${input.DBInstanceIdentifier} not found.`,
            ...meta,
          });
        }
        return { DBInstances: [asDbInstance(instance)] };
      }
      const { items, Marker } = page([...instances.values()], input);
      return { DBInstances: items.map(asDbInstance), ...(Marker !== undefined && { Marker }) };
    });

    mock.on(DescribeDBClustersCommand).callsFake((input: DescribeDBClustersCommandInput) => {
      checkKeys("DescribeDBClusters", input, ["DBClusterIdentifier", "MaxRecords", "Marker"]);
      const matching = [...clusters.values()].filter(
        (cluster) => input.DBClusterIdentifier === undefined || cluster.id === input.DBClusterIdentifier,
      );
      const { items, Marker } = page(matching, input);
      return { DBClusters: items.map(asDbCluster), ...(Marker !== undefined && { Marker }) };
    });

    mock.on(DeleteDBSnapshotCommand).callsFake((input: DeleteDBSnapshotCommandInput) => {
      checkKeys("DeleteDBSnapshot", input, ["DBSnapshotIdentifier"]);
      const snapshot = instanceSnapshots.get(String(input.DBSnapshotIdentifier));
      if (snapshot === undefined) {
        throw new DBSnapshotNotFoundFault({
          message: `DBSnapshot ${input.DBSnapshotIdentifier} not found.`,
          ...meta,
        });
      }
      if (!ready(snapshot.readyAt) || snapshot.type !== "manual") {
        throw new InvalidDBSnapshotStateFault({
          message: "The snapshot cannot be deleted in its state.",
          ...meta,
        });
      }
      instanceSnapshots.delete(snapshot.id);
      return { DBSnapshot: { ...asDbSnapshot(snapshot), Status: "deleted" } };
    });

    mock.on(DeleteDBClusterSnapshotCommand).callsFake((input: DeleteDBClusterSnapshotCommandInput) => {
      checkKeys("DeleteDBClusterSnapshot", input, ["DBClusterSnapshotIdentifier"]);
      const snapshot = clusterSnapshots.get(String(input.DBClusterSnapshotIdentifier));
      if (snapshot === undefined) {
        throw new DBClusterSnapshotNotFoundFault({
          message: `DBClusterSnapshot ${input.DBClusterSnapshotIdentifier} not found.`,
          ...meta,
        });
      }
      if (!ready(snapshot.readyAt) || snapshot.type !== "manual") {
        throw new InvalidDBClusterSnapshotStateFault({
          message: "The snapshot cannot be deleted in its state.",
          ...meta,
        });
      }
      clusterSnapshots.delete(snapshot.id);
      return { DBClusterSnapshot: { ...asDbClusterSnapshot(snapshot), Status: "deleted" } };
    });

    mock.on(CopyDBSnapshotCommand).callsFake((input: CopyDBSnapshotCommandInput) => {
      checkKeys("CopyDBSnapshot", input, [
        "SourceDBSnapshotIdentifier",
        "TargetDBSnapshotIdentifier",
        "KmsKeyId",
        "CopyTags",
      ]);
      const copied = copy("instance", {
        source: input.SourceDBSnapshotIdentifier,
        target: input.TargetDBSnapshotIdentifier,
        kmsKeyId: input.KmsKeyId,
        copyTags: input.CopyTags,
      });
      // A copy reports its own status, not yet its tags (RDS adds them as it copies).
      return { DBSnapshot: { ...asDbSnapshot(copied), TagList: [] } };
    });

    mock.on(CopyDBClusterSnapshotCommand).callsFake((input: CopyDBClusterSnapshotCommandInput) => {
      checkKeys("CopyDBClusterSnapshot", input, [
        "SourceDBClusterSnapshotIdentifier",
        "TargetDBClusterSnapshotIdentifier",
        "KmsKeyId",
        "CopyTags",
      ]);
      const copied = copy("cluster", {
        source: input.SourceDBClusterSnapshotIdentifier,
        target: input.TargetDBClusterSnapshotIdentifier,
        kmsKeyId: input.KmsKeyId,
        copyTags: input.CopyTags,
      });
      return { DBClusterSnapshot: { ...asDbClusterSnapshot(copied), TagList: [] } };
    });

    mock
      .on(RestoreDBInstanceFromDBSnapshotCommand)
      .callsFake((input: RestoreDBInstanceFromDBSnapshotCommandInput) => {
        checkKeys("RestoreDBInstanceFromDBSnapshot", input, [
          "DBInstanceIdentifier",
          "DBSnapshotIdentifier",
          "DBInstanceClass",
          "DBSubnetGroupName",
          "VpcSecurityGroupIds",
          "PubliclyAccessible",
          "MultiAZ",
          "DeletionProtection",
          "BackupRetentionPeriod",
          "CopyTagsToSnapshot",
          "Tags",
        ]);
        if (!validInstanceIdentifier(input.DBInstanceIdentifier)) {
          throw invalidParameter(
            `${String(input.DBInstanceIdentifier)} is not a valid DB instance identifier`,
          );
        }
        const tags = checkTags(input.Tags);
        if (instances.has(input.DBInstanceIdentifier)) {
          throw new DBInstanceAlreadyExistsFault({ message: "DB instance already exists", ...meta });
        }
        const found = sourceSnapshot(String(input.DBSnapshotIdentifier), "instance");
        if (found === undefined || found.from !== state) {
          throw new DBSnapshotNotFoundFault({
            message: `DBSnapshot ${input.DBSnapshotIdentifier} not found.`,
            ...meta,
          });
        }
        const { snapshot } = found;
        if (!ready(snapshot.readyAt)) {
          throw new InvalidDBSnapshotStateFault({ message: "Snapshot is not available.", ...meta });
        }
        const source = instances.get(snapshot.database);
        const now = options.clock.now();
        const restored: StoredInstance = {
          id: input.DBInstanceIdentifier,
          engine: "postgres",
          tags,
          encrypted: snapshot.encrypted,
          ...(snapshot.kmsKeyId !== undefined && { kmsKeyId: snapshot.kmsKeyId }),
          instanceClass: input.DBInstanceClass ?? snapshot.instanceClass,
          subnetGroup: input.DBSubnetGroupName ?? "default",
          securityGroups: input.VpcSecurityGroupIds ?? ["sg-default"],
          // RDS's default for a restore into a VPC: public when the subnet group allows it.
          publiclyAccessible: input.PubliclyAccessible ?? true,
          masterUsername: snapshot.masterUsername,
          masterPassword: snapshot.masterPassword,
          dbName: source?.dbName ?? snapshot.database,
          readyAt: new Date(now.getTime() + options.creationMs),
        };
        instances.set(restored.id, restored);
        return { DBInstance: asDbInstance(restored) };
      });

    mock.on(DeleteDBInstanceCommand).callsFake((input: DeleteDBInstanceCommandInput) => {
      checkKeys("DeleteDBInstance", input, [
        "DBInstanceIdentifier",
        "SkipFinalSnapshot",
        "FinalDBSnapshotIdentifier",
        "DeleteAutomatedBackups",
      ]);
      const instance = instances.get(String(input.DBInstanceIdentifier));
      if (instance === undefined) {
        throw new DBInstanceNotFoundFault({
          message: `DBInstance ${input.DBInstanceIdentifier} not found.`,
          ...meta,
        });
      }
      if (input.SkipFinalSnapshot !== true && input.FinalDBSnapshotIdentifier === undefined) {
        throw invalidCombination("FinalDBSnapshotIdentifier is required unless SkipFinalSnapshot is set");
      }
      instances.delete(instance.id);
      return { DBInstance: { ...asDbInstance(instance), DBInstanceStatus: "deleting" } };
    });

    return state;
  };

  const regionNamed = (name: string): FakeRegion => {
    let state = regions.get(name);
    if (state === undefined) {
      state = makeRegion(name);
      regions.set(name, state);
    }
    return state;
  };

  const home = regionNamed(region);
  for (const database of options.databases) {
    const tags = tagsOf(database.tags);
    const encryption = {
      encrypted: database.encrypted,
      ...(database.encrypted && { kmsKeyId: sourceKmsKey }),
    };
    if (database.kind === "cluster") {
      home.clusters.set(database.identifier, {
        id: database.identifier,
        engine: "aurora-postgresql",
        tags,
        ...encryption,
      });
      continue;
    }
    home.instances.set(database.identifier, {
      id: database.identifier,
      engine: database.clusterId === undefined ? "postgres" : "aurora-postgresql",
      ...(database.clusterId !== undefined && { clusterId: database.clusterId }),
      tags,
      ...encryption,
      instanceClass: "db.t4g.medium",
      subnetGroup: `${database.identifier}-private`,
      securityGroups: [`sg-${database.identifier}`],
      publiclyAccessible: false,
      masterUsername: database.masterUsername,
      masterPassword: database.masterPassword,
      dbName: database.identifier,
      readyAt: new Date(0),
    });
  }

  /** PostgreSQL on every available instance: logins as its master user, and the sample `orders` table. */
  const connect: SmokeQueryConnect = async (login) => {
    const instance = [...regions.values()]
      .flatMap((state) => [...state.instances.values()].map((i) => ({ i, region: state.name })))
      .find(({ i, region: r }) => login.host === `${i.id}.c9akciq32.${r}.rds.amazonaws.com`)?.i;
    const fail = (code: string, message: string) => Object.assign(new Error(message), { code });
    if (instance === undefined || !ready(instance.readyAt) || login.port !== postgresPort) {
      throw fail("ECONNREFUSED", `connect ECONNREFUSED ${login.host}:${login.port}`);
    }
    if (login.user !== instance.masterUsername || login.password !== instance.masterPassword) {
      throw fail("28P01", `password authentication failed for user "${login.user}"`);
    }
    if (login.database !== instance.dbName)
      throw fail("3D000", `database "${login.database}" does not exist`);
    return {
      query: async (text) => {
        if (/^select count\(\*\) from orders$/i.test(text.trim()))
          return { rows: [[String(options.orderCount)]] };
        throw fail("42P01", "the PostgreSQL fake answers `select count(*) from orders` only");
      },
      end: async () => undefined,
    };
  };

  return {
    client: home.client,
    regions,
    clientForRegion: (name: string) => regionNamed(name).client,
    connect,
    /** A snapshot taken by someone else, long available: a manual one by hand and the night's automated backup. */
    addForeignSnapshot: async (identifier: string, id: string) => {
      const database = options.databases.find((d) => d.identifier === identifier);
      if (database === undefined) throw new Error(`the RDS fake has no database ${identifier}`);
      const snapshots = database.kind === "cluster" ? home.clusterSnapshots : home.instanceSnapshots;
      const startedAt = options.clock.now();
      const foreign = {
        database: identifier,
        startedAt,
        readyAt: startedAt,
        storageGiB: instanceStorageGiB,
        encrypted: database.encrypted,
        instanceClass: "db.t4g.medium",
        masterUsername: database.masterUsername,
        masterPassword: database.masterPassword,
      };
      snapshots.set(id, { ...foreign, id, type: "manual", tags: [{ Key: "owner", Value: "dba" }] });
      const automated = `rds:${identifier}-2026-05-01-03-00`;
      snapshots.set(automated, { ...foreign, id: automated, type: "automated", tags: [] });
    },
    restore: () => {
      for (const state of regions.values()) state.mock.restore();
    },
  };
};

/** The RDS side of the contract's databases: orders an instance, billing an encrypted Aurora cluster with a member. */
const fakeDatabases = (databases: readonly ContractDatabase[]): FakeDatabase[] => [
  ...databases.map((database) => ({
    identifier: database.identifier,
    kind: database.identifier === "billing" ? ("cluster" as const) : ("instance" as const),
    tags: database.tags,
    encrypted: database.identifier === "billing",
    masterUsername: `${database.identifier}_admin`,
    masterPassword: `master-password-of-${database.identifier}`,
  })),
  // An Aurora cluster's instance carries the cluster's tags but is never snapshotted (nor listed) on its own.
  {
    identifier: "billing-instance-1",
    kind: "instance",
    clusterId: "billing",
    tags: { "switchyard:backup": "true", team: "finance" },
    encrypted: true,
    masterUsername: "billing_admin",
    masterPassword: "master-password-of-billing",
  },
];

/** Secrets Manager holding each fake database's master login. */
const masterSecrets = (databases: FakeDatabase[]): Pick<SecretStore, "getSecretValue"> => ({
  getSecretValue: async (name) => {
    const database = databases.find((d) => `rds/${d.identifier}/master` === name);
    if (database === undefined) throw new Error(`ResourceNotFoundException: ${name}`);
    const version: SecretVersion = {
      name,
      arn: `arn:aws:secretsmanager:${region}:${accountId}:secret:${name}-AbCdEf`,
      versionId: "v1",
      versionStages: ["AWSCURRENT"],
      createdDate: new Date(0),
      secretString: JSON.stringify({
        username: database.masterUsername,
        password: database.masterPassword,
        dbname: database.identifier,
      }),
    };
    return version;
  },
});

const rdsService = (
  setup: { clock: Clock; databases: readonly ContractDatabase[]; creationMs: number; orderCount: number },
  drill: { instanceClass?: string } = {},
) => {
  const databases = fakeDatabases(setup.databases);
  const fake = rdsFake({
    clock: setup.clock,
    databases,
    creationMs: setup.creationMs,
    orderCount: setup.orderCount,
  });
  const service = new RdsSnapshotService({
    client: fake.client,
    clock: setup.clock,
    clientForRegion: fake.clientForRegion,
    drill: {
      ...drill,
      masterSecrets: Object.fromEntries(databases.map((d) => [d.identifier, `rds/${d.identifier}/master`])),
    },
    secrets: masterSecrets(databases),
    connect: fake.connect,
  });
  return { service, fake };
};

/** A row as another tool would record a dump in the local table: no Switchyard tags. */
const addLocalForeignSnapshot = (db: SqliteDatabase, database: string, id: string, at: Date): void => {
  db.prepare(
    `INSERT INTO database_snapshots (id, database, status, reason, created_at, tags)
     VALUES (?, ?, 'available', 'manual', ?, '{"owner":"dba"}')`,
  ).run(id, database, at.toISOString());
};

/** One embedded PostgreSQL for the whole file, started when the first local test needs it. */
let server: Promise<SnapshotPostgres> | undefined;
let fixtures = 0;
const localServer = (databases: readonly ContractDatabase[]): Promise<SnapshotPostgres> => {
  server ??= startSnapshotPostgres(databases.map((database) => database.identifier));
  return server;
};
afterAll(async () => {
  await (await server)?.stop();
}, snapshotPostgresTimeoutMs);

/** Drops what a failed test may have left, so the next one starts from the databases alone. */
const dropDrillDatabases = async (postgres: SnapshotPostgres): Promise<void> => {
  const { host, port, username, password, dbname } = postgres.postgres.superuser;
  const client = new pg.Client({ host, port, user: username, password, database: dbname });
  await client.connect();
  try {
    const { rows } = await client.query<{ datname: string }>(
      "SELECT datname FROM pg_database WHERE datname LIKE 'switchyard\\_drill\\_%'",
    );
    for (const { datname } of rows)
      await client.query(`DROP DATABASE ${pg.escapeIdentifier(datname)} WITH (FORCE)`);
  } finally {
    await client.end();
  }
};

describeSnapshotServiceContract(
  "LocalSnapshotService (local: the embedded PostgreSQL and pg_dump)",
  async ({ clock, databases, creationMs, orderCount }) => {
    const postgres = await localServer(databases);
    expect(orderCount).toBe(sampleOrderCount);
    const db = openDatabase(":memory:");
    fixtures += 1;
    const dir = join(postgres.home, `contract-${fixtures}`);
    const service = new LocalSnapshotService({
      db,
      clock,
      dir,
      superuser: postgres.postgres.superuser,
      databases: databases.map((database) => ({
        instance: database.identifier,
        name: database.identifier,
        tags: database.tags,
      })),
      availableAfterMs: creationMs,
    });
    return {
      service,
      addForeignSnapshot: async (database, id) => addLocalForeignSnapshot(db, database, id, clock.now()),
      settle: () => service.settled(),
      crossRegionCopy: false,
      cleanup: async () => {
        await service.close();
        db.close();
        rmSync(dir, { recursive: true, force: true });
        await dropDrillDatabases(postgres);
      },
    };
  },
);

describeSnapshotServiceContract(
  "RdsSnapshotService (AWS SDK against an RDS fake: instances, an encrypted Aurora cluster, a DR region)",
  async (setup) => {
    const { service, fake } = rdsService(setup);
    return {
      service,
      addForeignSnapshot: fake.addForeignSnapshot,
      crossRegionCopy: true,
      encryptedDatabase: "billing",
      cleanup: async () => {
        fake.restore();
      },
    };
  },
);

describe("RdsSnapshotService's requests to RDS", () => {
  const creationMs = 60_000;
  let now: Date;
  const clock: Clock = { now: () => now };
  const databases: ContractDatabase[] = [
    { identifier: "orders", tags: { "switchyard:backup": "true" } },
    { identifier: "billing", tags: { "switchyard:backup": "true" } },
  ];
  const setup = () => rdsService({ clock, databases, creationMs, orderCount: 25 });
  const taken = async (service: RdsSnapshotService, database = "orders") => {
    const snapshot = await service.createSnapshot({ database, reason: "scheduled" });
    now = new Date(now.getTime() + creationMs);
    return snapshot;
  };

  beforeEach(() => {
    now = new Date("2026-05-01T12:00:00.000Z");
  });

  it("copies in the target region from the source's ARN, with its tags and the target region's key", async () => {
    const { service, fake } = setup();
    const { id } = await taken(service, "billing");
    const key = `arn:aws:kms:${drRegion}:${accountId}:key/00000000-1111-2222-3333-444444444444`;

    await service.copySnapshot(id, { region: drRegion, kmsKeyArn: key });

    expect(fake.regions.get(region)?.mock.commandCalls(CopyDBClusterSnapshotCommand)).toHaveLength(0);
    expect(
      fake.regions
        .get(drRegion)
        ?.mock.commandCalls(CopyDBClusterSnapshotCommand)
        .map((call) => call.args[0].input),
    ).toEqual([
      {
        SourceDBClusterSnapshotIdentifier: `arn:aws:rds:${region}:${accountId}:cluster-snapshot:${id}`,
        TargetDBClusterSnapshotIdentifier: id,
        CopyTags: true,
        KmsKeyId: key,
      },
    ]);
  });

  it.each([
    [
      "a key of another region",
      `arn:aws:kms:${region}:${accountId}:key/00000000-1111-2222-3333-444444444444`,
      /eu-west-1/,
    ],
    ["the source's own region as target", undefined, /in eu-west-1 already/],
  ])("refuses a copy with %s before asking RDS", async (_case, kmsKeyArn, message) => {
    const { service, fake } = setup();
    const { id } = await taken(service, "billing");
    const target = kmsKeyArn === undefined ? region : drRegion;

    await expect(service.copySnapshot(id, { region: target, kmsKeyArn })).rejects.toMatchObject({
      name: "ValidationError",
      message: expect.stringMatching(message),
    });
    expect(fake.regions.get(drRegion)?.mock.commandCalls(CopyDBClusterSnapshotCommand) ?? []).toHaveLength(0);
  });

  it("restores a drill into a private, single-AZ, untracked instance in the source's network, of the source's class", async () => {
    const { service, fake } = setup();
    const { id } = await taken(service);

    await service.restoreForDrill(id, "switchyard-drill-orders-20260501120100");

    expect(
      fake.regions
        .get(region)
        ?.mock.commandCalls(RestoreDBInstanceFromDBSnapshotCommand)
        .map((call) => call.args[0].input),
    ).toEqual([
      {
        DBInstanceIdentifier: "switchyard-drill-orders-20260501120100",
        DBSnapshotIdentifier: id,
        DBSubnetGroupName: "orders-private",
        VpcSecurityGroupIds: ["sg-orders"],
        PubliclyAccessible: false,
        MultiAZ: false,
        DeletionProtection: false,
        BackupRetentionPeriod: 0,
        CopyTagsToSnapshot: false,
        Tags: [
          { Key: "switchyard:created-by", Value: "switchyard" },
          { Key: "switchyard:purpose", Value: "restore-drill" },
          { Key: "switchyard:drill-snapshot", Value: id },
          { Key: "switchyard:drill-source", Value: "orders" },
        ],
      },
    ]);
    expect(
      fake.regions.get(region)?.instances.get("switchyard-drill-orders-20260501120100")?.instanceClass,
    ).toBe("db.t4g.medium");
  });

  it("restores a drill into the instance class an option names", async () => {
    const databases = fakeDatabases([{ identifier: "orders", tags: {} }]);
    const fake = rdsFake({ clock, databases, creationMs, orderCount: 25 });
    const service = new RdsSnapshotService({
      client: fake.client,
      clock,
      drill: { instanceClass: "db.t4g.micro" },
    });
    const { id } = await taken(service);

    await service.restoreForDrill(id, "switchyard-drill-orders-20260501120100");

    expect(
      fake.regions.get(region)?.instances.get("switchyard-drill-orders-20260501120100")?.instanceClass,
    ).toBe("db.t4g.micro");
    fake.restore();
  });

  it("deletes a drill target without a final snapshot", async () => {
    const { service, fake } = setup();
    const { id } = await taken(service);
    const { target } = await service.restoreForDrill(id, "switchyard-drill-orders-20260501120100");

    await service.deleteDrillTarget(target);

    expect(
      fake.regions
        .get(region)
        ?.mock.commandCalls(DeleteDBInstanceCommand)
        .map((call) => call.args[0].input),
    ).toEqual([{ DBInstanceIdentifier: target, SkipFinalSnapshot: true, DeleteAutomatedBackups: true }]);
  });

  it("never deletes nor queries an instance with a drill's name that is not tagged as a drill", async () => {
    const { service, fake } = setup();
    const home = fake.regions.get(region);
    const orders = home?.instances.get("orders");
    if (home === undefined || orders === undefined) throw new Error("the fake has no orders instance");
    home.instances.set("switchyard-drill-by-hand", { ...orders, id: "switchyard-drill-by-hand", tags: [] });

    await expect(service.deleteDrillTarget("switchyard-drill-by-hand")).rejects.toMatchObject({
      name: "ValidationError",
    });
    await expect(
      service.runSmokeQuery("switchyard-drill-by-hand", "select count(*) from orders"),
    ).rejects.toMatchObject({ name: "ValidationError" });
    expect(home.mock.commandCalls(DeleteDBInstanceCommand)).toHaveLength(0);
  });

  it("never lists a drill target as a database to snapshot, whatever tags it carries", async () => {
    const { service, fake } = setup();
    const { id } = await taken(service);
    await service.restoreForDrill(id, "switchyard-drill-orders-20260501120100");
    const restored = fake.regions.get(region)?.instances.get("switchyard-drill-orders-20260501120100");
    restored?.tags.push({ Key: "switchyard:backup", Value: "true" });

    expect(
      (await service.listDatabases({ tagKey: "switchyard:backup", tagValue: "true" })).map(
        (d) => d.identifier,
      ),
    ).toEqual(["billing", "orders"]);
  });

  it("refuses a drill of an Aurora cluster snapshot plainly", async () => {
    const { service } = setup();
    const { id } = await taken(service, "billing");

    await expect(
      service.restoreForDrill(id, "switchyard-drill-billing-20260501120100"),
    ).rejects.toMatchObject({
      name: "ValidationError",
      message: expect.stringMatching(/Aurora cluster snapshot/),
    });
  });

  it("needs a master secret for the smoke query, and never puts a password in its errors", async () => {
    const databases = fakeDatabases([{ identifier: "orders", tags: {} }]);
    const fake = rdsFake({ clock, databases, creationMs, orderCount: 25 });
    const password = "the-master-password-3f9a";
    const withoutSecret = new RdsSnapshotService({ client: fake.client, clock, connect: fake.connect });
    const leaky = new RdsSnapshotService({
      client: fake.client,
      clock,
      drill: { masterSecrets: { orders: "rds/orders/master" } },
      secrets: {
        getSecretValue: async () => ({
          ...(await masterSecrets(databases).getSecretValue("rds/orders/master")),
          secretString: JSON.stringify({ username: "orders_admin", password }),
        }),
      },
      connect: async () => {
        throw Object.assign(new Error(`login with ${password} refused`), { code: "28P01" });
      },
    });
    const { id } = await taken(withoutSecret);
    const { target } = await withoutSecret.restoreForDrill(id, "switchyard-drill-orders-20260501120100");
    now = new Date(now.getTime() + creationMs);

    await expect(withoutSecret.runSmokeQuery(target, "select count(*) from orders")).rejects.toMatchObject({
      name: "ValidationError",
      message: expect.stringMatching(/no master secret is configured for database orders/),
    });
    const refused = await leaky
      .runSmokeQuery(target, "select count(*) from orders")
      .catch((error: Error) => error);
    expect(refused).toMatchObject({ name: "ValidationError", message: expect.stringMatching(/28P01/) });
    expect(
      JSON.stringify({ message: (refused as Error).message, cause: (refused as Error).cause }),
    ).not.toContain(password);
    fake.restore();
  });
});

describe("LocalSnapshotService across restarts", () => {
  const databases = [{ instance: "orders", name: "orders", tags: {} }];

  it("reports the same status and snapshots after reopening its file, whatever delay it is restarted with", async () => {
    const postgres = await localServer([{ identifier: "orders", tags: {} }]);
    const dir = join(postgres.home, `restarts-${randomBytes(4).toString("hex")}`);
    mkdirSync(dir);
    let now = new Date("2026-05-01T12:00:00.000Z");
    const clock = { now: () => now };
    const file = join(dir, "state.db");
    const superuser = postgres.postgres.superuser;
    try {
      const before = openDatabase(file);
      const first = new LocalSnapshotService({
        db: before,
        clock,
        dir,
        superuser,
        databases,
        availableAfterMs: 60_000,
      });
      const { id } = await first.createSnapshot({ database: "orders", reason: "manual" });
      await first.settled();
      await first.close();
      before.close();

      const after = openDatabase(file);
      const second = new LocalSnapshotService({
        db: after,
        clock,
        dir,
        superuser,
        databases,
        availableAfterMs: 0,
      });
      expect(await second.getSnapshot(id)).toMatchObject({ status: "creating" });
      now = new Date("2026-05-01T12:01:00.000Z");
      expect(await second.listSnapshots()).toMatchObject([{ id, status: "available" }]);
      await second.close();
      after.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("opens a file that already holds the table", async () => {
    const postgres = await localServer([{ identifier: "orders", tags: {} }]);
    const db = openDatabase(":memory:");
    const clock = { now: () => new Date("2026-05-01T12:00:00.000Z") };
    const options = { db, clock, dir: postgres.home, superuser: postgres.postgres.superuser, databases: [] };
    new LocalSnapshotService(options);

    expect(() => new LocalSnapshotService(options)).not.toThrow();
    db.close();
  });
});
