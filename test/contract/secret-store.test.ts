// Runs the SecretStore contract against SQLite and against Secrets Manager (an in-memory fake behind the SDK).

import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  CreateSecretCommand,
  type CreateSecretCommandInput,
  DescribeSecretCommand,
  type DescribeSecretCommandInput,
  GetRandomPasswordCommand,
  type GetRandomPasswordCommandInput,
  GetSecretValueCommand,
  type GetSecretValueCommandInput,
  InvalidNextTokenException,
  InvalidParameterException,
  InvalidRequestException,
  ListSecretsCommand,
  type ListSecretsCommandInput,
  PutSecretValueCommand,
  type PutSecretValueCommandInput,
  ResourceExistsException,
  ResourceNotFoundException,
  RotateSecretCommand,
  type RotateSecretCommandInput,
  SecretsManagerClient,
  SecretsManagerServiceException,
  UpdateSecretVersionStageCommand,
  type UpdateSecretVersionStageCommandInput,
} from "@aws-sdk/client-secrets-manager";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { SecretsManagerSecretStore } from "../../functions/adapters/aws/secrets-manager-secret-store.ts";
import type { Clock, IdGenerator, SecretSummary, VersionStage } from "../../functions/core/ports.ts";
import { SecretStoreException } from "../../local/adapters/secret-store-errors.ts";
import { SqliteSecretStore } from "../../local/adapters/sqlite-secret-store.ts";
import { openDatabase } from "../../local/db.ts";
import { openLocalSecretStore } from "../../local/secrets.ts";
import { describeSecretStoreContract } from "./secret-store.contract.ts";

const region = "eu-west-1";
const account = "123456789012";

/** Small pages, so the adapter's NextToken loop is exercised by the contract's listing tests. */
const fakeListPageSize = 2;

/** GetRandomPassword's length when the request names none. */
const defaultPasswordLength = 32;

const tempHome = (): string => mkdtempSync(join(tmpdir(), "switchyard-secrets-"));

/** What the service would answer with: the SDK's own exception classes, so the adapter sees real shapes. */
const toServiceException = (error: unknown): unknown => {
  if (!(error instanceof SecretStoreException)) return error;
  const options = { message: error.message, $metadata: { httpStatusCode: 400 } };
  switch (error.name) {
    case "ResourceNotFoundException":
      return new ResourceNotFoundException(options);
    case "ResourceExistsException":
      return new ResourceExistsException(options);
    case "InvalidParameterException":
      return new InvalidParameterException(options);
    case "InvalidRequestException":
      return new InvalidRequestException(options);
    default:
      // ValidationException is not modelled by the SDK; the service's answer arrives as the base class with its name.
      return new SecretsManagerServiceException({ ...options, name: error.name, $fault: "client" });
  }
};

const serve =
  <TInput, TOutput>(handler: (input: TInput) => Promise<TOutput>) =>
  async (input: TInput): Promise<TOutput> => {
    try {
      return await handler(input);
    } catch (error) {
      throw toServiceException(error);
    }
  };

const stagesOrOmitted = (map: Record<string, VersionStage[]>) =>
  Object.keys(map).length > 0 ? map : undefined;

const listEntry = (summary: SecretSummary) => ({
  ARN: summary.arn,
  Name: summary.name,
  Description: summary.description,
  CreatedDate: summary.createdDate,
  LastChangedDate: summary.lastChangedDate,
  SecretVersionsToStages: stagesOrOmitted(summary.versionIdsToStages),
  // Secrets Manager leaves RotationEnabled out until rotation is turned on.
  RotationEnabled: summary.rotationEnabled ? true : undefined,
  LastRotatedDate: summary.lastRotatedDate,
});

/**
 * A Secrets Manager stand-in behind the SDK: requests and responses in the SDK's shapes, the semantics delegated
 * to a SqliteSecretStore on `:memory:` so they are written once. What it checks is the adapter's mapping.
 */
