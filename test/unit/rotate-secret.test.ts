// Secret rotation end to end: the SQLite secret store, a real PostgreSQL, and the four steps as AWS specifies them.

import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { PgDatabaseAdmin } from "../../functions/adapters/postgres/pg-database-admin.ts";
import type { SecretConfig } from "../../functions/core/config.ts";
import { TransientError } from "../../functions/core/errors.ts";
import { linkKeys } from "../../functions/core/link-token.ts";
import type { Clock, DatabaseAdmin, DatabaseCredentials, SecretStore } from "../../functions/core/ports.ts";
import {
  type RotateSecretDeps,
  RotationError,
  type RotationStep,
  rotateNow,
  rotateSecret,
  rotationSteps,
} from "../../functions/core/rotate-secret.ts";
import { makeRotateSecret, rotateSecretEventSchema } from "../../functions/handlers/rotate-secret.ts";
import { SqliteSecretStore } from "../../local/adapters/sqlite-secret-store.ts";
import { openDatabase, type SqliteDatabase } from "../../local/db.ts";
import type { LocalLogger } from "../../local/log.ts";
import { ensureSampleDatabase, type LocalPostgres, startLocalPostgres } from "../../local/postgres.ts";
import { freePort } from "../support/process.ts";

const superuserPassword = "su-rotation-Pa55word";
const masterSecretName = "db/master";
const rotatedAt = new Date("2026-03-01T04:00:00.000Z");
const clock: Clock = { now: () => rotatedAt };

/** Everything the server logged, for the scan that no password ever reaches a log. */
const serverLog: string[] = [];
const capture = (message: string, fields?: Record<string, unknown>) =>
  serverLog.push(`${message} ${JSON.stringify(fields ?? {})}`);
const captureLogger: LocalLogger = { debug: capture, info: capture, warn: capture, error: capture };

let dir: string;
let postgres: LocalPostgres;
const admin = new PgDatabaseAdmin({ ssl: true });

let db: SqliteDatabase;
let store: SqliteSecretStore;
let roleCounter = 0;

const secretConfig = (
  name: string,
  strategy: SecretConfig["rotation"]["strategy"],
  masterSecret?: string,
): SecretConfig => ({
  name,
  rotation: {
    schedule: "rate(30 days)",
    strategy,
    overlapHours: 24,
    ...(masterSecret !== undefined && { masterSecret }),
  },
  password: { length: 32, excludeCharacters: `/@"'\\:;?#%&+=\`$ ` },
  consumers: [],
});

const depsFor = (secrets: SecretConfig[], database: DatabaseAdmin = admin, store_: SecretStore = store) =>
  ({ config: { secrets }, secrets: store_, database, clock }) satisfies RotateSecretDeps;

const credentials = (username: string, password: string, dbname = "postgres"): DatabaseCredentials => ({
  engine: "postgres",
  host: postgres.host,
  port: postgres.port,
  dbname,
  username,
  password,
});

const asSuperuser = async (sql: string): Promise<void> => {
  const client = new pg.Client({
    host: postgres.host,
    port: postgres.port,
    user: "postgres",
    password: superuserPassword,
    database: "postgres",
  });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
};

/** A new login role with a random password, and a secret holding its credentials. */
const databaseSecret = async (
  strategy: "single-user" | "alternating-users",
): Promise<{ name: string; config: SecretConfig; initial: DatabaseCredentials }> => {
  roleCounter += 1;
  const role = `app_${strategy === "single-user" ? "single" : "multi"}_${roleCounter}`;
  const password = await store.getRandomPassword({ length: 24, excludePunctuation: true });
  await asSuperuser(
    `CREATE ROLE ${pg.escapeIdentifier(role)} WITH LOGIN PASSWORD ${pg.escapeLiteral(password)}`,
  );
  const name = `db/${role}`;
  const initial = credentials(role, password);
  await store.createSecret({ name, secretString: JSON.stringify(initial) });
  return {
    name,
    config: secretConfig(name, strategy, strategy === "alternating-users" ? masterSecretName : undefined),
    initial,
  };
};

const read = async (name: string, stage: "AWSCURRENT" | "AWSPREVIOUS"): Promise<DatabaseCredentials> =>
  JSON.parse((await store.getSecretValue(name, { versionStage: stage })).secretString) as DatabaseCredentials;

const stagesOf = async (name: string) => (await store.describeSecret(name)).versionIdsToStages;

const versionWith = async (name: string, stage: string): Promise<string | undefined> =>
  Object.entries(await stagesOf(name)).find(([, stages]) => stages.includes(stage))?.[0];

