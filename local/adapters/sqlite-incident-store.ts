// The local IncidentStore: incidents in SQLite, one per alert firing, their wait tokens in a table no read selects.

import {
  applyIncidentChanges,
  type IncidentChanges,
  incidentInstant,
  incidentListLimit,
  newIncidentRecord,
} from "../../functions/adapters/aws/dynamodb-incident-store.ts";
import { ConflictError, NotFoundError, ValidationError } from "../../functions/core/errors.ts";
import type {
  IncidentRecord,
  IncidentStore,
  IncidentTimelineEntry,
  NewIncident,
} from "../../functions/core/ports.ts";
import { type SqliteDatabase, type SqliteStatement, statementCache } from "../db.ts";

/**
 * `starts_at` and `opened_at` hold the instants as `toISOString()`, so a firing is one key whatever offset it was
 * written with and text order is time order. The partial index serves `findActive`: resolved incidents leave it.
 */
const schema = `
  CREATE TABLE IF NOT EXISTS incidents (
    id TEXT PRIMARY KEY,
    fingerprint TEXT NOT NULL,
    starts_at TEXT NOT NULL,
    status TEXT NOT NULL,
    opened_at TEXT NOT NULL,
    version INTEGER NOT NULL,
    record TEXT NOT NULL,
    UNIQUE (fingerprint, starts_at)
  ) STRICT;
  CREATE INDEX IF NOT EXISTS incidents_active_by_fingerprint
    ON incidents(fingerprint, opened_at DESC, id DESC) WHERE status <> 'resolved';
  CREATE INDEX IF NOT EXISTS incidents_by_status ON incidents(status, opened_at DESC, id DESC);
  CREATE INDEX IF NOT EXISTS incidents_by_opened_at ON incidents(opened_at DESC, id DESC);
  CREATE TABLE IF NOT EXISTS incident_wait_tokens (
    incident_id TEXT PRIMARY KEY REFERENCES incidents(id) ON DELETE CASCADE,
    token TEXT NOT NULL
  ) STRICT;
`;

/** What record reads select: the record and its version, from a table that holds no token. */
const recordColumns = "record, version";

interface RecordRow {
  record: string;
  version: number;
}

type IncidentFilter = NonNullable<Parameters<IncidentStore["list"]>[0]>;

export interface SqliteIncidentStoreOptions {
  db: SqliteDatabase;
}

/** The version lives in its own column, the one `update` is conditional on; the JSON holds the rest. */
const toRecord = (row: RecordRow): IncidentRecord => ({
  ...(JSON.parse(row.record) as Omit<IncidentRecord, "version">),
  version: row.version,
});

const recordJson = (record: IncidentRecord): string => {
  const { version: _version, ...rest } = record;
  return JSON.stringify(rest);
};

/**
 * The IncidentStore port on SQLite, with the DynamoDB store's semantics (and its helpers, so both build records,
 * cap timelines and check input alike): `open` is one `INSERT … ON CONFLICT DO NOTHING` under
 * UNIQUE (fingerprint, starts_at), so of any number of opens of one firing, from any connection, exactly one
 * creates; `update` is one `UPDATE … WHERE id = ? AND version = ?`, so of two writers that read the same version
 * exactly one wins and the other gets `ConflictError`. Listings order by the instant `openedAt` names, then by id,
 * as the DynamoDB indexes do.
 *
 * @example
 * const store = new SqliteIncidentStore({ db: openDatabase(join(home, "state.db")) });
 * const { created, incident } = await store.open(alert);
 * const active = await store.findActive(alert.fingerprint);
 */
export class SqliteIncidentStore implements IncidentStore {
  private readonly sql: (text: string) => SqliteStatement;

  constructor(options: SqliteIncidentStoreOptions) {
    options.db.exec(schema);
    this.sql = statementCache(options.db);
  }