const fakeSecretsManager = (client: SecretsManagerClient) => {
  const db = openDatabase(":memory:");
  const service = new SqliteSecretStore({ db, region, account });
  const mock = mockClient(client);

  mock.on(CreateSecretCommand).callsFake(
    serve(async (input: CreateSecretCommandInput) => {
      const created = await service.createSecret({
        name: input.Name ?? "",
        secretString: input.SecretString,
        description: input.Description,
        clientRequestToken: input.ClientRequestToken,
      });
      return { ARN: created.arn, Name: created.name, VersionId: created.versionId };
    }),
  );
  mock.on(GetSecretValueCommand).callsFake(
    serve(async (input: GetSecretValueCommandInput) => {
      const version = await service.getSecretValue(input.SecretId ?? "", {
        versionId: input.VersionId,
        versionStage: input.VersionStage,
      });
      return {
        ARN: version.arn,
        Name: version.name,
        VersionId: version.versionId,
        SecretString: version.secretString,
        VersionStages: version.versionStages,
        CreatedDate: version.createdDate,
      };
    }),
  );
  mock.on(PutSecretValueCommand).callsFake(
    serve(async (input: PutSecretValueCommandInput) => {
      const put = await service.putSecretValue(input.SecretId ?? "", input.SecretString ?? "", {
        clientRequestToken: input.ClientRequestToken,
        versionStages: input.VersionStages,
      });
      return { ARN: put.arn, Name: put.name, VersionId: put.versionId, VersionStages: put.versionStages };
    }),
  );
  mock.on(UpdateSecretVersionStageCommand).callsFake(
    serve(async (input: UpdateSecretVersionStageCommandInput) => {
      await service.updateSecretVersionStage(input.SecretId ?? "", input.VersionStage ?? "", {
        moveToVersionId: input.MoveToVersionId,
        removeFromVersionId: input.RemoveFromVersionId,
      });
      const { arn, name } = await service.describeSecret(input.SecretId ?? "");
      return { ARN: arn, Name: name };
    }),
  );
  mock.on(DescribeSecretCommand).callsFake(
    serve(async (input: DescribeSecretCommandInput) => {
      const summary = await service.describeSecret(input.SecretId ?? "");
      const { SecretVersionsToStages, ...entry } = listEntry(summary);
      return { ...entry, VersionIdsToStages: SecretVersionsToStages };
    }),
  );
  mock.on(RotateSecretCommand).callsFake(
    serve(async (input: RotateSecretCommandInput) => {
      // The SDK fills an omitted ClientRequestToken; the service rejects an empty one.
      const { versionId } = await service.rotateSecret(input.SecretId ?? "", {
        clientRequestToken: input.ClientRequestToken ?? "",
      });
      const { arn, name } = await service.describeSecret(input.SecretId ?? "");
      return { ARN: arn, Name: name, VersionId: versionId };
    }),
  );
  mock.on(GetRandomPasswordCommand).callsFake(
    serve(async (input: GetRandomPasswordCommandInput) => ({
      RandomPassword: await service.getRandomPassword({
        length: input.PasswordLength ?? defaultPasswordLength,
        excludeCharacters: input.ExcludeCharacters,
        excludeNumbers: input.ExcludeNumbers,
        excludePunctuation: input.ExcludePunctuation,
        excludeUppercase: input.ExcludeUppercase,
        excludeLowercase: input.ExcludeLowercase,
        includeSpace: input.IncludeSpace,
        requireEachIncludedType: input.RequireEachIncludedType,
      }),
    })),
  );
  mock.on(ListSecretsCommand).callsFake(
    serve(async (input: ListSecretsCommandInput) => {
      const start = input.NextToken === undefined ? 0 : Number(input.NextToken);
      if (!Number.isInteger(start) || start < 0) {
        throw new InvalidNextTokenException({ message: "The NextToken value is invalid.", $metadata: {} });
      }
      const all = await service.listSecrets();
      const end = start + (input.MaxResults ?? fakeListPageSize);
      return {
        SecretList: all.slice(start, end).map(listEntry),
        NextToken: end < all.length ? String(end) : undefined,
      };
    }),
  );

  return {
    close: () => {
      mock.restore();
      db.close();
    },
  };
};

describeSecretStoreContract("SqliteSecretStore (file database)", async () => {
  const home = tempHome();
  const db = openDatabase(join(home, "secrets.db"));
  return {
    store: new SqliteSecretStore({ db, region, account }),
    cleanup: async () => {
      db.close();
      rmSync(home, { recursive: true, force: true });
    },
  };
});

describeSecretStoreContract("SecretsManagerSecretStore (SDK against a Secrets Manager fake)", async () => {
  const client = new SecretsManagerClient({ region });
  const fake = fakeSecretsManager(client);
  return { store: new SecretsManagerSecretStore(client), cleanup: async () => fake.close() };
});