/** The error `promise` rejects with; fails the test when it resolves. */
const rejection = async (promise: Promise<unknown>): Promise<Error> => {
  try {
    await promise;
  } catch (error) {
    thrown.push(error);
    return error as Error;
  }
  throw new Error("expected a rejection");
};

/** Every error the tests saw, for the final scan. */
const thrown: unknown[] = [];

/** A database whose password changes are lost: setSecret "succeeds" and testSecret then fails. */
const forgetfulAdmin: DatabaseAdmin = {
  canLogin: (c) => admin.canLogin(c),
  setPassword: async () => undefined,
  ensureCloneRole: async () => undefined,
};

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "switchyard-rotation-"));
  postgres = await startLocalPostgres({ dir, superuserPassword, logger: captureLogger });
});

afterAll(async () => {
  await postgres?.stop();
  rmSync(dir, { recursive: true, force: true });
});

beforeEach(async () => {
  db = openDatabase(":memory:");
  store = new SqliteSecretStore({ db, clock });
  await store.createSecret({ name: masterSecretName, secretString: JSON.stringify(postgres.superuser) });
});

afterEach(() => db.close());

describe("rotateNow, single user", () => {
  it("moves the user to a new password: the new one logs in, the old one is refused", async () => {
    const { name, config, initial } = await databaseSecret("single-user");
    const before = await versionWith(name, "AWSCURRENT");
    const token = randomUUID();

    const result = await rotateNow(depsFor([config]), name, token);

    expect(result).toEqual({
      secretId: name,
      versionId: token,
      previousVersionId: before,
      strategy: "single-user",
      activeUser: initial.username,
    });
    const current = await read(name, "AWSCURRENT");
    expect(current.username).toBe(initial.username);
    expect(current.password).not.toBe(initial.password);
    expect(current.password).toHaveLength(32);
    expect(await admin.canLogin(current)).toBe(true);
    expect(await admin.canLogin(initial)).toBe(false);
    expect(await stagesOf(name)).toEqual({ [token]: ["AWSCURRENT"], [before!]: ["AWSPREVIOUS"] });
    const summary = await store.describeSecret(name);
    expect(summary.rotationEnabled).toBe(true);
    expect(summary.lastRotatedDate).toEqual(rotatedAt);
  });

  it("keeps AWSCURRENT working and leaves no AWSPENDING when testSecret fails; the next rotation succeeds", async () => {
    const { name, config, initial } = await databaseSecret("single-user");
    const before = await versionWith(name, "AWSCURRENT");
    const token = randomUUID();

    const error = await rejection(rotateNow(depsFor([config], forgetfulAdmin), name, token));

    expect(error).toBeInstanceOf(RotationError);
    expect(error.message).toBe(
      `Unable to log into the database with the pending version ${token} of secret ${name}`,
    );
    expect(await versionWith(name, "AWSCURRENT")).toBe(before);
    expect(await versionWith(name, "AWSPENDING")).toBeUndefined();
    expect(await admin.canLogin(await read(name, "AWSCURRENT"))).toBe(true);
    expect(await admin.canLogin(initial)).toBe(true);

    const next = await rotateNow(depsFor([config]), name, randomUUID());
    expect(next.previousVersionId).toBe(before);
    expect(await admin.canLogin(await read(name, "AWSCURRENT"))).toBe(true);
    expect(await admin.canLogin(initial)).toBe(false);
  });

  it("sets the password back when finishing fails after the database already changed", async () => {
    const { name, config, initial } = await databaseSecret("single-user");
    const before = await versionWith(name, "AWSCURRENT");
    // A store whose label move to AWSCURRENT fails once, as a throttled UpdateSecretVersionStage would.
    const flaky = Object.create(store) as SecretStore;
    let failed = false;
    flaky.updateSecretVersionStage = async (id, stage, options) => {
      if (stage === "AWSCURRENT" && !failed) {
        failed = true;
        throw new TransientError("Secrets Manager is throttling");
      }
      return store.updateSecretVersionStage(id, stage, options);
    };

    const error = await rejection(rotateNow(depsFor([config], admin, flaky), name, randomUUID()));

    expect(error.message).toBe("Secrets Manager is throttling");
    expect(await versionWith(name, "AWSCURRENT")).toBe(before);
    expect(await versionWith(name, "AWSPENDING")).toBeUndefined();
    expect(await admin.canLogin(initial)).toBe(true);
  });
});

