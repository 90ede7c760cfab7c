// The production SnapshotService: manual RDS DB snapshots, or DB cluster snapshots for Aurora, tagged as Switchyard's.

import {
  CopyDBClusterSnapshotCommand,
  CopyDBSnapshotCommand,
  CreateDBClusterSnapshotCommand,
  CreateDBSnapshotCommand,
  type DBCluster,
  type DBClusterSnapshot,
  type DBInstance,
  type DBSnapshot,
  DeleteDBClusterSnapshotCommand,
  DeleteDBInstanceCommand,
  DeleteDBSnapshotCommand,
  DescribeDBClusterSnapshotsCommand,
  DescribeDBInstancesCommand,
  DescribeDBSnapshotsCommand,
  paginateDescribeDBClusterSnapshots,
  paginateDescribeDBClusters,
  paginateDescribeDBInstances,
  paginateDescribeDBSnapshots,
  RDSClient,
  RestoreDBInstanceFromDBSnapshotCommand,
  type Tag,
} from "@aws-sdk/client-rds";
import { assertDrillScratchName, isDrillScratchName } from "../../core/drill-names.ts";
import { ConflictError, NotFoundError, TransientError, ValidationError } from "../../core/errors.ts";
import type {
  Clock,
  CopiedSnapshot,
  DatabaseTarget,
  DrillStatus,
  ManualSnapshot,
  SecretStore,
  Snapshot,
  SnapshotService,
  SnapshotStatus,
} from "../../core/ports.ts";
import {
  isSnapshotIdentifier,
  readSnapshotTags,
  snapshotCreator,
  snapshotName,
  snapshotNameTime,
  snapshotTagKeys,
  snapshotTags,
} from "../../core/snapshot-names.ts";
import { pgSmokeQueryConnect, runSmokeQuery, type SmokeQueryConnect } from "../postgres/smoke-query.ts";
import { isTransientSdkError, sdkErrorName } from "./sdk-errors.ts";

const bytesPerGibibyte = 1024 ** 3;
/** RDS's default quota of manual snapshots per region, for DB instances and for DB clusters alike. */
const manualSnapshotQuotaPerRegion = 100;

/** Answers a later attempt may well not get: throttling once the SDK's own retries are spent, and server errors. */
const transientErrorNames = new Set([
  "Throttling",
  "ThrottlingException",
  "RequestLimitExceeded",
  "TooManyRequestsException",
  // The instance or cluster is busy (an automated backup, a modification, a reboot) and takes snapshots again after.
  "InvalidDBInstanceStateFault",
  "InvalidDBClusterStateFault",
  // The snapshot is still being created: it can be copied, restored or deleted once it is available.
  "InvalidDBSnapshotStateFault",
  "InvalidDBClusterSnapshotStateFault",
]);
const quotaErrorNames = new Set(["SnapshotQuotaExceededFault"]);
const alreadyExistsErrorNames = new Set([
  "DBSnapshotAlreadyExistsFault",
  "DBClusterSnapshotAlreadyExistsFault",
]);
const isTransient = (error: unknown): boolean => isTransientSdkError(error, transientErrorNames);
const errorName = sdkErrorName;

/** The error callers and workflows should see for an RDS failure; faults the adapter reads itself pass unchanged. */
const translated = (error: unknown, operation: string, subject: string): unknown => {
  if (quotaErrorNames.has(errorName(error))) {
    return new ValidationError(
      `RDS refused a snapshot of ${subject}: the region holds its quota of manual snapshots ` +
        `(${manualSnapshotQuotaPerRegion} per region by default); delete old ones or ask AWS for a higher quota`,
      { cause: error },
    );
  }
  if (errorName(error) === "KMSKeyNotAccessibleFault") {
    return new ValidationError(
      `RDS cannot use the KMS key for ${subject}: it does not exist in that region, is disabled, or RDS may not use it`,
      { cause: error },
    );
  }
  if (isTransient(error)) {
    return new TransientError(`RDS ${operation} for ${subject} failed (${errorName(error) || "no answer"})`, {
      cause: error,
    });
  }
  return error;
};

/**
 * Switchyard's status for an RDS snapshot status. RDS has more states than the port: the transitional ones (copying,
 * pending, …) are still on their way to `available`, and the `incompatible-*` ones can never be restored.
 *
 * @example
 * rdsSnapshotStatus("copying"); // "creating"
 * rdsSnapshotStatus("incompatible-parameters"); // "failed"
 */
