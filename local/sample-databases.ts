// The local runtime's databases: the embedded PostgreSQL with the sample platform's databases, and their secrets.

import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { SwitchyardConfig } from "../functions/core/config.ts";
import type { DatabaseAdmin, DatabaseCredentials, SecretStore } from "../functions/core/ports.ts";
import type { LocalLogger } from "./log.ts";
import { ensureSampleDatabase, type LocalPostgres, startLocalPostgres } from "./postgres.ts";

/** The secret holding the embedded server's superuser password (never shown; `switchyard secrets list` names it). */
export const superuserSecret = "switchyard/local-postgres-superuser";
const superuserPasswordBytes = 24;
const ownerPasswordLength = 32;

export interface SampleDatabasesOptions {
  home: string;
  config: Pick<SwitchyardConfig, "local" | "secrets">;
  secrets: SecretStore;
  database: DatabaseAdmin;
  logger: LocalLogger;
}

const secretExists = async (secrets: SecretStore, name: string): Promise<boolean> =>
  (await secrets.listSecrets()).some((s) => s.name === name);

/** The superuser password, made on the very first start (initdb takes it then, and only then). */
const superuserPassword = async (secrets: SecretStore): Promise<string> => {
  if (await secretExists(secrets, superuserSecret)) {
    return (await secrets.getSecretValue(superuserSecret)).secretString;
  }
  const password = randomBytes(superuserPasswordBytes).toString("hex");
  await secrets.createSecret({
    name: superuserSecret,
    secretString: password,
    description: "Switchyard (local): the embedded PostgreSQL's superuser password",
  });
  return password;
};

/** The port of the last start, so the secrets' host and port stay right across restarts. */
const portFile = (home: string): string => join(home, "postgres-port");
const chosenPort = (home: string, configured: number): number => {
  if (configured !== 0) return configured;
  const file = portFile(home);
  return existsSync(file) ? Number(readFileSync(file, "utf8").trim()) || 0 : 0;
};

/**
 * Stores `credentials` as the secret's current version when it is missing, or when the server moved to another port
 * (the endpoint changed, as an RDS endpoint can); returns the credentials the secret holds now.
 */
const ensureCredentialsSecret = async (
  secrets: SecretStore,
  name: string,
  credentials: Omit<DatabaseCredentials, "password"> & { password: () => Promise<string> },
  description: string,
): Promise<DatabaseCredentials> => {
  if (!(await secretExists(secrets, name))) {
    const stored: DatabaseCredentials = { ...credentials, password: await credentials.password() };
    await secrets.createSecret({ name, secretString: JSON.stringify(stored), description });
    return stored;
  }
  const current = JSON.parse((await secrets.getSecretValue(name)).secretString) as DatabaseCredentials;
  if (current.host === credentials.host && current.port === credentials.port) return current;
  const moved: DatabaseCredentials = { ...current, host: credentials.host, port: credentials.port };
  await secrets.putSecretValue(name, JSON.stringify(moved));
  return moved;
};

/**
 * Starts the embedded PostgreSQL under `<home>/postgres` when `local.postgres.databases` lists any, creates each
 * database owned by its user with the sample `orders` table, and keeps each user's credentials in the local secret
 * store under the database's `secret` (the JSON of Secrets Manager's RDS secrets), as well as a master secret for
 * every `alternating-users` rotation. Existing secrets are kept: after a rotation they hold the current password.
 * Returns undefined when no database is configured.
 *
 * @example
 * const postgres = await startSampleDatabases({ home, config, secrets, database, logger });
 * await postgres?.stop();
 */
export const startSampleDatabases = async (
  options: SampleDatabasesOptions,
): Promise<LocalPostgres | undefined> => {
  const { home, config, secrets, database, logger } = options;
  const { databases, port } = config.local.postgres;
  if (databases.length === 0) return undefined;
  mkdirSync(home, { recursive: true });
  const postgres = await startLocalPostgres({
    dir: join(home, "postgres"),
    port: chosenPort(home, port),
    superuserPassword: await superuserPassword(secrets),
    logger,
  });
  try {
    writeFileSync(portFile(home), String(postgres.port));
    const endpoint = { engine: "postgres" as const, host: postgres.host, port: postgres.port };
    for (const entry of databases) {
      const exclude = config.secrets.find((s) => s.name === entry.secret)?.password.excludeCharacters;
      const owner = await ensureCredentialsSecret(
        secrets,
        entry.secret,
        {
          ...endpoint,
          dbname: entry.name,
          username: entry.user,
          password: () =>
            secrets.getRandomPassword({
              length: ownerPasswordLength,
              ...(exclude !== undefined ? { excludeCharacters: exclude } : {}),
            }),
        },
        `Switchyard (local): the ${entry.name} database's application user`,
      );
      await ensureSampleDatabase(postgres.superuser, {
        database: entry.name,
        owner: owner.username,
        ownerPassword: owner.password,
      });
      // A home whose secret was replaced by hand: make the database agree with the secret, which is the truth here.
      if (!(await database.canLogin(owner))) {
        await database.setPassword(postgres.superuser, owner.username, owner.password);
        logger.warn("reset a database user's password to the one in its secret", {
          database: entry.name,
          user: owner.username,
          secret: entry.secret,
        });
      }
    }
    for (const master of new Set(config.secrets.flatMap((s) => s.rotation.masterSecret ?? []))) {
      await ensureCredentialsSecret(
        secrets,
        master,
        { ...postgres.superuser, password: async () => postgres.superuser.password },
        "Switchyard (local): the master user that alternating-users rotations change passwords with",
      );
    }
    return postgres;
  } catch (error) {
    await postgres.stop();
    throw error;
  }
};
