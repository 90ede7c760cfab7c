// Test helper: an embedded PostgreSQL with sample databases and Debian's pg_dump, for the local snapshot service.

import { randomBytes } from "node:crypto";
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { ensureSampleDatabase, type LocalPostgres, startLocalPostgres } from "../../local/postgres.ts";
import { ensureDebianPackage } from "./debian-package.ts";

/** Starting PostgreSQL takes about a second; installing postgresql-client, when missing, minutes. */
export const snapshotPostgresTimeoutMs = 10 * 60_000;

export interface SnapshotPostgres {
  postgres: LocalPostgres;
  /** A private directory (searchable by the `postgres` OS user) for dumps and SQLite files. */
  home: string;
  /** Names of the databases on the server. */
  databases(): Promise<string[]>;
  stop(): Promise<void>;
}

/**
 * Makes sure `pg_dump` and `pg_restore` are installed (Debian's postgresql-client), then starts an embedded
 * PostgreSQL in a fresh temporary directory with each of `databases` created and seeded with the sample `orders`
 * table (`sampleOrderCount` rows). Call from a `beforeAll` with `snapshotPostgresTimeoutMs`.
 *
 * @example
 * beforeAll(async () => {
 *   server = await startSnapshotPostgres(["orders"]);
 * }, snapshotPostgresTimeoutMs);
 */
export const startSnapshotPostgres = async (databases: readonly string[]): Promise<SnapshotPostgres> => {
  ensureDebianPackage("postgresql-client", "pg_dump");
  ensureDebianPackage("postgresql-client", "pg_restore");
  const home = mkdtempSync(join(tmpdir(), "switchyard-snapshots-"));
  // mkdtemp makes it private; as root the embedded PostgreSQL runs as the OS user "postgres" and must reach it.
  chmodSync(home, 0o711);
  const postgres = await startLocalPostgres({
    dir: join(home, "postgres"),
    superuserPassword: randomBytes(18).toString("hex"),
  });
  try {
    for (const database of databases) {
      await ensureSampleDatabase(postgres.superuser, {
        database,
        owner: `${database}_app`,
        ownerPassword: randomBytes(18).toString("hex"),
      });
    }
  } catch (error) {
    await postgres.stop();
    throw error;
  }
  return {
    postgres,
    home,
    databases: async () => {
      const client = new pg.Client({
        host: postgres.host,
        port: postgres.port,
        user: postgres.superuser.username,
        password: postgres.superuser.password,
        database: postgres.superuser.dbname,
      });
      await client.connect();
      try {
        const { rows } = await client.query<{ datname: string }>("SELECT datname FROM pg_database");
        return rows.map((row) => row.datname);
      } finally {
        await client.end();
      }
    },
    stop: async () => {
      await postgres.stop();
      rmSync(home, { recursive: true, force: true });
    },
  };
};