export const rdsSnapshotStatus = (status: string | undefined): SnapshotStatus => {
  switch (status) {
    case "creating":
    case "available":
    case "failed":
    case "deleting":
      return status;
  }
  if (status === "error" || status?.startsWith("incompatible-")) return "failed";
  return "creating";
};

/** What the adapter reads of a DB snapshot and of a DB cluster snapshot alike. */
interface RdsSnapshot {
  id: string;
  kind: "instance" | "cluster";
  arn: string | undefined;
  database: string;
  status: string | undefined;
  type: string | undefined;
  createdAt: Date | undefined;
  allocatedStorageGiB: number | undefined;
  fullSizeBytes: number | undefined;
  encrypted: boolean;
  kmsKeyId: string | undefined;
  tags: Record<string, string>;
}

const tagRecord = (tagList: readonly Tag[] | undefined): Record<string, string> =>
  Object.fromEntries(
    (tagList ?? []).flatMap((tag) => (tag.Key === undefined ? [] : [[tag.Key, tag.Value ?? ""]])),
  );

const tagList = (tags: Readonly<Record<string, string>>): Tag[] =>
  Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));

const fromDbSnapshot = (snapshot: DBSnapshot): RdsSnapshot => ({
  id: snapshot.DBSnapshotIdentifier ?? "",
  kind: "instance",
  arn: snapshot.DBSnapshotArn,
  database: snapshot.DBInstanceIdentifier ?? "",
  status: snapshot.Status,
  type: snapshot.SnapshotType,
  // RDS fills SnapshotCreateTime in only once the snapshot is taken.
  createdAt: snapshot.SnapshotCreateTime ?? snapshot.OriginalSnapshotCreateTime,
  allocatedStorageGiB: snapshot.AllocatedStorage,
  fullSizeBytes: snapshot.FullSnapshotSizeInBytes,
  encrypted: snapshot.Encrypted === true,
  kmsKeyId: snapshot.KmsKeyId,
  tags: tagRecord(snapshot.TagList),
});

const fromDbClusterSnapshot = (snapshot: DBClusterSnapshot): RdsSnapshot => ({
  id: snapshot.DBClusterSnapshotIdentifier ?? "",
  kind: "cluster",
  arn: snapshot.DBClusterSnapshotArn,
  database: snapshot.DBClusterIdentifier ?? "",
  status: snapshot.Status,
  type: snapshot.SnapshotType,
  createdAt: snapshot.SnapshotCreateTime,
  allocatedStorageGiB: snapshot.AllocatedStorage,
  fullSizeBytes: undefined,
  encrypted: snapshot.StorageEncrypted === true,
  kmsKeyId: snapshot.KmsKeyId,
  tags: tagRecord(snapshot.TagList),
});

/** A size of 0 is RDS not knowing it (Aurora allocates no storage up front), not an empty snapshot. */
const sizeBytesOf = (snapshot: RdsSnapshot): number | undefined => {
  if (snapshot.fullSizeBytes !== undefined && snapshot.fullSizeBytes > 0) return snapshot.fullSizeBytes;
  if (snapshot.allocatedStorageGiB !== undefined && snapshot.allocatedStorageGiB > 0) {
    return snapshot.allocatedStorageGiB * bytesPerGibibyte;
  }
  return undefined;
};

const newestFirst = (a: { createdAt: string; id: string }, b: { createdAt: string; id: string }): number =>
  b.createdAt.localeCompare(a.createdAt) || b.id.localeCompare(a.id);

/** The tags that mark a DB instance as a restore drill's scratch instance, and say what it was restored from. */
const drillTagKeys = {
  purpose: "switchyard:purpose",
  snapshot: "switchyard:drill-snapshot",
  source: "switchyard:drill-source",
} as const;
const drillPurpose = "restore-drill";

const isDrillInstance = (tags: Readonly<Record<string, string>>): boolean =>
  tags[drillTagKeys.purpose] === drillPurpose && tags[snapshotTagKeys.createdBy] === snapshotCreator;

/** Instance states in which a restored instance answers queries. */
const usableInstanceStates = new Set(["available", "backing-up", "storage-optimization"]);
/** Instance states a restore never comes back from on its own. */
const failedInstanceStates = new Set([
  "failed",
  "restore-error",
  "storage-full",
  "deleting",
  "stopped",
  "stopping",
]);

/**
 * A drill's status for a DB instance status: usable, broken for good, or still on its way.
 *
 * @example
 * drillInstanceStatus("incompatible-restore"); // "failed"
 */
