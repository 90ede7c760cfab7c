// The local PromotionStore: promotions, their reasons, deployments and quarantined digests kept in SQLite.

import { NotFoundError, ValidationError } from "../../functions/core/errors.ts";
import {
  type Clock,
  type DeploymentRecord,
  isTerminal,
  type PromotionPhase,
  type PromotionRecord,
  type PromotionStore,
  type QuarantinedDigest,
} from "../../functions/core/ports.ts";
import type { SqliteDatabase } from "../db.ts";

/** How many promotions a listing returns when the caller names no limit: a screenful for the API and the CLI. */
export const defaultPromotionListLimit = 100;

const schema = `
  CREATE TABLE IF NOT EXISTS promotion_promotions (
    id TEXT PRIMARY KEY,
    service TEXT NOT NULL,
    environment TEXT NOT NULL,
    repository TEXT NOT NULL,
    tag TEXT,
    digest TEXT NOT NULL,
    pushed_at TEXT NOT NULL,
    phase TEXT NOT NULL,
    trigger_kind TEXT NOT NULL,
    trigger_event_id TEXT NOT NULL,
    trigger_requested_by TEXT,
    previous_tag TEXT,
    previous_digest TEXT,
    previous_pushed_at TEXT,
    revision TEXT,
    execution_arn TEXT,
    created_at TEXT NOT NULL,
    -- createdAt as the caller wrote it is kept for display; listing orders by the instant it names.
    created_at_ms INTEGER NOT NULL,
    updated_at TEXT NOT NULL
  ) STRICT;
  CREATE INDEX IF NOT EXISTS promotion_promotions_newest ON promotion_promotions(created_at_ms DESC, id DESC);
  CREATE INDEX IF NOT EXISTS promotion_promotions_newest_by_service
    ON promotion_promotions(service, environment, created_at_ms DESC, id DESC);
  CREATE TABLE IF NOT EXISTS promotion_reasons (
    promotion_id TEXT NOT NULL REFERENCES promotion_promotions(id),
    position INTEGER NOT NULL,
    reason TEXT NOT NULL,
    PRIMARY KEY (promotion_id, position)
  ) STRICT;
  -- The history of a decision is evidence: nothing may rewrite or drop a reason once recorded.
  CREATE TRIGGER IF NOT EXISTS promotion_reasons_no_update BEFORE UPDATE ON promotion_reasons
    BEGIN SELECT RAISE(ABORT, 'promotion reasons are append-only'); END;
  CREATE TRIGGER IF NOT EXISTS promotion_reasons_no_delete BEFORE DELETE ON promotion_reasons
    BEGIN SELECT RAISE(ABORT, 'promotion reasons are append-only'); END;
  CREATE TABLE IF NOT EXISTS promotion_deployments (
    service TEXT NOT NULL,
    environment TEXT NOT NULL,
    tag TEXT,
    digest TEXT NOT NULL,
    pushed_at TEXT NOT NULL,
    revision TEXT NOT NULL,
    -- No foreign key: a deployment may predate the store (adopted from the GitOps repository).
    promotion_id TEXT NOT NULL,
    deployed_at TEXT NOT NULL,
    PRIMARY KEY (service, environment)
  ) STRICT;
  CREATE TABLE IF NOT EXISTS promotion_quarantine (
    service TEXT NOT NULL,
    digest TEXT NOT NULL,
    reason TEXT NOT NULL,
    quarantined_at TEXT NOT NULL,
    PRIMARY KEY (service, digest)
  ) STRICT;
`;

interface PromotionRow {
  id: string;
  service: string;
  environment: string;
  repository: string;
  tag: string | null;
  digest: string;
  pushed_at: string;
  phase: string;
  trigger_kind: string;
  trigger_event_id: string;
  trigger_requested_by: string | null;
  previous_tag: string | null;
  previous_digest: string | null;
  previous_pushed_at: string | null;
  revision: string | null;
  execution_arn: string | null;
  created_at: string;
  created_at_ms: number;
  updated_at: string;
}

interface DeploymentRow {
  service: string;
  environment: string;
  tag: string | null;
  digest: string;
  pushed_at: string;
  revision: string;
  promotion_id: string;
  deployed_at: string;
}

interface QuarantineRow {
  service: string;
  digest: string;
  reason: string;
  quarantined_at: string;
}

type PromotionChange = Parameters<PromotionStore["updatePromotion"]>[1];
type PromotionFilter = NonNullable<Parameters<PromotionStore["listPromotions"]>[0]>;

