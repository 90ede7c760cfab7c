// The production SnapshotService: manual RDS DB snapshots, or DB cluster snapshots for Aurora, tagged as Switchyard's.

import {
  CreateDBClusterSnapshotCommand,
  CreateDBSnapshotCommand,
  type DBClusterSnapshot,
  type DBSnapshot,
  DescribeDBClusterSnapshotsCommand,
  DescribeDBSnapshotsCommand,
  paginateDescribeDBClusterSnapshots,
  paginateDescribeDBSnapshots,
  type RDSClient,
  type Tag,
} from "@aws-sdk/client-rds";
import { ConflictError, NotFoundError, TransientError, ValidationError } from "../../core/errors.ts";
import type { Clock, Snapshot, SnapshotService, SnapshotStatus } from "../../core/ports.ts";
import {
  isSnapshotIdentifier,
  readSnapshotTags,
  snapshotName,
  snapshotNameTime,
  snapshotTags,
} from "../../core/snapshot-names.ts";
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
  database: string;
  status: string | undefined;
  createdAt: Date | undefined;
  allocatedStorageGiB: number | undefined;
  fullSizeBytes: number | undefined;
  tags: Record<string, string>;
}

const tagRecord = (tagList: readonly Tag[] | undefined): Record<string, string> =>
  Object.fromEntries(
    (tagList ?? []).flatMap((tag) => (tag.Key === undefined ? [] : [[tag.Key, tag.Value ?? ""]])),
  );

const fromDbSnapshot = (snapshot: DBSnapshot): RdsSnapshot => ({
  id: snapshot.DBSnapshotIdentifier ?? "",
  database: snapshot.DBInstanceIdentifier ?? "",
  status: snapshot.Status,
  // RDS fills SnapshotCreateTime in only once the snapshot is taken.
  createdAt: snapshot.SnapshotCreateTime ?? snapshot.OriginalSnapshotCreateTime,
  allocatedStorageGiB: snapshot.AllocatedStorage,
  fullSizeBytes: snapshot.FullSnapshotSizeInBytes,
  tags: tagRecord(snapshot.TagList),
});

