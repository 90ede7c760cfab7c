// The local SecretStore: Secrets Manager's secrets, versions and staging labels kept in SQLite.

import { randomInt, randomUUID } from "node:crypto";
import type {
  Clock,
  IdGenerator,
  RandomPasswordOptions,
  SecretStore,
  SecretSummary,
  SecretVersion,
  VersionStage,
} from "../../functions/core/ports.ts";
import type { SqliteDatabase } from "../db.ts";
import {
  InvalidParameterException,
  InvalidRequestException,
  ResourceExistsException,
  ResourceNotFoundException,
  ValidationException,
} from "./secret-store-errors.ts";

const currentStage = "AWSCURRENT";
const pendingStage = "AWSPENDING";
const previousStage = "AWSPREVIOUS";

/** Secrets Manager's published limits, checked before anything is read or written. */
const maxSecretNameLength = 512;
const secretNamePattern = /^[A-Za-z0-9/_+=.@-]+$/;
const maxSecretIdLength = 2_048;
const maxDescriptionLength = 2_048;
const maxSecretStringBytes = 65_536;
const minVersionIdLength = 32;
const maxVersionIdLength = 64;
const maxStagesPerRequest = 20;
const maxStageLength = 256;

/** GetRandomPassword's limits (`PasswordLengthType`, `ExcludeCharactersType`). */
const minPasswordLength = 1;
const maxPasswordLength = 4_096;
const maxExcludeCharactersLength = 4_096;

/** GetRandomPassword's character types; punctuation is the 32 printable ASCII characters that are not alphanumeric. */
const passwordCharacterTypes = {
  uppercase: "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
  lowercase: "abcdefghijklmnopqrstuvwxyz",
  numbers: "0123456789",
  punctuation: "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~",
} as const;

/** Secrets Manager keeps the 100 newest versions, but never drops one younger than a day or one with a label. */
const retainedVersionCount = 100;
const unlabelledVersionGraceMs = 24 * 60 * 60 * 1_000;

/** The random part Secrets Manager appends to a secret's name in its ARN. */
const arnSuffixLength = 6;
const arnSuffixAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/** Partition-agnostic shape of a (possibly partial) secret ARN; group 1 is what follows `secret:`. */
const secretArnPattern = /^arn:[a-z-]+:secretsmanager:[a-z0-9-]*:\d*:secret:(.+)$/;

/** Region and account the ARNs are minted in when the caller names none: nothing in AWS answers to them. */
export const localRegion = "us-east-1";
export const localAccountId = "000000000000";

const schema = `
  CREATE TABLE IF NOT EXISTS secretsmanager_secrets (
    name TEXT PRIMARY KEY,
    arn TEXT NOT NULL UNIQUE,
    description TEXT,
    created_at_ms INTEGER NOT NULL,
    last_changed_at_ms INTEGER NOT NULL
  ) STRICT;
  CREATE TABLE IF NOT EXISTS secretsmanager_versions (
    secret_name TEXT NOT NULL REFERENCES secretsmanager_secrets(name) ON DELETE CASCADE,
    version_id TEXT NOT NULL,
    secret_string TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL,
    PRIMARY KEY (secret_name, version_id)
  ) STRICT;
  -- The primary key is what makes a label sit on at most one version of a secret.
  CREATE TABLE IF NOT EXISTS secretsmanager_stages (
    secret_name TEXT NOT NULL,
    stage TEXT NOT NULL,
    version_id TEXT NOT NULL,
    PRIMARY KEY (secret_name, stage),
    FOREIGN KEY (secret_name, version_id)
      REFERENCES secretsmanager_versions(secret_name, version_id) ON DELETE CASCADE
  ) STRICT;
  CREATE INDEX IF NOT EXISTS secretsmanager_stages_by_version ON secretsmanager_stages(secret_name, version_id);
`;

/**
 * Columns added after the first release. Every home gets them the same way (new files too), so an existing
 * secrets.db is upgraded in place and keeps its secrets. `has_value = 0` marks a version RotateSecret created
 * that no PutSecretValue has filled yet; its `secret_string` is empty and never returned.
 */
