// The production PromotionStore: promotions, deployments and quarantined digests in one DynamoDB table.

import { ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  type QueryCommandInput,
  UpdateCommand,
} from "@aws-sdk/lib-dynamodb";
import { NotFoundError, ValidationError } from "../../core/errors.ts";
import {
  type Clock,
  type DeploymentRecord,
  type PromotionRecord,
  type PromotionStore,
  type QuarantinedDigest,
  terminalPromotionPhases,
} from "../../core/ports.ts";

/**
 * The table's keys, for the CDK construct that creates it: every key attribute is a string, both indexes project
 * ALL. The single-table layout:
 *
 * | item        | PK                    | SK                 | GSI1PK             | GSI1SK                          | GSI2PK        | GSI2SK                    |
 * |-------------|-----------------------|--------------------|--------------------|---------------------------------|---------------|---------------------------|
 * | promotion   | `PROMOTION#<id>`      | `PROMOTION`        | `SERVICE#<service>`| `PROMOTION#<createdAt>#<id>`    | `PROMOTION`   | `<createdAt>#<id>`        |
 * | deployment  | `DEPLOYMENT#<service>`| `ENV#<environment>`| —                  | —                               | `DEPLOYMENT`  | `<service>#<environment>` |
 * | quarantine  | `QUARANTINE#<service>`| `DIGEST#<digest>`  | —                  | —                               | `QUARANTINE`  | `<service>#<digest>`      |
 *
 * `<createdAt>` is normalised to `toISOString()` (UTC, milliseconds), so the index sorts by instant whatever offset
 * the record was written with. GSI1 ("by service") lists a service's promotions newest first; GSI2 ("by type")
 * lists every item of one kind. GSI2's promotion partition takes every promotion's write: a control plane makes a
 * few an hour, far from a partition's 1,000 writes a second.
 */
export const promotionTableKeys = {
  partitionKey: "PK",
  sortKey: "SK",
  byServiceIndex: { indexName: "GSI1", partitionKey: "GSI1PK", sortKey: "GSI1SK" },
  byTypeIndex: { indexName: "GSI2", partitionKey: "GSI2PK", sortKey: "GSI2SK" },
} as const;

/** How many promotions a listing returns when the caller names no limit: a screenful for the API and the CLI. */
export const defaultPromotionListLimit = 100;

const promotionSortKey = "PROMOTION";
const promotionType = "PROMOTION";
const deploymentType = "DEPLOYMENT";
const quarantineType = "QUARANTINE";

const promotionKey = (id: string) => ({ PK: `PROMOTION#${id}`, SK: promotionSortKey });
const deploymentKey = (service: string, environment: string) => ({
  PK: `DEPLOYMENT#${service}`,
  SK: `ENV#${environment}`,
});
const quarantineKey = (service: string, digest: string) => ({
  PK: `QUARANTINE#${service}`,
  SK: `DIGEST#${digest}`,
});
const keyAttributes = ["PK", "SK", "GSI1PK", "GSI1SK", "GSI2PK", "GSI2SK", "type"] as const;

type PromotionChange = Parameters<PromotionStore["updatePromotion"]>[1];
type PromotionFilter = NonNullable<Parameters<PromotionStore["listPromotions"]>[0]>;
type Item = Record<string, unknown>;

export interface DynamoDbPromotionStoreOptions {
  /** A document client; no marshalling options are needed, the store never sends an undefined value. */
  client: DynamoDBDocumentClient;
  tableName: string;
  /** Stamps `updatedAt` and `quarantinedAt`. */
  clock?: Clock;
}

const systemClock: Clock = { now: () => new Date() };

/** The same object without its undefined members, which the document client refuses to marshal. */
const defined = <T extends object>(value: T): T =>
  Object.fromEntries(Object.entries(value).filter(([, member]) => member !== undefined)) as T;

const normalisedInstant = (value: string, field: string): string => {
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw new ValidationError(`${field} "${value}" is not an ISO 8601 time`);
  return new Date(ms).toISOString();
};