export const drillInstanceStatus = (status: string | undefined): DrillStatus => {
  if (status !== undefined && usableInstanceStates.has(status)) return "available";
  if (
    status !== undefined &&
    (failedInstanceStates.has(status) ||
      status.startsWith("incompatible-") ||
      status.startsWith("inaccessible-encryption-credentials"))
  ) {
    return "failed";
  }
  return "creating";
};

const kmsArnRegionPattern = /^arn:[^:]+:kms:([^:]+):/;
const regionOf = (arn: string | undefined): string | undefined =>
  /^arn:[^:]+:rds:([^:]+):/.exec(arn ?? "")?.[1];

/** The master login a drill target inherits, as the source database's master secret holds it. */
interface MasterSecret {
  username: string;
  password: string;
  dbname?: string;
}

const parseMasterSecret = (text: string, name: string): MasterSecret => {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    // Never the text: it is a password.
    throw new ValidationError(`secret ${name} is not JSON with "username" and "password"`);
  }
  const { username, password, dbname } = (parsed ?? {}) as Record<string, unknown>;
  if (typeof username !== "string" || typeof password !== "string") {
    throw new ValidationError(`secret ${name} has no "username" and "password" strings`);
  }
  return { username, password, ...(typeof dbname === "string" && dbname !== "" && { dbname }) };
};

/** How restore drills run on RDS. */
export interface RdsDrillOptions {
  /** The DB instance class of drill targets; default: the class of the source instance (RDS's default on restore). */
  instanceClass?: string;
  /** The DB subnet group of drill targets; default: the source instance's, so the drill runs in its network. */
  subnetGroupName?: string;
  /** The VPC security groups of drill targets; default: the source instance's. */
  securityGroupIds?: readonly string[];
  /**
   * For each source database identifier, the Secrets Manager secret with its master login (JSON with `username`,
   * `password`, optionally `dbname`), which `runSmokeQuery` logs in with. A restored instance keeps the master user
   * and password the source had when the snapshot was taken: after a rotation of the master password the drill
   * target still has the old one, and a master password RDS manages (`ManageMasterUserPassword`) is not restored.
   */
  masterSecrets?: Readonly<Record<string, string>>;
}

export interface RdsSnapshotServiceOptions {
  client: RDSClient;
  clock: Clock;
  /** The RDS client of another region, for copies; default: a new `RDSClient` for that region. */
  clientForRegion?: (region: string) => RDSClient;
  drill?: RdsDrillOptions;
  /** Reads the drills' master secrets; needed by `runSmokeQuery` only. */
  secrets?: Pick<SecretStore, "getSecretValue">;
  /** Opens the smoke query's database connection; default `pg` over TLS. Tests pass a fake. */
  connect?: SmokeQueryConnect;
}

/**
 * The SnapshotService port on Amazon RDS. A snapshot is a manual DB snapshot of the instance the database names, or,
 * when no instance has that name (`DBInstanceNotFoundFault`), a DB cluster snapshot of the Aurora cluster that does;
 * `NotFoundError` when neither exists. Snapshots are named by `snapshotName` and tagged by `snapshotTags`, and only
 * snapshots carrying `switchyard:created-by=switchyard` are ever returned, copied, restored or deleted: a snapshot
 * someone took by hand is not Switchyard's (`listManualSnapshots` alone shows them, for the quota). Throttling, server
 * errors, a busy instance and a snapshot still being created become a `TransientError`; the manual-snapshot quota and
 * an unusable KMS key, a `ValidationError` (retrying cannot help); other SDK errors pass untouched. A repeated request
 * in the same second finds the snapshot the first one started and returns it.
 *
 * Copies go to the target region's client with the source snapshot's ARN: the SDK derives the source region from it
 * and signs the `PreSignedUrl` RDS needs for encrypted copies. Restore drills restore DB instance snapshots with
 * RestoreDBInstanceFromDBSnapshot into a private instance (no public access, single-AZ, no backups, no deletion
 * protection) tagged `switchyard:purpose=restore-drill`; only an instance with that tag is ever deleted.
 *
 * @example
 * const snapshots = new RdsSnapshotService({ client: new RDSClient({}), clock: { now: () => new Date() } });
 * await snapshots.createSnapshot({ database: "orders", reason: "pre-change", promotionId });
 * // { id: "switchyard-orders-20260501120000-pre-change", status: "creating", … }
 */
export class RdsSnapshotService implements SnapshotService {
  private readonly client: RDSClient;
  private readonly clock: Clock;
  private readonly clientForRegion: (region: string) => RDSClient;
  private readonly drill: RdsDrillOptions;
  private readonly secrets: Pick<SecretStore, "getSecretValue"> | undefined;
  private readonly connect: SmokeQueryConnect;

