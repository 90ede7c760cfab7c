// PgDatabaseAdmin against a real PostgreSQL: logins, quoted role names and passwords, errors that hold no password.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  DatabaseStatementError,
  isLoopbackHost,
  PgDatabaseAdmin,
} from "../../functions/adapters/postgres/pg-database-admin.ts";
import { TransientError } from "../../functions/core/errors.ts";
import type { DatabaseCredentials } from "../../functions/core/ports.ts";
import type { LocalLogger } from "../../local/log.ts";
import { type LocalPostgres, startLocalPostgres } from "../../local/postgres.ts";
import { freePort } from "../support/process.ts";

const superuserPassword = "su-Pa55word-for-tests";
const serverLog: string[] = [];
const capture = (message: string, fields?: Record<string, unknown>) =>
  serverLog.push(`${message} ${JSON.stringify(fields ?? {})}`);
const captureLogger: LocalLogger = { debug: capture, info: capture, warn: capture, error: capture };

let dir: string;
let postgres: LocalPostgres;
const admin = new PgDatabaseAdmin({ ssl: true });

const login = (username: string, password: string): DatabaseCredentials => ({
  ...postgres.superuser,
  username,
  password,
});

/** Runs SQL as the superuser (test setup only). */
const asSuperuser = async (sql: string, values: unknown[] = []): Promise<pg.QueryResult> => {
  const client = new pg.Client({
    host: postgres.host,
    port: postgres.port,
    user: "postgres",
    password: superuserPassword,
    database: "postgres",
  });
  await client.connect();
  try {
    return await client.query(sql, values);
  } finally {
    await client.end();
  }
};

const createLoginRole = (name: string, password: string) =>
  asSuperuser(`CREATE ROLE ${pg.escapeIdentifier(name)} WITH LOGIN PASSWORD ${pg.escapeLiteral(password)}`);

/** The error `promise` rejects with; fails the test when it resolves. */
const rejection = async (promise: Promise<unknown>): Promise<Error> => {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error("expected a rejection");
};

/** Every text an error carries: message, stack and the whole cause chain. */
const errorText = (error: unknown): string => {
  const parts: string[] = [];
  for (let e: unknown = error; e instanceof Error; e = e.cause)
    parts.push(e.message, e.stack ?? "", String(e));
  return parts.join("\n");
};

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "switchyard-pg-admin-"));
  postgres = await startLocalPostgres({ dir, superuserPassword, logger: captureLogger });
});

afterAll(async () => {
  await postgres?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe("PgDatabaseAdmin.canLogin", () => {
  it("is true for working credentials", async () => {
    expect(await admin.canLogin(postgres.superuser)).toBe(true);
  });

  it("is false for a wrong password and for a role that does not exist", async () => {
    expect(await admin.canLogin(login("postgres", "not-the-password"))).toBe(false);
    expect(await admin.canLogin(login("nobody_here", "whatever"))).toBe(false);
  });

  it("throws a TransientError naming host, port and user, never the password, when nothing listens", async () => {
    const port = await freePort();
    const password = "unreachable-S3cret-'\\-value";
    const error = await rejection(admin.canLogin({ ...login("app_user", password), port }));

    expect(error).toBeInstanceOf(TransientError);
    expect(error.message).toContain(`127.0.0.1:${port}`);
    expect(error.message).toContain("app_user");
    expect(errorText(error)).not.toContain(password);
  });
});

describe("PgDatabaseAdmin.setPassword", () => {
  it.each([
    ['weird"name', `it's a "quoted" \\ back\\slash'; --`],
    ["robert'); DROP ROLE postgres; --", `$$ dollar $$ and E'\\x41'`],
    ["plain_user", "pässwörd-ünïcode-Ω"],
  ])("changes the password of role %j, quoting both name and password", async (role, password) => {
    await createLoginRole(role, "initial-password");

    await admin.setPassword(postgres.superuser, role, password);

    expect(await admin.canLogin(login(role, password))).toBe(true);
    expect(await admin.canLogin(login(role, "initial-password"))).toBe(false);
    expect(await admin.canLogin(postgres.superuser)).toBe(true);
  });

  it("refuses with the SQLSTATE and the role only when the admin may not change the role", async () => {
    await createLoginRole("weak_admin", "weak-password");
    await createLoginRole("protected_role", "protected-password");
    const password = "never-in-an-error-'\"\\";

    const error = await rejection(
      admin.setPassword(login("weak_admin", "weak-password"), "protected_role", password),
    );

    expect(error).toBeInstanceOf(DatabaseStatementError);
    expect(error.message).toBe(
      "PostgreSQL refused setting the password of role protected_role (SQLSTATE 42501)",
    );
    expect(errorText(error)).not.toContain(password);
    expect(serverLog.join("\n")).not.toContain(password);
    expect(await admin.canLogin(login("protected_role", "protected-password"))).toBe(true);
  });

  it("reports a role that does not exist as a statement error", async () => {
    const error = await rejection(admin.setPassword(postgres.superuser, "missing_role", "x-password"));
    expect(error).toBeInstanceOf(DatabaseStatementError);
    expect(error.message).toContain("SQLSTATE 42704");
  });
});

describe("PgDatabaseAdmin.ensureCloneRole", () => {
  it("creates the clone with LOGIN and the base role's privileges, and is safe to repeat", async () => {
    await createLoginRole("orders_app", "orders-password");
    await asSuperuser("CREATE TABLE clone_check (id int)");
    await asSuperuser("INSERT INTO clone_check VALUES (1), (2)");
    await asSuperuser("GRANT SELECT ON clone_check TO orders_app");

    await admin.ensureCloneRole(postgres.superuser, "orders_app", "orders_app_clone", `first'"\\pw`);
    await admin.ensureCloneRole(postgres.superuser, "orders_app", "orders_app_clone", `second'"\\pw`);

    expect(await admin.canLogin(login("orders_app_clone", `first'"\\pw`))).toBe(false);
    expect(await admin.canLogin(login("orders_app_clone", `second'"\\pw`))).toBe(true);
    const client = new pg.Client({
      host: postgres.host,
      port: postgres.port,
      user: "orders_app_clone",
      password: `second'"\\pw`,
      database: "postgres",
    });
    await client.connect();
    try {
      const { rows } = await client.query<{ n: number }>("SELECT count(*)::int AS n FROM clone_check");
      expect(rows[0]?.n).toBe(2);
    } finally {
      await client.end();
    }
  });

  it("quotes odd role names", async () => {
    await createLoginRole('base"role', "base-password");
    await admin.ensureCloneRole(postgres.superuser, 'base"role', 'base"role_clone', "clone-pw'");
    expect(await admin.canLogin(login('base"role_clone', "clone-pw'"))).toBe(true);
  });

  it("changes nothing when a step fails (one transaction)", async () => {
    const error = await rejection(
      admin.ensureCloneRole(postgres.superuser, "no_such_base", "lonely_clone", "lonely-password"),
    );
    expect(error).toBeInstanceOf(DatabaseStatementError);
    expect(errorText(error)).not.toContain("lonely-password");
    const { rowCount } = await asSuperuser("SELECT 1 FROM pg_roles WHERE rolname = $1", ["lonely_clone"]);
    expect(rowCount).toBe(0);
  });
});

describe("isLoopbackHost", () => {
  it.each([
    ["127.0.0.1", true],
    ["127.1.2.3", true],
    ["localhost", true],
    ["::1", true],
    ["db.abc123.eu-west-1.rds.amazonaws.com", false],
    ["10.0.0.5", false],
  ])("%s → %s", (host, expected) => {
    expect(isLoopbackHost(host)).toBe(expected);
  });
});