const fromDbClusterSnapshot = (snapshot: DBClusterSnapshot): RdsSnapshot => ({
  id: snapshot.DBClusterSnapshotIdentifier ?? "",
  database: snapshot.DBClusterIdentifier ?? "",
  status: snapshot.Status,
  createdAt: snapshot.SnapshotCreateTime,
  allocatedStorageGiB: snapshot.AllocatedStorage,
  fullSizeBytes: undefined,
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

const newestFirst = (a: Snapshot, b: Snapshot): number =>
  b.createdAt.localeCompare(a.createdAt) || b.id.localeCompare(a.id);

export interface RdsSnapshotServiceOptions {
  client: RDSClient;
  clock: Clock;
}

/**
 * The SnapshotService port on Amazon RDS. A snapshot is a manual DB snapshot of the instance the database names, or,
 * when no instance has that name (`DBInstanceNotFoundFault`), a DB cluster snapshot of the Aurora cluster that does;
 * `NotFoundError` when neither exists. Snapshots are named by `snapshotName` and tagged by `snapshotTags`, and only
 * snapshots carrying `switchyard:created-by=switchyard` are ever returned: a snapshot someone took by hand is not
 * Switchyard's to report. Throttling, server errors and a busy instance become a `TransientError`; the manual-snapshot
 * quota, a `ValidationError` (retrying cannot help until someone deletes snapshots); other SDK errors pass untouched.
 * A repeated request in the same second finds the snapshot the first one started and returns it.
 *
 * @example
 * const snapshots = new RdsSnapshotService({ client: new RDSClient({}), clock: { now: () => new Date() } });
 * await snapshots.createSnapshot({ database: "orders", reason: "pre-change", promotionId });
 * // { id: "switchyard-orders-20260501120000-pre-change", status: "creating", … }
 */
export class RdsSnapshotService implements SnapshotService {
  private readonly client: RDSClient;
  private readonly clock: Clock;

  constructor(options: RdsSnapshotServiceOptions) {
    this.client = options.client;
    this.clock = options.clock;
  }

  async createSnapshot(input: {
    database: string;
    reason: Snapshot["reason"];
    promotionId?: string;
  }): Promise<Snapshot> {
    const id = snapshotName(input.database, input.reason, this.clock.now());
    const tags = snapshotTags(input);
    const tagList = Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));
    try {
      return this.started(await this.createDbSnapshot(id, input.database, tagList), input, tags);
    } catch (error) {
      if (alreadyExistsErrorNames.has(errorName(error))) return this.existing(id, input, error);
      if (errorName(error) !== "DBInstanceNotFoundFault") throw error;
    }
    try {
      return this.started(await this.createDbClusterSnapshot(id, input.database, tagList), input, tags);
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
    // RDS would refuse the request; no snapshot can have such a name.
    if (!isSnapshotIdentifier(id)) return undefined;
    const found = (await this.describeDbSnapshot(id)) ?? (await this.describeDbClusterSnapshot(id));
    return found === undefined ? undefined : this.toSnapshot(found);
  }

  async listSnapshots(filter: { database?: string } = {}): Promise<Snapshot[]> {
    const found: RdsSnapshot[] = [];
    const subject = filter.database === undefined ? "all databases" : `database ${filter.database}`;
    await this.attempt("DescribeDBSnapshots", subject, async () => {
      const pages = paginateDescribeDBSnapshots(
        { client: this.client },
        {
          SnapshotType: "manual",
          ...(filter.database !== undefined && { DBInstanceIdentifier: filter.database }),
        },
      );
      for await (const page of pages) found.push(...(page.DBSnapshots ?? []).map(fromDbSnapshot));
    });
    // Aurora snapshots live apart from instance snapshots; a pre-change snapshot of a cluster must be listed too.
    await this.attempt("DescribeDBClusterSnapshots", subject, async () => {
      const pages = paginateDescribeDBClusterSnapshots(
        { client: this.client },
        {
          SnapshotType: "manual",
          ...(filter.database !== undefined && { DBClusterIdentifier: filter.database }),
        },
      );
      for await (const page of pages)
        found.push(...(page.DBClusterSnapshots ?? []).map(fromDbClusterSnapshot));
    });
    return found.flatMap((snapshot) => this.toSnapshot(snapshot) ?? []).sort(newestFirst);
  }

  private async attempt<T>(operation: string, subject: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      throw translated(error, operation, subject);
    }
  }

  private async createDbSnapshot(id: string, database: string, tagList: Tag[]): Promise<RdsSnapshot> {
    const output = await this.attempt("CreateDBSnapshot", `database ${database}`, () =>
      this.client.send(
        new CreateDBSnapshotCommand({
          DBSnapshotIdentifier: id,
          DBInstanceIdentifier: database,
          Tags: tagList,
        }),
      ),
    );
    return fromDbSnapshot({ DBSnapshotIdentifier: id, DBInstanceIdentifier: database, ...output.DBSnapshot });
  }

  private async createDbClusterSnapshot(id: string, database: string, tagList: Tag[]): Promise<RdsSnapshot> {
    const output = await this.attempt("CreateDBClusterSnapshot", `database ${database}`, () =>
      this.client.send(
        new CreateDBClusterSnapshotCommand({
          DBClusterSnapshotIdentifier: id,
          DBClusterIdentifier: database,
          Tags: tagList,
        }),
      ),
    );
    return fromDbClusterSnapshot({
      DBClusterSnapshotIdentifier: id,
      DBClusterIdentifier: database,
      ...output.DBClusterSnapshot,
    });
  }

  private async describeDbSnapshot(id: string): Promise<RdsSnapshot | undefined> {
    try {
      const output = await this.attempt("DescribeDBSnapshots", `snapshot ${id}`, () =>
        this.client.send(new DescribeDBSnapshotsCommand({ DBSnapshotIdentifier: id })),
      );
      const snapshot = output.DBSnapshots?.[0];
      return snapshot === undefined ? undefined : fromDbSnapshot(snapshot);
    } catch (error) {
      if (errorName(error) === "DBSnapshotNotFoundFault") return undefined;
      throw error;
    }
  }

  private async describeDbClusterSnapshot(id: string): Promise<RdsSnapshot | undefined> {
    try {
      const output = await this.attempt("DescribeDBClusterSnapshots", `snapshot ${id}`, () =>
        this.client.send(new DescribeDBClusterSnapshotsCommand({ DBClusterSnapshotIdentifier: id })),
      );
      const snapshot = output.DBClusterSnapshots?.[0];
      return snapshot === undefined ? undefined : fromDbClusterSnapshot(snapshot);
    } catch (error) {
      if (errorName(error) === "DBClusterSnapshotNotFoundFault") return undefined;
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

  private snapshotOf(
    snapshot: RdsSnapshot,
    read: { reason: Snapshot["reason"]; promotionId?: string },
  ): Snapshot {
    const createdAt = snapshot.createdAt ?? snapshotNameTime(snapshot.id) ?? this.clock.now();
    const sizeBytes = sizeBytesOf(snapshot);
    return {
      id: snapshot.id,
      database: snapshot.database,
      status: rdsSnapshotStatus(snapshot.status),
      ...read,
      createdAt: new Date(createdAt).toISOString(),
      ...(sizeBytes !== undefined && { sizeBytes }),
      tags: snapshot.tags,
    };
  }
}