  constructor(options: RdsSnapshotServiceOptions) {
    this.client = options.client;
    this.clock = options.clock;
    const regionClients = new Map<string, RDSClient>();
    this.clientForRegion =
      options.clientForRegion ??
      ((region) => {
        const client = regionClients.get(region) ?? new RDSClient({ region });
        regionClients.set(region, client);
        return client;
      });
    this.drill = options.drill ?? {};
    this.secrets = options.secrets;
    this.connect = options.connect ?? pgSmokeQueryConnect;
  }

  async createSnapshot(input: {
    database: string;
    reason: Snapshot["reason"];
    promotionId?: string;
    note?: string;
  }): Promise<Snapshot> {
    const id = snapshotName(input.database, input.reason, this.clock.now());
    const tags = snapshotTags(input);
    try {
      return this.started(await this.createDbSnapshot(id, input.database, tagList(tags)), input, tags);
    } catch (error) {
      if (alreadyExistsErrorNames.has(errorName(error))) return this.existing(id, input, error);
      if (errorName(error) !== "DBInstanceNotFoundFault") throw error;
    }
    try {
      return this.started(await this.createDbClusterSnapshot(id, input.database, tagList(tags)), input, tags);
    } catch (error) {
      if (alreadyExistsErrorNames.has(errorName(error))) return this.existing(id, input, error);
      if (errorName(error) !== "DBClusterNotFoundFault") throw error;
      throw new NotFoundError(
        `database "${input.database}" is neither an RDS DB instance nor an Aurora DB cluster in this account and region`,
        { cause: error },
      );
    }
  }

  async getSnapshot(id: string): Promise<Snapshot | undefined> {
    const found = await this.find(id);
    return found === undefined ? undefined : this.toSnapshot(found);
  }

  async listSnapshots(filter: { database?: string } = {}): Promise<Snapshot[]> {
    const found = await this.describeManual(filter.database);
    return found.flatMap((snapshot) => this.toSnapshot(snapshot) ?? []).sort(newestFirst);
  }

  async listDatabases(selector: { tagKey: string; tagValue: string }): Promise<DatabaseTarget[]> {
    const targets: DatabaseTarget[] = [];
    const selected = (tags: Readonly<Record<string, string>>): boolean =>
      tags[selector.tagKey] === selector.tagValue && !isDrillInstance(tags);
    await this.attempt("DescribeDBInstances", "all databases", async () => {
      for await (const page of paginateDescribeDBInstances({ client: this.client }, {})) {
        for (const instance of page.DBInstances ?? []) {
          // An Aurora instance is a member of its cluster, which is what gets snapshotted.
          if (instance.DBClusterIdentifier !== undefined || !selected(tagRecord(instance.TagList))) continue;
          targets.push(this.instanceTarget(instance));
        }
      }
    });
    await this.attempt("DescribeDBClusters", "all databases", async () => {
      for await (const page of paginateDescribeDBClusters({ client: this.client }, {})) {
        for (const cluster of page.DBClusters ?? []) {
          if (selected(tagRecord(cluster.TagList))) targets.push(this.clusterTarget(cluster));
        }
      }
    });
    return targets.sort((a, b) => a.identifier.localeCompare(b.identifier));
  }

  async listManualSnapshots(): Promise<ManualSnapshot[]> {
    return (await this.describeManual(undefined))
      .map((snapshot) => ({
        id: snapshot.id,
        database: snapshot.database,
        createdAt: this.createdAtOf(snapshot),
        status: rdsSnapshotStatus(snapshot.status),
        type: "manual" as const,
        createdBySwitchyard: snapshot.tags[snapshotTagKeys.createdBy] === snapshotCreator,
      }))
      .sort(newestFirst);
  }

  async deleteSnapshot(id: string): Promise<void> {
    // Not through `find`: an automated backup's name ("rds:…") is no Switchyard name, and must be refused, not ignored.
    const found = id === "" ? undefined : await this.findAny(id);
    if (found === undefined) return;
    if (readSnapshotTags(found.tags) === undefined) {
      throw new ValidationError(`snapshot ${id} was not taken by Switchyard: Switchyard never deletes it`);
    }
    try {
      await this.attempt(
        found.kind === "instance" ? "DeleteDBSnapshot" : "DeleteDBClusterSnapshot",
        `snapshot ${id}`,
        () =>
          found.kind === "instance"
            ? this.client.send(new DeleteDBSnapshotCommand({ DBSnapshotIdentifier: id }))
            : this.client.send(new DeleteDBClusterSnapshotCommand({ DBClusterSnapshotIdentifier: id })),
      );
    } catch (error) {
      if (["DBSnapshotNotFoundFault", "DBClusterSnapshotNotFoundFault"].includes(errorName(error))) return;
      throw error;
    }
  }