describe("rotateNow, alternating users", () => {
  it("flips between <user> and <user>_clone; current and previous both keep working", async () => {
    const { name, config, initial } = await databaseSecret("alternating-users");
    const deps = depsFor([config]);
    const clone = `${initial.username}_clone`;

    const first = await rotateNow(deps, name, randomUUID());
    expect(first.activeUser).toBe(clone);
    const afterFirst = await read(name, "AWSCURRENT");
    expect(afterFirst.username).toBe(clone);
    expect(await admin.canLogin(afterFirst)).toBe(true);
    expect(await admin.canLogin(await read(name, "AWSPREVIOUS"))).toBe(true);
    expect(await admin.canLogin(initial)).toBe(true);

    const second = await rotateNow(deps, name, randomUUID());
    expect(second.activeUser).toBe(initial.username);
    const afterSecond = await read(name, "AWSCURRENT");
    expect(afterSecond.username).toBe(initial.username);
    expect(afterSecond.password).not.toBe(initial.password);
    expect(await admin.canLogin(afterSecond)).toBe(true);
    expect(await read(name, "AWSPREVIOUS")).toEqual(afterFirst);
    expect(await admin.canLogin(afterFirst)).toBe(true);
    expect(await admin.canLogin(initial)).toBe(false);
  });

  it("gives the clone the base user's privileges", async () => {
    const { name, config, initial } = await databaseSecret("alternating-users");
    await ensureSampleDatabase(postgres.superuser, {
      database: `shop_${roleCounter}`,
      owner: initial.username,
      ownerPassword: initial.password,
    });
    await store.putSecretValue(name, JSON.stringify({ ...initial, dbname: `shop_${roleCounter}` }));

    await rotateNow(depsFor([config]), name, randomUUID());

    const current = await read(name, "AWSCURRENT");
    const client = new pg.Client({
      host: current.host,
      port: current.port,
      user: current.username,
      password: current.password,
      database: current.dbname,
    });
    await client.connect();
    try {
      const { rows } = await client.query<{ n: number }>("SELECT count(*)::int AS n FROM orders");
      expect(rows[0]?.n).toBe(25);
    } finally {
      await client.end();
    }
  });

  it("uses the masterarn the secret names over the configured master secret", async () => {
    const { name, initial } = await databaseSecret("alternating-users");
    await store.createSecret({ name: "db/other-master", secretString: JSON.stringify(postgres.superuser) });
    await store.putSecretValue(name, JSON.stringify({ ...initial, masterarn: "db/other-master" }));
    const config = secretConfig(name, "alternating-users", "db/missing-master");

    await rotateNow(depsFor([config]), name, randomUUID());

    const current = await read(name, "AWSCURRENT");
    expect(current.masterarn).toBe("db/other-master");
    expect(await admin.canLogin(current)).toBe(true);
  });
});

