// Opens the local runtime's SQLite databases under $SWITCHYARD_HOME with the settings every store relies on.

import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import Database from "better-sqlite3";

export type SqliteDatabase = Database.Database;
export type SqliteStatement = Database.Statement;

/** Time a writer waits for another process's lock (the CLI and the runtime share files). */
const busyTimeoutMs = 5_000;

/**
 * Opens (creating if needed) a SQLite database in WAL mode with `synchronous=NORMAL`: a committed transaction
 * is in the WAL file before the call returns, so it survives the process being killed (`kill -9`); only a power
 * cut or an OS crash can lose the last commits. FULL would fsync every commit and cost a third of the throughput
 * for a guarantee a local runtime does not need.
 *
 * @example
 * const db = openDatabase(join(home, "state.db"));
 */
export const openDatabase = (file: string): SqliteDatabase => {
  if (file !== ":memory:") mkdirSync(dirname(file), { recursive: true });
  const db = new Database(file);
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = NORMAL");
  db.pragma(`busy_timeout = ${busyTimeoutMs}`);
  db.pragma("foreign_keys = ON");
  return db;
};

/**
 * Prepares each SQL text once per database and hands back the same statement afterwards: the bus and the queue
 * run a handful of statements per event, and preparing costs more than running.
 *
 * @example
 * const sql = statementCache(db);
 * sql("SELECT COUNT(*) AS n FROM bus_events").get();
 */
export const statementCache = (db: SqliteDatabase): ((text: string) => SqliteStatement) => {
  const statements = new Map<string, SqliteStatement>();
  return (text) => {
    let statement = statements.get(text);
    if (!statement) {
      statement = db.prepare(text);
      statements.set(text, statement);
    }
    return statement;
  };
};