  async copySnapshot(id: string, target: { region: string; kmsKeyArn?: string }): Promise<CopiedSnapshot> {
    const source = await this.find(id);
    const read = source === undefined ? undefined : readSnapshotTags(source.tags);
    if (source === undefined || read === undefined) {
      throw new NotFoundError(`snapshot ${id} is not a snapshot Switchyard took in this region`);
    }
    const sourceRegion = regionOf(source.arn) ?? (await this.client.config.region());
    if (target.region === sourceRegion) {
      throw new ValidationError(
        `snapshot ${id} is in ${sourceRegion} already: a copy goes to another region`,
      );
    }
    this.checkCopyKey(source, target);
    this.checkUsable(source, "copied");
    if (source.arn === undefined) throw new NotFoundError(`RDS reported no ARN for snapshot ${id}`);
    const client = this.clientForRegion(target.region);
    const kms = target.kmsKeyArn === undefined ? {} : { KmsKeyId: target.kmsKeyArn };
    const subject = `snapshot ${id} to ${target.region}`;
    let copy: RdsSnapshot;
    try {
      copy =
        source.kind === "instance"
          ? fromDbSnapshot(
              (
                await this.attempt("CopyDBSnapshot", subject, () =>
                  client.send(
                    new CopyDBSnapshotCommand({
                      SourceDBSnapshotIdentifier: source.arn,
                      TargetDBSnapshotIdentifier: id,
                      CopyTags: true,
                      ...kms,
                    }),
                  ),
                )
              ).DBSnapshot ?? {},
            )
          : fromDbClusterSnapshot(
              (
                await this.attempt("CopyDBClusterSnapshot", subject, () =>
                  client.send(
                    new CopyDBClusterSnapshotCommand({
                      SourceDBClusterSnapshotIdentifier: source.arn,
                      TargetDBClusterSnapshotIdentifier: id,
                      CopyTags: true,
                      ...kms,
                    }),
                  ),
                )
              ).DBClusterSnapshot ?? {},
            );
    } catch (error) {
      if (!alreadyExistsErrorNames.has(errorName(error))) throw error;
      // A retried copy: the one already in the target region is the answer, if it is this snapshot's copy.
      const existing = await this.find(id, client);
      if (
        existing === undefined ||
        existing.database !== source.database ||
        readSnapshotTags(existing.tags) === undefined
      ) {
        throw new ConflictError(`${target.region} holds another snapshot named ${id}`, { cause: error });
      }
      copy = existing;
    }
    const merged: RdsSnapshot = {
      ...source,
      ...Object.fromEntries(Object.entries(copy).filter(([, value]) => value !== undefined && value !== "")),
      // CopyTags copies them; an answer may still leave TagList out.
      tags: { ...source.tags, ...copy.tags },
      status: copy.status ?? "creating",
      createdAt: copy.createdAt,
    };
    return { ...this.snapshotOf(merged, read), region: target.region };
  }

  async restoreForDrill(snapshotId: string, scratchName: string): Promise<{ target: string }> {
    assertDrillScratchName(scratchName);
    const snapshot = await this.find(snapshotId);
    if (snapshot === undefined || readSnapshotTags(snapshot.tags) === undefined) {
      throw new NotFoundError(`snapshot ${snapshotId} is not a snapshot Switchyard took in this region`);
    }
    if (snapshot.kind === "cluster") {
      throw new ValidationError(
        `snapshot ${snapshotId} is an Aurora cluster snapshot: restore drills restore DB instance snapshots only`,
      );
    }
    this.checkUsable(snapshot, "restored");
    const source = await this.describeInstance(snapshot.database);
    const securityGroupIds =
      this.drill.securityGroupIds ??
      source?.VpcSecurityGroups?.flatMap((group) => group.VpcSecurityGroupId ?? []);
    const subnetGroupName = this.drill.subnetGroupName ?? source?.DBSubnetGroup?.DBSubnetGroupName;
    const tags = {
      [snapshotTagKeys.createdBy]: snapshotCreator,
      [drillTagKeys.purpose]: drillPurpose,
      [drillTagKeys.snapshot]: snapshotId,
      [drillTagKeys.source]: snapshot.database,
    };
    try {
      await this.attempt("RestoreDBInstanceFromDBSnapshot", `drill target ${scratchName}`, () =>
        this.client.send(
          new RestoreDBInstanceFromDBSnapshotCommand({
            DBInstanceIdentifier: scratchName,
            DBSnapshotIdentifier: snapshotId,
            ...(this.drill.instanceClass !== undefined && { DBInstanceClass: this.drill.instanceClass }),
            ...(subnetGroupName !== undefined && { DBSubnetGroupName: subnetGroupName }),
            ...(securityGroupIds !== undefined &&
              securityGroupIds.length > 0 && {
                VpcSecurityGroupIds: [...securityGroupIds],
              }),
            PubliclyAccessible: false,
            MultiAZ: false,
            DeletionProtection: false,
            BackupRetentionPeriod: 0,
            CopyTagsToSnapshot: false,
            Tags: tagList(tags),
          }),
        ),
      );
    } catch (error) {
      if (errorName(error) !== "DBInstanceAlreadyExistsFault") throw error;
      const existing = await this.describeInstance(scratchName);
      const existingTags = tagRecord(existing?.TagList);
      if (!isDrillInstance(existingTags) || existingTags[drillTagKeys.snapshot] !== snapshotId) {
        throw new ConflictError(
          `DB instance ${scratchName} exists already and is not a drill of ${snapshotId}`,
          {
            cause: error,
          },
        );
      }
    }
    return { target: scratchName };
  }