const checkLimit = (limit: number | undefined): number => {
  if (limit === undefined) return defaultPromotionListLimit;
  if (!Number.isInteger(limit) || limit < 1) {
    throw new ValidationError(`limit must be a positive integer, got ${limit}`);
  }
  return limit;
};

/** By name as well as class: a bundle may carry a second copy of the SDK, whose classes `instanceof` would miss. */
const isConditionFailure = (error: unknown): error is ConditionalCheckFailedException =>
  error instanceof ConditionalCheckFailedException ||
  (error instanceof Error && error.name === "ConditionalCheckFailedException");

const withoutKeys = (item: Item): Item => {
  const rest = { ...item };
  for (const attribute of keyAttributes) delete rest[attribute];
  return rest;
};

const toPromotion = (item: Item): PromotionRecord => withoutKeys(item) as unknown as PromotionRecord;
const toDeployment = (item: Item): DeploymentRecord => withoutKeys(item) as unknown as DeploymentRecord;
const toQuarantined = (item: Item): QuarantinedDigest => withoutKeys(item) as unknown as QuarantinedDigest;

const byServiceThenEnvironment = (a: DeploymentRecord, b: DeploymentRecord): number =>
  a.service === b.service
    ? a.environment < b.environment
      ? -1
      : a.environment > b.environment
        ? 1
        : 0
    : a.service < b.service
      ? -1
      : 1;

/**
 * The PromotionStore port on one DynamoDB table (layout in `promotionTableKeys`). Creation is conditional
 * (`attribute_not_exists`), so an id is taken once; an update is one `UpdateCommand` whose condition refuses to move
 * a terminal promotion to another phase and whose `list_append` adds a reason without reading the list first, so
 * concurrent writers never lose one. Listings read the indexes, which DynamoDB keeps eventually consistent: a
 * promotion created a moment ago may be missing from `listPromotions` but `getPromotion` always sees it.
 * Errors other than the conditions it checks are the SDK's, untouched.
 *
 * @example
 * const store = new DynamoDbPromotionStore({
 *   client: DynamoDBDocumentClient.from(new DynamoDBClient({})),
 *   tableName: env.promotionsTable,
 * });
 * await store.updatePromotion(id, { phase: "Syncing", revision, reason: "committed envs/staging/checkout/values.yaml" });
 */
export class DynamoDbPromotionStore implements PromotionStore {
  private readonly client: DynamoDBDocumentClient;
  private readonly tableName: string;
  private readonly clock: Clock;

  constructor(options: DynamoDbPromotionStoreOptions) {
    this.client = options.client;
    this.tableName = options.tableName;
    this.clock = options.clock ?? systemClock;
  }

