// The production SecretStore: AWS Secrets Manager through the SDK, mapped to the port's shapes.

import {
  CreateSecretCommand,
  DescribeSecretCommand,
  GetRandomPasswordCommand,
  GetSecretValueCommand,
  ListSecretsCommand,
  PutSecretValueCommand,
  RotateSecretCommand,
  type SecretListEntry,
  type SecretsManagerClient,
  UpdateSecretVersionStageCommand,
} from "@aws-sdk/client-secrets-manager";
import { ValidationError } from "../../core/errors.ts";
import type {
  RandomPasswordOptions,
  SecretStore,
  SecretSummary,
  SecretVersion,
  VersionStage,
} from "../../core/ports.ts";

/** A field the API documents as always present; its absence means the response is not what we think it is. */
const present = <T>(value: T | undefined, field: string, operation: string): T => {
  if (value === undefined) throw new Error(`Secrets Manager ${operation} returned no ${field}`);
  return value;
};

const toSummary = (
  entry: Pick<
    SecretListEntry,
    "Name" | "ARN" | "Description" | "CreatedDate" | "LastChangedDate" | "RotationEnabled" | "LastRotatedDate"
  >,
  versionIdsToStages: Record<string, string[]> | undefined,
  operation: string,
): SecretSummary => ({
  name: present(entry.Name, "Name", operation),
  arn: present(entry.ARN, "ARN", operation),
  ...(entry.Description !== undefined && { description: entry.Description }),
  createdDate: present(entry.CreatedDate, "CreatedDate", operation),
  ...(entry.LastChangedDate !== undefined && { lastChangedDate: entry.LastChangedDate }),
  // Secrets Manager leaves the map out when no version carries a label.
  versionIdsToStages: { ...versionIdsToStages },
  // It leaves RotationEnabled out too while rotation has never been turned on.
  rotationEnabled: entry.RotationEnabled ?? false,
  ...(entry.LastRotatedDate !== undefined && { lastRotatedDate: entry.LastRotatedDate }),
});

/**
 * The SecretStore port on AWS Secrets Manager. SDK errors propagate untouched, so their `name`
 * (ResourceNotFoundException, ResourceExistsException, InvalidParameterException, …) is what callers and
 * Step Functions `Retry`/`Catch` match on. When no `clientRequestToken` is given the SDK generates one.
 * There is no `markRotated`: Secrets Manager sets `LastRotatedDate` itself when a rotation's finishSecret ends.
 *
 * @example
 * const store = new SecretsManagerSecretStore(new SecretsManagerClient({}));
 * await store.putSecretValue(secretArn, newValue, { clientRequestToken: token, versionStages: ["AWSPENDING"] });
 */
export class SecretsManagerSecretStore implements SecretStore {
  constructor(private readonly client: SecretsManagerClient) {}

  async createSecret(input: {
    name: string;
    secretString?: string;
    description?: string;
    clientRequestToken?: string;
  }): Promise<{ name: string; arn: string; versionId?: string }> {
    const output = await this.client.send(
      new CreateSecretCommand({
        Name: input.name,
        SecretString: input.secretString,
        Description: input.description,
        ClientRequestToken: input.clientRequestToken,
      }),
    );
    return {
      name: present(output.Name, "Name", "CreateSecret"),
      arn: present(output.ARN, "ARN", "CreateSecret"),
      ...(output.VersionId !== undefined && { versionId: output.VersionId }),
    };
  }

  async getSecretValue(
    secretId: string,
    options: { versionId?: string; versionStage?: VersionStage } = {},
  ): Promise<SecretVersion> {
    const output = await this.client.send(
      new GetSecretValueCommand({
        SecretId: secretId,
        VersionId: options.versionId,
        VersionStage: options.versionStage,
      }),
    );
    if (output.SecretString === undefined) {
      // Switchyard only stores text; a binary secret was written by something else and is not ours to decode.
      throw new ValidationError(`secret ${output.Name ?? secretId} holds SecretBinary, not SecretString`);
    }
    return {
      name: present(output.Name, "Name", "GetSecretValue"),
      arn: present(output.ARN, "ARN", "GetSecretValue"),
      versionId: present(output.VersionId, "VersionId", "GetSecretValue"),
      versionStages: output.VersionStages ?? [],
      createdDate: present(output.CreatedDate, "CreatedDate", "GetSecretValue"),
      secretString: output.SecretString,
    };
  }

  async putSecretValue(
    secretId: string,
    secretString: string,
    options: { clientRequestToken?: string; versionStages?: VersionStage[] } = {},
  ): Promise<{ name: string; arn: string; versionId: string; versionStages: VersionStage[] }> {
    const output = await this.client.send(
      new PutSecretValueCommand({
        SecretId: secretId,
        SecretString: secretString,
        ClientRequestToken: options.clientRequestToken,
        VersionStages: options.versionStages,
      }),
    );
    return {
      name: present(output.Name, "Name", "PutSecretValue"),
      arn: present(output.ARN, "ARN", "PutSecretValue"),
      versionId: present(output.VersionId, "VersionId", "PutSecretValue"),
      versionStages: output.VersionStages ?? [],
    };
  }

  async updateSecretVersionStage(
    secretId: string,
    versionStage: VersionStage,
    options: { moveToVersionId?: string; removeFromVersionId?: string },
  ): Promise<void> {
    await this.client.send(
      new UpdateSecretVersionStageCommand({
        SecretId: secretId,
        VersionStage: versionStage,
        MoveToVersionId: options.moveToVersionId,
        RemoveFromVersionId: options.removeFromVersionId,
      }),
    );
  }

  async describeSecret(secretId: string): Promise<SecretSummary> {
    const output = await this.client.send(new DescribeSecretCommand({ SecretId: secretId }));
    return toSummary(output, output.VersionIdsToStages, "DescribeSecret");
  }

  async listSecrets(): Promise<SecretSummary[]> {
    const summaries: SecretSummary[] = [];
    let nextToken: string | undefined;
    do {
      const output = await this.client.send(new ListSecretsCommand({ NextToken: nextToken }));
      for (const entry of output.SecretList ?? []) {
        summaries.push(toSummary(entry, entry.SecretVersionsToStages, "ListSecrets"));
      }
      nextToken = output.NextToken;
    } while (nextToken !== undefined);
    return summaries;
  }

  async rotateSecret(
    secretId: string,
    options: { clientRequestToken: string },
  ): Promise<{ versionId: string }> {
    const output = await this.client.send(
      new RotateSecretCommand({
        SecretId: secretId,
        ClientRequestToken: options.clientRequestToken,
        // Explicit, though it is the default: a rotation started through the port always runs now.
        RotateImmediately: true,
      }),
    );
    return { versionId: present(output.VersionId, "VersionId", "RotateSecret") };
  }

  async getRandomPassword(options: RandomPasswordOptions): Promise<string> {
    const output = await this.client.send(
      new GetRandomPasswordCommand({
        PasswordLength: options.length,
        ExcludeCharacters: options.excludeCharacters,
        ExcludeNumbers: options.excludeNumbers,
        ExcludePunctuation: options.excludePunctuation,
        ExcludeUppercase: options.excludeUppercase,
        ExcludeLowercase: options.excludeLowercase,
        IncludeSpace: options.includeSpace,
        RequireEachIncludedType: options.requireEachIncludedType,
      }),
    );
    return present(output.RandomPassword, "RandomPassword", "GetRandomPassword");
  }
}
