// The local ApprovalStore: approval requests in SQLite, each task token in a column no record read selects.

import {
  approvalListLimit,
  checkApprovalTimes,
} from "../../functions/adapters/aws/dynamodb-approval-store.ts";
import { ConflictError, NotFoundError } from "../../functions/core/errors.ts";
import type { ApprovalRecord, ApprovalStore } from "../../functions/core/ports.ts";
import { type SqliteDatabase, type SqliteStatement, statementCache } from "../db.ts";

const schema = `
  CREATE TABLE IF NOT EXISTS approval_requests (
    id TEXT PRIMARY KEY,
    promotion_id TEXT NOT NULL,
    state TEXT NOT NULL,
    requested_at_ms INTEGER NOT NULL,
    version INTEGER NOT NULL,
    record TEXT NOT NULL,
    task_token TEXT NOT NULL
  ) STRICT;
  CREATE INDEX IF NOT EXISTS approval_requests_by_promotion
    ON approval_requests(promotion_id, requested_at_ms DESC, id DESC);
  CREATE INDEX IF NOT EXISTS approval_requests_by_state
    ON approval_requests(state, requested_at_ms DESC, id DESC);
`;

/** What record reads select: never `task_token`, so no listing can carry it by accident. */
const recordColumns = "record, version";

interface RecordRow {
  record: string;
  version: number;
}

type ApprovalFilter = NonNullable<Parameters<ApprovalStore["list"]>[0]>;

export interface SqliteApprovalStoreOptions {
  db: SqliteDatabase;
}

/** The version lives in its own column, the one `update` is conditional on; the JSON holds the rest. */
const toRecord = (row: RecordRow): ApprovalRecord => ({
  ...(JSON.parse(row.record) as Omit<ApprovalRecord, "version">),
  version: row.version,
});

const columns = (record: ApprovalRecord) => {
  const { version: _version, ...rest } = record;
  return {
    id: record.id,
    promotion_id: record.promotionId,
    state: record.state,
    requested_at_ms: Date.parse(checkApprovalTimes(record).requestedAt),
    record: JSON.stringify(rest),
  };
};

/**
 * The ApprovalStore port on SQLite, with the DynamoDB store's semantics: `create` takes an id once, `update` is one
 * `UPDATE … WHERE id = ? AND version = ?`, so of two writers (the CLI and the runtime share the file) that read the
 * same version exactly one wins and the other gets `ConflictError`. Listings order by the instant `requestedAt`
 * names, then by id, as the DynamoDB indexes do.
 *
 * @example
 * const store = new SqliteApprovalStore({ db: openDatabase(join(home, "state.db")) });
 * await store.create(record, taskToken);
 * const pending = await store.list({ state: "pending" });
 */
export class SqliteApprovalStore implements ApprovalStore {
  private readonly sql: (text: string) => SqliteStatement;

  constructor(options: SqliteApprovalStoreOptions) {
    options.db.exec(schema);
    this.sql = statementCache(options.db);
  }

  async create(record: ApprovalRecord, taskToken: string): Promise<boolean> {
    const inserted = this.sql(
      `INSERT INTO approval_requests (id, promotion_id, state, requested_at_ms, version, record, task_token)
       VALUES (@id, @promotion_id, @state, @requested_at_ms, 1, @record, @task_token)
       ON CONFLICT (id) DO NOTHING`,
    ).run({ ...columns(record), task_token: taskToken });
    return inserted.changes === 1;
  }

  async get(id: string): Promise<ApprovalRecord | undefined> {
    const row = this.sql(`SELECT ${recordColumns} FROM approval_requests WHERE id = ?`).get(id) as
      | RecordRow
      | undefined;
    return row && toRecord(row);
  }

  async findByPromotion(promotionId: string): Promise<ApprovalRecord | undefined> {
    const row = this.sql(
      `SELECT ${recordColumns} FROM approval_requests WHERE promotion_id = ?
       ORDER BY requested_at_ms DESC, id DESC LIMIT 1`,
    ).get(promotionId) as RecordRow | undefined;
    return row && toRecord(row);
  }

  async list(filter: ApprovalFilter = {}): Promise<ApprovalRecord[]> {
    const limit = approvalListLimit(filter.limit);
    const rows = this.sql(
      `SELECT ${recordColumns} FROM approval_requests WHERE (@state IS NULL OR state = @state)
       ORDER BY requested_at_ms DESC, id DESC LIMIT @limit`,
    ).all({ state: filter.state ?? null, limit }) as RecordRow[];
    return rows.map(toRecord);
  }

  async update(record: ApprovalRecord): Promise<ApprovalRecord> {
    const { id, promotion_id, state, requested_at_ms, record: json } = columns(record);
    const updated = this.sql(
      `UPDATE approval_requests SET promotion_id = @promotion_id, state = @state,
         requested_at_ms = @requested_at_ms, record = @record, version = version + 1
       WHERE id = @id AND version = @version`,
    ).run({ id, promotion_id, state, requested_at_ms, record: json, version: record.version });
    if (updated.changes === 1) return toRecord({ record: json, version: record.version + 1 });
    const stored = this.sql("SELECT version FROM approval_requests WHERE id = ?").pluck().get(id) as
      | number
      | undefined;
    if (stored === undefined) throw new NotFoundError(`approval ${id} does not exist`);
    throw new ConflictError(
      `approval ${id} is at version ${stored}, not ${record.version}: re-read it and apply the change again`,
    );
  }

  async taskToken(id: string): Promise<string | undefined> {
    return this.sql("SELECT task_token FROM approval_requests WHERE id = ?").pluck().get(id) as
      | string
      | undefined;
  }

  async replaceTaskToken(id: string, taskToken: string): Promise<void> {
    const replaced = this.sql("UPDATE approval_requests SET task_token = ? WHERE id = ?").run(taskToken, id);
    if (replaced.changes === 0) throw new NotFoundError(`approval ${id} does not exist`);
  }
}
