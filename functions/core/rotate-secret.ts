// Use case: one step of a Secrets Manager rotation (create, set, test, finish), as AWS's PostgreSQL templates do it.

import type { SecretConfig, SwitchyardConfig } from "./config.ts";
import { SwitchyardError } from "./errors.ts";
import type { Clock, DatabaseAdmin, DatabaseCredentials, SecretStore, SecretSummary } from "./ports.ts";

/** The steps Secrets Manager invokes a rotation function with, in order. */
export const rotationSteps = ["createSecret", "setSecret", "testSecret", "finishSecret"] as const;
export type RotationStep = (typeof rotationSteps)[number];

export type RotationStrategy = SecretConfig["rotation"]["strategy"];

/** The event Secrets Manager invokes a rotation function with. */
export interface RotationEvent {
  Step: RotationStep;
  /** The secret's name or ARN. */
  SecretId: string;
  /** The version being rotated to (the AWSPENDING one). */
  ClientRequestToken: string;
  /** Sent by Secrets Manager to prove the call is part of its rotation; only cross-account rotation needs it back. */
  RotationToken?: string;
}

/** What a step did: `unchanged` when a repeat found its work already done (every step is idempotent). */
export interface RotationStepResult {
  step: RotationStep;
  secretName: string;
  versionId: string;
  outcome: "changed" | "unchanged";
}

export interface RotateSecretDeps {
  config: Pick<SwitchyardConfig, "secrets">;
  secrets: SecretStore;
  database: DatabaseAdmin;
  clock: Clock;
}

/**
 * A rotation that cannot go on as things stand: a secret not set up for rotation, a version in the wrong stage,
 * credentials that do not log in. Messages name the secret and the version, never a value.
 */
export class RotationError extends SwitchyardError {
  readonly retryable = false;
}

const currentStage = "AWSCURRENT";
const pendingStage = "AWSPENDING";
const previousStage = "AWSPREVIOUS";
const cloneSuffix = "_clone";
/** PostgreSQL truncates identifiers longer than this (NAMEDATALEN - 1). */
const maxRoleNameLength = 63;
const defaultPostgresPort = 5432;
const defaultDatabase = "postgres";
/** An api-key value: 32 random bytes as hex, as the approval link key expects. */
const apiKeyLength = 64;
const apiKeyPattern = /^[0-9a-f]{64}$/;
/** GetRandomPassword has no hex option: what is left of its alphabet without these is 0-9a-f. */
const nonHexLowercase = "ghijklmnopqrstuvwxyz";

/** The secret JSON as stored, keeping fields rotation does not read (ssl, dbClusterIdentifier, …) as they are. */
type CredentialsDocument = Record<string, unknown> & { username: string; password: string };

/** A secret, its configuration and its stages, read once per step. */
interface RotationContext {
  secretName: string;
  summary: SecretSummary;
  secret: SecretConfig;
  token: string;
}

const isNotFound = (error: unknown): boolean =>
  error instanceof Error && error.name === "ResourceNotFoundException";

const stagesOf = (summary: SecretSummary, versionId: string): readonly string[] =>
  summary.versionIdsToStages[versionId] ?? [];

const versionWith = (summary: SecretSummary, stage: string): string | undefined =>
  Object.entries(summary.versionIdsToStages).find(([, stages]) => stages.includes(stage))?.[0];

/**
 * Reads and checks a secret's JSON. The JSON parser's own message quotes the text it failed on, so it is never
 * passed on: the error names the secret and what was wrong only.
 */
const parseDocument = (text: string, secretName: string, which: string): CredentialsDocument => {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new RotationError(`The ${which} value of secret ${secretName} is not JSON`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new RotationError(`The ${which} value of secret ${secretName} is not a JSON object`);
  }
  const document = value as Record<string, unknown>;
  for (const field of ["host", "username", "password"]) {
    if (typeof document[field] !== "string" || document[field] === "") {
      throw new RotationError(`The ${which} value of secret ${secretName} has no ${field}`);
    }
  }
  if (
    document.engine !== undefined &&
    document.engine !== "postgres" &&
    document.engine !== "aurora-postgresql"
  ) {
    throw new RotationError(`The ${which} value of secret ${secretName} is not for PostgreSQL`);
  }
  return document as CredentialsDocument;
};