  async createPromotion(record: PromotionRecord): Promise<void> {
    const createdAt = normalisedInstant(record.createdAt, `promotion ${record.id} createdAt`);
    const sortKey = `${createdAt}#${record.id}`;
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            ...promotionKey(record.id),
            GSI1PK: `SERVICE#${record.service}`,
            GSI1SK: `PROMOTION#${sortKey}`,
            GSI2PK: promotionType,
            GSI2SK: sortKey,
            type: promotionType,
            ...defined({
              ...record,
              image: defined(record.image),
              trigger: defined(record.trigger),
              previous: record.previous && defined(record.previous),
            }),
          },
          ConditionExpression: "attribute_not_exists(#pk)",
          ExpressionAttributeNames: { "#pk": "PK" },
        }),
      );
    } catch (error) {
      if (isConditionFailure(error)) {
        throw new ValidationError(`promotion ${record.id} already exists`, { cause: error });
      }
      throw error;
    }
  }

  async updatePromotion(id: string, change: PromotionChange): Promise<PromotionRecord> {
    const names: Record<string, string> = { "#pk": "PK", "#updatedAt": "updatedAt" };
    const values: Record<string, unknown> = { ":updatedAt": this.clock.now().toISOString() };
    const assignments = ["#updatedAt = :updatedAt"];
    const assign = (attribute: string, value: unknown): void => {
      if (value === undefined) return;
      names[`#${attribute}`] = attribute;
      values[`:${attribute}`] = value;
      assignments.push(`#${attribute} = :${attribute}`);
    };
    assign("phase", change.phase);
    assign("revision", change.revision);
    assign("executionArn", change.executionArn);
    assign("previous", change.previous && defined(change.previous));
    if (change.reason !== undefined) {
      names["#reasons"] = "reasons";
      values[":reason"] = [change.reason];
      values[":noReasons"] = [];
      assignments.push("#reasons = list_append(if_not_exists(#reasons, :noReasons), :reason)");
    }

    let condition = "attribute_exists(#pk)";
    if (change.phase !== undefined) {
      // Setting a terminal phase again passes, so a retried step does not fail on its own earlier success.
      const terminal = terminalPromotionPhases.map((phase, index) => {
        values[`:terminal${index}`] = phase;
        return `:terminal${index}`;
      });
      condition += ` AND (NOT (#phase IN (${terminal.join(", ")})) OR #phase = :phase)`;
    }

    try {
      const output = await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: promotionKey(id),
          UpdateExpression: `SET ${assignments.join(", ")}`,
          ConditionExpression: condition,
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
          ReturnValues: "ALL_NEW",
          ReturnValuesOnConditionCheckFailure: "ALL_OLD",
        }),
      );
      if (output.Attributes === undefined)
        throw new Error(`DynamoDB UpdateItem returned no Attributes for ${id}`);
      return toPromotion(output.Attributes);
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      // The item the condition saw comes back in the low-level shape: the document client does not unmarshal errors.
      const phase = error.Item?.phase?.S;
      if (phase === undefined) throw new NotFoundError(`promotion ${id} does not exist`, { cause: error });
      throw new ValidationError(
        `promotion ${id} is ${phase}, which is terminal; it cannot move to ${change.phase}`,
        {
          cause: error,
        },
      );
    }
  }

  async getPromotion(id: string): Promise<PromotionRecord | undefined> {
    const output = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: promotionKey(id), ConsistentRead: true }),
    );
    return output.Item && toPromotion(output.Item);
  }

  async listPromotions(filter: PromotionFilter = {}): Promise<PromotionRecord[]> {
    const limit = checkLimit(filter.limit);
    const { byServiceIndex, byTypeIndex } = promotionTableKeys;
    const input: QueryCommandInput =
      filter.service === undefined
        ? {
            TableName: this.tableName,
            IndexName: byTypeIndex.indexName,
            KeyConditionExpression: "#pk = :pk",
            ExpressionAttributeNames: { "#pk": byTypeIndex.partitionKey },
            ExpressionAttributeValues: { ":pk": promotionType },
            ScanIndexForward: false,
          }
        : {
            TableName: this.tableName,
            IndexName: byServiceIndex.indexName,
            KeyConditionExpression: "#pk = :pk AND begins_with(#sk, :prefix)",
            ExpressionAttributeNames: { "#pk": byServiceIndex.partitionKey, "#sk": byServiceIndex.sortKey },
            ExpressionAttributeValues: { ":pk": `SERVICE#${filter.service}`, ":prefix": "PROMOTION#" },
            ScanIndexForward: false,
          };
    if (filter.environment !== undefined) {
      input.FilterExpression = "#environment = :environment";
      input.ExpressionAttributeNames = { ...input.ExpressionAttributeNames, "#environment": "environment" };
      input.ExpressionAttributeValues = {
        ...input.ExpressionAttributeValues,
        ":environment": filter.environment,
      };
    }
    // DynamoDB counts items before the filter, so a filtered page cannot be sized to what is still missing.
    const items = await this.queryAll(input, limit, filter.environment === undefined);
    return items.map(toPromotion);
  }

  async getDeployment(service: string, environment: string): Promise<DeploymentRecord | undefined> {
    const output = await this.client.send(
      new GetCommand({
        TableName: this.tableName,
        Key: deploymentKey(service, environment),
        ConsistentRead: true,
      }),
    );
    return output.Item && toDeployment(output.Item);
  }

  async listDeployments(): Promise<DeploymentRecord[]> {
    const items = await this.queryType(deploymentType);
    // Sorted here too: the index orders `<service>#<environment>` as text, which is not the same for every name.
    return items.map(toDeployment).sort(byServiceThenEnvironment);
  }

  async putDeployment(record: DeploymentRecord): Promise<void> {
    await this.client.send(
      new PutCommand({
        TableName: this.tableName,
        Item: {
          ...deploymentKey(record.service, record.environment),
          GSI2PK: deploymentType,
          GSI2SK: `${record.service}#${record.environment}`,
          type: deploymentType,
          ...defined(record),
        },
      }),
    );
  }

  async isQuarantined(service: string, digest: string): Promise<boolean> {
    const output = await this.client.send(
      new GetCommand({
        TableName: this.tableName,
        Key: quarantineKey(service, digest),
        ConsistentRead: true,
      }),
    );
    return output.Item !== undefined;
  }

  /**
   * Takes a digest out of automatic promotion for a service. Quarantining it again replaces the reason and the
   * time, so the latest rollback is what the listing explains.
   *
   * @example
   * await store.quarantine("checkout", digest, "rolled back: production Degraded after promotion p-42");
   */
  async quarantine(service: string, digest: string, reason: string): Promise<void> {
    const entry: QuarantinedDigest = {
      service,
      digest,
      reason,
      quarantinedAt: this.clock.now().toISOString(),
    };
    await this.client.send(
      new PutCommand({
        TableName: this.tableName,
        Item: {
          ...quarantineKey(service, digest),
          GSI2PK: quarantineType,
          GSI2SK: `${service}#${digest}`,
          type: quarantineType,
          ...entry,
        },
      }),
    );
  }

  /**
   * Lets a digest be promoted automatically again. Resolves false when it was not quarantined.
   *
   * @example
   * if (!(await store.clearQuarantine("checkout", digest))) throw new NotFoundError("not quarantined");
   */
  async clearQuarantine(service: string, digest: string): Promise<boolean> {
    const output = await this.client.send(
      new DeleteCommand({
        TableName: this.tableName,
        Key: quarantineKey(service, digest),
        ReturnValues: "ALL_OLD",
      }),
    );
    return output.Attributes !== undefined;
  }

  /**
   * Every quarantined digest, by service, then digest.
   *
   * @example
   * for (const { service, digest, reason } of await store.listQuarantine()) console.log(service, digest, reason);
   */
  async listQuarantine(): Promise<QuarantinedDigest[]> {
    const items = await this.queryType(quarantineType);
    return items
      .map(toQuarantined)
      .sort((a, b) =>
        a.service === b.service ? (a.digest < b.digest ? -1 : 1) : a.service < b.service ? -1 : 1,
      );
  }

  private queryType(type: string): Promise<Item[]> {
    return this.queryAll(
      {
        TableName: this.tableName,
        IndexName: promotionTableKeys.byTypeIndex.indexName,
        KeyConditionExpression: "#pk = :pk",
        ExpressionAttributeNames: { "#pk": promotionTableKeys.byTypeIndex.partitionKey },
        ExpressionAttributeValues: { ":pk": type },
      },
      Number.POSITIVE_INFINITY,
      false,
    );
  }

  /** Follows `LastEvaluatedKey` until `limit` items are in or the index has no more. */
  private async queryAll(input: QueryCommandInput, limit: number, sizePages: boolean): Promise<Item[]> {
    const items: Item[] = [];
    let startKey: Item | undefined;
    do {
      const remaining = limit - items.length;
      const output = await this.client.send(
        new QueryCommand({
          ...input,
          ...(sizePages && Number.isFinite(remaining) && { Limit: remaining }),
          ...(startKey !== undefined && { ExclusiveStartKey: startKey }),
        }),
      );
      items.push(...(output.Items ?? []).slice(0, remaining));
      startKey = output.LastEvaluatedKey;
    } while (startKey !== undefined && items.length < limit);
    return items;
  }
}
