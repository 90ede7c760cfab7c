// The smoke query of a restore drill: one read-only statement on a restored PostgreSQL, over `pg` or a test's fake.

import pg from "pg";
import { TransientError, ValidationError } from "../../core/errors.ts";
import { isLoopbackHost } from "./pg-database-admin.ts";

/** What a smoke query connects with. `password` is a secret: it never reaches an error. */
export interface SmokeQueryLogin {
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
}

/** An open connection: one statement, answered as rows of column values, then closed. */
export interface SmokeQueryConnection {
  query(text: string): Promise<{ rows: unknown[][] }>;
  end(): Promise<void>;
}

/** Opens a connection; injectable so tests can answer without a server. */
export type SmokeQueryConnect = (login: SmokeQueryLogin) => Promise<SmokeQueryConnection>;

const connectTimeoutMs = 10_000;
/** A smoke query counts rows or reads one; one that runs for minutes is a drill failure, not a check. */
const statementTimeoutMs = 60_000;
/** SQLSTATE classes a later attempt may pass: connection (08), resources (53), operator intervention (57). */
const transientSqlStatePattern = /^(08|53|57)/;
const transientNetworkCodes = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENOTFOUND",
]);

/**
 * Connects with `pg` in a session where every transaction is read-only and statements time out, over TLS with a
 * verified certificate except to a loopback host (the embedded PostgreSQL has none). The extended protocol runs one
 * statement only: `select 1; drop table orders` is refused, not half-run.
 *
 * @example
 * const connection = await pgSmokeQueryConnect({ host, port, user, password, database: "orders" });
 */
export const pgSmokeQueryConnect: SmokeQueryConnect = async (login) => {
  const client = new pg.Client({
    host: login.host,
    port: login.port,
    user: login.user,
    password: login.password,
    database: login.database,
    ssl: isLoopbackHost(login.host) ? false : { rejectUnauthorized: true },
    connectionTimeoutMillis: connectTimeoutMs,
    statement_timeout: statementTimeoutMs,
    application_name: "switchyard-restore-drill",
    options: "-c default_transaction_read_only=on",
  });
  // A server that drops the connection emits "error" on the client; unhandled, that would end the process.
  client.on("error", () => undefined);
  try {
    await client.connect();
  } catch (error) {
    await client.end().catch(() => undefined);
    throw error;
  }
  return {
    query: async (text) => {
      const result = await client.query({
        text,
        rowMode: "array",
        queryMode: "extended",
      } as pg.QueryArrayConfig);
      return { rows: result.rows };
    },
    end: () => client.end(),
  };
};

/** A cell as text: what a drill compares with what it expects. */
const cellText = (cell: unknown): string | undefined => {
  if (cell === null || cell === undefined) return undefined;
  if (cell instanceof Date) return cell.toISOString();
  if (Buffer.isBuffer(cell)) return cell.toString("hex");
  if (typeof cell === "object") return JSON.stringify(cell);
  return String(cell);
};

const codeOf = (error: unknown): string => {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : "";
};

/**
 * The error a drill should see: what PostgreSQL said (a missing table is exactly what a drill exists to find) with its
 * SQLSTATE, the password cut out should a message ever carry it, and no cause holding the original error.
 */
const smokeQueryError = (error: unknown, login: SmokeQueryLogin, subject: string): Error => {
  const code = codeOf(error);
  const raw = error instanceof Error ? error.message : String(error);
  const message = login.password === "" ? raw : raw.split(login.password).join("***");
  const text = `the smoke query on ${subject} failed${code === "" ? "" : ` (${code})`}: ${message}`;
  return transientSqlStatePattern.test(code) || transientNetworkCodes.has(code)
    ? new TransientError(text)
    : new ValidationError(text);
};

/**
 * Runs `query` through `connect` and reads the answer the way a drill compares it: how many rows, and the first
 * column of the first row as text. Connection and server trouble is a `TransientError`; a refused login or a failing
 * statement, a `ValidationError` with PostgreSQL's message (never the password).
 *
 * @example
 * await runSmokeQuery(pgSmokeQueryConnect, login, "select count(*) from orders", "drill target x");
 * // { rows: 1, value: "25" }
 */
export const runSmokeQuery = async (
  connect: SmokeQueryConnect,
  login: SmokeQueryLogin,
  query: string,
  subject: string,
): Promise<{ rows: number; value?: string }> => {
  let connection: SmokeQueryConnection;
  try {
    connection = await connect(login);
  } catch (error) {
    throw smokeQueryError(error, login, subject);
  }
  try {
    const { rows } = await connection.query(query);
    const value = cellText(rows[0]?.[0]);
    return { rows: rows.length, ...(value !== undefined && { value }) };
  } catch (error) {
    throw smokeQueryError(error, login, subject);
  } finally {
    await connection.end().catch(() => undefined);
  }
};