export interface SqlitePromotionStoreOptions {
  db: SqliteDatabase;
  /** Stamps `updatedAt` and `quarantinedAt`. */
  clock?: Clock;
}

const systemClock: Clock = { now: () => new Date() };

const instantMs = (value: string, field: string): number => {
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw new ValidationError(`${field} "${value}" is not an ISO 8601 time`);
  return ms;
};

const checkLimit = (limit: number | undefined): number => {
  if (limit === undefined) return defaultPromotionListLimit;
  if (!Number.isInteger(limit) || limit < 1) {
    throw new ValidationError(`limit must be a positive integer, got ${limit}`);
  }
  return limit;
};

const toRecord = (row: PromotionRow, reasons: string[]): PromotionRecord => ({
  id: row.id,
  service: row.service,
  environment: row.environment,
  image: {
    repository: row.repository,
    ...(row.tag !== null && { tag: row.tag }),
    digest: row.digest,
    pushedAt: row.pushed_at,
  },
  phase: row.phase as PromotionPhase,
  reasons,
  trigger: {
    kind: row.trigger_kind as PromotionRecord["trigger"]["kind"],
    eventId: row.trigger_event_id,
    ...(row.trigger_requested_by !== null && { requestedBy: row.trigger_requested_by }),
  },
  ...(row.previous_digest !== null && {
    previous: {
      ...(row.previous_tag !== null && { tag: row.previous_tag }),
      digest: row.previous_digest,
      ...(row.previous_pushed_at !== null && { pushedAt: row.previous_pushed_at }),
    },
  }),
  ...(row.revision !== null && { revision: row.revision }),
  ...(row.execution_arn !== null && { executionArn: row.execution_arn }),
  createdAt: row.created_at,
  updatedAt: row.updated_at,
});

const toDeployment = (row: DeploymentRow): DeploymentRecord => ({
  service: row.service,
  environment: row.environment,
  ...(row.tag !== null && { tag: row.tag }),
  digest: row.digest,
  pushedAt: row.pushed_at,
  revision: row.revision,
  promotionId: row.promotion_id,
  deployedAt: row.deployed_at,
});

const toQuarantined = (row: QuarantineRow): QuarantinedDigest => ({
  service: row.service,
  digest: row.digest,
  reason: row.reason,
  quarantinedAt: row.quarantined_at,
});

/** Columns added after the first release, added in place to a home created before them. */
const laterColumns = [{ table: "promotion_promotions", column: "previous_pushed_at", type: "TEXT" }] as const;

const addMissingColumns = (db: SqliteDatabase): void => {
  for (const { table, column, type } of laterColumns) {
    const columns = db.prepare<[], { name: string }>(`SELECT name FROM pragma_table_info('${table}')`).all();
    if (!columns.some((c) => c.name === column)) db.exec(`ALTER TABLE ${table} ADD COLUMN ${column} ${type}`);
  }
};