describe("SqliteSecretStore", () => {
  let home: string;

  beforeEach(() => {
    home = tempHome();
  });

  afterEach(() => {
    rmSync(home, { recursive: true, force: true });
  });

  const token = (n: number): string => `00000000-0000-4000-8000-${n.toString().padStart(12, "0")}`;

  it("keeps secrets, versions and stages across a reopen of the database", async () => {
    const file = join(home, "secrets.db");
    const first = openDatabase(file);
    const before = new SqliteSecretStore({ db: first });
    const { arn } = await before.createSecret({
      name: "prod/orders/db",
      secretString: "v1",
      clientRequestToken: token(1),
    });
    await before.putSecretValue(arn, "v2", { clientRequestToken: token(2), versionStages: ["AWSPENDING"] });
    await before.updateSecretVersionStage(arn, "AWSCURRENT", {
      moveToVersionId: token(2),
      removeFromVersionId: token(1),
    });
    first.close();

    const second = openDatabase(file);
    const after = new SqliteSecretStore({ db: second });

    expect(await after.getSecretValue("prod/orders/db")).toMatchObject({
      arn,
      versionId: token(2),
      secretString: "v2",
    });
    expect((await after.describeSecret(arn)).versionIdsToStages).toEqual({
      [token(1)]: ["AWSPREVIOUS"],
      [token(2)]: ["AWSPENDING", "AWSCURRENT"],
    });
    second.close();
  });

  it("lets two connections (the CLI and the runtime) share the file and see each other's writes", async () => {
    const file = join(home, "secrets.db");
    const cliDb = openDatabase(file);
    const runtimeDb = openDatabase(file);
    const cli = new SqliteSecretStore({ db: cliDb });
    const runtime = new SqliteSecretStore({ db: runtimeDb });

    await cli.createSecret({ name: "prod/payments/api-key", secretString: "k1" });
    await runtime.putSecretValue("prod/payments/api-key", "k2");

    expect((await cli.getSecretValue("prod/payments/api-key")).secretString).toBe("k2");
    cliDb.close();
    runtimeDb.close();
  });

  it("mints ARNs in the configured region and account and takes version ids from the injected generator", async () => {
    const db = openDatabase(":memory:");
    const ids: IdGenerator = { next: () => token(42) };
    const store = new SqliteSecretStore({ db, region: "ap-southeast-2", account: "210987654321", ids });

    const created = await store.createSecret({ name: "x", secretString: "v" });

    expect(created.arn).toMatch(
      /^arn:aws:secretsmanager:ap-southeast-2:210987654321:secret:x-[A-Za-z0-9]{6}$/,
    );
    expect(created.versionId).toBe(token(42));
    db.close();
  });

  it("rolls back every row of a change that fails part-way", async () => {
    const db = openDatabase(":memory:");
    const store = new SqliteSecretStore({ db });
    await store.createSecret({ name: "s", secretString: "v1", clientRequestToken: token(1) });
    db.exec(`CREATE TRIGGER refuse_label BEFORE INSERT ON secretsmanager_stages WHEN NEW.stage = 'refused'
             BEGIN SELECT RAISE(ABORT, 'label refused'); END`);

    await expect(
      store.putSecretValue("s", "v2", {
        clientRequestToken: token(2),
        versionStages: ["AWSPENDING", "refused"],
      }),
    ).rejects.toThrow("label refused");

    expect((await store.describeSecret("s")).versionIdsToStages).toEqual({ [token(1)]: ["AWSCURRENT"] });
    await expect(store.getSecretValue("s", { versionId: token(2) })).rejects.toMatchObject({
      name: "ResourceNotFoundException",
    });
    db.close();
  });

  it("drops the oldest unlabelled versions beyond 100, but only once they are a day old", async () => {
    const db = openDatabase(":memory:");
    let now = new Date("2026-01-01T00:00:00Z");
    const clock: Clock = { now: () => now };
    const store = new SqliteSecretStore({ db, clock });
    await store.createSecret({ name: "busy", secretString: "v-1", clientRequestToken: token(1) });
    for (let n = 2; n <= 101; n++) {
      await store.putSecretValue("busy", `v-${n}`, { clientRequestToken: token(n) });
    }

    expect((await store.getSecretValue("busy", { versionId: token(1) })).secretString).toBe("v-1");

    now = new Date("2026-01-02T00:00:01Z");
    await store.putSecretValue("busy", "v-102", { clientRequestToken: token(102) });

    await expect(store.getSecretValue("busy", { versionId: token(1) })).rejects.toMatchObject({
      name: "ResourceNotFoundException",
    });
    await expect(store.getSecretValue("busy", { versionId: token(2) })).rejects.toMatchObject({
      name: "ResourceNotFoundException",
    });
    expect((await store.getSecretValue("busy", { versionId: token(3) })).secretString).toBe("v-3");
    expect((await store.getSecretValue("busy", { versionStage: "AWSPREVIOUS" })).versionId).toBe(token(101));
    db.close();
  });

  it("upgrades a secrets.db from before rotation in place, keeping its secrets, and reopens it unchanged", async () => {
    const file = join(home, "secrets.db");
    const old = openDatabase(file);
    old.exec(`
      CREATE TABLE secretsmanager_secrets (
        name TEXT PRIMARY KEY, arn TEXT NOT NULL UNIQUE, description TEXT,
        created_at_ms INTEGER NOT NULL, last_changed_at_ms INTEGER NOT NULL
      ) STRICT;
      CREATE TABLE secretsmanager_versions (
        secret_name TEXT NOT NULL REFERENCES secretsmanager_secrets(name) ON DELETE CASCADE,
        version_id TEXT NOT NULL, secret_string TEXT NOT NULL, created_at_ms INTEGER NOT NULL,
        PRIMARY KEY (secret_name, version_id)
      ) STRICT;
      CREATE TABLE secretsmanager_stages (
        secret_name TEXT NOT NULL, stage TEXT NOT NULL, version_id TEXT NOT NULL,
        PRIMARY KEY (secret_name, stage),
        FOREIGN KEY (secret_name, version_id)
          REFERENCES secretsmanager_versions(secret_name, version_id) ON DELETE CASCADE
      ) STRICT;
      INSERT INTO secretsmanager_secrets VALUES ('old', 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:old-AbC123', NULL, 1, 1);
      INSERT INTO secretsmanager_versions VALUES ('old', '${token(1)}', 'v1', 1);
      INSERT INTO secretsmanager_stages VALUES ('old', 'AWSCURRENT', '${token(1)}');
    `);
    old.close();

    const upgraded = openDatabase(file);
    const store = new SqliteSecretStore({ db: upgraded });
    expect((await store.getSecretValue("old")).secretString).toBe("v1");
    expect(await store.describeSecret("old")).toMatchObject({ rotationEnabled: false });
    await store.rotateSecret("old", { clientRequestToken: token(2) });
    upgraded.close();

    const reopened = openDatabase(file);
    const again = new SqliteSecretStore({ db: reopened });
    expect(await again.describeSecret("old")).toMatchObject({
      rotationEnabled: true,
      versionIdsToStages: { [token(1)]: ["AWSCURRENT"], [token(2)]: ["AWSPENDING"] },
    });
    reopened.close();
  });

  it("markRotated records LastRotatedDate, which survives a reopen", async () => {
    const file = join(home, "secrets.db");
    const first = openDatabase(file);
    const store = new SqliteSecretStore({ db: first });
    await store.createSecret({ name: "s", secretString: "v1" });
    expect((await store.describeSecret("s")).lastRotatedDate).toBeUndefined();

    await store.markRotated("s", new Date("2026-05-02T03:00:00Z"));
    first.close();

    const second = openDatabase(file);
    expect((await new SqliteSecretStore({ db: second }).describeSecret("s")).lastRotatedDate).toEqual(
      new Date("2026-05-02T03:00:00Z"),
    );
    await expect(
      new SqliteSecretStore({ db: second }).markRotated("missing", new Date()),
    ).rejects.toMatchObject({ name: "ResourceNotFoundException" });
    second.close();
  });

  it("getRandomPassword treats a type that excludeCharacters empties as excluded", async () => {
    const db = openDatabase(":memory:");
    const store = new SqliteSecretStore({ db });

    const password = await store.getRandomPassword({ length: 3, excludeCharacters: "0123456789" });

    expect(password).toMatch(/^[^0-9]{3}$/);
    db.close();
  });

  it("openLocalSecretStore keeps its secrets in <home>/secrets.db", async () => {
    const store = openLocalSecretStore(home, { region });

    const created = await store.createSecret({ name: "cli/put", secretString: "v" });

    expect(existsSync(join(home, "secrets.db"))).toBe(true);
    expect(created.arn).toContain(`:secretsmanager:${region}:`);
    store.close();
    const reopened = openLocalSecretStore(home);
    expect((await reopened.getSecretValue("cli/put")).secretString).toBe("v");
    reopened.close();
  });
});