describe("rotateSecret steps", () => {
  /** What a repeated step must leave exactly as it was. */
  const snapshot = async (name: string, token: string) => {
    const pending = await store
      .getSecretValue(name, { versionId: token })
      .then((v) => v.secretString)
      .catch(() => undefined);
    const current = await read(name, "AWSCURRENT");
    return {
      stages: await stagesOf(name),
      pending,
      current,
      currentLogsIn: await admin.canLogin(current),
      pendingLogsIn: pending === undefined ? undefined : await admin.canLogin(JSON.parse(pending)),
    };
  };

  it.each(["single-user", "alternating-users"] as const)(
    "%s: each step run twice changes nothing the second time",
    async (strategy) => {
      const { name, config } = await databaseSecret(strategy);
      const deps = depsFor([config]);
      const token = randomUUID();
      await store.rotateSecret(name, { clientRequestToken: token });

      for (const step of rotationSteps) {
        const first = await rotateSecret(deps, { Step: step, SecretId: name, ClientRequestToken: token });
        const afterFirst = await snapshot(name, token);
        const second = await rotateSecret(deps, { Step: step, SecretId: name, ClientRequestToken: token });

        expect(await snapshot(name, token), step).toEqual(afterFirst);
        expect(second.outcome, step).toBe("unchanged");
        expect(first.outcome, step).toBe(step === "testSecret" ? "unchanged" : "changed");
      }
      expect(await versionWith(name, "AWSCURRENT")).toBe(token);
      expect(await versionWith(name, "AWSPENDING")).toBeUndefined();
    },
  );

  it("accepts the secret's ARN as SecretId", async () => {
    const { name, config } = await databaseSecret("single-user");
    const { arn } = await store.describeSecret(name);
    const token = randomUUID();
    await store.rotateSecret(name, { clientRequestToken: token });

    for (const step of rotationSteps) {
      expect(
        await rotateSecret(depsFor([config]), { Step: step, SecretId: arn, ClientRequestToken: token }),
      ).toEqual(expect.objectContaining({ secretName: name, versionId: token }));
    }
    expect(await admin.canLogin(await read(name, "AWSCURRENT"))).toBe(true);
  });

  it("refuses a token that is not a version of the secret", async () => {
    const { name, config } = await databaseSecret("single-user");
    await store.rotateSecret(name, { clientRequestToken: randomUUID() });
    const stranger = randomUUID();

    const error = await rejection(
      rotateSecret(depsFor([config]), { Step: "createSecret", SecretId: name, ClientRequestToken: stranger }),
    );

    expect(error).toBeInstanceOf(RotationError);
    expect(error.message).toBe(`Secret version ${stranger} has no stage for rotation of secret ${name}`);
  });

  it.each(rotationSteps)(
    "%s refuses a token that is AWSPREVIOUS, not AWSPENDING",
    async (step: RotationStep) => {
      const { name, config } = await databaseSecret("single-user");
      const { previousVersionId } = await rotateNow(depsFor([config]), name, randomUUID());

      const error = await rejection(
        rotateSecret(depsFor([config]), {
          Step: step,
          SecretId: name,
          ClientRequestToken: previousVersionId!,
        }),
      );

      expect(error).toBeInstanceOf(RotationError);
      expect(error.message).toBe(
        `Secret version ${previousVersionId} not set as AWSPENDING for rotation of secret ${name}`,
      );
    },
  );

  it("does nothing for a token that is already AWSCURRENT", async () => {
    const { name, config } = await databaseSecret("single-user");
    const { versionId } = await rotateNow(depsFor([config]), name, randomUUID());
    const stages = await stagesOf(name);

    for (const step of rotationSteps) {
      const result = await rotateSecret(depsFor([config], forgetfulAdmin), {
        Step: step,
        SecretId: name,
        ClientRequestToken: versionId,
      });
      expect(result.outcome).toBe("unchanged");
    }
    expect(await stagesOf(name)).toEqual(stages);
  });

  it("refuses a secret whose rotation is not enabled", async () => {
    const { name, config } = await databaseSecret("single-user");
    const versionId = (await versionWith(name, "AWSCURRENT"))!;

    const error = await rejection(
      rotateSecret(depsFor([config]), {
        Step: "createSecret",
        SecretId: name,
        ClientRequestToken: versionId,
      }),
    );

    expect(error).toBeInstanceOf(RotationError);
    expect(error.message).toBe(`Secret ${name} is not enabled for rotation`);
  });

  it("refuses a secret switchyard.yaml does not list", async () => {
    const { name } = await databaseSecret("single-user");
    const token = randomUUID();
    await store.rotateSecret(name, { clientRequestToken: token });

    const error = await rejection(
      rotateSecret(depsFor([]), { Step: "createSecret", SecretId: name, ClientRequestToken: token }),
    );

    expect(error.message).toBe(`Secret ${name} is not among the secrets of switchyard.yaml`);
  });

  it("refuses to set a password when neither current nor previous credentials log in", async () => {
    const { name, config, initial } = await databaseSecret("single-user");
    await asSuperuser(
      `ALTER ROLE ${pg.escapeIdentifier(initial.username)} WITH PASSWORD 'changed-elsewhere'`,
    );
    const token = randomUUID();
    await store.rotateSecret(name, { clientRequestToken: token });
    await rotateSecret(depsFor([config]), {
      Step: "createSecret",
      SecretId: name,
      ClientRequestToken: token,
    });

    const error = await rejection(
      rotateSecret(depsFor([config]), { Step: "setSecret", SecretId: name, ClientRequestToken: token }),
    );

    expect(error.message).toBe(
      `Unable to log into the database with the previous, current, or pending version of secret ${name}`,
    );
  });
});

