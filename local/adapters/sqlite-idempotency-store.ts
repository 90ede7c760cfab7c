// The local IdempotencyStore: claimed keys and their expiry in SQLite, with DynamoDB's claim semantics.

import {
  checkClaim,
  checkKey,
  epochSeconds,
} from "../../functions/adapters/aws/dynamodb-idempotency-store.ts";
import type { Clock, IdempotencyStore } from "../../functions/core/ports.ts";
import type { SqliteDatabase } from "../db.ts";

/** Expired keys removed per claim: DynamoDB's TTL sweeps in the background, this sweeps a little at a time. */
const sweepBatchSize = 100;

const schema = `
  CREATE TABLE IF NOT EXISTS idempotency_keys (
    key TEXT PRIMARY KEY,
    expires_at INTEGER NOT NULL
  ) STRICT;
  CREATE INDEX IF NOT EXISTS idempotency_keys_by_expiry ON idempotency_keys(expires_at);
`;

const prepareStatements = (db: SqliteDatabase) => ({
  // One statement, so two processes sharing the file can never both claim a key.
  claim: db.prepare<[string, number, number]>(
    `INSERT INTO idempotency_keys (key, expires_at) VALUES (?, ?)
       ON CONFLICT (key) DO UPDATE SET expires_at = excluded.expires_at
       WHERE idempotency_keys.expires_at < ?`,
  ),
  release: db.prepare<[string]>("DELETE FROM idempotency_keys WHERE key = ?"),
  complete: db.prepare<[string, number]>(
    `INSERT INTO idempotency_keys (key, expires_at) VALUES (?, ?)
       ON CONFLICT (key) DO UPDATE SET expires_at = excluded.expires_at`,
  ),
  sweep: db.prepare<[number, number]>(
    `DELETE FROM idempotency_keys WHERE rowid IN (
       SELECT rowid FROM idempotency_keys WHERE expires_at < ? LIMIT ?
     )`,
  ),
});

export interface SqliteIdempotencyStoreOptions {
  db: SqliteDatabase;
  clock?: Clock;
}

const systemClock: Clock = { now: () => new Date() };

/**
 * The IdempotencyStore port on SQLite, behaving as the DynamoDB store does: a key is claimable when absent or when
 * its expiry (whole epoch seconds, `now + ttlSeconds`) has passed, and is held for at least `ttlSeconds`.
 *
 * @example
 * const store = new SqliteIdempotencyStore({ db: openDatabase(join(home, "state.db")) });
 * await store.claim("github-delivery:72d3162e-cc78-11e3-81ab-4c9367dc0958", 604_800); // true, then false
 */
export class SqliteIdempotencyStore implements IdempotencyStore {
  private readonly clock: Clock;
  private readonly sql: ReturnType<typeof prepareStatements>;

  constructor(options: SqliteIdempotencyStoreOptions) {
    this.clock = options.clock ?? systemClock;
    options.db.exec(schema);
    this.sql = prepareStatements(options.db);
  }

  async claim(key: string, ttlSeconds: number): Promise<boolean> {
    checkClaim(key, ttlSeconds);
    const now = epochSeconds(this.clock.now());
    this.sql.sweep.run(now, sweepBatchSize);
    return this.sql.claim.run(key, now + ttlSeconds, now).changes === 1;
  }

  async release(key: string): Promise<void> {
    checkKey(key);
    this.sql.release.run(key);
  }

  async complete(key: string, ttlSeconds: number): Promise<void> {
    checkClaim(key, ttlSeconds);
    this.sql.complete.run(key, epochSeconds(this.clock.now()) + ttlSeconds);
  }
}
