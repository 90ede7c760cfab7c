// Errors of the local SecretStore, named exactly like Secrets Manager's exceptions so callers match on `name` alike.

import { SwitchyardError } from "../../functions/core/errors.ts";

/**
 * Base of the local secret store's errors. Every one is a decision about the request, never the world's fault,
 * so none is retryable. Messages name secrets, versions and labels but never carry a secret value.
 *
 * @example
 * try {
 *   await store.getSecretValue("prod/db");
 * } catch (error) {
 *   if (error instanceof SecretStoreException && error.name === "ResourceNotFoundException") ...
 * }
 */
export abstract class SecretStoreException extends SwitchyardError {
  readonly retryable = false;
}

/** The secret, version or staging label does not exist (Secrets Manager's `ResourceNotFoundException`). */
export class ResourceNotFoundException extends SecretStoreException {
  override readonly name = "ResourceNotFoundException";
}

/** A secret with that name, or a version with that token and other data, already exists. */
export class ResourceExistsException extends SecretStoreException {
  override readonly name = "ResourceExistsException";
}

/** A parameter value is not valid for the secret's current state (e.g. a stage label attached elsewhere). */
export class InvalidParameterException extends SecretStoreException {
  override readonly name = "InvalidParameterException";
}

/** The request is not valid for the secret as it stands (e.g. a VersionStage not on the given VersionId). */
export class InvalidRequestException extends SecretStoreException {
  override readonly name = "InvalidRequestException";
}

/**
 * A value breaks one of the API's length or size constraints. Secrets Manager answers these with
 * `ValidationException` before it looks at any secret.
 */
export class ValidationException extends SecretStoreException {
  override readonly name = "ValidationException";
}