const addedColumns = [
  { table: "secretsmanager_secrets", column: "rotation_enabled", definition: "INTEGER NOT NULL DEFAULT 0" },
  { table: "secretsmanager_secrets", column: "last_rotated_at_ms", definition: "INTEGER" },
  { table: "secretsmanager_versions", column: "has_value", definition: "INTEGER NOT NULL DEFAULT 1" },
] as const;

interface SecretRow {
  name: string;
  arn: string;
  description: string | null;
  created_at_ms: number;
  last_changed_at_ms: number;
  rotation_enabled: number;
  last_rotated_at_ms: number | null;
}

interface VersionRow {
  version_id: string;
  secret_string: string;
  created_at_ms: number;
  has_value: number;
}

interface StageRow {
  secret_name: string;
  version_id: string;
  stage: string;
}

export interface SqliteSecretStoreOptions {
  db: SqliteDatabase;
  /** Region written into new ARNs (default `us-east-1`). */
  region?: string;
  /** Account written into new ARNs (default `000000000000`). */
  account?: string;
  clock?: Clock;
  /** Version ids for writes that bring no `clientRequestToken`; must be 32–64 characters, as a UUID is. */
  ids?: IdGenerator;
}

const systemClock: Clock = { now: () => new Date() };
const uuidIds: IdGenerator = { next: () => randomUUID() };

const randomArnSuffix = (): string =>
  Array.from({ length: arnSuffixLength }, () => arnSuffixAlphabet[randomInt(arnSuffixAlphabet.length)]).join(
    "",
  );

const lengthError = (field: string, constraint: string): ValidationException =>
  new ValidationException(
    `1 validation error detected: Value at '${field}' failed to satisfy constraint: ${constraint}`,
  );

const checkLength = (field: string, value: string, min: number, max: number): void => {
  if (value.length < min) throw lengthError(field, `Member must have length greater than or equal to ${min}`);
  if (value.length > max) throw lengthError(field, `Member must have length less than or equal to ${max}`);
};

const checkVersionId = (field: string, versionId: string | undefined): void => {
  if (versionId !== undefined) checkLength(field, versionId, minVersionIdLength, maxVersionIdLength);
};

const checkStage = (field: string, stage: string): void => checkLength(field, stage, 1, maxStageLength);

const checkSecretString = (secretString: string): void => {
  // The limit is in bytes of the UTF-8 encoding, so multi-byte text reaches it sooner than its length suggests.
  if (Buffer.byteLength(secretString, "utf8") > maxSecretStringBytes) {
    throw lengthError(
      "secretString",
      `Member must have length less than or equal to ${maxSecretStringBytes}`,
    );
  }
};

const checkSecretName = (name: string): void => {
  checkLength("name", name, 1, maxSecretNameLength);
  if (!secretNamePattern.test(name)) {
    throw new InvalidParameterException(
      "Invalid name. Must be a valid name containing alphanumeric characters, or any of the following: -/_+=.@",
    );
  }
};

const secretNotFound = (): ResourceNotFoundException =>
  new ResourceNotFoundException("Secrets Manager can't find the specified secret.");

const versionValueNotFound = (versionId: string): ResourceNotFoundException =>
  new ResourceNotFoundException(
    `Secrets Manager can't find the specified secret value for VersionId: ${versionId}`,
  );

const randomCharacter = (alphabet: string): string => alphabet[randomInt(alphabet.length)]!;

/** Fisher–Yates with a cryptographic source, so the required characters do not sit at predictable positions. */
const shuffle = (characters: string[]): string[] => {
  for (let i = characters.length - 1; i > 0; i--) {
    const j = randomInt(i + 1);
    [characters[i], characters[j]] = [characters[j]!, characters[i]!];
  }
  return characters;
};

/** Creates the tables and adds missing columns in one immediate transaction, so two processes opening at once agree. */
const migrate = (db: SqliteDatabase): void => {
  const hasColumn = db
    .prepare<[string, string], number>("SELECT count(*) FROM pragma_table_info(?) WHERE name = ?")
    .pluck();
  db.transaction(() => {
    db.exec(schema);
    for (const { table, column, definition } of addedColumns) {
      if (hasColumn.get(table, column) === 0) {
        db.exec(`ALTER TABLE ${table} ADD COLUMN ${column} ${definition}`);
      }
    }
  }).immediate();
};

