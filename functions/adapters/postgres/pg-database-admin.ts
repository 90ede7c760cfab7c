// The production DatabaseAdmin: logins and password changes on PostgreSQL over `pg`, one short-lived client per call.

import { createHash, createHmac, pbkdf2, randomBytes } from "node:crypto";
import { promisify } from "node:util";
import pg from "pg";
import { SwitchyardError, TransientError } from "../../core/errors.ts";
import type { DatabaseAdmin, DatabaseCredentials } from "../../core/ports.ts";

/**
 * SQLSTATE classes a later attempt may pass: connection exceptions (08), insufficient resources (53), operator
 * intervention such as a shutdown or a statement timeout (57), a deadlock or serialization failure (40), a lock not
 * available (55P03).
 */
const transientSqlStatePattern = /^(08|53|57|40)|^55P03$/;

/** SQLSTATEs of a refused login: invalid_password, invalid_authorization_specification (no such role, pg_hba). */
const authenticationFailureCodes = new Set(["28P01", "28000"]);

const defaultConnectTimeoutMs = 5_000;
/** Every statement here is tiny; one that runs longer is stuck behind a lock and better retried. */
const statementTimeoutMs = 10_000;

/** PostgreSQL's own defaults (`scram_iterations`, SCRAM_DEFAULT_SALT_LEN), so a verifier is like one it makes. */
const scramIterations = 4_096;
const scramSaltBytes = 16;
const sha256Bytes = 32;
/** Printable ASCII is unchanged by SASLprep, so a verifier computed here matches what the server would compute. */
const saslprepInvariantPattern = /^[\x20-\x7e]+$/;

const pbkdf2Async = promisify(pbkdf2);

/** PostgreSQL refused a login (wrong password, no such role, no pg_hba entry): retrying the same one cannot help. */
export class LoginRefusedError extends SwitchyardError {
  readonly retryable = false;
}

/** PostgreSQL refused a statement for a reason retrying will not change (a missing privilege, a role that is gone). */
export class DatabaseStatementError extends SwitchyardError {
  readonly retryable = false;
}

export interface PgDatabaseAdminOptions {
  /**
   * TLS with a verified certificate for every host but a loopback one (the local embedded PostgreSQL has no
   * certificate). Off: never TLS. On Lambda, RDS's CA must be trusted (NODE_EXTRA_CA_CERTS=/var/runtime/ca-cert.pem).
   */
  ssl: boolean;
  connectTimeoutMs?: number;
}

const loopbackHostPattern = /^(localhost|127(?:\.\d{1,3}){3}|::1|\[::1\])$/i;

/**
 * Whether a host is this machine, where TLS is neither available (embedded PostgreSQL) nor needed.
 *
 * @example isLoopbackHost("127.0.0.1") // true
 */
export const isLoopbackHost = (host: string): boolean => loopbackHostPattern.test(host);

/** The SQLSTATE of a server error, or the errno-style code (ECONNREFUSED) of a network one. */
const errorCode = (error: unknown): string | undefined => {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : undefined;
};

const isSqlState = (code: string | undefined): boolean => code !== undefined && /^[0-9A-Z]{5}$/.test(code);

/**
 * A cause that keeps what helps diagnose (the code, the server's routine) and drops the rest: a server message can
 * quote the statement it failed on ("syntax error at or near …"), and the statement may hold a password.
 */
const sanitizedCause = (error: unknown): Error => {
  const code = errorCode(error);
  const routine = (error as { routine?: unknown } | null)?.routine;
  const detail = [code && `code ${code}`, typeof routine === "string" && `routine ${routine}`].filter(
    Boolean,
  );
  return new Error(`PostgreSQL error${detail.length > 0 ? ` (${detail.join(", ")})` : ""}`);
};

/**
 * A SCRAM-SHA-256 verifier, as `\password` in psql sends it: the server stores it as is, so the plaintext never
 * reaches the server, its log (`log_statement = ddl`), pg_stat_activity or pg_stat_statements.
 */
const scramVerifier = async (password: string): Promise<string> => {
  const salt = randomBytes(scramSaltBytes);
  const salted = await pbkdf2Async(password, salt, scramIterations, sha256Bytes, "sha256");
  const clientKey = createHmac("sha256", salted).update("Client Key").digest();
  const storedKey = createHash("sha256").update(clientKey).digest("base64");
  const serverKey = createHmac("sha256", salted).update("Server Key").digest("base64");
  return `SCRAM-SHA-256$${scramIterations}:${salt.toString("base64")}$${storedKey}:${serverKey}`;
};

/**
 * The `PASSWORD` operand of CREATE/ALTER ROLE. Utility statements take no bind parameters, so the value is quoted
 * with `escapeLiteral`; passwords outside printable ASCII go as plaintext, because the server's SASLprep of them is
 * not something to reimplement.
 */
const passwordLiteral = async (password: string): Promise<string> =>
  pg.escapeLiteral(saslprepInvariantPattern.test(password) ? await scramVerifier(password) : password);