describe("SecretsManagerSecretStore requests", () => {
  const client = new SecretsManagerClient({ region });
  const sm = mockClient(client);
  const store = new SecretsManagerSecretStore(client);
  const arn = `arn:aws:secretsmanager:${region}:${account}:secret:prod/orders/db-AbC123`;
  const versionId = "00000000-0000-4000-8000-000000000002";

  beforeEach(() => {
    sm.reset();
  });

  it("puts a value with its ClientRequestToken and VersionStages", async () => {
    sm.on(PutSecretValueCommand).resolves({
      ARN: arn,
      Name: "prod/orders/db",
      VersionId: versionId,
      VersionStages: ["AWSPENDING"],
    });

    const put = await store.putSecretValue(arn, "secret-text", {
      clientRequestToken: versionId,
      versionStages: ["AWSPENDING"],
    });

    expect(sm.commandCalls(PutSecretValueCommand).map((call) => call.args[0].input)).toEqual([
      {
        SecretId: arn,
        SecretString: "secret-text",
        ClientRequestToken: versionId,
        VersionStages: ["AWSPENDING"],
      },
    ]);
    expect(put).toEqual({ name: "prod/orders/db", arn, versionId, versionStages: ["AWSPENDING"] });
  });

  it("moves a stage with UpdateSecretVersionStage", async () => {
    sm.on(UpdateSecretVersionStageCommand).resolves({ ARN: arn, Name: "prod/orders/db" });

    await store.updateSecretVersionStage(arn, "AWSCURRENT", {
      moveToVersionId: versionId,
      removeFromVersionId: "00000000-0000-4000-8000-000000000001",
    });

    expect(sm.commandCalls(UpdateSecretVersionStageCommand).map((call) => call.args[0].input)).toEqual([
      {
        SecretId: arn,
        VersionStage: "AWSCURRENT",
        MoveToVersionId: versionId,
        RemoveFromVersionId: "00000000-0000-4000-8000-000000000001",
      },
    ]);
  });

  it("reads a stage with GetSecretValue and maps the answer", async () => {
    const createdDate = new Date("2026-05-01T12:00:00Z");
    sm.on(GetSecretValueCommand).resolves({
      ARN: arn,
      Name: "prod/orders/db",
      VersionId: versionId,
      VersionStages: ["AWSPENDING"],
      SecretString: "secret-text",
      CreatedDate: createdDate,
    });

    const version = await store.getSecretValue("prod/orders/db", { versionStage: "AWSPENDING" });

    expect(sm.commandCalls(GetSecretValueCommand).map((call) => call.args[0].input)).toEqual([
      { SecretId: "prod/orders/db", VersionStage: "AWSPENDING" },
    ]);
    expect(version).toEqual({
      name: "prod/orders/db",
      arn,
      versionId,
      versionStages: ["AWSPENDING"],
      createdDate,
      secretString: "secret-text",
    });
  });

  it("creates a secret with name, value, description and token", async () => {
    sm.on(CreateSecretCommand).resolves({ ARN: arn, Name: "prod/orders/db", VersionId: versionId });

    await store.createSecret({
      name: "prod/orders/db",
      secretString: "secret-text",
      description: "orders database",
      clientRequestToken: versionId,
    });

    expect(sm.commandCalls(CreateSecretCommand).map((call) => call.args[0].input)).toEqual([
      {
        Name: "prod/orders/db",
        SecretString: "secret-text",
        Description: "orders database",
        ClientRequestToken: versionId,
      },
    ]);
  });

  it("follows NextToken until ListSecrets has no more pages", async () => {
    const createdDate = new Date("2026-05-01T12:00:00Z");
    sm.on(ListSecretsCommand, { NextToken: undefined })
      .resolves({
        SecretList: [{ ARN: arn, Name: "prod/orders/db", CreatedDate: createdDate }],
        NextToken: "page-2",
      })
      .on(ListSecretsCommand, { NextToken: "page-2" })
      .resolves({
        SecretList: [
          {
            ARN: `${arn}x`,
            Name: "prod/payments/key",
            CreatedDate: createdDate,
            SecretVersionsToStages: { [versionId]: ["AWSCURRENT"] },
          },
        ],
      });

    const listed = await store.listSecrets();

    expect(sm.commandCalls(ListSecretsCommand).map((call) => call.args[0].input.NextToken)).toEqual([
      undefined,
      "page-2",
    ]);
    expect(listed).toEqual([
      { name: "prod/orders/db", arn, createdDate, versionIdsToStages: {}, rotationEnabled: false },
      {
        name: "prod/payments/key",
        arn: `${arn}x`,
        createdDate,
        versionIdsToStages: { [versionId]: ["AWSCURRENT"] },
        rotationEnabled: false,
      },
    ]);
  });

  it("starts a rotation with RotateSecret, its token and RotateImmediately", async () => {
    sm.on(RotateSecretCommand).resolves({ ARN: arn, Name: "prod/orders/db", VersionId: versionId });

    const rotated = await store.rotateSecret(arn, { clientRequestToken: versionId });

    expect(sm.commandCalls(RotateSecretCommand).map((call) => call.args[0].input)).toEqual([
      { SecretId: arn, ClientRequestToken: versionId, RotateImmediately: true },
    ]);
    expect(rotated).toEqual({ versionId });
  });

  it("has no markRotated: Secrets Manager records LastRotatedDate itself", () => {
    expect("markRotated" in store).toBe(false);
  });

  it("maps DescribeSecret's RotationEnabled and LastRotatedDate", async () => {
    const createdDate = new Date("2026-05-01T12:00:00Z");
    const lastRotatedDate = new Date("2026-05-02T03:00:00Z");
    sm.on(DescribeSecretCommand).resolves({
      ARN: arn,
      Name: "prod/orders/db",
      CreatedDate: createdDate,
      RotationEnabled: true,
      LastRotatedDate: lastRotatedDate,
      VersionIdsToStages: { [versionId]: ["AWSCURRENT"] },
    });

    expect(await store.describeSecret(arn)).toEqual({
      name: "prod/orders/db",
      arn,
      createdDate,
      versionIdsToStages: { [versionId]: ["AWSCURRENT"] },
      rotationEnabled: true,
      lastRotatedDate,
    });
  });

  it("passes every GetRandomPassword option and returns the password", async () => {
    sm.on(GetRandomPasswordCommand).resolves({ RandomPassword: "Xy7!Xy7!Xy7!" });

    const password = await store.getRandomPassword({
      length: 12,
      excludeCharacters: '/@"',
      excludeNumbers: false,
      excludePunctuation: false,
      excludeUppercase: false,
      excludeLowercase: false,
      includeSpace: false,
      requireEachIncludedType: true,
    });

    expect(sm.commandCalls(GetRandomPasswordCommand).map((call) => call.args[0].input)).toEqual([
      {
        PasswordLength: 12,
        ExcludeCharacters: '/@"',
        ExcludeNumbers: false,
        ExcludePunctuation: false,
        ExcludeUppercase: false,
        ExcludeLowercase: false,
        IncludeSpace: false,
        RequireEachIncludedType: true,
      },
    ]);
    expect(password).toBe("Xy7!Xy7!Xy7!");
  });

  it("lets the SDK's error through untouched, name and all", async () => {
    const error = new ResourceNotFoundException({
      message: "Secrets Manager can't find the specified secret.",
      $metadata: { httpStatusCode: 400 },
    });
    sm.on(DescribeSecretCommand).rejects(error);

    await expect(store.describeSecret("missing")).rejects.toBe(error);
    expect(error.name).toBe("ResourceNotFoundException");
  });

  it("refuses a binary secret rather than guessing its encoding", async () => {
    sm.on(GetSecretValueCommand).resolves({
      ARN: arn,
      Name: "prod/orders/db",
      VersionId: versionId,
      SecretBinary: new Uint8Array([1, 2, 3]),
      CreatedDate: new Date(),
    });

    await expect(store.getSecretValue(arn)).rejects.toMatchObject({ name: "ValidationError" });
  });
});