/** Every statement the store runs, prepared once per database. */
const prepareStatements = (db: SqliteDatabase) => ({
  secretByName: db.prepare<[string], SecretRow>("SELECT * FROM secretsmanager_secrets WHERE name = ?"),
  secretByArn: db.prepare<[string], SecretRow>("SELECT * FROM secretsmanager_secrets WHERE arn = ?"),
  allSecrets: db.prepare<[], SecretRow>("SELECT * FROM secretsmanager_secrets ORDER BY name"),
  insertSecret: db.prepare<[string, string, string | null, number, number]>(
    "INSERT INTO secretsmanager_secrets (name, arn, description, created_at_ms, last_changed_at_ms) VALUES (?, ?, ?, ?, ?)",
  ),
  touchSecret: db.prepare<[number, string]>(
    "UPDATE secretsmanager_secrets SET last_changed_at_ms = ? WHERE name = ?",
  ),
  enableRotation: db.prepare<[string]>(
    "UPDATE secretsmanager_secrets SET rotation_enabled = 1 WHERE name = ?",
  ),
  markRotated: db.prepare<[number, string]>(
    "UPDATE secretsmanager_secrets SET last_rotated_at_ms = ? WHERE name = ?",
  ),
  version: db.prepare<[string, string], VersionRow>(
    "SELECT version_id, secret_string, created_at_ms, has_value FROM secretsmanager_versions WHERE secret_name = ? AND version_id = ?",
  ),
  insertVersion: db.prepare<[string, string, string, number]>(
    "INSERT INTO secretsmanager_versions (secret_name, version_id, secret_string, created_at_ms) VALUES (?, ?, ?, ?)",
  ),
  insertEmptyVersion: db.prepare<[string, string, number]>(
    "INSERT INTO secretsmanager_versions (secret_name, version_id, secret_string, created_at_ms, has_value) VALUES (?, ?, '', ?, 0)",
  ),
  fillVersion: db.prepare<[string, string, string]>(
    "UPDATE secretsmanager_versions SET secret_string = ?, has_value = 1 WHERE secret_name = ? AND version_id = ? AND has_value = 0",
  ),
  versionCount: db
    .prepare<[string], number>("SELECT count(*) FROM secretsmanager_versions WHERE secret_name = ?")
    .pluck(),
  pruneVersions: db.prepare<[string, number, number]>(
    `DELETE FROM secretsmanager_versions WHERE rowid IN (
         SELECT v.rowid FROM secretsmanager_versions v
         WHERE v.secret_name = ?
           AND v.created_at_ms <= ?
           AND NOT EXISTS (
             SELECT 1 FROM secretsmanager_stages s WHERE s.secret_name = v.secret_name AND s.version_id = v.version_id
           )
         ORDER BY v.created_at_ms, v.rowid
         LIMIT ?
       )`,
  ),
  holder: db
    .prepare<[string, string], string>(
      "SELECT version_id FROM secretsmanager_stages WHERE secret_name = ? AND stage = ?",
    )
    .pluck(),
  stagesOfVersion: db
    .prepare<[string, string], string>(
      "SELECT stage FROM secretsmanager_stages WHERE secret_name = ? AND version_id = ? ORDER BY rowid",
    )
    .pluck(),
  stagesOfSecret: db.prepare<[string], StageRow>(
    `SELECT s.secret_name, s.version_id, s.stage FROM secretsmanager_stages s
       JOIN secretsmanager_versions v ON v.secret_name = s.secret_name AND v.version_id = s.version_id
       WHERE s.secret_name = ? ORDER BY v.created_at_ms, v.rowid, s.rowid`,
  ),
  allStages: db.prepare<[], StageRow>(
    `SELECT s.secret_name, s.version_id, s.stage FROM secretsmanager_stages s
       JOIN secretsmanager_versions v ON v.secret_name = s.secret_name AND v.version_id = s.version_id
       ORDER BY v.created_at_ms, v.rowid, s.rowid`,
  ),
  detach: db.prepare<[string, string]>(
    "DELETE FROM secretsmanager_stages WHERE secret_name = ? AND stage = ?",
  ),
  attach: db.prepare<[string, string, string]>(
    "INSERT INTO secretsmanager_stages (secret_name, stage, version_id) VALUES (?, ?, ?)",
  ),
});

