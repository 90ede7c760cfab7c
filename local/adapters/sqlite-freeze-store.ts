// The local FreezeStore: freezes in SQLite, keyed by service and freeze id as in DynamoDB.

import { checkFreezeTimes } from "../../functions/adapters/aws/dynamodb-freeze-store.ts";
import type { Freeze, FreezeStore } from "../../functions/core/ports.ts";
import { type SqliteDatabase, type SqliteStatement, statementCache } from "../db.ts";

const schema = `
  CREATE TABLE IF NOT EXISTS freezes (
    service TEXT NOT NULL,
    id TEXT NOT NULL,
    reason TEXT NOT NULL,
    set_by TEXT NOT NULL,
    set_at TEXT NOT NULL,
    set_at_ms INTEGER NOT NULL,
    until TEXT,
    source TEXT NOT NULL,
    PRIMARY KEY (service, id)
  ) STRICT;
`;

interface FreezeRow {
  service: string;
  id: string;
  reason: string;
  set_by: string;
  set_at: string;
  until: string | null;
  source: string;
}

export interface SqliteFreezeStoreOptions {
  db: SqliteDatabase;
}

const toFreeze = (row: FreezeRow): Freeze => ({
  service: row.service,
  id: row.id,
  reason: row.reason,
  setBy: row.set_by,
  setAt: row.set_at,
  ...(row.until !== null && { until: row.until }),
  source: row.source as Freeze["source"],
});

/**
 * The FreezeStore port on SQLite, with the DynamoDB store's semantics: `put` replaces a freeze with the same
 * service and id, listings order by the instant `setAt` names (then service, then id), and `remove` counts what it
 * lifted.
 *
 * @example
 * const store = new SqliteFreezeStore({ db: openDatabase(join(home, "state.db")) });
 * await store.put({ service: "checkout", id: "INC-042", reason: "incident", setBy, setAt, source: "incident" });
 * await store.remove("checkout", "INC-042"); // 1
 */
export class SqliteFreezeStore implements FreezeStore {
  private readonly sql: (text: string) => SqliteStatement;

  constructor(options: SqliteFreezeStoreOptions) {
    options.db.exec(schema);
    this.sql = statementCache(options.db);
  }

  async put(freeze: Freeze): Promise<void> {
    checkFreezeTimes(freeze);
    this.sql(
      `INSERT INTO freezes (service, id, reason, set_by, set_at, set_at_ms, until, source)
       VALUES (@service, @id, @reason, @set_by, @set_at, @set_at_ms, @until, @source)
       ON CONFLICT (service, id) DO UPDATE SET reason = excluded.reason, set_by = excluded.set_by,
         set_at = excluded.set_at, set_at_ms = excluded.set_at_ms, until = excluded.until, source = excluded.source`,
    ).run({
      service: freeze.service,
      id: freeze.id,
      reason: freeze.reason,
      set_by: freeze.setBy,
      set_at: freeze.setAt,
      set_at_ms: Date.parse(freeze.setAt),
      until: freeze.until ?? null,
      source: freeze.source,
    });
  }

  async list(service?: string): Promise<Freeze[]> {
    const rows = this.sql(
      `SELECT service, id, reason, set_by, set_at, until, source FROM freezes
       WHERE (@service IS NULL OR service = @service) ORDER BY set_at_ms, service, id`,
    ).all({ service: service ?? null }) as FreezeRow[];
    return rows.map(toFreeze);
  }

  async remove(service: string, id?: string): Promise<number> {
    return this.sql("DELETE FROM freezes WHERE service = @service AND (@id IS NULL OR id = @id)").run({
      service,
      id: id ?? null,
    }).changes;
  }
}
