// The local SnapshotService: records of snapshots of the local runtime's databases in SQLite, ready after a delay.

import { ConflictError, NotFoundError } from "../../functions/core/errors.ts";
import type { Clock, Snapshot, SnapshotService, SnapshotStatus } from "../../functions/core/ports.ts";
import {
  snapshotCreator,
  snapshotName,
  snapshotTagKeys,
  snapshotTags,
} from "../../functions/core/snapshot-names.ts";
import { type SqliteDatabase, type SqliteStatement, statementCache } from "../db.ts";

// Times are ISO 8601 UTC as `toISOString` writes them, so text order is time order.
const schema = `
  CREATE TABLE IF NOT EXISTS database_snapshots (
    id TEXT PRIMARY KEY,
    database TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('creating', 'available', 'failed', 'deleting')),
    reason TEXT NOT NULL CHECK (reason IN ('scheduled', 'pre-change', 'manual')),
    promotion_id TEXT,
    created_at TEXT NOT NULL,
    -- When a simulated snapshot counts as taken; NULL for one whose own dump sets its status when it ends.
    available_at TEXT,
    size_bytes INTEGER,
    -- A JSON object, the tags as RDS would carry them.
    tags TEXT NOT NULL,
    -- The dump file, once a snapshot is a real pg_dump of the embedded PostgreSQL.
    file_path TEXT
  ) STRICT;
  CREATE INDEX IF NOT EXISTS database_snapshots_by_database ON database_snapshots (database, created_at);
`;

// Status is worked out as it is read from the stored ready time, so it reads the same after a restart whatever
// `availableAfterMs` the runtime is started with next.
const columns = `id, database, reason, promotion_id, created_at, size_bytes, tags,
  CASE WHEN status = 'creating' AND available_at <= @now THEN 'available' ELSE status END AS status`;
const createdBySwitchyard = `json_extract(tags, '$."${snapshotTagKeys.createdBy}"') = '${snapshotCreator}'`;

interface SnapshotRow {
  id: string;
  database: string;
  status: SnapshotStatus;
  reason: Snapshot["reason"];
  promotion_id: string | null;
  created_at: string;
  size_bytes: number | null;
  tags: string;
}

const toSnapshot = (row: SnapshotRow): Snapshot => ({
  id: row.id,
  database: row.database,
  status: row.status,
  reason: row.reason,
  ...(row.promotion_id !== null && { promotionId: row.promotion_id }),
  createdAt: row.created_at,
  ...(row.size_bytes !== null && { sizeBytes: row.size_bytes }),
  tags: JSON.parse(row.tags) as Record<string, string>,
});

export interface LocalSnapshotServiceOptions {
  db: SqliteDatabase;
  clock: Clock;
  /** The databases the local runtime has; any other name is a `NotFoundError`, as RDS answers for it. */
  databases: readonly string[];
  /** How long a snapshot stays `creating`, as an RDS snapshot does for minutes. Default 0: available at once. */
  availableAfterMs?: number;
}

/**
 * The SnapshotService port for the local runtime. A snapshot is named and tagged exactly as on RDS and is a record
 * only for now: it reads `creating` until `availableAfterMs` has passed on the clock, then `available`. Listings and
 * lookups show only records tagged `switchyard:created-by=switchyard`, as the RDS adapter does, newest first. A
 * repeated request in the same second returns the snapshot the first one started; another request that lands on
 * the same name is a `ConflictError`.
 *
 * @example
 * const snapshots = new LocalSnapshotService({ db, clock, databases: ["orders"], availableAfterMs: 30_000 });
 * await snapshots.createSnapshot({ database: "orders", reason: "manual" });
 * // { id: "switchyard-orders-20260501120000-manual", status: "creating", … }
 */
export class LocalSnapshotService implements SnapshotService {
  private readonly clock: Clock;
  private readonly databases: ReadonlySet<string>;
  private readonly availableAfterMs: number;
  private readonly sql: (text: string) => SqliteStatement;

  constructor(options: LocalSnapshotServiceOptions) {
    this.clock = options.clock;
    this.databases = new Set(options.databases);
    this.availableAfterMs = options.availableAfterMs ?? 0;
    options.db.exec(schema);
    this.sql = statementCache(options.db);
  }

  async createSnapshot(input: {
    database: string;
    reason: Snapshot["reason"];
    promotionId?: string;
  }): Promise<Snapshot> {
    if (!this.databases.has(input.database)) {
      const known = [...this.databases].join(", ") || "none";
      throw new NotFoundError(
        `database "${input.database}" is not one of the local runtime's databases (${known})`,
      );
    }
    const now = this.clock.now();
    const id = snapshotName(input.database, input.reason, now);
    const tags = snapshotTags(input);
    const { changes } = this.sql(
      `INSERT INTO database_snapshots (id, database, status, reason, promotion_id, created_at, available_at, tags)
       VALUES (?, ?, 'creating', ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
    ).run(
      id,
      input.database,
      input.reason,
      input.promotionId ?? null,
      now.toISOString(),
      new Date(now.getTime() + this.availableAfterMs).toISOString(),
      JSON.stringify(tags),
    );
    const snapshot = await this.getSnapshot(id);
    if (
      snapshot === undefined ||
      (changes === 0 &&
        (snapshot.database !== input.database ||
          snapshot.reason !== input.reason ||
          snapshot.promotionId !== input.promotionId))
    ) {
      throw new ConflictError(`snapshot ${id} already exists for another request`);
    }
    return snapshot;
  }

  async getSnapshot(id: string): Promise<Snapshot | undefined> {
    const row = this.sql(
      `SELECT ${columns} FROM database_snapshots WHERE id = @id AND ${createdBySwitchyard}`,
    ).get({ id, now: this.now() }) as SnapshotRow | undefined;
    return row === undefined ? undefined : toSnapshot(row);
  }

  async listSnapshots(filter: { database?: string } = {}): Promise<Snapshot[]> {
    const rows = (
      filter.database === undefined
        ? this.sql(
            `SELECT ${columns} FROM database_snapshots WHERE ${createdBySwitchyard}
             ORDER BY created_at DESC, id DESC`,
          ).all({ now: this.now() })
        : this.sql(
            `SELECT ${columns} FROM database_snapshots WHERE database = @database AND ${createdBySwitchyard}
             ORDER BY created_at DESC, id DESC`,
          ).all({ database: filter.database, now: this.now() })
    ) as SnapshotRow[];
    return rows.map(toSnapshot);
  }

  private now(): string {
    return this.clock.now().toISOString();
  }
}