/**
 * The SecretStore port on SQLite, with Secrets Manager's semantics: ARNs with a random 6-character suffix,
 * version ids that double as idempotency tokens, and staging labels (AWSCURRENT / AWSPENDING / AWSPREVIOUS) that
 * sit on at most one version each and move exactly as PutSecretValue and UpdateSecretVersionStage move them.
 * Every change runs in one immediate transaction, so the CLI and the runtime can share the file.
 *
 * @example
 * const store = new SqliteSecretStore({ db: openDatabase(join(home, "secrets.db")), region: "eu-west-1" });
 * await store.createSecret({ name: "prod/orders/db", secretString: JSON.stringify({ password: "…" }) });
 * const { secretString } = await store.getSecretValue("prod/orders/db");
 */
export class SqliteSecretStore implements SecretStore {
  private readonly db: SqliteDatabase;
  private readonly region: string;
  private readonly account: string;
  private readonly clock: Clock;
  private readonly ids: IdGenerator;
  private readonly sql: ReturnType<typeof prepareStatements>;

  constructor(options: SqliteSecretStoreOptions) {
    this.db = options.db;
    this.region = options.region ?? localRegion;
    this.account = options.account ?? localAccountId;
    this.clock = options.clock ?? systemClock;
    this.ids = options.ids ?? uuidIds;
    migrate(this.db);
    this.sql = prepareStatements(this.db);
  }

  async createSecret(input: {
    name: string;
    secretString?: string;
    description?: string;
    clientRequestToken?: string;
  }): Promise<{ name: string; arn: string; versionId?: string }> {
    const { name, secretString, description, clientRequestToken } = input;
    checkSecretName(name);
    checkVersionId("clientRequestToken", clientRequestToken);
    if (description !== undefined) checkLength("description", description, 0, maxDescriptionLength);
    if (secretString !== undefined) checkSecretString(secretString);

    return this.db
      .transaction(() => {
        const existing = this.sql.secretByName.get(name);
        if (existing) {
          // A retried CreateSecret (same token, same value) is ignored, as the API documents for the token.
          const version =
            clientRequestToken === undefined ? undefined : this.sql.version.get(name, clientRequestToken);
          const retried =
            secretString !== undefined && version?.has_value === 1 && version.secret_string === secretString;
          if (retried) return { name, arn: existing.arn, versionId: clientRequestToken };
          throw new ResourceExistsException(
            `The operation failed because the secret ${name} already exists.`,
          );
        }
        const nowMs = this.clock.now().getTime();
        const arn = `arn:aws:secretsmanager:${this.region}:${this.account}:secret:${name}-${randomArnSuffix()}`;
        this.sql.insertSecret.run(name, arn, description ?? null, nowMs, nowMs);
        if (secretString === undefined) return { name, arn };
        const versionId = clientRequestToken ?? this.ids.next();
        this.sql.insertVersion.run(name, versionId, secretString, nowMs);
        this.sql.attach.run(name, currentStage, versionId);
        return { name, arn, versionId };
      })
      .immediate();
  }

  async getSecretValue(
    secretId: string,
    options: { versionId?: string; versionStage?: VersionStage } = {},
  ): Promise<SecretVersion> {
    const { versionId, versionStage } = options;
    checkVersionId("versionId", versionId);
    if (versionStage !== undefined) checkStage("versionStage", versionStage);

    return this.db.transaction(() => {
      const secret = this.resolve(secretId);
      let id: string;
      if (versionId !== undefined) {
        // A version RotateSecret created and no PutSecretValue filled yet is listed, but has no value to read.
        if (this.sql.version.get(secret.name, versionId)?.has_value !== 1) {
          throw versionValueNotFound(versionId);
        }
        if (versionStage !== undefined && this.sql.holder.get(secret.name, versionStage) !== versionId) {
          throw new InvalidRequestException(
            "You provided a VersionStage that is not associated to the provided VersionId.",
          );
        }
        id = versionId;
      } else {
        const stage = versionStage ?? currentStage;
        const holder = this.sql.holder.get(secret.name, stage);
        if (holder === undefined || this.sql.version.get(secret.name, holder)?.has_value !== 1) {
          throw new ResourceNotFoundException(
            `Secrets Manager can't find the specified secret value for staging label: ${stage}`,
          );
        }
        id = holder;
      }
      const version = this.sql.version.get(secret.name, id);
      if (!version) throw secretNotFound();
      return {
        name: secret.name,
        arn: secret.arn,
        versionId: version.version_id,
        versionStages: this.sql.stagesOfVersion.all(secret.name, id),
        createdDate: new Date(version.created_at_ms),
        secretString: version.secret_string,
      };
    })();
  }