describe("rotateNow, api-key", () => {
  it("stores a new 64-hex value; the link keys are the current and the previous one", async () => {
    const name = "keys/link";
    const initial = "a".repeat(64);
    await store.createSecret({ name, secretString: initial });
    const deps = depsFor([secretConfig(name, "api-key")]);

    const result = await rotateNow(deps, name, randomUUID());

    const current = (await store.getSecretValue(name)).secretString;
    expect(current).toMatch(/^[0-9a-f]{64}$/);
    expect(current).not.toBe(initial);
    expect(result).toEqual(expect.objectContaining({ strategy: "api-key", versionId: result.versionId }));
    expect(result).not.toHaveProperty("activeUser");
    expect(await linkKeys(store, name)).toEqual([current, initial]);
  });

  it("refuses a pending value that is not 64 hex digits in testSecret", async () => {
    const name = "keys/bad";
    await store.createSecret({ name, secretString: "b".repeat(64) });
    const token = randomUUID();
    await store.rotateSecret(name, { clientRequestToken: token });
    await store.putSecretValue(name, "not-hex", { clientRequestToken: token, versionStages: ["AWSPENDING"] });
    const deps = depsFor([secretConfig(name, "api-key")]);

    const error = await rejection(
      rotateSecret(deps, { Step: "testSecret", SecretId: name, ClientRequestToken: token }),
    );

    expect(error.message).toBe(`Secret version ${token} of secret ${name} is not 64 lowercase hex digits`);
  });
});

describe("the rotate-secret handler", () => {
  it("validates the Secrets Manager event", () => {
    const event = { Step: "setSecret", SecretId: "db/x", ClientRequestToken: randomUUID() };
    expect(rotateSecretEventSchema.safeParse(event).success).toBe(true);
    expect(rotateSecretEventSchema.safeParse({ ...event, RotationToken: "rt" }).success).toBe(true);
    expect(rotateSecretEventSchema.safeParse({ ...event, Step: "dropSecret" }).success).toBe(false);
    expect(rotateSecretEventSchema.safeParse({ ...event, ClientRequestToken: "short" }).success).toBe(false);
  });

  it("runs one step through the use case", async () => {
    const { name, config } = await databaseSecret("single-user");
    const token = randomUUID();
    await store.rotateSecret(name, { clientRequestToken: token });

    const result = await makeRotateSecret(depsFor([config]))({
      Step: "createSecret",
      SecretId: name,
      ClientRequestToken: token,
    });

    expect(result).toEqual({ step: "createSecret", secretName: name, versionId: token, outcome: "changed" });
  });
});

describe("secrecy", () => {
  it("never lets an old or a new password reach an error message or a log line", async () => {
    const output: string[] = [];
    const record = (chunk: unknown) => {
      output.push(String(chunk));
      return true;
    };
    const spies = [
      vi.spyOn(process.stdout, "write").mockImplementation(record),
      vi.spyOn(process.stderr, "write").mockImplementation(record),
      ...(["log", "info", "warn", "error", "debug"] as const).map((level) =>
        vi.spyOn(console, level).mockImplementation((...args: unknown[]) => void output.push(args.join(" "))),
      ),
    ];
    const passwords = new Set<string>([superuserPassword]);
    // Every password the rotations make, including those of versions a failed rotation left unlabelled.
    const recording = Object.create(store) as SecretStore;
    recording.getRandomPassword = async (options) => {
      const password = await store.getRandomPassword(options);
      passwords.add(password);
      return password;
    };
    try {
      const single = await databaseSecret("single-user");
      const multi = await databaseSecret("alternating-users");
      const unreachable = await databaseSecret("single-user");
      for (const secret of [single, multi, unreachable]) passwords.add(secret.initial.password);
      const deps = depsFor([single.config, multi.config], admin, recording);
      await rotateNow(deps, single.name, randomUUID());
      await rotateNow(deps, multi.name, randomUUID());
      await rotateNow(deps, multi.name, randomUUID());
      await rejection(
        rotateNow(depsFor([single.config], forgetfulAdmin, recording), single.name, randomUUID()),
      );
      await rejection(
        rotateNow(depsFor([multi.config], forgetfulAdmin, recording), multi.name, randomUUID()),
      );
      // A database that cannot be reached: the connection error must not carry the password either.
      const port = await freePort();
      await store.putSecretValue(unreachable.name, JSON.stringify({ ...unreachable.initial, port }));
      const error = await rejection(
        rotateNow(depsFor([unreachable.config], admin, recording), unreachable.name, randomUUID()),
      );
      expect(error).toBeInstanceOf(TransientError);
    } finally {
      for (const spy of spies) spy.mockRestore();
    }

    // 4 initial (superuser and three users), 5 rotations and the one that could not reach its database.
    expect(passwords.size).toBe(10);
    const errorTexts = thrown.flatMap((error) => {
      const parts: string[] = [];
      for (let e: unknown = error; e instanceof Error; e = e.cause)
        parts.push(e.message, e.stack ?? "", String(e));
      return parts;
    });
    const haystack = [...errorTexts, ...output, ...serverLog].join("\n");
    for (const password of passwords) expect(haystack.includes(password), "a password leaked").toBe(false);
  });
});
