// The local SnapshotService: pg_dump files of the embedded PostgreSQL's databases, their records in SQLite, drills.

import { type ChildProcess, spawn } from "node:child_process";
import { accessSync, constants, existsSync, mkdirSync, renameSync, rmSync, statSync } from "node:fs";
import { delimiter, join } from "node:path";
import pg from "pg";
import { pgSmokeQueryConnect, runSmokeQuery } from "../../functions/adapters/postgres/smoke-query.ts";
import { assertDrillScratchName } from "../../functions/core/drill-names.ts";
import {
  ConflictError,
  NotFoundError,
  SwitchyardError,
  TransientError,
  ValidationError,
} from "../../functions/core/errors.ts";
import type {
  Clock,
  CopiedSnapshot,
  DatabaseCredentials,
  DatabaseTarget,
  DrillStatus,
  ManualSnapshot,
  Snapshot,
  SnapshotService,
  SnapshotStatus,
} from "../../functions/core/ports.ts";
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
    -- The earliest a snapshot reads available, however soon its dump ends (availableAfterMs).
    available_at TEXT,
    size_bytes INTEGER,
    -- A JSON object, the tags as RDS would carry them.
    tags TEXT NOT NULL,
    -- The dump file; NULL for a record from before snapshots were real dumps.
    file_path TEXT
  ) STRICT;
  CREATE INDEX IF NOT EXISTS database_snapshots_by_database ON database_snapshots (database, created_at);
  CREATE TABLE IF NOT EXISTS snapshot_drills (
    target TEXT PRIMARY KEY,
    snapshot_id TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('creating', 'available', 'failed')),
    created_at TEXT NOT NULL,
    failure_reason TEXT,
    -- The process whose pg_restore fills the target, so a restart can tell an orphan from a running restore.
    worker_pid INTEGER
  ) STRICT;