  async putSecretValue(
    secretId: string,
    secretString: string,
    options: { clientRequestToken?: string; versionStages?: VersionStage[] } = {},
  ): Promise<{ name: string; arn: string; versionId: string; versionStages: VersionStage[] }> {
    const { clientRequestToken, versionStages } = options;
    checkVersionId("clientRequestToken", clientRequestToken);
    checkSecretString(secretString);
    if (versionStages !== undefined) {
      if (versionStages.length < 1 || versionStages.length > maxStagesPerRequest) {
        throw lengthError(
          "versionStages",
          `Member must have length less than or equal to ${maxStagesPerRequest} and greater than or equal to 1`,
        );
      }
      for (const stage of versionStages) checkStage("versionStages.member", stage);
    }

    return this.db
      .transaction(() => {
        const secret = this.resolve(secretId);
        const versionId = clientRequestToken ?? this.ids.next();
        const existing = this.sql.version.get(secret.name, versionId);
        if (existing?.has_value === 1) {
          if (existing.secret_string !== secretString) {
            throw new ResourceExistsException(
              `You can't modify an existing version of secret ${secret.name}: version ${versionId} already exists with different secret data.`,
            );
          }
          return {
            name: secret.name,
            arn: secret.arn,
            versionId,
            versionStages: this.sql.stagesOfVersion.all(secret.name, versionId),
          };
        }

        const nowMs = this.clock.now().getTime();
        // RotateSecret's version exists without a value: this call gives it one and keeps its labels.
        if (existing) this.sql.fillVersion.run(secretString, secret.name, versionId);
        else this.sql.insertVersion.run(secret.name, versionId, secretString, nowMs);
        const stages = [...new Set(versionStages ?? [currentStage])];
        // Other labels first, so that AWSPREVIOUS ends where AWSCURRENT left, whatever else was asked.
        for (const stage of stages) if (stage !== currentStage) this.moveLabel(secret.name, stage, versionId);
        if (stages.includes(currentStage)) this.moveLabel(secret.name, currentStage, versionId);
        this.sql.touchSecret.run(nowMs, secret.name);
        this.pruneDeprecatedVersions(secret.name, nowMs);
        return {
          name: secret.name,
          arn: secret.arn,
          versionId,
          versionStages: this.sql.stagesOfVersion.all(secret.name, versionId),
        };
      })
      .immediate();
  }

  async updateSecretVersionStage(
    secretId: string,
    versionStage: VersionStage,
    options: { moveToVersionId?: string; removeFromVersionId?: string },
  ): Promise<void> {
    const { moveToVersionId, removeFromVersionId } = options;
    checkStage("versionStage", versionStage);
    checkVersionId("moveToVersionId", moveToVersionId);
    checkVersionId("removeFromVersionId", removeFromVersionId);
    if (moveToVersionId === undefined && removeFromVersionId === undefined) {
      throw new InvalidParameterException("You must specify MoveToVersionId, RemoveFromVersionId, or both.");
    }

    this.db
      .transaction(() => {
        const secret = this.resolve(secretId);
        for (const id of [moveToVersionId, removeFromVersionId]) {
          if (id !== undefined && !this.sql.version.get(secret.name, id)) {
            throw new InvalidParameterException(`Not a valid version: ${id}`);
          }
        }
        const holder = this.sql.holder.get(secret.name, versionStage);
        if (removeFromVersionId !== undefined && removeFromVersionId !== holder) {
          throw new InvalidParameterException(
            `When you move staging label ${versionStage}, if you specify RemoveFromVersionId, it must be set to the version that currently has the staging label ${versionStage}.`,
          );
        }

        if (moveToVersionId === undefined) {
          if (versionStage === currentStage) {
            // A secret always keeps a current version once it has one: AWSCURRENT can only be moved, never dropped.
            throw new InvalidParameterException(
              `You can't remove the staging label ${currentStage} from version ${holder}; move it to another version instead.`,
            );
          }
          this.sql.detach.run(secret.name, versionStage);
        } else {
          if (holder !== undefined && holder !== moveToVersionId && removeFromVersionId === undefined) {
            throw new InvalidParameterException(
              `The parameter RemoveFromVersionId can't be empty. Staging label ${versionStage} is currently attached to version ${holder}, so you must explicitly reference that version in RemoveFromVersionId.`,
            );
          }
          this.moveLabel(secret.name, versionStage, moveToVersionId);
        }
        this.sql.touchSecret.run(this.clock.now().getTime(), secret.name);
      })
      .immediate();
  }

