// Hand-written fakes for the ports the unit tests share: they record what they are given and fail on demand.

import type {
  Clock,
  DomainEvent,
  EventPublisher,
  SecretStore,
  SecretVersion,
  WorkflowCallbacks,
  WorkflowStarter,
} from "../../functions/core/ports.ts";
import { ResourceNotFoundException } from "../../local/adapters/secret-store-errors.ts";
import { SqliteSecretStore } from "../../local/adapters/sqlite-secret-store.ts";
import type { SqliteDatabase } from "../../local/db.ts";

/** An EventPublisher that keeps each batch it is given, or throws `failure` while one is set. */
export class RecordingPublisher implements EventPublisher {
  /** The batches, one a call, as they were when published. */
  readonly calls: (readonly DomainEvent[])[] = [];
  failure: Error | undefined;

  /** Every event published, in order. */
  get published(): DomainEvent[] {
    return this.calls.flat();
  }

  async publish(events: readonly DomainEvent[]): Promise<void> {
    if (this.failure) throw this.failure;
    this.calls.push([...events]);
  }
}

/** Workflow callbacks that keep each task token woken; failing a task is never expected. */
export class RecordingCallbacks implements WorkflowCallbacks {
  readonly successes: { token: string; output: unknown }[] = [];

  async sendTaskSuccess(token: string, output: unknown): Promise<void> {
    this.successes.push({ token, output });
  }

  async sendTaskFailure(): Promise<void> {
    throw new Error("not expected");
  }
}

/** A WorkflowStarter that keeps each start and answers with one execution ARN, or throws `failure` once recorded. */
export class RecordingWorkflowStarter implements WorkflowStarter {
  readonly calls: { workflow: string; input: unknown; name: string | undefined }[] = [];
  failure: Error | undefined;

  constructor(private readonly executionArn: string) {}

  async start(workflow: string, input: unknown, name?: string): Promise<{ executionArn: string }> {
    this.calls.push({ workflow, input, name });
    if (this.failure) throw this.failure;
    return { executionArn: this.executionArn };
  }
}

/**
 * A secret store with the given values that counts its reads; a missing name is Secrets Manager's not-found.
 *
 * @example
 * const secrets = fakeSecrets({ "switchyard/slack-token": token });
 * new SlackWebApiNotifier({ secrets: secrets.store, ... });
 * expect(secrets.reads).toEqual(["switchyard/slack-token"]);
 */
export const fakeSecrets = (values: Record<string, string>) => {
  const reads: string[] = [];
  const store: Pick<SecretStore, "getSecretValue"> = {
    getSecretValue: async (name) => {
      reads.push(name);
      const value = values[name];
      if (value === undefined) throw new ResourceNotFoundException(`Secrets Manager can't find ${name}`);
      return {
        name,
        arn: `arn:aws:secretsmanager:us-east-1:000000000000:secret:${name}-AbCdEf`,
        versionId: "v1",
        versionStages: ["AWSCURRENT"],
        createdDate: new Date("2026-01-01T00:00:00Z"),
        secretString: value,
      } satisfies SecretVersion;
    },
  };
  return { store, reads, values };
};

/**
 * The local secret store over `db`, each secret created with its value (its first, AWSCURRENT version); on the
 * test's clock when given one.
 *
 * @example
 * const secrets = await storedSecrets(db, { "switchyard/approval-link-key": linkKey }, clock);
 */
export const storedSecrets = async (
  db: SqliteDatabase,
  values: Record<string, string>,
  clock?: Clock,
): Promise<SqliteSecretStore> => {
  const store = new SqliteSecretStore(clock === undefined ? { db } : { db, clock });
  for (const [name, secretString] of Object.entries(values)) await store.createSecret({ name, secretString });
  return store;
};