const toCredentials = (document: CredentialsDocument): DatabaseCredentials => {
  const port = Number(document.port ?? defaultPostgresPort);
  return {
    engine: "postgres",
    host: String(document.host),
    port: Number.isInteger(port) && port > 0 ? port : defaultPostgresPort,
    dbname: typeof document.dbname === "string" && document.dbname !== "" ? document.dbname : defaultDatabase,
    username: document.username,
    password: document.password,
    ...(typeof document.masterarn === "string" && { masterarn: document.masterarn }),
  };
};

/** The other user of the alternating pair: `<base>` ↔ `<base>_clone`. */
const alternateUsername = (username: string, secretName: string): string => {
  if (username.endsWith(cloneSuffix)) return username.slice(0, -cloneSuffix.length);
  const clone = `${username}${cloneSuffix}`;
  if (clone.length > maxRoleNameLength) {
    throw new RotationError(
      `The user of secret ${secretName} is too long to clone: with ${cloneSuffix} it exceeds ${maxRoleNameLength} characters`,
    );
  }
  return clone;
};

/** The pending version's text, or undefined when RotateSecret made the version without a value yet. */
const pendingText = async (deps: RotateSecretDeps, context: RotationContext): Promise<string | undefined> => {
  try {
    const version = await deps.secrets.getSecretValue(context.secretName, {
      versionId: context.token,
      versionStage: pendingStage,
    });
    return version.secretString === "" ? undefined : version.secretString;
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
};

const requirePendingText = async (deps: RotateSecretDeps, context: RotationContext): Promise<string> => {
  const text = await pendingText(deps, context);
  if (text === undefined) {
    throw new RotationError(
      `Secret version ${context.token} of secret ${context.secretName} has no value yet: run createSecret first`,
    );
  }
  return text;
};

const readDocument = async (
  deps: RotateSecretDeps,
  secretId: string,
  stage: string,
): Promise<CredentialsDocument | undefined> => {
  try {
    const version = await deps.secrets.getSecretValue(secretId, { versionStage: stage });
    return parseDocument(version.secretString, secretId, stage);
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
};

const requireDocument = async (
  deps: RotateSecretDeps,
  secretId: string,
  stage: string,
): Promise<CredentialsDocument> => {
  const document = await readDocument(deps, secretId, stage);
  if (document === undefined) throw new RotationError(`Secret ${secretId} has no ${stage} version`);
  return document;
};

const isDatabaseStrategy = (strategy: RotationStrategy): boolean => strategy !== "api-key";

/**
 * Checks what every step checks first (as the templates' handler does) and finds the secret's configuration.
 * `context` is absent when the token is already AWSCURRENT: the rotation it belongs to has finished.
 */
const prepare = async (
  deps: RotateSecretDeps,
  event: Pick<RotationEvent, "SecretId" | "ClientRequestToken">,
): Promise<{ summary: SecretSummary; context?: RotationContext }> => {
  const summary = await deps.secrets.describeSecret(event.SecretId);
  const secretName = summary.name;
  const token = event.ClientRequestToken;
  if (!summary.rotationEnabled) throw new RotationError(`Secret ${secretName} is not enabled for rotation`);
  if (!(token in summary.versionIdsToStages)) {
    throw new RotationError(`Secret version ${token} has no stage for rotation of secret ${secretName}`);
  }
  const stages = stagesOf(summary, token);
  if (stages.includes(currentStage)) return { summary };
  if (!stages.includes(pendingStage)) {
    throw new RotationError(
      `Secret version ${token} not set as AWSPENDING for rotation of secret ${secretName}`,
    );
  }
  const secret = deps.config.secrets.find((s) => s.name === secretName);
  if (secret === undefined) {
    throw new RotationError(`Secret ${secretName} is not among the secrets of switchyard.yaml`);
  }
  return { summary, context: { secretName, summary, secret, token } };
};

const createSecret = async (deps: RotateSecretDeps, context: RotationContext): Promise<boolean> => {
  const { secretName, secret, token } = context;
  if ((await pendingText(deps, context)) !== undefined) return false;
  let value: string;
  if (secret.rotation.strategy === "api-key") {
    // Randomness comes from the store (GetRandomPassword on AWS), as for passwords; the core holds no generator.
    value = await deps.secrets.getRandomPassword({
      length: apiKeyLength,
      excludeCharacters: nonHexLowercase,
      excludeUppercase: true,
      excludePunctuation: true,
      includeSpace: false,
    });
  } else {
    const current = await requireDocument(deps, secretName, currentStage);
    const password = await deps.secrets.getRandomPassword({
      length: secret.password.length,
      excludeCharacters: secret.password.excludeCharacters,
    });
    const username =
      secret.rotation.strategy === "alternating-users"
        ? alternateUsername(current.username, secretName)
        : current.username;
    value = JSON.stringify({ ...current, username, password });
  }
  await deps.secrets.putSecretValue(secretName, value, {
    clientRequestToken: token,
    versionStages: [pendingStage],
  });
  return true;
};

/** The templates refuse to change a user or a host the current secret does not name (a confused deputy). */
const requireSameTarget = (
  pending: DatabaseCredentials,
  other: DatabaseCredentials,
  expectedUsername: string,
  context: RotationContext,
  which: string,
): void => {
  if (pending.username !== expectedUsername) {
    throw new RotationError(
      `Secret version ${context.token} of secret ${context.secretName} names user ${pending.username}, ` +
        `not ${expectedUsername} as the ${which} version implies`,
    );
  }
  if (pending.host !== other.host || pending.port !== other.port) {
    throw new RotationError(
      `Secret version ${context.token} of secret ${context.secretName} names another database host than its ${which} version`,
    );
  }
};

const setSingleUser = async (
  deps: RotateSecretDeps,
  context: RotationContext,
  pending: DatabaseCredentials,
): Promise<void> => {
  const { secretName } = context;
  const current = toCredentials(await requireDocument(deps, secretName, currentStage));
  requireSameTarget(pending, current, current.username, context, currentStage);
  let admin: DatabaseCredentials | undefined;
  if (await deps.database.canLogin(current)) {
    admin = current;
  } else {
    // A rotation that set the password but failed before finishSecret leaves the database on a newer password than
    // AWSCURRENT; AWSPREVIOUS covers the opposite case, as in the single-user template.
    const previousDocument = await readDocument(deps, secretName, previousStage);
    const previous = previousDocument && toCredentials(previousDocument);
    if (previous !== undefined) {
      requireSameTarget(pending, previous, previous.username, context, previousStage);
      if (await deps.database.canLogin(previous)) admin = previous;
    }
  }
  if (admin === undefined) {
    throw new RotationError(
      `Unable to log into the database with the previous, current, or pending version of secret ${secretName}`,
    );
  }
  await deps.database.setPassword(admin, pending.username, pending.password);
};

const setAlternatingUsers = async (
  deps: RotateSecretDeps,
  context: RotationContext,
  pending: DatabaseCredentials,
): Promise<void> => {
  const { secretName, secret } = context;
  const currentDocument = await requireDocument(deps, secretName, currentStage);
  const current = toCredentials(currentDocument);
  requireSameTarget(pending, current, alternateUsername(current.username, secretName), context, currentStage);
  // Proves the secret being rotated is a working login before the master acts on its behalf (confused deputy).
  if (!(await deps.database.canLogin(current))) {
    throw new RotationError(
      `Unable to log into the database with the current version of secret ${secretName}`,
    );
  }
  const masterSecretId = current.masterarn ?? secret.rotation.masterSecret;
  if (masterSecretId === undefined) {
    throw new RotationError(
      `Secret ${secretName} names no master secret (masterarn or rotation.masterSecret)`,
    );
  }
  const master = { ...toCredentials(await requireDocument(deps, masterSecretId, currentStage)) };
  // The master logs into the rotated user's database, as the template does.
  master.dbname = current.dbname;
  if (master.host !== current.host || master.port !== current.port) {
    throw new RotationError(
      `The master secret of secret ${secretName} names another database host than the secret itself`,
    );
  }
  if (!(await deps.database.canLogin(master))) {
    throw new RotationError(`Unable to log into the database with the master secret of secret ${secretName}`);
  }
  const base = pending.username.endsWith(cloneSuffix)
    ? pending.username.slice(0, -cloneSuffix.length)
    : pending.username;
  if (base !== pending.username) {
    // ensureCloneRole sets the clone's password too, so no separate ALTER ROLE is needed.
    await deps.database.ensureCloneRole(master, base, pending.username, pending.password);
  } else {
    await deps.database.setPassword(master, pending.username, pending.password);
  }
};

const setSecret = async (deps: RotateSecretDeps, context: RotationContext): Promise<boolean> => {
  const { secretName, secret } = context;
  if (!isDatabaseStrategy(secret.rotation.strategy)) return false;
  const pending = toCredentials(
    parseDocument(await requirePendingText(deps, context), secretName, `${pendingStage} (${context.token})`),
  );
  if (await deps.database.canLogin(pending)) return false;
  if (secret.rotation.strategy === "single-user") await setSingleUser(deps, context, pending);
  else await setAlternatingUsers(deps, context, pending);
  return true;
};

const testSecret = async (deps: RotateSecretDeps, context: RotationContext): Promise<boolean> => {
  const { secretName, secret, token } = context;
  const text = await requirePendingText(deps, context);
  if (!isDatabaseStrategy(secret.rotation.strategy)) {
    if (!apiKeyPattern.test(text)) {
      throw new RotationError(
        `Secret version ${token} of secret ${secretName} is not 64 lowercase hex digits`,
      );
    }
    return false;
  }
  const pending = toCredentials(parseDocument(text, secretName, `${pendingStage} (${token})`));
  if (!(await deps.database.canLogin(pending))) {
    throw new RotationError(
      `Unable to log into the database with the pending version ${token} of secret ${secretName}`,
    );
  }
  return false;
};

const finishSecret = async (deps: RotateSecretDeps, context: RotationContext): Promise<boolean> => {
  const { secretName, summary, token } = context;
  const currentVersion = versionWith(summary, currentStage);
  await deps.secrets.updateSecretVersionStage(secretName, currentStage, {
    moveToVersionId: token,
    ...(currentVersion !== undefined && { removeFromVersionId: currentVersion }),
  });
  // In this order: had AWSPENDING gone first, a retry after a crash in between would be refused as not pending.
  await deps.secrets.updateSecretVersionStage(secretName, pendingStage, { removeFromVersionId: token });
  await deps.secrets.markRotated?.(secretName, deps.clock.now());
  return true;
};

const steps: Record<RotationStep, (deps: RotateSecretDeps, context: RotationContext) => Promise<boolean>> = {
  createSecret,
  setSecret,
  testSecret,
  finishSecret,
};

/**
 * Runs one step of a rotation, as Secrets Manager invokes a rotation function, following AWS's
 * `SecretsManagerRDSPostgreSQLRotationSingleUser` and `…MultiUser` templates (`single-user`, `alternating-users`),
 * plus `api-key` (a random value, no database). Every step is idempotent. Refuses, with a `RotationError`, a secret
 * without rotation, a token that is no version of it or not AWSPENDING; a token already AWSCURRENT is a no-op.
 *
 * @example
 * await rotateSecret(deps, { Step: "createSecret", SecretId: arn, ClientRequestToken: token });
 */
export const rotateSecret = async (
  deps: RotateSecretDeps,
  event: Pick<RotationEvent, "Step" | "SecretId" | "ClientRequestToken">,
): Promise<RotationStepResult> => {
  const { summary, context } = await prepare(deps, event);
  const token = event.ClientRequestToken;
  let changed = false;
  if (context !== undefined) {
    changed = await steps[event.Step](deps, context);
  } else if (event.Step === "finishSecret" && stagesOf(summary, token).includes(pendingStage)) {
    // A finishSecret cut short between its two label moves left AWSPENDING beside AWSCURRENT: its retry drops it.
    await deps.secrets.updateSecretVersionStage(summary.name, pendingStage, { removeFromVersionId: token });
    changed = true;
  }
  return {
    step: event.Step,
    secretName: summary.name,
    versionId: token,
    outcome: changed ? "changed" : "unchanged",
  };
};

/** What `rotateNow` did; never a value. */
export interface RotationResult {
  secretId: string;
  /** The new AWSCURRENT version. */
  versionId: string;
  /** The version that was AWSCURRENT before (now AWSPREVIOUS). */
  previousVersionId: string | undefined;
  strategy: RotationStrategy;
  /** For database strategies: the user the new version logs in as. */
  activeUser?: string;
}

/**
 * After a failed single-user rotation the database may already hold the pending password: set it back with the
 * pending login, so that AWSCURRENT keeps working. Best effort; the original failure is what gets reported.
 */
const restoreCurrentLogin = async (
  deps: RotateSecretDeps,
  secretName: string,
  token: string,
): Promise<void> => {
  try {
    const current = toCredentials(await requireDocument(deps, secretName, currentStage));
    if (await deps.database.canLogin(current)) return;
    const text = (await deps.secrets.getSecretValue(secretName, { versionId: token })).secretString;
    const pending = toCredentials(parseDocument(text, secretName, token));
    if (pending.username !== current.username || !(await deps.database.canLogin(pending))) return;
    await deps.database.setPassword(pending, current.username, current.password);
  } catch {
    // Nothing more can be done here; the caller reports the failure that started this.
  }
};

/**
 * Rotates a secret now, locally doing what Secrets Manager does on AWS: `rotateSecret` (which labels the token's
 * new version AWSPENDING), then the four steps in order. On a failure AWSCURRENT keeps working (a single-user
 * password already changed is set back), the AWSPENDING label is taken off the token so the next rotation is not
 * blocked, and the original error is thrown.
 *
 * @example
 * const result = await rotateNow(deps, "orders/app-db", ids.next());
 * log.info("secret rotated", { secret: result.secretId, version: result.versionId, user: result.activeUser });
 */
export const rotateNow = async (
  deps: RotateSecretDeps,
  secretName: string,
  token: string,
): Promise<RotationResult> => {
  const before = await deps.secrets.describeSecret(secretName);
  const secret = deps.config.secrets.find((s) => s.name === before.name);
  if (secret === undefined) {
    throw new RotationError(`Secret ${before.name} is not among the secrets of switchyard.yaml`);
  }
  const previousVersionId = versionWith(before, currentStage);
  await deps.secrets.rotateSecret(before.name, { clientRequestToken: token });
  try {
    for (const step of rotationSteps) {
      await rotateSecret(deps, { Step: step, SecretId: before.name, ClientRequestToken: token });
    }
  } catch (error) {
    if (secret.rotation.strategy === "single-user") await restoreCurrentLogin(deps, before.name, token);
    await deps.secrets
      .updateSecretVersionStage(before.name, pendingStage, { removeFromVersionId: token })
      .catch(() => undefined);
    throw error;
  }
  const activeUser = isDatabaseStrategy(secret.rotation.strategy)
    ? (await requireDocument(deps, before.name, currentStage)).username
    : undefined;
  return {
    secretId: before.name,
    versionId: token,
    previousVersionId: previousVersionId === token ? undefined : previousVersionId,
    strategy: secret.rotation.strategy,
    ...(activeUser !== undefined && { activeUser }),
  };
};