  async describeSecret(secretId: string): Promise<SecretSummary> {
    return this.db.transaction(() => {
      const secret = this.resolve(secretId);
      return this.summary(secret, this.sql.stagesOfSecret.all(secret.name));
    })();
  }

  async listSecrets(): Promise<SecretSummary[]> {
    return this.db.transaction(() => {
      const stagesBySecret = new Map<string, StageRow[]>();
      for (const row of this.sql.allStages.all()) {
        const rows = stagesBySecret.get(row.secret_name);
        if (rows) rows.push(row);
        else stagesBySecret.set(row.secret_name, [row]);
      }
      return this.sql.allSecrets
        .all()
        .map((secret) => this.summary(secret, stagesBySecret.get(secret.name) ?? []));
    })();
  }

  /**
   * Starts a rotation as RotateSecret does, without a rotation function to invoke: the caller runs the steps.
   * Only an AWSPENDING on another version than AWSCURRENT's counts as a rotation in progress (RotateSecret's rule);
   * one left on the current version by a finished rotation moves to the new version.
   *
   * @example
   * const { versionId } = await store.rotateSecret("prod/orders/db", { clientRequestToken: randomUUID() });
   * await store.putSecretValue("prod/orders/db", next, { clientRequestToken: versionId, versionStages: ["AWSPENDING"] });
   */
  async rotateSecret(
    secretId: string,
    options: { clientRequestToken: string },
  ): Promise<{ versionId: string }> {
    const versionId = options.clientRequestToken;
    checkVersionId("clientRequestToken", versionId);

    return this.db
      .transaction(() => {
        const secret = this.resolve(secretId);
        // The token is the request's idempotency key: a repeat finds its version and changes nothing.
        if (this.sql.version.get(secret.name, versionId)) return { versionId };
        const pending = this.sql.holder.get(secret.name, pendingStage);
        if (pending !== undefined && pending !== this.sql.holder.get(secret.name, currentStage)) {
          throw new InvalidRequestException(
            "A previous rotation isn't complete. That rotation will be reattempted.",
          );
        }
        const nowMs = this.clock.now().getTime();
        this.sql.enableRotation.run(secret.name);
        this.sql.insertEmptyVersion.run(secret.name, versionId, nowMs);
        this.moveLabel(secret.name, pendingStage, versionId);
        this.sql.touchSecret.run(nowMs, secret.name);
        return { versionId };
      })
      .immediate();
  }

  /**
   * Records the end of a rotation as `LastRotatedDate`, which Secrets Manager sets itself after finishSecret.
   *
   * @example
   * await store.markRotated("prod/orders/db", clock.now());
   */
  async markRotated(secretId: string, at: Date): Promise<void> {
    this.db
      .transaction(() => {
        const secret = this.resolve(secretId);
        this.sql.markRotated.run(at.getTime(), secret.name);
      })
      .immediate();
  }

