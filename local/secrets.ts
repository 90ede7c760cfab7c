// Opens the local secret store under $SWITCHYARD_HOME for the CLI and the runtime alike.

import { join } from "node:path";
import { SqliteSecretStore, type SqliteSecretStoreOptions } from "./adapters/sqlite-secret-store.ts";
import { openDatabase } from "./db.ts";

/** The file every process shares; WAL and the busy timeout let `switchyard secrets put` run beside the runtime. */
export const secretsDatabaseFile = "secrets.db";

/**
 * The SqliteSecretStore on `<home>/secrets.db`, creating the file on first use. Safe to open while the runtime
 * holds the same file: readers never block the writer, and writers wait their turn. The store owns its
 * connection, so `close()` it when done.
 *
 * @example
 * const store = openLocalSecretStore(".switchyard", { region: config.aws.region });
 * try {
 *   await store.putSecretValue("prod/orders/db", value);
 * } finally {
 *   store.close();
 * }
 */
export const openLocalSecretStore = (
  home: string,
  options: Omit<SqliteSecretStoreOptions, "db"> = {},
): SqliteSecretStore =>
  new SqliteSecretStore({ ...options, db: openDatabase(join(home, secretsDatabaseFile)) });