  async drillStatus(target: string): Promise<DrillStatus> {
    const instance = await this.describeInstance(target);
    if (instance === undefined) throw new NotFoundError(`drill target ${target} does not exist`);
    return drillInstanceStatus(instance.DBInstanceStatus);
  }

  async runSmokeQuery(target: string, query: string): Promise<{ rows: number; value?: string }> {
    const instance = await this.describeInstance(target);
    if (instance === undefined) throw new NotFoundError(`drill target ${target} does not exist`);
    const tags = tagRecord(instance.TagList);
    if (!isDrillInstance(tags)) {
      throw new ValidationError(
        `DB instance ${target} is not a restore-drill target: no smoke query runs on it`,
      );
    }
    const status = drillInstanceStatus(instance.DBInstanceStatus);
    if (status === "creating") throw new TransientError(`drill target ${target} is not available yet`);
    if (status === "failed") {
      throw new ValidationError(
        `drill target ${target} failed (${instance.DBInstanceStatus ?? "no status"})`,
      );
    }
    const source = tags[drillTagKeys.source] ?? "";
    const secretName = this.drill.masterSecrets?.[source];
    if (secretName === undefined || this.secrets === undefined) {
      throw new ValidationError(
        `no master secret is configured for database ${source}: a smoke query logs in to the drill target with ` +
          "the master login it inherited from the snapshot",
      );
    }
    const master = parseMasterSecret(
      (await this.secrets.getSecretValue(secretName)).secretString,
      secretName,
    );
    const { Address: host, Port: port } = instance.Endpoint ?? {};
    if (host === undefined || port === undefined) {
      throw new TransientError(`drill target ${target} has no endpoint yet`);
    }
    return runSmokeQuery(
      this.connect,
      {
        host,
        port,
        user: master.username,
        password: master.password,
        database: master.dbname ?? instance.DBName ?? "postgres",
      },
      query,
      `drill target ${target}`,
    );
  }

  async deleteDrillTarget(target: string): Promise<void> {
    if (!isDrillScratchName(target)) {
      throw new ValidationError(`${target} is not a restore-drill target name: Switchyard never deletes it`);
    }
    const instance = await this.describeInstance(target);
    if (instance === undefined || instance.DBInstanceStatus === "deleting") return;
    if (!isDrillInstance(tagRecord(instance.TagList))) {
      throw new ValidationError(
        `DB instance ${target} is not tagged as a restore drill: Switchyard never deletes it`,
      );
    }
    try {
      await this.attempt("DeleteDBInstance", `drill target ${target}`, () =>
        this.client.send(
          new DeleteDBInstanceCommand({
            DBInstanceIdentifier: target,
            SkipFinalSnapshot: true,
            DeleteAutomatedBackups: true,
          }),
        ),
      );
    } catch (error) {
      if (errorName(error) === "DBInstanceNotFoundFault") return;
      throw error;
    }
  }