  /**
   * A password as GetRandomPassword makes it, from node:crypto. A type that `excludeCharacters` empties entirely
   * counts as excluded. ValidationException for a length outside 1–4096 (the API's constraint);
   * InvalidParameterException when no character is left or the length cannot hold one of each required type.
   *
   * @example
   * const password = await store.getRandomPassword({ length: 32, excludeCharacters: "/@\"'\\" });
   */
  async getRandomPassword(options: RandomPasswordOptions): Promise<string> {
    const { length, excludeCharacters = "", includeSpace = false, requireEachIncludedType = true } = options;
    if (!Number.isInteger(length) || length < minPasswordLength) {
      throw lengthError(
        "passwordLength",
        `Member must have value greater than or equal to ${minPasswordLength}`,
      );
    }
    if (length > maxPasswordLength) {
      throw lengthError(
        "passwordLength",
        `Member must have value less than or equal to ${maxPasswordLength}`,
      );
    }
    checkLength("excludeCharacters", excludeCharacters, 0, maxExcludeCharactersLength);

    const excluded = new Set(excludeCharacters);
    const keep = (alphabet: string): string => [...alphabet].filter((c) => !excluded.has(c)).join("");
    const types = [
      options.excludeUppercase ? "" : passwordCharacterTypes.uppercase,
      options.excludeLowercase ? "" : passwordCharacterTypes.lowercase,
      options.excludeNumbers ? "" : passwordCharacterTypes.numbers,
      options.excludePunctuation ? "" : passwordCharacterTypes.punctuation,
    ]
      .map(keep)
      .filter((alphabet) => alphabet.length > 0);
    const pool = types.join("") + (includeSpace ? keep(" ") : "");
    if (pool.length === 0) {
      throw new InvalidParameterException(
        "The password can't be generated: every character type is excluded.",
      );
    }
    if (requireEachIncludedType && types.length > length) {
      throw new InvalidParameterException(
        `The password length ${length} is too short to include each of the ${types.length} included character types.`,
      );
    }
    const required = requireEachIncludedType ? types.map(randomCharacter) : [];
    const rest = Array.from({ length: length - required.length }, () => randomCharacter(pool));
    return shuffle([...required, ...rest]).join("");
  }

  /**
   * Closes the database. Only for a store that owns its connection, as `openLocalSecretStore`'s does; a store
   * built on a shared connection leaves closing to whoever opened it.
   */
  close(): void {
    this.db.close();
  }

  /** Finds a secret by name, full ARN or partial ARN (the ARN without its random suffix), as the API does. */
  private resolve(secretId: string): SecretRow {
    checkLength("secretId", secretId, 1, maxSecretIdLength);
    const arnMatch = secretArnPattern.exec(secretId);
    if (!arnMatch) {
      const byName = this.sql.secretByName.get(secretId);
      if (byName) return byName;
      throw secretNotFound();
    }
    const byArn = this.sql.secretByArn.get(secretId);
    if (byArn) return byArn;
    const partial = this.sql.secretByName.get(arnMatch[1] ?? "");
    if (
      partial &&
      partial.arn.length === secretId.length + 1 + arnSuffixLength &&
      partial.arn.startsWith(`${secretId}-`)
    ) {
      return partial;
    }
    throw secretNotFound();
  }

  /** Puts a label on a version, taking it from wherever it was; moving AWSCURRENT leaves AWSPREVIOUS behind it. */
  private moveLabel(secretName: string, stage: string, versionId: string): void {
    const holder = this.sql.holder.get(secretName, stage);
    if (holder === versionId) return;
    this.sql.detach.run(secretName, stage);
    this.sql.attach.run(secretName, stage, versionId);
    if (stage === currentStage && holder !== undefined) {
      this.sql.detach.run(secretName, previousStage);
      this.sql.attach.run(secretName, previousStage, holder);
    }
  }

  private pruneDeprecatedVersions(secretName: string, nowMs: number): void {
    const excess = this.sql.versionCount.get(secretName)! - retainedVersionCount;
    if (excess > 0) this.sql.pruneVersions.run(secretName, nowMs - unlabelledVersionGraceMs, excess);
  }

  private summary(secret: SecretRow, stages: readonly StageRow[]): SecretSummary {
    const versionIdsToStages: Record<string, VersionStage[]> = {};
    for (const row of stages) {
      const labels = versionIdsToStages[row.version_id];
      if (labels) labels.push(row.stage);
      else versionIdsToStages[row.version_id] = [row.stage];
    }
    return {
      name: secret.name,
      arn: secret.arn,
      ...(secret.description !== null && { description: secret.description }),
      createdDate: new Date(secret.created_at_ms),
      lastChangedDate: new Date(secret.last_changed_at_ms),
      versionIdsToStages,
      rotationEnabled: secret.rotation_enabled === 1,
      ...(secret.last_rotated_at_ms !== null && { lastRotatedDate: new Date(secret.last_rotated_at_ms) }),
    };
  }
}