/**
 * PostgreSQL logins and role changes for secret rotation. Each call opens its own client and closes it, so a
 * rotation step holds no connection between calls and a changed password is never reused by a pooled session.
 * Errors name the host, port, role and SQLSTATE, never a password or a statement.
 *
 * @example
 * const admin = new PgDatabaseAdmin({ ssl: true });
 * if (!(await admin.canLogin(current))) throw new Error("current credentials are refused");
 * await admin.setPassword(current, current.username, pendingPassword);
 */
export class PgDatabaseAdmin implements DatabaseAdmin {
  private readonly ssl: boolean;
  private readonly connectTimeoutMs: number;

  constructor(options: PgDatabaseAdminOptions) {
    this.ssl = options.ssl;
    this.connectTimeoutMs = options.connectTimeoutMs ?? defaultConnectTimeoutMs;
  }

  async canLogin(credentials: DatabaseCredentials): Promise<boolean> {
    try {
      await this.withClient(credentials, async (client) => {
        try {
          await client.query("SELECT 1");
        } catch (error) {
          throw this.statementError(error, `a query as ${credentials.username}`);
        }
      });
      return true;
    } catch (error) {
      if (error instanceof LoginRefusedError) return false;
      throw error;
    }
  }

  async setPassword(admin: DatabaseCredentials, username: string, password: string): Promise<void> {
    const statement = `ALTER ROLE ${pg.escapeIdentifier(username)} WITH PASSWORD ${await passwordLiteral(password)}`;
    await this.withClient(admin, async (client) => {
      try {
        await client.query(statement);
      } catch (error) {
        throw this.statementError(error, `setting the password of role ${username}`);
      }
    });
  }

  async ensureCloneRole(
    admin: DatabaseCredentials,
    base: string,
    clone: string,
    password: string,
  ): Promise<void> {
    const baseRole = pg.escapeIdentifier(base);
    const cloneRole = pg.escapeIdentifier(clone);
    const literal = await passwordLiteral(password);
    await this.withClient(admin, async (client) => {
      try {
        await client.query("BEGIN");
        const existing = await client.query("SELECT 1 FROM pg_roles WHERE rolname = $1", [clone]);
        await client.query(
          existing.rowCount === 0
            ? `CREATE ROLE ${cloneRole} WITH LOGIN PASSWORD ${literal}`
            : `ALTER ROLE ${cloneRole} WITH LOGIN PASSWORD ${literal}`,
        );
        // A repeated GRANT only raises a notice, so this is safe on every rotation.
        await client.query(`GRANT ${baseRole} TO ${cloneRole}`);
        await client.query("COMMIT");
      } catch (error) {
        await client.query("ROLLBACK").catch(() => undefined);
        throw this.statementError(error, `making role ${clone} a login clone of ${base}`);
      }
    });
  }

  /** Connects as `credentials`, runs `work`, and always closes the client. */
  private async withClient<T>(
    credentials: DatabaseCredentials,
    work: (client: pg.Client) => Promise<T>,
  ): Promise<T> {
    const { host, port, username } = credentials;
    const client = new pg.Client({
      host,
      port,
      user: username,
      password: credentials.password,
      database: credentials.dbname,
      ssl: this.ssl && !isLoopbackHost(host) ? { rejectUnauthorized: true } : false,
      connectionTimeoutMillis: this.connectTimeoutMs,
      statement_timeout: statementTimeoutMs,
      application_name: "switchyard-rotation",
    });
    // A server that drops the connection emits "error" on the client; unhandled, that would end the process.
    client.on("error", () => undefined);
    try {
      await client.connect();
    } catch (error) {
      await client.end().catch(() => undefined);
      const code = errorCode(error);
      if (authenticationFailureCodes.has(code ?? "")) {
        const message = `PostgreSQL at ${host}:${port} refused the login of ${username} (${code})`;
        throw new LoginRefusedError(message, { cause: sanitizedCause(error) });
      }
      throw new TransientError(
        `PostgreSQL at ${host}:${port} could not be reached as ${username}${code ? ` (${code})` : ""}`,
        { cause: sanitizedCause(error) },
      );
    }
    try {
      return await work(client);
    } finally {
      await client.end().catch(() => undefined);
    }
  }

  /** A failed statement, told by its SQLSTATE: never the server's message, which may quote the statement. */
  private statementError(error: unknown, what: string): SwitchyardError {
    if (error instanceof SwitchyardError) return error;
    const code = errorCode(error);
    const message = `PostgreSQL refused ${what}${isSqlState(code) ? ` (SQLSTATE ${code})` : code ? ` (${code})` : ""}`;
    const options = { cause: sanitizedCause(error) };
    // No SQLSTATE means the connection broke mid-statement.
    return !isSqlState(code) || transientSqlStatePattern.test(code ?? "")
      ? new TransientError(message, options)
      : new DatabaseStatementError(message, options);
  }
}