  async open(incident: NewIncident): Promise<{ created: boolean; incident: IncidentRecord }> {
    const record = newIncidentRecord(incident);
    const startsAt = incidentInstant(record.startsAt, `incident ${record.id} startsAt`);
    const inserted = this.sql(
      `INSERT INTO incidents (id, fingerprint, starts_at, status, opened_at, version, record)
       VALUES (@id, @fingerprint, @starts_at, @status, @opened_at, @version, @record)
       ON CONFLICT DO NOTHING`,
    ).run({
      id: record.id,
      fingerprint: record.fingerprint,
      starts_at: startsAt,
      status: record.status,
      opened_at: incidentInstant(record.openedAt, `incident ${record.id} openedAt`),
      version: record.version,
      record: recordJson(record),
    });
    if (inserted.changes === 1) return { created: true, incident: record };
    const existing = this.sql(
      `SELECT ${recordColumns} FROM incidents WHERE fingerprint = ? AND starts_at = ?`,
    ).get(record.fingerprint, startsAt) as RecordRow | undefined;
    if (existing === undefined) {
      throw new ValidationError(`incident id ${record.id} is already taken by another alert`);
    }
    return { created: false, incident: toRecord(existing) };
  }

  async get(id: string): Promise<IncidentRecord | undefined> {
    const row = this.sql(`SELECT ${recordColumns} FROM incidents WHERE id = ?`).get(id) as
      | RecordRow
      | undefined;
    return row && toRecord(row);
  }

  async findActive(fingerprint: string): Promise<IncidentRecord | undefined> {
    const row = this.sql(
      `SELECT ${recordColumns} FROM incidents WHERE fingerprint = ? AND status <> 'resolved'
       ORDER BY opened_at DESC, id DESC LIMIT 1`,
    ).get(fingerprint) as RecordRow | undefined;
    return row && toRecord(row);
  }

  async list(filter: IncidentFilter = {}): Promise<IncidentRecord[]> {
    const limit = incidentListLimit(filter.limit);
    const rows = this.sql(
      `SELECT ${recordColumns} FROM incidents WHERE (@status IS NULL OR status = @status)
       ORDER BY opened_at DESC, id DESC LIMIT @limit`,
    ).all({ status: filter.status ?? null, limit }) as RecordRow[];
    return rows.map(toRecord);
  }

  async update(
    id: string,
    expectedVersion: number,
    changes: IncidentChanges,
    timeline: readonly IncidentTimelineEntry[] = [],
  ): Promise<IncidentRecord> {
    const row = this.sql(`SELECT ${recordColumns} FROM incidents WHERE id = ?`).get(id) as
      | RecordRow
      | undefined;
    if (row === undefined) throw new NotFoundError(`incident ${id} does not exist`);
    if (row.version !== expectedVersion) throw this.conflict(id, row.version, expectedVersion);
    const next = applyIncidentChanges(toRecord(row), changes, timeline);
    const updated = this.sql(
      `UPDATE incidents SET status = @status, record = @record, version = @next
       WHERE id = @id AND version = @expected`,
    ).run({
      id,
      status: next.status,
      record: recordJson(next),
      next: next.version,
      expected: expectedVersion,
    });
    if (updated.changes === 1) return next;
    // Another connection (the CLI and the runtime share the file) wrote between the read and the write.
    const stored = this.sql("SELECT version FROM incidents WHERE id = ?").pluck().get(id) as
      | number
      | undefined;
    if (stored === undefined) throw new NotFoundError(`incident ${id} does not exist`);
    throw this.conflict(id, stored, expectedVersion);
  }

  async setWaitToken(id: string, token: string | null): Promise<void> {
    if (token === "") throw new ValidationError(`incident ${id} wait token must not be empty`);
    const exists = this.sql("SELECT 1 FROM incidents WHERE id = ?").pluck().get(id) !== undefined;
    if (!exists) throw new NotFoundError(`incident ${id} does not exist`);
    if (token === null) {
      this.sql("DELETE FROM incident_wait_tokens WHERE incident_id = ?").run(id);
      return;
    }
    this.sql(
      `INSERT INTO incident_wait_tokens (incident_id, token) VALUES (?, ?)
       ON CONFLICT (incident_id) DO UPDATE SET token = excluded.token`,
    ).run(id, token);
  }

  async waitToken(id: string): Promise<string | undefined> {
    return this.sql("SELECT token FROM incident_wait_tokens WHERE incident_id = ?").pluck().get(id) as
      | string
      | undefined;
  }

  private conflict(id: string, stored: number, expected: number): ConflictError {
    return new ConflictError(
      `incident ${id} is at version ${stored}, not ${expected}: re-read it and apply the change again`,
    );
  }
}