`;

/** Columns later versions added to `database_snapshots`: added in place, so an existing home keeps its records. */
const addedSnapshotColumns = {
  failure_reason: "TEXT",
  // The process whose pg_dump writes the file, so a restart can tell an orphan from a running dump.
  worker_pid: "INTEGER",
} as const;

const createdBySwitchyard = `json_extract(tags, '$."${snapshotTagKeys.createdBy}"') = '${snapshotCreator}'`;
/** What `--dbname` may carry: a plain database name, never a connection string. */
const databaseNamePattern = /^[a-z_][a-z0-9_]{0,62}$/;
const localDrillTargetPattern = /^switchyard_drill_[a-z0-9_]+$/;
const maxDatabaseNameLength = 63;
/** Characters of a tool's error output kept in a failure reason. */
const failureReasonChars = 500;
/** Lines of a tool's error output a failure reason quotes. */
const failureReasonLines = 3;
/** Bytes of a tool's stderr kept while it runs: the end says why it failed. */
const stderrKeptBytes = 64 * 1024;
const connectTimeoutSeconds = 10;
const stopSignal = "SIGTERM";
/** SQLSTATE classes a later attempt may pass: connection (08), resources (53), operator intervention (57). */
const transientSqlStatePattern = /^(08|53|57)/;

/** A PostgreSQL client tool Switchyard runs locally is not installed. Installing it is the only way on. */
export class MissingToolError extends SwitchyardError {
  readonly retryable = false;
}

/** A database of the embedded PostgreSQL, as `local.postgres.databases` lists it. */
export interface LocalSnapshotDatabase {
  /** The RDS-style identifier snapshots are taken of (`createSnapshot`'s `database`). */
  instance: string;
  /** The PostgreSQL database it stands for. */
  name: string;
  /** The tags `listDatabases` selects on, as an RDS instance's tags. */
  tags: Readonly<Record<string, string>>;
}

interface SnapshotRow {
  id: string;
  database: string;
  status: SnapshotStatus;
  reason: Snapshot["reason"];
  promotion_id: string | null;
  created_at: string;
  available_at: string | null;
  size_bytes: number | null;
  tags: string;
  file_path: string | null;
  failure_reason: string | null;
  worker_pid: number | null;
}

interface DrillRow {
  target: string;
  snapshot_id: string;
  status: DrillStatus;
  failure_reason: string | null;
  worker_pid: number | null;
}

/** A background pg_dump or pg_restore and the promise that settles once its outcome is recorded. */
interface Job {
  child: ChildProcess;
  done: Promise<void>;
}

/** How a background tool ended. */
export interface ToolOutcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
  spawnError?: Error;
}

/**
 * The status a row reads as: a finished dump still reads `creating` until `available_at` (the emulated RDS delay);
 * a record from before real dumps (no file) reads available once its time has come, as it always did.
 */
const statusOf = (row: SnapshotRow, now: string): SnapshotStatus => {
  if (row.file_path === null && row.status === "creating" && row.available_at !== null) {
    return row.available_at <= now ? "available" : "creating";
  }
  if (row.status === "available" && row.available_at !== null && row.available_at > now) return "creating";
  return row.status;
};

const isCreatedBySwitchyard = (tags: Record<string, string>): boolean =>
  tags[snapshotTagKeys.createdBy] === snapshotCreator;

const isAlive = (pid: number | null): boolean => {
  if (pid === null) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
};

const isExecutable = (path: string): boolean => {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
};

/**
 * What went wrong, from a tool's stderr, fit for a status page: its last error lines without the tool's prefix, the
 * server's address, anything shaped like a connection string, or `secret`.
 *
 * @example
 * summariseToolError("pg_dump", { code: 1, signal: null, stderr }, password);
 * // 'pg_dump exited with code 1: connecting to the server failed: FATAL: password authentication failed for user "postgres"'
 */
export const summariseToolError = (tool: string, outcome: ToolOutcome, secret: string): string => {
  const how = outcome.spawnError
    ? `could not start (${(outcome.spawnError as NodeJS.ErrnoException).code ?? outcome.spawnError.message})`
    : outcome.signal
      ? `was stopped by ${outcome.signal}`
      : `exited with code ${outcome.code}`;
  const lines = outcome.stderr
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "");
  const errors = lines.filter((line) => /error|fatal|failed|could not|denied/i.test(line));
  const quoted = (errors.length > 0 ? errors : lines)
    .slice(-failureReasonLines)
    .map((line) =>
      line
        .replace(/^(?:pg_dump|pg_restore|pg_wrapper):\s*(?:error:\s*)?/i, "")
        .replace(
          /connection to server (?:at|on socket) "[^"]*"(?: \([^)]*\))?(?:, port \d+)? failed:/g,
          "connecting to the server failed:",
        )
        .replace(/postgres(?:ql)?:\/\/\S+/gi, "<connection string>")
        .replace(
          /\b\w+\s*=\s*(?:'[^']*'|[^\s"']+)(?:\s+\w+\s*=\s*(?:'[^']*'|[^\s"']+))+/g,
          "<connection string>",
        )
        .replace(/\s+/g, " ")
        .trim(),
    )
    .join("; ");
  const safe = secret === "" ? quoted : quoted.split(secret).join("***");
  const text = safe.length > failureReasonChars ? `${safe.slice(0, failureReasonChars)}…` : safe;
  return `${tool} ${how}${text === "" ? "" : `: ${text}`}`;
};

export interface LocalSnapshotServiceOptions {
  db: SqliteDatabase;
  clock: Clock;
  /** Where dumps are written, one `<snapshot id>.dump` each (the runtime's `.switchyard/snapshots`). */
  dir: string;
  /**
   * The embedded PostgreSQL's superuser: pg_dump, pg_restore and the drills connect as it. The password reaches the
   * tools through their environment (`PGPASSWORD`), never their command line, and never an error. Undefined when the
   * runtime started no PostgreSQL, which it does only when no database is configured.
   */
  superuser: DatabaseCredentials | undefined;
  /** The databases there are; any other identifier is a `NotFoundError`, as RDS answers for it. */
  databases: readonly LocalSnapshotDatabase[];
  /**
   * The least time a snapshot reads `creating`, however soon its dump ends, as an RDS snapshot takes minutes: it lets
   * the local runtime exercise the waiting a workflow does on AWS. Default 0.
   */
  availableAfterMs?: number;
  /** The directory holding `pg_dump` and `pg_restore`; default: the first on `PATH` that has them. */
  binDir?: string;
}

/**
 * The SnapshotService port for the local runtime. A snapshot is a `pg_dump --format=custom` of the database behind an
 * identifier, written in the background to `<dir>/<snapshot id>.dump`: `createSnapshot` answers `creating` at once,
 * and the snapshot turns `available` (with the file's size) when pg_dump exits 0, `failed` otherwise, with a
 * `failureReason` quoting its error without addresses, connection strings or the password. It is named and tagged
 * exactly as on RDS; listings and lookups show only snapshots tagged `switchyard:created-by=switchyard`, newest first
 * (`listManualSnapshots` shows every record). A repeat of a request in the same second returns the snapshot the first
 * one started; another request landing on the same name is a `ConflictError`. Records live in SQLite and survive a
 * restart; a dump whose process died with a previous runtime reads `failed`.
 *
 * A restore drill creates the scratch database `switchyard_drill_…` (the scratch name with `_` for `-`) and fills it
 * with `pg_restore --no-owner` in the background. Only `switchyard_drill_…` databases this service made are ever
 * dropped. Copies to another region need AWS and are refused. `pg_dump` and `pg_restore` come from Debian's
 * `postgresql-client`; a missing one is a `MissingToolError` when first needed. `close()` stops what still runs.
 *
 * @example
 * const snapshots = new LocalSnapshotService({
 *   db, clock, dir: join(home, "snapshots"), superuser: postgres.superuser,
 *   databases: [{ instance: "orders", name: "orders", tags: { "switchyard:backup": "true" } }],
 * });
 * await snapshots.createSnapshot({ database: "orders", reason: "manual" });
 * // { id: "switchyard-orders-20260501120000-manual", status: "creating", … }
 */
export class LocalSnapshotService implements SnapshotService {
  private readonly clock: Clock;
  private readonly dir: string;
  private readonly superuser: DatabaseCredentials | undefined;
  private readonly databases: ReadonlyMap<string, LocalSnapshotDatabase>;
  private readonly availableAfterMs: number;
  private readonly binDir: string | undefined;
  private readonly sql: (text: string) => SqliteStatement;
  private readonly tools = new Map<string, string>();
  private readonly jobs = new Map<string, Job>();
  /** Errors of background work that had no caller left to fail: `settled()` and `close()` throw them. */
  private readonly backgroundErrors: unknown[] = [];
  private closed = false;

  constructor(options: LocalSnapshotServiceOptions) {
    this.clock = options.clock;
    this.dir = options.dir;
    this.superuser = options.superuser;
    if (options.superuser === undefined && options.databases.length > 0) {
      throw new ValidationError(
        "the local snapshot service needs the PostgreSQL superuser to dump its databases",
      );
    }
    for (const database of options.databases) {
      if (!databaseNamePattern.test(database.name)) {
        throw new ValidationError(`"${database.name}" is not a PostgreSQL database name pg_dump is given`);
      }
    }
    this.databases = new Map(options.databases.map((database) => [database.instance, database]));
    this.availableAfterMs = options.availableAfterMs ?? 0;
    this.binDir = options.binDir;
    options.db.exec(schema);
    const existing = new Set(
      (options.db.prepare("PRAGMA table_info(database_snapshots)").all() as { name: string }[]).map(
        (c) => c.name,
      ),
    );
    for (const [column, type] of Object.entries(addedSnapshotColumns)) {
      if (!existing.has(column))
        options.db.exec(`ALTER TABLE database_snapshots ADD COLUMN ${column} ${type}`);
    }
    this.sql = statementCache(options.db);
    this.failOrphans();
  }

  async createSnapshot(input: {
    database: string;
    reason: Snapshot["reason"];
    promotionId?: string;
    note?: string;
  }): Promise<Snapshot> {
    const database = this.databases.get(input.database);
    if (database === undefined) {
      const known = [...this.databases.keys()].join(", ") || "none";
      throw new NotFoundError(
        `database "${input.database}" is not one of the local runtime's databases (${known})`,
      );
    }
    this.assertOpen();
    const pgDump = this.toolPath("pg_dump");
    const now = this.clock.now();
    const id = snapshotName(input.database, input.reason, now);
    const tags = snapshotTags(input);
    const file = join(this.dir, `${id}.dump`);
    const { changes } = this.sql(
      `INSERT INTO database_snapshots
         (id, database, status, reason, promotion_id, created_at, available_at, tags, file_path, worker_pid)
       VALUES (?, ?, 'creating', ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
    ).run(
      id,
      input.database,
      input.reason,
      input.promotionId ?? null,
      now.toISOString(),
      new Date(now.getTime() + this.availableAfterMs).toISOString(),
      JSON.stringify(tags),
      file,
      process.pid,
    );
    if (changes === 1) this.startDump(id, database.name, file, pgDump);
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
    const row = this.sql(`SELECT * FROM database_snapshots WHERE id = ? AND ${createdBySwitchyard}`).get(
      id,
    ) as SnapshotRow | undefined;
    return row === undefined ? undefined : this.toSnapshot(row, this.now());
  }

  async listSnapshots(filter: { database?: string } = {}): Promise<Snapshot[]> {
    const rows = (
      filter.database === undefined
        ? this.sql(
            `SELECT * FROM database_snapshots WHERE ${createdBySwitchyard} ORDER BY created_at DESC, id DESC`,
          ).all()
        : this.sql(
            `SELECT * FROM database_snapshots WHERE database = ? AND ${createdBySwitchyard}
             ORDER BY created_at DESC, id DESC`,
          ).all(filter.database)
    ) as SnapshotRow[];
    const now = this.now();
    return rows.map((row) => this.toSnapshot(row, now));
  }

  async listDatabases(selector: { tagKey: string; tagValue: string }): Promise<DatabaseTarget[]> {
    return [...this.databases.values()]
      .filter((database) => database.tags[selector.tagKey] === selector.tagValue)
      .map((database) => ({
        identifier: database.instance,
        kind: "instance" as const,
        engine: "postgres",
        encrypted: false,
      }))
      .sort((a, b) => a.identifier.localeCompare(b.identifier));
  }

  async listManualSnapshots(): Promise<ManualSnapshot[]> {
    const rows = this.sql(
      "SELECT * FROM database_snapshots ORDER BY created_at DESC, id DESC",
    ).all() as SnapshotRow[];
    const now = this.now();
    return rows.map((row) => ({
      id: row.id,
      database: row.database,
      createdAt: row.created_at,
      status: statusOf(row, now),
      type: "manual",
      createdBySwitchyard: isCreatedBySwitchyard(JSON.parse(row.tags) as Record<string, string>),
    }));
  }

  async deleteSnapshot(id: string): Promise<void> {
    const row = this.sql("SELECT * FROM database_snapshots WHERE id = ?").get(id) as SnapshotRow | undefined;
    if (row === undefined) return;
    if (!isCreatedBySwitchyard(JSON.parse(row.tags) as Record<string, string>)) {
      throw new ValidationError(`snapshot ${id} was not taken by Switchyard: Switchyard never deletes it`);
    }
    if (statusOf(row, this.now()) === "creating") {
      throw new TransientError(
        `snapshot ${id} is still being created: it can be deleted once it is available`,
      );
    }
    if (row.file_path !== null) {
      // Removed before the record, so a failure leaves a record to retry the deletion from.
      rmSync(row.file_path, { force: true });
      rmSync(`${row.file_path}.partial`, { force: true });
    }
    this.sql("DELETE FROM database_snapshots WHERE id = ?").run(id);
  }

  async copySnapshot(id: string, target: { region: string; kmsKeyArn?: string }): Promise<CopiedSnapshot> {
    throw new ValidationError(
      `snapshot ${id} cannot be copied to ${target.region}: copying to another region needs AWS, and the local ` +
        "runtime has a single region",
    );
  }

  async restoreForDrill(snapshotId: string, scratchName: string): Promise<{ target: string }> {
    assertDrillScratchName(scratchName);
    const target = scratchName.replace(/-/g, "_");
    const snapshot = await this.getSnapshot(snapshotId);
    if (snapshot === undefined)
      throw new NotFoundError(`snapshot ${snapshotId} is not a snapshot Switchyard took`);
    if (snapshot.status === "creating") {
      throw new TransientError(
        `snapshot ${snapshotId} is still being created: it can be restored once available`,
      );
    }
    if (snapshot.status !== "available") {
      throw new ValidationError(`snapshot ${snapshotId} is ${snapshot.status}: it cannot be restored`);
    }
    const { file_path: file } = this.sql("SELECT file_path FROM database_snapshots WHERE id = ?").get(
      snapshotId,
    ) as {
      file_path: string | null;
    };
    if (file === null || !existsSync(file)) {
      throw new ValidationError(
        `snapshot ${snapshotId} has no dump file${file === null ? " (a record from before snapshots were dumps)" : ` at ${file}`}`,
      );
    }
    this.assertOpen();
    const pgRestore = this.toolPath("pg_restore");
    const { changes } = this.sql(
      `INSERT INTO snapshot_drills (target, snapshot_id, status, created_at, worker_pid)
       VALUES (?, ?, 'creating', ?, ?) ON CONFLICT (target) DO NOTHING`,
    ).run(target, snapshotId, this.now(), process.pid);
    if (changes === 0) {
      const existing = this.drillRow(target);
      if (existing?.snapshot_id === snapshotId) return { target };
      throw new ConflictError(`drill target ${target} is taken by a drill of another snapshot`);
    }
    try {
      // template0: a scratch database holds exactly what the dump restores, nothing template1 was given.
      await this.withSuperuser((client) =>
        client.query(`CREATE DATABASE ${pg.escapeIdentifier(target)} TEMPLATE template0`),
      );
    } catch (error) {
      this.sql("DELETE FROM snapshot_drills WHERE target = ?").run(target);
      if ((error as { code?: unknown }).code === "42P04") {
        throw new ConflictError(
          `a database named ${target} exists already and is not a drill this service started`,
        );
      }
      throw this.databaseError(error, `creating the drill database ${target}`);
    }
    this.startRestore(target, file, pgRestore);
    return { target };
  }

  async drillStatus(target: string): Promise<DrillStatus> {
    const row = this.drillRow(target);
    if (row === undefined) throw new NotFoundError(`drill target ${target} does not exist`);
    return row.status;
  }

  async runSmokeQuery(target: string, query: string): Promise<{ rows: number; value?: string }> {
    const row = this.drillRow(target);
    if (row === undefined) throw new NotFoundError(`drill target ${target} does not exist`);
    if (row.status === "creating") throw new TransientError(`drill target ${target} is still being restored`);
    if (row.status === "failed") {
      throw new ValidationError(
        `drill target ${target} failed: ${row.failure_reason ?? "no reason recorded"}`,
      );
    }
    return runSmokeQuery(
      pgSmokeQueryConnect,
      {
        host: this.server().host,
        port: this.server().port,
        user: this.server().username,
        password: this.server().password,
        database: target,
      },
      query,
      `drill target ${target}`,
    );
  }

  async deleteDrillTarget(target: string): Promise<void> {
    if (!localDrillTargetPattern.test(target) || target.length > maxDatabaseNameLength) {
      throw new ValidationError(`${target} is not a restore-drill target: Switchyard never drops it`);
    }
    const job = this.jobs.get(`drill:${target}`);
    if (job !== undefined) {
      job.child.kill(stopSignal);
      await job.done;
    }
    const row = this.drillRow(target);
    if (row === undefined && this.superuser === undefined) return;
    if (row === undefined) {
      const exists = await this.withSuperuser((client) =>
        client.query("SELECT 1 FROM pg_database WHERE datname = $1", [target]),
      );
      if ((exists.rowCount ?? 0) > 0) {
        throw new ValidationError(
          `database ${target} is not a drill this service started: Switchyard never drops it`,
        );
      }
      return;
    }
    try {
      // FORCE: a smoke query's session, or an operator's psql, would otherwise keep the database from being dropped.
      await this.withSuperuser((client) =>
        client.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(target)} WITH (FORCE)`),
      );
    } catch (error) {
      throw this.databaseError(error, `dropping the drill database ${target}`);
    }
    this.sql("DELETE FROM snapshot_drills WHERE target = ?").run(target);
  }

  /**
   * Resolves once every dump and restore started so far has ended and its outcome is recorded; rejects with the first
   * error such a background job could not record.
   *
   * @example
   * await snapshots.createSnapshot({ database: "orders", reason: "manual" });
   * await snapshots.settled(); // the snapshot is now available or failed
   */
  async settled(): Promise<void> {
    while (this.jobs.size > 0) await Promise.all([...this.jobs.values()].map((job) => job.done));
    const [first] = this.backgroundErrors.splice(0);
    if (first !== undefined) throw first;
  }

  /**
   * Stops every dump and restore still running (each is recorded `failed`) and waits until they have ended, so the
   * database can be closed after. Nothing new starts afterwards.
   *
   * @example
   * await snapshots.close();
   * db.close();
   */
  async close(): Promise<void> {
    this.closed = true;
    for (const job of this.jobs.values()) job.child.kill(stopSignal);
    await this.settled();
  }

  private now(): string {
    return this.clock.now().toISOString();
  }

  /** The embedded PostgreSQL's superuser; records left from a configuration that had databases may ask for it. */
  private server(): DatabaseCredentials {
    if (this.superuser === undefined) {
      throw new ValidationError(
        "the local runtime runs no PostgreSQL: no database is configured in local.postgres",
      );
    }
    return this.superuser;
  }

  /** Checked before anything is recorded, so no record waits for a job that was never started. */
  private assertOpen(): void {
    if (this.closed) throw new TransientError("the local snapshot service is shutting down");
  }

  private toSnapshot(row: SnapshotRow, now: string): Snapshot {
    const status = statusOf(row, now);
    return {
      id: row.id,
      database: row.database,
      status,
      reason: row.reason,
      ...(row.promotion_id !== null && { promotionId: row.promotion_id }),
      createdAt: row.created_at,
      ...(status === "available" && row.size_bytes !== null && { sizeBytes: row.size_bytes }),
      tags: JSON.parse(row.tags) as Record<string, string>,
      ...(status === "failed" && row.failure_reason !== null && { failureReason: row.failure_reason }),
    };
  }

  private drillRow(target: string): DrillRow | undefined {
    return this.sql("SELECT * FROM snapshot_drills WHERE target = ?").get(target) as DrillRow | undefined;
  }

  /** Dumps and restores whose process died with an earlier runtime will never be recorded: they failed. */
  private failOrphans(): void {
    const reason = "interrupted: the local runtime stopped while it ran";
    const snapshots = this.sql(
      "SELECT id, file_path, worker_pid FROM database_snapshots WHERE status = 'creating' AND file_path IS NOT NULL",
    ).all() as { id: string; file_path: string; worker_pid: number | null }[];
    for (const row of snapshots) {
      if (isAlive(row.worker_pid)) continue;
      rmSync(`${row.file_path}.partial`, { force: true });
      this.sql("UPDATE database_snapshots SET status = 'failed', failure_reason = ? WHERE id = ?").run(
        `pg_dump ${reason}`,
        row.id,
      );
    }
    const drills = this.sql(
      "SELECT target, worker_pid FROM snapshot_drills WHERE status = 'creating'",
    ).all() as {
      target: string;
      worker_pid: number | null;
    }[];
    for (const row of drills) {
      if (isAlive(row.worker_pid)) continue;
      this.sql("UPDATE snapshot_drills SET status = 'failed', failure_reason = ? WHERE target = ?").run(
        `pg_restore ${reason}`,
        row.target,
      );
    }
  }

  /** The tool's path, checked once: a missing client package is said plainly, before anything is recorded. */
  private toolPath(tool: "pg_dump" | "pg_restore"): string {
    const known = this.tools.get(tool);
    if (known !== undefined) return known;
    const dirs =
      this.binDir !== undefined ? [this.binDir] : (process.env.PATH ?? "").split(delimiter).filter(Boolean);
    const found = dirs.map((dir) => join(dir, tool)).find(isExecutable);
    if (found === undefined) {
      throw new MissingToolError(
        `${tool} was not found in ${this.binDir ?? "any directory on PATH"}: local snapshots need PostgreSQL's ` +
          "client tools of the embedded server's major version or newer, Debian's postgresql-client package " +
          "(apt-get install -y postgresql-client)",
      );
    }
    this.tools.set(tool, found);
    return found;
  }

  /** The tools' connection: flags for the endpoint, the password in the environment only. */
  private toolConnection(): { args: string[]; env: NodeJS.ProcessEnv } {
    const { host, port, username, password } = this.server();
    return {
      args: [`--host=${host}`, `--port=${port}`, `--username=${username}`, "--no-password"],
      // Not the parent's environment: a PGHOST, PGSERVICE or PGPASSFILE there must not redirect the tools.
      env: {
        PATH: process.env.PATH ?? "/usr/bin:/bin",
        LC_ALL: "C",
        PGPASSWORD: password,
        PGCONNECT_TIMEOUT: String(connectTimeoutSeconds),
        PGAPPNAME: "switchyard-snapshots",
      },
    };
  }

  private startDump(id: string, database: string, file: string, pgDump: string): void {
    const partial = `${file}.partial`;
    const { args, env } = this.toolConnection();
    this.startJob(
      `snapshot:${id}`,
      pgDump,
      ["--format=custom", `--file=${partial}`, ...args, `--dbname=${database}`],
      env,
      (outcome) => {
        if (outcome.code === 0 && !outcome.spawnError) {
          // Renamed only once complete: a file named <id>.dump is always a whole dump.
          renameSync(partial, file);
          this.sql(
            "UPDATE database_snapshots SET status = 'available', size_bytes = ?, failure_reason = NULL WHERE id = ?",
          ).run(statSync(file).size, id);
          return;
        }
        rmSync(partial, { force: true });
        this.sql("UPDATE database_snapshots SET status = 'failed', failure_reason = ? WHERE id = ?").run(
          summariseToolError("pg_dump", outcome, this.server().password),
          id,
        );
      },
    );
  }

  private startRestore(target: string, file: string, pgRestore: string): void {
    const { args, env } = this.toolConnection();
    this.startJob(
      `drill:${target}`,
      pgRestore,
      ["--no-owner", "--exit-on-error", ...args, `--dbname=${target}`, file],
      env,
      (outcome) => {
        const ok = outcome.code === 0 && !outcome.spawnError;
        this.sql("UPDATE snapshot_drills SET status = ?, failure_reason = ? WHERE target = ?").run(
          ok ? "available" : "failed",
          ok ? null : summariseToolError("pg_restore", outcome, this.server().password),
          target,
        );
      },
    );
  }

  /** Runs a tool in the background; `record` writes its outcome, and `settled()` reports a failure to write it. */
  private startJob(
    key: string,
    path: string,
    args: string[],
    env: NodeJS.ProcessEnv,
    record: (outcome: ToolOutcome) => void,
  ): void {
    mkdirSync(this.dir, { recursive: true });
    const child = spawn(path, args, { env, stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr?.setEncoding("utf8");
    child.stderr?.on("data", (chunk: string) => {
      stderr = (stderr + chunk).slice(-stderrKeptBytes);
    });
    const done = new Promise<ToolOutcome>((resolve) => {
      child.once("error", (spawnError) => resolve({ code: null, signal: null, stderr, spawnError }));
      child.once("close", (code, signal) => resolve({ code, signal, stderr }));
    })
      .then(record)
      .catch((error: unknown) => {
        this.backgroundErrors.push(error);
      })
      .finally(() => {
        this.jobs.delete(key);
      });
    this.jobs.set(key, { child, done });
  }

  private async withSuperuser<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
    const superuser = this.server();
    const client = new pg.Client({
      host: superuser.host,
      port: superuser.port,
      user: superuser.username,
      password: superuser.password,
      database: superuser.dbname,
      connectionTimeoutMillis: connectTimeoutSeconds * 1_000,
    });
    // A server stopped under an open client emits "error"; unhandled, that would end the process.
    client.on("error", () => undefined);
    try {
      await client.connect();
      return await work(client);
    } finally {
      await client.end().catch(() => undefined);
    }
  }

  /**
   * PostgreSQL's message and SQLSTATE, the password cut out should a message ever carry it, and no cause holding the
   * original error; retryable only for connection and server trouble.
   */
  private databaseError(error: unknown, doing: string): Error {
    const code = (error as { code?: unknown }).code;
    const raw = error instanceof Error ? error.message : String(error);
    const password = this.superuser?.password ?? "";
    const message = password === "" ? raw : raw.split(password).join("***");
    const text = `${doing} failed${typeof code === "string" ? ` (${code})` : ""}: ${message}`;
    return typeof code === "string" && transientSqlStatePattern.test(code)
      ? new TransientError(text)
      : new ValidationError(text);
  }
}