/** Every statement the store runs, prepared once per database. */
const prepareStatements = (db: SqliteDatabase) => ({
  promotion: db.prepare<[string], PromotionRow>("SELECT * FROM promotion_promotions WHERE id = ?"),
  insertPromotion: db.prepare(
    `INSERT INTO promotion_promotions (
       id, service, environment, repository, tag, digest, pushed_at, phase, trigger_kind, trigger_event_id,
       trigger_requested_by, previous_tag, previous_digest, previous_pushed_at, revision, execution_arn,
       created_at, created_at_ms, updated_at
     ) VALUES (
       @id, @service, @environment, @repository, @tag, @digest, @pushed_at, @phase, @trigger_kind,
       @trigger_event_id, @trigger_requested_by, @previous_tag, @previous_digest, @previous_pushed_at, @revision,
       @execution_arn,
       @created_at, @created_at_ms, @updated_at
     )`,
  ),
  updatePromotion: db.prepare(
    `UPDATE promotion_promotions SET phase = @phase, previous_tag = @previous_tag,
       previous_digest = @previous_digest, previous_pushed_at = @previous_pushed_at, revision = @revision,
       execution_arn = @execution_arn,
       updated_at = @updated_at
     WHERE id = @id`,
  ),
  newest: db.prepare<{ service: string | null; environment: string | null; limit: number }, PromotionRow>(
    `SELECT * FROM promotion_promotions
     WHERE (@service IS NULL OR service = @service) AND (@environment IS NULL OR environment = @environment)
     ORDER BY created_at_ms DESC, id DESC LIMIT @limit`,
  ),
  reasons: db
    .prepare<[string], string>(
      "SELECT reason FROM promotion_reasons WHERE promotion_id = ? ORDER BY position",
    )
    .pluck(),
  reasonCount: db
    .prepare<[string], number>("SELECT count(*) FROM promotion_reasons WHERE promotion_id = ?")
    .pluck(),
  appendReason: db.prepare<[string, number, string]>(
    "INSERT INTO promotion_reasons (promotion_id, position, reason) VALUES (?, ?, ?)",
  ),
  deployment: db.prepare<[string, string], DeploymentRow>(
    "SELECT * FROM promotion_deployments WHERE service = ? AND environment = ?",
  ),
  deployments: db.prepare<[], DeploymentRow>(
    "SELECT * FROM promotion_deployments ORDER BY service, environment",
  ),
  upsertDeployment: db.prepare(
    `INSERT INTO promotion_deployments
       (service, environment, tag, digest, pushed_at, revision, promotion_id, deployed_at)
     VALUES (@service, @environment, @tag, @digest, @pushed_at, @revision, @promotion_id, @deployed_at)
     ON CONFLICT (service, environment) DO UPDATE SET
       tag = excluded.tag, digest = excluded.digest, pushed_at = excluded.pushed_at,
       revision = excluded.revision, promotion_id = excluded.promotion_id, deployed_at = excluded.deployed_at`,
  ),
  quarantined: db
    .prepare<[string, string], number>(
      "SELECT count(*) FROM promotion_quarantine WHERE service = ? AND digest = ?",
    )
    .pluck(),
  quarantine: db.prepare<[string, string, string, string]>(
    `INSERT INTO promotion_quarantine (service, digest, reason, quarantined_at) VALUES (?, ?, ?, ?)
     ON CONFLICT (service, digest) DO UPDATE SET reason = excluded.reason, quarantined_at = excluded.quarantined_at`,
  ),
  clearQuarantine: db.prepare<[string, string]>(
    "DELETE FROM promotion_quarantine WHERE service = ? AND digest = ?",
  ),
  allQuarantined: db.prepare<[], QuarantineRow>(
    "SELECT * FROM promotion_quarantine ORDER BY service, digest",
  ),
});

/**
 * The PromotionStore port on SQLite. Every change that touches several rows (a promotion and its reasons) runs in
 * one immediate transaction, so the CLI and the runtime can share the file and a crash never leaves half a
 * promotion. Reasons are append-only, enforced by the schema itself. A promotion in a terminal phase
 * (Succeeded, Skipped, Failed, Errored) keeps that phase: setting it again is accepted, so a retried step does
 * not fail, but moving it elsewhere is a `ValidationError`.
 *
 * Quarantine (`quarantine`, `clearQuarantine`, `listQuarantine`) lives here until the port carries it.
 *
 * @example
 * const store = new SqlitePromotionStore({ db: openDatabase(join(home, "state.db")) });
 * await store.createPromotion(record);
 * await store.updatePromotion(record.id, { phase: "Committing", reason: "checkout: promote 1.4.0 (…)" });
 * const recent = await store.listPromotions({ service: "checkout", limit: 20 });
 */
export class SqlitePromotionStore implements PromotionStore {
  private readonly db: SqliteDatabase;
  private readonly clock: Clock;
  private readonly sql: ReturnType<typeof prepareStatements>;

  constructor(options: SqlitePromotionStoreOptions) {
    this.db = options.db;
    this.clock = options.clock ?? systemClock;
    this.db.exec(schema);
    addMissingColumns(this.db);
    this.sql = prepareStatements(this.db);
  }

  async createPromotion(record: PromotionRecord): Promise<void> {
    const createdAtMs = instantMs(record.createdAt, `promotion ${record.id} createdAt`);
    this.db
      .transaction(() => {
        if (this.sql.promotion.get(record.id)) {
          throw new ValidationError(`promotion ${record.id} already exists`);
        }
        this.sql.insertPromotion.run({
          id: record.id,
          service: record.service,
          environment: record.environment,
          repository: record.image.repository,
          tag: record.image.tag ?? null,
          digest: record.image.digest,
          pushed_at: record.image.pushedAt,
          phase: record.phase,
          trigger_kind: record.trigger.kind,
          trigger_event_id: record.trigger.eventId,
          trigger_requested_by: record.trigger.requestedBy ?? null,
          previous_tag: record.previous?.tag ?? null,
          previous_digest: record.previous?.digest ?? null,
          previous_pushed_at: record.previous?.pushedAt ?? null,
          revision: record.revision ?? null,
          execution_arn: record.executionArn ?? null,
          created_at: record.createdAt,
          created_at_ms: createdAtMs,
          updated_at: record.updatedAt,
        });
        record.reasons.forEach((reason, position) => {
          this.sql.appendReason.run(record.id, position, reason);
        });
      })
      .immediate();
  }