  private async attempt<T>(operation: string, subject: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      throw translated(error, operation, subject);
    }
  }

  private instanceTarget(instance: DBInstance): DatabaseTarget {
    return {
      identifier: instance.DBInstanceIdentifier ?? "",
      kind: "instance",
      engine: instance.Engine ?? "",
      encrypted: instance.StorageEncrypted === true,
      ...(instance.KmsKeyId !== undefined && { kmsKeyId: instance.KmsKeyId }),
    };
  }

  private clusterTarget(cluster: DBCluster): DatabaseTarget {
    return {
      identifier: cluster.DBClusterIdentifier ?? "",
      kind: "cluster",
      engine: cluster.Engine ?? "",
      encrypted: cluster.StorageEncrypted === true,
      ...(cluster.KmsKeyId !== undefined && { kmsKeyId: cluster.KmsKeyId }),
    };
  }

  /** A KMS key is needed for an encrypted source, must be in the target region, and cannot encrypt a cluster copy. */
  private checkCopyKey(source: RdsSnapshot, target: { region: string; kmsKeyArn?: string }): void {
    if (source.encrypted && target.kmsKeyArn === undefined) {
      throw new ValidationError(
        `snapshot ${source.id} is encrypted (KMS key ${source.kmsKeyId ?? "unknown"}): copying it to ${target.region} ` +
          `needs kmsKeyArn, a KMS key in ${target.region}, because KMS keys do not leave their region`,
      );
    }
    const keyRegion = kmsArnRegionPattern.exec(target.kmsKeyArn ?? "")?.[1];
    if (keyRegion !== undefined && keyRegion !== target.region) {
      throw new ValidationError(
        `KMS key ${target.kmsKeyArn} is in ${keyRegion}: a copy to ${target.region} needs a key in ${target.region}`,
      );
    }
    if (!source.encrypted && target.kmsKeyArn !== undefined && source.kind === "cluster") {
      throw new ValidationError(
        `snapshot ${source.id} is an unencrypted cluster snapshot: RDS cannot encrypt it while copying`,
      );
    }
  }

  /** Copying and restoring need a snapshot RDS has finished taking. */
  private checkUsable(snapshot: RdsSnapshot, what: "copied" | "restored"): void {
    const status = rdsSnapshotStatus(snapshot.status);
    if (status === "creating") {
      throw new TransientError(
        `snapshot ${snapshot.id} is still being created: it can be ${what} once available`,
      );
    }
    if (status !== "available")
      throw new ValidationError(`snapshot ${snapshot.id} is ${status}: it cannot be ${what}`);
  }

  /** Every manual instance and cluster snapshot, of one database or all, Switchyard's or not. */
  private async describeManual(database: string | undefined): Promise<RdsSnapshot[]> {
    const found: RdsSnapshot[] = [];
    const subject = database === undefined ? "all databases" : `database ${database}`;
    await this.attempt("DescribeDBSnapshots", subject, async () => {
      const pages = paginateDescribeDBSnapshots(
        { client: this.client },
        { SnapshotType: "manual", ...(database !== undefined && { DBInstanceIdentifier: database }) },
      );
      for await (const page of pages) found.push(...(page.DBSnapshots ?? []).map(fromDbSnapshot));
    });
    // Aurora snapshots live apart from instance snapshots; a pre-change snapshot of a cluster must be listed too.
    await this.attempt("DescribeDBClusterSnapshots", subject, async () => {
      const pages = paginateDescribeDBClusterSnapshots(
        { client: this.client },
        { SnapshotType: "manual", ...(database !== undefined && { DBClusterIdentifier: database }) },
      );
      for await (const page of pages)
        found.push(...(page.DBClusterSnapshots ?? []).map(fromDbClusterSnapshot));
    });
    return found;
  }

  /** A snapshot with a Switchyard-shaped name, of an instance or a cluster, in this region or `client`'s. */
  private async find(id: string, client: RDSClient = this.client): Promise<RdsSnapshot | undefined> {
    // RDS would refuse the request; no snapshot can have such a name.
    if (!isSnapshotIdentifier(id)) return undefined;
    return (await this.describeDbSnapshot(id, client)) ?? (await this.describeDbClusterSnapshot(id, client));
  }

  /** Any snapshot by name, automated backups included. */
  private async findAny(id: string): Promise<RdsSnapshot | undefined> {
    return (await this.describeDbSnapshot(id)) ?? (await this.describeDbClusterSnapshot(id));
  }

  private async createDbSnapshot(id: string, database: string, tags: Tag[]): Promise<RdsSnapshot> {
    const output = await this.attempt("CreateDBSnapshot", `database ${database}`, () =>
      this.client.send(
        new CreateDBSnapshotCommand({ DBSnapshotIdentifier: id, DBInstanceIdentifier: database, Tags: tags }),
      ),
    );
    return fromDbSnapshot({ DBSnapshotIdentifier: id, DBInstanceIdentifier: database, ...output.DBSnapshot });
  }

  private async createDbClusterSnapshot(id: string, database: string, tags: Tag[]): Promise<RdsSnapshot> {
    const output = await this.attempt("CreateDBClusterSnapshot", `database ${database}`, () =>
      this.client.send(
        new CreateDBClusterSnapshotCommand({
          DBClusterSnapshotIdentifier: id,
          DBClusterIdentifier: database,
          Tags: tags,
        }),
      ),
    );
    return fromDbClusterSnapshot({
      DBClusterSnapshotIdentifier: id,
      DBClusterIdentifier: database,
      ...output.DBClusterSnapshot,
    });
  }

  private async describeDbSnapshot(
    id: string,
    client: RDSClient = this.client,
  ): Promise<RdsSnapshot | undefined> {
    try {
      const output = await this.attempt("DescribeDBSnapshots", `snapshot ${id}`, () =>
        client.send(new DescribeDBSnapshotsCommand({ DBSnapshotIdentifier: id })),
      );
      const snapshot = output.DBSnapshots?.[0];
      return snapshot === undefined ? undefined : fromDbSnapshot(snapshot);
    } catch (error) {
      if (errorName(error) === "DBSnapshotNotFoundFault") return undefined;
      throw error;
    }
  }

  private async describeDbClusterSnapshot(
    id: string,
    client: RDSClient = this.client,
  ): Promise<RdsSnapshot | undefined> {
    try {
      const output = await this.attempt("DescribeDBClusterSnapshots", `snapshot ${id}`, () =>
        client.send(new DescribeDBClusterSnapshotsCommand({ DBClusterSnapshotIdentifier: id })),
      );
      const snapshot = output.DBClusterSnapshots?.[0];
      return snapshot === undefined ? undefined : fromDbClusterSnapshot(snapshot);
    } catch (error) {
      if (errorName(error) === "DBClusterSnapshotNotFoundFault") return undefined;
      throw error;
    }
  }

  private async describeInstance(identifier: string): Promise<DBInstance | undefined> {
    try {
      const output = await this.attempt("DescribeDBInstances", `DB instance ${identifier}`, () =>
        this.client.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: identifier })),
      );
      return output.DBInstances?.[0];
    } catch (error) {
      if (errorName(error) === "DBInstanceNotFoundFault") return undefined;
      throw error;
    }
  }

  /**
   * The snapshot a same-second repeat of this request started (a retried step), or `ConflictError` when the name
   * belongs to another request: the next second names a new snapshot, so retrying helps.
   */
  private async existing(
    id: string,
    input: { database: string; reason: Snapshot["reason"]; promotionId?: string },
    cause: unknown,
  ): Promise<Snapshot> {
    const snapshot = await this.getSnapshot(id);
    if (
      snapshot?.database === input.database &&
      snapshot.reason === input.reason &&
      snapshot.promotionId === input.promotionId
    ) {
      return snapshot;
    }
    throw new ConflictError(`snapshot ${id} already exists for another request`, { cause });
  }

  /** Undefined for a snapshot Switchyard did not take. */
  private toSnapshot(snapshot: RdsSnapshot): Snapshot | undefined {
    const read = readSnapshotTags(snapshot.tags);
    return read === undefined ? undefined : this.snapshotOf(snapshot, read);
  }

  /** A snapshot just started, with the tags it was sent with: a response may leave `TagList` out. */
  private started(
    snapshot: RdsSnapshot,
    input: { reason: Snapshot["reason"]; promotionId?: string },
    sentTags: Readonly<Record<string, string>>,
  ): Snapshot {
    return this.snapshotOf(
      { ...snapshot, tags: { ...sentTags, ...snapshot.tags } },
      { reason: input.reason, ...(input.promotionId !== undefined && { promotionId: input.promotionId }) },
    );
  }

  private createdAtOf(snapshot: RdsSnapshot): string {
    return new Date(snapshot.createdAt ?? snapshotNameTime(snapshot.id) ?? this.clock.now()).toISOString();
  }

  private snapshotOf(
    snapshot: RdsSnapshot,
    read: { reason: Snapshot["reason"]; promotionId?: string },
  ): Snapshot {
    const sizeBytes = sizeBytesOf(snapshot);
    return {
      id: snapshot.id,
      database: snapshot.database,
      status: rdsSnapshotStatus(snapshot.status),
      ...read,
      createdAt: this.createdAtOf(snapshot),
      ...(sizeBytes !== undefined && { sizeBytes }),
      tags: snapshot.tags,
    };
  }
}
