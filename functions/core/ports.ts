// The ports: every way the core reaches the world. Each has a production adapter and a local one.

import type { EventBridgeEvent } from "../../events/types.ts";

/** Time, injected so the core never reads the system clock. */
export interface Clock {
  now(): Date;
}

/** Unique ids, injected so tests and replays are deterministic. */
export interface IdGenerator {
  next(): string;
}

/** A domain event as Switchyard publishes it (`source: "switchyard"`). */
export interface DomainEvent<TDetail = Record<string, unknown>> {
  detailType: string;
  detail: TDetail;
  resources?: string[];
}

/** Puts Switchyard domain events on its bus (EventBridge PutEvents / the local bus). */
export interface EventPublisher {
  /** Resolves once every event is accepted; rejects (never drops silently) when any is not. */
  publish(events: readonly DomainEvent[]): Promise<void>;
}

/** Secrets Manager's version stages. A stage label is on at most one version of a secret at a time. */
export type VersionStage = "AWSCURRENT" | "AWSPENDING" | "AWSPREVIOUS" | (string & {});

export interface SecretVersion {
  name: string;
  arn: string;
  versionId: string;
  versionStages: VersionStage[];
  createdDate: Date;
  /** The secret text. Never log it, never put it in an error or an event. */
  secretString: string;
}

export interface SecretSummary {
  name: string;
  arn: string;
  description?: string;
  createdDate: Date;
  lastChangedDate?: Date;
  /** versionId → stages, as DescribeSecret's `VersionIdsToStages`. */
  versionIdsToStages: Record<string, VersionStage[]>;
}

/**
 * Secrets with Secrets Manager's version-stage semantics (AWSCURRENT / AWSPENDING / AWSPREVIOUS).
 * Errors carry Secrets Manager's names: ResourceNotFoundException, ResourceExistsException,
 * InvalidParameterException, InvalidRequestException.
 */
export interface SecretStore {
  createSecret(input: {
    name: string;
    secretString?: string;
    description?: string;
    clientRequestToken?: string;
  }): Promise<{ name: string; arn: string; versionId?: string }>;
  /** Reads AWSCURRENT unless a `versionId` or `versionStage` is given. */
  getSecretValue(
    secretId: string,
    options?: { versionId?: string; versionStage?: VersionStage },
  ): Promise<SecretVersion>;
  /**
   * Adds a version. Default stages `["AWSCURRENT"]`; moving AWSCURRENT makes the old current AWSPREVIOUS.
   * `clientRequestToken` is the new version id and makes the call idempotent.
   */
  putSecretValue(
    secretId: string,
    secretString: string,
    options?: { clientRequestToken?: string; versionStages?: VersionStage[] },
  ): Promise<{ name: string; arn: string; versionId: string; versionStages: VersionStage[] }>;
  /** Moves a stage label between versions, exactly as UpdateSecretVersionStage. */
  updateSecretVersionStage(
    secretId: string,
    versionStage: VersionStage,
    options: { moveToVersionId?: string; removeFromVersionId?: string },
  ): Promise<void>;
  describeSecret(secretId: string): Promise<SecretSummary>;
  /** Names and metadata only: listing never returns a value. */
  listSecrets(): Promise<SecretSummary[]>;
}

/** The events a rule delivers look like this to its target. */
export type BusEvent = EventBridgeEvent<Record<string, unknown>>;
