// The production FreezeStore: one DynamoDB item per freeze, keyed by service and freeze id.

import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  PutCommand,
  QueryCommand,
  ScanCommand,
  type ScanCommandInput,
} from "@aws-sdk/lib-dynamodb";
import { ValidationError } from "../../core/errors.ts";
import type { Freeze, FreezeStore } from "../../core/ports.ts";

/**
 * The table's keys, for the CDK construct that creates it: partition key `service`, sort key `id` (`manual` or an
 * incident id), both strings. The item is the freeze itself. There is no index: a service's freezes are one Query,
 * and listing every freeze is a Scan, which stays cheap because a platform holds a handful at a time.
 */
export const freezeTableKeys = { partitionKey: "service", sortKey: "id" } as const;

type Item = Record<string, unknown>;

/** Plain string order for ties: what SQLite's `ORDER BY` gives the local store for the same names. */
const compareText = (x: string, y: string): number => (x < y ? -1 : x > y ? 1 : 0);

export interface DynamoDbFreezeStoreOptions {
  client: DynamoDBDocumentClient;
  tableName: string;
}

/**
 * Refuses a freeze whose times are not times, before anything is written: the stores order by `setAt` and callers
 * compare `until` with the clock.
 *
 * @example
 * checkFreezeTimes({ ...freeze, setAt: "yesterday" }); // throws ValidationError
 */
export const checkFreezeTimes = (freeze: Freeze): void => {
  for (const [field, value] of [
    ["setAt", freeze.setAt],
    ["until", freeze.until],
  ] as const) {
    if (value !== undefined && Number.isNaN(Date.parse(value))) {
      throw new ValidationError(
        `freeze ${freeze.service}/${freeze.id} ${field} "${value}" is not an ISO 8601 time`,
      );
    }
  }
};

/**
 * The order both stores list freezes in: by the instant `setAt` names, then by service and id.
 *
 * @example
 * freezes.sort(bySetAt);
 */
export const bySetAt = (a: Freeze, b: Freeze): number =>
  Date.parse(a.setAt) - Date.parse(b.setAt) || compareText(a.service, b.service) || compareText(a.id, b.id);

/** Only the freeze's own members, whatever else the item may carry one day. */
const toFreeze = (item: Item): Freeze => {
  const freeze = item as unknown as Freeze;
  return {
    service: freeze.service,
    id: freeze.id,
    reason: freeze.reason,
    setBy: freeze.setBy,
    setAt: freeze.setAt,
    ...(freeze.until !== undefined && { until: freeze.until }),
    source: freeze.source,
  };
};

/**
 * The FreezeStore port on one DynamoDB table (keys in `freezeTableKeys`). Every read is strongly consistent: a
 * freeze set a moment ago must stop the next promotion, not the one after. Removing every freeze of a service
 * deletes them one by one and counts only the deletes that found an item, so two concurrent removals never count
 * the same freeze twice.
 *
 * @example
 * const store = new DynamoDbFreezeStore({
 *   client: DynamoDBDocumentClient.from(new DynamoDBClient({})),
 *   tableName: env.freezesTable,
 * });
 * await store.put({ service: "checkout", id: "manual", reason: "quarter close", setBy, setAt, source: "api" });
 */
export class DynamoDbFreezeStore implements FreezeStore {
  private readonly client: DynamoDBDocumentClient;
  private readonly tableName: string;

  constructor(options: DynamoDbFreezeStoreOptions) {
    this.client = options.client;
    this.tableName = options.tableName;
  }

  async put(freeze: Freeze): Promise<void> {
    checkFreezeTimes(freeze);
    await this.client.send(new PutCommand({ TableName: this.tableName, Item: toFreeze({ ...freeze }) }));
  }

  async list(service?: string): Promise<Freeze[]> {
    const items = service === undefined ? await this.scanAll() : await this.queryService(service);
    return items.map(toFreeze).sort(bySetAt);
  }

  async remove(service: string, id?: string): Promise<number> {
    const ids = id === undefined ? (await this.queryService(service)).map((item) => String(item.id)) : [id];
    const removed = await Promise.all(
      ids.map(async (freezeId) => {
        const output = await this.client.send(
          new DeleteCommand({
            TableName: this.tableName,
            Key: { service, id: freezeId },
            ReturnValues: "ALL_OLD",
          }),
        );
        return output.Attributes === undefined ? 0 : 1;
      }),
    );
    return removed.reduce<number>((sum, count) => sum + count, 0);
  }

  private async queryService(service: string): Promise<Item[]> {
    const items: Item[] = [];
    let startKey: Item | undefined;
    do {
      const output = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: "#service = :service",
          ExpressionAttributeNames: { "#service": freezeTableKeys.partitionKey },
          ExpressionAttributeValues: { ":service": service },
          ConsistentRead: true,
          ...(startKey !== undefined && { ExclusiveStartKey: startKey }),
        }),
      );
      items.push(...(output.Items ?? []));
      startKey = output.LastEvaluatedKey;
    } while (startKey !== undefined);
    return items;
  }

  private async scanAll(): Promise<Item[]> {
    const items: Item[] = [];
    let startKey: ScanCommandInput["ExclusiveStartKey"];
    do {
      const output = await this.client.send(
        new ScanCommand({
          TableName: this.tableName,
          ConsistentRead: true,
          ...(startKey !== undefined && { ExclusiveStartKey: startKey }),
        }),
      );
      items.push(...(output.Items ?? []));
      startKey = output.LastEvaluatedKey;
    } while (startKey !== undefined);
    return items;
  }
}