  async updatePromotion(id: string, change: PromotionChange): Promise<PromotionRecord> {
    return this.db
      .transaction(() => {
        const row = this.sql.promotion.get(id);
        if (!row) throw new NotFoundError(`promotion ${id} does not exist`);
        const phase = row.phase as PromotionPhase;
        if (change.phase !== undefined && change.phase !== phase && isTerminal(phase)) {
          throw new ValidationError(
            `promotion ${id} is ${phase}, which is terminal; it cannot move to ${change.phase}`,
          );
        }
        this.sql.updatePromotion.run({
          id,
          phase: change.phase ?? row.phase,
          previous_tag: change.previous === undefined ? row.previous_tag : (change.previous.tag ?? null),
          previous_digest: change.previous?.digest ?? row.previous_digest,
          previous_pushed_at:
            change.previous === undefined ? row.previous_pushed_at : (change.previous.pushedAt ?? null),
          revision: change.revision ?? row.revision,
          execution_arn: change.executionArn ?? row.execution_arn,
          updated_at: this.clock.now().toISOString(),
        });
        if (change.reason !== undefined) {
          this.sql.appendReason.run(id, this.sql.reasonCount.get(id)!, change.reason);
        }
        return this.read(id)!;
      })
      .immediate();
  }

  async getPromotion(id: string): Promise<PromotionRecord | undefined> {
    return this.db.transaction(() => this.read(id))();
  }

  async listPromotions(filter: PromotionFilter = {}): Promise<PromotionRecord[]> {
    const limit = checkLimit(filter.limit);
    return this.db.transaction(() =>
      this.sql.newest
        .all({ service: filter.service ?? null, environment: filter.environment ?? null, limit })
        .map((row) => toRecord(row, this.sql.reasons.all(row.id))),
    )();
  }

  async getDeployment(service: string, environment: string): Promise<DeploymentRecord | undefined> {
    const row = this.sql.deployment.get(service, environment);
    return row && toDeployment(row);
  }

  async listDeployments(): Promise<DeploymentRecord[]> {
    return this.sql.deployments.all().map(toDeployment);
  }

  async putDeployment(record: DeploymentRecord): Promise<void> {
    this.sql.upsertDeployment.run({
      service: record.service,
      environment: record.environment,
      tag: record.tag ?? null,
      digest: record.digest,
      pushed_at: record.pushedAt,
      revision: record.revision,
      promotion_id: record.promotionId,
      deployed_at: record.deployedAt,
    });
  }

  async isQuarantined(service: string, digest: string): Promise<boolean> {
    return this.sql.quarantined.get(service, digest)! > 0;
  }

  /**
   * Takes a digest out of automatic promotion for a service. Quarantining it again replaces the reason and the
   * time, so the latest rollback is what the listing explains.
   *
   * @example
   * await store.quarantine("checkout", digest, "rolled back: production Degraded after promotion p-42");
   */
  async quarantine(service: string, digest: string, reason: string): Promise<void> {
    this.sql.quarantine.run(service, digest, reason, this.clock.now().toISOString());
  }

  /**
   * Lets a digest be promoted automatically again. Resolves false when it was not quarantined.
   *
   * @example
   * if (!(await store.clearQuarantine("checkout", digest))) throw new NotFoundError("not quarantined");
   */
  async clearQuarantine(service: string, digest: string): Promise<boolean> {
    return this.sql.clearQuarantine.run(service, digest).changes > 0;
  }

  /**
   * Every quarantined digest, by service, then digest.
   *
   * @example
   * for (const { service, digest, reason } of await store.listQuarantine()) console.log(service, digest, reason);
   */
  async listQuarantine(): Promise<QuarantinedDigest[]> {
    return this.sql.allQuarantined.all().map(toQuarantined);
  }

  private read(id: string): PromotionRecord | undefined {
    const row = this.sql.promotion.get(id);
    return row && toRecord(row, this.sql.reasons.all(id));
  }
}
